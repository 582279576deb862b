"""Score scales and the id join: normalisation, duplicates, unmatched reasons, participants."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nlp.drivers.scores import NHS_FFT, ScoreScale, join_scores, score_columns


def test_scores_scale_normalise_higher_is_better():
    five = score_columns(pd.Series(["1", "3", "5"]), ScoreScale(1, 5))
    assert five["score_0_100"].tolist() == [0.0, 50.0, 100.0]
    assert five["top_box"].tolist() == [False, False, True]
    fft = score_columns(pd.Series([1, 5, 6, 7]), NHS_FFT)
    assert fft["score_0_100"].tolist()[:2] == [100.0, 0.0]
    assert fft["score_0_100"].isna().tolist()[2:] == [True, True]
    assert fft["score_raw"].tolist() == [1, 5, 6, 7]  # raw codes kept
    nps = score_columns(pd.Series([10, 9, 8, 7, 6, 0]), ScoreScale(0, 10))
    assert nps["top_box"].tolist() == [True, True, False, False, False, False]
    assert nps["bottom_box"].tolist() == [False, False, False, False, True, True]


def _comments(ids):
    return pd.DataFrame(
        {"comment_id": [f"s:{i}" for i in ids], "source_id": ids, "kind": "comment"}
    )


def test_scores_join_ids_as_strings_duplicates_and_unmatched():
    comments = _comments(["007", "008", "009", "010"])
    scores = pd.DataFrame(
        {
            "source_id": [" 007 ", "7", "008", "008", "011", "010", None, ""],
            "score": [5, 1, 4, 2, 3, "x", 4, 4],
        }
    )
    j = join_scores(comments, scores, ScoreScale(1, 5), quarantined_ids=pd.Series(["011"]))
    assert j.scores["comment_id"].is_unique
    got = dict(zip(j.scores["source_id"], j.scores["score_raw"], strict=True))
    assert got["007"] == 5 and got["008"] == 4  # "7" is not "007"; first duplicate wins
    assert np.isnan(got["010"])  # matched, but not a rating
    assert j.match_rate == 0.5  # usable: 007 and 008 of four
    assert j.id_match_rate == 0.75  # any score row: 007, 008, 010
    got = sorted(
        zip(
            j.unmatched["side"],
            j.unmatched["source_id"].fillna("<NA>"),
            j.unmatched["reason"],
            strict=True,
        )
    )
    assert got == [
        ("comments", "009", "no_score_for_id"),
        ("comments", "010", "not_a_rating"),
        ("scores", "", "missing_id"),
        ("scores", "008", "duplicate_score_id"),
        ("scores", "010", "not_a_rating"),
        ("scores", "011", "comment_quarantined"),
        ("scores", "7", "no_comment_for_id"),
        ("scores", "<NA>", "missing_id"),
    ]
    usable_rows = int(j.scores["score_0_100"].notna().sum())
    assert usable_rows + (j.unmatched["side"] == "scores").sum() == j.scores_read == 8


def test_scores_join_gives_each_score_row_one_reason():
    # a non-rating for an unknown id is one unknown id, not also a non-rating
    comments = _comments(["1", "2"])
    scores = pd.DataFrame({"source_id": ["1", "3", "3", "4"], "score": ["abc", "abc", "2", "9"]})
    j = join_scores(comments, scores, ScoreScale(1, 5))
    side = j.unmatched[j.unmatched["side"] == "scores"]
    assert sorted(zip(side["source_id"], side["reason"], strict=True)) == [
        ("1", "not_a_rating"),
        ("3", "duplicate_score_id"),
        ("3", "no_comment_for_id"),
        ("4", "no_comment_for_id"),
    ]
    assert j.match_rate == 0.0 and j.id_match_rate == 0.5


def test_scores_join_casefold_option_and_transcript_participants():
    comments = pd.concat(
        [
            _comments(["AB-1", "ab-2"]),
            pd.DataFrame(
                {
                    "comment_id": ["transcript:int1:0001", "transcript:int1:0003", "t:int1:5"],
                    "source_id": ["int1:0001", "int1:0003", "int1:0005"],
                    "kind": ["transcript_turn", "transcript_turn", "transcript_turn"],
                    "transcript_id": ["int1", "int1", "int1"],
                    "speaker": ["P01", "P01", "P02"],
                }
            ),
        ],
        ignore_index=True,
    )
    scores = pd.DataFrame({"source_id": ["ab-1", "AB-2", "int1:P01"], "score": [5, 4, 2]})
    strict = join_scores(comments, scores, ScoreScale(1, 5))
    assert strict.match_rate == 0.0 == strict.id_match_rate  # "ab-1" is not "AB-1" unless asked
    folded = join_scores(comments, scores, ScoreScale(1, 5), casefold_ids=True)
    assert folded.match_rate == 1.0  # survey comments only; turns do not count
    by_comment = folded.scores.set_index("comment_id")["score_raw"]
    assert by_comment["transcript:int1:0001"] == 2 and by_comment["transcript:int1:0003"] == 2
    assert "t:int1:5" not in by_comment.index  # P02 has no score ...
    assert not (folded.unmatched["source_id"].astype(str).str.contains("int1")).any()  # ... quietly
