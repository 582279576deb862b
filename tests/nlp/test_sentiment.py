from __future__ import annotations

import pytest

from nlp.sentiment import SentimentScorer, sentiment_label, split_clauses


def test_sentiment_contrast_splits_mixed_comment(spacy_nlp):
    doc = spacy_nlp("Staff were lovely but I waited 4 hours.")
    clauses = split_clauses(doc)
    assert [c.text for c in clauses] == ["Staff were lovely", "but I waited 4 hours"]
    assert all(doc.text[c.start : c.end] == c.text for c in clauses)
    scorer = SentimentScorer()
    scores = [scorer.score(c.text) for c in clauses]
    assert sentiment_label(scores[0]) == "positive" and sentiment_label(scores[1]) == "negative"


def test_sentiment_negation_and_mixed():
    s = SentimentScorer()
    assert s.score("not bad at all") > 0 > s.score("bad")
    assert s.comment_sentiment("x", [0.6, -0.5])[0] == "neutral"
    assert s.comment_sentiment("The staff were wonderful", [0.6])[0] == "positive"


def _toy_head(tmp_path=None):
    import numpy as np

    from nlp.sentiment import train_head

    rng = np.random.default_rng(0)
    centres = {"negative": -2.0, "neutral": 0.0, "positive": 2.0}
    labels = [lab for lab in centres for _ in range(60)]
    X = np.stack([rng.normal(centres[lab], 0.5, 8) for lab in labels]).astype("float32")
    return train_head(X, labels, "toy-encoder", c=1.0), X, labels


def test_sentiment_head_learns_and_round_trips_through_safetensors(tmp_path):
    import numpy as np

    from nlp.sentiment import SentimentHead

    head, X, labels = _toy_head()
    pred, score = head.predict(X)
    assert np.mean(np.array(pred) == np.array(labels)) > 0.95
    assert score.min() >= -1 and score.max() <= 1
    assert score[0] < 0 < score[-1]  # negative centre first, positive last
    saved = head.save(tmp_path / "head")
    assert sorted(p.name for p in saved.iterdir()) == ["metadata.json", "model.safetensors"]
    again = SentimentHead.load(saved, "toy-encoder")
    assert again.predict(X)[0] == pred
    head.save(tmp_path / "head")  # overwriting an existing head leaves no temp directories
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head"]


def test_sentiment_head_refuses_pickle_foreign_encoder_and_wrong_size(tmp_path):
    import numpy as np

    from nlp.sentiment import SentimentHead, train_head

    head, X, _ = _toy_head()
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


@pytest.mark.slow
def test_sentiment_shipped_head_labels_clear_comments_on_real_embeddings():
    from nlp import embedding
    from nlp.sentiment import HEAD_DIR, SentimentHead

    head = SentimentHead.load(HEAD_DIR, embedding.MODEL_ID)
    texts = [
        "The nurses were wonderful, kind and caring. Thank you so much.",
        "Waited five hours, nobody told us anything and the staff were rude.",
        "Doctor was great but the wait was far too long and parking was awful.",
        "I couldn't get through on the phone for three days, terrible service.",
    ]
    labels, scores = head.predict(embedding.embed_texts(embedding.load_encoder(), texts))
    assert labels[0] == "positive" and labels[1] == "negative" and labels[3] == "negative"
    assert scores[0] > scores[2] > scores[1]  # the mixed comment sits between
