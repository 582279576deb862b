from __future__ import annotations

import pandas as pd
import pytest

from nlp.ingest.rows import input_rows
from nlp.ingest.stage import CleanedRows, cleaned_rows
from nlp.ingest.transcripts import Segment
from nlp.schemas import TABLES, conform

EMPTY_LEDGER = conform(pd.DataFrame(columns=list(TABLES["ingest_ledger"])), "ingest_ledger")


def _rows(first_text="The wait was long and nobody told us why.", segment="North"):
    comments = pd.DataFrame(
        {
            "source": "survey.csv",
            "row_number": [1, 2, 3, 4],
            "source_id": ["1", "2", "3", ""],
            "text": [first_text, "Please write to jo@example.org about it.", "N/A", "No id here"],
            "date": ["2024-01-02", "03/02/2024", None, None],
            "service": "A&E",
            "segment:region": [segment, "South", None, None],
        }
    )
    transcripts = [
        (
            "focus_1",
            "focus_1.txt",
            [
                Segment("Interviewer", "Could we reach you on 07700 900123?"),
                Segment("P", "Yes, or write to me at sam@example.org any time."),
            ],
        )
    ]
    return input_rows(
        comments=comments, transcripts=transcripts, dataset="nhs", moderator_pattern=None
    )


def _clean(rows, ledger, nlp, run_id="r1") -> CleanedRows:
    return cleaned_rows(rows=rows, ledger=ledger, nlp=nlp, run_id=run_id)


@pytest.fixture(scope="module")
def first(spacy_nlp):
    return _clean(_rows(), EMPTY_LEDGER, spacy_nlp)


def test_stage_redacts_texts_and_prompts_with_counts_per_text(first):
    c = first.comments.set_index("comment_id")
    assert c.loc["nhs:2", "text"] == "Please write to [EMAIL] about it."
    assert c.loc["nhs:2", "pii_redactions"] == 1
    assert c.loc["nhs:1", "pii_redactions"] == 0
    turn = c.loc["transcript:focus_1:0001"]
    assert "[EMAIL]" in turn["text"] and turn["pii_redactions"] == 1
    assert turn["prompt"] == "Could we reach you on [PHONE]?"
    assert pd.isna(c.loc["nhs:1", "prompt"])
    assert c.loc["transcript:focus_1:0000", "text"] == "Could we reach you on [PHONE]?"


def test_stage_annotates_kept_rows(first):
    c = first.comments.set_index("comment_id")
    assert c.loc["nhs:1", "language"] == "en"
    assert c.loc["nhs:2", "date"] == pd.Timestamp("2024-02-03")
    assert (first.comments["run_id"] == "r1").all()
    assert first.comments["text_hash"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert first.segments.values.tolist() == [
        ["nhs:1", "region", "North"],
        ["nhs:2", "region", "South"],
    ]


def test_stage_quarantine_and_ledger_carry_the_run_id(first):
    assert first.quarantine["reason"].tolist() == ["placeholder_text", "missing_id"]
    assert (first.quarantine["run_id"] == "r1").all()
    ledger = first.ledger
    assert (ledger["run_id"] == "r1").all()
    kept = ledger[ledger["status"] == "kept"]["comment_id"].tolist()
    assert kept == first.comments["comment_id"].tolist()
    # the row without an id is quarantined but has no ledger entry
    assert ledger[ledger["status"] == "quarantined"]["comment_id"].tolist() == ["nhs:3"]
    assert first.rows_unchanged == 0


def test_stage_edited_row_is_new_and_unchanged_rows_are_skipped(first, spacy_nlp):
    rows = _rows(first_text="The wait was long and nobody ever told us why.")
    second = _clean(rows, first.ledger, spacy_nlp, run_id="r2")
    assert second.comments["comment_id"].tolist() == ["nhs:1"]
    assert second.comments["run_id"].tolist() == ["r2"]
    # the id-less row is never in the ledger, so it is quarantined again
    assert second.quarantine["reason"].tolist() == ["missing_id"]
    assert second.rows_unchanged == len(rows) - 2
    assert second.ledger[["comment_id", "status", "run_id"]].values.tolist() == [
        ["nhs:1", "kept", "r2"]
    ]
    # quarantined ids cover seen and unseen quarantined rows (for the score join)
    assert second.quarantined_ids.tolist() == ["3", ""]


def test_stage_segment_only_edit_is_not_a_change(first, spacy_nlp):
    rows = _rows(segment="East")
    second = _clean(rows, first.ledger, spacy_nlp, run_id="r2")
    assert second.comments.empty and second.segments.empty
    assert second.rows_unchanged == len(rows) - 1


def test_stage_output_tables_conform(first, spacy_nlp):
    nothing_new = _clean(_rows(), first.ledger, spacy_nlp, run_id="r2")
    for result in (first, nothing_new):
        for name, table in (
            ("comments", result.comments),
            ("comment_segments", result.segments),
            ("quarantine", result.quarantine),
            ("ingest_ledger", result.ledger),
        ):
            assert table.columns.tolist() == list(TABLES[name]), name
            pd.testing.assert_frame_equal(table, conform(table, name))
    assert nothing_new.comments.empty and nothing_new.ledger.empty


def test_stage_transcripts_alone_have_null_dates_and_services(spacy_nlp):
    turns = [Segment("Interviewer", "How was it?"), Segment("P", "The wait was far too long.")]
    rows = input_rows(
        comments=None, transcripts=[("t1", "t1.txt", turns)], dataset="nhs", moderator_pattern=None
    )
    out = _clean(rows.drop(columns=["date", "service"]), EMPTY_LEDGER, spacy_nlp)
    assert out.comments["kind"].tolist() == ["moderator_turn", "transcript_turn"]
    assert out.comments["date"].isna().all() and out.comments["service"].isna().all()
    assert out.comments["prompt"].tolist()[1] == "How was it?" and out.segments.empty
