"""Analyst edits of themes that persist across runs: the edit records, their JSON file format
and `apply_edits`, which replays them on a run's theme tables.

An analyst renames, merges, moves (to another parent theme), splits (by a phrase) or hides a
theme, or undoes one of those edits. Each edit is a record (what, on which ids, the state before
and after, when, by whom) appended to `<out>/models/theme_edits.json`; that file is the audit
trail. Edits name registry topic ids, which a refit keeps (`registry.match_topics`), so they
carry over a `--retrain`; an edit whose theme no longer exists is reported, never applied.
New ids (a split's theme, a new parent) are allocated when the edit is made, from
`ANALYST_ID_BASE` up, so they never collide with the registry's own ids. Everything here is
pure: flows/themes_cli.py reads and writes the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import pandas as pd

from nlp.themes.edit_ops import (
    ANALYST,
    APPLY,
    GONE,
    EditState,
    comment_topics_from_statements,
    phrase_pattern,
)

__all__ = [
    "ANALYST",
    "ANALYST_ID_BASE",
    "EDITS_FILE",
    "GONE",
    "EditRecord",
    "EditedThemes",
    "EditsFileError",
    "SkippedEdit",
    "allocate_id",
    "apply_edits",
    "comment_topics_from_statements",
    "edits_json",
    "effective_edits",
    "new_record",
    "parse_edits",
    "phrase_pattern",
    "undone_ids",
]

SCHEMA_VERSION = 1
EDITS_FILE = "theme_edits.json"  # under <out>/models/
ANALYST_ID_BASE = 100_000  # split themes and new parents; registry ids stay far below
OPS = ("rename", "merge", "move", "split", "hide", "undo")

# the arguments of each op: name -> (type, required)
_ARGS: dict[str, dict[str, tuple[type, bool]]] = {
    "rename": {"topic_id": (int, True), "name": (str, True)},
    "merge": {"topic_id": (int, True), "into": (int, True)},
    "move": {"topic_id": (int, True), "parent_id": (int, True), "parent_name": (str, False)},
    "split": {
        "topic_id": (int, True),
        "phrase": (str, True),
        "new_topic_id": (int, True),
        "name": (str, False),
    },
    "hide": {"topic_id": (int, True)},
    "undo": {"edit_id": (str, True)},
}


class EditsFileError(ValueError):
    """The edits file (or an edit) is malformed; the message says which record and field."""


@dataclass(frozen=True)
class EditRecord:
    """One analyst edit: `op` on `args`, the themes it touched `before` and `after` it."""

    id: str
    op: str
    args: dict
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    at: str = ""  # UTC ISO time
    by: str = ""
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "op": self.op,
            "args": self.args,
            "before": self.before,
            "after": self.after,
            "at": self.at,
            "by": self.by,
            "note": self.note,
        }

    def describe(self) -> str:
        """'merge 4 into 9', 'rename 3 "Parking"', 'undo e2', ..."""
        a = self.args
        text = {
            "rename": lambda: f'rename {a["topic_id"]} "{a["name"]}"',
            "merge": lambda: f"merge {a['topic_id']} into {a['into']}",
            "move": lambda: (
                f"move {a['topic_id']} to parent {a['parent_id']}"
                + (f' "{a["parent_name"]}"' if a.get("parent_name") else "")
            ),
            "split": lambda: (
                f'split {a["topic_id"]} "{a["phrase"]}" -> {a["new_topic_id"]}'
                + (f' "{a["name"]}"' if a.get("name") else "")
            ),
            "hide": lambda: f"hide {a['topic_id']}",
            "undo": lambda: f"undo {a['edit_id']}",
        }
        return text[self.op]()


@dataclass(frozen=True)
class SkippedEdit:
    """An edit that did not apply to this run's themes, and why."""

    edit_id: str
    description: str
    reason: str

    def message(self) -> str:
        return f"edit {self.edit_id} ({self.description}) not applied: {self.reason}"


@dataclass
class EditedThemes:
    """The theme tables after the edits, and which edits applied or did not."""

    topics: pd.DataFrame
    comment_topics: pd.DataFrame
    statements: pd.DataFrame
    applied: list[str] = field(default_factory=list)  # edit ids, in order
    skipped: list[SkippedEdit] = field(default_factory=list)
    edited_topic_ids: frozenset[int] = frozenset()  # themes an applied edit touched


# ---------------------------------------------------------------- records and the file


def new_record(
    edits: Sequence[EditRecord],
    op: str,
    args: dict,
    *,
    by: str,
    note: str | None = None,
    at: datetime | None = None,
) -> EditRecord:
    """The next edit record (id `e<n>`), validated; `before`/`after` are filled by the caller."""
    stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = EditRecord(id=f"e{len(edits) + 1}", op=op, args=args, at=stamp, by=by, note=note)
    _check_record(record.to_dict(), len(edits))
    return record


