"""Report rendering and the atomic write of every output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task

from flows import io
from flows.tasks.common import STAGE, encoder_key
from flows.tasks.models import Run
from nlp import embedding, validation
from nlp.ingest.merge import RunCorpus
from nlp.report.stage import RunFacts, RunReport, run_report
from nlp.schemas import COMMENT_KEYED, conform
from nlp.themes import quality
from nlp.themes import registry as topic_registry


def output_tables(*, corpus: RunCorpus, cleaned, themes, tagged, joined) -> dict:
    """Every output table of the run but `run_summary`, by name."""
    return {
        "comments": corpus.comments,
        "quarantine": cleaned.quarantine,
        "topics": themes.topics,
        "comment_topics": themes.comment_topics,
        "statements": themes.statements,
        "sentiment": tagged.sentiment,
        "clauses": tagged.clauses,
        "pain_points": tagged.pain_points,
        "scores": joined.scores,
        "unmatched_scores": joined.unmatched,
        "ingest_ledger": corpus.ledger,
        "comment_segments": corpus.segments,
        "topic_csat": joined.topic_csat,
        "topic_services": joined.topic_services,
        "pain_point_csat": joined.pain_point_csat,
        "driver_gaps": joined.driver_gaps,
        "trends": joined.trends,
    }


@task(name="report", **STAGE)
def report_task(
    *,
    run: Run,
    facts: RunFacts,
    tables: dict[str, pd.DataFrame],
    themes,
    timings: dict[str, float],
) -> RunReport:
    """The run summary row and the HTML report rendered from this run's tables."""
    config = run.config
    q = config.quality
    return run_report(
        facts=facts,
        tables=tables,
        topic_metrics=themes.result.metrics,
        topics_skipped=themes.result.skipped_reason,
        thresholds=quality.QualityThresholds(
            q.max_unassigned_share, q.min_stability_ari, q.min_topic_diversity, q.min_npmi
        ),
        category_names=run.taxonomy.names(),
        min_n=config.min_n,
        timings=timings,
    )


@task(name="write-outputs", retries=2, retry_delay_seconds=2, **STAGE)
def write_task(
    *,
    run: Run,
    tables: dict[str, pd.DataFrame],
    summary: dict,
    html: str,
    themes,
) -> tuple[Path, Path]:
    """Parquet per table and report.html in `<out>/<run_id>/`, merge into the DuckDB file,
    and copy the report to `<out>/report.html` (the latest run's). The fit the topics come from
    goes to the registry with a refit's BERTopic model; a transform run keeps the saved one."""
    config, run_id = run.config, run.id
    tables = {**tables, "run_summary": conform(pd.DataFrame([summary]), "run_summary")}
    validation.validate_outputs(tables)  # a broken contract stops the run before any write
    run_dir = io.write_run_tables(tables, config.out, run_id)
    # The registry first, the DuckDB merge last: the merge commits the run. A run killed between
    # the two leaves a registry the database never heard of, and the next run puts the previous
    # one back (io.restore_committed_registry); the other order would leave comment_topics with
    # topic ids the saved registry gives other themes' labels.
    io.save_registry(
        themes.registry,
        config.out,
        {
            "encoder": encoder_key(config),
            "run_id": run_id,
            "seed": config.seed,
            "threshold": topic_registry.MATCH_THRESHOLD,
            "n_topics": len(themes.registry.topics),
            "fit": themes.fit_metadata or None,
        },
        model=themes.result.model,
        embedding_model=embedding.MODEL_ID,  # the name BERTopic.load would look up
    )
    ids = set().union(
        *(set(tables[t]["comment_id"].dropna()) for t in COMMENT_KEYED if t in tables)
    )
    io.upsert_duckdb(tables, config.out, run_id, sorted(ids))
    report_path = io.write_text_atomic(run_dir / "report.html", html)
    io.write_text_atomic(Path(config.out) / "report.html", html)
    get_run_logger().info("wrote %d tables and the report to %s", len(tables), run_dir)
    return run_dir, report_path
