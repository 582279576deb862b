"""The `feedback` command line (flows.cli): exits, messages, what it prints."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from typer.testing import CliRunner

from flows.cli import app, run_summary_text


def test_cli_run_without_inputs_exits_2():
    result = CliRunner().invoke(app, ["run", "--out", "x"])
    assert result.exit_code == 2
    assert "--comments" in result.output


def test_cli_schema_lists_every_table():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    for table in ("comments", "quarantine", "pain_points", "topic_csat", "run_summary"):
        assert table in result.output


def test_cli_run_with_a_bad_config_exits_2_naming_it(tmp_path):
    bad = tmp_path / "nightly.yaml"
    bad.write_text("comments: c.csv\nunknown_key: 1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--config", str(bad)])
    assert result.exit_code == 2
    assert "nightly.yaml" in result.output and "unknown_key" in result.output


def test_cli_summary_text_names_status_counts_and_outputs():
    summary = {
        "status": "degraded",
        "status_reason": "stability_ari 0.10 < 0.50",
        "rows_read": 10,
        "rows_kept": 8,
        "rows_quarantined": 2,
        "moderator_turns": 0,
        "documents_analysed": 8,
        "n_topics": 2,
        "unassigned_share": 0.125,
        "score_match_rate": None,
        "seconds_total": 3.25,
    }
    result = SimpleNamespace(
        run_id="r1",
        summary=summary,
        run_dir=Path("out/r1"),
        db_path=Path("out/feedback.duckdb"),
        report_path=Path("out/r1/report.html"),
    )
    text = run_summary_text(result)
    assert text.splitlines()[0] == "run r1: status degraded (stability_ari 0.10 < 0.50)"
    assert "unassigned 12.5%" in text and "score match rate n/a" in text
    assert "out/feedback.duckdb" in text
