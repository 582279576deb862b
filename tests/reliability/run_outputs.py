"""Readers of what a `feedback run` wrote, and the sample rows the reliability inputs are built
from."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def db_tables(out: Path) -> dict[str, pd.DataFrame]:
    """Every table in `<out>/feedback.duckdb`, by name."""
    con = duckdb.connect(str(out / "feedback.duckdb"), read_only=True)
    try:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {name: con.execute(f'SELECT * FROM "{name}"').df() for name in names}
    finally:
        con.close()


def sample_comments(min_chars: int = 21) -> pd.DataFrame:
    """data/sample/comments.csv as strings, rows with text longer than `min_chars - 1`."""
    comments = pd.read_csv(ROOT / "data/sample/comments.csv", dtype=str, keep_default_na=False)
    return comments[comments["text"].str.len() >= min_chars].reset_index(drop=True)
