"""Check a run's inputs, settings and output directory before any model loads or file is written.

`preflight(config)` reads only headers and first rows, parses the taxonomy and looks at paths;
it imports neither Prefect nor a model library. It raises a `PreflightError` (also an
`InputError` / `ConfigError` / `TaxonomyError`, all ValueErrors) whose message names the file
and says what to do, or returns what it found and any warnings.

Decisions: a header-only comments file is an error when it is the only input and a warning
when transcripts are analysed too; a header-only scores file is an error (no score could
join). Transcript types: see `TRANSCRIPT_TYPES` (speaker files are not transcripts). A shipped
model directory that is missing is a warning (the run falls back, as it does today); a
configured one that is missing is an error.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flows.config import ColumnMap, ConfigError, PipelineConfig
from flows.io.inputs import (
    SUPPORTED,
    TRANSCRIPT_TYPES,
    InputError,
    check_file,
    no_rows,
    read_head,
)
from models import shipped_model
from nlp.storage import METADATA
from nlp.tagging import taxonomy as taxonomies

DUCKDB_TYPES = (".duckdb", ".db")


class PreflightError(ValueError):
    """The run cannot start; the message names the file or directory and says what to do."""


class BadInput(PreflightError, InputError):
    """A comments, scores or transcripts input that cannot be used."""


class BadOutput(PreflightError, ConfigError):
    """An output directory that cannot be created or written."""


class BadSetting(PreflightError, ConfigError):
    """A configured model directory or score source that cannot be used."""


class BadTaxonomy(PreflightError, taxonomies.TaxonomyError):
    """A taxonomy file that cannot be read or parsed."""


@dataclass(frozen=True)
class CheckedTable:
    """A comments or scores file whose header was read."""

    path: Path
    columns: tuple[str, ...]
    has_rows: bool  # False: a header-only file


@dataclass(frozen=True)
class Preflight:
    """What the checks found: the run can start."""

    comments: CheckedTable | None
    scores: CheckedTable | None
    transcripts: tuple[Path, ...]  # the transcript files the run will read
    taxonomy: taxonomies.Taxonomy
    out: Path
    out_exists: bool
    warnings: tuple[str, ...]


def preflight(config: PipelineConfig) -> Preflight:
    """Check everything a run reads or writes, cheaply, in the order a user would fix it."""
    if config.comments is None and config.transcripts is None:
        raise BadInput("give --comments and/or --transcripts (or `comments:` in the config)")
    warnings: list[str] = []
    comments = check_comments(config) if config.comments else None
    found = transcript_files(Path(config.transcripts)) if config.transcripts else ()
    if comments is not None and not comments.has_rows:
        if not found:
            raise BadInput(
                f"{comments.path}: {no_rows(comments.path.suffix.lower())}; nothing to analyse"
            )
        warnings.append(f"{comments.path}: no rows under the header; only transcripts analysed")
    scores = check_scores(config) if config.scores else None
    taxonomy = check_taxonomy(config)
    warnings += check_models(config)
    out_exists = check_out_dir(Path(config.out))
    check_theme_edits(Path(config.out))
    return Preflight(
        comments, scores, found, taxonomy, Path(config.out), out_exists, tuple(warnings)
    )


def check_table(path: Path, columns: ColumnMap, required: tuple[str, ...]) -> CheckedTable:
    """Read the header and first rows of a table file; its mapped `required` fields must be
    columns of it (date and service are optional)."""
    path = Path(path)
    try:
        head = read_head(path)
    except InputError as exc:
        raise BadInput(str(exc)) from exc
    if len(head.columns) == 0:  # `[]` in JSON: no rows and no columns to check
        raise BadInput(f"{path}: {no_rows(path.suffix.lower())}; nothing to analyse")
    found = [str(c) for c in head.columns]
    wanted = columns.model_dump()
    missing = []
    for field in required:
        names = wanted[field] if isinstance(wanted[field], (list, tuple)) else [wanted[field]]
        missing += [f"{field} (column {n!r})" for n in names if n is not None and n not in found]
    if missing:
        raise BadInput(
            f"{path}: missing {', '.join(missing)}; columns found: {found}. "
            "Map your column names in the config under `columns:`"
            + (" (or `score_columns:`)" if "score" in required else "")
        )
    return CheckedTable(path, tuple(found), has_rows=len(head) > 0)


def check_comments(config: PipelineConfig) -> CheckedTable:
    columns = config.columns
    checked = check_table(Path(config.comments), columns, ("id", "text"))
    absent = [c for c in columns.segments if c not in checked.columns]
    if absent:
        raise BadInput(
            f"{checked.path}: missing segment columns {absent}; columns found: "
            f"{list(checked.columns)}. Fix `columns: segments:` in the config"
        )
    return checked


def check_scores(config: PipelineConfig) -> CheckedTable | None:
    """The scores file's header (None for a DuckDB source: its file and query are checked)."""
    path = Path(config.scores)
    if path.suffix.lower() in DUCKDB_TYPES:
        try:
            check_file(path, DUCKDB_TYPES)
        except InputError as exc:
            raise BadInput(str(exc)) from exc
        if not config.scores_query:
            raise BadSetting(
                f"{path}: a DuckDB score source needs `scores_query` in the config "
                "(a table name or a SELECT)"
            )
        return None
    if path.is_file() and path.suffix.lower() not in SUPPORTED:
        raise BadInput(
            f"{path}: unsupported scores file type {path.suffix.lower()!r}; use one "
            f"of {', '.join(SUPPORTED + DUCKDB_TYPES)}"
        )
    columns = config.score_columns or config.columns
    required = ("id", "score", "nps") if columns.nps else ("id", "score")
    checked = check_table(path, columns, required)
    if not checked.has_rows:
        raise BadInput(
            f"{path}: {no_rows(path.suffix.lower())}; no score can join a comment "
            "(export the scores again, or leave out --scores)"
        )
    return checked


