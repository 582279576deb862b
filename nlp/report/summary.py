"""The `run_summary` row: counts, topic metrics, quality status and stage timings of a run."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from nlp.themes import quality


def run_status(
    metrics: dict, thresholds: quality.QualityThresholds, skipped_reason: str | None
) -> tuple[str, str | None]:
    """`ok`, or `degraded` with the reasons (topics skipped, thresholds missed)."""
    issues = quality.quality_issues(metrics, thresholds)
    if skipped_reason:
        issues.insert(0, f"topics skipped: {skipped_reason}")
    return ("degraded", "; ".join(issues)) if issues else ("ok", None)


def emerging_count(trends: pd.DataFrame) -> int:
    """Themes flagged emerging in the latest period (all services)."""
    overall = trends[trends["service"] == "all"]
    if overall.empty:
        return 0
    latest = overall[overall["period"] == overall["period"].max()]
    return int(latest["emerging"].fillna(False).sum())


def theme_counts(tables: dict[str, pd.DataFrame]) -> dict[str, float | int | None]:
    """n_parent_topics, statements_analysed, unassigned_comment_share and multi_theme_share.

    From `comment_topics` (one row per comment, or one per comment and theme with a null
    topic_id for a comment with no theme), `statements` and `topics` when present; None when
    the table a figure needs is missing or empty. Parents are counted over the themes that
    hold at least one comment.
    """
    ct = tables.get("comment_topics")
    statements = tables.get("statements")
    out: dict[str, float | int | None] = {
        "n_parent_topics": None,
        "statements_analysed": None if statements is None else len(statements),
        "unassigned_comment_share": None,
        "multi_theme_share": None,
    }
    if ct is None or ct.empty:
        return out
    themes_per_comment = ct.groupby("comment_id")["topic_id"].nunique()  # nulls not counted
    out["unassigned_comment_share"] = float((themes_per_comment == 0).mean())
    out["multi_theme_share"] = float((themes_per_comment >= 2).mean())
    topics = tables.get("topics")
    if topics is not None and "parent_id" in topics and topics["parent_id"].notna().any():
        held = topics[topics["topic_id"].isin(ct["topic_id"].dropna())]
        out["n_parent_topics"] = int(held["parent_id"].nunique())
    return out


def summary_markdown(summary: dict) -> str:
    """A Markdown table of the run's counts and metrics (numbers only)."""
    lines = ["| metric | value |", "|---|---|"]
    for key, value in summary.items():
        if isinstance(value, float):
            value = f"{value:.3f}"
        lines.append(f"| {key} | {value} |")
    return "\n".join(lines)


def finished(summary: dict, timings: dict[str, float], now: datetime) -> dict:
    """The summary with this run's stage timings, finish time and total seconds."""
    done = {**summary, **timings, "finished_at": now}
    done["seconds_total"] = round((now - summary["started_at"]).total_seconds(), 3)
    return done
