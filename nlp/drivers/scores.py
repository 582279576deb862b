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


@dataclass
class ScoreJoin:
    scores: pd.DataFrame  # the `scores` table
    unmatched: pd.DataFrame  # side, source_id, reason
    match_rate: float | None
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
    The match rate is the share of survey comments (`kind == 'comment'`) that found a score.
    Transcript participants join by `<transcript_id>:<speaker>` (e.g. `interview_12:P01`):
    every turn of a scored participant gets the participant's score; unscored participants
    are not reported as unmatched (score sheets rarely cover every speaker).
    Scores whose comment was read but quarantined (`quarantined_ids`) are reported as
    `comment_quarantined`, not as unknown ids.
    """
    survey = comments[comments["kind"] == "comment"][["comment_id", "source_id"]].copy()
    survey["key"] = normalise_ids(survey["source_id"], casefold_ids)
    participants = _participant_keys(comments, casefold_ids)
    st, cols, unmatched = _valid_scores(score_table, scale, casefold_ids)
    held = (
        set(normalise_ids(quarantined_ids, casefold_ids)) if quarantined_ids is not None else set()
    )
    orphan = ~st["key"].isin(survey["key"]) & ~st["key"].isin(participants["key"])
    unmatched += [
        {
            "side": "scores",
            "source_id": sid,
            "reason": "comment_quarantined" if key in held else "no_comment_for_id",
        }
        for sid, key in zip(st.loc[orphan, "source_id"], st.loc[orphan, "key"], strict=True)
    ]
    st = pd.concat([st[["key"]], cols], axis=1)
    merged = survey.merge(st, on="key", how="left", validate="many_to_one", indicator=True)
    matched = merged["_merge"] == "both"
    unmatched += [
        {"side": "comments", "source_id": sid, "reason": "no_score_for_id"}
        for sid in merged.loc[~matched, "source_id"]
    ]
    voices = participants.merge(st, on="key", how="inner", validate="many_to_one")
    joined = pd.concat(
        [merged[matched].drop(columns=["key", "_merge"]), voices.drop(columns="key")],
        ignore_index=True,
    )
    rate = float(matched.mean()) if len(merged) else None
    return ScoreJoin(
        scores=conform(joined, "scores"),
        unmatched=pd.DataFrame(unmatched, columns=["side", "source_id", "reason"]),
        match_rate=rate,
        scores_read=len(score_table),
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


def _valid_scores(
    score_table: pd.DataFrame, scale: ScoreScale, casefold_ids: bool
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Score rows with an id, first per key; their score columns; and the rows set aside.

    Set aside, in this order: missing ids, duplicate ids, then (still kept) non-ratings.
    """
    st = score_table.copy()
    st["source_id"] = st["source_id"].astype("string").str.strip()
    bad = score_id_failures(st)
    unmatched = [
        {"side": "scores", "source_id": st.loc[i, "source_id"], "reason": "missing_id"} for i in bad
    ]
    st = st.drop(index=bad)
    st["key"] = normalise_ids(st["source_id"], casefold_ids)
    dup = st["key"].duplicated(keep="first")
    unmatched += [
        {"side": "scores", "source_id": sid, "reason": "duplicate_score_id"}
        for sid in st.loc[dup, "source_id"]
    ]
    st = st[~dup]
    cols = score_columns(st["score"], scale)
    unmatched += [
        {"side": "scores", "source_id": sid, "reason": "not_a_rating"}
        for sid in st.loc[cols["score_0_100"].isna(), "source_id"]
    ]
    return st, cols, unmatched
