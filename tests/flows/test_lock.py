"""The run lock (flows/lock.py), run ids and the cleanup of a killed run's leftovers.

Fast: the competing holders are small Python processes, no Prefect, no models.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from flows.io.tables import DB_NAME, clean_leftovers
from flows.lock import (
    HOLDER_NAME,
    LOCK_NAME,
    RUN_ID_PATTERN,
    LockInfo,
    OutputDirectoryError,
    RunLockedError,
    new_run_id,
    read_holder,
    run_lock,
)

ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from flows.lock import run_lock
    with run_lock(Path(sys.argv[1]), run_id="20261201T094748Z-3f9a", timeout=0):
        print("locked", flush=True)
        sys.stdin.read()  # hold until the test closes stdin (or kills this process)
    print("released", flush=True)
    """
)


@pytest.fixture
def holder(tmp_path):
    """A separate process holding the lock on `tmp_path/out` until its stdin is closed."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    yield out, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_lock_second_process_waits_then_is_refused_naming_the_holder(holder):
    out, proc = holder
    waits: list[str] = []
    with pytest.raises(RunLockedError) as err, run_lock(out, timeout=0.5, on_wait=waits.append):
        pytest.fail("acquired a lock another process holds")
    assert len(waits) == 1
    assert f"pid {proc.pid} on host {socket.gethostname()}" in waits[0]
    assert "waiting for the run 20261201T094748Z-3f9a" in waits[0] and "up to 0.5 s" in waits[0]
    message = str(err.value)
    assert f"pid {proc.pid}" in message and "20261201T094748Z-3f9a" in message
    assert "--lock-timeout" in message and str(out) in message
    assert err.value.holder.pid == proc.pid


def test_lock_timeout_zero_refuses_without_waiting(holder):
    out, proc = holder
    waits: list[str] = []
    with (
        pytest.raises(RunLockedError, match="not waiting"),
        run_lock(out, timeout=0, on_wait=waits.append),
    ):
        pytest.fail("acquired a lock another process holds")
    assert waits == []


def test_lock_acquired_when_the_holder_exits_while_waiting(holder):
    out, proc = holder
    # closing the holder's stdin from on_wait releases it while we wait (up to a minute)
    with run_lock(out, run_id="mine", timeout=60, on_wait=lambda _m: proc.stdin.close()) as info:
        assert info.pid == os.getpid() and info.previous is None  # it exited cleanly
        assert json.loads((out / HOLDER_NAME).read_text())["run_id"] == "mine"
    assert proc.wait() == 0
    assert not (out / HOLDER_NAME).exists()  # a finished run removes its holder file


def test_lock_free_at_once_after_the_holder_is_killed_and_holder_file_replaced(holder):
    out, proc = holder
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (out / HOLDER_NAME).exists()  # left behind by the killed run
    assert read_holder(out) is None  # its pid is dead: stale
    with run_lock(out, run_id="next", timeout=0) as info:  # timeout 0: no waiting at all
        assert info.previous is not None and info.previous.pid == proc.pid
        assert info.previous.run_id == "20261201T094748Z-3f9a"
        held = json.loads((out / HOLDER_NAME).read_text())
        assert held["pid"] == os.getpid() and held["run_id"] == "next"
        assert set(held) == {"pid", "hostname", "run_id", "started_at", "command"}


def test_lock_holder_file_older_than_the_lock_is_stale(tmp_path):
    with run_lock(tmp_path, run_id="r1", timeout=0):
        assert read_holder(tmp_path).run_id == "r1"
        old = (tmp_path / LOCK_NAME).stat().st_mtime - 10
        os.utime(tmp_path / HOLDER_NAME, (old, old))
        assert read_holder(tmp_path) is None


def test_lock_is_reentrant_in_one_process_and_creates_out(tmp_path):
    out = tmp_path / "new" / "out"
    with run_lock(out, run_id="outer", timeout=0) as outer:
        assert out.is_dir()
        with run_lock(out, run_id="inner", timeout=0) as inner:  # the flow's, inside the CLI's
            assert inner is outer
        assert read_holder(out).run_id == "outer"
    with run_lock(out, timeout=0) as again:
        assert again.previous is None


def test_lock_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("not a directory")
    with pytest.raises(OutputDirectoryError, match="is a file"), run_lock(tmp_path / "out"):
        pass


def test_lock_describe_without_run_id():
    info = LockInfo(pid=7, hostname="h", run_id=None, started_at="t", command="feedback run")
    assert info.describe() == "another feedback run (pid 7 on host h, started t)"


def test_lock_new_run_id_unique_in_one_second_and_sorted_by_time():
    now = datetime(2026, 12, 1, 9, 47, 48, tzinfo=UTC)
    ids = [new_run_id(now) for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(RUN_ID_PATTERN.match(i) and i.startswith("20261201T094748Z-") for i in ids)
    times = [now + timedelta(seconds=s) for s in (0, 1, 59, 3600, 86400 * 40)]
    later = [new_run_id(t) for t in times]
    assert sorted(later) == later
    assert RUN_ID_PATTERN.match(new_run_id())


# ---------------------------------------------------------------- clean_leftovers


def _record_runs(out: Path, run_ids: list[str]) -> None:
    con = duckdb.connect(str(out / DB_NAME))
    con.execute("CREATE TABLE run_summary (run_id VARCHAR, rows_read BIGINT)")
    con.executemany("INSERT INTO run_summary VALUES (?, 1)", [[r] for r in run_ids])
    con.close()


def _plant(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


RECORDED, UNRECORDED, FOREIGN = (
    "20261130T020000Z-1a2b",
    "20261201T020000Z-3c4d",
    "20261129T020000Z-5e6f",
)


def test_lock_clean_leftovers_removes_a_killed_runs_files_only(tmp_path):
    out = tmp_path
    _record_runs(out, [RECORDED, "run1"])
    keep = [
        _plant(out / RECORDED / "comments.parquet"),
        _plant(out / RECORDED / "report.html"),
        _plant(out / "run1" / "comments.parquet"),  # a --run-id folder: recorded, kept
        _plant(out / "20261128T020000Z" / "topics.parquet"),  # not recorded but not ours only:
        _plant(out / "20261128T020000Z" / "notes.txt"),  # a user's file is inside -> kept
        _plant(out / "my-analysis" / "comments.parquet"),  # not named like a run
        _plant(out / "notes.tmp"),
        _plant(out / "report.html"),
        _plant(out / "models" / "topic_registry" / "metadata.json"),
        _plant(out / "models" / "mine-abc" / "x.txt"),  # not a temp name (no leading dot)
    ]
    gone = [
        _plant(out / ".feedback.duckdb.k3j9x_ab.tmp"),
        _plant(out / ".feedback.duckdb.k3j9x_ab.tmp.wal"),
        _plant(out / ".report.html.abcdefgh.tmp"),
        _plant(out / RECORDED / ".pain_points.parquet.a1b2c3d4.tmp"),
        _plant(out / "run1" / ".topics.parquet.zzzzzzzz.tmp"),
        _plant(out / "cache" / ".embeddings-minilm.parquet.q1w2e3r4.tmp"),
        _plant(out / UNRECORDED / "comments.parquet"),
        _plant(out / UNRECORDED / ".sentiment.parquet.abcd1234.tmp"),
        _plant(out / "models" / ".topic_registry-8h3kq0z1" / "topics.json"),
        _plant(out / "models" / "encoders" / ".minilm-onnx-abcd_123" / "model.onnx"),
    ]
    removed = clean_leftovers(out)
    assert all(p.exists() for p in keep), [str(p) for p in keep if not p.exists()]
    assert not any(p.exists() for p in gone), [str(p) for p in gone if p.exists()]
    assert not (out / UNRECORDED).exists() and (out / DB_NAME).exists()
    assert f"{UNRECORDED}/" in removed and "models/.topic_registry-8h3kq0z1/" in removed
    assert ".feedback.duckdb.k3j9x_ab.tmp.wal" in removed
    assert clean_leftovers(out) == []  # nothing left to do


def test_lock_clean_leftovers_restores_a_directory_swap_cut_off_halfway(tmp_path):
    models = tmp_path / "models"
    _plant(models / ".topic_registry-old-abcd1234" / "topic_registry" / "metadata.json", "old")
    _plant(models / ".topic_registry-efgh5678" / "metadata.json", "new, maybe incomplete")
    removed = clean_leftovers(tmp_path)
    assert (models / "topic_registry" / "metadata.json").read_text() == "old"
    assert sorted(p.name for p in models.iterdir()) == ["topic_registry"]
    assert any(r.startswith("models/topic_registry (restored") for r in removed)


def test_lock_clean_leftovers_without_a_database_removes_only_the_crashed_run(tmp_path):
    _plant(tmp_path / UNRECORDED / "comments.parquet")
    _plant(tmp_path / FOREIGN / "comments.parquet")  # the database was deleted: keep history
    assert clean_leftovers(tmp_path) == []
    assert clean_leftovers(tmp_path, crashed_run_id=UNRECORDED) == [f"{UNRECORDED}/"]
    assert (tmp_path / FOREIGN / "comments.parquet").exists()


def test_lock_clean_leftovers_of_a_missing_out_is_nothing(tmp_path):
    assert clean_leftovers(tmp_path / "absent") == []


def _registry(out: Path, run_id: str) -> None:
    from flows.io.state import save_registry
    from nlp.themes.registry import Registry

    save_registry(Registry.empty(4), out, {"run_id": run_id, "encoder": "e"})


def _registry_run(out: Path) -> str:
    from flows.io.state import load_registry_metadata

    return load_registry_metadata(out).get("run_id")


def test_lock_clean_leftovers_puts_back_the_registry_of_the_last_committed_run(tmp_path):
    """A run killed after saving its registry but before the DuckDB merge committed it: the
    next run starts from the committed run's registry, not the dead run's."""
    _record_runs(tmp_path, [RECORDED])
    _registry(tmp_path, RECORDED)
    _registry(tmp_path, UNRECORDED)
    _registry(tmp_path, UNRECORDED)  # a retried write of the same run keeps the committed one
    assert _registry_run(tmp_path) == UNRECORDED
    removed = clean_leftovers(tmp_path)
    assert _registry_run(tmp_path) == RECORDED
    assert any("never committed" in r for r in removed)
    assert clean_leftovers(tmp_path) == []  # a committed registry is left alone


def test_lock_clean_leftovers_removes_the_registry_of_a_first_run_that_never_committed(tmp_path):
    _registry(tmp_path, UNRECORDED)
    assert clean_leftovers(tmp_path) == []  # no database and no crashed run named: keep
    assert clean_leftovers(tmp_path, crashed_run_id=UNRECORDED) == [
        f"models/topic_registry/ (run {UNRECORDED} never committed)"
    ]
    assert not (tmp_path / "models" / "topic_registry").exists()
