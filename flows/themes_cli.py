"""`feedback themes ...`: list and show an output directory's themes, and record analyst edits
(rename, merge, move, split, hide, undo) in `<out>/models/theme_edits.json`.

Edits are recorded, not applied here: the next `feedback run` on the directory applies them
(`nlp.themes.edits.apply_edits`), so the report and tables change together. Reading takes
no lock (the database is replaced atomically); recording an edit holds the directory's run
lock, so an edit never races a nightly run. No Prefect, no models: this is quick.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated, NoReturn

import pandas as pd
import typer

from flows.io.theme_edits import (
    Snapshot,
    ThemesError,
    edits_path,
    load_edits,
    read_snapshot,
    save_edits,
)
from nlp.themes.edits import (
    EditedThemes,
    EditRecord,
    EditsFileError,
    allocate_id,
    new_record,
    undone_ids,
)

themes_app = typer.Typer(
    no_args_is_help=True,
    help="List and show themes; rename, merge, move, split or hide them (applied next run).",
)
Opt, Arg = typer.Option, typer.Argument
OutOpt = Annotated[Path, Opt("--out", help="Output directory of `feedback run`.")]
ByOpt = Annotated[str | None, Opt("--by", help="Who makes the edit (default: $USER).")]
NoteOpt = Annotated[str | None, Opt("--note", help="Why (kept in the audit trail).")]
WaitOpt = Annotated[
    float, Opt("--lock-timeout", help="Seconds to wait for a run on --out to finish.")
]
IdArg = Annotated[int, Arg(help="Theme id (see `feedback themes list`).")]
EXAMPLES = 5


# ---------------------------------------------------------------- read commands


@themes_app.command("list")
def list_themes(*, out: OutOpt) -> None:
    """Every theme: id, name, parent, size, status and whether an edit changed it."""
    snap, edits = _snapshot_or_exit(out)
    view = snap.view(edits)
    rows = [("id", "name", "parent", "size", "status", "edited")]
    for t in view.topics.itertuples(index=False):
        parent = "-" if pd.isna(t.parent_id) else f"{t.parent_id} {t.parent_label or ''}".strip()
        edited = "yes" if int(t.topic_id) in view.edited_topic_ids else ""
        rows.append((str(t.topic_id), str(t.label), parent, str(t.size), str(t.status), edited))
    typer.echo(_columns(rows))
    _echo_edit_summary(out, edits, view)


@themes_app.command()
def show(*, topic_id: IdArg, out: OutOpt) -> None:
    """One theme: name, top words, parent, size and example statements."""
    snap, edits = _snapshot_or_exit(out)
    view = snap.view(edits)
    try:
        row = _theme_row(view, topic_id, out)
    except ThemesError as exc:
        _fail(exc)
    parent = "-" if pd.isna(row["parent_id"]) else f"{row['parent_id']} {row['parent_label']}"
    typer.echo(f"theme {topic_id}: {row['label']}")
    typer.echo(f"  status {row['status']}, size {row['size']}, parent {parent}")
    typer.echo(f"  name from {row['name_source'] or '?'}; top words: {row['top_words'] or '-'}")
    st = view.statements.assign(text=snap.statement_texts.to_numpy())
    mine = st[st["topic_id"] == topic_id].sort_values("score", ascending=False, kind="stable")
    if len(snap.statements):
        typer.echo(f"  example statements ({min(EXAMPLES, len(mine))} of {len(mine)}):")
        for s in mine.head(EXAMPLES).itertuples(index=False):
            typer.echo(f'    [{s.comment_id}] "{s.text}"')
        return
    ct = view.comment_topics
    ids = ct[ct["topic_id"] == topic_id].sort_values("score", ascending=False)["comment_id"]
    typer.echo(f"  comments (ids only: no statements table yet): {', '.join(ids.head(EXAMPLES))}")


@themes_app.command("edits")
def list_edits(*, out: OutOpt) -> None:
    """The audit trail: every edit, who made it and when, before and after, and its state."""
    snap, edits = _snapshot_or_exit(out)
    if not edits:
        typer.echo(f"no edits recorded in {edits_path(out)}")
        return
    view = snap.view(edits)
    skipped = {s.edit_id: s.reason for s in view.skipped}
    undone = undone_ids(edits)
    for e in edits:
        if e.id in undone:
            state = "undone"
        elif e.id in skipped:
            state = f"not applied: {skipped[e.id]}"
        elif _pending(e, snap):
            state = "pending (applies on the next run)"
        else:
            state = "applied" if e.op != "undo" else "in force"
        typer.echo(f"{e.id}  {e.at}  {e.by}  {e.describe()}  [{state}]")
        for label, part in (("before", e.before), ("after", e.after)):
            for key, value in (part or {}).items():
                typer.echo(f"      {label} {key}: {_state_text(value)}")
        if e.note:
            typer.echo(f"      note: {e.note}")


# ---------------------------------------------------------------- edit commands


@themes_app.command()
def rename(
    *,
    topic_id: IdArg,
    name: Annotated[str, Arg(help="The theme's new name.")],
    out: OutOpt,
    by: ByOpt = None,
    note: NoteOpt = None,
    lock_timeout: WaitOpt = 60.0,
) -> None:
    """Rename a theme (its name_source becomes `analyst`)."""
    _record(out, "rename", {"topic_id": topic_id, "name": name.strip()}, by, note, lock_timeout)


@themes_app.command()
def merge(
    *,
    topic_id: Annotated[int, Arg(help="The theme merged away (hidden, status merged).")],
    into: Annotated[int, Arg(help="The theme that takes its statements.")],
    out: OutOpt,
    by: ByOpt = None,
    note: NoteOpt = None,
    lock_timeout: WaitOpt = 60.0,
) -> None:
    """Merge theme A into theme B: A's statements go to B and A is hidden (status merged)."""
    _record(out, "merge", {"topic_id": topic_id, "into": into}, by, note, lock_timeout)


