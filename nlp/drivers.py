"""Satisfaction drivers per theme: bootstrap impact, key-driver regression, gaps, trends, NPS.

All statistics use `score_0_100` (higher = better) from the `scores` table. Intervals are
percentile bootstraps with a seeded `np.random.default_rng`, so the same seed gives the same
table. Resampling is vectorised: a resample of a group is drawn either as multinomial counts
over its distinct score values (rating scales have few; this is exact and cheap) or as a matrix
of row indices, never as a Python loop over resamples.

Themes (topics or pain-point categories) are passed as `membership` frames with one row per
comment and theme. Groups under `min_n` are suppressed: their statistics are null.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats

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


def _scored(scores: pd.DataFrame) -> pd.DataFrame:
    return scores.dropna(subset=["score_0_100"]).drop_duplicates("comment_id")


def _indicators(
    membership: pd.DataFrame, ids: pd.Index, theme_col: str
) -> tuple[pd.Index, np.ndarray]:
    """Themes (sorted) and an (n_comments x n_themes) 0/1 matrix aligned with `ids`."""
    m = membership[["comment_id", theme_col]].dropna().drop_duplicates()
    themes = pd.Index(sorted(m[theme_col].unique()), name=theme_col)
    X = np.zeros((len(ids), len(themes)))
    row = ids.get_indexer(m["comment_id"])
    col = themes.get_indexer(m[theme_col])
    hit = row >= 0
    X[row[hit], col[hit]] = 1.0
    return themes, X


def _box_share(X: np.ndarray, flags: pd.Series) -> np.ndarray:
    """Share of flagged comments per theme among comments where the flag is known."""
    values = flags.astype("float64").to_numpy()
    known = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (X.T @ np.where(known, values, 0.0)) / (X.T @ known)


DRIVER_COLUMNS = [
    "n",
    "share",
    "mean_score",
    "top_box_share",
    "bottom_box_share",
    "impact",
    "impact_ci_low",
    "impact_ci_high",
    "kd_coef",
    "kd_ci_low",
    "kd_ci_high",
    "total_impact",
    "suppressed",
]


def driver_table(
    membership: pd.DataFrame,
    scores: pd.DataFrame,
    theme_col: str,
    min_n: int = 10,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per theme: volume, score, bootstrap impact, key-driver coefficient and total impact.

    Only scored comments count (n, share and the statistics). `impact` is mean score with the
    theme minus without it (stratified bootstrap CI); `kd_coef` is the theme's coefficient in
    one OLS of score on all unsuppressed theme indicators (case bootstrap CI), i.e. its
    effect net of co-occurring themes. `total_impact` = impact x share: how far the theme
    moves the overall mean. A theme is suppressed when n < min_n or fewer than 2 scored
    comments lie outside it; its statistics are null and it is left out of the regression
    (its comments stay in, counted in the baseline), so a handful of comments cannot produce
    a wild coefficient. Themes whose comments are all unscored appear with n = 0, suppressed.
    Sorted by total_impact ascending (most costly first), suppressed rows last.
    """
    scored = _scored(scores)
    ids = pd.Index(scored["comment_id"])
    y = scored["score_0_100"].to_numpy(dtype="float64")
    themes, X = _indicators(membership, ids, theme_col)
    total = len(ids)
    n = X.sum(axis=0).astype(int)
    out = pd.DataFrame({theme_col: themes.to_numpy()})
    for col in DRIVER_COLUMNS[2:-1]:
        out[col] = np.nan
    out.insert(1, "n", pd.array(n, dtype="Int64"))
    out.insert(2, "share", n / total if total else np.nan)
    suppressed = (n < min_n) | (total - n < 2)
    out["suppressed"] = suppressed
    live = np.flatnonzero(~suppressed)
    if len(live):
        with np.errstate(invalid="ignore", divide="ignore"):
            out.loc[live, "mean_score"] = (X.T @ y / n)[live]
        out.loc[live, "top_box_share"] = _box_share(X[:, live], scored["top_box"])
        out.loc[live, "bottom_box_share"] = _box_share(X[:, live], scored["bottom_box"])
        impacts = np.array(
            [bootstrap_impact(X[:, j] > 0, y, n_boot, theme_seed(seed, themes[j])) for j in live]
        )
        out.loc[live, ["impact", "impact_ci_low", "impact_ci_high"]] = impacts
        kd = np.column_stack(key_driver_model(X[:, live], y, n_boot, [int(seed), 1]))
        out.loc[live, ["kd_coef", "kd_ci_low", "kd_ci_high"]] = kd
        out["total_impact"] = out["impact"] * out["share"]
    out["suppressed"] = out["suppressed"].astype("boolean")
    order = np.lexsort((-n, out["total_impact"].fillna(np.inf).to_numpy(), suppressed))
    return out.iloc[order].reset_index(drop=True)


