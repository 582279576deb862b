"""Column names and dtypes of every output table (the contract in README.md "Outputs").

Each table is an ordered mapping column -> pandas dtype. `conform` makes a frame match its
table: missing columns are added as nulls, dtypes are cast, extra columns are refused.
"""

from __future__ import annotations

import pandas as pd

STR = "string"
INT = "Int64"
FLOAT = "float64"
BOOL = "boolean"
TS = "datetime64[us, UTC]"

# Score statistics per theme (topic or pain-point category), overall or within a segment.
# impact = mean with the theme - mean without (bootstrap CI); kd_* = key-driver regression
# coefficient (effect net of co-occurring themes); total_impact = impact x share.
_THEME_STATS = {
    "segment": STR,
    "n": INT,
    "share": FLOAT,
    "mean_score": FLOAT,
    "top_box_share": FLOAT,
    "bottom_box_share": FLOAT,
    "impact": FLOAT,
    "impact_ci_low": FLOAT,
    "impact_ci_high": FLOAT,
    "kd_coef": FLOAT,
    "kd_ci_low": FLOAT,
    "kd_ci_high": FLOAT,
    "total_impact": FLOAT,
    "suppressed": BOOL,
}

TABLES: dict[str, dict[str, str]] = {
    "comments": {
        "comment_id": STR,
        "source_id": STR,
        "source": STR,
        "kind": STR,  # comment / transcript_turn / moderator_turn
        "transcript_id": STR,
        "speaker": STR,
        "turn_index": INT,
        "start_time": FLOAT,
        "date": "datetime64[us]",
        "service": STR,
        "text": STR,
        "prompt": STR,
        "text_hash": STR,
        "language": STR,
        "pii_redactions": INT,
        "near_duplicate_of": STR,
        "run_id": STR,
    },
    "quarantine": {
        "source": STR,
        "row_number": INT,
        "source_id": STR,
        "column": STR,
        "reason": STR,
        "run_id": STR,
    },
    "topics": {
        "topic_id": INT,
        "label": STR,
        "top_words": STR,
        "size": INT,
        "status": STR,
        "first_seen_run": STR,
        "last_seen_run": STR,
        "parent_topic_id": INT,
        "representative_ids": STR,
        "guided_name": STR,  # the guided theme (taxonomy category / zero-shot name) it matched
        # two levels: the parent theme this theme is grouped under (its own id space)
        "parent_id": INT,
        "parent_label": STR,
        "name_source": STR,  # phrase / guided / words / analyst (an edit in theme_edits)
    },
    # One row per (comment, theme it contains); a comment none of whose statements has a theme
    # has one row with topic_id null. is_primary marks the theme holding most of the comment's
    # statements (the old one-row-per-comment reading: WHERE is_primary).
    "comment_topics": {
        "comment_id": STR,
        "topic_id": INT,
        "score": FLOAT,
        "statements": INT,  # the comment's statements in this theme
        "share": FLOAT,  # statements / the comment's statements
        "is_primary": BOOL,
    },
    # Statements (sentences; long ones split at contrastive clauses) of every analysed document,
    # with character offsets into comments.text, and the theme each is assigned to.
    "statements": {
        "comment_id": STR,
        "statement_index": INT,
        "start": INT,
        "end": INT,
        "text_hash": STR,
        "topic_id": INT,  # after analyst edits (models/theme_edits.json)
        "score": FLOAT,
        "model_topic_id": INT,  # the model's assignment before edits: what the next run keeps
    },
    "sentiment": {"comment_id": STR, "label": STR, "score": FLOAT},
    "clauses": {
        "comment_id": STR,
        "clause_index": INT,
        "start": INT,
        "end": INT,
        "sentiment_label": STR,
        "sentiment_score": FLOAT,
    },
    "pain_points": {
        "comment_id": STR,
        "clause_index": INT,
        "category": STR,
        "start": INT,
        "end": INT,
        "evidence": STR,
        "score": FLOAT,
        "is_pain_point": BOOL,
        "method": STR,  # rule (span match) / head (supervised head) / similarity (embedding)
    },
    "scores": {
        "comment_id": STR,
        "source_id": STR,
        "score_raw": FLOAT,
        "score_0_100": FLOAT,
        "top_box": BOOL,
        "bottom_box": BOOL,
    },
    # The current state (a snapshot): survey comments of the corpus with no usable score, and
    # this run's score rows that gave none; run_id = the run that wrote the snapshot.
    "unmatched_scores": {"side": STR, "source_id": STR, "reason": STR, "run_id": STR},
    "ingest_ledger": {"comment_id": STR, "row_hash": STR, "status": STR, "run_id": STR},
    "comment_segments": {"comment_id": STR, "segment": STR, "value": STR},
    # level: theme (topic_id = topics.topic_id) or parent (topic_id = topics.parent_id)
    "topic_csat": {"topic_id": INT, "label": STR, "level": STR, **_THEME_STATS},
    # The service facet: comments per (theme, service); a theme is never a service.
    "topic_services": {"topic_id": INT, "service": STR, "n": INT, "share": FLOAT},
    "pain_point_csat": {"category": STR, **_THEME_STATS},
    # Where a segment's score on a theme is below the rest of that segment's values.
    "driver_gaps": {
        "theme_type": STR,  # topic / pain_point
        "theme": STR,
        "segment": STR,  # age_band=65+
        "n": INT,
        "mean_score": FLOAT,
        "rest_n": INT,
        "rest_mean_score": FLOAT,
        "gap": FLOAT,
        "gap_ci_low": FLOAT,
        "gap_ci_high": FLOAT,
        "significant_gap": BOOL,
        "suppressed": BOOL,
    },
    "trends": {
        "theme_type": STR,
        "theme": STR,
        "period": "datetime64[us]",  # period start (weeks start on Monday)
        "service": STR,  # `all` = every service
        "n": INT,
        "share": FLOAT,
        "mean_score": FLOAT,
        "negative_share": FLOAT,
        "p_value": FLOAT,
        "emerging": BOOL,
    },
    "run_summary": {
        "run_id": STR,
        "started_at": TS,
        "finished_at": TS,
        "rows_read": INT,
        "rows_new": INT,
        "rows_unchanged": INT,
        "rows_kept": INT,
        "rows_quarantined": INT,
        "moderator_turns": INT,
        "documents_analysed": INT,
        "scores_read": INT,
        "score_match_rate": FLOAT,  # survey comments with a usable score (rating on the scale)
        "score_id_match_rate": FLOAT,  # survey comments with any score row (the id joined)
        "unmatched_comments": INT,
        "unmatched_scores": INT,
        "n_topics": INT,
        "n_parent_topics": INT,
        "statements_analysed": INT,
        "unassigned_share": FLOAT,  # of statements
        "unassigned_comment_share": FLOAT,  # comments none of whose statements has a theme
        "multi_theme_share": FLOAT,  # comments with 2+ themes
        "stability_method": STR,
        "cluster_selection": STR,  # HDBSCAN's: eom, or leaf when one cluster held over 40 %
        "npmi": FLOAT,
        "topic_diversity": FLOAT,
        "stability_ari": FLOAT,
        "largest_topic_share": FLOAT,
        "median_topic_size": FLOAT,
        "nps": FLOAT,
        "emerging_themes": INT,
        "status": STR,
        "status_reason": STR,
        "seconds_ingest": FLOAT,
        "seconds_clean": FLOAT,
        "seconds_embed": FLOAT,
        "seconds_topics": FLOAT,
        "seconds_tag": FLOAT,
        "seconds_csat": FLOAT,
        "seconds_report": FLOAT,
        "seconds_total": FLOAT,
    },
}

