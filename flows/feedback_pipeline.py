"""Nightly flow: ingest → clean & redact → embed → themes → tags & sentiment → CSAT → report."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows import tasks
from flows.config import PipelineConfig
from flows.lock import locked_output, new_run_id
from flows.preflight import preflight
from nlp.ingest.merge import run_corpus
from nlp.report import summary as run_summary
from nlp.report.stage import RunFacts


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    db_path: Path
    report_path: Path
    summary: dict


@dataclass
class StageTimer:
    """`with timer("embed"): ...` records `seconds_embed` for run_summary."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.seconds[f"seconds_{stage}"] = round(time.perf_counter() - t0, 3)


@flow(name="feedback-pipeline", persist_result=False, log_prints=False)
def feedback_pipeline_flow(config: PipelineConfig) -> RunResult:
    """Run every stage on the inputs named in `config` and write tables, DuckDB and report,
    holding the output directory's run lock (one writer at a time; `feedback run` takes it
    before Prefect starts, a served run here)."""
    started = datetime.now(UTC)
    config = config.model_copy(update={"run_id": config.run_id or new_run_id(started)})
    with locked_output(config, on_wait=get_run_logger().warning):
        return pipeline(config, started)


def pipeline(config: PipelineConfig, started: datetime) -> RunResult:
    """The mission sentence: ingest & clean → embed → themes → tags & sentiment → drivers →
    report, each stage one task call."""
    timer = StageTimer()
    taxonomy = preflight(config).taxonomy  # inputs, output and taxonomy, before models load
    models = tasks.load_models_task(config=config)
    run = tasks.Run(config, config.run_id, taxonomy, models)
    with timer("ingest"):
        ingested = tasks.ingest_task(config=config)
    previous = tasks.load_corpus_task(config=config)
    with timer("clean"):
        cleaned = tasks.clean_task(
            ingested=ingested, ledger=previous["ingest_ledger"], nlp=models.nlp, run_id=run.id
        )
    corpus = run_corpus(previous=previous, cleaned=cleaned)
    with timer("embed"):
        embedded = tasks.embed_task(run=run, corpus=corpus)
    with timer("topics"):
        themes = tasks.topics_task(run=run, corpus=corpus, embedded=embedded)
    with timer("tag"):
        tagged = tasks.tag_task(run=run, corpus=corpus, embedded=embedded)
    with timer("csat"):
        joined = tasks.csat_task(
            run=run, corpus=corpus, scores=ingested.scores, themes=themes, tagged=tagged
        )
    tables = tasks.output_tables(
        corpus=corpus, cleaned=cleaned, themes=themes, tagged=tagged, joined=joined
    )
    facts = run_facts(run, started, ingested, cleaned, corpus, joined)
    with timer("report"):
        report = tasks.report_task(
            run=run, facts=facts, tables=tables, themes=themes, timings=dict(timer.seconds)
        )
    summary = run_summary.finished(report.summary, timer.seconds, datetime.now(UTC))
    run_dir, report_path = tasks.write_task(
        run=run, tables=tables, summary=summary, html=report.html, themes=themes
    )
    create_markdown_artifact(
        key="feedback-run-summary",
        markdown=run_summary.summary_markdown(summary),
        description="Counts and quality metrics of the run (no comment text).",
    )
    get_run_logger().info("run %s finished: status %s", run.id, summary["status"])
    return RunResult(run.id, run_dir, Path(config.out) / "feedback.duckdb", report_path, summary)


def run_facts(run, started, ingested, cleaned, corpus, joined) -> RunFacts:
    """What the stages counted, for the run_summary row."""
    return RunFacts(
        run_id=run.id,
        started_at=started,
        rows_read=ingested.rows_read,
        rows_unchanged=cleaned.rows_unchanged,
        new_comments=len(cleaned.comments),
        new_quarantined=len(cleaned.quarantine),
        documents_analysed=len(corpus.documents),
        scores_read=joined.scores_read,
        match_rate=joined.match_rate,
        id_match_rate=joined.id_match_rate,
        nps=joined.nps,
    )
