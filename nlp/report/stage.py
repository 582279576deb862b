"""The report stage: the run summary row and the HTML report a program team reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from nlp.report import context, summary
from nlp.schemas import conform
from nlp.themes import quality


@dataclass
class RunReport:
    """The `run_summary` row (as a dict and as its table) and the rendered HTML report."""

    summary: dict
    run_summary: pd.DataFrame
    html: str


@dataclass(frozen=True)
class RunFacts:
    """What the stages counted: the inputs to the summary row."""

    run_id: str
    started_at: datetime
    rows_read: int
    rows_unchanged: int
    new_comments: int
    new_quarantined: int
    documents_analysed: int
    scores_read: int
    match_rate: float | None
    nps: float | None
    id_match_rate: float | None = None


def run_report(
    *,
    facts: RunFacts,
    tables: dict[str, pd.DataFrame],
    topic_metrics: dict,
    topics_skipped: str | None,
    thresholds: quality.QualityThresholds,
    category_names: dict[str, str],
    min_n: int,
    timings: dict[str, float],
) -> RunReport:
    """The summary row of a run (status from the topic quality thresholds) and the report
    rendered from the run's tables with that row; timings are those measured so far."""
    row = _summary_row(facts, tables, topic_metrics, topics_skipped, thresholds) | timings
    with_summary = {**tables, "run_summary": conform(pd.DataFrame([row]), "run_summary")}
    ctx = context.report_context(with_summary, category_names, min_n, topics_skipped)
    return RunReport(row, with_summary["run_summary"], context.render_report(ctx))


def _summary_row(facts, tables, metrics, topics_skipped, thresholds) -> dict:
    """The 30-odd counts and metrics of `run_summary`, before timings."""
    status, reason = summary.run_status(metrics, thresholds, topics_skipped)
    unmatched = tables["unmatched_scores"]["side"]
    comments = tables["comments"]
    return {
        "run_id": facts.run_id,
        "started_at": facts.started_at,
        "rows_read": facts.rows_read,
        "rows_new": facts.new_comments + facts.new_quarantined,
        "rows_unchanged": facts.rows_unchanged,
        "rows_kept": facts.new_comments,
        "rows_quarantined": facts.new_quarantined,
        "moderator_turns": int((comments["kind"] == "moderator_turn").sum()),
        "documents_analysed": facts.documents_analysed,
        "scores_read": facts.scores_read,
        "score_match_rate": facts.match_rate,
        "score_id_match_rate": facts.id_match_rate,
        "unmatched_comments": int((unmatched == "comments").sum()),
        "unmatched_scores": int((unmatched == "scores").sum()),
        "n_topics": metrics.get("n_topics"),
        **summary.theme_counts(tables),
        "unassigned_share": metrics.get("unassigned_share"),  # of statements
        "stability_method": metrics.get("stability_method"),
        "cluster_selection": metrics.get("cluster_selection"),
        "npmi": metrics.get("npmi"),
        "topic_diversity": metrics.get("topic_diversity"),
        "stability_ari": metrics.get("stability_ari"),
        **quality.size_distribution(tables["topics"]),
        "nps": facts.nps,
        "emerging_themes": summary.emerging_count(tables["trends"]),
        "status": status,
        "status_reason": reason,
    }
