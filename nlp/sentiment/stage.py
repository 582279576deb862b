"""The sentiment stage: the comment labeller that the tagging pass calls for each comment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nlp.sentiment.branch import SentimentBranch
from nlp.sentiment.head import CommentLabeller
from nlp.sentiment.selection import SentimentModel, sentiment_method


@dataclass(frozen=True)
class CommentSentiment:
    """A labeller for the tagging pass (None: the clause lexicon labels comments) and its name."""

    labeller: CommentLabeller | None
    method: str


def comment_sentiment(
    *,
    model: SentimentModel,
    text_hashes: Sequence[str],
    embeddings: np.ndarray,
    branch_log_p: dict[str, np.ndarray] | None = None,
) -> CommentSentiment:
    """The branch reads the embed stage's log-probabilities (by text hash), the head reads the
    sentence embeddings; without a model (or documents) the lexicon labels comments."""
    labeller = None
    if isinstance(model, SentimentBranch) and len(text_hashes):
        log_p = branch_log_p or {}
        missing = set(text_hashes) - set(log_p)
        if missing:
            raise ValueError(f"the embed stage gave no branch output for {len(missing)} texts")
        labeller = model.labeller(np.stack([log_p[h] for h in text_hashes]))
    elif model is not None and len(text_hashes):
        labeller = model.labeller(embeddings)
    return CommentSentiment(labeller, sentiment_method(model))
