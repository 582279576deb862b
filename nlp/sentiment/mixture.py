"""The sentiment branch mixed with a regression head trained on several domains (issue #16).

The branch (MiniLM layers 3-6 fine-tuned on NHS comments only) reads a comment closely but has
learnt NHS's idea of sentiment; a regression head on the shared embedding trained on NHS,
TweetEval and app reviews reads less but has seen other kinds of text. Their log-linear mix,
log p = (1 - w) log p_branch + w log p_head renormalised, kept the branch's NHS hold-out and
scored a little better on left-out domains (bench/sentiment_lodo.py,
bench/results/sentiment_lodo.md). The head adds one (384 x 3) product per comment.
"""

from __future__ import annotations

import numpy as np

HEAD_WEIGHT = 0.5  # chosen by mean leave-one-domain-out macro-F1 among 0.3, 0.5, 0.7


def mixed_log_probabilities(
    branch_log_p: np.ndarray, head_p: np.ndarray, head_weight: float = HEAD_WEIGHT
) -> np.ndarray:
    """Rows of normalised log-probabilities (LABELS order) of the branch's log-probabilities
    mixed with the head's probabilities (`SentimentHead.embedding_probabilities`), the head
    weighing `head_weight`; the result can go to `CommentLabeller(log_p)`."""
    if branch_log_p.shape != head_p.shape or branch_log_p.ndim != 2:
        raise ValueError(
            f"branch and head outputs must be the same (n, 3) shape, got {branch_log_p.shape} "
            f"and {head_p.shape}"
        )
    if not 0.0 <= head_weight <= 1.0:
        raise ValueError(f"head_weight must be in [0, 1], got {head_weight}")
    mixed = (1.0 - head_weight) * branch_log_p + head_weight * np.log(np.clip(head_p, 1e-6, None))
    return mixed - np.logaddexp.reduce(mixed, axis=1, keepdims=True)