def edits_json(edits: Iterable[EditRecord]) -> str:
    """The edits file's text: `{"schema_version": 1, "edits": [...]}`."""
    doc = {"schema_version": SCHEMA_VERSION, "edits": [e.to_dict() for e in edits]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def parse_edits(text: str) -> list[EditRecord]:
    """The records of an edits file's text; raises `EditsFileError` naming what is wrong."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditsFileError(f"not valid JSON ({exc}); fix or remove the file") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("edits"), list):
        raise EditsFileError('expected {"schema_version": 1, "edits": [...]}')
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise EditsFileError(
            f"schema_version {version!r}: this version reads {SCHEMA_VERSION}; "
            "use the feedback version that wrote it"
        )
    records = []
    for i, raw in enumerate(doc["edits"]):
        _check_record(raw, i)
        records.append(EditRecord(**{k: raw.get(k) for k in EditRecord.__dataclass_fields__}))
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        raise EditsFileError(f"edit ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    for i, r in enumerate(records):
        if r.op == "undo" and r.args["edit_id"] not in ids[:i]:
            raise EditsFileError(f"edit {r.id}: undoes {r.args['edit_id']}, no earlier edit")
    return records


def _check_record(raw: object, index: int) -> None:
    where = f"edit #{index + 1}"
    if not isinstance(raw, dict):
        raise EditsFileError(f"{where}: not an object")
    for key in ("id", "op", "args", "at", "by"):
        if key not in raw:
            raise EditsFileError(f"{where}: missing {key!r}")
    if not isinstance(raw["id"], str) or not raw["id"]:
        raise EditsFileError(f"{where}: id must be a non-empty string")
    where = f"edit {raw['id']}"
    if raw["op"] not in OPS:
        raise EditsFileError(f"{where}: unknown op {raw['op']!r} (one of {', '.join(OPS)})")
    args = raw["args"]
    if not isinstance(args, dict):
        raise EditsFileError(f"{where}: args must be an object")
    spec = _ARGS[raw["op"]]
    extra = set(args) - set(spec)
    if extra:
        raise EditsFileError(f"{where}: unexpected args {sorted(extra)}")
    for name, (kind, required) in spec.items():
        value = args.get(name)
        if value is None:
            if required:
                raise EditsFileError(f"{where}: {raw['op']} needs {name!r}")
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            raise EditsFileError(f"{where}: {name!r} must be {kind.__name__}, got {value!r}")
        if kind is str and not value.strip():
            raise EditsFileError(f"{where}: {name!r} is empty")


def undone_ids(edits: Sequence[EditRecord]) -> set[str]:
    """Ids of edits cancelled by an undo that is itself in force (undo of an undo redoes)."""
    undone: set[str] = set()
    for record in reversed(edits):  # an undo always names an earlier edit
        if record.op == "undo" and record.id not in undone:
            undone.add(record.args["edit_id"])
    return undone


def effective_edits(edits: Sequence[EditRecord]) -> list[EditRecord]:
    """The edits in force, in order: not undo records, not undone."""
    undone = undone_ids(edits)
    return [e for e in edits if e.op != "undo" and e.id not in undone]


def allocate_id(topics: pd.DataFrame, edits: Sequence[EditRecord]) -> int:
    """A new theme or parent id: above every topic, parent and earlier analyst id."""
    used = [ANALYST_ID_BASE - 1]
    for col in ("topic_id", "parent_id"):
        if col in topics:
            used.extend(int(v) for v in topics[col].dropna())
    for e in edits:
        used.extend(int(e.args[k]) for k in ("new_topic_id", "parent_id") if k in e.args)
    return max(used) + 1


# ---------------------------------------------------------------- applying


def apply_edits(
    *,
    topics: pd.DataFrame,
    comment_topics: pd.DataFrame,
    statements: pd.DataFrame,
    statement_texts: pd.Series,
    edits: Sequence[EditRecord],
    size_unit: Literal["statements", "comments"] = "statements",
) -> EditedThemes:
    """The run's theme tables with the edits in force applied in order.

    `topics`, `comment_topics`, `statements` are this run's tables, best before any edit;
    `statement_texts` holds each statement's text, aligned with `statements` by position.
    Tables that already hold the edits (a run whose earlier statements kept their edited
    theme) give the same result, except that an undo then only partly reverts: an undone
    split is folded back, an undone merge or hide makes the theme live again but leaves its
    earlier statements where the edit put them (a `--retrain` reassigns them).
    Comments whose statements changed theme get their `comment_topics` rows recomputed from
    their statements; comments without statements (older tables) follow merges and hides.
    Touched themes get `size` recounted in `size_unit` (statements, as the registry counts
    them; comments when there are no statements). An edit that no longer applies (its
    theme vanished, or an earlier edit merged or hid it) is listed in `skipped`.
    """
    if len(statement_texts) != len(statements):
        raise ValueError(
            f"statement_texts has {len(statement_texts)} rows, statements {len(statements)}"
        )
    in_force = effective_edits(edits)
    stale = {
        e.args["new_topic_id"]: e.args["topic_id"]
        for e in edits
        if e.op == "split" and e not in in_force
    }
    state = EditState.of(topics, statements, statement_texts, stale)
    applied, skipped = [], []
    for record in in_force:
        reason = APPLY[record.op](state, record.args)
        if reason is None:
            applied.append(record.id)
        else:
            skipped.append(SkippedEdit(record.id, record.describe(), reason))
    tables = state.tables(comment_topics, size_unit)
    return EditedThemes(*tables, applied, skipped, frozenset(state.touched))
