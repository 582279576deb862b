"""CachedUMAP: UMAP with numba's disk cache on for its kernels, the same layouts as UMAP."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core.caching import NullCache
from numba.core.dispatcher import Dispatcher

pytestmark = pytest.mark.slow  # compiles numba kernels on a cold cache


def _clusters(n: int, dim: int = 24, groups: int = 6, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, dim)) * 4
    return (centres[np.arange(n) % groups] + rng.normal(size=(n, dim))).astype(np.float32)


@pytest.mark.parametrize("n", [600, 4300])  # UMAP's exact path, and NN-descent from 4,096
def test_reduction_cached_umap_gives_umaps_layout_and_caches_its_kernels(n):
    import importlib

    from umap import UMAP

    from nlp.themes.reduction import MODULES, CachedUMAP, enable_numba_cache

    x = _clusters(n)
    args = {"n_neighbors": 10, "n_components": 2, "metric": "cosine", "random_state": 7}
    cached = CachedUMAP(n_epochs=30, **args).fit_transform(x)
    np.testing.assert_array_equal(cached, UMAP(n_epochs=30, **args).fit_transform(x))
    assert enable_numba_cache() == 0  # the fit turned the cache on for every kernel
    kernels = [
        obj
        for name in MODULES
        for obj in vars(importlib.import_module(name)).values()
        if isinstance(obj, Dispatcher)
    ]
    assert len(kernels) > 50 and not any(isinstance(k._cache, NullCache) for k in kernels)
