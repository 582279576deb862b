"""The multi-domain sentiment head shipped for the branch mix (issue #16, bench/sentiment_lodo)."""

from __future__ import annotations

import numpy as np
import pytest

from models import shipped_model
from nlp.embedding import SPACE_IDS
from nlp.sentiment.head import LABELS, SentimentHead
from nlp.storage import read_metadata

NAME = "sentiment_head_multidomain"


def test_multidomain_head_loads_with_its_shapes_and_provenance():
    head = SentimentHead.load(shipped_model(NAME), SPACE_IDS["minilm"])
    assert head.weight.shape == (384, 3) and head.bias.shape == (3,)
    assert head.mean.shape == head.scale.shape == (384,) and (head.scale > 0).all()
    assert head.stack is None  # reads the embedding alone
    meta = read_metadata(shipped_model(NAME))
    assert meta["labels"] == list(LABELS) and meta["encoder"] == SPACE_IDS["minilm"]
    assert set(meta["trained_on"]) == set(meta["licences"]) == {"nhs", "tweeteval", "apps"}
    assert "CC BY-NC-SA" in meta["licence"]
    # mixed with the branch it was measured with
    branch = read_metadata(shipped_model("sentiment_branch"))
    assert meta["mix"]["branch_fingerprint"] == branch["fingerprint"]
    assert 0 < meta["mix"]["head_weight"] < 1
    scores = meta["lodo_macro_f1"]
    assert len(scores) == 2 and all(
        set(s) >= {"tweeteval", "apps", "nhs-holdout"} for s in scores.values()
    )
    uniform = head.embedding_probabilities(np.zeros((2, 384), dtype=np.float32))
    assert np.allclose(uniform.sum(axis=1), 1.0)


@pytest.mark.slow
def test_multidomain_head_and_its_mix_label_clear_sentences():
    from nlp import embedding
    from nlp.sentiment.branch import SentimentBranch
    from nlp.sentiment.mixture import mixed_log_probabilities

    texts = [
        "The staff were wonderful and kind, thank you so much.",
        "Great app, works perfectly and saves me so much time.",
        "Rude receptionist, waited four hours and nobody told us anything. Awful.",
        "The app keeps crashing and I can't log in. Useless.",
    ]
    expected = ["positive", "positive", "negative", "negative"]
    encoder = embedding.load_encoder("minilm")
    branch = SentimentBranch.load(
        shipped_model("sentiment_branch"), encoder.space_id, embedding.STATE_LAYER
    )
    collector = branch.collector()
    vectors = embedding.embed_texts(encoder, texts, states_hook=collector)
    head = SentimentHead.load(shipped_model(NAME), encoder.space_id)
    labels, scores = head.predict(vectors)
    assert labels == expected
    assert scores[0] > 0.5 and scores[2] < -0.5
    mixed = mixed_log_probabilities(
        collector.log_probabilities(list(range(len(texts)))), head.embedding_probabilities(vectors)
    )
    assert [LABELS[i] for i in mixed.argmax(axis=1)] == expected