def transcript_files(directory: Path) -> tuple[Path, ...]:
    """The transcript files a run reads from `directory`; BadInput if there is none."""
    if not directory.exists():
        raise BadInput(f"{directory}: transcripts directory not found; check the path")
    if not directory.is_dir():
        raise BadInput(
            f"{directory}: is a file, not a directory; give --transcripts the "
            "directory that holds the transcripts"
        )
    try:
        entries = sorted(directory.iterdir())
    except OSError as exc:
        raise BadInput(
            f"{directory}: cannot list the transcripts directory: {exc.strerror or exc}"
        ) from exc
    found = tuple(p for p in entries if _is_transcript(p))
    if not found:
        raise BadInput(
            f"{directory}: no transcripts found; put one file per transcript there, of type "
            f"{', '.join(TRANSCRIPT_TYPES)} (speakers.json files are not transcripts)"
        )
    unreadable = [p.name for p in found if not os.access(p, os.R_OK)]
    if unreadable:
        raise BadInput(f"{directory}: cannot read {unreadable}: permission denied")
    return found


def _is_transcript(path: Path) -> bool:
    name = path.name.lower()
    return (
        path.is_file()
        and path.suffix.lower() in TRANSCRIPT_TYPES
        and not name.endswith("speakers.json")
        and not name.startswith(("~$", "."))  # Word lock files, hidden files
    )


def check_taxonomy(config: PipelineConfig) -> taxonomies.Taxonomy:
    """The run's taxonomy: the default, extended or replaced by the configured YAML."""
    try:
        base = taxonomies.parse_taxonomy(taxonomies.default_taxonomy_text(), "default taxonomy")
        if config.taxonomy is None:
            return base
        path = Path(config.taxonomy)
        if not path.is_file():
            what = "is a directory, not a file" if path.is_dir() else "file not found"
            raise BadTaxonomy(f"{path}: taxonomy {what}; check the `taxonomy` path")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadTaxonomy(f"{path}: cannot read taxonomy: {exc}; save it as UTF-8") from exc
        extra = taxonomies.parse_taxonomy(text, str(path))
        return taxonomies.merge_taxonomies(base, extra, config.taxonomy_mode)
    except BadTaxonomy:
        raise
    except taxonomies.TaxonomyError as exc:
        raise BadTaxonomy(str(exc)) from exc


def check_out_dir(out: Path) -> bool:
    """Whether `out` exists; BadOutput when it is not a directory, cannot be created or is not
    writable. Creates nothing: an existing directory gets a temp file made and removed."""
    if out.exists() and not out.is_dir():
        raise BadOutput(
            f"{out}: exists and is a file, not a directory; give --out a directory "
            "(it is created if missing)"
        )
    if not out.exists():
        parent = next(p for p in out.absolute().parents if p.exists())
        if not parent.is_dir():
            raise BadOutput(
                f"{out}: cannot be created: {parent} is a file; give --out a directory path"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise BadOutput(
                f"{out}: cannot be created: {parent} is not writable; choose "
                "another --out or fix its permissions"
            )
        return False
    try:
        if not os.access(out, os.W_OK | os.X_OK):
            raise PermissionError(13, "permission denied")
        fd, probe = tempfile.mkstemp(dir=out, prefix=".preflight-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BadOutput(
            f"{out}: output directory is not writable ({exc.strerror or exc}); "
            "choose another --out or fix its permissions"
        ) from exc
    db = out / "feedback.duckdb"
    if db.exists() and not (db.is_file() and os.access(db, os.R_OK | os.W_OK)):
        raise BadOutput(
            f"{db}: the run database is not a writable file; fix its permissions "
            "or choose another --out"
        )
    return True


def check_theme_edits(out: Path) -> None:
    """BadSetting for an analyst edits file (`feedback themes ...`) that cannot be read."""
    from flows.io.theme_edits import ThemesError, load_edits

    try:
        load_edits(out)
    except (ThemesError, ValueError) as exc:
        raise BadSetting(
            f"{exc}; fix or remove the file (`feedback themes edits` lists it)"
        ) from exc


def check_models(config: PipelineConfig) -> list[str]:
    """BadSetting for a configured model directory that is missing or not a trained model;
    a warning for a missing shipped one (the run falls back to the head or VADER)."""
    configured = {
        "sentiment_branch": config.sentiment_branch,
        "sentiment_head": config.sentiment_head,
        "category_head": config.category_head,
    }
    for key, path in configured.items():
        if path is not None:
            _check_model_dir(key, Path(path), METADATA)
    if config.embedding_model_path is not None:
        _check_model_dir("embedding_model_path", Path(config.embedding_model_path), "modules.json")
    warnings = []
    wanted = (
        ("sentiment_branch", "sentiment_head")
        if config.sentiment_model == "branch"
        else ("sentiment_head",)
    )
    for name in wanted:
        path = shipped_model(name)
        if configured[name] is None and not (path / METADATA).is_file():
            warnings.append(
                f"{path}: shipped {name} not installed; reinstall the package "
                "(the run falls back to the next sentiment model)"
            )
    return warnings


def _check_model_dir(key: str, path: Path, marker: str) -> None:
    if not path.is_dir():
        raise BadSetting(
            f"{path}: `{key}` directory not found; fix the path in the config or "
            "remove the key to use the shipped model"
        )
    if not (path / marker).is_file():
        raise BadSetting(
            f"{path}: `{key}` is not a trained model directory (no {marker}); "
            "give the directory the training script wrote"
        )