@themes_app.command()
def move(
    *,
    topic_id: IdArg,
    out: OutOpt,
    parent: Annotated[int | None, Opt("--parent", help="An existing parent theme id.")] = None,
    parent_name: Annotated[
        str | None, Opt("--parent-name", help="A parent by name (new unless one has it).")
    ] = None,
    by: ByOpt = None,
    note: NoteOpt = None,
    lock_timeout: WaitOpt = 60.0,
) -> None:
    """Group a theme under another parent theme (--parent ID) or a named one (--parent-name)."""
    if (parent is None) == (parent_name is None or not parent_name.strip()):
        _fail(ThemesError("give one of --parent ID or --parent-name NAME"))
    _record(
        out,
        "move",
        {"topic_id": topic_id, "parent_id": parent, "parent_name": parent_name},
        by,
        note,
        lock_timeout,
    )


@themes_app.command()
def split(
    *,
    topic_id: IdArg,
    phrase: Annotated[str, Arg(help="Statements containing it (whole words) move out.")],
    out: OutOpt,
    name: Annotated[str | None, Opt("--name", help="The new theme's name.")] = None,
    by: ByOpt = None,
    note: NoteOpt = None,
    lock_timeout: WaitOpt = 60.0,
) -> None:
    """Split a theme: its statements containing PHRASE go to a new theme (a new stable id)."""
    args = {"topic_id": topic_id, "phrase": phrase.strip(), "new_topic_id": None, "name": name}
    _record(out, "split", args, by, note, lock_timeout)


@themes_app.command()
def hide(
    *,
    topic_id: IdArg,
    out: OutOpt,
    by: ByOpt = None,
    note: NoteOpt = None,
    lock_timeout: WaitOpt = 60.0,
) -> None:
    """Hide a theme: not shown in the report; its statements become unassigned."""
    _record(out, "hide", {"topic_id": topic_id}, by, note, lock_timeout)


@themes_app.command()
def undo(
    *,
    edit_id: Annotated[str, Arg(help="The edit to revert (see `feedback themes edits`).")],
    out: OutOpt,
    by: ByOpt = None,
    note: NoteOpt = None,
    lock_timeout: WaitOpt = 60.0,
) -> None:
    """Revert one edit (recorded as a new edit; undo an undo to redo)."""
    edit_id = edit_id if edit_id.startswith("e") else f"e{edit_id}"
    _record(out, "undo", {"edit_id": edit_id}, by, note, lock_timeout)


def _record(out: Path, op: str, args: dict, by, note, lock_timeout: float) -> None:
    """Check the edit against the themes as they stand, then append it under the run lock."""
    from flows.lock import OutputDirectoryError, RunLockedError, run_lock

    try:
        read_snapshot(out)  # before the lock: never create a missing directory
        with run_lock(out, timeout=lock_timeout, on_wait=_warn, command="feedback themes"):
            edits = load_edits(out)
            snap = read_snapshot(out)
            record = _checked_record(snap, edits, op, args, by=by or _user(), note=note)
            save_edits(out, [*edits, record])
    except (ThemesError, EditsFileError, RunLockedError, OutputDirectoryError) as exc:
        _fail(exc)
    typer.echo(f"recorded {record.id} by {record.by}: {record.describe()}")
    for key, value in record.after.items():
        typer.echo(f"  {key}: {_state_text(record.before.get(key))} -> {_state_text(value)}")
    typer.echo(
        f"It applies on the next run (`feedback run ... --out {out}`); "
        f"`feedback themes edits --out {out}` lists every edit."
    )


def _checked_record(
    snap: Snapshot, edits: list[EditRecord], op: str, args: dict, *, by: str, note: str | None
) -> EditRecord:
    """The new edit with ids allocated and `before`/`after` filled, or a `ThemesError`."""
    view = snap.view(edits)
    args = _resolved_args(snap, view, edits, op, args)
    record = new_record(edits, op, args, by=by, note=note)
    trial = snap.view([*edits, record])
    failed = [s for s in trial.skipped if s.edit_id == record.id]
    if failed:
        raise ThemesError(f"{snap.out}: cannot {record.describe()}: {failed[0].reason}")
    ids = _involved(record, edits)
    before = {str(t): _theme_state(view, t) for t in ids}
    after = {str(t): _theme_state(trial, t) for t in ids}
    return replace(record, before=before, after=after)


