"""Satisfaction drivers per theme: bootstrap impact, key-driver regression and segment gaps.

All statistics use `score_0_100` (higher = better) from the `scores` table. Intervals are
percentile bootstraps with a seeded `np.random.default_rng`, so the same seed gives the same
table. Resampling is vectorised: a resample of a group is drawn either as multinomial counts
over its distinct score values (rating scales have few; this is exact and cheap) or as a matrix
of row indices, never as a Python loop over resamples.

Themes (topics or pain-point categories) are passed as `membership` frames with one row per
comment and theme. Groups under `min_n` are suppressed: their statistics are null.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nlp.drivers.bootstrap import bootstrap_impact, key_driver_model, theme_seed


def scored_only(scores: pd.DataFrame) -> pd.DataFrame:
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
    *,
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
    scored = scored_only(scores)
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
    *,
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
    settings = {"min_n": min_n, "n_boot": n_boot, "seed": seed}
    parts = [driver_table(membership, scores, theme_col, **settings).assign(segment="all")]
    for (name, value), group in segments.groupby(["segment", "value"]):
        inside = scores[scores["comment_id"].isin(group["comment_id"])]
        if inside["score_0_100"].notna().sum() < min_n:
            continue
        part = driver_table(membership, inside, theme_col, **settings)
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
    *,
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
    scored = scored_only(scores)
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
            row = {theme_col: theme, "segment": f"{name}={value}"}
            key = f"{theme}|{name}={value}"
            rows.append(_gap_row(row, key, inside, values, min_n=min_n, n_boot=n_boot, seed=seed))
    return _gap_frame(rows, theme_col, membership[theme_col].dtype)


def _gap_row(
    row: dict,
    key: str,
    inside: np.ndarray,
    values: np.ndarray,
    *,
    min_n: int,
    n_boot: int,
    seed: int,
) -> dict:
    """`row` (theme, segment) with its gap against the rest; `key` seeds the bootstrap."""
    n_in, n_rest = int(inside.sum()), int((~inside).sum())
    row = {**row, "n": n_in, "rest_n": n_rest}
    if n_in < min_n or n_rest < min_n:
        return {**row, "significant_gap": False, "suppressed": True}
    gap, lo, hi = bootstrap_impact(inside, values, n_boot, theme_seed(seed, key))
    return {
        **row,
        "mean_score": float(values[inside].mean()),
        "rest_mean_score": float(values[~inside].mean()),
        "gap": gap,
        "gap_ci_low": lo,
        "gap_ci_high": hi,
        "significant_gap": hi < 0,
        "suppressed": False,
    }


def _gap_frame(rows: list[dict], theme_col: str, theme_dtype) -> pd.DataFrame:
    """The gap rows with the driver_gaps dtypes, sorted by gap, suppressed rows last."""
    out = pd.DataFrame(rows, columns=[theme_col, *GAP_COLUMNS])
    if not len(out):
        out[theme_col] = out[theme_col].astype(theme_dtype)
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
