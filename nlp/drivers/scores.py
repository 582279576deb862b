"""Join scores to comments by id and put every rating scale on one 0-100 footing.

Scores are normalised to 0-100 where higher is better, whatever the raw scale; top and bottom
box follow the scale. What a theme does to the score (drivers, gaps, trends): the rest of
`nlp.drivers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from nlp.schemas import conform
from nlp.validation import score_id_failures


@dataclass(frozen=True)
class ScoreScale:
    """A rating scale. `higher_is_better=False` for scales like NHS FFT (1 = very good).

    `ignore` lists codes that are not ratings ("don't know", "missing"). Top/bottom box are the
    `box` best / worst points (top-2-box on 5-point scales); on 0-10 scales they follow NPS:
    9-10 top, 0-6 bottom.
    """

    low: float = 1
    high: float = 5
    higher_is_better: bool = True
    ignore: tuple[float, ...] = ()
    box: int = 2

    @property
    def is_nps(self) -> bool:
        return self.low == 0 and self.high == 10


NHS_FFT = ScoreScale(low=1, high=5, higher_is_better=False, ignore=(6, 7))


def normalise_ids(ids: pd.Series, casefold: bool = False) -> pd.Series:
    """Ids as trimmed strings (leading zeros kept); optionally case-folded."""
    out = ids.astype("string").str.strip()
    return out.str.casefold() if casefold else out


def score_columns(raw: pd.Series, scale: ScoreScale) -> pd.DataFrame:
    """score_raw, score_0_100 (higher = better), top_box, bottom_box.

    Codes that are not ratings keep their raw value but get null normalised columns.
    """
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    valid = values.between(scale.low, scale.high) & ~values.isin(scale.ignore)
    span = scale.high - scale.low
    norm = ((values - scale.low) / span * 100).where(valid)
    if not scale.higher_is_better:
        norm = 100 - norm
    if scale.is_nps:
        top_cut, bottom_cut = 85.0, 65.0  # 9-10 and 0-6 on 0-10
    else:
        step = 100 / span
        top_cut = 100 - step * (scale.box - 1) - 1e-9
        bottom_cut = step * (scale.box - 1) + 1e-9
    return pd.DataFrame(
        {
            "score_raw": values,
            "score_0_100": norm,
            "top_box": (norm >= top_cut).where(valid).astype("boolean"),
            "bottom_box": (norm <= bottom_cut).where(valid).astype("boolean"),
        },
        index=raw.index,
    )


# Why a score row read gives no usable score: one reason per row, the first that applies.
SCORE_REASONS = (
    "missing_id",
    "duplicate_score_id",  # the first row of an id is used
    "comment_quarantined",
    "no_comment_for_id",
    "not_a_rating",  # joined, but the value is no rating on the scale (null score_0_100)
)


@dataclass
class ScoreJoin:
    scores: pd.DataFrame  # the `scores` rows of this score table (non-ratings included)
    unmatched: pd.DataFrame  # side, source_id, reason (see `join_scores`)
    match_rate: float | None  # survey comments with a usable score
    id_match_rate: float | None  # survey comments with any score row (usable or not)
    scores_read: int


def join_scores(
    comments: pd.DataFrame,
    score_table: pd.DataFrame,
    scale: ScoreScale,
    casefold_ids: bool = False,
    quarantined_ids: pd.Series | None = None,
) -> ScoreJoin:
    """Join `score_table` (source_id, score) to survey comments (comment_id, source_id).

    Duplicate score ids keep the first row and are reported; a comment never gets two scores.
    Transcript participants join by `<transcript_id>:<speaker>` (e.g. `interview_12:P01`):
    every turn of a scored participant gets the participant's score; unscored participants
    are not reported as unmatched (score sheets rarely cover every speaker).

    `unmatched` has one `scores` row per score row read that gives no usable score, with the
    first reason of `SCORE_REASONS` that applies (a score whose comment was read but
    quarantined, `quarantined_ids`, is `comment_quarantined`, not an unknown id), and one
    `comments` row per survey comment without a usable score (`unmatched_comments`). So
    `scores_read` = usable score rows joined + `scores` rows, and the survey comments =
    usable + `comments` rows. The rates are over survey comments (`kind == 'comment'`).
    """
    survey = comments[comments["kind"] == "comment"][["comment_id", "source_id"]]
    keyed = survey.assign(key=normalise_ids(survey["source_id"], casefold_ids))
    participants = _participant_keys(comments, casefold_ids)
    st = _keyed_scores(score_table, casefold_ids)
    held = (
        set(normalise_ids(quarantined_ids, casefold_ids)) if quarantined_ids is not None else set()
    )
    live = st["reason"].isna()
    known = st["key"].isin(keyed["key"]) | st["key"].isin(participants["key"])
    orphan, quarantined = live & ~known, st["key"].isin(held)
    st.loc[orphan & quarantined, "reason"] = "comment_quarantined"
    st.loc[orphan & ~quarantined, "reason"] = "no_comment_for_id"
    cols = score_columns(st["score"], scale)
    st.loc[live & known & cols["score_0_100"].isna(), "reason"] = "not_a_rating"
    joinable = pd.concat([st[["key"]], cols], axis=1)[live & known]
    matched = keyed.merge(joinable, on="key", how="inner", validate="many_to_one")
    voices = participants.merge(joinable, on="key", how="inner", validate="many_to_one")
    joined = conform(
        pd.concat([matched.drop(columns="key"), voices.drop(columns="key")], ignore_index=True),
        "scores",
    )
    bad = st[st["reason"].notna()]
    side = pd.DataFrame({"side": "scores", "source_id": bad["source_id"], "reason": bad["reason"]})
    rate, id_rate = match_rates(survey, joined)
    return ScoreJoin(
        scores=joined,
        unmatched=pd.concat([side, unmatched_comments(survey, joined)], ignore_index=True),
        match_rate=rate,
        id_match_rate=id_rate,
        scores_read=len(score_table),
    )


def match_rates(survey: pd.DataFrame, scores: pd.DataFrame) -> tuple[float | None, float | None]:
    """(usable, id) match rate: the share of `survey` comments with a usable score (non-null
    `score_0_100`) and with any score row; (None, None) without survey comments."""
    if not len(survey):
        return None, None
    ids = survey["comment_id"]
    usable = ids.isin(scores.loc[scores["score_0_100"].notna(), "comment_id"])
    return float(usable.mean()), float(ids.isin(scores["comment_id"]).mean())


def unmatched_comments(survey: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """side `comments`, source_id, reason of each `survey` comment without a usable score in
    `scores`: `no_score_for_id` (no score row) or `not_a_rating` (its score is no rating)."""
    usable = set(scores.loc[scores["score_0_100"].notna(), "comment_id"])
    left = survey[~survey["comment_id"].isin(usable)]
    rated = left["comment_id"].isin(scores["comment_id"])
    return pd.DataFrame(
        {
            "side": "comments",
            "source_id": left["source_id"].to_numpy(),
            "reason": rated.map({True: "not_a_rating", False: "no_score_for_id"}).to_numpy(),
        },
        columns=["side", "source_id", "reason"],
    )


def _participant_keys(comments: pd.DataFrame, casefold_ids: bool) -> pd.DataFrame:
    """comment_id, source_id `<transcript_id>:<speaker>` and key of every transcript turn."""
    turns = comments[comments["kind"] == "transcript_turn"].reindex(
        columns=["comment_id", "transcript_id", "speaker"]
    )
    participants = pd.DataFrame(
        {
            "comment_id": turns["comment_id"],
            "source_id": turns["transcript_id"].astype("string")
            + ":"
            + turns["speaker"].astype("string"),
        }
    ).dropna()
    participants["key"] = normalise_ids(participants["source_id"], casefold_ids)
    return participants


def _keyed_scores(score_table: pd.DataFrame, casefold_ids: bool) -> pd.DataFrame:
    """The score rows in file order with a trimmed source_id, their join key and the reason
    set aside so far: `missing_id`, then `duplicate_score_id` (all but the first row of a key);
    null for the rows that go on to the join."""
    st = score_table.reset_index(drop=True)
    st = st.assign(source_id=st["source_id"].astype("string").str.strip())
    reason = pd.Series(pd.NA, index=st.index, dtype="string")
    reason[score_id_failures(st)] = "missing_id"
    key = normalise_ids(st["source_id"], casefold_ids)
    dup = key[reason.isna()].duplicated(keep="first")
    reason[dup[dup].index] = "duplicate_score_id"
    return st.assign(key=key, reason=reason)
