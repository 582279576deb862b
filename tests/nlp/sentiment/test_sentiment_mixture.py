from __future__ import annotations

import numpy as np
import pytest

from nlp.sentiment.head import CommentLabeller
from nlp.sentiment.mixture import mixed_log_probabilities


def _log(p):
    return np.log(np.asarray(p, dtype=np.float64))


def test_mixture_log_probabilities_are_normalised_and_weighted():
    branch = _log([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    head = np.array([[0.1, 0.2, 0.7], [0.1, 0.3, 0.6]])
    mixed = mixed_log_probabilities(branch, head, 0.5)
    assert np.allclose(np.exp(mixed).sum(axis=1), 1.0)
    # equal weights: the two disagreeing extremes cancel, the neutral columns stay equal
    assert np.isclose(mixed[0, 0], mixed[0, 2])
    # where both agree the mix is the same distribution
    assert np.allclose(np.exp(mixed[1]), head[1])
    assert np.allclose(mixed_log_probabilities(branch, head, 0.0), branch)
    assert np.allclose(np.exp(mixed_log_probabilities(branch, head, 1.0)), head)


def test_mixture_feeds_the_comment_labeller():
    branch = _log([[0.6, 0.3, 0.1]])
    head = np.array([[0.05, 0.15, 0.8]])
    leaning_head = CommentLabeller(mixed_log_probabilities(branch, head, 0.7))
    label, score = leaning_head(0, "text", [], [])
    assert label == "positive" and 0 < score <= 1
    leaning_branch = CommentLabeller(mixed_log_probabilities(branch, head, 0.2))
    assert leaning_branch(0, "text", [], [])[0] == "negative"


def test_mixture_refuses_mismatched_shapes_and_weights():
    with pytest.raises(ValueError, match="same"):
        mixed_log_probabilities(np.zeros((2, 3)), np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match="head_weight"):
        mixed_log_probabilities(np.zeros((1, 3)), np.full((1, 3), 1 / 3), 1.5)
