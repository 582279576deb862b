"""The tagging stage entry (nlp.tagging.stage.tagged_comments) on real spaCy, no encoder."""

from __future__ import annotations

import pandas as pd

from nlp.schemas import TABLES
from nlp.sentiment.clauses import parse_comments
from nlp.tagging import pipeline
from nlp.tagging.stage import tagged_comments
from nlp.tagging.taxonomy import default_taxonomy_text, parse_taxonomy


def test_tagging_stage_tags_clauses_and_labels_comments(spacy_nlp):
    docs = pd.DataFrame(
        {
            "comment_id": ["s:1", "s:2"],
            "text": ["I waited three hours on the phone.", "The nurse was kind."],
        }
    )
    tagged = tagged_comments(
        documents=docs,
        embeddings=None,
        nlp=spacy_nlp,
        taxonomy=parse_taxonomy(default_taxonomy_text()),
    )
    assert set(tagged.sentiment["comment_id"]) == {"s:1", "s:2"}
    assert list(tagged.clauses.columns) == list(TABLES["clauses"])
    assert list(tagged.pain_points.columns) == list(TABLES["pain_points"])
    first = tagged.pain_points[tagged.pain_points["comment_id"] == "s:1"]
    assert "slow_process" in set(first["category"])
    assert tagged.prototypes is None  # no encoder: no similarity tagging


def test_tagging_stage_a_repeated_comment_is_tagged_once_with_the_same_rows(spacy_nlp, monkeypatch):
    texts = ["Nobody answers the phone, but the nurse was kind.", "The form asks twice."]
    docs = pd.DataFrame({"comment_id": ["a", "b", "c"], "text": [texts[0], texts[1], texts[0]]})
    parsed: list = []

    def counting(nlp, inputs, *args):
        parsed.extend(inputs)
        return parse_comments(nlp, inputs, *args)

    monkeypatch.setattr(pipeline, "parse_comments", counting)
    tagged = tagged_comments(
        documents=docs,
        embeddings=None,
        nlp=spacy_nlp,
        taxonomy=parse_taxonomy(default_taxonomy_text()),
    )
    assert parsed == texts  # the third comment repeats the first: not parsed again
    for table in (tagged.clauses, tagged.pain_points, tagged.sentiment):
        a = table[table["comment_id"] == "a"].drop(columns="comment_id").reset_index(drop=True)
        c = table[table["comment_id"] == "c"].drop(columns="comment_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, c)
    assert len(tagged.pain_points[tagged.pain_points["comment_id"] == "c"]) >= 1
