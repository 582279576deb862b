"""HDBSCAN that does not let one cluster swallow a corpus.

Excess-of-mass selection (HDBSCAN's default) keeps the most persistent clusters. On a corpus
about one subject (twelve research interviews on one topic, statements of fragmented speech)
that can be a single cluster holding most of the statements: one theme says nothing. When the
largest cluster of the excess-of-mass result holds more than `MAX_CLUSTER_SHARE` of the units,
leaf selection (the finest clusters of the same tree) runs on the same reduced embeddings and
is kept if its largest cluster holds less. The points leaf selection leaves as noise go
through the themes stage's usual outlier reassignment (nearest topic centroid, if similar
enough). Corpora whose largest cluster stays under the share are clustered exactly as before.
"""

from __future__ import annotations

import numpy as np
from hdbscan import HDBSCAN

MAX_CLUSTER_SHARE = 0.4  # of all units, noise included


def largest_share(labels: np.ndarray) -> float:
    """The share of all units in the largest cluster (0 when there is none)."""
    labels = np.asarray(labels)
    clustered = labels[labels >= 0]
    return float(np.bincount(clustered).max() / len(labels)) if len(clustered) else 0.0


class BalancedHDBSCAN:
    """The `hdbscan_model` BERTopic fits: `fit(X)` sets `labels_` (and `probabilities_`);
    `selection` says which cluster selection gave them ("eom" or "leaf")."""

    def __init__(self, *, max_share: float = MAX_CLUSTER_SHARE, **hdbscan_args) -> None:
        self.max_share = max_share
        self.hdbscan_args = hdbscan_args
        self.selection = "eom"

    def fit(self, X: np.ndarray, y=None) -> BalancedHDBSCAN:
        model = HDBSCAN(cluster_selection_method="eom", **self.hdbscan_args).fit(X)
        self.selection = "eom"
        if largest_share(model.labels_) > self.max_share:
            leaf = HDBSCAN(cluster_selection_method="leaf", **self.hdbscan_args).fit(X)
            if 0 < largest_share(leaf.labels_) < largest_share(model.labels_):
                model, self.selection = leaf, "leaf"
        self.labels_ = model.labels_
        self.probabilities_ = model.probabilities_
        return self
