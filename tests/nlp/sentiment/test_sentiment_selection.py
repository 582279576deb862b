"""Which comment-sentiment model applies (nlp.sentiment.selection) and the stage's labeller."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.sentiment.head import CommentLabeller
from nlp.sentiment.selection import branch_problem, head_problem, sentiment_method
from nlp.sentiment.stage import comment_sentiment

SPACE = "space-a"


def test_selection_branch_problem_explains_each_reason_in_order():
    meta = {"encoder": SPACE, "from_layer": 2}
    assert branch_problem(None, True, SPACE, 2) == "not found"
    assert "no token states" in branch_problem(meta, False, SPACE, 2)
    assert "retrain it" in branch_problem(meta, True, "space-b", 2)
    assert "layer 3" in branch_problem(meta, True, SPACE, 3)
    assert branch_problem(meta, True, SPACE, 2) is None


def test_selection_head_problem_refuses_another_space():
    assert head_problem(None, SPACE) == "not found"
    assert "not space-a" in head_problem({"encoder": "space-b"}, SPACE)
    assert head_problem({"encoder": SPACE}, SPACE) is None


class _Head:
    """A stand-in with the heads' `labeller` interface: it records what it was given."""

    def labeller(self, rows: np.ndarray) -> CommentLabeller:
        self.rows = rows
        return CommentLabeller(np.log(np.full((len(rows), 3), 1 / 3)))


def test_sentiment_stage_head_reads_embeddings_and_lexicon_without_model():
    head = _Head()
    embeddings = np.eye(2, dtype=np.float32)
    got = comment_sentiment(model=head, text_hashes=["a", "b"], embeddings=embeddings)
    assert got.method == "head" and isinstance(got.labeller, CommentLabeller)
    np.testing.assert_array_equal(head.rows, embeddings)
    none = comment_sentiment(model=None, text_hashes=["a"], embeddings=embeddings[:1])
    assert none.labeller is None and none.method == "VADER" == sentiment_method(None)


def test_sentiment_stage_branch_needs_an_output_for_every_text(monkeypatch):
    from nlp.sentiment import stage

    monkeypatch.setattr(stage, "SentimentBranch", _Head)
    branch = _Head()
    log_p = {"a": np.zeros(3), "b": np.ones(3)}
    got = comment_sentiment(
        model=branch, text_hashes=["b", "a"], embeddings=np.zeros((2, 4)), branch_log_p=log_p
    )
    np.testing.assert_array_equal(branch.rows, np.stack([log_p["b"], log_p["a"]]))
    assert got.labeller is not None
    with pytest.raises(ValueError, match="no branch output for 1 texts"):
        comment_sentiment(
            model=branch, text_hashes=["a", "c"], embeddings=np.zeros((2, 4)), branch_log_p=log_p
        )
