from __future__ import annotations

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
