"""The drivers stage entry: which scores count, the match rate, segments, NPS and the contracts."""

from __future__ import annotations

import pandas as pd
import pytest

from nlp.drivers.membership import Themes
from nlp.drivers.scores import ScoreScale
from nlp.drivers.stage import DriverSettings, DriverTables, driver_tables
from nlp.schemas import TABLES, conform

N = 24  # survey comments s:1 .. s:24
FIVE_POINT = ScoreScale(1, 5)


def _comments() -> pd.DataFrame:
    survey = pd.DataFrame(
        {
            "comment_id": [f"s:{i}" for i in range(1, N + 1)],
            "source_id": [str(i) for i in range(1, N + 1)],
            "kind": "comment",
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta([i % 21 for i in range(N)], "D"),
            "service": ["111" if i % 2 else "999" for i in range(N)],
        }
    )
    turns = pd.DataFrame(
        {
            "comment_id": ["transcript:int1:0001", "transcript:int1:0002"],
            "source_id": ["int1:0001", "int1:0002"],
            "kind": ["transcript_turn", "moderator_turn"],
            "date": pd.Timestamp("2024-01-08"),
            "service": "111",
            "transcript_id": "int1",
            "speaker": ["P01", "M"],
        }
    )
    return pd.concat([survey, turns], ignore_index=True)


def _scores(comment_ids: list[str], raw: float = 4.0) -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            {
                "comment_id": comment_ids,
                "source_id": [c.split(":", 1)[1] for c in comment_ids],
                "score_raw": raw,
                "score_0_100": 75.0,
                "top_box": True,
                "bottom_box": False,
            }
        ),
        "scores",
    )


def _themes(comments: pd.DataFrame) -> Themes:
    docs = comments[comments["kind"] != "moderator_turn"]
    ids = docs["comment_id"].tolist()
    comment_topics = conform(
        pd.DataFrame(
            {"comment_id": ids, "topic_id": [None if i == 0 else i % 2 for i in range(len(ids))]}
        ),
        "comment_topics",
    )
    tags = conform(
        pd.DataFrame(
            {
                "comment_id": ids[:12],
                "clause_index": 0,
                "category": "wait",
                "is_pain_point": pd.array([True] * 10 + [False, None], dtype="boolean"),
            }
        ),
        "pain_points",
    )
    return Themes(
        analysed=docs[["comment_id", "date", "service"]],
        topics=conform(
            pd.DataFrame({"topic_id": [0, 1], "label": ["car park", "staff"]}), "topics"
        ),
        comment_topics=comment_topics,
        tags=tags,
        sentiment=conform(pd.DataFrame({"comment_id": ids, "label": "negative"}), "sentiment"),
    )


def _score_table(ids: list[str], score: str = "4", **extra) -> pd.DataFrame:
    return pd.DataFrame({"source_id": ids, "score": score, **extra})


def _run(comments=None, score_table=None, previous=None, scale=FIVE_POINT, **settings):
    comments = _comments() if comments is None else comments
    args = {"scale": scale, "min_n": 2, "n_boot": 50, "seed": 1, **settings}
    return driver_tables(
        comments=comments,
        quarantined_ids=pd.Series([], dtype="string"),
        score_table=score_table,
        previous_scores=_scores([]) if previous is None else previous,
        themes=_themes(comments),
        segments=conform(pd.DataFrame(), "comment_segments"),
        settings=DriverSettings(**args),
        run_id="r1",
    )


def _triples(unmatched: pd.DataFrame) -> set[tuple[str, str, str]]:
    u = unmatched
    return set(zip(u["side"], u["source_id"], u["reason"], strict=True))


def test_stage_match_rate_counts_survey_comments_with_scores():
    # 12 of 24 survey comments scored; the participant's score does not count toward the rate
    table = _score_table([str(i) for i in range(1, 13)] + ["int1:P01"])
    out = _run(score_table=table)
    assert isinstance(out, DriverTables)
    assert out.match_rate == 0.5 == out.id_match_rate
    assert "transcript:int1:0001" in set(out.scores["comment_id"])
    assert out.scores_read == 13


def test_stage_comment_scored_earlier_is_not_unmatched():
    table = _score_table([str(i) for i in range(1, 21)])
    out = _run(score_table=table, previous=_scores(["s:21", "s:22"]))
    unmatched = set(out.unmatched.loc[out.unmatched["side"] == "comments", "source_id"])
    assert unmatched == {"23", "24"}
    assert {"s:21", "s:22"} <= set(out.scores["comment_id"])  # earlier scores stay
    assert out.match_rate == 22 / 24 == out.id_match_rate
    assert (out.unmatched["run_id"] == "r1").all()


def test_stage_scores_of_non_analysed_comments_are_dropped():
    previous = _scores(["s:1", "transcript:int1:0002"])  # the moderator turn had a score
    out = _run(score_table=_score_table(["2", "3"]), previous=previous)
    assert set(out.scores["comment_id"]) == {"s:1", "s:2", "s:3"}


def test_stage_service_is_a_segment():
    out = _run(score_table=_score_table([str(i) for i in range(1, N + 1)]))
    assert {"all", "service=111", "service=999"} <= set(out.topic_csat["segment"])
    assert set(out.driver_gaps["segment"]) == {"service=111", "service=999"}
    assert set(out.driver_gaps["theme_type"]) == {"topic", "pain_point"}
    assert out.topic_csat["label"].notna().all()


def test_stage_pain_points_count_only_pain_point_tags():
    members = dict((t, m) for t, _, m in _themes(_comments()).memberships())
    assert len(members["pain_point"]) == 10  # false and null is_pain_point are not pains
    assert members["topic"]["topic_id"].notna().all()


