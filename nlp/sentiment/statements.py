"""A long comment's sentiment from its statements (issue #16).

The branch reads a comment's token states once; a long review ends up as one mean over its
windows, and a review that opens with praise and then lists complaints reads as its opening.
The comment's statements (`nlp.themes.statements`: sentences, long ones split at contrastive
clauses) are encoded anyway for themes; the branch also runs on their states (the same pass,
cached by statement hash), and a comment with `StatementRule.min_statements` statements or more
and `StatementRule.min_chars` characters in them is labelled by

    p_statements = sum_i a_i p_i / sum_i a_i      (a_i = 1, or the statement's length)
    log p = (1 - w) log p_comment + w log p_statements + b [neutral]      (log-linear)
    log p = log((1 - w) p_comment + w p_statements) + b [neutral]         (`linear`)

renormalised: the mean of its statements' probabilities mixed with the comment's own output,
with a bias `b` on the neutral class (a review of praise and complaints is mixed: the weak
class). Shorter comments keep the comment's output exactly. The default, chosen in
bench/long_text_sentiment.py (bench/results/long_text_sentiment.md) on app reviews and
TweetEval, is w = 1: such a comment is labelled from its statements alone, so the run skips the
branch on the comment itself (`reads_comment`) and the cost per comment stays today's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NEUTRAL = 1  # index of "neutral" in nlp.sentiment.head.LABELS


@dataclass(frozen=True)
class StatementRule:
    """Which comments are labelled from their statements, and how (defaults: the measured
    choice, bench/results/long_text_sentiment.md)."""

    min_statements: int = 3  # comments with fewer keep the comment-level output
    min_chars: int = 400  # so do comments whose statements have fewer characters in all
    weight: float = 1.0  # of the statements' mean against the comment's own output
    neutral_bias: float = 0.5  # added to the neutral log-probability of combined comments
    by_length: bool = False  # weigh statements by their length (else equally)
    linear: bool = False  # mix probabilities (else log-probabilities)

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"weight must be in [0, 1], got {self.weight}")
        if self.min_statements < 2:
            raise ValueError(f"min_statements must be at least 2, got {self.min_statements}")

    @property
    def reads_comment(self) -> bool:
        """Whether a combined comment's label needs its own (comment-level) output."""
        return self.weight < 1.0


def combined_mask(
    n: int, owners: np.ndarray, lengths: Sequence[float], rule: StatementRule
) -> np.ndarray:
    """Which of `n` comments the rule labels from their statements (statement j belongs to
    comment `owners[j]` and has `lengths[j]` characters)."""
    owners = np.asarray(owners, dtype=np.int64)
    if len(owners) and (owners.min() < 0 or owners.max() >= n):
        raise ValueError(f"statement owners must index the {n} comments")
    chars = np.bincount(owners, weights=np.asarray(lengths, dtype=np.float64), minlength=n)
    return (np.bincount(owners, minlength=n) >= rule.min_statements) & (chars >= rule.min_chars)


def combined_log_probabilities(
    comment_log_p: np.ndarray,
    owners: np.ndarray,
    statement_log_p: np.ndarray,
    lengths: Sequence[float],
    rule: StatementRule | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(log-probabilities per comment, which comments were combined).

    `comment_log_p` is (n, 3) in LABELS order (a combined comment's row may be NaN when the
    rule does not read it); statement row j belongs to comment `owners[j]` (0..n-1), with
    log-probabilities `statement_log_p[j]` and `lengths[j]` characters. The comments the rule
    does not combine keep their row exactly."""
    rule = rule or StatementRule()
    out = np.array(comment_log_p, dtype=np.float64)
    owners = np.asarray(owners, dtype=np.int64)
    combined = combined_mask(len(out), owners, lengths, rule)
    if not combined.any():
        return out, combined
    statement_p = np.exp(np.asarray(statement_log_p, dtype=np.float64).reshape(len(owners), -1))
    a = np.asarray(lengths, dtype=np.float64) if rule.by_length else np.ones(len(owners))
    a = np.clip(a, 1e-9, None)
    sums = np.zeros_like(out)
    np.add.at(sums, owners, a[:, None] * statement_p)
    rows = np.flatnonzero(combined)
    mean = sums[rows] / np.bincount(owners, weights=a, minlength=len(out))[rows, None]
    if not rule.reads_comment:
        mixed = np.log(np.clip(mean, 1e-9, None))
    elif rule.linear:
        mixed = (1.0 - rule.weight) * np.exp(out[rows]) + rule.weight * mean
        mixed = np.log(np.clip(mixed, 1e-9, None))
    else:
        mixed = (1.0 - rule.weight) * out[rows] + rule.weight * np.log(np.clip(mean, 1e-9, None))
    mixed[:, NEUTRAL] += rule.neutral_bias
    out[rows] = mixed - np.logaddexp.reduce(mixed, axis=1, keepdims=True)
    return out, combined


def statement_owners(
    comment_ids: Sequence[str], statement_comment_ids: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(the rows of `statement_comment_ids` that belong to one of `comment_ids`, their comment
    rows): statements of other comments are left out."""
    index = {cid: i for i, cid in enumerate(comment_ids)}
    owners = np.array([index.get(cid, -1) for cid in statement_comment_ids], dtype=np.int64)
    rows = np.flatnonzero(owners >= 0)
    return rows, owners[rows]


@dataclass(frozen=True)
class Plan:
    """What the embed stage runs the branch on for the comments a run labels: the comments
    labelled from their statements and the statement rows it must score for them."""

    combined: np.ndarray  # bool per comment
    statement_rows: np.ndarray  # rows of the statements given to `plan`


def plan(
    comment_ids: Sequence[str],
    statement_comment_ids: Sequence[str],
    lengths: Sequence[float],
    rule: StatementRule | None = None,
) -> Plan:
    """The comments of `comment_ids` (those a run labels) the rule labels from their statements
    (`statement_comment_ids`, `lengths`: the corpus's statements) and those statements' rows."""
    rule = rule or StatementRule()
    rows, owners = statement_owners(comment_ids, statement_comment_ids)
    length = np.asarray(lengths, dtype=np.float64)[rows]
    combined = combined_mask(len(comment_ids), owners, length, rule)
    return Plan(combined, rows[combined[owners]])
