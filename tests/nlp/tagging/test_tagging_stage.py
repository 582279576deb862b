"""The tagging stage entry (nlp.tagging.stage.tagged_comments) on real spaCy, no encoder."""

from __future__ import annotations

import pandas as pd

from nlp.schemas import TABLES
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
