"""ExactKnnUMAP: UMAP on exact cosine neighbours from 4,096 points, UMAP's own path below."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from nlp.themes import reduction
from nlp.themes.reduction import APPROXIMATE_FROM, ExactKnnUMAP, exact_cosine_knn


def _brute_force(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    dist = np.clip(1.0 - unit @ unit.T, 0.0, 2.0)
    np.fill_diagonal(dist, -1.0)
    order = np.array([np.lexsort((np.arange(len(x)), row))[:k] for row in dist])
    return order, np.maximum(np.take_along_axis(dist, order, axis=1), 0.0)


def _clusters(n: int, dim: int = 24, groups: int = 6, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, dim)) * 4
    return (centres[np.arange(n) % groups] + rng.normal(size=(n, dim))).astype(np.float32)


def test_reduction_exact_knn_is_brute_force_whatever_the_blocking(monkeypatch):
    x = _clusters(500)
    x[10:20] = x[10]  # ten duplicates: ties at distance 0, broken by row index
    expected_idx, expected_dist = _brute_force(x, 12)
    monkeypatch.setattr(reduction, "BLOCK_ROWS", 64)  # eight blocks, the last one short
    idx, dist = exact_cosine_knn(x, 12)
    np.testing.assert_array_equal(idx, expected_idx)
    np.testing.assert_allclose(dist, expected_dist, atol=1e-5)
    assert (idx[:, 0] == np.arange(500)).all() and (dist[:, 0] == 0).all()  # itself first
    assert (np.diff(dist[:, 1:], axis=1) >= 0).all()
    # a duplicate's nearest others are its copies, at distance 0, lowest index first
    assert idx[15, 1:10].tolist() == [10, 11, 12, 13, 14, 16, 17, 18, 19]
    assert np.allclose(dist[15, 1:10], 0, atol=1e-6)


@pytest.mark.slow
def test_reduction_umap_from_4096_points_runs_on_exact_neighbours_and_is_seeded():
    x = _clusters(APPROXIMATE_FROM + 200)
    args = {"n_neighbors": 10, "n_components": 2, "metric": "cosine", "random_state": 7}
    first = ExactKnnUMAP(n_epochs=30, **args)
    layout = first.fit_transform(x)
    np.testing.assert_array_equal(first._knn_indices, exact_cosine_knn(x, 10)[0])
    again = ExactKnnUMAP(n_epochs=30, **args).fit_transform(x)
    np.testing.assert_array_equal(layout, again)
    np.testing.assert_array_equal(first.transform(x), layout)  # BERTopic's transform of the fit
    # the layout keeps the six groups apart: each point's 10 nearest in 2-d share its group
    near = cKDTree(layout).query(layout, k=11)[1][:, 1:]
    groups = np.arange(len(x)) % 6
    assert (groups[near] == groups[:, None]).mean() > 0.9
    assert reduction.enable_numba_cache() == 0  # the kernels' cache was turned on by the fit


@pytest.mark.slow
def test_reduction_umap_below_4096_points_is_umaps_own_exact_path():
    x = _clusters(600)
    model = ExactKnnUMAP(n_neighbors=10, n_components=2, metric="cosine", random_state=7)
    model.fit(x)
    assert model._small_data and model.precomputed_knn == (None, None, None)
