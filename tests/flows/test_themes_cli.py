"""`feedback themes ...` (flows.themes_cli): listing, showing and recording analyst edits on a
small real DuckDB output, the audit trail file, user errors (exit 2) and the run lock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.io.theme_edits import edits_path, load_edits, read_snapshot
from nlp.schemas import conform
from nlp.themes.edits import ANALYST_ID_BASE, comment_topics_from_statements

ROOT = Path(__file__).resolve().parents[2]
COMMENTS = {
    "c1": "The car park was full. Staff were kind.",
    "c2": "Parking fees are too high.",
    "c3": "The nurse was kind to me. I waited four hours.",
    "c4": "Nothing else to say.",
}
# comment, index, topic, score: offsets are the sentences of COMMENTS
STATEMENTS = [("c1", 0, 1, 0.9), ("c1", 1, 2, 0.8), ("c2", 0, 1, 0.7)]
STATEMENTS += [("c3", 0, 2, 0.6), ("c3", 1, 3, 0.5), ("c4", 0, None, 0.2)]


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for i, ch in enumerate(text):
        if ch == ".":
            spans.append((start, i + 1))
            start = i + 2
    return spans


def write_output(out: Path, *, with_statements: bool = True) -> Path:
    """A feedback.duckdb with topics, comments, statements, comment_topics and run_summary."""
    out.mkdir(parents=True, exist_ok=True)
    topics = conform(
        pd.DataFrame(
            {
                "topic_id": [1, 2, 3],
                "label": ["Car park", "Kind staff", "Waiting"],
                "top_words": ["car, park", "kind, staff", "wait, hour"],
                "size": [2, 2, 1],
                "status": ["active", "active", "active"],
                "parent_id": [1, 1, 3],
                "parent_label": ["Car park", "Car park", "Waiting"],
                "name_source": ["phrase", "phrase", "words"],
            }
        ),
        "topics",
    )
    rows = []
    for c, i, tid, score in STATEMENTS:
        start, end = _sentences(COMMENTS[c])[i]
        rows.append(dict(comment_id=c, statement_index=i, start=start, end=end, topic_id=tid))
        rows[-1]["score"] = score
    statements = conform(pd.DataFrame(rows), "statements")
    comment_topics = comment_topics_from_statements(statements)
    if not with_statements:
        statements = statements.iloc[0:0]
    comments = conform(
        pd.DataFrame({"comment_id": list(COMMENTS), "text": list(COMMENTS.values())}), "comments"
    )
    summary = pd.DataFrame({"run_id": ["r1"], "started_at": [pd.Timestamp("2026-01-01T00:00:00Z")]})
    con = duckdb.connect(str(out / "feedback.duckdb"))
    for name, df in [
        ("topics", topics),
        ("statements", statements),
        ("comment_topics", comment_topics),
        ("comments", comments),
        ("run_summary", summary),
    ]:
        con.register("df", df)
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM df')
        con.unregister("df")
    con.close()
    return out


@pytest.fixture()
def out(tmp_path) -> Path:
    return write_output(tmp_path / "out")


def cli(*args: str | Path):
    return CliRunner().invoke(app, ["themes", *map(str, args)], env={"USER": "ana"})


def ok(*args: str | Path) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result.output


def test_themes_cli_list_shows_ids_names_parents_sizes_status(out):
    text = ok("list", "--out", out)
    lines = text.splitlines()
    assert lines[0].split() == ["id", "name", "parent", "size", "status", "edited"]
    assert lines[1].split()[:2] == ["1", "Car"] and "1 Car park" in lines[2]
    assert "edits in" not in text  # no edits recorded yet


def test_themes_cli_show_prints_examples_from_statements(out):
    text = ok("show", "1", "--out", out)
    assert text.splitlines()[0] == "theme 1: Car park"
    assert '[c1] "The car park was full."' in text and '[c2] "Parking fees are too high."' in text
    assert text.index("[c1]") < text.index("[c2]")  # best score first
    assert "car, park" in text


def test_themes_cli_show_without_statements_prints_comment_ids(tmp_path):
    out = write_output(tmp_path / "old", with_statements=False)
    text = ok("show", "2", "--out", out)
    assert "ids only" in text and "c1" in text and "c3" in text


def test_themes_cli_rename_records_an_audited_edit(out):
    text = ok("rename", "2", "Staff kindness", "--out", out, "--note", "clearer")
    assert "recorded e1 by ana" in text and "next run" in text
    doc = json.loads(edits_path(out).read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1
    (edit,) = doc["edits"]
    assert edit["op"] == "rename" and edit["args"] == {"topic_id": 2, "name": "Staff kindness"}
    assert edit["before"]["2"]["name"] == "Kind staff"
    assert edit["after"]["2"]["name"] == "Staff kindness"
    assert edit["by"] == "ana" and edit["note"] == "clearer" and edit["at"].endswith("Z")
    listed = ok("list", "--out", out)
    row = next(line for line in listed.splitlines() if line.startswith("2 "))
    assert "Staff kindness" in row and row.rstrip().endswith("yes")


def test_themes_cli_merge_then_list_shows_merged(out):
    text = ok("merge", "2", "3", "--out", out, "--by", "bo")
    assert "recorded e1 by bo: merge 2 into 3" in text
    after = load_edits(out)[0].after
    assert after["2"]["status"] == "merged" and after["3"]["statements"] == 3
    row = next(line for line in ok("list", "--out", out).splitlines() if line.startswith("2 "))
    assert "merged" in row


def test_themes_cli_split_allocates_a_stable_id_and_moves_statements(out):
    ok("split", "1", "car park", "--name", "Car park spaces", "--out", out)
    (edit,) = load_edits(out)
    new = edit.args["new_topic_id"]
    assert new == ANALYST_ID_BASE
    assert edit.after[str(new)]["statements"] == 1 and edit.after["1"]["statements"] == 1
    shown = ok("show", str(new), "--out", out)
    assert "Car park spaces" in shown and "The car park was full." in shown
    ok("split", "2", "nurse", "--out", out)
    assert load_edits(out)[1].args["new_topic_id"] == new + 1  # never reused


def test_themes_cli_move_to_new_parent_by_name_then_reuse_it(out):
    ok("move", "3", "--parent-name", "Getting care", "--out", out)
    ok("move", "2", "--parent-name", "getting CARE", "--out", out)
    first, second = load_edits(out)
    assert first.args["parent_name"] == "Getting care"
    assert second.args["parent_id"] == first.args["parent_id"] >= ANALYST_ID_BASE
    assert second.args["parent_name"] is None  # the parent made by the first edit
    ok("move", "1", "--parent", "3", "--out", out)


def test_themes_cli_hide_and_undo_appear_in_the_audit_trail(out):
    ok("hide", "3", "--out", out)
    ok("undo", "e1", "--out", out)
    trail = ok("edits", "--out", out)
    assert "e1" in trail and "hide 3" in trail and "[undone]" in trail
    assert "undo e1" in trail and "pending" in trail
    row = next(line for line in ok("list", "--out", out).splitlines() if line.startswith("3 "))
    assert "active" in row and "hidden" not in row
    assert cli("undo", "e1", "--out", out).exit_code == 2  # already undone


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rename", "9", "X"], "no theme 9"),
        (["merge", "1", "1"], "into itself"),
        (["merge", "1", "9"], "no theme 9"),
        (["move", "1", "--parent", "77"], "no parent theme 77"),
        (["move", "1"], "--parent"),
        (["undo", "e5"], "no edit e5"),
        (["show", "9"], "no theme 9"),
        (["rename", "1", "  "], "'name' is empty"),
        (["split", "1", "car", "--out-of-range"], "No such option"),
    ],
)
def test_themes_cli_user_errors_exit_2_with_a_message(out, args, message):
    result = cli(*args, "--out", out)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not edits_path(out).exists()


def test_themes_cli_edit_of_a_merged_theme_is_refused(out):
    ok("merge", "2", "3", "--out", out)
    result = cli("hide", "2", "--out", out)
    assert result.exit_code == 2 and "merged into 3" in result.output
    assert len(load_edits(out)) == 1


def test_themes_cli_without_an_output_directory_exits_2(tmp_path):
    for args in (["list"], ["rename", "1", "X"]):
        result = cli(*args, "--out", tmp_path / "missing")
        assert result.exit_code == 2 and "no such output directory" in result.output
    assert not (tmp_path / "missing").exists()  # the lock did not create it
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("list", "--out", empty)
    assert result.exit_code == 2 and "feedback run --out" in result.output


def test_themes_cli_malformed_edits_file_names_it(out):
    edits_path(out).parent.mkdir(parents=True)
    edits_path(out).write_text('{"schema_version": 9, "edits": []}', encoding="utf-8")
    result = cli("list", "--out", out)
    assert result.exit_code == 2 and "theme_edits.json" in result.output
    assert "schema_version 9" in result.output


def test_themes_cli_waits_for_the_run_lock_then_refuses(out):
    from flows.lock import run_lock

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from flows.lock import run_lock\n"
            "with run_lock(Path(sys.argv[1]), run_id='20260101T000000Z-abcd'):\n"
            "    print('held', flush=True); time.sleep(30)",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = cli("rename", "1", "X", "--out", out, "--lock-timeout", "0.5")
        assert result.exit_code == 2 and "20260101T000000Z-abcd" in result.output
        assert not edits_path(out).exists()
    finally:
        holder.kill()
        holder.wait()
    with run_lock(out, timeout=5):
        pass  # free again once the holder is gone
    ok("rename", "1", "X", "--out", out)


def test_themes_cli_snapshot_texts_align_with_statements(out):
    snap = read_snapshot(out)
    assert list(snap.statement_texts[:3]) == [
        "The car park was full.",
        "Staff were kind.",
        "Parking fees are too high.",
    ]


def test_themes_cli_runs_as_a_module_without_prefect(out):
    code = (
        "import sys; from flows.cli import app\n"
        "try:\n    app(['themes', 'list', '--out', sys.argv[1]])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('prefect' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False" and "Car park" in done.stdout
