"""Seed phrases across inflection and small gaps (nlp.tagging.phrases) in the rule tagger."""

from __future__ import annotations

import pytest

from nlp.tagging.phrases import GappedPhraseMatcher
from nlp.tagging.pipeline import build_tagging_pipeline
from nlp.tagging.taxonomy import parse_taxonomy

TRAVEL = """
categories:
  - {id: lost_luggage, name: Lost luggage, description: Missing bags., phrases: [lost bag]}
  - {id: queues, name: Queues, description: Queueing and lines., phrases: [long line]}
  - {id: finding, name: Finding things, description: d, phrases: [could not find]}
"""


@pytest.fixture(scope="module")
def travel_nlp(spacy_nlp):
    return build_tagging_pipeline(spacy_nlp, parse_taxonomy(TRAVEL))


def _tags(nlp, text: str) -> list[tuple[str, str]]:
    doc = nlp(text)
    return [(s.label_, s.text) for s in doc.spans["pain_points"]]


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("I lost my bag at the airport.", "lost my bag"),
        ("My bags were lost.", "bags were lost"),
        ("The bag got lost on the way.", "bag got lost"),
        ("Lost bag again", "Lost bag"),
    ],
)
def test_phrases_lost_bag_matches_across_inflection_gaps_and_order(travel_nlp, text, evidence):
    assert _tags(travel_nlp, text) == [("lost_luggage", evidence)]


def test_phrases_whole_words_only_bagel_is_no_bag(travel_nlp):
    assert _tags(travel_nlp, "I lost a bagel.") == []
    assert _tags(travel_nlp, "The bagels were lost.") == []


def test_phrases_long_line_matches_the_line_was_so_long(travel_nlp):
    assert _tags(travel_nlp, "The line was so long.") == [("queues", "line was so long")]


@pytest.mark.parametrize(
    "text",
    [
        "The line was not long.",  # a negation in the gap
        "The line wasn't long at all.",
        "The line, it was long.",  # punctuation: another clause
        "The line moved fast but the day was long.",  # a contrast word
        "The line was there. Long day.",  # another sentence
        "The line was very very very long.",  # three tokens between: too far
    ],
)
def test_phrases_negation_clause_and_distance_break_a_match(travel_nlp, text):
    assert [t for t in _tags(travel_nlp, text) if t[0] == "queues"] == []


def test_phrases_three_words_keep_their_order_and_allow_gaps(travel_nlp):
    assert _tags(travel_nlp, "I could not easily find it") == [("finding", "could not easily find")]
    assert _tags(travel_nlp, "find it I could not") == []


def test_phrases_gaps_off_is_the_contiguous_matcher(spacy_nlp):
    nlp = build_tagging_pipeline(spacy_nlp, parse_taxonomy(TRAVEL), phrase_gaps=0)
    assert _tags(nlp, "My bags were lost.") == []
    assert _tags(nlp, "I lost bags.") == [("lost_luggage", "lost bags")]


def test_phrases_reverse_order_only_for_two_content_words(spacy_nlp):
    matcher = GappedPhraseMatcher(2)
    matcher.add("a", [[("lose", "lost"), ("bag", "bag")], [("on", "on"), ("hold", "hold")]])
    assert len(matcher) == 4  # (lose, bag), (bag, lose); (on, hold) under both its keys
    doc = spacy_nlp.make_doc("hold on")
    for token in doc:
        token.lemma_ = token.lower_
    assert matcher(doc) == []
    idioms = GappedPhraseMatcher(2, content_only=True)
    idioms.add("a", [[("get", "got"), ("through", "through")], [("lose", "lost"), ("bag", "bag")]])
    assert len(idioms) == 3  # only (lose, bag) under "lose" and "lost", and (bag, lose)
    with pytest.raises(ValueError, match="max_gap"):
        GappedPhraseMatcher(-1)
