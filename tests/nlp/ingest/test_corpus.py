from __future__ import annotations

import pandas as pd

from nlp.ingest.corpus import (
    ANALYSED_KINDS,
    ANALYSED_LANGUAGES,
    analysed,
    combine,
    comment_ids,
    ledger_entries,
    row_hashes,
    segment_rows,
    unseen,
)


def _rows():
    return pd.DataFrame(
        {
            "kind": ["comment", "transcript_turn", "comment"],
            "source_id": ["1", "t:0001", ""],
            "text": ["a", "b", "c"],
            "segment:region": ["N", None, "S"],
        }
    )


def test_corpus_ids_hashes_and_ledger():
    rows = _rows()
    rows["comment_id"] = comment_ids(rows, "survey")
    assert rows["comment_id"].tolist()[:2] == ["survey:1", "transcript:t:0001"]
    assert pd.isna(rows["comment_id"].iloc[2])
    rows["row_hash"] = row_hashes(rows)
    edited = rows.assign(text=["a!", "b", "c"])
    assert (row_hashes(edited) != rows["row_hash"]).tolist() == [True, False, False]
    ledger = ledger_entries(rows, "kept", "r1")
    assert len(ledger) == 2  # no id, no ledger entry
    edited["comment_id"], edited["row_hash"] = rows["comment_id"], row_hashes(edited)
    assert unseen(edited, ledger).tolist() == [True, False, True]


def test_corpus_combine_and_segments():
    old = pd.DataFrame({"comment_id": ["a", "b"], "v": [1, 2]})
    new = pd.DataFrame({"comment_id": ["b", "c"], "v": [20, 30]})
    assert combine(old, new, {"b", "c"}).to_dict("list") == {
        "comment_id": ["a", "b", "c"],
        "v": [1, 20, 30],
    }
    rows = _rows().assign(comment_id=["x", "y", "z"])
    seg = segment_rows(rows)
    assert seg.values.tolist() == [["x", "region", "N"], ["z", "region", "S"]]


def test_corpus_analysed_keeps_comments_and_turns_in_en_und():
    comments = pd.DataFrame(
        {
            "comment_id": list("abcdef"),
            "kind": [
                "comment",
                "transcript_turn",
                "moderator_turn",
                "comment",
                "comment",
                "transcript_turn",
            ],
            "language": ["en", "und", "en", "fr", "und", "de"],
        }
    )
    out = analysed(comments)
    assert out["comment_id"].tolist() == ["a", "b", "e"]
    assert out.index.tolist() == [0, 1, 2]
    assert ANALYSED_KINDS == ("comment", "transcript_turn")
    assert ANALYSED_LANGUAGES == ("en", "und")
