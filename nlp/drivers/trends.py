"""Theme trends per period and service with an emerging test, and NPS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from nlp.drivers.tables import scored_only

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
    *,
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
    *,
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
    c = _dated(comments)
    if c.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    grid = _PeriodGrid.of(c, freq)
    m = membership[["comment_id", theme_col]].dropna().drop_duplicates()
    m = m.merge(grid.base, on="comment_id")
    themes = pd.Index(sorted(m[theme_col].unique()))
    if themes.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    codes = (themes.get_indexer(m[theme_col]), m["s"].to_numpy(), m["p"].to_numpy())
    shape = (len(themes), len(grid.services), grid.n_p)
    sums = _theme_sums(m["comment_id"], codes, shape, scores, sentiment)
    return _trend_rows(
        sums,
        grid,
        themes,
        theme_type,
        freq=freq,
        window=window,
        alpha=alpha,
        min_count=min_count,
        min_lift=min_lift,
    )


def _trend_rows(
    sums: dict[str, np.ndarray],
    grid: _PeriodGrid,
    themes: pd.Index,
    theme_type: str,
    *,
    freq: str,
    window: int,
    alpha: float,
    min_count: int,
    min_lift: float,
) -> pd.DataFrame:
    """The trends rows: each theme x service x period with comments, tested for emerging."""
    count = sums["n"]
    shape = count.shape
    total = np.broadcast_to(grid.totals, shape)
    p_value, emerging = emerging_test(
        count,
        total,
        _trailing(count, window),
        np.broadcast_to(_trailing(grid.totals, window), shape),
        alpha=alpha,
        min_count=min_count,
        min_lift=min_lift,
    )
    seen = count.sum(axis=2, keepdims=True) > 0
    idx = np.nonzero((total > 0) & seen)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = count / total
        mean_score = sums["score_sum"] / sums["scored"]
        negative_share = sums["negative"] / sums["labelled"]
    t_i, s_i, p_i = idx
    starts = pd.PeriodIndex.from_ordinals(grid.first + np.arange(grid.n_p), freq=freq).start_time
    return pd.DataFrame(
        {
            "theme_type": pd.array([theme_type] * len(t_i), dtype="string"),
            "theme": pd.array(themes.astype(str).to_numpy()[t_i], dtype="string"),
            "period": starts.to_numpy()[p_i].astype("datetime64[us]"),
            "service": pd.array(grid.services.to_numpy()[s_i], dtype="string"),
            "n": pd.array(count[idx].astype("int64"), dtype="Int64"),
            "share": share[idx],
            "mean_score": mean_score[idx],
            "negative_share": negative_share[idx],
            "p_value": p_value[idx],
            "emerging": emerging[idx],
        }
    )


def _dated(comments: pd.DataFrame) -> pd.DataFrame:
    """comment_id, date (naive UTC datetime), service of comments with a date, once each."""
    c = comments[["comment_id", "date", "service"]].drop_duplicates("comment_id")
    dates = pd.to_datetime(c["date"], errors="coerce")
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return c.assign(date=dates).dropna(subset=["date"])


@dataclass(frozen=True)
class _PeriodGrid:
    """Dated comments on a (service x period) grid: service `all` first, then each service."""

    base: pd.DataFrame  # comment_id, p (period index), s (service index)
    first: int  # ordinal of the first period
    n_p: int
    services: pd.Index
    totals: np.ndarray  # comments per (service, period)

    @classmethod
    def of(cls, c: pd.DataFrame, freq: str) -> _PeriodGrid:
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
        codes = (base["s"].to_numpy(), base["p"].to_numpy())
        totals = _group_sums(codes, (len(services), n_p), 1)
        totals[0] = totals[1:].sum(axis=0)
        return cls(base, first, n_p, services, totals)


def _theme_sums(
    ids: pd.Series,
    codes: tuple[np.ndarray, ...],
    shape: tuple[int, ...],
    scores: pd.DataFrame,
    sentiment: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """Per (theme, service, period): counts, scored counts, score sums, labelled, negative."""
    y = scored_only(scores).set_index("comment_id")["score_0_100"].astype("float64")
    label = sentiment.drop_duplicates("comment_id").set_index("comment_id")["label"]
    score = ids.map(y).to_numpy(dtype="float64")
    lab = ids.map(label)
    has_score = ~np.isnan(score)
    labelled = lab.notna().to_numpy()
    negative = (lab == "negative").fillna(False).to_numpy(dtype=bool)
    sums = {
        "n": _group_sums(codes, shape, 1.0),
        "scored": _group_sums(codes, shape, has_score.astype(float)),
        "score_sum": _group_sums(codes, shape, np.where(has_score, score, 0.0)),
        "labelled": _group_sums(codes, shape, labelled.astype(float)),
        "negative": _group_sums(codes, shape, negative.astype(float)),
    }
    for a in sums.values():
        a[:, 0] = a[:, 1:].sum(axis=1)
    return sums


def nps(scores_raw_0_10: pd.Series) -> float | None:
    """Net promoter score: % promoters (9-10) - % detractors (0-6), in -100..100.

    Values that are null, non-numeric or outside 0-10 are ignored; None if nothing is left.
    """
    v = pd.to_numeric(scores_raw_0_10, errors="coerce")
    v = v[v.between(0, 10)]
    if v.empty:
        return None
    return float(100.0 * ((v >= 9).mean() - (v <= 6).mean()))
