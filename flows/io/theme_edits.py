"""The files behind `feedback themes`: the analyst edits file `<out>/models/theme_edits.json`
(read, and written atomically through nlp.storage) and a read-only snapshot of the theme tables
in `<out>/feedback.duckdb` with each statement's text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from flows.io.tables import DB_NAME
from nlp import schemas
from nlp.themes.edits import (
    EDITS_FILE,
    EditedThemes,
    EditRecord,
    EditsFileError,
    apply_edits,
    edits_json,
    parse_edits,
)


class ThemesError(ValueError):
    """A user error: unknown id, no output directory, a malformed edits file, ..."""


@dataclass
class Snapshot:
    """An output directory's theme tables as the last run wrote them, with statement texts."""

    out: Path
    topics: pd.DataFrame
    comment_topics: pd.DataFrame
    statements: pd.DataFrame
    statement_texts: pd.Series
    last_run_started: pd.Timestamp | None = None

    def view(self, edits: list[EditRecord]) -> EditedThemes:
        """The themes with `edits` applied: what the next run will show."""
        return apply_edits(
            topics=self.topics,
            comment_topics=self.comment_topics,
            statements=self.statements,
            statement_texts=self.statement_texts,
            edits=edits,
        )


# ---------------------------------------------------------------- reading and writing


def edits_path(out: Path) -> Path:
    return Path(out) / "models" / EDITS_FILE


def load_edits(out: Path) -> list[EditRecord]:
    """The recorded edits ([] when there is no edits file yet)."""
    path = edits_path(out)
    if not path.exists():
        return []
    try:
        return parse_edits(path.read_text(encoding="utf-8"))
    except EditsFileError as exc:
        raise ThemesError(f"{path}: {exc}") from exc


def save_edits(out: Path, edits: list[EditRecord]) -> Path:
    from nlp.storage import write_text_atomic

    return write_text_atomic(edits_path(out), edits_json(edits))


def read_snapshot(out: Path) -> Snapshot:
    """The theme tables in `<out>/feedback.duckdb` (read-only), or a `ThemesError`."""
    import duckdb

    out = Path(out)
    db = out / DB_NAME
    if not out.is_dir():
        raise ThemesError(f"{out}: no such output directory; give the --out of a feedback run")
    if not db.exists():
        raise ThemesError(f"{out}: no {DB_NAME} here; run `feedback run --out {out}` first")
    con = duckdb.connect(str(db), read_only=True)
    try:
        present = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "topics" not in present:
            raise ThemesError(f"{db}: no topics table yet; run `feedback run --out {out}` first")
        tables = {n: _table(con, n, present) for n in ("topics", "comment_topics", "statements")}
        texts = _comment_texts(con, present)
        started = None
        if "run_summary" in present:
            started = con.execute("SELECT max(started_at) FROM run_summary").fetchone()[0]
    finally:
        con.close()
    st = tables["statements"]
    spans = zip(st["comment_id"], st["start"], st["end"], strict=True)
    statement_texts = pd.Series(
        [texts.get(c, "")[int(a) : int(b)] for c, a, b in spans], dtype="string"
    )
    last = pd.Timestamp(started) if started is not None else None
    return Snapshot(out, *tables.values(), statement_texts, last)


def _table(con, name: str, present: set[str]) -> pd.DataFrame:
    if name not in present:
        return schemas.empty(name)
    df = con.table(name).df()
    return schemas.conform(df[[c for c in df.columns if c in schemas.TABLES[name]]], name)


def _comment_texts(con, present: set[str]) -> dict[str, str]:
    if not {"statements", "comments"} <= present:
        return {}
    rows = con.execute(
        "SELECT comment_id, text FROM comments "
        "WHERE comment_id IN (SELECT DISTINCT comment_id FROM statements)"
    ).fetchall()
    return {c: t or "" for c, t in rows}
