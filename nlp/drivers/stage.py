"""The drivers stage: this run's scores joined to the corpus, then what each theme does to them.

Per theme, parent theme and pain-point category: driver statistics (overall and per segment);
per theme and category: segment gaps and trends; per theme: the service facet; plus the score
match rates (usable scores and any score id), the unmatched ids (the current state: a
snapshot) and NPS. Every statistic counts the comments that contain a theme, once each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from nlp.drivers.facets import topic_services
from nlp.drivers.membership import Themes, parent_labels
from nlp.drivers.scores import (
    ScoreScale,
    join_scores,
    match_rates,
    normalise_ids,
    unmatched_comments,
)
from nlp.drivers.tables import driver_table_by_segment, gap_table
from nlp.drivers.trends import nps, trends_table
from nlp.ingest.corpus import combine
from nlp.schemas import conform, empty

__all__ = ["DriverSettings", "DriverTables", "Themes", "driver_tables"]


@dataclass(frozen=True)
class DriverSettings:
    """How scores are read and how driver statistics, gaps and trends are computed."""

    scale: ScoreScale
    casefold_ids: bool = False
    min_n: int = 10
    n_boot: int = 1000
    seed: int = 0
    trend_period: str = "W"
    trend_window: int = 4
    emerging_alpha: float = 0.01
    emerging_min_count: int = 5


@dataclass
class DriverTables:
    """The stage's tables (schema-conformed) and the join's counts.

    `match_rate`: share of the corpus's survey comments with a usable score (non-null
    `score_0_100`); `id_match_rate`: share with any score row, ratings or not. Both are None
    without survey comments or when no scores are in use (no score table and none earlier).
    `topic_csat` has `level` theme rows and, when topics have parents, `level` parent rows
    (topic_id = parent_id); `topic_services` is the service facet of the themes.
    """

    scores: pd.DataFrame
    unmatched: pd.DataFrame
    topic_csat: pd.DataFrame
    pain_point_csat: pd.DataFrame
    driver_gaps: pd.DataFrame
    trends: pd.DataFrame
    match_rate: float | None
    id_match_rate: float | None
    scores_read: int
    nps: float | None
    topic_services: pd.DataFrame = field(default_factory=lambda: empty("topic_services"))


def driver_tables(
    *,
    comments: pd.DataFrame,
    quarantined_ids: pd.Series,
    score_table: pd.DataFrame | None,
    previous_scores: pd.DataFrame,
    themes: Themes,
    segments: pd.DataFrame,
    settings: DriverSettings,
    run_id: str,
) -> DriverTables:
    """Join this run's scores to the corpus (earlier scores stay for comments it does not
    cover), then drivers per topic and pain-point category (overall and per segment), segment
    gaps and trends over the whole corpus. `unmatched` is a snapshot (see `_unmatched`)."""
    survey = comments[comments["kind"] == "comment"]
    scores, score_side, read = previous_scores, None, 0
    if score_table is not None:
        scores, score_side, read = _joined_scores(
            comments, score_table, previous_scores, quarantined_ids, settings
        )
    scores = _analysed_only(scores, comments)
    in_use = score_table is not None or len(previous_scores) > 0
    rate, id_rate = match_rates(survey, scores) if in_use else (None, None)
    by = pd.concat([segments, _service_segment(survey)], ignore_index=True)
    stats, gaps, trends = _theme_tables(themes, scores, by, settings)
    return DriverTables(
        scores=conform(scores, "scores"),
        unmatched=_unmatched(score_side, survey, scores, run_id) if in_use else _empty_unmatched(),
        topic_csat=_topic_csat(stats["topic"], _parent_rows(themes, scores, by, settings), themes),
        pain_point_csat=conform(stats["pain_point"], "pain_point_csat"),
        driver_gaps=_stack(gaps, "driver_gaps"),
        trends=_stack(trends, "trends"),
        match_rate=rate,
        id_match_rate=id_rate,
        scores_read=read,
        nps=_nps(score_table, scores, settings),
        topic_services=topic_services(themes.comment_topics, themes.analysed),
    )


def _parent_rows(
    themes: Themes, scores: pd.DataFrame, by: pd.DataFrame, settings: DriverSettings
) -> pd.DataFrame:
    """Driver statistics of the parent themes (topic_id = parent_id), overall and by segment.

    A comment is in a parent when it is in any of its children, once; the key-driver
    regression of this level is over the parents alone.
    """
    members = themes.parents()
    if members.empty:
        return pd.DataFrame()
    s = settings
    rows = driver_table_by_segment(
        members, scores, "parent_id", by, min_n=s.min_n, n_boot=s.n_boot, seed=s.seed
    )
    if rows.empty:
        return rows
    rows = rows.rename(columns={"parent_id": "topic_id"})
    return rows.assign(label=rows["topic_id"].map(parent_labels(themes.topics)))


def _topic_csat(
    theme_rows: pd.DataFrame, parent_rows: pd.DataFrame, themes: Themes
) -> pd.DataFrame:
    """The `topic_csat` table: theme rows (labelled from `topics`), then parent rows."""
    parts = []
    if len(theme_rows):
        labels = themes.topics.drop_duplicates("topic_id").set_index("topic_id")["label"]
        parts.append(theme_rows.assign(label=theme_rows["topic_id"].map(labels), level="theme"))
    if len(parent_rows):
        parts.append(parent_rows.assign(level="parent"))
    return (
        conform(pd.concat(parts, ignore_index=True), "topic_csat") if parts else empty("topic_csat")
    )


def _joined_scores(
    comments: pd.DataFrame,
    score_table: pd.DataFrame,
    previous_scores: pd.DataFrame,
    quarantined_ids: pd.Series,
    settings: DriverSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(scores, the score rows that gave no usable score, scores read): this run's scores
    over the earlier ones (a comment this table scores, even with a non-rating, takes it)."""
    joined = join_scores(
        comments,
        score_table,
        settings.scale,
        casefold_ids=settings.casefold_ids,
        quarantined_ids=quarantined_ids,
    )
    scores = combine(previous_scores, joined.scores, set(joined.scores["comment_id"]))
    u = joined.unmatched
    return scores, u[u["side"] == "scores"], joined.scores_read


