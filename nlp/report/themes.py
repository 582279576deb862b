"""The report's theme sections: themes grouped under their parents, with counts, the service
facet and quotes that mark the theme's statements inside their comments.

A program team reads a theme by its name first; its top words, comment count and where its
comments come from sit beside it. Counts are of comments containing the theme, once each.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from nlp.report.records import quote_window, records

QUOTES_PER_THEME = 3
SERVICES_SHOWN = 3
NOT_SHOWN = ("hidden", "merged")  # statuses the report leaves out (analyst edits)


def overall_rows(topic_csat: pd.DataFrame, level: str) -> pd.DataFrame:
    """The segment `all` rows of one level (rows without a level are theme rows)."""
    if topic_csat.empty:
        return topic_csat
    levels = topic_csat.get("level", pd.Series(index=topic_csat.index, dtype="string"))
    rows = topic_csat[topic_csat["segment"] == "all"]
    return rows[levels.reindex(rows.index).fillna("theme") == level]


def _stats(csat: pd.DataFrame, topic_id: Any) -> dict[str, Any]:
    """The score figures of one row of `csat` (indexed by topic_id), {} if it has none."""
    return records(csat.loc[[topic_id]].reset_index())[0] if topic_id in csat.index else {}


def _indexed(csat: pd.DataFrame) -> pd.DataFrame:
    return csat.drop_duplicates("topic_id").set_index("topic_id") if len(csat) else pd.DataFrame()


def _comment_counts(comment_topics: pd.DataFrame | None) -> pd.Series:
    """Comments per theme, each comment once (any comment_topics shape)."""
    if comment_topics is None or comment_topics.empty:
        return pd.Series(dtype="int64")
    m = comment_topics[["comment_id", "topic_id"]].dropna().drop_duplicates()
    return m.groupby("topic_id").size()


def service_lines(topic_services: pd.DataFrame | None) -> dict[Any, list[dict[str, Any]]]:
    """The top services of each theme: [{service, share}], most comments first."""
    if topic_services is None or topic_services.empty:
        return {}
    ts = topic_services.sort_values(["topic_id", "n", "service"], ascending=[True, False, True])
    return {
        t: records(g[["service", "share"]].head(SERVICES_SHOWN))
        for t, g in ts.groupby("topic_id", sort=False)
    }


def statement_quotes(
    statements: pd.DataFrame | None, texts: pd.Series, topic_id: Any, first_ids: list[str]
) -> list[dict[str, Any]]:
    """Up to QUOTES_PER_THEME of the theme's statements, one per comment, marked inside the
    comment: statements of `first_ids` (representative comments) first, then best scored."""
    if statements is None or statements.empty:
        return []
    s = statements[statements["topic_id"] == topic_id].dropna(subset=["start", "end"])
    rank = {c: i for i, c in enumerate(first_ids)}
    s = s.assign(
        _rank=s["comment_id"].map(rank).fillna(len(rank)),
        _score=-s["score"].astype("float64").fillna(0.0),
    )
    s = s.sort_values(["_rank", "_score", "comment_id", "statement_index"], kind="stable")
    quotes = []
    for row in s.drop_duplicates("comment_id").itertuples():
        text = texts.get(row.comment_id)
        start, end = int(row.start), int(row.end)
        if not isinstance(text, str) or not 0 <= start < end <= len(text):
            continue  # offsets of another version of the text: no quote rather than a wrong one
        quotes.append({"comment_id": row.comment_id, **quote_window(text, start, end)})
        if len(quotes) == QUOTES_PER_THEME:
            break
    return quotes


def _comment_quotes(texts: pd.Series, ids: list[str]) -> list[dict[str, Any]]:
    """Whole representative comments (no statement offsets known)."""
    return [
        {"comment_id": i, "before": texts.get(i, ""), "evidence": "", "after": ""}
        for i in ids[:QUOTES_PER_THEME]
    ]


def _statement_counts(statements: pd.DataFrame | None) -> tuple[pd.Series, int]:
    if statements is None or statements.empty:
        return pd.Series(dtype="int64"), 0
    return statements.dropna(subset=["topic_id"]).groupby("topic_id").size(), len(statements)


def theme_card(row: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """One theme's card: name, top words, counts, facet, score figures and quotes."""
    tid = row.topic_id
    ids = [i for i in (row.representative_ids or "").split("|") if i]
    n_statements, total = facts["statements"].get(tid), facts["total_statements"]
    quotes = statement_quotes(facts["statement_rows"], facts["texts"], tid, ids)
    guided = getattr(row, "guided_name", None)
    return {
        "topic_id": int(tid),
        "label": row.label if isinstance(row.label, str) else f"theme {tid}",
        "top_words": row.top_words if isinstance(row.top_words, str) else "",
        "size": int(row.size),
        "n_comments": int(facts["comments"].get(tid, row.size)),
        "statement_share": n_statements / total if n_statements and total else None,
        "status": row.status if isinstance(row.status, str) else None,
        "guided_name": guided if isinstance(guided, str) else None,
        "stats": _stats(facts["csat"], tid),
        "services": facts["services"].get(tid, []),
        "quotes": quotes or _comment_quotes(facts["texts"], ids),
    }


