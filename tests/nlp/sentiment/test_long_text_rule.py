"""A long comment's label from its statements (nlp.sentiment.statements) and the stage's use."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.sentiment.head import LABELS, CommentLabeller
from nlp.sentiment.stage import StatementOutputs, comment_sentiment
from nlp.sentiment.statements import StatementRule, combined_log_probabilities, plan

NEG, NEU, POS = (
    np.log(np.array(p)) for p in ([0.9, 0.07, 0.03], [0.1, 0.8, 0.1], [0.03, 0.07, 0.9])
)


def _label(row: np.ndarray) -> str:
    return LABELS[int(row.argmax())]


def test_long_comment_of_mostly_negative_statements_after_a_positive_opening_is_negative():
    # The shipped rule. Comment 0: the comment-level output read the glowing opening
    # (positive); its statements: that opening, then four complaints. Comment 1: two long
    # statements only, below the gate: unchanged.
    comment = np.stack([POS, POS])
    owners = np.array([0, 0, 0, 0, 0, 1, 1])
    statements = np.stack([POS, NEG, NEG, NEU, NEG, NEG, NEG])
    lengths = [120, 110, 100, 60, 120, 300, 300]
    out, combined = combined_log_probabilities(comment, owners, statements, lengths)
    assert _label(out[0]) == "negative"
    assert combined.tolist() == [True, False]
    np.testing.assert_array_equal(out[1], comment[1])  # fewer statements: exactly as before
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0)


def test_length_weighting_and_neutral_bias_move_a_balanced_comment():
    comment = np.stack([NEU])
    owners = np.zeros(3, dtype=int)
    statements = np.stack([POS, NEG, NEG])
    long_praise = [300, 20, 20]
    kw = {"min_statements": 2, "min_chars": 0, "weight": 1.0, "neutral_bias": 0.0}
    by_length = StatementRule(**kw, by_length=True)
    uniform = StatementRule(**kw, by_length=False)
    assert (
        _label(
            combined_log_probabilities(comment, owners, statements, long_praise, by_length)[0][0]
        )
        == "positive"
    )
    assert (
        _label(combined_log_probabilities(comment, owners, statements, long_praise, uniform)[0][0])
        == "negative"
    )
    mixed = StatementRule(min_statements=2, min_chars=0, weight=1.0, neutral_bias=3.0)
    assert (
        _label(combined_log_probabilities(comment, owners, statements, [1, 1, 1], mixed)[0][0])
        == "neutral"
    )


def test_rule_refuses_bad_parameters_and_owners():
    with pytest.raises(ValueError, match="weight"):
        StatementRule(weight=1.5)
    with pytest.raises(ValueError, match="min_statements"):
        StatementRule(min_statements=1)
    with pytest.raises(ValueError, match="owners"):
        combined_log_probabilities(np.stack([NEU]), np.array([1]), np.stack([NEG]), [1])


def test_plan_scores_the_statements_of_the_combined_comments_of_this_run():
    ids = ["a", "a", "a", "b", "b", "c", "c", "c", "d", "d", "d"]
    lengths = [50, 50, 50, 80, 80, 50, 50, 50, 5, 5, 5]
    got = plan(["a", "b", "d"], ids, lengths, StatementRule(min_statements=3, min_chars=100))
    # b has two statements, d's are too short in all, c is not labelled this run
    assert got.combined.tolist() == [True, False, False]
    assert got.statement_rows.tolist() == [0, 1, 2]


def test_default_rule_needs_no_comment_level_output_for_combined_comments():
    rule = StatementRule()
    assert not rule.reads_comment and StatementRule(weight=0.5).reads_comment
    comment = np.stack([np.full(3, np.nan), POS])
    owners = np.array([0, 0, 0, 1])
    statements = np.stack([NEG, NEG, POS, NEG])
    lengths = [200, 200, 200, 10]
    out, combined = combined_log_probabilities(comment, owners, statements, lengths, rule)
    assert combined.tolist() == [True, False] and _label(out[0]) == "negative"
    np.testing.assert_array_equal(out[1], POS)


class _Branch:
    def labeller(self, rows: np.ndarray) -> CommentLabeller:
        self.rows = rows
        return CommentLabeller(rows)


def test_sentiment_stage_labels_long_comments_from_their_statements(monkeypatch):
    from nlp.sentiment import stage

    monkeypatch.setattr(stage, "SentimentBranch", _Branch)
    branch = _Branch()
    statements = StatementOutputs(
        comment_ids=["x", "long", "long", "long", "long", "short", "short"],
        hashes=["s0", "s1", "s2", "s3", "s4", "s5", "s6"],
        lengths=[10, 150, 150, 150, 150, 10, 10],
        log_p={"s1": POS, "s2": NEG, "s3": NEG, "s4": NEG},  # x is not labelled this run
    )
    # the default rule reads no comment-level output for "long": the embed stage gives none
    got = comment_sentiment(
        model=branch,
        text_hashes=["h-long", "h-short"],
        embeddings=np.zeros((2, 4)),
        branch_log_p={"h-short": POS},
        comment_ids=["long", "short"],
        statements=statements,
    )
    assert got.from_statements == 1
    assert got.labeller(0, "", [], [])[0] == "negative"
    assert got.labeller(1, "", [], [])[0] == "positive"
    missing = StatementOutputs(["long"] * 3, ["s1", "s2", "s9"], [200] * 3, statements.log_p)
    with pytest.raises(ValueError, match="no branch output for 1 statements"):
        comment_sentiment(
            model=branch,
            text_hashes=["h-long"],
            embeddings=np.zeros((1, 4)),
            branch_log_p={"h-long": POS},
            comment_ids=["long"],
            statements=missing,
        )
    with pytest.raises(ValueError, match="no branch output for 1 texts"):
        comment_sentiment(
            model=branch,
            text_hashes=["h-long", "h-short"],
            embeddings=np.zeros((2, 4)),
            branch_log_p={"h-long": POS},
            comment_ids=["long", "short"],
            statements=statements,
        )
