"""Two `feedback run`s on one --out: the second waits for the first (run lock), or is refused
with exit 2 naming the holder when its --lock-timeout runs out; the outputs stay consistent.

Slow: real CLI subprocesses (models, the session's Prefect API) on 40 sample comments.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from feedback_process import finish, holding, start_run

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Path:
    """40 sample comments (no scores, no transcripts) and a config without stability refits."""
    root = tmp_path_factory.mktemp("inputs")
    comments = pd.read_csv(SAMPLE / "comments.csv", dtype=str, keep_default_na=False)
    comments[comments["text"].str.len() > 20].head(40).to_csv(root / "comments.csv", index=False)
    config = root / "tiny.yaml"
    config.write_text(
        "comments: comments.csv\ndataset: nhs_fft\nquality:\n  stability_sample: 0\n",
        encoding="utf-8",
    )
    return config


def _start(
    config: Path, out: Path, logs: Path, name: str, *extra: str, api_url: str | None = None
) -> subprocess.Popen:
    args = ["--config", config, "--out", out, *extra]
    home = logs / "prefect-home"
    return start_run(args, prefect_home=home, logs=logs, name=name, api_url=api_url)


def test_concurrency_two_runs_one_waits_and_both_are_recorded(
    tiny_config, tmp_path, prefect_api_url
):
    out = tmp_path / "out"  # does not exist yet: both runs create it
    runs = [_start(tiny_config, out, tmp_path, n, api_url=prefect_api_url) for n in ("a", "b")]
    codes = [finish(p) for p in runs]
    err = {name: (tmp_path / f"{name}.err").read_text() for name in ("a", "b")}
    assert codes == [0, 0], err
    waited = [name for name in err if "waiting for the run" in err[name]]
    assert len(waited) == 1, err  # exactly one of them found the other holding the lock
    first = "b" if waited == ["a"] else "a"
    assert f"pid {runs['ab'.index(first)].pid}" in err[waited[0]]

    con = duckdb.connect(str(out / "feedback.duckdb"), read_only=True)
    try:
        summary = con.execute(
            "SELECT run_id, rows_new, rows_unchanged FROM run_summary ORDER BY finished_at"
        ).df()
        ledger = con.execute(
            "SELECT (SELECT count(*) FROM ingest_ledger), "
            "(SELECT count(*) FROM (SELECT DISTINCT comment_id, row_hash FROM ingest_ledger))"
        ).fetchone()
    finally:
        con.close()
    assert len(summary) == 2 and summary["run_id"].is_unique, summary
    # serialised: the second run saw the first one's ledger and processed nothing again
    assert summary["rows_new"].tolist() == [40, 0], summary
    assert summary["rows_unchanged"].iloc[1] == 40, summary
    assert ledger == (40, 40)
    folders = sorted(p.name for p in out.iterdir() if p.is_dir() and p.name[0].isdigit())
    assert folders == sorted(summary["run_id"])
    assert not (out / ".feedback.lock.json").exists()  # each removed its holder file
    assert not list(out.glob(".*.tmp*"))


HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from flows.lock import run_lock
    with run_lock(Path(sys.argv[1]), run_id="20261201T020000Z-beef", timeout=0):
        print("locked", flush=True)
        sys.stdin.read()
    """
)


def test_concurrency_second_run_with_a_short_lock_timeout_exits_2_naming_the_holder(
    tiny_config, tmp_path
):
    out = tmp_path / "out"
    with holding(HOLD, out, ready="locked") as holder:
        before = sorted(p.name for p in out.iterdir())
        code = finish(_start(tiny_config, out, tmp_path, "late", "--lock-timeout", "1"))
        err = (tmp_path / "late.err").read_text()
        assert code == 2, err
        assert "in use by the run 20261201T020000Z-beef" in err, err
        assert f"pid {holder.pid}" in err and "--lock-timeout" in err, err
        assert sorted(p.name for p in out.iterdir()) == before  # it wrote nothing
        assert json.loads((out / ".feedback.lock.json").read_text())["pid"] == holder.pid
