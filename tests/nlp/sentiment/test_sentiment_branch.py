"""The sentiment branch: fine-tuned top layers over the encoder's intermediate token states."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models import shipped_model
from nlp.sentiment.branch import (
    SentimentBranch,
    TrainingSettings,
    _module,
    branch_log_probabilities,
    train_branch,
)
from nlp.sentiment.clauses import CLAUSE_FEATURES
from nlp.sentiment.head import LABELS, Stack

pytestmark = pytest.mark.slow  # trains and runs small torch modules

TINY = {
    "hidden_size": 16,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


def _states(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """Token states whose class shows in a shifted direction on a few tokens."""
    rng = np.random.default_rng(seed)
    states, labels = [], []
    for i in range(n):
        k = i % 3
        s = rng.normal(0, 1, (int(rng.integers(3, 9)), 16)).astype(np.float32)
        s[:2, k] += 3.0
        states.append(s)
        labels.append(LABELS[k])
    return states, labels


@pytest.fixture(scope="module")
def trained():
    import torch

    torch.manual_seed(0)
    base = _module(TINY, 2).layers
    states, labels = _states(240)
    branch = train_branch(
        states,
        labels,
        base_layers=list(base),
        bert_config=TINY,
        encoder="enc-x",
        from_layer=3,
        settings=TrainingSettings(epochs=6, learning_rate=3e-3, batch_size=16),
        validation=_states(60, seed=1),
        log=lambda _: None,
    )
    return branch


def test_branch_learns_and_round_trips_through_safetensors(trained, tmp_path):
    states, labels = _states(60, seed=2)
    log_p = branch_log_probabilities(trained, states)
    assert np.mean(np.array(LABELS)[log_p.argmax(1)] == np.array(labels)) >= 0.8  # chance: 1/3
    np.testing.assert_allclose(np.exp(log_p).sum(1), 1.0, atol=1e-6)
    assert trained.metadata["validation_macro_f1_by_epoch"][-1] >= 0.8
    out = trained.save(tmp_path / "branch")
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["fingerprint"] and meta["from_layer"] == 3 and meta["encoder"] == "enc-x"
    again = SentimentBranch.load(out, "enc-x", 3)
    # layer weights are stored as float16: the same labels, probabilities within rounding
    np.testing.assert_allclose(branch_log_probabilities(again, states), log_p, atol=0.05)
    assert (branch_log_probabilities(again, states).argmax(1) == log_p.argmax(1)).mean() > 0.95
    assert again.cache_key == f"sentiment-branch-{meta['fingerprint']}"


def test_branch_refuses_other_encoder_other_layer_and_pickle(trained, tmp_path):
    out = trained.save(tmp_path / "branch")
    with pytest.raises(ValueError, match="enc-x"):
        SentimentBranch.load(out, "enc-y", 3)
    with pytest.raises(ValueError, match="layer 3 states"):
        SentimentBranch.load(out, "enc-x", 4)
    (out / "model.pkl").write_bytes(b"not loaded")
    with pytest.raises(ValueError, match="pickle"):
        SentimentBranch.load(out, "enc-x", 3)


def test_onnx_branch_gives_the_torch_branch_outputs_and_int8_its_labels(trained, tmp_path):
    states, _ = _states(60, seed=3)
    expected = branch_log_probabilities(trained, states)
    try:
        model = trained.use_onnx(tmp_path / "cache", int8=False)
        assert model.name == "branch.onnx" and model.parent.name == trained.cache_key
        np.testing.assert_allclose(branch_log_probabilities(trained, states), expected, atol=1e-4)
        model = trained.use_onnx(tmp_path / "cache")  # the pipeline's default: int8 weights
        assert model.name == "branch.int8.onnx" and (model.parent / "branch.onnx").exists()
        import onnx

        ops = {node.op_type for node in onnx.load(str(model)).graph.node}
        assert "MatMulInteger" in ops  # weight MatMuls run in int8 (attention scores stay fp32)
        quantized = branch_log_probabilities(trained, states)
        assert (quantized.argmax(1) == expected.argmax(1)).mean() >= 0.95
        # int8 moves a toy branch's log-probabilities (onnxruntime 1.32: 19 of 180 values by
        # over 0.25, at most 0.56); the labels are what the pipeline uses, the typical shift small
        assert np.abs(quantized - expected).mean() < 0.1
    finally:
        trained.session = None


def test_loaded_branch_builds_its_torch_module_only_when_an_export_needs_it(trained, tmp_path):
    from nlp.sentiment.branch import _Deferred

    out = trained.save(tmp_path / "branch")
    states, _ = _states(30, seed=4)
    first = SentimentBranch.load(out, "enc-x", 3)
    assert isinstance(first.module, _Deferred)  # nothing built at load
    first.use_onnx(tmp_path / "cache")  # no export yet: the module is built and exported
    assert not isinstance(first.module, _Deferred)
    again = SentimentBranch.load(out, "enc-x", 3)
    again.use_onnx(tmp_path / "cache")  # the cached export: no torch module, no transformers
    assert isinstance(again.module, _Deferred)
    expected = branch_log_probabilities(first, states)
    np.testing.assert_allclose(branch_log_probabilities(again, states), expected, atol=1e-9)
    again.session = None  # the torch path builds it on first use
    torch_p = branch_log_probabilities(again, states)
    assert not isinstance(again.module, _Deferred)
    assert (torch_p.argmax(1) == expected.argmax(1)).mean() >= 0.9


def test_collector_averages_a_texts_chunks_and_renormalises(trained):
    states, _ = _states(3, seed=4)
    collector = trained.collector()
    for key, s in zip(["a", "a", "b"], states, strict=True):
        collector(np.array([key], dtype=object), s[None], np.ones((1, len(s)), dtype=np.int64))
    one = [branch_log_probabilities(trained, [s])[0] for s in states]
    got = collector.log_probabilities(["b", "a"])
    np.testing.assert_allclose(got[0], one[2], atol=1e-6)
    mean = (one[0] + one[1]) / 2
    np.testing.assert_allclose(got[1], mean - np.logaddexp.reduce(mean), atol=1e-6)
    with pytest.raises(ValueError, match="no token states"):
        collector.log_probabilities(["c"])


def test_branch_with_a_stack_labels_comments_like_predict(trained, monkeypatch):
    import nlp.sentiment.head as head_module

    rng = np.random.default_rng(5)
    states, labels = _states(90, seed=5)
    log_p = branch_log_probabilities(trained, states)
    features = rng.normal(0, 1, (90, len(CLAUSE_FEATURES)))
    monkeypatch.setattr(trained, "stack", Stack.fit(log_p, features, labels))
    expected, scores = trained.predict(log_p, features)
    labeller = trained.labeller(log_p)
    for i in range(10):
        # the labeller computes each comment's clause features itself: hand it row i's
        monkeypatch.setattr(head_module, "clause_features", lambda *_a, f=features[i]: f)
        label, score = labeller(i, "", [], [])
        assert label == expected[i] and score == pytest.approx(scores[i], abs=1e-6)


@pytest.mark.slow
def test_shipped_branch_reads_praise_complaints_negation_and_shares_torch_states(tmp_path):
    from nlp import embedding

    texts = [
        "The staff were lovely and very kind.",
        "I waited four hours and nobody told me anything.",
        "Not bad at all, the nurse was great.",
        "The receptionist was not helpful and the wait was not acceptable.",
    ]
    branch = SentimentBranch.load(
        shipped_model("sentiment_branch"), embedding.SPACE_IDS["minilm"], embedding.STATE_LAYER
    )
    results = {}
    for name in ("minilm-onnx", "minilm"):
        encoder = embedding.load_encoder(name, cache_dir=tmp_path)
        collector = branch.collector()
        embedding.embed_texts(encoder, texts, states_hook=collector)
        results[name] = collector.log_probabilities(range(len(texts)))
    labels = [LABELS[i] for i in results["minilm-onnx"].argmax(1)]
    assert labels == ["positive", "negative", "positive", "negative"]
    # torch MiniLM's layer-2 states are the ONNX export's: same branch outputs
    np.testing.assert_allclose(results["minilm"], results["minilm-onnx"], atol=1e-3)
