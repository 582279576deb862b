"""`feedback` command line: run the pipeline, serve it nightly, print the output schema."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from flows.config import ConfigError, load_config

app = typer.Typer(add_completion=False, help="Feedback text mining pipeline (offline).")

Opt = typer.Option


@app.command()
def run(
    *,
    comments: Annotated[
        Path | None, Opt(help="Comments file: CSV/TSV, JSON, JSONL or Parquet.")
    ] = None,
    scores: Annotated[Path | None, Opt(help="Scores file keyed by the same id column.")] = None,
    transcripts: Annotated[
        Path | None, Opt(help="Directory of `Speaker: text` .txt transcripts.")
    ] = None,
    out: Annotated[Path | None, Opt(help="Output directory (DuckDB, Parquet, report).")] = None,
    config: Annotated[
        Path | None, Opt(help="YAML config (column mapping, score scale, ...).")
    ] = None,
    taxonomy: Annotated[
        Path | None, Opt(help="Pain-point taxonomy YAML to extend/replace the default.")
    ] = None,
    run_id: Annotated[str | None, Opt(help="Run id (default: UTC timestamp).")] = None,
    retrain: Annotated[
        bool, Opt("--retrain", help="Refit topics (ids kept through the registry).")
    ] = False,
) -> None:
    """Run the whole pipeline once on the given inputs."""
    try:
        cfg = load_config(
            config,
            comments=comments,
            scores=scores,
            transcripts=transcripts,
            out=out,
            taxonomy=taxonomy,
            run_id=run_id,
            retrain=retrain or None,
        )
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if cfg.comments is None and cfg.transcripts is None:
        typer.echo("error: give --comments and/or --transcripts", err=True)
        raise typer.Exit(2)

    from flows.feedback_pipeline import feedback_pipeline_flow
    from flows.io import InputError
    from nlp.tagging.taxonomy import TaxonomyError

    try:
        result = feedback_pipeline_flow(cfg)
    except (InputError, TaxonomyError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(run_summary_text(result))


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
            f"  score match rate {_pct(s['score_match_rate'])}",
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
    from flows.deployments import serve_nightly

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    serve_nightly(cfg, cron=cron, name=name)


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
