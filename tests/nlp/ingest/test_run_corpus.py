"""The corpus after a run (nlp.ingest.merge): earlier rows, with this run's replacing theirs."""

from __future__ import annotations

import pandas as pd

from nlp.ingest.merge import run_corpus
from nlp.ingest.stage import CleanedRows
from nlp.schemas import conform, empty


def _comments(ids, kinds=None, language="en", text="x"):
    kinds = kinds or ["comment"] * len(ids)
    frame = pd.DataFrame(
        {"comment_id": ids, "kind": kinds, "language": language, "text": text, "text_hash": ids}
    )
    return conform(frame, "comments")


def _ledger(ids):
    return conform(
        pd.DataFrame({"comment_id": ids, "row_hash": ids, "status": "kept"}), "ingest_ledger"
    )


def test_run_corpus_new_rows_replace_their_earlier_versions_and_the_rest_stays():
    previous = {name: empty(name) for name in ("comments", "ingest_ledger", "comment_segments")}
    previous["comments"] = _comments(["s:1", "s:2", "s:3"], text="old")
    previous["ingest_ledger"] = _ledger(["s:1", "s:2", "s:3"])
    new = _comments(
        ["s:2", "s:4", "t:1"], kinds=["comment", "comment", "moderator_turn"], text="new"
    )
    cleaned = CleanedRows(
        comments=new,
        segments=empty("comment_segments"),
        quarantine=empty("quarantine"),
        ledger=_ledger(["s:2", "s:4", "t:1"]),
        quarantined_ids=pd.Series(["s:9"]),
        rows_unchanged=2,
    )
    corpus = run_corpus(previous=previous, cleaned=cleaned)
    assert corpus.comments["comment_id"].tolist() == ["s:1", "s:3", "s:2", "s:4", "t:1"]
    assert corpus.comments.set_index("comment_id").loc["s:2", "text"] == "new"
    # moderator turns are kept but not analysed; new documents are this run's analysed ones
    assert corpus.documents["comment_id"].tolist() == ["s:1", "s:3", "s:2", "s:4"]
    assert corpus.new_documents["comment_id"].tolist() == ["s:2", "s:4"]
    assert corpus.documents["comment_id"].iloc[corpus.new_rows].tolist() == ["s:2", "s:4"]
    assert corpus.replaced == {"s:2", "s:4", "t:1"}
    assert sorted(corpus.ledger["comment_id"]) == ["s:1", "s:2", "s:3", "s:4", "t:1"]
    assert corpus.quarantined_ids.tolist() == ["s:9"]
    old_tags = pd.DataFrame({"comment_id": ["s:1", "s:2"], "category": ["a", "b"]})
    new_tags = pd.DataFrame({"comment_id": ["s:2"], "category": ["c"]})
    corpus.previous["pain_points"] = old_tags
    merged = corpus.merged("pain_points", new_tags)
    assert merged.values.tolist() == [["s:1", "a"], ["s:2", "c"]]
