"""Embedding texts with any `Encoder`: long texts chunked and mean-pooled (nothing is silently
cut), a text-hash cache, and the torch encoder's token states for the sentiment branch."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from nlp.embedding.protocol import DEFAULT_ENCODER, ENCODER_IDS, STATE_LAYER, StatesHook


def encoder_id(model: Any) -> str:
    """The id of this encoder (`Encoder.encoder_id`; the default option's for other objects)."""
    return getattr(model, "encoder_id", None) or ENCODER_IDS[DEFAULT_ENCODER]


def embedding_dimension(model: Any) -> int:
    """The encoder's output size (`Encoder.dimension()`; a bare SentenceTransformer's too)."""
    if callable(getattr(model, "dimension", None)):
        return int(model.dimension())
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())


def has_states(model: Any) -> bool:
    """Whether `embed_texts` can hand this encoder's layer-STATE_LAYER token states to a hook."""
    return bool(getattr(model, "has_states", False))


def chunk_words(text: str, max_words: int) -> list[str]:
    """Split a text into consecutive chunks of at most `max_words` words."""
    words = text.split()
    if len(words) <= max_words:
        return [text]
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def torch_states(
    model: Any, texts: Sequence[str], batch_size: int, hook: StatesHook, layer: int = STATE_LAYER
) -> None:
    """The torch encoder's token states after transformer layer `layer`, batch by batch, to
    `hook(text_rows, states, mask)` (texts truncated to the window). `TorchEncoder.encode` uses
    it as a second pass (sentence-transformers' encode does not expose the states; the ONNX
    encoders need none); bench/sentiment_cv.py reads other layers with it. `model` is a
    `TorchEncoder` or its SentenceTransformer."""
    import torch

    model = getattr(model, "model", model)
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

    vectors = np.asarray(
        model.encode(pieces, batch_size=batch_size, states_hook=hook if states_hook else None),
        dtype=np.float32,
    )
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
    *,
    states_for: Collection[str] = (),
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Embed only texts whose hash is not in `cache`; returns (matrix, new cache entries).

    The cache must belong to this encoder's space (`Encoder.space_id`). With `states_hook`,
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
