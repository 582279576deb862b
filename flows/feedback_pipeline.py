"""Nightly flow: ingest → clean & redact → embed → topics → tags & sentiment → CSAT → report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows import tasks, topic_tasks
from flows.config import PipelineConfig
from nlp import topic_quality
from nlp.corpus import combine
from nlp.schemas import conform


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    db_path: Path
    report_path: Path
    summary: dict


def new_run_id(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


@flow(name="feedback-pipeline", persist_result=False, log_prints=False)
def feedback_pipeline_flow(config: PipelineConfig) -> RunResult:
    """Run every stage on the inputs named in `config` and write tables, DuckDB and report."""
    logger = get_run_logger()
    started = datetime.now(UTC)
    run_id = config.run_id or new_run_id(started)
    timings: dict[str, float] = {}

    def timed(stage: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        timings[f"seconds_{stage}"] = round(time.perf_counter() - t0, 3)
        return out

    taxonomy = tasks.load_taxonomy(config)  # fail fast on a bad taxonomy, before model loads
    nlp, encoder, sentiment_model = tasks.load_models_task(config)
    ingested = timed("ingest", tasks.ingest_task, config)
    previous = tasks.load_corpus_task(config)
    cleaned = timed("clean", tasks.clean_task, ingested, previous["ingest_ledger"], nlp, run_id)
    # This run's new or changed rows replace their earlier versions; the rest of the corpus stays.
    replaced = set(cleaned.ledger["comment_id"])
    comments = combine(previous["comments"], cleaned.comments, replaced)
    docs = tasks.analysed(comments)
    new_docs = tasks.analysed(cleaned.comments)
    embeddings, branch_log_p = timed(
        "embed",
        tasks.embed_task,
        docs,
        encoder,
        config,
        sentiment_model,
        frozenset(new_docs["text_hash"]),
    )
    topic_tables = timed(
        "topics",
        topic_tasks.topics_task,
        docs,
        embeddings,
        previous["comment_topics"],
        set(new_docs["comment_id"]),
        (nlp, encoder),
        taxonomy,
        config,
        run_id,
    )
    topic_result = topic_tables.result
    topics_table, comment_topics = topic_tables.topics, topic_tables.comment_topics
    new_rows = pd.Index(docs["comment_id"]).get_indexer(new_docs["comment_id"])
    new_clauses, new_tags, new_sentiment = timed(
        "tag",
        tasks.tag_task,
        new_docs,
        embeddings[new_rows],
        nlp,
        taxonomy,
        config,
        encoder,
        sentiment_model,
        branch_log_p,
    )
    clauses = combine(previous["clauses"], new_clauses, replaced)
    tags = combine(previous["pain_points"], new_tags, replaced)
    sentiment = combine(previous["sentiment"], new_sentiment, replaced)
    segments = combine(previous["comment_segments"], cleaned.segments, replaced)
    joined = timed(
        "csat",
        tasks.csat_task,
        comments,
        cleaned.quarantined_ids,
        ingested.scores,
        previous["scores"],
        tasks.Themes(docs, topics_table, comment_topics, tags, sentiment),
        segments,
        config,
        run_id,
    )

    metrics = topic_result.metrics
    q = config.quality
    issues = topic_quality.quality_issues(
        metrics,
        topic_quality.QualityThresholds(
            q.max_unassigned_share, q.min_stability_ari, q.min_topic_diversity, q.min_npmi
        ),
    )
    if topic_result.skipped_reason:
        issues.insert(0, f"topics skipped: {topic_result.skipped_reason}")
    status, reason = ("degraded", "; ".join(issues)) if issues else ("ok", None)
    summary = {
        "run_id": run_id,
        "started_at": started,
        "rows_read": ingested.rows_read,
        "rows_new": len(cleaned.comments) + len(cleaned.quarantine),
        "rows_unchanged": cleaned.rows_unchanged,
        "rows_kept": len(cleaned.comments),
        "rows_quarantined": len(cleaned.quarantine),
        "moderator_turns": int((comments["kind"] == "moderator_turn").sum()),
        "documents_analysed": len(docs),
        "scores_read": joined.scores_read,
        "score_match_rate": joined.match_rate,
        "unmatched_comments": int((joined.unmatched["side"] == "comments").sum()),
        "unmatched_scores": int((joined.unmatched["side"] == "scores").sum()),
        "n_topics": metrics.get("n_topics"),
        "unassigned_share": metrics.get("unassigned_share"),
        "npmi": metrics.get("npmi"),
        "topic_diversity": metrics.get("topic_diversity"),
        "stability_ari": metrics.get("stability_ari"),
        **topic_quality.size_distribution(topics_table),
        "nps": joined.nps,
        "emerging_themes": emerging_count(joined.trends),
        "status": status,
        "status_reason": reason,
        **timings,
    }
    tables = {
        "comments": comments,
        "quarantine": cleaned.quarantine,
        "topics": topics_table,
        "comment_topics": comment_topics,
        "sentiment": sentiment,
        "clauses": clauses,
        "pain_points": tags,
        "scores": joined.scores,
        "unmatched_scores": joined.unmatched,
        "ingest_ledger": combine(previous["ingest_ledger"], cleaned.ledger, replaced),
        "comment_segments": segments,
        "topic_csat": joined.topic_csat,
        "pain_point_csat": joined.pain_point_csat,
        "driver_gaps": joined.driver_gaps,
        "trends": joined.trends,
    }
    tables["run_summary"] = conform(pd.DataFrame([summary]), "run_summary")
    html = timed("report", tasks.report_task, tables, taxonomy, config, topic_result.skipped_reason)
    summary.update(timings)
    summary["finished_at"] = datetime.now(UTC)
    summary["seconds_total"] = round((summary["finished_at"] - started).total_seconds(), 3)
    tables["run_summary"] = conform(pd.DataFrame([summary]), "run_summary")
    run_dir, report_path = tasks.write_task(
        tables,
        html,
        topic_tables.registry,
        config,
        run_id,
        topic_result.model,
        topic_tables.fit_metadata,
    )

    create_markdown_artifact(
        key="feedback-run-summary",
        markdown=summary_markdown(summary),
        description="Counts and quality metrics of the run (no comment text).",
    )
    logger.info("run %s finished: status %s, %d documents", run_id, status, len(docs))
    return RunResult(run_id, run_dir, Path(config.out) / "feedback.duckdb", report_path, summary)


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
