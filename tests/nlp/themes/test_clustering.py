"""BalancedHDBSCAN: excess-of-mass clusters unless one cluster would hold most units."""

from __future__ import annotations

import numpy as np
from hdbscan import HDBSCAN

from nlp.themes.clustering import BalancedHDBSCAN, largest_share

ARGS = {"min_cluster_size": 15, "min_samples": 10}


def _blobs(centres, n, scale, seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(c, scale, size=(n, 2)) for c in centres])


def test_clustering_separate_clusters_are_left_to_excess_of_mass():
    x = _blobs([(0, 0), (10, 0), (0, 10)], 100, 0.5)
    balanced = BalancedHDBSCAN(**ARGS).fit(x)
    plain = HDBSCAN(cluster_selection_method="eom", **ARGS).fit(x)
    assert balanced.selection == "eom"
    np.testing.assert_array_equal(balanced.labels_, plain.labels_)
    assert largest_share(balanced.labels_) < 0.4


def test_clustering_one_cluster_swallowing_the_corpus_is_split_into_its_leaves():
    # four dense groups close together (one subject, four facets) and one small distant group
    x = np.vstack(
        [
            _blobs([(0, 0), (0.8, 0), (0, 0.8), (0.8, 0.8)], 150, 0.2),
            _blobs([(12, 12)], 40, 0.3, 1),
        ]
    )
    plain = HDBSCAN(cluster_selection_method="eom", **ARGS).fit(x)
    assert largest_share(plain.labels_) > 0.4  # the premise: excess of mass keeps one giant
    balanced = BalancedHDBSCAN(**ARGS).fit(x)
    assert balanced.selection == "leaf"
    assert largest_share(balanced.labels_) < largest_share(plain.labels_)
    assert len(set(balanced.labels_.tolist()) - {-1}) >= 4
    assert len(balanced.probabilities_) == len(x)


def test_clustering_largest_share_counts_noise_in_the_whole():
    assert largest_share(np.array([0, 0, 1, -1])) == 0.5
    assert largest_share(np.array([-1, -1])) == 0.0


def test_clustering_a_cluster_found_in_most_documents_is_split_into_its_leaves():
    # four close facets of one subject, each unit its own document, and four distant groups
    # two units a document: the facets' cluster holds a third of the units but is found in
    # half of the documents
    x = np.vstack(
        [
            _blobs([(0, 0), (0.8, 0), (0, 0.8), (0.8, 0.8)], 50, 0.2),
            _blobs([(12, 12), (-12, 12), (12, -12), (-12, -12)], 100, 0.3, 1),
        ]
    )
    groups = np.concatenate([np.arange(200), 200 + np.arange(400) // 2])
    plain = HDBSCAN(cluster_selection_method="eom", **ARGS).fit(x)
    assert largest_share(plain.labels_) < 0.4 < largest_share(plain.labels_, groups)
    assert BalancedHDBSCAN(**ARGS).fit(x).selection == "eom"  # units alone: left as it is
    balanced = BalancedHDBSCAN(groups=groups, **ARGS).fit(x)
    assert balanced.selection == "leaf"
    assert largest_share(balanced.labels_, groups) < 0.4
    # BERTopic's zero-shot topics took some units: fewer rows than groups, units alone count
    assert BalancedHDBSCAN(groups=groups, **ARGS).fit(x[:-10]).selection == "eom"


def test_clustering_largest_share_of_documents_counts_each_document_once():
    labels = np.array([0, 0, 1, -1])
    assert largest_share(labels, np.array([0, 1, 1, 2])) == 2 / 3  # cluster 0 in 2 of 3
    assert largest_share(labels, np.array([5, 5, 5, 7])) == 0.5  # the units' share is larger
