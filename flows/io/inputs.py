"""Reading inputs: comments, scores and transcripts, as strings, with errors that name the file."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from flows.config import ColumnMap
from nlp.ingest import transcripts
from nlp.ingest.corpus import SEGMENT_PREFIX

SUPPORTED = (".csv", ".tsv", ".xlsx", ".xlsm", ".json", ".jsonl", ".parquet")
TEXT_TYPES = (".csv", ".tsv", ".json", ".jsonl")
HEAD_ROWS = 5  # rows `read_head` reads: enough to tell a header-only file from one with data
DETERMINISTIC_OS_ERRORS = (
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
_FIX = {
    ".csv": "save it as CSV (UTF-8) with one header row",
    ".tsv": "save it as tab-separated text (UTF-8) with one header row",
    ".xlsx": "open it in Excel and save it again as .xlsx, or export it as CSV",
    ".xlsm": "open it in Excel and save it again, or export it as CSV",
    ".json": 'it must be a list of records, e.g. [{"id": "1", "text": "..."}]',
    ".jsonl": "it must hold one JSON record per line",
    ".parquet": "write it again as Parquet, or export it as CSV",
}
_MAGIC = {b"PK\x03\x04": "a ZIP or Excel workbook", b"PAR1": "a Parquet file", b"%PDF": "a PDF"}


class InputError(ValueError):
    """An input file that cannot be read as asked; the message names the file and what to do."""


def is_transient(exc: BaseException) -> bool:
    """Whether an error reading inputs is worth retrying: an OSError that is not a missing,
    misplaced or forbidden path (a network share hiccup), or a DuckDB file lock. Input errors
    (InputError and every other ValueError) are deterministic and never retried."""
    if isinstance(exc, duckdb.IOException):
        return "lock" in str(exc).lower()
    return isinstance(exc, OSError) and not isinstance(exc, DETERMINISTIC_OS_ERRORS)


def read_frame(
    path: Path, *, nrows: int | None = None, allow_no_rows: bool = False
) -> pd.DataFrame:
    """Read CSV/TSV (UTF-8, UTF-8 BOM or Latin-1), XLSX, JSON, JSONL or Parquet, as strings.

    `nrows` reads only the first rows (JSON is parsed whole, then cut). A missing, unreadable,
    empty, binary or unparseable file, and one with no rows under its header (unless
    `allow_no_rows`), raise `InputError` naming the file and saying what to do."""
    path = Path(path)
    suffix = check_file(path)
    try:
        df = _read(path, suffix, nrows)
    except InputError:
        raise
    except DETERMINISTIC_OS_ERRORS as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except OSError:
        raise  # transient (see is_transient): the ingest task retries it
    except Exception as exc:  # the reader's own parse error: name the file, keep the cause
        raise InputError(
            f"{path}: cannot be read as {suffix[1:].upper()}: {_reason(exc)}; {_FIX[suffix]}"
        ) from exc
    if len(df) == 0 and not allow_no_rows:
        raise InputError(f"{path}: {no_rows(suffix)}; nothing to analyse")
    return df


def no_rows(suffix: str) -> str:
    """How to say a table file of this type holds no data rows."""
    return (
        "no rows under the header" if suffix in (".csv", ".tsv", ".xlsx", ".xlsm") else "no records"
    )


def read_head(path: Path) -> pd.DataFrame:
    """The header and first `HEAD_ROWS` rows of a table file, with read_frame's checks and
    messages except that a header-only file gives an empty frame (the caller decides)."""
    return read_frame(path, nrows=HEAD_ROWS, allow_no_rows=True)


def check_file(path: Path, supported: tuple[str, ...] = SUPPORTED) -> str:
    """The lower-case suffix of a table file that exists, is a readable, non-empty file of a
    supported type and, for text types, is text; else InputError naming the file."""
    if not path.exists():
        raise InputError(
            f"{path}: file not found; check the path (relative paths in a config "
            "file are relative to that file)"
        )
    if not path.is_file():
        raise InputError(f"{path}: is a directory, not a file; give the file inside it")
    suffix = path.suffix.lower()
    if suffix not in supported:
        raise InputError(
            f"{path}: unsupported file type {suffix!r}; use one of {', '.join(supported)}"
        )
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: cannot read: permission denied; fix its permissions")
    if path.stat().st_size == 0:
        raise InputError(
            f"{path}: the file is empty (0 bytes); export it again with a header row and data"
        )
    if suffix in TEXT_TYPES:
        _check_text(path, suffix)
    return suffix


def _check_text(path: Path, suffix: str) -> None:
    """InputError when a CSV/TSV/JSON file holds UTF-16 or binary data rather than text."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f'{path}: is UTF-16 text; save it as UTF-8 (in Excel: "CSV UTF-8")')
    kind = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    controls = sum(b < 32 and b not in (9, 10, 12, 13) or b == 127 for b in head)
    if kind or controls > max(8, len(head) / 100):  # a stray NUL in a comment: a row problem
        what = kind or "binary data"
        raise InputError(
            f"{path}: holds {what}, not {suffix[1:].upper()} text; {_FIX[suffix]} "
            "(or give the file its real extension)"
        )


def _read(path: Path, suffix: str, nrows: int | None) -> pd.DataFrame:
    if suffix in (".csv", ".tsv"):
        return _read_csv(path, suffix, nrows)
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str, engine="openpyxl", nrows=nrows).fillna("")
    if suffix == ".json":
        return pd.read_json(path, dtype=False).head(nrows).astype("string")
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False, nrows=nrows).astype("string")
    if nrows is None:
        return pd.read_parquet(path).astype("string")
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    batch = next(pf.iter_batches(batch_size=nrows), None)
    table = pf.schema_arrow.empty_table() if batch is None else batch
    return table.to_pandas().astype("string")


def _read_csv(path: Path, suffix: str, nrows: int | None) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "latin-1"):  # latin-1 decodes any byte
        try:
            sep = "\t" if suffix == ".tsv" else _sniff_delimiter(path, encoding)
            return pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding, nrows=nrows
            )
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as exc:
            raise InputError(
                f"{path}: the file is empty (no header row); export it again with a header row"
            ) from exc
    raise AssertionError("unreachable: latin-1 decodes every byte")


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.removeprefix("Error tokenizing data. C error: ")


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
    df = read_frame(path, allow_no_rows=True)  # header-only: no rows (preflight decides)
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
    if not path.is_file():
        raise InputError(f"{path}: file not found; check the `scores` path")
    if not query:
        raise InputError(f"{path}: a DuckDB score source needs `scores_query` (table or SELECT)")
    sql = query if query.lstrip().lower().startswith(("select", "with")) else None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        if is_transient(exc):
            raise  # locked by a writer: the ingest task retries
        raise InputError(f"{path}: cannot open as a DuckDB database: {_reason(exc)}") from exc
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
