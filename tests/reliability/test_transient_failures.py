"""Transient I/O failures during a real `feedback run` are retried and the run succeeds
(issue #14, case 7). Nothing in the product is mocked; the test makes the file system fail:

- reading: the scores come from a DuckDB file the test holds a write connection on, so the
  ingest task's read-only open fails on DuckDB's file lock (a transient error: retried after
  5 s); the test lets go as soon as the first failure is logged.
- writing: `<out>/report.html` is a directory, so the write-outputs task's last step (the
  latest report copied to `<out>/`) fails with IsADirectoryError after the Parquet files and
  the DuckDB merge are written; the test removes it as soon as the failure is logged, and the
  retry (2 s later) writes everything again, with no row twice.

Why not a lock on `<out>/feedback.duckdb`: the merge works on a copy of the file that is
renamed over it (flows.io.tables.upsert_duckdb), so a writer holding the old file does not
make the merge fail; only the corpus read at the start would, and that is not a retried step.

Slow: one CLI run on 40 sample comments, against the session's Prefect API.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from feedback_process import ROOT, finish, holding, release, start_run, wait_for
from run_outputs import db_tables, sample_comments

pytestmark = pytest.mark.slow
RUN_ID = "20261201T020000Z-7e57"
HOLD = textwrap.dedent(
    """
    import sys
    import duckdb
    con = duckdb.connect(sys.argv[1])  # a writer: DuckDB locks the file for everyone else
    print("held", flush=True)
    sys.stdin.readline()
    con.close()
    """
)


def _log(logs: Path) -> str:
    return (logs / "run.out").read_text() + (logs / "run.err").read_text()


def _retries(log: str, task: str) -> list[str]:
    """The retries Prefect logged for `task` ("1", "2"): it failed and will run again."""
    return re.findall(rf"'{task}-[^']*' - Task run failed with .* - Retry (\d)/2 will start", log)


@pytest.fixture(scope="module")
def retried_run(tmp_path_factory, share_encoders, prefect_api_url) -> dict:
    root = tmp_path_factory.mktemp("transient")
    comments = sample_comments().head(40)
    comments.to_csv(root / "comments.csv", index=False)
    scores = pd.read_csv(ROOT / "data/sample/scores.csv", dtype=str, keep_default_na=False)
    scores = scores[scores["id"].isin(comments["id"])]
    con = duckdb.connect(str(root / "scores.duckdb"))
    con.execute("CREATE TABLE scores AS SELECT * FROM scores")
    con.close()
    (root / "run.yaml").write_text(
        "comments: comments.csv\nscores: scores.duckdb\nscores_query: scores\n"
        "dataset: nhs_fft\nscore_scale: {low: 1, high: 5, higher_is_better: false, "
        "ignore: [6, 7]}\nquality:\n  stability_sample: 0\n",
        encoding="utf-8",
    )
    out = share_encoders(root / "out")
    (out / "report.html").mkdir()  # the obstacle for the write
    args = ["--config", root / "run.yaml", "--out", out, "--run-id", RUN_ID]
    with holding(HOLD, root / "scores.duckdb", ready="held") as holder:
        run = start_run(
            args, logs=root, name="run", prefect_home=root / "ph", api_url=prefect_api_url
        )
        read_failed = wait_for(run, lambda: bool(_retries(_log(root), "ingest")))
        release(holder)  # the writer goes away before the retry (5 s later)
        write_failed = wait_for(run, lambda: bool(_retries(_log(root), "write-outputs")))
        if write_failed:
            (out / "report.html").rmdir()  # before the write's retry (2 s later)
        code = finish(run)
    return {
        "code": code,
        "log": _log(root),
        "read_failed": read_failed,
        "write_failed": write_failed,
        "out": out,
        "comments": comments,
        "scores": scores,
    }


def test_transient_failures_locked_scores_file_is_retried_and_read(retried_run):
    assert retried_run["code"] == 0, retried_run["log"][-3000:]
    assert retried_run["read_failed"], retried_run["log"][-3000:]
    assert "Could not set lock" in retried_run["log"]
    assert _retries(retried_run["log"], "ingest") == ["1"]  # one retry was enough
    tables = db_tables(retried_run["out"])
    assert len(tables["scores"]) == len(retried_run["scores"]) > 0
    (summary,) = tables["run_summary"].to_dict("records")
    assert summary["scores_read"] == len(retried_run["scores"])
    assert summary["score_match_rate"] > 0.9


def test_transient_failures_failed_write_is_retried_and_complete(retried_run):
    out = retried_run["out"]
    assert retried_run["code"] == 0, retried_run["log"][-3000:]
    assert retried_run["write_failed"], retried_run["log"][-3000:]
    assert "IsADirectoryError" in retried_run["log"]
    assert _retries(retried_run["log"], "write-outputs") == ["1"]
    assert (out / "report.html").is_file()
    assert (out / "report.html").read_bytes() == (out / RUN_ID / "report.html").read_bytes()
    tables = db_tables(out)
    assert tables["run_summary"]["run_id"].tolist() == [RUN_ID]  # the retry replaced its row
    kept = tables["run_summary"]["rows_kept"].iloc[0]
    assert kept == len(tables["comments"]) == len(retried_run["comments"])
    ledger = tables["ingest_ledger"]
    assert len(ledger) == ledger["comment_id"].nunique() == len(retried_run["comments"])
    for name, db in tables.items():  # the database holds what the run folder holds
        parquet = pd.read_parquet(out / RUN_ID / f"{name}.parquet")
        assert len(db) == len(parquet), name
        assert sorted(db.columns) == sorted(parquet.columns), name
    assert not [p.name for p in out.rglob(".*") if ".tmp" in p.name]  # no temp file left
