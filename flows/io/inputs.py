"""Reading inputs: comments, scores and transcripts, as strings, with errors that name the file."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from flows.config import ColumnMap
from nlp.ingest import transcripts
from nlp.ingest.corpus import SEGMENT_PREFIX

SUPPORTED = (".csv", ".tsv", ".xlsx", ".json", ".jsonl", ".parquet")


class InputError(ValueError):
    """An input file that cannot be read as asked; the message names the file and what to do."""


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
    """Scores as (source_id, score), both strings; parsing happens in nlp.drivers.scores.

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
        out.append((slug(path.stem), path.name, read_transcript(path)))
    return out


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "transcript"