# Tables keyed by comment: a run replaces the rows of the comments it processed.
COMMENT_KEYED = (
    "comment_segments",
    "comments",
    "comment_topics",
    "statements",
    "sentiment",
    "clauses",
    "pain_points",
    "scores",
    "ingest_ledger",
)
# Comment-keyed tables that are computed per comment once (not refit every run).
PER_COMMENT = (
    "comment_segments",
    "comments",
    "sentiment",
    "clauses",
    "pain_points",
    "scores",
    "ingest_ledger",
)
# Tables keyed by run: a rerun with the same run id replaces that run's rows.
RUN_KEYED = ("quarantine", "run_summary")
# Tables describing the current state of the corpus: replaced whole on every run.
SNAPSHOT = (
    "topics",
    "topic_csat",
    "topic_services",
    "pain_point_csat",
    "driver_gaps",
    "trends",
    "unmatched_scores",
)


def empty(table: str) -> pd.DataFrame:
    """An empty frame with the table's columns and dtypes."""
    return conform(pd.DataFrame(), table)


def conform(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return `df` with exactly the table's columns, in order, cast to the table's dtypes."""
    spec = TABLES[table]
    extra = set(df.columns) - set(spec)
    if extra:
        raise ValueError(f"table {table!r}: unexpected columns {sorted(extra)}")
    out = pd.DataFrame(index=df.index)
    for col, dtype in spec.items():
        if col in df.columns:
            series = df[col]
        else:
            series = pd.Series([None] * len(df), index=df.index, dtype="object")
        out[col] = _cast(series, dtype)
    return out.reset_index(drop=True)


def _cast(series: pd.Series, dtype: str) -> pd.Series:
    if dtype.startswith("datetime64"):
        tz = "UTC" if "UTC" in dtype else None
        values = pd.to_datetime(series, errors="coerce", utc=tz is not None)
        return values.astype(dtype)
    if dtype == STR:
        return series.astype("object").where(series.notna(), None).astype(STR)
    return series.astype(dtype)
