"""UMAP with exact nearest neighbours.

From 4,096 points UMAP finds each point's neighbours with NN-descent (pynndescent), whose
numba kernels are compiled again in every new process: about 50 s of a nightly run's topic
stage on 2 cores, for a 5,000-statement fit whose neighbours one blocked matrix product finds
exactly in about a second. `ExactKnnUMAP` hands UMAP those exact cosine neighbours
(`precomputed_knn`); below 4,096 points UMAP's own path is already exact and is left alone.
Exact neighbours are at least as good as NN-descent's approximate ones; the layout that
follows (fuzzy simplicial set, seeded optimisation) is UMAP's own.

UMAP's other numba kernels (the fuzzy simplicial set, the layout optimiser) are compiled in
every new process too, about 15 s more; `enable_numba_cache` turns on numba's own on-disk cache
for them (what `cache=True` does, which umap-learn sets on one kernel only), so a run after the
first loads them instead. The cache goes where numba puts it (the package's `__pycache__`, else
the user's cache directory, or NUMBA_CACHE_DIR) and is keyed by source file and CPU.

The fitted model cannot `transform` new points (no search index is kept); the themes stage
never asks it to: documents outside the fit sample go to the nearest topic centroid, and
BERTopic's `transform` of the fitted points themselves is answered from the fit.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
from numba.core.caching import NullCache
from numba.core.dispatcher import Dispatcher
from umap import UMAP

APPROXIMATE_FROM = 4096  # UMAP's own switch from exact distances to NN-descent
BLOCK_ROWS = 2048  # rows of the similarity matrix held at once (BLOCK_ROWS x n floats)
UMAP_MODULES = ("umap.umap_", "umap.layouts", "umap.utils", "umap.spectral", "umap.distances")


def enable_numba_cache() -> int:
    """Turn on numba's on-disk cache for every module-level kernel of UMAP that has none yet;
    how many were turned on (0 the second time)."""
    turned = 0
    for name in UMAP_MODULES:
        for obj in vars(importlib.import_module(name)).values():
            if isinstance(obj, Dispatcher) and isinstance(obj._cache, NullCache):
                obj.enable_caching()
                turned += 1
    return turned


def exact_cosine_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` nearest rows by cosine distance, itself first (distance 0), then nearest
    first: (indices int64, distances float32), both n x k. Ties are broken by row index, so
    duplicates do not make the result depend on the blocking."""
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    k = min(k, n)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms > 0, norms, 1.0)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, BLOCK_ROWS):
        block = np.clip(1.0 - unit[start : start + BLOCK_ROWS] @ unit.T, 0.0, 2.0)
        own = np.arange(len(block))
        block[own, start + own] = -1.0  # each row's own point first, whatever ties it
        kth = np.partition(block, k - 1, axis=1)[:, k - 1]
        for r in own:
            candidates = np.flatnonzero(block[r] <= kth[r])
            order = candidates[np.lexsort((candidates, block[r, candidates]))[:k]]
            indices[start + r] = order
            distances[start + r] = np.maximum(block[r, order], 0.0)
    return indices, distances


class ExactKnnUMAP(UMAP):
    """UMAP whose neighbour graph is exact at every size (see the module docstring)."""

    def fit(self, X, y=None, *args, **kwargs):  # noqa: N803 - scikit-learn's argument name
        enable_numba_cache()
        data = np.asarray(X, dtype=np.float32)
        with warnings.catch_warnings():
            # numba: a kernel it cannot cache is compiled as before; "transform will be
            # unavailable" without a search index: never asked for (module docstring)
            warnings.filterwarnings("ignore", message=r"(?s).*[Cc]annot cache")
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
            exact = self.metric == "cosine" and len(data) >= APPROXIMATE_FROM
            knn = exact_cosine_knn(data, self.n_neighbors) if exact else (None, None)
            self.precomputed_knn = (*knn, None)
            return super().fit(X, y, *args, **kwargs)
