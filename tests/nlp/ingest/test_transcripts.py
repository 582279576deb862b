from __future__ import annotations

from nlp.ingest.transcripts import (
    Segment,
    merge_turns,
    question_heavy_speakers,
    speaker_pseudonyms,
    split_speaker_turns,
    transcript_rows,
)

TEXT = """Interview notes, 3 May
Interviewer 1: How did you apply?
Interviewee: Online, but the form
kept timing out.
Interviewee: So I phoned.
Interviewer1 : Why?
[00:01:02] Interviewee: Nobody answered the email.
"""


def test_transcripts_split_merge_and_timestamps():
    turns = split_speaker_turns(TEXT)
    assert [t.speaker_label for t in turns] == [
        "Interviewer 1",
        "Interviewee",
        "Interviewer1",
        "Interviewee",
    ]
    assert turns[1].text == "Online, but the form kept timing out. So I phoned."
    assert turns[3].start_time == 62.0
    assert [t.is_moderator for t in turns] == [True, False, True, False]


def test_transcripts_rows_are_pseudonymous_with_prompts():
    rows = transcript_rows("Moderator: What was hard?\nJane Doe: The letter.\nBob: Same.\n", "fg1")
    assert [r["speaker"] for r in rows] == ["MODERATOR", "P01", "P02"]
    assert [r["kind"] for r in rows] == ["moderator_turn", "transcript_turn", "transcript_turn"]
    assert rows[1]["prompt"] == "What was hard?" and rows[0]["prompt"] is None
    assert "Jane" not in str([r["speaker"] for r in rows])
    assert rows[2]["source_id"] == "fg1:0002"


def test_transcripts_question_heavy_speaker_is_moderator():
    segs = [
        Segment("A", "What happened?"),
        Segment("B", "I waited weeks."),
        Segment("A", "Why?"),
        Segment("B", "The letter was unclear."),
    ]
    assert question_heavy_speakers(segs) == {"a"}
    assert [t.is_moderator for t in merge_turns(segs)] == [True, False, True, False]
    assert speaker_pseudonyms(merge_turns(segs)) == {"a": "MODERATOR", "b": "P01"}


def test_transcripts_role_marks_moderator():
    segs = [
        Segment("0", "Next please.", 1.0, "Chair of the Commission"),
        Segment("3", "I oppose this.", 2.0, "Member of the Public"),
    ]
    assert [t.is_moderator for t in merge_turns(segs)] == [True, False]
