"""The one storage module: atomic file and directory writes, safetensors tensors with JSON
metadata, pickle refusal and the "trained on this embedding space" check.

Stage code never writes files itself; it calls these (or returns data for flows/ to write).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TENSORS = "model.safetensors"
METADATA = "metadata.json"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


class ModelFileError(ValueError):
    """A saved model directory that must not or cannot be loaded."""


# ---------------------------------------------------------------- atomic writes


def _temp_beside(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return tmp


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file renamed into place."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        Path(tmp).write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, else it is removed."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_directory(target: Path, *, keep_previous: Path | None = None) -> Iterator[Path]:
    """Yield an empty temporary directory beside `target`; on success it replaces `target`
    (the old one is moved aside, then removed — or kept as `keep_previous`), on error it is
    removed and `target` stays."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield tmp
        replace_directory(tmp, target, keep_previous=keep_previous)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_directory(source: Path, target: Path, *, keep_previous: Path | None = None) -> None:
    """Move directory `source` to `target`, replacing an existing `target` (moved aside first,
    then removed, or moved to `keep_previous`, replacing what was kept there before)."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
        os.replace(target, old / target.name)
        os.replace(source, target)
        if keep_previous is not None:
            remove_tree(keep_previous)
            os.replace(old / target.name, keep_previous)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(source, target)


def remove_tree(path: Path) -> None:
    """Remove a directory tree if it exists."""
    if Path(path).exists():
        shutil.rmtree(path)


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target)


# ---------------------------------------------------------------- model directories


def refuse_pickles(directory: Path) -> None:
    """Raise when `directory` holds pickle files anywhere inside: they are never loaded."""
    directory = Path(directory)
    pickles = sorted(
        str(p.relative_to(directory)) for p in directory.rglob("*") if p.suffix in PICKLE_SUFFIXES
    )
    if pickles:
        raise ModelFileError(
            f"{directory}: refusing to load pickle files {pickles} (loading a pickle can run "
            "code; this pipeline saves only safetensors and JSON): delete them, or restore the "
            "directory from a backup"
        )


def read_metadata(directory: Path) -> dict:
    """A model directory's metadata.json ({} when there is none)."""
    path = Path(directory) / METADATA
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def check_space(meta: dict, space: str, directory: Path, what: str = "head") -> None:
    """Raise unless the model in `directory` was trained on embedding space `space`."""
    if meta.get("encoder") != space:
        raise ValueError(
            f"{directory}: {what} trained on embeddings of {meta.get('encoder')!r}, "
            f"not {space!r}; retrain it"
        )


def save_head(
    directory: Path, tensors: dict[str, np.ndarray], metadata: dict, fingerprint: bool = False
) -> Path:
    """Write the tensors and metadata into `directory`, atomically (temp dir + rename).

    Tensors are stored as float32, except float16 ones, which stay float16. With `fingerprint`,
    the metadata also gets `fingerprint`: the first 16 hex digits of the tensor file's sha256.
    """
    from safetensors.numpy import save_file

    with atomic_directory(Path(directory)) as tmp:
        save_file(
            {
                k: np.ascontiguousarray(
                    v, dtype=np.float16 if v.dtype == np.float16 else np.float32
                )
                for k, v in tensors.items()
            },
            str(tmp / TENSORS),
        )
        if fingerprint:
            digest = hashlib.sha256((tmp / TENSORS).read_bytes()).hexdigest()[:16]
            metadata = {**metadata, "fingerprint": digest}
        (tmp / METADATA).write_text(json.dumps(metadata, indent=2, default=str), "utf-8")
    return Path(directory)


def load_head(directory: Path, encoder: str) -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, metadata) of a saved head; refuses pickle files and another space's head."""
    from safetensors.numpy import load_file

    directory = Path(directory)
    try:
        refuse_pickles(directory)
    except ModelFileError as exc:
        raise ValueError(f"{exc}; use safetensors") from exc
    if not (directory / METADATA).exists():
        raise FileNotFoundError(f"{directory}: no {METADATA}; not a saved head")
    meta = read_metadata(directory)
    check_space(meta, encoder, directory)
    return load_file(str(directory / TENSORS)), meta


# ---------------------------------------------------------------- exported model files


def write_json(path: Path, obj: object) -> Path:
    """Write `obj` as indented JSON to `path`, atomically."""
    return write_text_atomic(Path(path), json.dumps(obj, indent=2))


def copy_file(source: Path, target: Path) -> None:
    """Copy one file (contents and permission bits)."""
    shutil.copy(source, target)


def remove_file(path: Path) -> None:
    Path(path).unlink()


def save_pretrained(model: object, directory: Path) -> None:
    """`model.save_pretrained(directory)` (a model2vec / transformers model)."""
    model.save_pretrained(str(directory))


def export_onnx(module: object, inputs: tuple, path: Path, **kwargs) -> None:
    """`torch.onnx.export` of `module` traced on `inputs` to `path`."""
    import torch

    torch.onnx.export(module, inputs, str(path), **kwargs)


def quantize_onnx(source: Path, target: Path, **kwargs) -> None:
    """onnxruntime's `quantize_dynamic` of `source` into `target`, written beside it under a
    temporary name and renamed into place."""
    from onnxruntime.quantization import quantize_dynamic

    target = Path(target)
    partial = target.with_name(f".{target.stem}.{os.getpid()}{target.suffix}")
    try:
        quantize_dynamic(str(source), str(partial), **kwargs)
        os.replace(partial, target)
    finally:
        if partial.exists():
            partial.unlink()
