"""The themes stage's decisions on small synthetic embeddings: refit or transform, the
transform itself, the fit metadata, and the entry function's tables (no BERTopic fit)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from nlp.schemas import TABLES, conform
from nlp.themes.params import ThemeSettings, TopicParams, TopicResult
from nlp.themes.registry import Registry
from nlp.themes.stage import theme_tables
from nlp.themes.tables import fit_metadata
from nlp.themes.transform import MIN_DRIFT_DOCS, refit_reason, transform_topics

DIM = 4


def _registry() -> Registry:
    """Topics 3 and 5 live (centroids e0, e1), topic 8 dormant (centroid e2)."""
    topics = conform(
        pd.DataFrame(
            {
                "topic_id": [3, 5, 8],
                "label": ["a", "b", "c"],
                "status": ["active", "emerging", "dormant"],
                "size": [4, 2, 0],
                "first_seen_run": ["r1", "r2", "r1"],
                "last_seen_run": ["r2", "r2", "r1"],
            }
        ),
        "topics",
    )
    return Registry(topics, np.eye(3, DIM, dtype=np.float32))


def _unit(rows) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _docs(n: int) -> pd.DataFrame:
    ids = [f"c{i}" for i in range(n)]
    return pd.DataFrame({"comment_id": ids, "text": ids, "text_hash": [f"h{i}" for i in ids]})


def _drift(n_new: int, n_far: int) -> tuple[pd.DataFrame, np.ndarray, set[str]]:
    """`n_new` new documents, `n_far` of them along e3 (no saved topic), the rest on topic 3."""
    near = np.tile([1.0, 0.1, 0, 0], (n_new - n_far, 1))
    far = np.tile([0, 0, 0.1, 1.0], (n_far, 1))
    docs = _docs(n_new + 5)
    emb = _unit(np.vstack([np.tile([0, 1.0, 0, 0], (5, 1)), near, far]))
    return docs, emb, set(docs["comment_id"].iloc[5:])


def test_transform_refit_reason_retrain_and_no_saved_topics():
    docs, emb, new = _drift(25, 0)
    assert refit_reason(_registry(), docs, emb, new, ThemeSettings(retrain=True)) == (
        "retrain requested"
    )
    assert refit_reason(Registry.empty(DIM), docs, emb, new, ThemeSettings()) == "no saved topics"
    dormant = _registry()
    dormant.topics["status"] = "dormant"
    assert refit_reason(dormant, docs, emb, new, ThemeSettings()) == "no saved topics"
    assert refit_reason(_registry(), docs, emb, new, ThemeSettings()) is None


def test_transform_refit_reason_drift_needs_enough_new_documents():
    settings = ThemeSettings(max_unassigned_share=0.25)
    docs, emb, new = _drift(25, 10)  # 40 % of 25 new documents fit no saved topic
    assert refit_reason(_registry(), docs, emb, new, settings) == (
        "40% of 25 new documents fit no saved topic"
    )
    docs, emb, new = _drift(25, 6)  # 24 %: under the limit
    assert refit_reason(_registry(), docs, emb, new, settings) is None
    docs, emb, new = _drift(MIN_DRIFT_DOCS - 1, MIN_DRIFT_DOCS - 1)  # all far, but too few
    assert refit_reason(_registry(), docs, emb, new, settings) is None
    docs, emb, new = _drift(25, 25)
    assert (
        refit_reason(_registry(), docs, emb, new, ThemeSettings(max_unassigned_share=None)) is None
    )


def _transform_case():
    """c0 known (topic 3), c1 known but changed, c2 near topic 5, c3 near the dormant topic."""
    docs = _docs(4)
    emb = _unit([[0, 1, 0, 0], [0.05, 1, 0, 0], [0.1, 1, 0, 0], [0, 0, 1, 0.1]])
    previous = pd.DataFrame(
        {"comment_id": ["c0", "c1", "gone"], "topic_id": [3, 3, 5], "score": [0.7, 0.6, 0.9]}
    )
    return docs, emb, conform(previous, "comment_topics"), {"c1", "c2", "c3"}


def test_transform_keeps_earlier_topics_and_assigns_new_to_nearest_live_centroid():
    docs, emb, previous, new = _transform_case()
    tables = transform_topics(
        docs,
        emb,
        previous,
        new,
        _registry(),
        outlier_threshold=0.35,
        run_id="r3",
        fitted_metrics={"npmi": 0.1, "topic_diversity": 0.8},
    )
    got = tables.comment_topics.set_index("comment_id")
    assert got["topic_id"].tolist() == [3, 5, 5, pd.NA]  # c3: the dormant topic is not chosen
    assert got.loc["c0", "score"] == pytest.approx(0.7)  # kept, though closer to topic 5
    assert got.loc["c2", "score"] == pytest.approx(float(emb[2] @ np.eye(DIM)[1]))
    assert np.isnan(got.loc["c3", "score"])
    topics = tables.topics.set_index("topic_id")
    assert topics["size"].tolist() == [1, 2, 0]
    assert topics.loc[5, "last_seen_run"] == "r3" and topics.loc[8, "status"] == "dormant"
    assert tables.result.metrics == {
        "n_topics": 2,
        "unassigned_share": 0.25,
        "topic_diversity": 0.8,
        "npmi": 0.1,
        "stability_ari": None,
    }
    assert tables.counts == {"new_documents": 3, "saved_topics": 2, "new_unassigned": 1}


def test_tables_fit_metadata_fingerprints_sorted_text_hashes_and_records_params():
    docs = _docs(3)
    params = TopicParams(seed=7, min_topic_size=12, fit_sample=5000)
    result = TopicResult(
        np.zeros(3, dtype=np.int64), np.zeros(3), pd.DataFrame(), {"npmi": 0.2, "sizes": [3]}
    )
    meta = fit_metadata(docs, params, "r9", result, ["Parking"])
    digest = hashlib.sha256("\n".join(sorted(docs["text_hash"])).encode()).hexdigest()[:16]
    assert meta["data_fingerprint"] == digest
    shuffled = fit_metadata(docs.iloc[::-1], params, "r9", result, ["Parking"])
    assert shuffled["data_fingerprint"] == digest  # the order of the corpus does not matter
    assert meta["params"] == {
        "min_topic_size": 12,
        "min_samples": None,
        "fit_sample": 5000,
        "n_neighbors": 15,
        "n_components": 5,
        "outlier_threshold": 0.35,
    }
    assert (meta["seed"], meta["fitted_run"], meta["fitted_documents"]) == (7, "r9", 3)
    assert meta["guided_themes"] == ["Parking"] and meta["metrics"] == {"npmi": 0.2}
    assert set(meta["versions"]) >= {"bertopic", "scikit-learn"}


def _statements(ids: list[str], index: list[int]) -> pd.DataFrame:
    texts = [f"{c} s{i}" for c, i in zip(ids, index, strict=True)]
    return pd.DataFrame(
        {
            "comment_id": ids,
            "statement_index": index,
            "start": [0] * len(ids),
            "end": [len(t) for t in texts],
            "text": texts,
            "text_hash": [f"h{t}" for t in texts],
        }
    )


def test_stage_transform_path_works_on_statements_and_returns_per_comment_themes():
    """c0 (known) keeps its two statements' topics; new c1 has one statement near topic 3 and
    one near topic 5 (two themes, primary the better score), c2 one near the dormant topic."""
    statements = _statements(["c0", "c0", "c1", "c1", "c2"], [0, 1, 0, 1, 0])
    emb = _unit([[0, 1, 0, 0], [1, 0, 0, 0], [1, 0.05, 0, 0], [0.2, 1, 0, 0], [0, 0, 1, 0.1]])
    previous = conform(
        statements.iloc[:2].drop(columns="text").assign(topic_id=[5, 3], score=[0.7, 0.6]),
        "statements",
    )
    saved = {"fitted_run": "r1", "unit": "statement", "metrics": {"npmi": 0.3}}

    def encode(texts):
        raise AssertionError("a transform run encodes nothing")

    tables = theme_tables(
        statements=statements,
        embeddings=emb,
        previous=previous,
        new_ids={"c1", "c2"},
        registry=_registry(),
        saved_fit=saved,
        nlp=None,
        encode=encode,
        taxonomy_categories=[],
        settings=ThemeSettings(),
        run_id="r3",
    )
    assert tables.refit_reason is None and tables.fit_metadata == saved
    for name in ("topics", "comment_topics", "statements"):
        table = getattr(tables, name)
        assert list(table.columns) == list(TABLES[name])
        pd.testing.assert_frame_equal(table, conform(table, name))
    assert tables.statements["topic_id"].tolist() == [5, 3, 3, 5, pd.NA]
    ct = tables.comment_topics
    assert ct["comment_id"].tolist() == ["c0", "c0", "c1", "c1", "c2"]
    c1 = ct[ct["comment_id"] == "c1"].set_index("topic_id")
    assert c1["statements"].tolist() == [1, 1] and c1["share"].tolist() == [0.5, 0.5]
    assert bool(c1.loc[3, "is_primary"]) and not bool(c1.loc[5, "is_primary"])  # 0.9988 > 0.98
    c2 = ct[ct["comment_id"] == "c2"].iloc[0]
    assert pd.isna(c2["topic_id"]) and bool(c2["is_primary"]) and c2["share"] == 1.0
    assert tables.result.metrics["statements_analysed"] == 5
    assert tables.result.metrics["multi_theme_share"] == pytest.approx(2 / 3)
    assert tables.result.metrics["unassigned_comment_share"] == pytest.approx(1 / 3)
    assert tables.topics.set_index("topic_id")["size"].to_dict() == {3: 2, 5: 2, 8: 0}


def test_stage_refits_once_when_the_saved_topics_were_fit_on_whole_comments():
    from nlp.themes.stage import _unit_reason as unit_reason

    assert "whole comments" in unit_reason(_registry(), {"fitted_run": "r1"})
    assert unit_reason(_registry(), {"fitted_run": "r1", "unit": "statement"}) is None
    assert unit_reason(Registry.empty(DIM), {}) is None  # nothing saved: "no saved topics"