def driver_table_by_segment(
    membership: pd.DataFrame,
    scores: pd.DataFrame,
    theme_col: str,
    segments: pd.DataFrame,
    min_n: int = 10,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """`driver_table` for all comments (segment `all`) and within each segment value.

    `segments` has (comment_id, segment, value); `segment` reads `service=111`. Within a
    segment value, share and impact compare that value's comments with and without the theme.
    Segment values with fewer than `min_n` scored comments are left out; small themes inside
    them are suppressed by the same rule.
    """
    parts = [driver_table(membership, scores, theme_col, min_n, n_boot, seed).assign(segment="all")]
    for (name, value), group in segments.groupby(["segment", "value"]):
        inside = scores[scores["comment_id"].isin(group["comment_id"])]
        if inside["score_0_100"].notna().sum() < min_n:
            continue
        part = driver_table(membership, inside, theme_col, min_n, n_boot, seed)
        if len(part):
            parts.append(part.assign(segment=f"{name}={value}"))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


GAP_COLUMNS = [
    "segment",
    "n",
    "mean_score",
    "rest_n",
    "rest_mean_score",
    "gap",
    "gap_ci_low",
    "gap_ci_high",
    "significant_gap",
    "suppressed",
]


def gap_table(
    membership: pd.DataFrame,
    scores: pd.DataFrame,
    theme_col: str,
    segments: pd.DataFrame,
    min_n: int = 10,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per theme x segment value: do this value's theme comments score below the rest?

    `segments` has (comment_id, segment, value); `segment` in the output reads `age_band=65+`.
    The rest are the theme's scored comments with another value of the same segment
    (comments without that segment are in neither group). `gap` = mean - rest mean with a
    stratified bootstrap CI; `significant_gap` is true when the CI's upper bound is below 0.
    Suppressed when either group has fewer than `min_n` comments: statistics are null and
    `significant_gap` is false. Sorted by gap ascending, suppressed rows last.
    """
    scored = _scored(scores)
    y = scored.set_index("comment_id")["score_0_100"].astype("float64")
    m = membership[["comment_id", theme_col]].dropna().drop_duplicates()
    m = m[m["comment_id"].isin(y.index)]
    seg = segments[["comment_id", "segment", "value"]].dropna().drop_duplicates()
    seg = seg[seg["comment_id"].isin(y.index)]
    both = m.merge(seg, on="comment_id")
    rows = []
    for (theme, name), group in both.groupby([theme_col, "segment"], sort=True):
        ids = pd.Index(group["comment_id"].unique())
        values = y.reindex(ids).to_numpy()
        for value, sub in group.groupby("value", sort=True):
            inside = ids.isin(sub["comment_id"])
            label = f"{name}={value}"
            n_in, n_rest = int(inside.sum()), int((~inside).sum())
            row = {theme_col: theme, "segment": label, "n": n_in, "rest_n": n_rest}
            if n_in < min_n or n_rest < min_n:
                rows.append({**row, "significant_gap": False, "suppressed": True})
                continue
            gap, lo, hi = bootstrap_impact(
                inside, values, n_boot, theme_seed(seed, f"{theme}|{label}")
            )
            rows.append(
                {
                    **row,
                    "mean_score": float(values[inside].mean()),
                    "rest_mean_score": float(values[~inside].mean()),
                    "gap": gap,
                    "gap_ci_low": lo,
                    "gap_ci_high": hi,
                    "significant_gap": hi < 0,
                    "suppressed": False,
                }
            )
    out = pd.DataFrame(rows, columns=[theme_col, *GAP_COLUMNS])
    if not len(out):
        out[theme_col] = out[theme_col].astype(membership[theme_col].dtype)
    for col in ("n", "rest_n"):
        out[col] = out[col].astype("Int64")
    for col in ("mean_score", "rest_mean_score", "gap", "gap_ci_low", "gap_ci_high"):
        out[col] = out[col].astype("float64")
    for col in ("significant_gap", "suppressed"):
        out[col] = out[col].astype("boolean")
    out["segment"] = out["segment"].astype("string")
    out["_o"] = out["gap"].fillna(np.inf)
    out = out.sort_values(["suppressed", "_o", "n"], ascending=[True, True, False], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


TREND_COLUMNS = [
    "theme_type",
    "theme",
    "period",
    "service",
    "n",
    "share",
    "mean_score",
    "negative_share",
    "p_value",
    "emerging",
]


def _group_sums(codes: tuple[np.ndarray, ...], shape: tuple[int, ...], w: np.ndarray):
    out = np.zeros(shape)
    np.add.at(out, codes, w)
    return out


def emerging_test(
    count: np.ndarray,
    total: np.ndarray,
    trail_count: np.ndarray,
    trail_total: np.ndarray,
    alpha: float = 0.01,
    min_count: int = 5,
    min_lift: float = 1.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised one-sided exact binomial test of a share against its trailing share.

    p = P(X >= count) for X ~ Binomial(total, p0) with p0 = (trail_count + 0.5) /
    (trail_total + 1), a Jeffreys-style smoothed trailing share: a theme with no history is
    tested against a small prior (about half a comment in the trailing volume) rather than
    against zero, which any single comment would beat. Emerging when p < alpha, count >=
    min_count and share >= min_lift x the raw trailing share. Untestable (no trailing
    comments): p is NaN and not emerging. Returns (p_value, emerging).
    """
    count = np.asarray(count, dtype="float64")
    total = np.asarray(total, dtype="float64")
    trail_count = np.asarray(trail_count, dtype="float64")
    trail_total = np.asarray(trail_total, dtype="float64")
    testable = (trail_total > 0) & (total > 0)
    p0 = (trail_count + 0.5) / (trail_total + 1.0)
    p = np.where(testable, stats.binom.sf(count - 1, total, p0), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, count / total, 0.0)
        trail_share = np.where(trail_total > 0, trail_count / trail_total, np.nan)
    lift_ok = share >= min_lift * trail_share
    emerging = testable & (p < alpha) & (count >= min_count) & lift_ok
    return p, emerging


def _trailing(a: np.ndarray, window: int) -> np.ndarray:
    """Sum over the `window` periods before each period (last axis), excluding it."""
    cs = np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(a, axis=-1)], axis=-1)
    p = np.arange(a.shape[-1])
    return cs[..., p] - cs[..., np.maximum(p - window, 0)]


