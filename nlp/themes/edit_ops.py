"""How analyst edits change a run's theme tables (the engine behind `edits.apply_edits`):
each op on the topic rows and statement assignments, then `comment_topics` recomputed for the
comments whose statements changed theme, and the touched themes' sizes recounted."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nlp.schemas import conform

GONE = ("merged", "hidden")  # statuses an edit gives: the theme is no longer shown
ANALYST = "analyst"  # topics.name_source of a renamed (or split) theme


def phrase_pattern(phrase: str) -> re.Pattern:
    """Case-insensitive, whole words, any run of whitespace between the phrase's words."""
    words = phrase.split()
    return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)


@dataclass
class EditState:
    """The themes being edited: topic rows by id, each statement's theme, redirects."""

    rows: dict[int, dict]
    statements: pd.DataFrame
    texts: np.ndarray
    assign: np.ndarray  # object array: topic id or None per statement
    parents: dict[int, str | None]
    redirect: dict[int, int | None] = field(default_factory=dict)  # merged / hidden ids
    touched: set[int] = field(default_factory=set)
    gone_before: set[int] = field(default_factory=set)  # merged / hidden in the input tables

    @classmethod
    def of(
        cls,
        topics: pd.DataFrame,
        statements: pd.DataFrame,
        texts: pd.Series,
        stale_splits: dict[int, int],
    ) -> EditState:
        """The state of the input tables. Tables a run already edited are accepted: a split
        no longer in force (`stale_splits`: its new id -> the split theme) is folded back."""
        topics = conform(topics, "topics")
        rows = {int(r["topic_id"]): r for r in topics.to_dict("records")}
        for new, source in stale_splits.items():
            if new in rows and _split_from(rows[new], source):
                del rows[new]
        parents = {
            int(r["parent_id"]): r["parent_label"]
            for r in rows.values()
            if not pd.isna(r["parent_id"])
        }
        statements = conform(statements, "statements")
        ids = statements["topic_id"]
        if stale_splits:
            ids = ids.replace(stale_splits)
        assign = ids.to_numpy(dtype=object, na_value=None)
        gone = {tid for tid, r in rows.items() if r["status"] in GONE}
        texts_ = texts.astype("string").fillna("").to_numpy()
        return cls(rows, statements, texts_, assign, parents, gone_before=gone)

    def problem(self, topic_id: int, *, live: bool = True) -> str | None:
        """Why theme `topic_id` cannot be edited (None when it can)."""
        if topic_id not in self.rows:
            return f"theme {topic_id} no longer exists"
        if live and topic_id in self.redirect:
            into = self.redirect[topic_id]
            return f"theme {topic_id} is " + ("hidden" if into is None else f"merged into {into}")
        return None

    def reassign(self, mask: np.ndarray, topic_id: int | None) -> None:
        self.touched.update(int(t) for t in self.assign[mask] if t is not None)
        self.assign[mask] = topic_id

    def tables(
        self, comment_topics: pd.DataFrame, size_unit: str
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(topics, comment_topics, statements) after the ops applied so far."""
        statements = self.statements.copy()
        statements["topic_id"] = pd.array(list(self.assign), dtype="Int64")
        changed = _changed_comments(self.statements, statements)
        ct = _edited_comment_topics(
            conform(comment_topics, "comment_topics"), statements, changed, self._resolve
        )
        counts = _counts(ct, statements, size_unit)
        for tid in self.gone_before - set(self.redirect):  # its merge / hide was undone
            self.rows[tid]["status"] = "active" if counts.get(tid) else "dormant"
            self.touched.add(tid)
        for tid in self.touched & set(self.rows):
            self.rows[tid]["size"] = 0 if self.rows[tid]["status"] in GONE else counts.get(tid, 0)
        topics = conform(pd.DataFrame(list(self.rows.values())), "topics")
        topics = topics.sort_values("topic_id", kind="stable").reset_index(drop=True)
        return topics, ct, statements

    def _resolve(self, topic_id: int | None) -> int | None:
        seen = set()
        while topic_id in self.redirect and topic_id not in seen:
            seen.add(topic_id)
            topic_id = self.redirect[topic_id]
        return topic_id


def _rename(state: EditState, args: dict) -> str | None:
    tid = args["topic_id"]
    if problem := state.problem(tid, live=False):
        return problem
    state.rows[tid].update(label=args["name"].strip(), name_source=ANALYST)
    state.touched.add(tid)
    return None


def _merge(state: EditState, args: dict) -> str | None:
    source, target = args["topic_id"], args["into"]
    if source == target:
        return f"theme {source} cannot be merged into itself"
    if problem := state.problem(source) or state.problem(target):
        return problem
    state.reassign(state.assign == source, target)
    state.redirect[source] = target
    state.rows[source]["status"] = "merged"
    state.touched.update((source, target))
    return None


def _move(state: EditState, args: dict) -> str | None:
    tid, parent = args["topic_id"], args["parent_id"]
    if problem := state.problem(tid, live=False):
        return problem
    if args.get("parent_name"):
        state.parents.setdefault(parent, args["parent_name"].strip())
    elif parent not in state.parents:
        return f"parent theme {parent} no longer exists"
    state.rows[tid].update(parent_id=parent, parent_label=state.parents[parent])
    state.touched.add(tid)
    return None


def _split(state: EditState, args: dict) -> str | None:
    source, new = args["topic_id"], args["new_topic_id"]
    if problem := state.problem(source):
        return problem
    existing = state.rows.get(new)
    if existing is not None and not _split_from(existing, source):
        return f"new theme id {new} is already taken by another theme"
    pattern = phrase_pattern(args["phrase"])
    mask = state.assign == source
    mask[mask] = [bool(pattern.search(t)) for t in state.texts[mask]]
    state.reassign(mask, new)
    members = state.statements.loc[state.assign == new]  # (tables already split: those too)
    reps = members.sort_values("score", ascending=False, kind="stable")["comment_id"]
    state.rows[new] = {
        **state.rows[source],
        "topic_id": new,
        "label": (args.get("name") or args["phrase"]).strip(),
        "top_words": args["phrase"].strip(),
        "status": "active" if len(members) else "dormant",
        "parent_topic_id": source,
        "representative_ids": "|".join(list(dict.fromkeys(reps))[:3]) or None,
        "guided_name": None,
        "name_source": ANALYST,
    }
    state.touched.update((source, new))
    return None


def _split_from(row: dict, source: int) -> bool:
    """Whether topic `row` is the theme a split of `source` made (tables already edited)."""
    parent = row.get("parent_topic_id")
    return row.get("name_source") == ANALYST and not pd.isna(parent) and int(parent) == source


def _hide(state: EditState, args: dict) -> str | None:
    tid = args["topic_id"]
    if problem := state.problem(tid):
        return problem
    state.reassign(state.assign == tid, None)
    state.redirect[tid] = None
    state.rows[tid]["status"] = "hidden"
    state.touched.add(tid)
    return None


APPLY = {"rename": _rename, "merge": _merge, "move": _move, "split": _split, "hide": _hide}


# ---------------------------------------------------------------- comment_topics


def comment_topics_from_statements(
    statements: pd.DataFrame, comment_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """`comment_topics` rows from statements (comment_id, topic_id, score): per (comment,
    theme) the statement count, its share of the comment's statements and the mean statement
    score; `is_primary` marks the theme with most statements (ties: higher score, then lower
    id). A comment none of whose statements has a theme gets one row with topic_id null (all
    its statements, share 1). Rows follow `comment_ids` (default: the statements' order); a
    listed comment without statements gets a null row with 0 statements. No spaCy here, so
    `feedback themes` stays quick."""
    st = statements[["comment_id", "topic_id", "score"]]
    seen = dict.fromkeys(st["comment_id"].to_numpy(dtype=object))
    ids = list(seen) if comment_ids is None else list(dict.fromkeys([*comment_ids, *seen]))
    total = st.groupby("comment_id", sort=False).size()
    totals = dict(zip(total.index.to_numpy(dtype=object), total.to_numpy(), strict=True))
    themed = st[st["topic_id"].notna()]
    grouped = (
        themed.groupby(["comment_id", "topic_id"], sort=False)
        .agg(statements=("score", "size"), score=("score", "mean"))
        .reset_index()
    )
    grouped["share"] = grouped["statements"].to_numpy() / _lookup(grouped["comment_id"], totals)
    grouped = grouped.sort_values(
        ["comment_id", "statements", "score", "topic_id"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    grouped["is_primary"] = ~grouped["comment_id"].duplicated()
    has_theme = set(themed["comment_id"].to_numpy(dtype=object))
    none = [c for c in ids if c not in has_theme]
    unthemed = pd.DataFrame(
        {
            "comment_id": pd.Series(none, dtype=object),
            "topic_id": pd.array([None] * len(none), dtype="Int64"),
            "score": np.nan,
            "statements": np.array([totals.get(c, 0) for c in none], dtype="int64"),
            "share": 1.0,
            "is_primary": True,
        }
    )
    out = pd.concat([grouped, unthemed], ignore_index=True) if none else grouped
    order = {c: i for i, c in enumerate(ids)}
    out = out.iloc[np.argsort(_lookup(out["comment_id"], order), kind="stable")]
    return conform(out, "comment_topics")


def _member(ids, values: set) -> np.ndarray:
    """`ids.isin(values)` through a Python set: Arrow strings' `isin` is 20x slower."""
    return np.fromiter((c in values for c in ids.to_numpy(dtype=object)), bool, len(ids))


def _lookup(ids, table: dict, default: float = np.inf) -> np.ndarray:
    """`table[id]` per id (`default` when missing), as floats."""
    return np.fromiter((table.get(c, default) for c in ids.to_numpy(dtype=object)), float, len(ids))


def _changed_comments(before: pd.DataFrame, after: pd.DataFrame) -> set[str]:
    old = before["topic_id"].fillna(-1).to_numpy()
    new = after["topic_id"].fillna(-1).to_numpy()
    return set(after.loc[old != new, "comment_id"].to_numpy(dtype=object))


def _edited_comment_topics(
    comment_topics: pd.DataFrame, statements: pd.DataFrame, changed: set[str], resolve
) -> pd.DataFrame:
    """Rows of comments whose statements changed, recomputed; comments without statements
    follow merges and hides (`resolve`); the others unchanged, in their original order."""
    with_statements = set(statements["comment_id"].to_numpy(dtype=object))
    ids = comment_topics["comment_id"]
    keep = comment_topics[~_member(ids, changed | with_statements)]
    plain = comment_topics[_member(ids, with_statements - changed)]
    in_changed = _member(statements["comment_id"], changed)
    recomputed = comment_topics_from_statements(statements[in_changed])
    followed = _follow_redirects(keep, resolve)
    out = pd.concat([plain, recomputed, followed], ignore_index=True)
    order = {c: i for i, c in enumerate(dict.fromkeys(ids.to_numpy(dtype=object)))}
    rank = _lookup(out["comment_id"], order, default=len(order))
    out = out.iloc[np.argsort(rank, kind="stable")]
    return conform(out, "comment_topics")


def _follow_redirects(rows: pd.DataFrame, resolve) -> pd.DataFrame:
    """Comment rows (no statements) with merged themes mapped to their target, hidden ones to
    null; duplicate (comment, theme) rows combined; a comment keeps one primary row."""
    if rows.empty:
        return rows
    rows = rows.copy()
    mapped = [resolve(None if pd.isna(t) else int(t)) for t in rows["topic_id"]]
    if mapped == [None if pd.isna(t) else int(t) for t in rows["topic_id"]]:
        return rows
    rows["topic_id"] = pd.array(mapped, dtype="Int64")
    rows["_order"] = np.arange(len(rows))
    has_theme = rows.groupby("comment_id")["topic_id"].transform(lambda s: s.notna().any())
    rows = rows[rows["topic_id"].notna() | ~has_theme]
    combined = (
        rows.groupby(["comment_id", "topic_id"], dropna=False, sort=False)
        .agg(
            score=("score", "max"),
            statements=("statements", lambda s: s.sum(min_count=1)),
            share=("share", lambda s: s.sum(min_count=1)),
            is_primary=("is_primary", lambda s: bool(s.fillna(False).any())),
            _order=("_order", "min"),
        )
        .reset_index()
        .sort_values("_order", kind="stable")
    )
    combined = combined.sort_values(
        ["comment_id", "is_primary", "share", "score"],
        ascending=[True, False, False, False],
        kind="stable",
        na_position="last",
    )
    combined["is_primary"] = ~combined["comment_id"].duplicated()
    return combined.sort_values("_order", kind="stable").drop(columns="_order")


def _counts(comment_topics: pd.DataFrame, statements: pd.DataFrame, unit: str) -> dict[int, int]:
    """Theme sizes: comments containing the theme, or its statements."""
    if unit == "statements" and len(statements):
        ids = statements["topic_id"].dropna()
    else:
        ids = comment_topics.drop_duplicates(["comment_id", "topic_id"])["topic_id"].dropna()
    return {int(k): int(v) for k, v in ids.value_counts().items()}
