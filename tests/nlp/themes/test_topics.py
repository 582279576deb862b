from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nlp.themes.quality import (
    QualityThresholds,
    npmi_coherence,
    quality_issues,
    size_distribution,
    topic_diversity,
)
from nlp.themes.vocabulary import topic_label

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


@pytest.mark.slow  # nlp.themes.model imports BERTopic (and torch)
def test_topics_degenerate_corpora_are_skipped_with_reason():
    from nlp.themes.model import fit_topics, skip_reason

    assert "only 5 documents" in skip_reason(["a b"] * 5)
    assert "distinct" in skip_reason(["same words here"] * 40)
    result = fit_topics(["same words here"] * 40, np.ones((40, 8), dtype=np.float32))
    assert result.skipped_reason and (result.assignments == -1).all() and result.topics.empty


def test_topics_labels_diversity_npmi_and_quality():
    assert topic_label(["wait", "waiting time", "time", "hours"]) == "waiting time / hours"
    assert topic_label(["listening", "listened", "caring", "kind"]) == "listening / caring / kind"
    assert topic_diversity([["a", "b"], ["a", "c"]]) == 0.75
    docs = ["car park fees"] * 5 + ["rude staff"] * 5 + ["car staff"]
    together = npmi_coherence(docs, [["car", "park"]])
    apart = npmi_coherence(docs, [["park", "rude"]])
    assert -1 <= apart < together <= 1
    issues = quality_issues({"unassigned_share": 0.4, "stability_ari": 0.9}, QualityThresholds())
    assert issues == ["unassigned_share 0.40 > 0.25"]
    table = pd.DataFrame({"size": [60, 30, 10, 0, None]})  # dormant topics do not count
    assert size_distribution(table) == {"largest_topic_share": 0.6, "median_topic_size": 30.0}
    assert size_distribution(table.iloc[3:]) == {
        "largest_topic_share": None,
        "median_topic_size": None,
    }


@pytest.mark.slow
def test_topics_fit_real_comments_is_deterministic():
    from nlp.embedding import embed_texts, load_encoder
    from nlp.ingest.cleaning import is_placeholder, normalise_text
    from nlp.themes.model import TopicParams, fit_topics

    df = pd.read_csv(SAMPLE / "comments.csv", keep_default_na=False)
    texts = [normalise_text(t) for t in df["text"]]
    texts = [t for t in texts if len(t.split()) >= 3 and not is_placeholder(t)][:300]
    emb = embed_texts(load_encoder(), texts)
    a = fit_topics(texts, emb, TopicParams(seed=3))
    b = fit_topics(texts, emb, TopicParams(seed=3))
    assert a.metrics["n_topics"] >= 2 and a.metrics["unassigned_share"] < 0.5
    assert a.metrics["cluster_selection"] in ("eom", "leaf")
    np.testing.assert_array_equal(a.assignments, b.assignments)
    assert list(a.topics["label"]) == list(b.topics["label"])