def _unmatched(
    score_side: pd.DataFrame | None, survey: pd.DataFrame, scores: pd.DataFrame, run_id: str
) -> pd.DataFrame:
    """The `unmatched_scores` snapshot: the current state, so a rerun gives the same rows.

    `comments`: survey comments of the corpus with no usable score from any run (`scores` is
    the corpus's). `scores`: this run's score rows that gave no usable score, with their
    reason (none without a score table); earlier runs' rows are in their own
    `<run_id>/unmatched_scores.parquet`. `run_id` is the run that wrote the snapshot. Sorted
    by side, reason and id, so the order does not depend on the corpus's row order.
    """
    parts = [unmatched_comments(survey, scores)]
    if score_side is not None:
        parts.insert(0, score_side)
    u = pd.concat(parts, ignore_index=True).assign(run_id=run_id)
    u = u.sort_values(["side", "reason", "source_id"], kind="stable", na_position="first")
    return conform(u, "unmatched_scores")


def _empty_unmatched() -> pd.DataFrame:
    return conform(pd.DataFrame(), "unmatched_scores")


def _analysed_only(scores: pd.DataFrame, comments: pd.DataFrame) -> pd.DataFrame:
    """Scores of analysed documents only (survey comments and participant turns)."""
    analysed = comments["kind"].isin(["comment", "transcript_turn"])
    return scores[scores["comment_id"].isin(comments.loc[analysed, "comment_id"])]


def _service_segment(survey: pd.DataFrame) -> pd.DataFrame:
    """The `service` pseudo-segment (comment_id, segment, value) of survey comments."""
    return pd.DataFrame(
        {"comment_id": survey["comment_id"], "segment": "service", "value": survey["service"]}
    ).dropna(subset=["value"])


def _theme_tables(
    themes: Themes, scores: pd.DataFrame, by: pd.DataFrame, settings: DriverSettings
) -> tuple[dict[str, pd.DataFrame], list[pd.DataFrame], list[pd.DataFrame]]:
    """Per theme type: driver table by segment, gap table (if any segments) and trends."""
    s = settings
    stats, gaps, trends = {}, [], []
    for theme_type, col, members in themes.memberships():
        stats[theme_type] = driver_table_by_segment(
            members, scores, col, by, min_n=s.min_n, n_boot=s.n_boot, seed=s.seed
        )
        if len(by):
            gap = gap_table(members, scores, col, by, min_n=s.min_n, n_boot=s.n_boot, seed=s.seed)
            gaps.append(gap.rename(columns={col: "theme"}).assign(theme_type=theme_type))
        trends.append(
            trends_table(
                members,
                themes.analysed,
                scores,
                themes.sentiment,
                col,
                theme_type,
                freq=s.trend_period,
                window=s.trend_window,
                alpha=s.emerging_alpha,
                min_count=s.emerging_min_count,
            )
        )
    return stats, gaps, trends


def _nps(
    score_table: pd.DataFrame | None, scores: pd.DataFrame, settings: DriverSettings
) -> float | None:
    """NPS from the score table's own `nps` column (first row per id), else from 0-10 scores."""
    if score_table is not None and "nps" in score_table:
        ids = normalise_ids(score_table["source_id"], settings.casefold_ids)
        return nps(score_table.loc[~ids.duplicated(), "nps"])  # first row per id
    if settings.scale.is_nps and len(scores):
        return nps(scores["score_raw"])
    return None


def _stack(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
    """Non-empty frames stacked and conformed to `table` (an empty table if none)."""
    frames = [f for f in frames if len(f)]
    return conform(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), table)
