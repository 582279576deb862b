"""pandera schemas: input rows that fail go to quarantine; output tables that fail stop the run.

Input checks are lazy (every failure of every row is collected) and each failing row gets a
reason. Output checks guard the contract in README "Outputs": a failure is a bug, reported
with table, column, check and count before anything is written.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from nlp.schemas import TABLES

MAX_ID_CHARS = 256
# A comment longer than this is a pasted document or junk, not feedback (and over spaCy's
# per-text limit at 1,000,000): it is quarantined, never silently cut.
MAX_TEXT_CHARS = 100_000

_INPUT_REASONS = {
    ("source_id", "not_nullable"): "missing_id",
    ("source_id", "str_length"): "id_too_long",
    ("text", "str_length"): "text_too_long",
}

INPUT_ROWS = pa.DataFrameSchema(
    {
        "source_id": pa.Column(
            nullable=False, checks=pa.Check.str_length(1, MAX_ID_CHARS), coerce=False
        ),
        "text": pa.Column(
            nullable=True, checks=pa.Check.str_length(0, MAX_TEXT_CHARS), coerce=False
        ),
    },
    strict=False,
)


SCORE_ROWS = pa.DataFrameSchema(
    {"source_id": pa.Column(nullable=False, checks=pa.Check.str_length(1, MAX_ID_CHARS))},
    strict=False,
)


def score_id_failures(scores: pd.DataFrame) -> pd.Index:
    """Index of score rows without a usable id (missing, blank or over-long)."""
    try:
        SCORE_ROWS.validate(
            scores.assign(source_id=scores["source_id"].replace("", None)), lazy=True
        )
    except pa.errors.SchemaErrors as exc:
        return pd.Index(exc.failure_cases["index"].dropna().astype(int).unique())
    return pd.Index([], dtype=int)


def input_failures(rows: pd.DataFrame) -> pd.DataFrame:
    """(index, column, reason) for every input row that fails a check; the first reason wins."""
    try:
        INPUT_ROWS.validate(rows.assign(source_id=rows["source_id"].replace("", None)), lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        out = pd.DataFrame(
            {
                "index": cases["index"].astype(int),
                "column": cases["column"].map({"source_id": "id"}).fillna(cases["column"]),
                "reason": [
                    _INPUT_REASONS.get((col, _check_name(check)), f"invalid_{col}")
                    for col, check in zip(cases["column"], cases["check"], strict=True)
                ],
            }
        )
        return out.drop_duplicates("index").set_index("index")
    return pd.DataFrame(columns=["column", "reason"])


def _check_name(check: object) -> str:
    return str(check).split("(")[0]


def _between(lo: float, hi: float) -> pa.Check:
    return pa.Check.in_range(lo, hi, ignore_na=True)


def _one_of(*values: str) -> pa.Check:
    return pa.Check.isin(list(values), ignore_na=True)


_OUTPUT_CHECKS: dict[str, dict[str, list[pa.Check]]] = {
    "comments": {
        "kind": [_one_of("comment", "transcript_turn", "moderator_turn")],
        "speaker": [pa.Check.str_matches(r"^(MODERATOR|P\d{2,})$", ignore_na=True)],
        "text": [pa.Check.str_length(1, MAX_TEXT_CHARS, ignore_na=True)],
    },
    "sentiment": {
        "label": [_one_of("positive", "neutral", "negative")],
        "score": [_between(-1, 1)],
    },
    "clauses": {"start": [_between(0, MAX_TEXT_CHARS)], "end": [_between(1, MAX_TEXT_CHARS)]},
    "pain_points": {
        "start": [_between(0, MAX_TEXT_CHARS)],
        "end": [_between(1, MAX_TEXT_CHARS)],
        "method": [_one_of("rule", "head", "similarity")],
    },
    "scores": {"score_0_100": [_between(0, 100)]},
    "topic_csat": {"share": [_between(0, 1)], "n": [_between(0, float("inf"))]},
    "pain_point_csat": {"share": [_between(0, 1)], "n": [_between(0, float("inf"))]},
    "driver_gaps": {"n": [_between(0, float("inf"))]},
    "trends": {"share": [_between(0, 1)], "negative_share": [_between(0, 1)]},
    "comment_topics": {"score": [_between(-1.0001, 1.0001)]},
    "run_summary": {
        "status": [_one_of("ok", "degraded", "failed")],
        "score_match_rate": [_between(0, 1)],
        "score_id_match_rate": [_between(0, 1)],
        "unassigned_share": [_between(0, 1)],
        "nps": [_between(-100, 100)],
    },
}
_UNIQUE = {
    "comments": ["comment_id"],
    "sentiment": ["comment_id"],
    "scores": ["comment_id"],
    "comment_topics": ["comment_id", "topic_id"],
    "statements": ["comment_id", "statement_index"],
    "topics": ["topic_id"],
    "run_summary": ["run_id"],
}
_NOT_NULL = {
    "comments": ["comment_id", "kind", "text"],
    "pain_points": ["comment_id", "category"],
    "clauses": ["comment_id"],
    "sentiment": ["comment_id", "label"],
}


def output_schema(table: str) -> pa.DataFrameSchema:
    """Value checks for an output table (dtypes are already fixed by `schemas.conform`)."""
    checks = _OUTPUT_CHECKS.get(table, {})
    not_null = set(_NOT_NULL.get(table, []))
    columns = {
        col: pa.Column(nullable=col not in not_null, checks=checks.get(col, []), coerce=False)
        for col in TABLES[table]
    }
    spans = []
    if table in ("clauses", "pain_points"):
        spans.append(pa.Check(lambda df: df["end"] > df["start"], name="end_after_start"))
    return pa.DataFrameSchema(
        columns, strict=True, unique=_UNIQUE.get(table), checks=spans, ordered=True
    )


class OutputValidationError(ValueError):
    """An output table broke its contract; nothing has been written."""


def validate_outputs(tables: dict[str, pd.DataFrame]) -> None:
    """Check every output table lazily; raise one error listing each failed check."""
    problems = []
    for name, df in tables.items():
        try:
            output_schema(name).validate(df, lazy=True)
        except pa.errors.SchemaErrors as exc:
            summary = exc.failure_cases.groupby(["column", "check"], dropna=False).size()
            problems += [
                f"{name}.{col}: {check} failed for {n} rows" for (col, check), n in summary.items()
            ]
    if problems:
        raise OutputValidationError("output tables break the schema: " + "; ".join(problems))
