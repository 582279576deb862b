"""Ingest and clean tasks: read inputs, then triage, redact and ledger (nlp.ingest.stage)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from prefect import get_run_logger, task
from spacy.language import Language

from flows import io
from flows.config import PipelineConfig
from flows.tasks.common import STAGE
from nlp.ingest.corpus import ANALYSED_KINDS, ANALYSED_LANGUAGES, analysed
from nlp.ingest.rows import input_rows
from nlp.ingest.stage import CleanedRows, cleaned_rows

Cleaned = CleanedRows  # the name the flow and flows.tasks know

__all__ = [
    "ANALYSED_KINDS",
    "ANALYSED_LANGUAGES",
    "Cleaned",
    "Ingested",
    "analysed",
    "clean_task",
    "ingest_task",
    "load_corpus_task",
]


@dataclass
class Ingested:
    rows: pd.DataFrame  # source, row_number, source_id, text, date, service, kind, transcript cols
    scores: pd.DataFrame | None
    rows_read: int


def retry_transient_only(task, task_run, state) -> bool:
    """Prefect `retry_condition_fn`: retry a transient read error (a network share hiccup, a
    locked DuckDB file); a missing, empty or malformed input fails at once (flows.io.inputs)."""
    return io.inputs.is_transient(state.data) if isinstance(state.data, BaseException) else True


@task(
    name="ingest",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_only,
    **STAGE,
)
def ingest_task(*, config: PipelineConfig) -> Ingested:
    """Read comments, transcripts and scores into frames; nothing is dropped here."""
    comments = io.read_comments(config.comments, config.columns) if config.comments else None
    turns = io.read_transcripts(config.transcripts) if config.transcripts else None
    rows = input_rows(
        comments=comments,
        transcripts=turns,
        dataset=config.dataset,
        moderator_pattern=config.moderator_pattern,
    )
    scores = None
    if config.scores:
        scores = io.read_scores(
            config.scores, config.score_columns or config.columns, config.scores_query
        )
    get_run_logger().info(
        "ingest: %d rows (%d transcript turns)", len(rows), int((rows["kind"] != "comment").sum())
    )
    return Ingested(rows=rows, scores=scores, rows_read=len(rows))


@task(name="clean-and-redact", **STAGE)
def clean_task(
    *, ingested: Ingested, ledger: pd.DataFrame, nlp: Language, run_id: str
) -> CleanedRows:
    """Triage, redact and hash this run's rows the ledger has not seen (nlp.ingest.stage)."""
    cleaned = cleaned_rows(rows=ingested.rows, ledger=ledger, nlp=nlp, run_id=run_id)
    get_run_logger().info(
        "clean: %d new kept, %d new quarantined, %d unchanged, %d PII redactions",
        len(cleaned.comments),
        len(cleaned.quarantine),
        cleaned.rows_unchanged,
        int(cleaned.comments["pii_redactions"].sum()),
    )
    return cleaned


@task(name="load-corpus", **STAGE)
def load_corpus_task(*, config: PipelineConfig) -> dict[str, pd.DataFrame]:
    """Per-comment tables from earlier runs (empty on the first run)."""
    tables = io.read_corpus(config.out)
    get_run_logger().info("corpus: %d comments from earlier runs", len(tables["comments"]))
    return tables
