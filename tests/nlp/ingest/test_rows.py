from __future__ import annotations

import pandas as pd
import pytest

from nlp.ingest.rows import input_rows
from nlp.ingest.transcripts import Segment


def _comments():
    return pd.DataFrame(
        {
            "source": "survey.csv",
            "row_number": [1, 2],
            "source_id": ["1", " 2 "],
            "text": ["The wait was long.", "Staff were kind."],
            "date": ["2024-01-02", None],
            "service": ["A&E", None],
        }
    )


TRANSCRIPTS = [
    (
        "focus_1",
        "Focus 1.txt",
        [
            Segment("Interviewer", "How was the visit?"),
            Segment("Sam", "The parking was hard to find."),
        ],
    ),
    ("empty", "empty.txt", []),
]


def test_rows_input_rows_ids_kinds_and_sources():
    rows = input_rows(
        comments=_comments(), transcripts=TRANSCRIPTS, dataset="nhs", moderator_pattern=None
    )
    assert rows["comment_id"].tolist() == [
        "nhs:1",
        "nhs:2",
        "transcript:focus_1:0000",
        "transcript:focus_1:0001",
    ]
    assert rows["kind"].tolist() == ["comment", "comment", "moderator_turn", "transcript_turn"]
    assert rows["source"].tolist() == ["survey.csv", "survey.csv", "Focus 1.txt", "Focus 1.txt"]
    assert rows["row_number"].tolist() == [1, 2, 1, 2]
    assert rows["prompt"].iloc[3] == "How was the visit?"
    assert rows.columns[-2:].tolist() == ["comment_id", "row_hash"]


def test_rows_input_rows_hashes_stable_and_content_sensitive():
    def build(comments):
        return input_rows(
            comments=comments, transcripts=TRANSCRIPTS, dataset="nhs", moderator_pattern=None
        )

    first, again = build(_comments()), build(_comments())
    assert first["row_hash"].tolist() == again["row_hash"].tolist()
    assert first["row_hash"].str.fullmatch(r"[0-9a-f]{16}").all()
    edited = _comments()
    edited.loc[0, "text"] = "The wait was very long."
    changed = build(edited)["row_hash"] != first["row_hash"]
    assert changed.tolist() == [True, False, False, False]


def test_rows_input_rows_comments_or_transcripts_alone():
    only_comments = input_rows(
        comments=_comments(), transcripts=None, dataset="nhs", moderator_pattern=None
    )
    assert (only_comments["kind"] == "comment").all()
    only_turns = input_rows(
        comments=None, transcripts=TRANSCRIPTS, dataset="nhs", moderator_pattern=r"^sam$"
    )
    assert only_turns["kind"].tolist() == ["transcript_turn", "moderator_turn"]


def test_rows_input_rows_nothing_to_analyse():
    with pytest.raises(ValueError, match="nothing to analyse"):
        input_rows(comments=None, transcripts=[], dataset="nhs", moderator_pattern=None)
    with pytest.raises(ValueError, match="nothing to analyse"):
        input_rows(
            comments=None, transcripts=TRANSCRIPTS[1:], dataset="nhs", moderator_pattern=None
        )


def test_rows_input_rows_optional_columns_and_hashes_whatever_the_inputs():
    both = input_rows(
        comments=_comments(), transcripts=TRANSCRIPTS, dataset="nhs", moderator_pattern=None
    )
    alone = [
        input_rows(comments=_comments(), transcripts=None, dataset="nhs", moderator_pattern=None),
        input_rows(comments=None, transcripts=TRANSCRIPTS, dataset="nhs", moderator_pattern=None),
    ]
    for rows in alone:
        for column in ("date", "service", "speaker", "turn_index", "prompt", "transcript_id"):
            assert column in rows.columns, column
    assert alone[1]["date"].isna().all() and alone[1]["service"].isna().all()
    # a row hashes the same whether it came alone or with the other kind of input
    assert both["row_hash"].tolist() == [*alone[0]["row_hash"], *alone[1]["row_hash"]]
