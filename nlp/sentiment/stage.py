"""The sentiment stage: the comment labeller that the tagging pass calls for each comment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nlp.sentiment.branch import SentimentBranch
from nlp.sentiment.head import LABELS, CommentLabeller
from nlp.sentiment.selection import SentimentModel, sentiment_method
from nlp.sentiment.statements import (
    StatementRule,
    combined_log_probabilities,
    plan,
    statement_owners,
)


@dataclass(frozen=True)
class CommentSentiment:
    """A labeller for the tagging pass (None: the clause lexicon labels comments), its name and
    how many comments were labelled from their statements."""

    labeller: CommentLabeller | None
    method: str
    from_statements: int = 0


@dataclass(frozen=True)
class StatementOutputs:
    """The branch's outputs on statements: each statement's comment id, hash (the embed stage's
    key: `theme_hash`) and length, and the log-probabilities by hash."""

    comment_ids: Sequence[str]
    hashes: Sequence[str]
    lengths: Sequence[float]
    log_p: dict[str, np.ndarray]


def comment_sentiment(
    *,
    model: SentimentModel,
    text_hashes: Sequence[str],
    embeddings: np.ndarray,
    branch_log_p: dict[str, np.ndarray] | None = None,
    comment_ids: Sequence[str] = (),
    statements: StatementOutputs | None = None,
    rule: StatementRule | None = None,
) -> CommentSentiment:
    """The branch reads the embed stage's log-probabilities (by text hash), the head reads the
    sentence embeddings; without a model (or documents) the lexicon labels comments. With the
    branch and `statements`, the comments (`comment_ids`, aligned with `text_hashes`) that
    `rule` picks (long ones, `nlp.sentiment.statements`) are labelled from their statements
    (and their own output, which the default rule does not read: it may be missing)."""
    labeller, combined = None, 0
    if isinstance(model, SentimentBranch) and len(text_hashes):
        log_p = branch_log_p or {}
        nan = np.full(len(LABELS), np.nan)
        rows = np.stack([log_p.get(h, nan) for h in text_hashes])
        if statements is not None:
            rows, combined = _with_statements(rows, comment_ids, statements, rule)
        missing = {h for h, row in zip(text_hashes, rows, strict=True) if np.isnan(row).any()}
        if missing:
            raise ValueError(f"the embed stage gave no branch output for {len(missing)} texts")
        labeller = model.labeller(rows)
    elif model is not None and len(text_hashes):
        labeller = model.labeller(embeddings)
    return CommentSentiment(labeller, sentiment_method(model), combined)


def _with_statements(
    log_p: np.ndarray,
    comment_ids: Sequence[str],
    statements: StatementOutputs,
    rule: StatementRule | None,
) -> tuple[np.ndarray, int]:
    """The comments' rows with the rule's comments labelled from their statements (a
    comment's own row may then be missing, NaN, when the rule does not read it)."""
    if len(comment_ids) != len(log_p):
        raise ValueError(f"{len(comment_ids)} comment ids for {len(log_p)} comments")
    chosen = plan(comment_ids, list(statements.comment_ids), list(statements.lengths), rule)
    rows = chosen.statement_rows
    hashes = [statements.hashes[j] for j in rows]
    missing = {h for h in hashes if h not in statements.log_p}
    if missing:
        raise ValueError(f"the embed stage gave no branch output for {len(missing)} statements")
    _, owners = statement_owners(comment_ids, [statements.comment_ids[j] for j in rows])
    statement_log_p = np.stack([statements.log_p[h] for h in hashes]) if hashes else log_p[:0]
    lengths = [statements.lengths[j] for j in rows]
    out, combined = combined_log_probabilities(log_p, owners, statement_log_p, lengths, rule)
    return out, int(combined.sum())
