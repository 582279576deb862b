"""Reading inputs and writing outputs. Every write is atomic (temp file + rename)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from safetensors.numpy import load_file, save_file

from flows.config import ColumnMap
from nlp import schemas, transcripts
from nlp.topic_registry import Registry

DB_NAME = "feedback.duckdb"
SUPPORTED = (".csv", ".tsv", ".xlsx", ".json", ".jsonl", ".parquet")


class InputError(ValueError):
    """An input file that cannot be read as asked; the message names the file and what to do."""


# ---------------------------------------------------------------- reading


def read_frame(path: Path) -> pd.DataFrame:
    """Read CSV/TSV (UTF-8, UTF-8 BOM or Latin-1), XLSX, JSON, JSONL or Parquet, as strings."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        for encoding in ("utf-8-sig", "latin-1"):
            try:
                sep = "\t" if suffix == ".tsv" else _sniff_delimiter(path, encoding)
                return pd.read_csv(
                    path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding
                )
            except UnicodeDecodeError:
                continue
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
    if suffix == ".json":
        return pd.read_json(path, dtype=False).astype("string")
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False).astype("string")
    if suffix == ".parquet":
        return pd.read_parquet(path).astype("string")
    raise InputError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(SUPPORTED)}")


def _sniff_delimiter(path: Path, encoding: str) -> str:
    """The delimiter of a CSV among , ; tab |, from its first 64 KB (comma when unsure)."""
    with open(path, encoding=encoding, newline="") as fh:
        head = fh.read(65536)
    try:
        return csv.Sniffer().sniff(head.split("\n", 1)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _require(df: pd.DataFrame, path: Path, wanted: dict[str, str | None], required: Iterable[str]):
    def absent(spec) -> bool:
        names = spec if isinstance(spec, (list, tuple)) else [spec]
        return any(n not in df.columns for n in names)

    missing = [f"{field} (column {wanted[field]!r})" for field in required if absent(wanted[field])]
    if missing:
        raise InputError(
            f"{path}: missing {', '.join(missing)}; columns found: {list(df.columns)}. "
            "Map your column names in the config under `columns:`."
        )


SEGMENT_PREFIX = "segment:"


def id_series(df: pd.DataFrame, spec: str | tuple[str, ...]) -> pd.Series:
    """The id column as strings; a composite key joins its parts with "|" (null if any is)."""
    if isinstance(spec, str):
        return df[spec].astype("string")
    parts = [df[c].astype("string").str.strip() for c in spec]
    out = parts[0]
    for part in parts[1:]:
        out = out + "|" + part
    empty = pd.concat([p.isna() | (p == "") for p in parts], axis=1).any(axis=1)
    return out.mask(empty)


def read_comments(path: Path, columns: ColumnMap) -> pd.DataFrame:
    """Comments as (source, row_number, source_id, text, date, service, segment:<name>...);
    row_number is 1-based. Segment columns named in the mapping must exist."""
    path = Path(path)
    df = read_frame(path)
    wanted = columns.model_dump()
    _require(df, path, wanted, ("id", "text"))
    missing = [c for c in columns.segments if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing segment columns {missing}; columns found: {list(df.columns)}"
        )
    optional = {f: wanted[f] for f in ("date", "service") if wanted[f] and wanted[f] in df.columns}
    out = pd.DataFrame(
        {
            "source": path.name,
            "row_number": np.arange(1, len(df) + 1),
            "source_id": id_series(df, columns.id),
            "text": df[columns.text].astype("string"),
            "date": df[optional["date"]] if "date" in optional else None,
            "service": df[optional["service"]].astype("string") if "service" in optional else None,
        }
    )
    for col in columns.segments:
        out[SEGMENT_PREFIX + col] = df[col].astype("string").str.strip()
    return out


def read_scores(path: Path, columns: ColumnMap, query: str | None = None) -> pd.DataFrame:
    """Scores as (source_id, score), both strings; parsing happens in nlp.csat.

    `path` is any file `read_frame` reads, or a DuckDB file with `query` (a table name or a
    SELECT), opened read-only."""
    path = Path(path)
    if path.suffix.lower() in (".duckdb", ".db"):
        df = read_duckdb_query(path, query)
    else:
        df = read_frame(path)
    wanted = columns.model_dump()
    _require(df, path, wanted, ("id", "score"))
    out = pd.DataFrame({"source_id": id_series(df, columns.id), "score": df[columns.score]})
    if columns.nps:
        _require(df, path, wanted, ("nps",))
        out["nps"] = df[columns.nps]
    return out


def read_duckdb_query(path: Path, query: str | None) -> pd.DataFrame:
    """Rows of a table or SELECT in a DuckDB file, as strings."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not query:
        raise InputError(f"{path}: a DuckDB score source needs `scores_query` (table or SELECT)")
    sql = query if query.lstrip().lower().startswith(("select", "with")) else None
    con = duckdb.connect(str(path), read_only=True)
    try:
        rel = con.sql(sql) if sql else con.table(query)
        df = rel.df()
    except duckdb.Error as exc:
        raise InputError(f"{path}: scores_query {query!r} failed: {exc}") from exc
    finally:
        con.close()
    return df.astype("string").fillna("")


TRANSCRIPT_TYPES = (".txt", ".vtt", ".srt", ".docx", ".json")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_transcript(path: Path) -> list[transcripts.Segment]:
    """Segments of one transcript file (.txt, .vtt, .srt, .docx or diarised .json)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".txt":
            return transcripts.segments_from_lines(_decode(path.read_bytes()).splitlines())
        if suffix == ".vtt":
            return transcripts.segments_from_vtt(_decode(path.read_bytes()))
        if suffix == ".srt":
            return transcripts.segments_from_srt(_decode(path.read_bytes()))
        if suffix == ".docx":
            import docx

            paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
            return transcripts.segments_from_lines(paragraphs)
        if suffix == ".json":
            records = json.loads(path.read_bytes())
            if isinstance(records, dict):
                records = records.get("segments", [])
            if not isinstance(records, list):
                raise InputError(f"{path}: expected a list of segments or {{'segments': [...]}}")
            return transcripts.segments_from_records(records, _speakers_for(path))
    except InputError:
        raise
    except Exception as exc:  # a parser's own error: name the file, keep the cause
        raise InputError(f"{path}: cannot parse {suffix} transcript: {exc}") from exc
    raise InputError(f"{path}: unsupported transcript type; use {', '.join(TRANSCRIPT_TYPES)}")


def _speakers_for(path: Path) -> dict[str, dict]:
    """Speaker roles for a JSON transcript: `<stem>.speakers.json`, else `speakers.json` beside it.

    Either a list of `{label, role, ...}` or a mapping label -> `{role, ...}`.
    """
    for candidate in (path.with_suffix(".speakers.json"), path.parent / "speakers.json"):
        if candidate.exists() and candidate != path:
            data = json.loads(candidate.read_bytes())
            if isinstance(data, list):
                return {str(d.get("label")): d for d in data if isinstance(d, dict)}
            if isinstance(data, dict):
                return {str(k): v for k, v in data.items() if isinstance(v, dict)}
    return {}


def read_transcripts(directory: Path) -> list[tuple[str, str, list[transcripts.Segment]]]:
    """(transcript_id, file name, segments) for each transcript in a directory, sorted by name.

    Speaker files (`speakers.json`, `*.speakers.json`) are read with their transcript.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: transcripts directory not found")
    out = []
    for path in sorted(directory.iterdir()):
        name = path.name.lower()
        if path.suffix.lower() not in TRANSCRIPT_TYPES or name.endswith("speakers.json"):
            continue
        if name.startswith(("~$", ".")):  # Word lock files, hidden files
            continue
        out.append((_slug(path.stem), path.name, read_transcript(path)))
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "transcript"


# ---------------------------------------------------------------- writing


def _atomic_target(path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def write_text_atomic(path: Path, text: str) -> Path:
    fd, tmp = _atomic_target(path)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def write_arrow_atomic(table: pa.Table, path: Path) -> Path:
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> Path:
    return write_arrow_atomic(pa.Table.from_pandas(df, preserve_index=False), path)


def write_run_tables(tables: dict[str, pd.DataFrame], out: Path, run_id: str) -> Path:
    """Write each table to `<out>/<run_id>/<table>.parquet`."""
    run_dir = Path(out) / run_id
    for name, df in tables.items():
        write_parquet_atomic(df, run_dir / f"{name}.parquet")
    return run_dir


def upsert_duckdb(
    tables: dict[str, pd.DataFrame], out: Path, run_id: str, comment_ids: Iterable[str]
) -> Path:
    """Merge this run's tables into `<out>/feedback.duckdb` atomically (work on a copy, rename).

    Comment-keyed tables: rows of this run's comments are replaced. Run-keyed tables: rows of
    this run id are replaced. Snapshot tables (topics, CSAT summaries) are replaced whole.
    """
    db_path = Path(out) / DB_NAME
    fd, tmp = _atomic_target(db_path)
    os.close(fd)
    os.unlink(tmp)
    try:
        if db_path.exists():
            shutil.copy2(db_path, tmp)
        con = duckdb.connect(tmp)
        try:
            con.register(
                "run_ids",
                pd.DataFrame({"comment_id": pd.Series(list(comment_ids), dtype="string")}),
            )
            con.execute("BEGIN")
            for name, df in tables.items():
                _merge_table(con, name, df, run_id)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, db_path)
    finally:
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return db_path


def _merge_table(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame, run_id: str) -> None:
    con.register("incoming", df)
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()[0]
    if not exists or name in schemas.SNAPSHOT:
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM incoming')
        con.unregister("incoming")
        return
    have = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
    for col in df.columns:
        if col not in have:  # additive schema change: new column, nulls for old rows
            dtype = con.execute(f'SELECT typeof("{col}") FROM incoming LIMIT 1').fetchone()
            con.execute(
                f'ALTER TABLE "{name}" ADD COLUMN "{col}" {dtype[0] if dtype else "VARCHAR"}'
            )
    if name in schemas.COMMENT_KEYED:
        con.execute(f'DELETE FROM "{name}" WHERE comment_id IN (SELECT comment_id FROM run_ids)')
    elif name in schemas.RUN_KEYED and "run_id" in df.columns:
        con.execute(f'DELETE FROM "{name}" WHERE run_id = ?', [run_id])
    con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM incoming')
    con.unregister("incoming")


def read_corpus(out: Path) -> dict[str, pd.DataFrame]:
    """The comment-keyed tables already in `<out>/feedback.duckdb` (empty tables when none)."""
    db_path = Path(out) / DB_NAME
    tables = {name: schemas.empty(name) for name in schemas.COMMENT_KEYED}
    if not db_path.exists():
        return tables
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        present = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        for name in schemas.COMMENT_KEYED:
            if name in present:
                tables[name] = schemas.conform(_known_columns(con.table(name).df(), name), name)
    finally:
        con.close()
    return tables


def _known_columns(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Drop columns a later version no longer writes, so old files still load."""
    return df[[c for c in df.columns if c in schemas.TABLES[name]]]


# ---------------------------------------------------------------- topic registry

REGISTRY_DIR = Path("models") / "topic_registry"
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


class ModelFileError(ValueError):
    """A saved model directory that must not or cannot be loaded."""


def registry_dir(out: Path) -> Path:
    return Path(out) / REGISTRY_DIR


def load_registry(out: Path, encoder_id: str, dim: int) -> Registry:
    """The topic registry under `<out>/models/topic_registry` (empty when there is none).

    Refuses directories holding pickle files and registries built with another encoder.
    """
    directory = registry_dir(out)
    if not directory.exists():
        return Registry.empty(dim)
    pickles = [str(p.relative_to(directory)) for p in _pickle_files(directory)]
    if pickles:
        raise ModelFileError(f"{directory}: refusing to load pickle files {pickles}")
    meta = json.loads((directory / "metadata.json").read_text(encoding="utf-8"))
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


def _pickle_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.suffix in PICKLE_SUFFIXES]


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
    transform run) the previous run's `bertopic/` is kept.
    """
    directory = registry_dir(out)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".topic_registry.", dir=directory.parent))
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
    old = directory.with_name(directory.name + ".old")
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)
    return directory


# ---------------------------------------------------------------- embedding cache


def embedding_cache_path(out: Path, model_id: str) -> Path:
    return Path(out) / "cache" / f"embeddings-{_slug(model_id)}.parquet"


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
