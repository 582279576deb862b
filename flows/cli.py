"""`feedback` command line: run the pipeline, serve it nightly, print the output schema."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from flows.config import ConfigError, PipelineConfig, load_config
from flows.themes_cli import themes_app

app = typer.Typer(add_completion=False, help="Feedback text mining pipeline (offline).")
app.add_typer(themes_app, name="themes")  # list, show and analyst edits (no Prefect)

Opt = typer.Option


@app.command()
def run(
    *,
    comments: Annotated[
        Path | None, Opt(help="Comments file: CSV/TSV, JSON, JSONL or Parquet.")
    ] = None,
    scores: Annotated[Path | None, Opt(help="Scores file keyed by the same id column.")] = None,
    transcripts: Annotated[
        Path | None,
        Opt(
            help="Directory of transcripts: .txt/.docx (`Speaker: text`), .vtt, .srt, or "
            "diarised .json with a speakers file."
        ),
    ] = None,
    out: Annotated[Path | None, Opt(help="Output directory (DuckDB, Parquet, report).")] = None,
    config: Annotated[
        Path | None, Opt(help="YAML config (column mapping, score scale, ...).")
    ] = None,
    taxonomy: Annotated[
        Path | None, Opt(help="Pain-point taxonomy YAML to extend/replace the default.")
    ] = None,
    run_id: Annotated[
        str | None,
        Opt(help="Run id (default: UTC timestamp + random suffix, e.g. 20261201T094748Z-3f9a)."),
    ] = None,
    retrain: Annotated[
        bool, Opt("--retrain", help="Refit topics (ids kept through the registry).")
    ] = False,
    lock_timeout: Annotated[
        float | None,
        Opt(help="Seconds to wait for another run on the same --out (default 3600; 0 = none)."),
    ] = None,
) -> None:
    """Run the whole pipeline once on the given inputs."""
    cfg = _config_or_exit(
        config,
        comments=comments,
        scores=scores,
        transcripts=transcripts,
        out=out,
        taxonomy=taxonomy,
        run_id=run_id,
        retrain=retrain or None,
        lock_timeout=lock_timeout,
    )
    _preflight_or_exit(cfg)  # before any model loads or anything is written
    from flows.io import InputError
    from flows.lock import RunLockedError
    from flows.prefect_runtime import PrefectAPIError
    from nlp.tagging.taxonomy import TaxonomyError

    try:
        result = _run_locked(cfg)
    except (InputError, TaxonomyError, RunLockedError, PrefectAPIError, ValueError) as exc:
        _fail(exc)
    typer.echo(run_summary_text(result))


def _run_locked(cfg: PipelineConfig):
    """Run the flow holding the run lock on `cfg.out` (taken here, before Prefect starts),
    after removing a killed run's leftovers."""
    from flows.lock import locked_output, new_run_id
    from flows.prefect_runtime import prefect_api

    cfg = cfg.model_copy(update={"run_id": cfg.run_id or new_run_id()})
    with locked_output(cfg, on_wait=_warn) as removed:
        if removed:
            _warn(f"{cfg.out}: removed what an interrupted run left: {', '.join(removed)}")
        # without PREFECT_API_URL: a temporary server that dies with this process
        with prefect_api(echo=_warn) as api:
            from flows.feedback_pipeline import feedback_pipeline_flow  # while it starts

            api.wait_ready()
            return feedback_pipeline_flow(cfg)


def _warn(message: str) -> None:
    typer.echo(message, err=True)


def _fail(exc: Exception) -> NoReturn:
    """A user error: its message on stderr, exit code 2, no traceback."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2) from exc


def _config_or_exit(path: Path | None, **overrides: object) -> PipelineConfig:
    try:
        cfg = load_config(path, **overrides)
    except ConfigError as exc:
        _fail(exc)
    if cfg.comments is None and cfg.transcripts is None:
        _fail(ValueError("give --comments and/or --transcripts (or `comments:` in the config)"))
    return cfg


def _preflight_or_exit(cfg: PipelineConfig) -> None:
    from flows.preflight import PreflightError, preflight

    try:
        checked = preflight(cfg)
    except PreflightError as exc:
        _fail(exc)
    for warning in checked.warnings:
        typer.echo(f"warning: {warning}", err=True)


def run_summary_text(result) -> str:
    """What `feedback run` prints: status, counts and where the outputs are."""
    s = result.summary
    return "\n".join(
        [
            f"run {result.run_id}: status {s['status']}"
            + (f" ({s['status_reason']})" if s.get("status_reason") else ""),
            f"  rows read {s['rows_read']}, kept {s['rows_kept']}, quarantined "
            f"{s['rows_quarantined']}, moderator turns {s['moderator_turns']}",
            f"  documents analysed {s['documents_analysed']}, topics {s['n_topics']}, "
            f"unassigned {_pct(s['unassigned_share'])}",
            f"  score match rate {_pct(s['score_match_rate'])} (usable scores), by id "
            f"{_pct(s.get('score_id_match_rate'))}; unmatched: {s.get('unmatched_comments', 0)} "
            f"comments, {s.get('unmatched_scores', 0)} score rows (table unmatched_scores)",
            f"  time {s['seconds_total']:.1f} s",
            f"  tables:   {result.run_dir}/*.parquet",
            f"  database: {result.db_path}",
            f"  report:   {result.report_path}",
        ]
    )


@app.command()
def serve(
    config: Annotated[Path, Opt(help="YAML config naming the inputs and output.")],
    cron: Annotated[str, Opt(help="Cron schedule (default 02:00 every night).")] = "0 2 * * *",
    name: Annotated[str, Opt(help="Deployment name.")] = "nightly",
) -> None:
    """Serve the flow on a cron schedule (needs a Prefect server or Prefect Cloud)."""
    from flows.prefect_runtime import PrefectAPIError

    cfg = _config_or_exit(config)
    _preflight_or_exit(cfg)
    from flows.deployments import serve_nightly

    try:
        serve_nightly(cfg, cron=cron, name=name)
    except PrefectAPIError as exc:
        _fail(exc)


@app.command()
def schema() -> None:
    """Print the output tables and their columns."""
    from nlp.schemas import TABLES

    for table, cols in TABLES.items():
        typer.echo(f"{table}")
        for col, dtype in cols.items():
            typer.echo(f"  {col:<22} {dtype}")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def main() -> None:  # pragma: no cover - console entry
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
