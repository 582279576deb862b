"""Seeded, vectorised bootstrap statistics: resampled means and impacts, and the key-driver
regression with its interval. Resampling draws multinomial counts over distinct score values
(rating scales have few; exact and cheap) or index matrices, never a Python loop over resamples.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from scipy import sparse

Seed = int | Sequence[int] | np.random.SeedSequence

# Cap on the number of elements of one resample matrix (memory, cache).
_CHUNK_ELEMENTS = 2_000_000
# Relative ridge added to the Gram diagonal so resamples where a theme vanishes still solve.
_RIDGE = 1e-8
# A column whose residual variance (given the kept columns) is below this share of its own
# sum of squares is treated as collinear and dropped from the regression.
_COLLINEAR_TOL = 1e-9


def theme_seed(seed: int, key: object) -> list[int]:
    """A per-theme seed: the theme's interval does not depend on which other themes exist."""
    return [int(seed), zlib.crc32(str(key).encode("utf-8"))]


def _quantiles(boot: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [tail, 1.0 - tail], axis=0)
    return lo, hi


def resample_counts(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot x cells) counts of `n_boot` row resamples of a sample pooled into cells.

    `counts[i]` rows share cell i. A resample of all rows with replacement is a multinomial
    draw over cells: with few cells it is drawn directly (cost O(n_boot x cells)); otherwise
    row indices are drawn in chunks, mapped to cells and counted with one `bincount`.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n, k = int(counts.sum()), len(counts)
    if n == 0:
        return np.zeros((n_boot, k), dtype=np.int64)
    if k * 3 <= n:
        return rng.multinomial(n, counts / n, size=n_boot)
    cell_of_row = np.repeat(np.arange(k, dtype=np.int64), counts)
    out = np.empty((n_boot, k), dtype=np.int64)
    step = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_boot, step):
        size = min(step, n_boot - start)
        idx = rng.integers(0, n, size=(size, n), dtype=np.int64)
        flat = cell_of_row[idx] + (np.arange(size, dtype=np.int64) * k)[:, None]
        out[start : start + size] = np.bincount(flat.ravel(), minlength=size * k).reshape(size, k)
    return out


