"""Analyst edits (nlp.themes.edits): each op, ordering, undo, vanished ids, recomputed
comment_topics and the edits file's JSON round-trip."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nlp.schemas import conform
from nlp.themes.edits import (
    ANALYST_ID_BASE,
    EditRecord,
    EditsFileError,
    allocate_id,
    apply_edits,
    comment_topics_from_statements,
    edits_json,
    effective_edits,
    new_record,
    parse_edits,
    phrase_pattern,
)

# (comment_id, statement_index, topic_id, score, text)
STATEMENTS = [
    ("c1", 0, 1, 0.9, "The car park was full."),
    ("c1", 1, 2, 0.8, "Staff were kind."),
    ("c2", 0, 1, 0.7, "Parking fees are too high."),
    ("c3", 0, 2, 0.6, "The nurse was kind to me."),
    ("c3", 1, 3, 0.5, "I waited four hours."),
    ("c3", 2, 3, 0.4, "The waiting room was cold."),
    ("c4", 0, None, 0.2, "Nothing else to say."),
    ("c5", 0, 1, 0.6, "The car parking was fine, car park big."),
]


@pytest.fixture()
def tables() -> dict:
    topics = conform(
        pd.DataFrame(
            {
                "topic_id": [1, 2, 3],
                "label": ["Car park", "Kind staff", "Waiting"],
                "top_words": ["car, park", "kind, staff", "wait, hour"],
                "size": [3, 2, 1],
                "status": ["active", "active", "active"],
                "parent_id": [1, 1, 3],
                "parent_label": ["Car park", "Car park", "Waiting"],
                "name_source": ["phrase", "phrase", "words"],
            }
        ),
        "topics",
    )
    rows = [
        {"comment_id": c, "statement_index": i, "start": 0, "end": len(t), "topic_id": tid}
        | {"score": s, "text_hash": f"h{c}{i}"}
        for c, i, tid, s, t in STATEMENTS
    ]
    statements = conform(pd.DataFrame(rows), "statements")
    return {
        "topics": topics,
        "comment_topics": comment_topics_from_statements(statements),
        "statements": statements,
        "statement_texts": pd.Series([t for *_, t in STATEMENTS]),
    }


def records(*ops: tuple[str, dict]) -> list[EditRecord]:
    out: list[EditRecord] = []
    for op, args in ops:
        out.append(new_record(out, op, args, by="tester"))
    return out


def run(tables: dict, *ops: tuple[str, dict]):
    return apply_edits(**tables, edits=records(*ops))


def topic(result, tid: int) -> dict:
    rows = result.topics[result.topics["topic_id"] == tid]
    assert len(rows) == 1, f"theme {tid}: {len(rows)} rows"
    return rows.iloc[0].to_dict()


def themes_of(result, comment_id: str) -> dict:
    ct = result.comment_topics
    rows = ct[ct["comment_id"] == comment_id]
    return {
        (None if pd.isna(r.topic_id) else int(r.topic_id)): (int(r.statements), r.share)
        for r in rows.itertuples()
    }


def primary_of(result, comment_id: str):
    ct = result.comment_topics
    rows = ct[(ct["comment_id"] == comment_id) & ct["is_primary"]]
    assert len(rows) == 1
    value = rows["topic_id"].iloc[0]
    return None if pd.isna(value) else int(value)


# ---------------------------------------------------------------- comment_topics


def test_edits_comment_topics_from_statements_counts_shares_and_primary(tables):
    ct = tables["comment_topics"]
    assert len(ct) == 7  # c1: 2 themes, c2: 1, c3: 2, c4: unassigned row, c5: 1
    c3 = ct[ct["comment_id"] == "c3"].set_index("topic_id")
    assert c3.loc[3, "statements"] == 2 and c3.loc[3, "share"] == pytest.approx(2 / 3)
    assert bool(c3.loc[3, "is_primary"]) and not bool(c3.loc[2, "is_primary"])
    c4 = ct[ct["comment_id"] == "c4"]
    assert c4["topic_id"].isna().all() and bool(c4["is_primary"].iloc[0])
    # ties in statements: the higher score is primary (c1: theme 1 at 0.9 over theme 2 at 0.8)
    assert primary_of(SimpleResult(ct), "c1") == 1


class SimpleResult:
    def __init__(self, ct):
        self.comment_topics = ct


def test_edits_without_edits_return_the_tables_unchanged(tables):
    result = apply_edits(**tables, edits=[])
    pd.testing.assert_frame_equal(result.topics, tables["topics"])
    pd.testing.assert_frame_equal(result.comment_topics, tables["comment_topics"])
    pd.testing.assert_frame_equal(result.statements, tables["statements"])
    assert result.applied == [] and result.skipped == []


# ---------------------------------------------------------------- ops


def test_edits_rename_sets_label_and_name_source(tables):
    result = run(tables, ("rename", {"topic_id": 2, "name": "Staff were kind"}))
    assert topic(result, 2)["label"] == "Staff were kind"
    assert topic(result, 2)["name_source"] == "analyst"
    assert topic(result, 1)["name_source"] == "phrase"
    assert result.applied == ["e1"] and 2 in result.edited_topic_ids


def test_edits_merge_moves_statements_and_recomputes_shares(tables):
    result = run(tables, ("merge", {"topic_id": 2, "into": 3}))
    assert topic(result, 2)["status"] == "merged" and topic(result, 2)["size"] == 0
    st = result.statements
    assert not (st["topic_id"] == 2).any()
    assert themes_of(result, "c3") == {3: (3, 1.0)}  # its three statements are all theme 3 now
    assert themes_of(result, "c1") == {1: (1, 0.5), 3: (1, 0.5)}
    assert topic(result, 3)["size"] == 4  # statements: c1's one, c3's three
    assert themes_of(result, "c2") == {1: (1, 1.0)}  # untouched


def test_edits_merge_into_itself_or_a_merged_theme_is_skipped(tables):
    result = run(
        tables,
        ("merge", {"topic_id": 1, "into": 1}),
        ("merge", {"topic_id": 2, "into": 3}),
        ("merge", {"topic_id": 1, "into": 2}),
    )
    assert result.applied == ["e2"]
    reasons = {s.edit_id: s.reason for s in result.skipped}
    assert "itself" in reasons["e1"] and "merged into 3" in reasons["e3"]


def test_edits_move_to_an_existing_or_a_new_parent(tables):
    new_parent = allocate_id(tables["topics"], [])
    result = run(
        tables,
        ("move", {"topic_id": 2, "parent_id": 3}),
        ("move", {"topic_id": 1, "parent_id": new_parent, "parent_name": "Getting there"}),
    )
    assert (topic(result, 2)["parent_id"], topic(result, 2)["parent_label"]) == (3, "Waiting")
    assert topic(result, 1)["parent_id"] == new_parent >= ANALYST_ID_BASE
    assert topic(result, 1)["parent_label"] == "Getting there"


def test_edits_move_to_an_unknown_parent_is_skipped(tables):
    result = run(tables, ("move", {"topic_id": 2, "parent_id": 77}))
    assert result.applied == [] and "parent theme 77" in result.skipped[0].reason
    assert topic(result, 2)["parent_id"] == 1


def test_edits_split_moves_statements_with_the_phrase_to_a_new_theme(tables):
    new = allocate_id(tables["topics"], [])
    args = {"topic_id": 1, "phrase": "CAR  park", "new_topic_id": new, "name": "Car park"}
    result = run(tables, ("split", args))
    st = result.statements
    moved = set(st.loc[st["topic_id"] == new, "comment_id"])
    assert moved == {"c1", "c5"}  # "car parking" alone would not match: whole words
    assert set(st.loc[st["topic_id"] == 1, "comment_id"]) == {"c2"}
    row = topic(result, new)
    assert row["label"] == "Car park" and row["name_source"] == "analyst"
    assert row["parent_topic_id"] == 1 and row["parent_id"] == 1 and row["size"] == 2
    assert row["representative_ids"] == "c1|c5"
    assert topic(result, 1)["size"] == 1
    assert themes_of(result, "c1") == {new: (1, 0.5), 2: (1, 0.5)}


def test_edits_split_phrase_matches_whole_words_case_insensitively():
    pattern = phrase_pattern("car park")
    assert pattern.search("The CAR PARK was full")
    assert pattern.search("car\npark")
    assert not pattern.search("the carpark was full")
    assert not pattern.search("car parking only")


def test_edits_split_twice_on_edited_tables_does_not_duplicate_the_theme(tables):
    new = allocate_id(tables["topics"], [])
    ops = [("split", {"topic_id": 1, "phrase": "car park", "new_topic_id": new})]
    once = run(tables, *ops)
    again = apply_edits(
        topics=once.topics,
        comment_topics=once.comment_topics,
        statements=once.statements,
        statement_texts=tables["statement_texts"],
        edits=records(*ops),
    )
    assert again.skipped == [] and (again.topics["topic_id"] == new).sum() == 1
    pd.testing.assert_frame_equal(again.statements, once.statements)
    pd.testing.assert_frame_equal(again.topics, once.topics)  # status, size, representatives


def test_edits_split_id_taken_by_another_theme_is_skipped(tables):
    result = run(tables, ("split", {"topic_id": 1, "phrase": "car", "new_topic_id": 3}))
    assert result.applied == [] and "already taken" in result.skipped[0].reason


def test_edits_hide_unassigns_statements_and_marks_hidden(tables):
    result = run(tables, ("hide", {"topic_id": 3}))
    assert topic(result, 3)["status"] == "hidden" and topic(result, 3)["size"] == 0
    assert themes_of(result, "c3") == {2: (1, pytest.approx(1 / 3))}
    assert primary_of(result, "c3") == 2
    result = run(tables, ("hide", {"topic_id": 1}))
    assert themes_of(result, "c2") == {None: (1, 1.0)}  # its only theme is hidden


# ---------------------------------------------------------------- order, undo, vanished


def test_edits_apply_in_order(tables):
    rename_then_merge = run(
        tables, ("rename", {"topic_id": 2, "name": "X"}), ("merge", {"topic_id": 1, "into": 2})
    )
    merge_then_hide = run(tables, ("merge", {"topic_id": 1, "into": 2}), ("hide", {"topic_id": 1}))
    assert topic(rename_then_merge, 2)["label"] == "X"
    assert set(rename_then_merge.statements["topic_id"].dropna()) == {2, 3}
    assert merge_then_hide.applied == ["e1"]  # theme 1 was merged: hiding it no longer applies
    hide_then_merge = run(tables, ("hide", {"topic_id": 1}), ("merge", {"topic_id": 1, "into": 2}))
    assert hide_then_merge.applied == ["e1"] and "hidden" in hide_then_merge.skipped[0].reason


def test_edits_merge_chains_follow_through(tables):
    result = run(
        tables, ("merge", {"topic_id": 1, "into": 2}), ("merge", {"topic_id": 2, "into": 3})
    )
    assert set(result.statements["topic_id"].dropna()) == {3}
    assert topic(result, 3)["size"] == 7  # every themed statement


def test_edits_undo_reverts_one_edit_and_undo_of_undo_redoes_it(tables):
    edits = records(
        ("merge", {"topic_id": 2, "into": 3}),
        ("rename", {"topic_id": 1, "name": "Parking"}),
        ("undo", {"edit_id": "e1"}),
    )
    result = apply_edits(**tables, edits=edits)
    assert result.applied == ["e2"]
    assert topic(result, 2)["status"] == "active"
    pd.testing.assert_frame_equal(result.statements, tables["statements"])
    edits.append(new_record(edits, "undo", {"edit_id": "e3"}, by="tester"))
    assert [e.id for e in effective_edits(edits)] == ["e1", "e2"]
    assert topic(apply_edits(**tables, edits=edits), 2)["status"] == "merged"


def test_edits_with_vanished_ids_are_reported_not_applied(tables):
    # after a retrain the registry no longer has theme 9 (e.g. an edit made on another out dir)
    result = run(
        tables,
        ("rename", {"topic_id": 9, "name": "Gone"}),
        ("merge", {"topic_id": 1, "into": 9}),
        ("hide", {"topic_id": 2}),
    )
    assert result.applied == ["e3"]
    assert [s.edit_id for s in result.skipped] == ["e1", "e2"]
    assert all("theme 9 no longer exists" in s.message() for s in result.skipped)
    assert "merge 1 into 9" in result.skipped[1].message()
    assert topic(result, 1)["status"] == "active"


def test_edits_follow_merges_for_comments_without_statements(tables):
    old_shape = conform(
        pd.DataFrame(
            {"comment_id": ["d1", "d2", "d3"], "topic_id": [1, 2, 3], "score": [0.5, 0.6, 0.7]}
        ),
        "comment_topics",
    )
    empty = conform(pd.DataFrame(), "statements")
    result = apply_edits(
        topics=tables["topics"],
        comment_topics=old_shape,
        statements=empty,
        statement_texts=pd.Series([], dtype="string"),
        edits=records(("merge", {"topic_id": 1, "into": 2}), ("hide", {"topic_id": 3})),
    )
    ct = result.comment_topics.set_index("comment_id")
    assert ct.loc["d1", "topic_id"] == 2 and pd.isna(ct.loc["d3", "topic_id"])
    assert bool(ct.loc["d1", "is_primary"])
    assert topic(result, 2)["size"] == 2


def test_edits_size_in_comments_when_asked(tables):
    result = apply_edits(
        **tables, edits=records(("merge", {"topic_id": 2, "into": 3})), size_unit="comments"
    )
    assert topic(result, 3)["size"] == 2  # comments containing theme 3: c1, c3


def test_edits_texts_must_align_with_statements(tables):
    with pytest.raises(ValueError, match="statement_texts"):
        apply_edits(**{**tables, "statement_texts": pd.Series(["x"])}, edits=[])


# ---------------------------------------------------------------- ids and the file


def test_edits_allocate_ids_above_topics_parents_and_earlier_edits(tables):
    first = allocate_id(tables["topics"], [])
    assert first == ANALYST_ID_BASE
    edits = records(("split", {"topic_id": 1, "phrase": "car", "new_topic_id": first}))
    assert allocate_id(tables["topics"], edits) == first + 1
    big = tables["topics"].assign(parent_id=[1, 1, ANALYST_ID_BASE + 5])
    assert allocate_id(big, edits) == ANALYST_ID_BASE + 6


def test_edits_json_round_trip_keeps_every_field():
    edits = records(
        ("rename", {"topic_id": 2, "name": "Café — staff"}),
        ("split", {"topic_id": 1, "phrase": "car park", "new_topic_id": 100000, "name": None}),
        ("undo", {"edit_id": "e1"}),
    )
    edits[0] = EditRecord(**{**edits[0].to_dict(), "before": {"2": {"name": "Kind"}}})
    text = edits_json(edits)
    doc = json.loads(text)
    assert doc["schema_version"] == 1 and [e["id"] for e in doc["edits"]] == ["e1", "e2", "e3"]
    assert set(doc["edits"][0]) == {"id", "op", "args", "before", "after", "at", "by", "note"}
    assert doc["edits"][0]["at"].endswith("Z") and doc["edits"][0]["by"] == "tester"
    assert parse_edits(text) == edits


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"schema_version": 2, "edits": []}', "schema_version 2"),
        ('{"schema_version": 1}', "expected"),
        (
            '{"schema_version": 1, "edits": [{"id": "e1", "op": "explode", "args": {}, '
            '"at": "", "by": ""}]}',
            "unknown op",
        ),
        (
            '{"schema_version": 1, "edits": [{"id": "e1", "op": "merge", '
            '"args": {"topic_id": 1}, "at": "", "by": ""}]}',
            "needs 'into'",
        ),
        (
            '{"schema_version": 1, "edits": [{"id": "e1", "op": "hide", '
            '"args": {"topic_id": "1"}, "at": "", "by": ""}]}',
            "must be int",
        ),
        (
            '{"schema_version": 1, "edits": [{"id": "e1", "op": "undo", '
            '"args": {"edit_id": "e7"}, "at": "", "by": ""}]}',
            "no earlier edit",
        ),
    ],
)
def test_edits_file_errors_say_what_is_wrong(doc, message):
    with pytest.raises(EditsFileError, match=message):
        parse_edits(doc)


def test_edits_new_record_refuses_an_empty_name():
    with pytest.raises(EditsFileError, match="empty"):
        new_record([], "rename", {"topic_id": 1, "name": "  "}, by="x")


# ---------------------------------------------------------------- tables already edited


def rerun(tables: dict, first, edits: list[EditRecord]):
    """Apply `edits` to the tables `first` (an earlier application) produced."""
    return apply_edits(
        topics=first.topics,
        comment_topics=first.comment_topics,
        statements=first.statements,
        statement_texts=tables["statement_texts"],
        edits=edits,
    )


def test_edits_reapplied_to_edited_tables_change_nothing(tables):
    edits = records(
        ("merge", {"topic_id": 2, "into": 3}),
        ("hide", {"topic_id": 1}),
        ("rename", {"topic_id": 3, "name": "Care"}),
    )
    once = apply_edits(**tables, edits=edits)
    again = rerun(tables, once, edits)
    assert again.skipped == [] and again.applied == ["e1", "e2", "e3"]
    pd.testing.assert_frame_equal(again.topics, once.topics)
    pd.testing.assert_frame_equal(again.comment_topics, once.comment_topics)
    pd.testing.assert_frame_equal(again.statements, once.statements)


def test_edits_undone_split_on_edited_tables_is_folded_back(tables):
    new = allocate_id(tables["topics"], [])
    edits = records(("split", {"topic_id": 1, "phrase": "car park", "new_topic_id": new}))
    once = apply_edits(**tables, edits=edits)
    edits.append(new_record(edits, "undo", {"edit_id": "e1"}, by="tester"))
    undone = rerun(tables, once, edits)
    assert new not in set(undone.topics["topic_id"])
    assert not (undone.statements["topic_id"] == new).any()
    pd.testing.assert_series_equal(undone.statements["topic_id"], tables["statements"]["topic_id"])
    assert themes_of(undone, "c1") == {1: (1, 0.5), 2: (1, 0.5)}


def test_edits_undone_hide_on_edited_tables_makes_the_theme_live_again(tables):
    edits = records(("hide", {"topic_id": 3}))
    once = apply_edits(**tables, edits=edits)
    edits.append(new_record(edits, "undo", {"edit_id": "e1"}, by="tester"))
    undone = rerun(tables, once, edits)
    assert topic(undone, 3)["status"] == "dormant"  # its statements stay unassigned
    assert undone.skipped == []


def test_edits_comment_topics_follow_given_comment_ids(tables):
    ct = comment_topics_from_statements(tables["statements"], ["c5", "c9", "c1"])
    assert list(dict.fromkeys(ct["comment_id"])) == ["c5", "c9", "c1", "c2", "c3", "c4"]
    c9 = ct[ct["comment_id"] == "c9"]
    assert c9["topic_id"].isna().all() and int(c9["statements"].iloc[0]) == 0


@pytest.mark.slow
def test_edits_comment_topics_match_the_themes_stage(tables):
    """The same table as nlp.themes.statements builds (that module imports spaCy)."""
    from nlp.themes import statements as units

    ids = ["c3", "c1", "c2", "c4", "c5", "c0"]
    ours = comment_topics_from_statements(tables["statements"], ids)
    stage = units.comment_topics_from_statements(tables["statements"], ids)
    pd.testing.assert_frame_equal(ours, stage)
