from __future__ import annotations

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
