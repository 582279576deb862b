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
