"""Nightly reruns through the real `feedback run` on one --out (issue #14, cases 6 and 10).

Case 6: a rerun of the same input leaves every DuckDB table as it was (all tables in the file,
but the columns naming the current run and the run-keyed tables gaining the rerun's rows); a
late row is processed once; an edited row replaces its earlier version in every comment-keyed
table. tests/flows/test_feedback_pipeline.py compares the run folders' Parquet files of a rerun
through the flow itself; here it is the DuckDB file the CLI keeps, every table of it.
Case 10: a pickle planted under `<out>/models/` is refused (exit 2, naming it), never loaded,
and the good run's outputs stay as they were.

Slow: three CLI runs on 120 sample comments with scores (one refit, then two transforms), and
two refused runs on copies of that --out.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest
from feedback_process import ROOT, run_cli
from run_outputs import db_tables, sample_comments

from nlp.schemas import COMMENT_KEYED, RUN_KEYED

pytestmark = pytest.mark.slow
CONFIG = """comments: comments.csv
scores: scores.csv
dataset: nhs_fft
columns: {segments: [age_band]}
score_scale: {low: 1, high: 5, higher_is_better: false, ignore: [6, 7]}
quality:
  stability_sample: 0
"""
# columns that name the run writing a snapshot table, or time it
CURRENT_RUN = {"run_id", "last_seen_run"}
EDITED_TEXT = "Edited later: the phone line was engaged for two days."
BANDS = ("16-24", "25-44", "45-64", "65+")


def _banded(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with an age_band segment column (every row has one)."""
    return df.assign(age_band=[BANDS[i % len(BANDS)] for i in range(len(df))])


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order (every column as text), index reset."""
    if df.empty:
        return df.reset_index(drop=True)
    key = df.astype(object).map(repr).agg("\x1f".join, axis=1)
    return df.iloc[pd.Index(key).argsort()].reset_index(drop=True)


def _volatile(table: str, df: pd.DataFrame) -> list[str]:
    timed = [c for c in df.columns if c.endswith("_at") or c.startswith("seconds_")]
    current = [] if table in COMMENT_KEYED else sorted(CURRENT_RUN & set(df.columns))
    return timed + current


@pytest.fixture(scope="module")
def nightly(tmp_path_factory, share_encoders, prefect_api_url) -> dict:
    """Night 1, night 2 (the same input) and night 3 (a late row and an edited row), with a
    snapshot of every DuckDB table after each night."""
    root = tmp_path_factory.mktemp("nightly")
    sample = sample_comments(min_chars=31)
    comments = pd.concat(
        [
            sample.head(120),
            pd.DataFrame(
                [
                    {"id": "Q-NA", "date": "2021-10-04", "service": "111", "text": "N/A"},
                    {"id": "Q-EMPTY", "date": "2021-10-04", "service": "111", "text": " "},
                ]
            ),
            sample.iloc[[0]],  # the same row again: duplicate_row
        ],
        ignore_index=True,
    )
    _banded(comments).to_csv(root / "comments.csv", index=False)
    scores = pd.read_csv(ROOT / "data/sample/scores.csv", dtype=str, keep_default_na=False)
    late = sample.iloc[[200]]
    scores = scores[scores["id"].isin(pd.concat([comments["id"], late["id"]]))]
    scores.to_csv(root / "scores.csv", index=False)
    (root / "nightly.yaml").write_text(CONFIG, encoding="utf-8")
    later = comments.head(123).copy()  # the duplicate row gone, one row edited, one late row
    edited_id = later.loc[5, "id"]
    later.loc[5, "text"] = EDITED_TEXT
    _banded(pd.concat([later, late], ignore_index=True)).to_csv(root / "later.csv", index=False)

    out = share_encoders(root / "out")
    site = {"root": root, "out": out, "late_id": late["id"].iloc[0], "edited_id": edited_id}
    for night, extra in (("1", []), ("2", []), ("3", ["--comments", root / "later.csv"])):
        done = run_cli(
            ["--config", root / "nightly.yaml", "--out", out, "--run-id", f"night{night}", *extra],
            prefect_home=root / "prefect-home",
            api_url=prefect_api_url,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        site[f"after{night}"] = db_tables(out)
    return site


def test_nightly_reruns_same_input_leaves_every_duckdb_table_unchanged(nightly):
    first, second = nightly["after1"], nightly["after2"]
    assert set(first) == set(second) and set(COMMENT_KEYED) | set(RUN_KEYED) <= set(first)
    summary = second["run_summary"].set_index("run_id")
    assert summary.loc["night2", "rows_new"] == 0, summary
    assert summary.loc["night2", "rows_unchanged"] == summary.loc["night2", "rows_read"] == 123
    for name, before in first.items():
        after = second[name]
        if name in RUN_KEYED:  # night 1's rows as they were, plus night 2's own
            assert set(after["run_id"]) <= {"night1", "night2"}, name
            after = after[after["run_id"] == "night1"]
        assert len(before) > 0 or name == "driver_gaps", name
        drop = _volatile(name, before)
        pd.testing.assert_frame_equal(
            _ordered(before.drop(columns=drop)), _ordered(after.drop(columns=drop)), obj=name
        )
    assert (second["quarantine"]["run_id"] == "night1").all()  # reported once, by night 1
    assert len(second["quarantine"]) == 3


def _one_row_each(tables: dict, name: str) -> pd.DataFrame:
    """The table with one row per comment: comment_topics' primary rows (a comment has a row
    per theme it contains)."""
    df = tables[name]
    return df[df["is_primary"]] if name == "comment_topics" else df


def test_nightly_reruns_late_row_is_processed_once(nightly):
    before, after = nightly["after2"], nightly["after3"]
    summary = after["run_summary"].set_index("run_id").loc["night3"]
    assert summary["rows_new"] == 2 and summary["rows_unchanged"] == summary["rows_read"] - 2
    comments = after["comments"]
    late = comments[comments["source_id"] == nightly["late_id"]]
    assert len(late) == 1 and late["run_id"].iloc[0] == "night3"
    assert len(comments) == len(before["comments"]) + 1
    late_id = late["comment_id"].iloc[0]
    for name in ("comments", "comment_topics", "sentiment", "scores", "ingest_ledger"):
        assert (_one_row_each(after, name)["comment_id"] == late_id).sum() == 1, name
    ledger = after["ingest_ledger"]
    assert len(ledger) == len(before["ingest_ledger"]) + 1  # the edited row replaced its own


def test_nightly_reruns_edited_row_replaces_its_earlier_version(nightly):
    before, after = nightly["after2"], nightly["after3"]
    edited = after["comments"][after["comments"]["source_id"] == nightly["edited_id"]]
    assert edited["text"].tolist() == [EDITED_TEXT] and edited["run_id"].tolist() == ["night3"]
    cid = edited["comment_id"].iloc[0]
    old_hash = before["ingest_ledger"].set_index("comment_id").loc[cid, "row_hash"]
    ledger = after["ingest_ledger"][after["ingest_ledger"]["comment_id"] == cid]
    assert len(ledger) == 1 and ledger["row_hash"].iloc[0] != old_hash
    assert ledger["run_id"].iloc[0] == "night3"
    for name in ("comments", "comment_topics", "sentiment", "scores", "comment_segments"):
        assert (_one_row_each(after, name)["comment_id"] == cid).sum() == 1, name
    statements = after["statements"][after["statements"]["comment_id"] == cid]
    assert len(statements) >= 1 and statements["end"].max() <= len(EDITED_TEXT)
    clauses = after["clauses"][after["clauses"]["comment_id"] == cid]
    assert len(clauses) >= 1 and clauses["end"].max() <= len(EDITED_TEXT)
    tags = after["pain_points"][after["pain_points"]["comment_id"] == cid]
    assert all(EDITED_TEXT[s:e] == ev for s, e, ev in tags[["start", "end", "evidence"]].values)
    # the other comments' rows are those of night 2
    for name in ("comments", "sentiment", "clauses"):
        keep = lambda df: df[df["comment_id"] != cid]  # noqa: E731
        old = keep(before[name])
        new = keep(after[name])
        new = new[new["comment_id"].isin(old["comment_id"])]
        pd.testing.assert_frame_equal(_ordered(old), _ordered(new), obj=name)


# ---------------------------------------------------------------- case 10: planted pickles


class Planted:
    """Unpickling this makes the directory `marker`: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _fingerprint(out: Path) -> dict[str, str]:
    """sha256 of every file under `out` but the encoder exports (shared) and the pickle."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "encoders" not in p.parts and p.suffix != ".pkl"
    }


@pytest.mark.parametrize("where", ["topic_registry", "sentiment_head"])
def test_nightly_reruns_refuse_a_planted_pickle_and_keep_the_outputs(
    nightly, tmp_path, prefect_api_url, where
):
    out = tmp_path / "out"
    shutil.copytree(nightly["out"], out, symlinks=True)
    config = nightly["root"] / "nightly.yaml"
    if where == "sentiment_head":  # a head the run loads from under --out
        head = out / "models" / "sentiment_head"
        shutil.copytree(ROOT / "models" / "sentiment_head", head)
        config = config.with_name("head.yaml")
        setting = f"sentiment_model: head\nsentiment_head: {head}\n"
        config.write_text(CONFIG + setting, encoding="utf-8")
    marker = tmp_path / "unpickled"
    planted = out / "models" / where / "state.pkl"
    planted.write_bytes(pickle.dumps(Planted(marker)))
    before = _fingerprint(out)

    done = run_cli(
        ["--config", config, "--out", out], prefect_home=tmp_path / "ph", api_url=prefect_api_url
    )
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.stdout + done.stderr)[-3000:]
    # the last line is the CLI's (Prefect logs the failed task above it)
    assert err[-1].startswith("error: ") and "state.pkl" in err[-1], err[-1]
    assert str(planted.parent) in err[-1] and "delete" in err[-1].lower(), err[-1]
    assert not marker.exists()  # nothing was unpickled
    assert _fingerprint(out) == before  # database, run folders, report, registry untouched
    assert planted.is_file()  # refused, not silently removed either
