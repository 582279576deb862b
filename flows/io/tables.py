"""Output tables: Parquet per run and the DuckDB merge, each written atomically."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nlp import schemas
from nlp.storage import atomic_file, write_text_atomic

DB_NAME = "feedback.duckdb"

__all__ = ["DB_NAME", "write_text_atomic"]


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
