"""Incremental processing: which input rows are new or changed, and merging a run into the corpus.

Each input row gets a `row_hash` over its content. The ingest ledger records the
(comment_id, row_hash) pairs already processed, kept or quarantined, so a nightly run works
only on rows it has not seen, and a late-arriving row is processed exactly once.
"""

from __future__ import annotations

import hashlib

import pandas as pd

HASHED_FIELDS = ("kind", "source_id", "text", "date", "service", "speaker", "turn_index")
# Survey comments hash the first five fields, transcript turns all seven: a row's hash does not
# depend on which other inputs came with it (comments alone, transcripts alone, or both).
_COMMENT_HASHED = HASHED_FIELDS[:5]
# Columns a row may lack (a survey file has no speaker, a transcript no date or service):
# added as nulls, so every stage can read them whatever the inputs were.
OPTIONAL_COLUMNS = (
    "date",
    "service",
    "transcript_id",
    "speaker",
    "turn_index",
    "start_time",
    "prompt",
)
SEGMENT_PREFIX = "segment:"  # input columns `segment:<name>` carry respondent segments
ANALYSED_KINDS = ("comment", "transcript_turn")
ANALYSED_LANGUAGES = ("en", "und")


def comment_ids(rows: pd.DataFrame, dataset: str) -> pd.Series:
    """Our key: `<dataset>:<input id>` for survey comments, `transcript:<id>` for turns."""
    sid = rows["source_id"].astype("string").str.strip()
    is_comment = rows["kind"] == "comment"
    ids = ("transcript:" + sid).where(~is_comment, dataset + ":" + sid)
    return ids.where(sid.notna() & (sid != ""), None).astype("string")


def with_optional_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with every `OPTIONAL_COLUMNS` column it lacks added as nulls (a copy)."""
    missing = [c for c in OPTIONAL_COLUMNS if c not in rows.columns]
    if not missing:
        return rows
    return rows.assign(**{c: pd.Series(None, index=rows.index, dtype="object") for c in missing})


def row_hashes(rows: pd.DataFrame) -> pd.Series:
    """16-hex-digit SHA-256 over the row's content fields (raw, before cleaning).

    A missing column hashes as a null, so the hash is the same whichever inputs came together.
    """
    parts = rows.reindex(columns=list(HASHED_FIELDS))
    # turn_index as "3.0": the text earlier versions hashed (a float column beside comments)
    parts["turn_index"] = pd.to_numeric(parts["turn_index"], errors="coerce").astype("float64")
    parts = parts.astype("string").fillna("\x00")
    is_comment = (parts["kind"] == "comment").tolist()
    joined = [
        "\x1f".join(r[: len(_COMMENT_HASHED)] if comment else r)
        for r, comment in zip(parts.itertuples(index=False, name=None), is_comment, strict=True)
    ]
    return pd.Series(
        [hashlib.sha256(s.encode("utf-8")).hexdigest()[:16] for s in joined],
        index=rows.index,
        dtype="string",
    )


def unseen(rows: pd.DataFrame, ledger: pd.DataFrame) -> pd.Series:
    """True for rows whose (comment_id, row_hash) the ledger does not hold, or that have no id."""
    seen = set(zip(ledger["comment_id"], ledger["row_hash"], strict=True))
    pairs = zip(rows["comment_id"], rows["row_hash"], strict=True)
    return pd.Series(
        [pd.isna(c) or (c, h) not in seen for c, h in pairs], index=rows.index, dtype=bool
    )


def ledger_entries(rows: pd.DataFrame, status: str, run_id: str) -> pd.DataFrame:
    """Ledger rows (comment_id, row_hash, status, run_id) for rows that have an id."""
    keyed = rows[rows["comment_id"].notna()]
    return pd.DataFrame(
        {
            "comment_id": keyed["comment_id"].astype("string"),
            "row_hash": keyed["row_hash"].astype("string"),
            "status": status,
            "run_id": run_id,
        }
    )


def segment_rows(rows: pd.DataFrame, prefix: str = SEGMENT_PREFIX) -> pd.DataFrame:
    """Long table (comment_id, segment, value) from `segment:<name>` columns; nulls dropped."""
    cols = [c for c in rows.columns if c.startswith(prefix)]
    if not cols or rows.empty:
        return pd.DataFrame(columns=["comment_id", "segment", "value"])
    long = rows[["comment_id", *cols]].melt(id_vars="comment_id", var_name="segment")
    long["segment"] = long["segment"].str.slice(len(prefix))
    long = long[long["value"].notna() & (long["value"] != "")]
    return long.reset_index(drop=True)


def combine(old: pd.DataFrame, new: pd.DataFrame, replaced_ids: set[str]) -> pd.DataFrame:
    """The corpus after a run: old rows of comments not replaced, then this run's rows."""
    if old is None or old.empty:
        return new.reset_index(drop=True)
    kept = old[~old["comment_id"].isin(replaced_ids)]
    if new.empty:
        return kept.reset_index(drop=True)
    return pd.concat([kept, new], ignore_index=True)


def analysed(comments: pd.DataFrame) -> pd.DataFrame:
    """The documents we analyse: survey comments and participant turns in a supported language."""
    mask = comments["kind"].isin(ANALYSED_KINDS) & comments["language"].isin(ANALYSED_LANGUAGES)
    return comments[mask].reset_index(drop=True)
