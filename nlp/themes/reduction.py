"""UMAP whose numba kernels are cached on disk.

UMAP (umap-learn) and its neighbour search (pynndescent, from 4,096 points) compile their numba
kernels again in every new process: on 2 cores about 15 s for UMAP's own kernels and up to a
minute for NN-descent, in every nightly run and every CLI run of the test suite. umap-learn
marks one kernel `cache=True`. `enable_numba_cache` turns on numba's own on-disk cache (what
`cache=True` does) for every module-level kernel of both packages, so a run after the first
loads them instead of compiling. The results are the same code's: cached machine code is keyed
by the source file and the CPU. Kernels numba cannot cache (built per call, e.g. around a
distance function) are compiled as before. The cache goes where numba puts it (the package's
`__pycache__`, else the user's cache directory, or NUMBA_CACHE_DIR).

Measured (bench/results/run_cost.md): a 6,000-point UMAP fit in a new process 26.0 s -> 14.8 s;
NN-descent on 6,000 statements 67 s -> 29 s. Exact neighbours (no NN-descent at all) were
faster still but changed the themes: NHS NMI with the human labels 0.344 -> 0.330 over seeds
(`bench/exact_knn.py`), so they are not used.
"""

from __future__ import annotations

import importlib
import warnings

from numba.core.caching import NullCache
from numba.core.dispatcher import Dispatcher
from umap import UMAP

# the modules whose kernels a fit compiles (not umap's optional plot / parametric extras)
MODULES = (
    "umap.umap_",
    "umap.layouts",
    "umap.utils",
    "umap.spectral",
    "umap.distances",
    "umap.sparse",
    "pynndescent.pynndescent_",
    "pynndescent.distances",
    "pynndescent.utils",
    "pynndescent.rp_trees",
    "pynndescent.graph_utils",
    "pynndescent.sparse",
    "pynndescent.sparse_nndescent",
)


def enable_numba_cache() -> int:
    """Turn on numba's on-disk cache for every module-level kernel of umap-learn and
    pynndescent that has none; how many were turned on (0 the second time)."""
    turned = 0
    for name in MODULES:
        for obj in vars(importlib.import_module(name)).values():
            if isinstance(obj, Dispatcher) and isinstance(obj._cache, NullCache):
                obj.enable_caching()
                turned += 1
    return turned


class CachedUMAP(UMAP):
    """UMAP, its numba kernels cached on disk (see the module docstring)."""

    def fit(self, X, y=None, *args, **kwargs):  # noqa: N803 - scikit-learn's argument name
        enable_numba_cache()
        with warnings.catch_warnings():  # a kernel numba cannot cache is compiled as before
            warnings.filterwarnings("ignore", message=r"(?s).*[Cc]annot cache")
            return super().fit(X, y, *args, **kwargs)
