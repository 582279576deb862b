"""Degenerate corpora through the real `feedback run` (issue #14, case 9): five documents, a
thousand identical ones, and one-word documents. Each run exits 0 and is `degraded`: the topic
stage is skipped with its reason in run_summary.status_reason, and every other table is still
written (comments, sentiment, clauses, pain points, to Parquet and DuckDB).

Slow: three CLI runs on inputs built from data/sample/comments.csv, against the session's
Prefect API; the thousand identical texts are embedded once (the cache is keyed by text hash).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from feedback_process import run_cli
from run_outputs import db_tables, sample_comments

pytestmark = pytest.mark.slow
WRITTEN = ("comments", "sentiment", "clauses", "pain_points", "comment_topics", "run_summary")


def _five(sample: pd.DataFrame) -> pd.DataFrame:
    return sample.head(5)


def _identical(sample: pd.DataFrame) -> pd.DataFrame:
    text = sample.loc[sample["text"].str.split().str.len() >= 12, "text"].iloc[0]
    rows = sample.iloc[[0] * 1000].reset_index(drop=True)
    return rows.assign(id=[f"SAME-{i:04d}" for i in range(1000)], text=text)


def _one_word(sample: pd.DataFrame) -> pd.DataFrame:
    words = pd.Series(re.findall(r"\b[A-Za-z]{4,}\b", " ".join(sample["text"].head(300))))
    words = words.str.lower().drop_duplicates().head(60).tolist()
    rows = sample.head(60).reset_index(drop=True)
    return rows.assign(id=[f"WORD-{i:02d}" for i in range(60)], text=words)


# name -> (rows, why the topic stage is skipped: too few or too uniform before any fit; the
# one-word documents are fitted and UMAP/HDBSCAN find no cluster)
CORPORA = {
    "five": (_five, r"only \d+ statements \(need 30\)"),  # 5 comments, a few sentences each
    "identical": (_identical, "only 1 distinct statements"),
    "one_word": (_one_word, "no cluster found"),
}


@pytest.fixture(scope="module")
def degenerate(tmp_path_factory, share_encoders, prefect_api_url):
    """Runs each corpus once, on first use: name -> (CompletedProcess, rows, out)."""
    root = tmp_path_factory.mktemp("degenerate")
    sample = sample_comments(min_chars=31)
    done: dict = {}

    def run(name: str):
        if name not in done:
            rows = CORPORA[name][0](sample)
            rows.to_csv(root / f"{name}.csv", index=False)
            out = share_encoders(root / name)
            args = ["--comments", root / f"{name}.csv", "--out", out]
            proc = run_cli(args, prefect_home=root / "ph", api_url=prefect_api_url)
            done[name] = (proc, rows, out)
        return done[name]

    return run


def _run_tables(out: Path) -> dict[str, pd.DataFrame]:
    (run_dir,) = [p for p in out.iterdir() if (p / "run_summary.parquet").is_file()]
    return {p.stem: pd.read_parquet(p) for p in run_dir.glob("*.parquet")}


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_degenerate_corpora_run_degraded_with_topics_skipped_and_tables_written(degenerate, name):
    proc, rows, out = degenerate(name)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    db, parquet = db_tables(out), _run_tables(out)
    (summary,) = db["run_summary"].to_dict("records")
    assert summary["status"] == "degraded", summary
    reason = summary["status_reason"]
    assert reason.startswith("topics skipped: ") and re.search(CORPORA[name][1], reason), reason
    assert summary["n_topics"] in (0, None) or pd.isna(summary["n_topics"]), summary
    assert db["topics"].empty and db["comment_topics"]["topic_id"].isna().all()
    for table in WRITTEN:
        assert table in db and table in parquet, table
        assert len(db[table]) == len(parquet[table]), table
    comments = db["comments"]
    assert len(comments) == summary["rows_kept"] == len(rows)
    assert set(db["sentiment"]["comment_id"]) == set(comments["comment_id"])
    assert set(db["comment_topics"]["comment_id"]) == set(comments["comment_id"])
    assert set(db["clauses"]["comment_id"]) == set(comments["comment_id"])
    assert db["sentiment"]["label"].isin(["positive", "neutral", "negative"]).all()
    if name == "identical":  # one text: one sentiment, and the rows are flagged as repeats
        assert db["sentiment"]["label"].nunique() == 1
        assert comments["near_duplicate_of"].notna().sum() == len(rows) - 1
        assert len(db["pain_points"]) % len(rows) == 0  # the same tags on every copy
    assert (out / "report.html").stat().st_size > 0
