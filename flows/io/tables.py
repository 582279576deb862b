"""Output tables: Parquet per run and the DuckDB merge, each written atomically."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flows.lock import RUN_ID_PATTERN
from nlp import schemas
from nlp.storage import atomic_file, write_text_atomic

DB_NAME = "feedback.duckdb"

__all__ = ["DB_NAME", "clean_leftovers", "recorded_run_ids", "write_text_atomic"]


def write_arrow_atomic(table: pa.Table, path: Path) -> Path:
    with atomic_file(Path(path)) as tmp:
        pq.write_table(table, str(tmp))
    return Path(path)


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
    with atomic_file(db_path) as work:
        tmp = str(work)
        os.unlink(tmp)  # duckdb makes its own file (or we copy the current one)
        if db_path.exists():
            shutil.copy2(db_path, tmp)
        _merge_all(tmp, tables, run_id, comment_ids)
        if os.path.exists(tmp + ".wal"):
            os.unlink(tmp + ".wal")
    return db_path


def _merge_all(
    path: str, tables: dict[str, pd.DataFrame], run_id: str, comment_ids: Iterable[str]
) -> None:
    try:
        con = duckdb.connect(path)
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
    finally:
        if os.path.exists(path + ".wal"):
            os.unlink(path + ".wal")


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


# ---------------------------------------------------------------- leftovers of a killed run

# nlp.storage temp names: files `.<name>.<8 chars>.tmp` (+ DuckDB's `.wal` and `.tmp/` spill
# directory beside a temp database), directories `.<name>-<8 chars>` and `.<name>-old-<8
# chars>` (tempfile's alphabet)
_TMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.wal|\.tmp)?$")
_TMP_DIR = re.compile(r"^\.(?P<name>.+?)-(?P<old>old-)?[a-z0-9_]{8}$")
_RUN_FILES = frozenset({f"{name}.parquet" for name in schemas.TABLES} | {"report.html"})
_STATE_DIRS = ("cache", "models")


def clean_leftovers(out: Path, *, crashed_run_id: str | None = None) -> list[str]:
    """Remove what a killed run left in `out`; call it only while holding the run lock.

    Removed: temp files of atomic writes (`<out>/`, run folders, `cache/`, `models/`), temp
    directories of `atomic_directory` under `models/` (a directory swap cut off halfway is
    first put back), and run folders the database never recorded: named like a run id
    (`flows.lock.RUN_ID_PATTERN`), holding only table Parquet files and report.html, and not in
    `run_summary` (when there is no database yet, only the folder of `crashed_run_id`, the run
    the stale lock holder file names), and a topic registry such a run saved (the previous one
    is put back). Returns the removed paths relative to `out`, sorted.
    """
    out = Path(out)
    if not out.is_dir():
        return []
    removed = _restore_swaps(out) + _remove_temp_dirs(out)
    subdirs = [d for d in out.iterdir() if d.is_dir() and not d.is_symlink()]
    for folder in [out, *subdirs]:
        removed += _remove_temp_files(out, folder, recursive=folder.name in _STATE_DIRS)
    removed += _remove_unrecorded_runs(out, crashed_run_id)
    from flows.io.state import restore_committed_registry  # state imports this module

    removed += restore_committed_registry(out, recorded_run_ids(out), crashed_run_id)
    return sorted(removed)


def _rel(out: Path, path: Path) -> str:
    return path.relative_to(out).as_posix()


def _temp_dirs(out: Path) -> list[tuple[Path, re.Match]]:
    found = []
    for root, dirs, _files in os.walk(out / "models"):
        for name in list(dirs):
            if match := _TMP_DIR.match(name):
                found.append((Path(root) / name, match))
                dirs.remove(name)  # do not descend into what is removed anyway
    return found


def _restore_swaps(out: Path) -> list[str]:
    """`.X-old-*/X` whose `X` is gone: the run died between the two renames; put it back."""
    restored = []
    for path, match in _temp_dirs(out):
        moved, target = path / match["name"], path.parent / match["name"]
        if match["old"] and moved.is_dir() and not target.exists():
            os.replace(moved, target)
            restored.append(f"{_rel(out, target)} (restored from {_rel(out, path)})")
    return restored


def _remove_temp_dirs(out: Path) -> list[str]:
    removed = []
    for path, _match in _temp_dirs(out):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(_rel(out, path) + "/")
    return removed


def _remove_temp_files(out: Path, folder: Path, *, recursive: bool) -> list[str]:
    if not folder.is_dir():
        return []
    files = folder.rglob(".*.tmp*") if recursive else folder.glob(".*.tmp*")
    removed = []
    for path in sorted(files):
        if not _TMP_FILE.match(path.name) or path.is_symlink():
            continue
        if path.is_file():
            path.unlink(missing_ok=True)
        elif path.is_dir():  # DuckDB's spill directory beside a temp database
            shutil.rmtree(path, ignore_errors=True)
        removed.append(_rel(out, path))
    return removed


def _run_folders(out: Path) -> list[Path]:
    """Directories named like a run id holding nothing but run tables, report and temp files."""
    return sorted(
        d
        for d in out.iterdir()
        if d.is_dir()
        and not d.is_symlink()
        and RUN_ID_PATTERN.match(d.name)
        and all(
            f.is_file() and (f.name in _RUN_FILES or _TMP_FILE.match(f.name)) for f in d.iterdir()
        )
    )


def _remove_unrecorded_runs(out: Path, crashed_run_id: str | None) -> list[str]:
    recorded = recorded_run_ids(out)
    removed = []
    for folder in _run_folders(out):
        unrecorded = folder.name not in recorded if recorded is not None else False
        if unrecorded or (recorded is None and folder.name == crashed_run_id):
            shutil.rmtree(folder)
            removed.append(folder.name + "/")
    return removed


def recorded_run_ids(out: Path) -> set[str] | None:
    """Run ids in `run_summary` of `<out>/feedback.duckdb`; None when there is no database (or
    it cannot be read: then no run folder is treated as unrecorded)."""
    db_path = Path(out) / DB_NAME
    if not db_path.exists():
        return None
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return None
    try:
        present = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "run_summary" not in present:
            return None
        return {r[0] for r in con.execute("SELECT DISTINCT run_id FROM run_summary").fetchall()}
    except duckdb.Error:
        return None
    finally:
        con.close()
