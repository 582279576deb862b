"""Which comment sentiment model a run uses: the branch, else the head (flows.tasks)."""

from __future__ import annotations

import json
import shutil

import pytest

from flows.tasks import branch_problem
from nlp.sentiment_branch import BRANCH_DIR


def test_sentiment_model_branch_problem_names_a_missing_branch_and_stateless_encoder(tmp_path):
    assert branch_problem(tmp_path / "none", object(), "space") == "not found"
    assert "no token states" in branch_problem(BRANCH_DIR, object(), "space")


@pytest.mark.slow
def test_sentiment_model_branch_of_another_layer_or_space_is_not_used(tmp_path):
    from nlp import embedding

    encoder = embedding.load_encoder("minilm-onnx")
    assert branch_problem(BRANCH_DIR, encoder, embedding.MODEL_ID) is None
    assert "retrain it" in branch_problem(BRANCH_DIR, encoder, "another-space")
    other = tmp_path / "branch"
    shutil.copytree(BRANCH_DIR, other)
    meta = json.loads((other / "metadata.json").read_text())
    meta["from_layer"] = embedding.STATE_LAYER + 1
    (other / "metadata.json").write_text(json.dumps(meta))
    problem = branch_problem(other, encoder, embedding.MODEL_ID)
    assert f"layer {embedding.STATE_LAYER + 1} states" in problem
