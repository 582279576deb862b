from __future__ import annotations

import pandas as pd
import pytest

from nlp.pain_points import (
    TaxonomyError,
    build_tagging_pipeline,
    default_taxonomy_text,
    merge_taxonomies,
    parse_taxonomy,
    tag_comments,
)
from nlp.sentiment import SentimentScorer

CUSTOM = """
version: 2
categories:
  - id: parking
    name: Parking
    description: Car parks and parking spaces.
    journey_stage: use
    phrases: [no parking spaces, car park]
"""


def test_pain_points_default_taxonomy_is_valid():
    tax = parse_taxonomy(default_taxonomy_text())
    assert len(tax.categories) == 12
    assert {c.journey_stage for c in tax.categories} <= {"learn", "apply", "use"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("categories: [", "not valid YAML"),
        ("categories:\n  - id: x\n    name: X\n", "missing keys"),
        (
            "categories:\n  - {id: x, name: X, description: d, phrases: [a], journey_stage: later}",
            "journey_stage",
        ),
        ("categories:\n  - {id: x, name: X, description: d, phrases: [on]}", "quote yes/no"),
        ("categories:\n  - {id: Bad-Id, name: X, description: d, phrases: [a]}", "snake_case"),
    ],
)
def test_pain_points_invalid_taxonomy_errors_clearly(text, message):
    with pytest.raises(TaxonomyError, match=message):
        parse_taxonomy(text, "mine.yaml")


def test_pain_points_merge_extend_and_replace():
    base = parse_taxonomy(default_taxonomy_text())
    extra = parse_taxonomy(CUSTOM)
    assert [c.id for c in merge_taxonomies(base, extra, "replace").categories] == ["parking"]
    extended = merge_taxonomies(base, extra, "extend")
    assert len(extended.categories) == 13 and extended.categories[-1].id == "parking"


def test_pain_points_tags_with_exact_evidence(tagging_nlp):
    text = "I waited 4 hours and the receptionist was rude, and they aren't helping."
    clauses, tags, sentiment = tag_comments(tagging_nlp, SentimentScorer(), ["c1"], [text])
    assert {"slow_process", "staff_attitude"} <= set(tags["category"])
    for row in tags.itertuples():
        assert text[row.start : row.end] == row.evidence
        assert not text[row.start - 1].isalpha()  # spans start on a word boundary
    assert tags.loc[tags["category"] == "staff_attitude", "is_pain_point"].all()
    assert list(sentiment["label"]) == ["negative"]


def test_pain_points_custom_taxonomy_replaces_default(spacy_nlp):
    from flows.tasks import load_spacy

    nlp = build_tagging_pipeline(load_spacy(), parse_taxonomy(CUSTOM))
    _, tags, _ = tag_comments(
        nlp, SentimentScorer(), ["a"], ["There were no parking spaces and I waited hours."]
    )
    assert list(tags["category"]) == ["parking"]


def test_pain_points_head_tags_add_evidence_without_duplicating_rules(tagging_nlp):
    texts = [
        "I waited 4 hours and the receptionist was rude.",  # rules find both categories
        "Nobody ever explained what the letter meant.",  # one clause, no rule match
        "The nurse was fine. Nobody explained the results, but parking was easy.",
    ]
    head = [
        [("slow_process", 0.9)],
        [("unclear_communication", 0.7)],
        [("unclear_communication", 0.6)],
    ]
    _, tags, sentiment = tag_comments(
        tagging_nlp,
        SentimentScorer(),
        ["a", "b", "c"],
        texts,
        comment_sentiment=(["negative", "negative", "neutral"], [-0.8, -0.6, 0.0]),
        comment_tags=head,
    )
    a = tags[tags["comment_id"] == "a"]
    assert (a["method"] == "rule").all() and (a["category"] == "slow_process").sum() == 1
    b = tags[tags["comment_id"] == "b"].iloc[0]
    assert b["method"] == "head" and b["score"] == 0.7 and b["clause_index"] == 0
    assert (
        b["evidence"]
        == texts[1][b["start"] : b["end"]]
        == "Nobody ever explained what the letter meant"
    )
    assert b["is_pain_point"]  # the comment is negative
    c = tags[(tags["comment_id"] == "c") & (tags["method"] == "head")].iloc[0]
    assert pd.isna(c["clause_index"]) and (c["start"], c["end"]) == (0, len(texts[2]))
    assert list(sentiment["label"]) == ["negative", "negative", "neutral"]


def test_pain_points_category_head_trains_thresholds_and_round_trips(tmp_path):
    import numpy as np

    from nlp.category_head import CategoryHead, train_category_head

    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (300, 6)).astype("float32")
    Y = np.column_stack([X[:, 0] > 0.8, X[:, 1] + X[:, 2] > 1.0])
    head = train_category_head(X, Y, ["slow_process", "staff_attitude"], "toy", c=1.0)
    P = head.probabilities(X) >= head.thresholds
    f1 = [2 * (P[:, j] & Y[:, j]).sum() / (P[:, j].sum() + Y[:, j].sum()) for j in range(2)]
    assert min(f1) > 0.8 and set(head.metadata["cv_f1"]) == {"slow_process", "staff_attitude"}
    again = CategoryHead.load(head.save(tmp_path / "h"), "toy")
    assert again.tags(X[:20]) == head.tags(X[:20])
    with pytest.raises(ValueError, match="not 'minilm'"):
        CategoryHead.load(tmp_path / "h", "minilm")
    with pytest.raises(ValueError, match="fewer than 5 positive"):
        train_category_head(X[:40], Y[:40] & False, ["slow_process", "staff_attitude"], "toy")
