"""Clean stage: triage every input row, then redact, hash and identify the language of the rows
the ingest ledger has not seen, and build this run's comments, segments, quarantine and ledger."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from spacy.language import Language

from nlp.ingest import cleaning, corpus, pii
from nlp.schemas import TABLES, conform


@dataclass
class CleanedRows:
    """This run's new or changed rows: kept (the `comments` table) and quarantined."""

    comments: pd.DataFrame
    segments: pd.DataFrame  # comment_segments of the kept rows
    quarantine: pd.DataFrame
    ledger: pd.DataFrame
    quarantined_ids: pd.Series  # every quarantined input id, seen or not (for the score join)
    rows_unchanged: int


def cleaned_rows(
    *, rows: pd.DataFrame, ledger: pd.DataFrame, nlp: Language, run_id: str
) -> CleanedRows:
    """Triage every row; then, for rows the ledger has not seen, redact PII (before any
    embedding), hash and identify the language. Seen rows are skipped: already processed."""
    kept, quarantine = cleaning.triage_comments(corpus.with_optional_columns(rows))
    kept["near_duplicate_of"] = cleaning.near_duplicate_of(kept["text"], kept["comment_id"])
    new_kept = kept[corpus.unseen(kept, ledger)].reset_index(drop=True)
    new_quarantine = quarantine[corpus.unseen(quarantine, ledger)].reset_index(drop=True)
    _redact(new_kept, nlp)
    new_kept["text_hash"] = new_kept["text"].map(cleaning.text_hash)
    new_kept["language"] = new_kept["text"].map(cleaning.detect_language)
    new_kept["date"] = cleaning.parse_dates(new_kept["date"])
    new_kept["run_id"] = run_id
    new_quarantine["run_id"] = run_id
    entries = pd.concat(
        [
            corpus.ledger_entries(new_kept, "kept", run_id),
            corpus.ledger_entries(new_quarantine, "quarantined", run_id),
        ],
        ignore_index=True,
    )
    return CleanedRows(
        comments=conform(_columns_of(new_kept, "comments"), "comments"),
        segments=conform(corpus.segment_rows(new_kept, corpus.SEGMENT_PREFIX), "comment_segments"),
        quarantine=conform(_columns_of(new_quarantine, "quarantine"), "quarantine"),
        ledger=conform(entries, "ingest_ledger"),
        quarantined_ids=quarantine["source_id"],
        rows_unchanged=len(rows) - len(new_kept) - len(new_quarantine),
    )


def _redact(kept: pd.DataFrame, nlp: Language) -> None:
    """Replace `text` and `prompt` by their redacted versions; count redactions per text."""
    prompts = kept["prompt"].map(cleaning.normalise_text)
    texts, counts, redacted = pii.redact_texts_and_prompts(
        kept["text"].tolist(), prompts.tolist(), nlp
    )
    kept["text"] = texts
    kept["pii_redactions"] = counts
    kept["prompt"] = pd.Series(redacted, dtype="string").to_numpy()


def _columns_of(df: pd.DataFrame, table: str) -> pd.DataFrame:
    return df[[c for c in df.columns if c in TABLES[table]]]
