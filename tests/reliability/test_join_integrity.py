"""Exact counts of the score join: every score row read and every survey comment is accounted
for once, non-ratings never count as matched, and a rerun gives the same snapshot.

Fast: hand-built frames through `nlp.drivers.stage.driver_tables`, plus the DuckDB merge of
`unmatched_scores` (a snapshot: replaced whole, also in a file written when it was run-keyed).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from flows.io.tables import DB_NAME, upsert_duckdb
from nlp.drivers.membership import Themes
from nlp.drivers.scores import ScoreScale
from nlp.drivers.stage import DriverSettings, driver_tables
from nlp.schemas import conform

FFT_LIKE = ScoreScale(low=1, high=5, ignore=(6, 7))
SURVEY = ["007", "8", "009", "010", "011", "012", "013", "014", "AB-1", "020"]
# (source_id, score, reason it gives no usable score; None = usable, "fold" = casefold decides)
SCORE_ROWS = [
    ("7", "1", "no_comment_for_id"),  # leading zeros differ: "7" is not "007"
    ("007", "5", None),
    (" 8 ", "4", None),  # trimmed
    ("8", "2", "duplicate_score_id"),  # the first row of "8" is used
    ("010", "abc", "not_a_rating"),
    ("011", "9", "not_a_rating"),  # off the 1-5 scale
    ("012", "6", "not_a_rating"),  # ignore code ("don't know")
    ("013", "7", "not_a_rating"),  # ignore code ("missing")
    ("014", "", "not_a_rating"),  # empty
    ("ab-1", "3", "fold"),  # "AB-1" only when ids are case-folded
    ("Q1", "2", "comment_quarantined"),
    ("999", "1", "no_comment_for_id"),
    (None, "4", "missing_id"),
    ("int1:P01", "4", None),  # a transcript participant: joined, not a survey comment
]


def _comments() -> pd.DataFrame:
    survey = pd.DataFrame(
        {
            "comment_id": [f"s:{i}" for i in SURVEY],
            "source_id": SURVEY,
            "kind": "comment",
            "date": pd.Timestamp("2024-01-01"),
            "service": "111",
        }
    )
    turns = pd.DataFrame(
        {
            "comment_id": ["transcript:int1:0001", "transcript:int1:0002"],
            "source_id": ["int1:0001", "int1:0002"],
            "kind": ["transcript_turn", "moderator_turn"],
            "date": pd.Timestamp("2024-01-01"),
            "service": "111",
            "transcript_id": "int1",
            "speaker": ["P01", "M"],
        }
    )
    return pd.concat([survey, turns], ignore_index=True)


def _themes(comments: pd.DataFrame) -> Themes:
    docs = comments[comments["kind"] != "moderator_turn"]
    return Themes(
        analysed=docs[["comment_id", "date", "service"]],
        topics=conform(pd.DataFrame({"topic_id": [0], "label": ["staff"]}), "topics"),
        comment_topics=conform(
            pd.DataFrame({"comment_id": docs["comment_id"], "topic_id": 0}), "comment_topics"
        ),
        tags=conform(pd.DataFrame(), "pain_points"),
        sentiment=conform(pd.DataFrame(), "sentiment"),
    )


def _score_table() -> pd.DataFrame:
    return pd.DataFrame(
        {"source_id": [r[0] for r in SCORE_ROWS], "score": [r[1] for r in SCORE_ROWS]}
    )


def _join(casefold: bool, previous: pd.DataFrame | None = None, run_id: str = "r1"):
    comments = _comments()
    return driver_tables(
        comments=comments,
        quarantined_ids=pd.Series(["Q1"], dtype="string"),
        score_table=_score_table(),
        previous_scores=conform(pd.DataFrame(), "scores") if previous is None else previous,
        themes=_themes(comments),
        segments=conform(pd.DataFrame(), "comment_segments"),
        settings=DriverSettings(scale=FFT_LIKE, casefold_ids=casefold, min_n=2, n_boot=20),
        run_id=run_id,
    )


def _side(out, side: str) -> list[tuple[str, str]]:
    u = out.unmatched[out.unmatched["side"] == side]
    return sorted(zip(u["source_id"].fillna("<NA>"), u["reason"], strict=True))


@pytest.mark.parametrize("casefold", [False, True])
def test_join_integrity_every_score_row_has_one_outcome(casefold):
    out = _join(casefold)
    fold = None if casefold else "no_comment_for_id"
    expected = sorted(
        (("<NA>" if sid is None else sid.strip()), fold if reason == "fold" else reason)
        for sid, _, reason in SCORE_ROWS
        if reason is not None and (reason != "fold" or fold)
    )
    assert _side(out, "scores") == expected
    usable = out.scores[out.scores["score_0_100"].notna()]
    assert out.scores_read == len(SCORE_ROWS) == 14
    assert len(usable) + len(expected) == out.scores_read  # usable + not usable add up
    assert len(expected) == (10 if casefold else 11)
    by_reason = out.unmatched[out.unmatched["side"] == "scores"]["reason"].value_counts()
    assert by_reason["not_a_rating"] == 5 and by_reason["duplicate_score_id"] == 1
    assert by_reason["missing_id"] == 1 and by_reason["comment_quarantined"] == 1
    assert by_reason["no_comment_for_id"] == (2 if casefold else 3)
    got = dict(zip(usable["comment_id"], usable["score_raw"], strict=True))
    assert got["s:007"] == 5 and got["s:8"] == 4 and got["transcript:int1:0001"] == 4
    assert ("s:AB-1" in got) is casefold


@pytest.mark.parametrize("casefold", [False, True])
def test_join_integrity_survey_comments_and_rates(casefold):
    out = _join(casefold)
    no_score = ["009", "020"] + ([] if casefold else ["AB-1"])
    not_rating = ["010", "011", "012", "013", "014"]
    assert _side(out, "comments") == sorted(
        [(s, "no_score_for_id") for s in no_score] + [(s, "not_a_rating") for s in not_rating]
    )
    usable = 3 if casefold else 2  # 007, 8 (and AB-1)
    assert len(_side(out, "comments")) + usable == len(SURVEY) == 10
    assert out.match_rate == usable / 10  # non-ratings do not count
    assert out.id_match_rate == (usable + 5) / 10  # ... but their ids did join
    kept = out.scores.set_index("comment_id")["score_0_100"]
    assert kept.reindex([f"s:{s}" for s in not_rating]).isna().all()  # kept, score_0_100 null
    assert set(kept.index) >= {f"s:{s}" for s in not_rating}


def test_join_integrity_rerun_gives_identical_tables():
    first = _join(casefold=False)
    again = _join(casefold=False, previous=first.scores)
    pd.testing.assert_frame_equal(first.unmatched, again.unmatched)
    pd.testing.assert_frame_equal(first.scores, again.scores)
    assert (first.match_rate, first.id_match_rate) == (again.match_rate, again.id_match_rate)


def _snapshot_in_db(out, tables: dict[str, pd.DataFrame], run_id: str) -> pd.DataFrame:
    ids = tables["scores"]["comment_id"] if "scores" in tables else []
    upsert_duckdb(tables, out, run_id, sorted(ids))
    con = duckdb.connect(str(out / DB_NAME), read_only=True)
    try:
        return con.execute('SELECT * FROM "unmatched_scores"').df()
    finally:
        con.close()


def test_join_integrity_duckdb_holds_one_snapshot_across_reruns(tmp_path):
    # a file written while unmatched_scores was run-keyed: rows of two earlier runs
    stale = conform(
        pd.DataFrame(
            {"side": "scores", "source_id": ["7", "7"], "reason": "no_comment_for_id"}
        ).assign(run_id=["old1", "old2"]),
        "unmatched_scores",
    )
    _snapshot_in_db(tmp_path, {"unmatched_scores": stale}, "old1")
    counts = []
    for run_id in ("r1", "r2", "r3"):
        out = _join(casefold=False, run_id=run_id)
        held = _snapshot_in_db(
            tmp_path, {"scores": out.scores, "unmatched_scores": out.unmatched}, run_id
        )
        counts.append(len(held))
        assert set(held["run_id"]) == {run_id}  # replaced whole, the stale rows are gone
        assert sorted(held["source_id"].fillna("<NA>")) == sorted(
            out.unmatched["source_id"].fillna("<NA>")
        )
    assert counts == [11 + 8] * 3  # not appended: 19, 19, 19