def _resolved_args(
    snap: Snapshot, view: EditedThemes, edits: list[EditRecord], op: str, args: dict
) -> dict:
    """Check the ids a user gave; allocate a split's new id or a new parent's id."""
    if op == "undo":
        target = args["edit_id"]
        if target not in {e.id for e in edits}:
            raise ThemesError(f"no edit {target}; `feedback themes edits` lists them")
        if target in undone_ids(edits):
            raise ThemesError(f"edit {target} is already undone (undo its undo to redo it)")
        return args
    for key in ("topic_id", "into"):
        if key in args:
            _theme_row(view, args[key], snap.out)
    if op == "split":
        return {**args, "new_topic_id": allocate_id(view.topics, edits)}
    if op == "move":
        return _move_args(pd.concat([view.topics, snap.topics]), edits, args)
    return args


def _move_args(topics: pd.DataFrame, edits: list[EditRecord], args: dict) -> dict:
    """A known parent id (the run's, or made by an earlier move), or one for a new name."""
    parents = topics.dropna(subset=["parent_id"]).drop_duplicates("parent_id")
    pairs = zip(parents["parent_id"], parents["parent_label"], strict=True)
    labels = {int(p): str(lab) for p, lab in pairs}
    if args["parent_id"] is not None:
        if args["parent_id"] not in labels:
            known = ", ".join(f"{p} {lab}" for p, lab in sorted(labels.items())) or "none"
            raise ThemesError(
                f"no parent theme {args['parent_id']} (parents: {known}); "
                "use --parent-name NAME to make a new one"
            )
        return {**args, "parent_name": None}
    name = args["parent_name"].strip()
    same = [p for p, lab in labels.items() if lab.casefold() == name.casefold()]
    if same:
        return {**args, "parent_id": same[0], "parent_name": None}
    return {**args, "parent_id": allocate_id(topics, edits), "parent_name": name}


def _involved(record: EditRecord, edits: list[EditRecord]) -> list[int]:
    if record.op == "undo":
        target = next(e for e in edits if e.id == record.args["edit_id"])
        return _involved(target, edits)
    keys = ("topic_id", "into", "new_topic_id")
    return [record.args[k] for k in keys if record.args.get(k) is not None]


def _theme_state(view: EditedThemes, topic_id: int) -> dict | None:
    rows = view.topics[view.topics["topic_id"] == topic_id]
    if rows.empty:
        return None
    r = rows.iloc[0]
    statements = int((view.statements["topic_id"] == topic_id).sum())
    parent = None if pd.isna(r["parent_id"]) else int(r["parent_id"])
    return {
        "name": r["label"],
        "status": r["status"],
        "size": int(r["size"]) if not pd.isna(r["size"]) else 0,
        "statements": statements,
        "parent_id": parent,
        "parent_label": None if parent is None else r["parent_label"],
    }


# ---------------------------------------------------------------- helpers


def _snapshot_or_exit(out: Path) -> tuple[Snapshot, list[EditRecord]]:
    try:
        return read_snapshot(out), load_edits(out)
    except ThemesError as exc:
        _fail(exc)


def _theme_row(view: EditedThemes, topic_id: int, out: Path) -> dict:
    """Theme `topic_id`'s row (edits applied), or a `ThemesError` saying where to look."""
    rows = view.topics[view.topics["topic_id"] == topic_id]
    if rows.empty:
        raise ThemesError(f"no theme {topic_id}; `feedback themes list --out {out}` shows the ids")
    return rows.iloc[0].to_dict()


def _pending(edit: EditRecord, snap: Snapshot) -> bool:
    if snap.last_run_started is None:
        return True
    at = pd.Timestamp(edit.at)
    started = snap.last_run_started
    if started.tzinfo is None:
        started = started.tz_localize("UTC")
    return at > started


def _echo_edit_summary(out: Path, edits: list[EditRecord], view: EditedThemes) -> None:
    if not edits:
        return
    typer.echo(f"\n{len(edits)} edits in {edits_path(out)} (shown applied; a run applies them)")
    for s in view.skipped:
        typer.echo(f"  {s.message()}")


def _state_text(state: dict | None) -> str:
    if not state:
        return "(none)"
    parent = f", parent {state['parent_id']}" if state.get("parent_id") is not None else ""
    return (
        f'"{state["name"]}" {state["status"]}, size {state["size"]}, '
        f"{state['statements']} statement{'' if state['statements'] == 1 else 's'}{parent}"
    )


def _columns(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _user() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _warn(message: str) -> None:
    typer.echo(message, err=True)


def _fail(exc: Exception) -> NoReturn:
    """A user error: its message on stderr, exit code 2, no traceback."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2) from exc
