from __future__ import annotations

from nlp.sentiment.clauses import SentimentScorer, sentiment_label, split_clauses


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


def test_sentiment_parse_comments_uses_senter_and_restores_the_parser(spacy_nlp):
    from nlp.sentiment.clauses import parse_comments

    before = (list(spacy_nlp.pipe_names), list(spacy_nlp.disabled))
    docs = list(parse_comments(spacy_nlp, ["Lovely staff but waited hours. Parking was fine."]))
    assert (list(spacy_nlp.pipe_names), list(spacy_nlp.disabled)) == before
    assert [s.text for s in docs[0].sents] == [
        "Lovely staff but waited hours.",
        "Parking was fine.",
    ]
    assert not docs[0].has_annotation("DEP")  # sentences came from senter, not the parser
    assert [c.text for c in split_clauses(docs[0])] == [
        "Lovely staff",
        "but waited hours",
        "Parking was fine",
    ]


def test_sentiment_clause_features_see_contrast_and_mixed_clauses(spacy_nlp):
    from nlp.sentiment.clauses import CLAUSE_FEATURES, comment_clause_features

    texts = ["Lovely staff but waited hours.", "The staff were lovely.", "Not bad at all."]
    rows = comment_clause_features(spacy_nlp, SentimentScorer(), texts)
    f = dict(zip(CLAUSE_FEATURES, rows.T, strict=True))
    assert list(f["contrast"]) == [1.0, 0.0, 0.0]
    assert list(f["mixed"]) == [1.0, 0.0, 0.0]
    assert list(f["n_negative"]) == [1.0, 0.0, 0.0] and f["clause_min"][2] > 0  # "not bad"
    assert f["log_clauses"][0] > f["log_clauses"][1]
