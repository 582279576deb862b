"""Bad inputs through the real `feedback run`: exit code 2, one `error: <file>: ...` line, no
traceback, nothing written, before any model loads (flows.preflight, called by flows.cli).
And the ingest task retries transient read errors only (flows.tasks.ingest)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = "id,text,date,service\n1,The staff were kind,2024-01-02,111\n2,Long wait,2024-01-03,111\n"

pytestmark = pytest.mark.slow


def feedback_run(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


CASES = {
    "missing": None,
    "empty": b"",
    "header_only": "id,text,date,service\n",
    "binary": bytes(range(256)) * 16,
    "missing_column": "respondent,comment\n1,The staff were kind\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_inputs_comments_exit_2_naming_the_file_and_write_nothing(tmp_path, case):
    comments = tmp_path / f"{case}.csv"
    if CASES[case] is not None:
        _write(comments, CASES[case])
    out = tmp_path / "out"
    done = feedback_run("--comments", comments, "--out", out)
    first = done.stderr.splitlines()[0] if done.stderr else ""
    assert done.returncode == 2, done.stderr
    assert first.startswith(f"error: {comments}: "), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not out.exists()


def test_bad_inputs_out_is_a_file_exit_2_and_file_unchanged(tmp_path):
    comments = _write(tmp_path / "comments.csv", GOOD)
    out = _write(tmp_path / "out", "not a directory")
    done = feedback_run("--comments", comments, "--out", out)
    first = done.stderr.splitlines()[0] if done.stderr else ""
    assert done.returncode == 2, done.stderr
    assert first.startswith(f"error: {out}: exists and is a file, not a directory"), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert out.read_text(encoding="utf-8") == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comments.csv", "out"]


def test_bad_inputs_ingest_retries_transient_errors_only():
    from prefect.states import Failed

    from flows.io.inputs import InputError
    from flows.tasks.ingest import ingest_task, retry_transient_only

    assert ingest_task.retries == 2 and ingest_task.retry_condition_fn is retry_transient_only
    deterministic = [InputError("c.csv: file not found"), ValueError("x"), PermissionError(13, "")]
    for exc in deterministic:
        assert not retry_transient_only(ingest_task, None, Failed(data=exc)), exc
    assert retry_transient_only(ingest_task, None, Failed(data=OSError(errno.EIO, "I/O error")))
