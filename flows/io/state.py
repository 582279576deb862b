"""Run state under `<out>/`: the topic registry and the embedding caches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from safetensors.numpy import load_file, save_file

from flows.io.inputs import slug
from flows.io.tables import write_arrow_atomic
from nlp import schemas
from nlp.storage import (
    ModelFileError,
    atomic_directory,
    refuse_pickles,
    remove_tree,
    replace_directory,
)
from nlp.themes.registry import Registry

# ---------------------------------------------------------------- topic registry

REGISTRY_DIR = Path("models") / "topic_registry"


def registry_dir(out: Path) -> Path:
    return Path(out) / REGISTRY_DIR


def previous_registry_dir(out: Path) -> Path:
    """The registry as it was before the last save: put back when that run never committed."""
    return registry_dir(out).with_name(REGISTRY_DIR.name + ".previous")


def load_registry(out: Path, encoder_id: str, dim: int, legacy_id: str | None = None) -> Registry:
    """The topic registry under `<out>/models/topic_registry` (empty when there is none).

    Refuses directories holding pickle files and registries built with another encoder. A
    registry written before the space id carried the model version (`legacy_id`) is read as
    empty, so topics are refit once in the versioned space instead of mixing two spaces.
    """
    directory = registry_dir(out)
    if not directory.exists():
        return Registry.empty(dim)
    refuse_pickles(directory)
    meta = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
    if legacy_id is not None and meta.get("encoder") == legacy_id:
        return Registry.empty(dim)
    if meta.get("encoder") != encoder_id:
        raise ModelFileError(
            f"{directory}: registry built with encoder {meta.get('encoder')!r}, not {encoder_id!r}"
            "; rerun with a new --out or delete the registry to start afresh"
        )
    centroids = load_file(str(directory / "centroids.safetensors"))["centroids"]
    topics = pd.read_json(directory / "topics.json", orient="records", dtype=False)
    if len(topics) != len(centroids):
        raise ModelFileError(f"{directory}: {len(topics)} topics but {len(centroids)} centroids")
    return Registry(schemas.conform(topics, "topics"), centroids.astype(np.float32))


def load_registry_metadata(out: Path) -> dict:
    """The registry's metadata.json ({} when there is no registry)."""
    path = registry_dir(out) / "metadata.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def save_registry(
    registry: Registry, out: Path, metadata: dict, model=None, embedding_model: str | None = None
) -> Path:
    """Write the registry as safetensors + JSON, replacing the old directory atomically.

    `model` (a fitted BERTopic) is saved in `bertopic/` with BERTopic's safetensors
    serialisation, for notebooks (`BERTopic.load(dir, embedding_model=...)`); without one (a
    transform run) the previous run's `bertopic/` is kept. The registry it replaces is kept as
    `topic_registry.previous/` until the next save: the registry is saved before the DuckDB
    merge commits the run, and a run killed in between gets it put back
    (`restore_committed_registry`).
    """
    directory = registry_dir(out)
    # a retried write of the same run replaces its own first save: keep the committed one
    again = load_registry_metadata(out).get("run_id") == metadata.get("run_id")
    keep = None if again else previous_registry_dir(out)
    with atomic_directory(directory, keep_previous=keep) as tmp:
        _write_registry(tmp, directory, registry, metadata, model, embedding_model)
    return directory


def _write_registry(tmp: Path, directory: Path, registry, metadata, model, embedding_model) -> None:
    if model is not None:
        model.save(
            str(tmp / "bertopic"),
            serialization="safetensors",
            save_ctfidf=True,
            save_embedding_model=embedding_model,
        )
    elif (directory / "bertopic").is_dir():
        shutil.copytree(directory / "bertopic", tmp / "bertopic")
    save_file(
        {"centroids": np.ascontiguousarray(registry.centroids, dtype=np.float32)},
        str(tmp / "centroids.safetensors"),
    )
    (tmp / "topics.json").write_text(
        registry.topics.to_json(orient="records", force_ascii=False), encoding="utf-8"
    )
    (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")


def restore_committed_registry(
    out: Path, recorded: set[str] | None, crashed_run_id: str | None = None
) -> list[str]:
    """Put back the registry of the last committed run when a killed run saved its own but
    never committed (its run id is not in `recorded`, the database's run ids; None = no
    database, when only `crashed_run_id`'s registry counts as uncommitted). Returns what
    changed, relative to `out`."""
    directory = registry_dir(out)
    try:
        run_id = load_registry_metadata(out).get("run_id")
    except (OSError, ValueError, AttributeError):  # unreadable: load_registry will say so
        return []
    if run_id is None:
        return []
    committed = run_id in recorded if recorded is not None else run_id != crashed_run_id
    if committed:
        return []
    previous = previous_registry_dir(out)
    name = REGISTRY_DIR.as_posix()
    if previous.is_dir():
        replace_directory(previous, directory)
        return [f"{name} (run {run_id} never committed; restored {name}.previous)"]
    remove_tree(directory)
    return [f"{name}/ (run {run_id} never committed)"]


# ---------------------------------------------------------------- embedding cache


def embedding_cache_path(out: Path, model_id: str) -> Path:
    return Path(out) / "cache" / f"embeddings-{slug(model_id)}.parquet"


def load_embedding_cache(path: Path) -> dict[str, np.ndarray]:
    """text_hash -> vector from the on-disk cache (empty when there is none)."""
    if not Path(path).exists():
        return {}
    table = pq.read_table(path)
    hashes = table.column("text_hash").to_pylist()
    if not hashes:
        return {}
    column = table.column("vector").combine_chunks()
    # one flat float32 buffer, reshaped: no per-float Python objects (100k x 384 in < 1 s)
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    vectors = flat.reshape(len(hashes), -1)
    return dict(zip(hashes, vectors, strict=True))


def append_embedding_cache(
    path: Path, cache: dict[str, np.ndarray], fresh: dict[str, np.ndarray]
) -> None:
    """Rewrite the cache with the new entries added (atomic)."""
    if not fresh:
        return
    merged = {**cache, **fresh}
    hashes = list(merged)
    matrix = np.stack([merged[h] for h in hashes]).astype(np.float32, copy=False)
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), matrix.shape[1])
    table = pa.table({"text_hash": pa.array(hashes, pa.string()), "vector": vectors})
    write_arrow_atomic(table, Path(path))
