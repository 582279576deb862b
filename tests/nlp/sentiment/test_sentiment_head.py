from __future__ import annotations

import json

import numpy as np
import pytest

from nlp.sentiment.clauses import CLAUSE_FEATURES, Clause
from nlp.sentiment.head import SentimentHead, train_head

CENTRES = {"negative": -2.0, "neutral": 0.0, "positive": 2.0}


def _toy_data(n: int = 60):
    rng = np.random.default_rng(0)
    labels = [lab for lab in CENTRES for _ in range(n)]
    X = np.stack([rng.normal(CENTRES[lab], 0.5, 8) for lab in labels]).astype("float32")
    # Clause features that carry the label too (clause_max / clause_min / mixed ...).
    F = np.stack([rng.normal(CENTRES[lab] / 4, 0.3, len(CLAUSE_FEATURES)) for lab in labels])
    return X, F, labels


def test_sentiment_head_learns_and_round_trips_through_safetensors(tmp_path):
    X, _, labels = _toy_data()
    head = train_head(X, labels, "toy-encoder", c=1.0)
    pred, score = head.predict(X)
    assert np.mean(np.array(pred) == np.array(labels)) > 0.95
    assert score.min() >= -1 and score.max() <= 1
    assert score[0] < 0 < score[-1]  # negative centre first, positive last
    saved = head.save(tmp_path / "head")
    assert sorted(p.name for p in saved.iterdir()) == ["metadata.json", "model.safetensors"]
    again = SentimentHead.load(saved, "toy-encoder")
    assert again.stack is None and again.predict(X)[0] == pred
    head.save(tmp_path / "head")  # overwriting an existing head leaves no temp directories
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head"]


def test_sentiment_head_refuses_pickle_foreign_encoder_and_wrong_size(tmp_path):
    X, _, _ = _toy_data()
    head = train_head(X, _toy_data()[2], "toy-encoder", c=1.0)
    saved = head.save(tmp_path / "head")
    with pytest.raises(ValueError, match="not 'other-encoder'"):
        SentimentHead.load(saved, "other-encoder")
    with pytest.raises(ValueError, match="8-d embeddings"):
        head.predict(np.zeros((2, 5), dtype="float32"))
    (saved / "model.pkl").write_bytes(b"not really")
    with pytest.raises(ValueError, match="pickle"):
        SentimentHead.load(saved, "toy-encoder")
    with pytest.raises(ValueError, match="labels must be in"):
        train_head(X[:3], ["good", "bad", "good"], "toy-encoder")


def test_sentiment_head_stacked_round_trips_and_labels_like_predict(tmp_path):
    X, F, labels = _toy_data()
    head = train_head(X, labels, "toy-encoder", c=1.0, features=F, folds=3)
    assert head.stack is not None and head.stack.weight.shape == (
        3 + len(CLAUSE_FEATURES),
        3,
    )
    assert head.metadata["cv_macro_f1_stacked"] > 0.9
    pred, score = head.predict(X, F)
    assert np.mean(np.array(pred) == np.array(labels)) > 0.95
    saved = head.save(tmp_path / "head")
    assert sorted(p.name for p in saved.iterdir()) == ["metadata.json", "model.safetensors"]
    again = SentimentHead.load(saved, "toy-encoder")
    assert again.predict(X, F)[0] == pred
    np.testing.assert_allclose(again.predict(X, F)[1], score, atol=1e-5)
    with pytest.raises(ValueError, match="also reads clause features"):
        again.predict(X)
    # The per-comment labeller used by tag_comments gives the same labels and scores; it
    # computes the features itself from the clauses, so feed it clauses matching row 0 only.
    labeller = again.labeller(X)
    clauses = [Clause(0, 0, 10, "Staff kind"), Clause(1, 11, 30, "but waited hours")]
    label, value = labeller(0, "Staff kind but waited hours", clauses, [0.5, -0.4])
    from nlp.sentiment.clauses import clause_features

    f0 = np.array([clause_features("Staff kind but waited hours", clauses, [0.5, -0.4])])
    expected, expected_score = again.predict(X[:1], f0)
    assert label == expected[0] and value == pytest.approx(expected_score[0], abs=1e-6)


def test_sentiment_head_stacked_refuses_pickle_and_other_features(tmp_path):
    X, F, labels = _toy_data(20)
    saved = train_head(X, labels, "toy-encoder", c=1.0, features=F, folds=3).save(tmp_path / "h")
    meta = json.loads((saved / "metadata.json").read_text())
    meta["stack_features"] = meta["stack_features"][:-1]
    (saved / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="retrain it"):
        SentimentHead.load(saved, "toy-encoder")
    (saved / "model.pickle").write_bytes(b"not really")
    with pytest.raises(ValueError, match="pickle"):
        SentimentHead.load(saved, "toy-encoder")
    with pytest.raises(ValueError, match="features must be"):
        train_head(X, labels, "toy-encoder", features=F[:, :3])


@pytest.mark.slow
def test_sentiment_head_shipped_labels_clear_comments_on_real_embeddings(spacy_nlp):
    from models import shipped_model
    from nlp import embedding
    from nlp.sentiment.clauses import SentimentScorer, comment_clause_features

    head = SentimentHead.load(shipped_model("sentiment_head"), embedding.SPACE_IDS["minilm"])
    assert head.stack is not None
    texts = [
        "The nurses were wonderful, kind and caring. Thank you so much.",
        "Waited five hours, nobody told us anything and the staff were rude.",
        "Doctor was great but the wait was far too long and parking was awful.",
        "I couldn't get through on the phone for three days, terrible service.",
        "Not bad at all, the staff were fine.",
        "Lovely staff but waited hours.",
    ]
    X = embedding.embed_texts(embedding.load_encoder(), texts)
    labels, scores = head.predict(X, comment_clause_features(spacy_nlp, SentimentScorer(), texts))
    assert labels[0] == "positive" and labels[1] == "negative" and labels[3] == "negative"
    assert scores[0] > scores[2] > scores[1]  # the mixed comment sits between
    assert labels[4] != "negative"  # negation: "not bad"
    assert scores[0] > scores[5] > scores[1]  # contrast: praise, then a complaint