def trends_table(
    membership: pd.DataFrame,
    comments: pd.DataFrame,
    scores: pd.DataFrame,
    sentiment: pd.DataFrame,
    theme_col: str,
    theme_type: str,
    freq: str = "W",
    window: int = 4,
    alpha: float = 0.01,
    min_count: int = 5,
    min_lift: float = 1.5,
) -> pd.DataFrame:
    """Per theme x period x service (and service `all`): volume, share, score, negativity.

    `comments` has (comment_id, date, service); comments with a null date are excluded
    everywhere. `period` is the period start as datetime64 (weeks start on Monday, `freq="W"`;
    months on the 1st, `freq="M"`). A null service counts as `unknown`, so the `all` rows are
    the sums of the service rows. `share` = theme comments / all dated comments in that period
    and service (pass the comments the themes were computed on). `mean_score` is over scored
    theme comments; `negative_share` over theme comments with a sentiment label.

    Every period is tested (`emerging_test`) against the previous `window` calendar periods,
    so flags can be read for the latest period or as a history; periods with no comments in
    the window are not tested. Rows are emitted for periods with comments in that service,
    for themes seen in that service at least once (zero-count rows keep trend lines honest).
    """
    if freq not in ("W", "M"):
        raise ValueError(f"freq must be 'W' or 'M', got {freq!r}")
    c = comments[["comment_id", "date", "service"]].drop_duplicates("comment_id")
    dates = pd.to_datetime(c["date"], errors="coerce")
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    c = c.assign(date=dates).dropna(subset=["date"])
    if c.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    periods = c["date"].dt.to_period(freq)
    ordinals = periods.array.asi8
    first = ordinals.min()
    n_p = int(ordinals.max() - first + 1)
    service = c["service"].astype("string").fillna("unknown")
    if (service == "all").any():
        raise ValueError("a service named 'all' clashes with the all-services rows")
    services = pd.Index(["all", *sorted(service.unique())])
    base = pd.DataFrame(
        {
            "comment_id": c["comment_id"].to_numpy(),
            "p": ordinals - first,
            "s": services.get_indexer(service),
        }
    )
    totals = _group_sums((base["s"].to_numpy(), base["p"].to_numpy()), (len(services), n_p), 1)
    totals[0] = totals[1:].sum(axis=0)

    m = membership[["comment_id", theme_col]].dropna().drop_duplicates()
    m = m.merge(base, on="comment_id")
    themes = pd.Index(sorted(m[theme_col].unique()))
    if themes.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    y = _scored(scores).set_index("comment_id")["score_0_100"].astype("float64")
    label = sentiment.drop_duplicates("comment_id").set_index("comment_id")["label"]
    score = m["comment_id"].map(y).to_numpy(dtype="float64")
    lab = m["comment_id"].map(label)
    has_score = ~np.isnan(score)
    labelled = lab.notna().to_numpy()
    negative = (lab == "negative").fillna(False).to_numpy(dtype=bool)
    codes = (themes.get_indexer(m[theme_col]), m["s"].to_numpy(), m["p"].to_numpy())
    shape = (len(themes), len(services), n_p)
    sums = {
        "n": _group_sums(codes, shape, 1.0),
        "scored": _group_sums(codes, shape, has_score.astype(float)),
        "score_sum": _group_sums(codes, shape, np.where(has_score, score, 0.0)),
        "labelled": _group_sums(codes, shape, labelled.astype(float)),
        "negative": _group_sums(codes, shape, negative.astype(float)),
    }
    for a in sums.values():
        a[:, 0] = a[:, 1:].sum(axis=1)
    count = sums["n"]
    total = np.broadcast_to(totals, shape)
    p_value, emerging = emerging_test(
        count,
        total,
        _trailing(count, window),
        np.broadcast_to(_trailing(totals, window), shape),
        alpha,
        min_count,
        min_lift,
    )
    seen = count.sum(axis=2, keepdims=True) > 0
    t_i, s_i, p_i = np.nonzero((total > 0) & seen)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = count / total
        mean_score = sums["score_sum"] / sums["scored"]
        negative_share = sums["negative"] / sums["labelled"]
    starts = pd.PeriodIndex.from_ordinals(first + np.arange(n_p), freq=freq).start_time
    idx = (t_i, s_i, p_i)
    return pd.DataFrame(
        {
            "theme_type": pd.array([theme_type] * len(t_i), dtype="string"),
            "theme": pd.array(themes.astype(str).to_numpy()[t_i], dtype="string"),
            "period": starts.to_numpy()[p_i].astype("datetime64[us]"),
            "service": pd.array(services.to_numpy()[s_i], dtype="string"),
            "n": pd.array(count[idx].astype("int64"), dtype="Int64"),
            "share": share[idx],
            "mean_score": mean_score[idx],
            "negative_share": negative_share[idx],
            "p_value": p_value[idx],
            "emerging": emerging[idx],
        }
    )


def nps(scores_raw_0_10: pd.Series) -> float | None:
    """Net promoter score: % promoters (9-10) - % detractors (0-6), in -100..100.

    Values that are null, non-numeric or outside 0-10 are ignored; None if nothing is left.
    """
    v = pd.to_numeric(scores_raw_0_10, errors="coerce")
    v = v[v.between(0, 10)]
    if v.empty:
        return None
    return float(100.0 * ((v >= 9).mean() - (v <= 6).mean()))