@pytest.mark.parametrize(("casefold", "expected"), [(True, 100.0), (False, 50.0)])
def test_stage_nps_column_uses_first_row_per_id(casefold, expected):
    # "a" repeats "A" only when ids are case-folded; then its detractor row is not counted
    table = _score_table(["1", "2", "A", "a"], nps=["10", "9", "10", "0"])
    assert _run(score_table=table, casefold_ids=casefold).nps == expected


def test_stage_nps_from_0_10_scale_else_none():
    table = _score_table(["1", "2", "3", "4"], score="0")
    table.loc[:1, "score"] = "10"
    assert _run(score_table=table, scale=ScoreScale(0, 10)).nps == 0.0
    assert _run(score_table=_score_table(["1"], score="5")).nps is None


def test_stage_without_score_table_uses_previous_scores():
    out = _run(previous=_scores(["s:1", "s:2", "transcript:int1:0002"]))
    assert set(out.scores["comment_id"]) == {"s:1", "s:2"}
    assert out.scores_read == 0 and out.match_rate == 2 / 24 == out.id_match_rate
    # the snapshot still says which survey comments have no score; no score rows were read
    assert set(out.unmatched["side"]) == {"comments"} and len(out.unmatched) == 22
    assert _run(previous=_scores(["s:1"], raw=10.0), scale=ScoreScale(0, 10)).nps == 100.0


def test_stage_without_any_scores_reports_no_rates_and_nothing_unmatched():
    out = _run()
    assert out.match_rate is None and out.id_match_rate is None
    assert out.unmatched.empty and list(out.unmatched.columns) == list(TABLES["unmatched_scores"])


def test_stage_match_rate_counts_usable_scores_only():
    # 20 scored, of which 4 are no rating: "abc", 9 on 1-5, "" and 0
    table = _score_table([str(i) for i in range(1, 21)])
    table.loc[:3, "score"] = ["abc", "9", "", "0"]
    out = _run(score_table=table)
    assert out.match_rate == 16 / 24 and out.id_match_rate == 20 / 24
    u = out.unmatched
    comments = u[u["side"] == "comments"]
    assert len(comments) == 24 - 16
    assert sorted(comments.loc[comments["reason"] == "not_a_rating", "source_id"]) == [
        "1",
        "2",
        "3",
        "4",
    ]
    assert (u[u["side"] == "scores"]["reason"] == "not_a_rating").sum() == 4
    assert out.scores["score_0_100"].notna().sum() + (u["side"] == "scores").sum() == 20


def test_stage_inverted_scale_matches_no_usable_score():
    table = _score_table([str(i) for i in range(1, N + 1)] + ["nope"])
    out = _run(score_table=table, scale=ScoreScale(5, 1))
    assert out.match_rate == 0.0 and out.id_match_rate == 1.0
    u = out.unmatched
    assert len(u) == (N + 1) + N  # each score row once, each survey comment once
    assert (u["side"] == "scores").sum() == out.scores_read == N + 1
    assert set(u.loc[u["side"] == "comments", "reason"]) == {"not_a_rating"}
    assert (u.loc[u["source_id"] == "nope", "reason"] == "no_comment_for_id").all()


def test_stage_unmatched_is_a_snapshot_a_rerun_repeats():
    table = _score_table([str(i) for i in range(1, 21)] + ["nope", "1"])
    first = _run(score_table=table)
    again = _run(score_table=table, previous=first.scores.iloc[::-1])  # stored order may differ
    pd.testing.assert_frame_equal(first.unmatched, again.unmatched)
    key = ["comment_id"]
    pd.testing.assert_frame_equal(
        first.scores.sort_values(key).reset_index(drop=True),
        again.scores.sort_values(key).reset_index(drop=True),
    )
    assert (first.unmatched["run_id"] == "r1").all()
    assert len(first.unmatched) == 2 + 4  # "nope", the second "1"; comments 21-24


def test_stage_nightly_file_with_only_new_scores_keeps_the_current_state():
    first = _run(score_table=_score_table([str(i) for i in range(1, 21)] + ["nope"]))
    nightly = _run(score_table=_score_table(["21", "22", "x"]), previous=first.scores)
    u = nightly.unmatched
    # comments: none of any run's scores is usable for 23, 24; scores: this file's rows only
    assert sorted(_triples(u)) == [
        ("comments", "23", "no_score_for_id"),
        ("comments", "24", "no_score_for_id"),
        ("scores", "x", "no_comment_for_id"),
    ]
    assert nightly.match_rate == 22 / 24 and nightly.scores_read == 3
    # a later non-rating for a comment replaces its earlier score: no longer usable
    later = _run(score_table=_score_table(["1"], score="6"), previous=nightly.scores)
    assert later.match_rate == 21 / 24 and later.id_match_rate == 22 / 24
    assert ("comments", "1", "not_a_rating") in _triples(later.unmatched)


def test_stage_tables_conform_to_schema():
    table = _score_table([str(i) for i in range(1, 20)] + ["nope"])
    out = _run(score_table=table, trend_period="M")
    tables = {
        "scores": out.scores,
        "unmatched_scores": out.unmatched,
        "topic_csat": out.topic_csat,
        "pain_point_csat": out.pain_point_csat,
        "driver_gaps": out.driver_gaps,
        "trends": out.trends,
        "topic_services": out.topic_services,
    }
    for name, df in tables.items():
        assert len(df), name
        assert list(df.columns) == list(TABLES[name]), name
        pd.testing.assert_frame_equal(df, conform(df, name), obj=name)
