"""Small trained heads on sentence embeddings, stored as safetensors + metadata.json.

A head's weights only mean something in the embedding space it was trained on, so metadata
names the encoder and loading refuses a head from another encoder. Pickle is never read.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

TENSORS = "model.safetensors"
METADATA = "metadata.json"


def save_head(
    directory: Path, tensors: dict[str, np.ndarray], metadata: dict, fingerprint: bool = False
) -> Path:
    """Write the tensors and metadata into `directory`, atomically (temp + rename).

    Tensors are stored as float32, except float16 ones, which stay float16. With `fingerprint`,
    the metadata also gets `fingerprint`: the first 16 hex digits of the tensor file's sha256.
    """
    from safetensors.numpy import save_file

    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(
        {
            k: np.ascontiguousarray(v, dtype=np.float16 if v.dtype == np.float16 else np.float32)
            for k, v in tensors.items()
        },
        str(tmp / TENSORS),
    )
    if fingerprint:
        digest = hashlib.sha256((tmp / TENSORS).read_bytes()).hexdigest()[:16]
        metadata = {**metadata, "fingerprint": digest}
    (tmp / METADATA).write_text(json.dumps(metadata, indent=2, default=str), "utf-8")
    if directory.exists():
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old)
    else:
        tmp.rename(directory)
    return directory


def load_head(directory: Path, encoder: str) -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, metadata) of a saved head; refuses pickle files and another encoder's head."""
    from safetensors.numpy import load_file

    directory = Path(directory)
    if any(directory.glob("*.pkl")) or any(directory.glob("*.pickle")):
        raise ValueError(f"{directory}: refusing to load pickle files; use safetensors")
    if not (directory / METADATA).exists():
        raise FileNotFoundError(f"{directory}: no {METADATA}; not a saved head")
    meta = json.loads((directory / METADATA).read_text("utf-8"))
    if meta.get("encoder") != encoder:
        raise ValueError(
            f"{directory}: head trained on embeddings of {meta.get('encoder')!r}, "
            f"not {encoder!r}; retrain it"
        )
    return load_file(str(directory / TENSORS)), meta


def standardise(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and scale (std, floored) of training embeddings."""
    return embeddings.mean(axis=0), embeddings.std(axis=0).clip(min=1e-6)


def check_width(embeddings: np.ndarray, weight: np.ndarray, encoder: str) -> None:
    if embeddings.ndim != 2 or embeddings.shape[1] != weight.shape[0]:
        raise ValueError(
            f"head expects {weight.shape[0]}-d embeddings from {encoder}, "
            f"got shape {embeddings.shape}"
        )
