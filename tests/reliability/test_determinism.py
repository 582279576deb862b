"""Determinism at scale (issue #14, case 13): a 20,000-row corpus run twice through the real
`feedback run` with the same seed and run id, into two --out directories, gives the same
topics (ids, labels, top words, sizes, representatives) and the same comment_topics.

The corpus: the real texts of ../shared/data (NHS FFT answers, app reviews, Polis comments;
about 6,400 distinct) repeated under new ids up to 20,000 rows, so every stage sees 20k rows.
To keep CI time low the two outs share the ONNX encoder exports and the embedding cache
(`<out>/cache` is one directory): the second run embeds nothing, so this checks everything
after the embedding pass (UMAP, HDBSCAN, c-TF-IDF, labels, centroid assignment of the 15,000
documents outside the `topics.fit_sample` of 5,000, registry), not the encoder's own
determinism, which this suite does not cover. Skipped without ../shared/data.

Slow: two CLI runs on 20,000 rows (several minutes on 2 cores; the time of each is printed).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from feedback_process import ROOT, run_cli
from run_outputs import db_tables

pytestmark = pytest.mark.slow
DATA = ROOT.parent / "shared" / "data"
SOURCES = {  # file -> (text column, service name)
    "nhs_patient_feedback_v6.csv": ("FFT answer", "nhs"),
    "gov_app_reviews.csv": ("review", "app"),
    "polis_bowling_green_comments.csv": ("comment-body", "polis"),
}
N_ROWS = 20_000
CONFIG = "comments: comments.csv\ndataset: det\nseed: 7\ntopics:\n  fit_sample: 5000\n"
CONFIG += "quality:\n  stability_sample: 0\n"


def _corpus() -> pd.DataFrame:
    """N_ROWS rows of real text (> 20 characters), repeated in order, dated over 2024."""
    parts = []
    for name, (column, service) in SOURCES.items():
        texts = pd.read_csv(DATA / name, dtype=str, keep_default_na=False)[column].str.strip()
        parts.append(pd.DataFrame({"text": texts[texts.str.len() > 20], "service": service}))
    unique = pd.concat(parts, ignore_index=True)
    rows = unique.iloc[[i % len(unique) for i in range(N_ROWS)]].reset_index(drop=True)
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta([i % 366 for i in range(N_ROWS)], "D")
    return rows.assign(id=[f"D{i:05d}" for i in range(N_ROWS)], date=days.strftime("%Y-%m-%d"))


@pytest.fixture(scope="module")
def twin_runs(tmp_path_factory, share_encoders, prefect_api_url) -> dict:
    if not all((DATA / name).is_file() for name in SOURCES):
        pytest.skip(f"{DATA} is absent: the 20k corpus is built from its real texts")
    root = tmp_path_factory.mktemp("determinism")
    _corpus().to_csv(root / "comments.csv", index=False)
    (root / "det.yaml").write_text(CONFIG, encoding="utf-8")
    cache = root / "cache"
    cache.mkdir()
    runs = {}
    for name in ("a", "b"):
        out = share_encoders(root / name)
        (out / "cache").symlink_to(cache, target_is_directory=True)
        args = ["--config", root / "det.yaml", "--out", out, "--run-id", "20261201T020000Z-0d37"]
        t0 = time.perf_counter()
        done = run_cli(args, prefect_home=root / "ph", api_url=prefect_api_url, timeout=1800)
        seconds = time.perf_counter() - t0
        print(f"determinism run {name}: {seconds:.0f} s wall")
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        runs[name] = {"out": out, "seconds": seconds, "tables": db_tables(out)}
    return runs


def _ordered(df: pd.DataFrame, *keys: str) -> pd.DataFrame:
    return df.sort_values(list(keys)).reset_index(drop=True)


def test_determinism_same_seed_gives_the_same_topics_and_assignments(twin_runs):
    a, b = twin_runs["a"]["tables"], twin_runs["b"]["tables"]
    (summary,) = a["run_summary"].to_dict("records")
    assert summary["rows_read"] == N_ROWS
    # every row is analysed but the few real texts language id reads as not English
    assert N_ROWS - 50 <= summary["documents_analysed"] <= N_ROWS
    assert summary["n_topics"] >= 5, summary  # a real fit, not a skipped topic stage
    topics_a, topics_b = _ordered(a["topics"], "topic_id"), _ordered(b["topics"], "topic_id")
    assert topics_a["size"].sum() <= summary["statements_analysed"]
    assert len(topics_a) == summary["n_topics"]
    pd.testing.assert_frame_equal(topics_a, topics_b, obj="topics")
    for name, keys in (
        ("comment_topics", ("comment_id", "topic_id")),
        ("statements", ("comment_id", "statement_index")),
    ):
        pd.testing.assert_frame_equal(_ordered(a[name], *keys), _ordered(b[name], *keys), obj=name)
    primary = a["comment_topics"][a["comment_topics"]["is_primary"]]
    assert len(primary) == summary["documents_analysed"]
    assert primary["topic_id"].notna().mean() > 0.5
    b_summary = b["run_summary"].iloc[0]
    for metric in ("n_topics", "unassigned_share", "npmi", "topic_diversity"):
        assert summary[metric] == b_summary[metric], metric
    # the second run read every vector from the shared cache: it embedded nothing
    assert b_summary["seconds_embed"] < summary["seconds_embed"]


def test_determinism_writes_the_same_registry(twin_runs):
    registry = Path("models") / "topic_registry"
    for name in ("centroids.safetensors", "topics.json"):
        a = (twin_runs["a"]["out"] / registry / name).read_bytes()
        b = (twin_runs["b"]["out"] / registry / name).read_bytes()
        assert a == b, name
