"""HDBSCAN that does not let one cluster swallow a corpus.

Excess-of-mass selection (HDBSCAN's default) keeps the most persistent clusters. On a corpus
about one subject (twelve research interviews on one topic, statements of fragmented speech)
that can be a single cluster holding most of the statements, or one found in most documents
(an interview answer has ten statements: a broad "data" theme is in nearly every answer): one
theme says nothing. When the largest cluster of the excess-of-mass result holds more than
`MAX_CLUSTER_SHARE` of the units, or (given `groups`, the document of each unit) is found in
more than that share of the documents, leaf selection (the finest clusters of the same tree)
runs on the same reduced embeddings and is kept if its largest cluster is smaller by that
measure. The points leaf selection leaves as noise go through the themes stage's usual outlier
reassignment (nearest topic centroid, if similar enough). Corpora whose largest cluster stays
under the share are clustered exactly as before.
"""

from __future__ import annotations

import numpy as np
from hdbscan import HDBSCAN

MAX_CLUSTER_SHARE = 0.4  # of all units (noise included), and of all documents


def largest_share(labels: np.ndarray, groups: np.ndarray | None = None) -> float:
    """The share of all units in the largest cluster (0 when there is none); given `groups`
    (the document of each unit), the larger of that and the share of all documents that
    have a unit in the cluster found in most documents."""
    labels = np.asarray(labels)
    clustered = labels >= 0
    if not clustered.any():
        return 0.0
    share = float(np.bincount(labels[clustered]).max() / len(labels))
    if groups is None:
        return share
    _, documents = np.unique(np.asarray(groups), return_inverse=True)
    pairs = np.unique(np.stack([labels[clustered], documents[clustered]]), axis=1)
    return max(share, float(np.bincount(pairs[0]).max() / (documents.max() + 1)))


class BalancedHDBSCAN:
    """The `hdbscan_model` BERTopic fits: `fit(X)` sets `labels_` (and `probabilities_`);
    `selection` says which cluster selection gave them ("eom" or "leaf"). `groups`, when
    given, is the document of each unit BERTopic fits. BERTopic clusters only the units its
    zero-shot topics did not take (guided themes, `nlp.themes.guided`); `fit` then gets fewer
    rows than `groups` and, not knowing which, measures the share of units alone."""

    def __init__(
        self,
        *,
        max_share: float = MAX_CLUSTER_SHARE,
        groups: np.ndarray | None = None,
        **hdbscan_args,
    ) -> None:
        self.max_share = max_share
        self.groups = groups
        self.hdbscan_args = hdbscan_args
        self.selection = "eom"

    def fit(self, X: np.ndarray, y=None) -> BalancedHDBSCAN:
        groups = self.groups
        if groups is not None and len(groups) != len(X):  # zero-shot topics took some units
            groups = None
        model = HDBSCAN(cluster_selection_method="eom", **self.hdbscan_args).fit(X)
        self.selection = "eom"
        share = largest_share(model.labels_, groups)
        if share > self.max_share:
            leaf = HDBSCAN(cluster_selection_method="leaf", **self.hdbscan_args).fit(X)
            if 0 < largest_share(leaf.labels_, groups) < share:
                model, self.selection = leaf, "leaf"
        self.labels_ = model.labels_
        self.probabilities_ = model.probabilities_
        return self
