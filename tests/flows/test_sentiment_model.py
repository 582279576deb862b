"""Which comment sentiment model a run uses: the branch, else the head (flows.tasks, the
files on disk; the rules themselves are fast tests in tests/nlp/sentiment)."""

from __future__ import annotations

import json
import shutil

import pytest

from models import shipped_model

pytestmark = pytest.mark.slow  # imports Prefect through flows.tasks


def test_sentiment_model_branch_problem_names_a_missing_branch_and_stateless_encoder(tmp_path):
    from flows.tasks import branch_problem

    assert branch_problem(tmp_path / "none", object(), "space") == "not found"
    assert "no token states" in branch_problem(shipped_model("sentiment_branch"), object(), "space")


def test_sentiment_model_branch_of_another_layer_or_space_is_not_used(tmp_path):
    from flows.tasks import branch_problem
    from nlp import embedding

    encoder = embedding.load_encoder("minilm-onnx", cache_dir=tmp_path / "encoders")
    assert (
        branch_problem(shipped_model("sentiment_branch"), encoder, embedding.SPACE_IDS["minilm"])
        is None
    )
    assert "retrain it" in branch_problem(
        shipped_model("sentiment_branch"), encoder, "another-space"
    )
    other = tmp_path / "branch"
    shutil.copytree(shipped_model("sentiment_branch"), other)
    meta = json.loads((other / "metadata.json").read_text())
    meta["from_layer"] = embedding.STATE_LAYER + 1
    (other / "metadata.json").write_text(json.dumps(meta))
    problem = branch_problem(other, encoder, embedding.SPACE_IDS["minilm"])
    assert f"layer {embedding.STATE_LAYER + 1} states" in problem