def _shown(topics: pd.DataFrame) -> pd.DataFrame:
    """Topics with documents this run, not hidden or merged by an analyst."""
    present = topics[topics["size"].fillna(0) > 0]
    return present[~present["status"].isin(NOT_SHOWN).fillna(False)]


def theme_groups(
    *,
    topics: pd.DataFrame,
    topic_csat: pd.DataFrame,
    comments: pd.DataFrame,
    comment_topics: pd.DataFrame | None = None,
    statements: pd.DataFrame | None = None,
    topic_services: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Themes grouped under their parents, largest group first.

    A group is {parent_id, label, n_comments, stats, children}; a parent with one shown child
    (a theme that is its own parent) or a theme without a parent is a group with
    `parent_id` None whose single child is shown plainly. A parent's comments are those in
    any of its children, once; its figures are the `level` parent rows of `topic_csat`.
    """
    counts, total = _statement_counts(statements)
    facts = {
        "texts": comments.set_index("comment_id")["text"],
        "csat": _indexed(overall_rows(topic_csat, "theme")),
        "comments": _comment_counts(comment_topics),
        "statements": counts,
        "total_statements": total,
        "statement_rows": statements,
        "services": service_lines(topic_services),
    }
    shown = _shown(topics)
    cards = [(getattr(r, "parent_id", None), theme_card(r, facts)) for r in shown.itertuples()]
    parents = _parent_facts(topics, topic_csat, comment_topics)
    return _grouped(cards, parents)


def _parent_facts(
    topics: pd.DataFrame, topic_csat: pd.DataFrame, comment_topics: pd.DataFrame | None
) -> dict[Any, dict[str, Any]]:
    """Per parent_id: label, comments in any child (once) and score figures."""
    if "parent_id" not in topics or topics["parent_id"].isna().all():
        return {}
    csat = _indexed(overall_rows(topic_csat, "parent"))
    links = topics[["topic_id", "parent_id"]].dropna()
    n: pd.Series = pd.Series(dtype="int64")
    if comment_topics is not None and len(comment_topics):
        m = comment_topics[["comment_id", "topic_id"]].dropna().merge(links, on="topic_id")
        n = m.drop_duplicates(["comment_id", "parent_id"]).groupby("parent_id").size()
    named = topics.dropna(subset=["parent_id"])
    if "parent_label" in named:
        named = named.sort_values("parent_label", key=lambda v: v.isna(), kind="stable")
    first = named.drop_duplicates("parent_id")
    labels = first.get("parent_label", pd.Series(None, index=first.index, dtype="string"))
    return {
        p: {
            "label": lab if isinstance(lab, str) else f"theme group {p}",
            "n_comments": int(n[p]) if p in n.index else None,
            "stats": _stats(csat, p),
        }
        for p, lab in zip(first["parent_id"], labels, strict=True)
    }


def _grouped(
    cards: list[tuple[Any, dict[str, Any]]], parents: dict[Any, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Cards under their parent's heading (two or more shown children), else alone."""
    by_parent: dict[Any, list[dict[str, Any]]] = {}
    groups = []
    for parent, card in cards:
        if parent is None or pd.isna(parent) or parent not in parents:
            groups.append({"parent_id": None, "children": [card]})
        else:
            by_parent.setdefault(parent, []).append(card)
    for parent, children in by_parent.items():
        children.sort(key=lambda c: -c["n_comments"])
        if len(children) == 1:
            groups.append({"parent_id": None, "children": children})
        else:
            groups.append({"parent_id": int(parent), **parents[parent], "children": children})
    for g in groups:
        size = sum(c["n_comments"] for c in g["children"])
        g.setdefault("n_comments", size)
        g["n_comments"] = g["n_comments"] if g["n_comments"] is not None else size
        g.setdefault("label", g["children"][0]["label"])
        g.setdefault("stats", {})
    return sorted(groups, key=lambda g: (-g["n_comments"], g["label"]))