def resample_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_boot` resamples (with replacement, same size) of `values`.

    Rating scales have few distinct values, so resampling counts over distinct values (see
    `resample_counts`) is exact and much cheaper; otherwise row indices are drawn in chunks
    and gathered.
    """
    values = np.asarray(values, dtype="float64")
    m = len(values)
    if m == 0:
        return np.full(n_boot, np.nan)
    uniq, counts = np.unique(values, return_counts=True)
    if len(uniq) * 4 <= m:
        return resample_counts(counts, n_boot, rng) @ uniq / m
    out = np.empty(n_boot)
    step = max(1, _CHUNK_ELEMENTS // m)
    dtype = np.int32 if m < 2**31 else np.int64
    for start in range(0, n_boot, step):
        size = min(step, n_boot - start)
        out[start : start + size] = values[rng.integers(0, m, (size, m), dtype)].mean(axis=1)
    return out


def bootstrap_impact(
    in_theme: np.ndarray,
    y: np.ndarray,
    n_boot: int = 1000,
    seed: Seed = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """mean(y | theme) - mean(y | not theme) with a percentile bootstrap interval.

    The bootstrap is stratified: each resample redraws the theme and non-theme groups
    separately at their own sizes, so the interval is for the difference at the observed
    group sizes. Rows with a null `y` are ignored. Returns NaNs if either group is empty.
    """
    in_theme = np.asarray(in_theme, dtype=bool)
    y = np.asarray(y, dtype="float64")
    ok = ~np.isnan(y)
    a, b = y[ok & in_theme], y[ok & ~in_theme]
    if len(a) == 0 or len(b) == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    boot = resample_means(a, n_boot, rng) - resample_means(b, n_boot, rng)
    lo, hi = _quantiles(boot, level)
    return float(a.mean() - b.mean()), float(lo), float(hi)


def independent_columns(gram: np.ndarray, tol: float = _COLLINEAR_TOL) -> np.ndarray:
    """Indices of columns kept by a greedy pass in column order over a Gram matrix.

    A column is kept when its residual sum of squares, after projecting on the columns kept
    so far, is above `tol` times its own sum of squares; all-zero columns are never kept.
    """
    kept: list[int] = []
    for j in range(gram.shape[0]):
        own = gram[j, j]
        if own <= 0:
            continue
        if kept:
            g_kk = gram[np.ix_(kept, kept)]
            g_kj = gram[kept, j]
            resid = own - g_kj @ np.linalg.solve(g_kk, g_kj)
        else:
            resid = own
        if resid > tol * own:
            kept.append(j)
    return np.asarray(kept, dtype=int)


def _batched_ols(
    cell_weights: np.ndarray, cells: np.ndarray, y: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """OLS coefficients for every row of `cell_weights` (n_boot x cells), solved in one batch.

    `cells` is the design (intercept first) per cell, sorted so cells with the same indicator
    pattern are contiguous from `starts`. Gram matrices depend only on pattern weights: one
    product with the patterns' pairwise column products, kept sparse because a comment has
    few themes, gives every resample's Gram matrix at once.
    """
    p = cells.shape[1]
    iu, ju = np.triu_indices(p)
    patterns = cells[starts]
    pairs = sparse.csr_matrix(patterns[:, iu] * patterns[:, ju])
    pattern_weights = np.add.reduceat(cell_weights, starts, axis=1)
    upper = np.asarray((pairs.T @ pattern_weights.T).T)
    gram = np.empty((len(cell_weights), p, p))
    gram[:, iu, ju] = upper
    gram[:, ju, iu] = upper
    diag = np.arange(1, p)
    gram[:, diag, diag] += _RIDGE * np.maximum(gram[:, 0, 0], 1.0)[:, None]
    xy = sparse.csr_matrix(cells * y[:, None])
    rhs = np.asarray((xy.T @ cell_weights.T).T)
    return np.linalg.solve(gram, rhs[..., None])[..., 0]


def key_driver_model(
    X: np.ndarray,
    y: np.ndarray,
    n_boot: int = 1000,
    seed: Seed = 0,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint OLS of score on 0/1 theme indicators (with intercept) and bootstrap intervals.

    Returns (coef, ci_low, ci_high), one entry per column of `X`: the effect of a theme
    holding the other themes fixed. All-zero, constant and collinear columns (greedy, in
    column order) are dropped and get NaN; a tiny ridge keeps resamples where a rare theme
    vanishes solvable. The bootstrap resamples rows (case bootstrap); rows with identical
    (indicators, score) are pooled into cells first, which is exact and makes rating-scale
    data cheap, and all resamples are solved as one batch.
    """
    X = np.asarray(X, dtype="float64")
    y = np.asarray(y, dtype="float64")
    k = X.shape[1]
    coef = np.full(k, np.nan)
    lo, hi = coef.copy(), coef.copy()
    ok = ~np.isnan(y)
    X, y = X[ok], y[ok]
    if len(y) < 2:
        return coef, lo, hi
    design = np.column_stack([np.ones(len(y)), X])
    keep = independent_columns(design.T @ design)
    keep = keep[keep > 0]  # the intercept (column 0, never zero) is always kept
    if len(keep) == 0:
        return coef, lo, hi
    cells, counts = np.unique(np.column_stack([X[:, keep - 1], y]), axis=0, return_counts=True)
    cell_design = np.column_stack([np.ones(len(cells)), cells[:, :-1]])
    cell_y = cells[:, -1]
    new_pattern = np.any(np.diff(cells[:, :-1], axis=0) != 0, axis=1)
    starts = np.concatenate([[0], np.flatnonzero(new_pattern) + 1])
    point = _batched_ols(counts[None, :].astype("float64"), cell_design, cell_y, starts)[0]
    rng = np.random.default_rng(seed)
    p = cell_design.shape[1]
    step = max(1, _CHUNK_ELEMENTS // max(len(cells), p * p))
    boot = np.empty((n_boot, p))
    for start in range(0, n_boot, step):
        size = min(step, n_boot - start)
        weights = resample_counts(counts, size, rng).astype("float64")
        boot[start : start + size] = _batched_ols(weights, cell_design, cell_y, starts)
    b_lo, b_hi = _quantiles(boot[:, 1:], level)
    coef[keep - 1], lo[keep - 1], hi[keep - 1] = point[1:], b_lo, b_hi
    return coef, lo, hi
