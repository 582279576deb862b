"""Building the ONNX and model2vec options once into `<cache_dir>/<name>/`: export MiniLM to
ONNX (int8-quantised for `minilm-onnx-int8`) or distill a static model, then reuse it.

Every file is written inside `nlp.storage.atomic_directory` (a temporary directory swapped into
place), so a crash never leaves half a model. The export does not use sentence-transformers'
`backend="onnx"`: that needs `optimum-onnx`, which caps transformers below this project's.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from nlp import storage
from nlp.embedding.protocol import (
    BUILD_FILE,
    ENCODER_IDS,
    MODEL2VEC_PCA_DIMS,
    STATE_LAYER,
    STATES_OUTPUT,
    source_dir,
)

BUILT = ("minilm-onnx", "minilm-onnx-int8", "model2vec")  # the options that need a build
_BUILD_VERSION = 3  # bump when the export recipe changes: stale artefacts are rebuilt


def _fingerprint(source: Path) -> str:
    """A hash of the source model's config and weights: a changed model invalidates builds."""
    h = hashlib.sha256()
    for rel in ("config.json", "tokenizer.json", "modules.json"):
        f = source / rel
        if f.exists():
            h.update(f.read_bytes())
    for weights in sorted(source.glob("*.safetensors")) + sorted(source.glob("*.bin")):
        with weights.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()[:16]


def _is_current(artefact: Path, name: str, fingerprint: str) -> bool:
    try:
        meta = json.loads((artefact / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        meta.get("encoder") == name
        and meta.get("source_fingerprint") == fingerprint
        and meta.get("build_version") == _BUILD_VERSION
    )


def build_encoder(
    name: str, cache_dir: str | Path, path: str | Path | None = None, force: bool = False
) -> tuple[Path, bool]:
    """Export or distill option `name` into `cache_dir/<name>/`; (directory, whether built).

    An existing artefact built from the same source model is reused; a new one is built in a
    temporary directory beside it and swapped into place (`nlp.storage.atomic_directory`).
    """
    if name not in BUILT:
        raise ValueError(f"{name!r} has nothing to build")
    if cache_dir is None:
        raise ValueError(f"building encoder {name!r} needs a cache_dir")
    source = source_dir(path)
    artefact = Path(cache_dir) / name
    fingerprint = _fingerprint(source)
    if not force and _is_current(artefact, name, fingerprint):
        return artefact, False
    with storage.atomic_directory(artefact) as tmp:
        t0 = time.perf_counter()
        info = _distill(source, tmp) if name == "model2vec" else _export_onnx(source, tmp, name)
        meta = {
            "encoder": name,
            "encoder_id": ENCODER_IDS[name],
            "source": str(source),
            "source_fingerprint": fingerprint,
            "build_version": _BUILD_VERSION,
            "build_seconds": round(time.perf_counter() - t0, 2),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **info,
        }
        storage.write_json(tmp / BUILD_FILE, meta)
    return artefact, True


class _DropBuildNoise(logging.Filter):
    """Drops onnxruntime's advice to pre-process before quantising (logged on the root)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence progress bars, deprecation chatter and advice during a one-off build."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    root, noise = logging.getLogger(), _DropBuildNoise()
    root.addFilter(noise)
    patched = None
    with contextlib.suppress(ImportError):
        from model2vec.distill import inference as m2v_inference

        patched = (m2v_inference, m2v_inference.tqdm)
        m2v_inference.tqdm = functools.partial(m2v_inference.tqdm, disable=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if patched:
            patched[0].tqdm = patched[1]
        root.removeFilter(noise)
        if bars:
            hf_logging.enable_progress_bar()


def _body(bert):
    """Embeddings + encoder layers with a plain additive mask: no data-dependent branches
    (transformers' mask helpers trace badly into a static graph)."""
    import torch

    class _Body(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            mask = attention_mask[:, None, None, :].to(h.dtype)
            additive = (1.0 - mask) * torch.finfo(h.dtype).min
            states = h
            for i, layer in enumerate(self.bert.encoder.layer):
                out = layer(h, attention_mask=additive)
                h = out[0] if isinstance(out, tuple) else out
                if i + 1 == STATE_LAYER:
                    states = h
            return h, states

    return _Body(bert).eval()


def _export_onnx(source: Path, out: Path, name: str) -> dict:
    """Export MiniLM's transformer to ONNX (token states out); int8 quantise if asked."""
    import torch
    from transformers import AutoModel

    config = json.loads((source / "sentence_bert_config.json").read_text(encoding="utf-8"))
    with _quiet():
        model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    body = _body(model)
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 7592, 102, 0, 0]])
    inputs = (ids, (ids > 0).long(), torch.zeros_like(ids))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fp32 = out / ("model_fp32.onnx" if name.endswith("int8") else "model.onnx")
    with _quiet(), torch.no_grad():
        storage.export_onnx(
            body,
            inputs,
            fp32,
            input_names=names,
            output_names=["token_embeddings", STATES_OUTPUT],
            dynamic_axes={
                k: {0: "batch", 1: "sequence"} for k in [*names, "token_embeddings", STATES_OUTPUT]
            },
            opset_version=17,
            dynamo=False,  # the torch.export path needs onnxscript; TorchScript is enough here
            do_constant_folding=True,
        )
    if name.endswith("int8"):
        quantize_matmuls(fp32, out / "model.onnx")
        storage.remove_file(fp32)
    storage.copy_file(source / "tokenizer.json", out / "tokenizer.json")
    settings = {
        "max_seq_length": int(config.get("max_seq_length", 256)),
        "dimension": int(model.config.hidden_size),
        "pooling": "mean",
    }
    storage.write_json(out / "encoder.json", settings)
    quantization = "dynamic int8, per-channel, MatMul weights" if name.endswith("int8") else None
    return {"quantization": quantization}


def _distill(source: Path, out: Path) -> dict:
    """Distill a static model from the local MiniLM (token vectors, PCA, SIF weights)."""
    from model2vec.distill import distill

    with _quiet():
        static = distill(str(source), pca_dims=MODEL2VEC_PCA_DIMS, quantize_to="float32")
        storage.save_pretrained(static, out)
    return {"pca_dims": MODEL2VEC_PCA_DIMS}


def quantize_matmuls(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of an ONNX model's MatMul weights, per channel: per-tensor
    scales or quantised embedding lookups cost far more agreement with fp32 for no extra speed.
    Also used for the sentiment branch (nlp.sentiment.branch)."""
    from onnxruntime.quantization import QuantType

    with _quiet():
        storage.quantize_onnx(
            source,
            target,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
