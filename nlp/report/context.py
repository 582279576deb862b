"""Static HTML report: run summary, pain-point briefs with traceable quotes, topics, drivers.

Builds a plain-data context from the output tables and renders the packaged Jinja template.
Every quote carries its comment_id so a reader can find it in the `comments` table.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2
import pandas as pd

TEMPLATES = resources.files("nlp.report") / "templates"
QUOTES_PER_THEME = 3
QUOTE_CONTEXT = 160  # characters of context shown either side of the evidence


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if _isna(v) else v) for k, v in row.items()} for row in df.to_dict("records")]


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def quote_window(text: str, start: int, end: int, context: int = QUOTE_CONTEXT) -> dict[str, str]:
    """The evidence with up to `context` characters either side, cut at word boundaries."""
    before, after = text[:start], text[end:]
    if len(before) > context:
        cut = before.find(" ", len(before) - context)
        before = "…" + before[cut + 1 if cut >= 0 else len(before) - context :]
    if len(after) > context:
        cut = after.rfind(" ", 0, context)
        after = after[: cut if cut > 0 else context] + "…"
    return {"before": before, "evidence": text[start:end], "after": after}


def pain_point_briefs(
    pain_points: pd.DataFrame,
    pain_point_csat: pd.DataFrame,
    comments: pd.DataFrame,
    category_names: dict[str, str],
) -> list[dict[str, Any]]:
    """One brief per category: volume, score figures, and quotes with the evidence marked."""
    texts = comments.set_index("comment_id")["text"]
    csat = pain_point_csat.set_index("category") if len(pain_point_csat) else pd.DataFrame()
    pains = pain_points[pain_points["is_pain_point"].fillna(False)]
    briefs = []
    for cat, group in pains.groupby("category"):
        quotes = []
        for row in group.drop_duplicates("comment_id").head(QUOTES_PER_THEME).itertuples():
            text = texts.get(row.comment_id, "")
            quotes.append({"comment_id": row.comment_id, **quote_window(text, row.start, row.end)})
        stats = _records(csat.loc[[cat]].reset_index())[0] if cat in csat.index else {}
        briefs.append(
            {
                "category": cat,
                "name": category_names.get(cat, cat),
                "mentions": int(group["comment_id"].nunique()),
                "stats": stats,
                "quotes": quotes,
            }
        )
    return sorted(briefs, key=lambda b: -b["mentions"])


def topic_sections(
    topics: pd.DataFrame, topic_csat: pd.DataFrame, comments: pd.DataFrame
) -> list[dict[str, Any]]:
    """Topics by size, with score figures and representative quotes."""
    texts = comments.set_index("comment_id")["text"]
    csat = topic_csat.set_index("topic_id") if len(topic_csat) else pd.DataFrame()
    out = []
    present = topics[topics["size"].fillna(0) > 0]  # dormant registry topics are not shown
    for row in present.sort_values("size", ascending=False).itertuples():
        ids = [i for i in (row.representative_ids or "").split("|") if i]
        out.append(
            {
                "topic_id": int(row.topic_id),
                "label": row.label,
                "top_words": row.top_words,
                "size": int(row.size),
                "status": row.status,
                "guided_name": name
                if isinstance(name := getattr(row, "guided_name", None), str)
                else None,
                "stats": _records(csat.loc[[row.topic_id]].reset_index())[0]
                if row.topic_id in csat.index
                else {},
                "quotes": [{"comment_id": i, "text": texts.get(i, "")} for i in ids],
            }
        )
    return out


def driver_rows(
    pain_point_csat: pd.DataFrame, topic_csat: pd.DataFrame, category_names: dict[str, str]
) -> list[dict[str, Any]]:
    """Topics and pain points in one list, most negative total impact (impact x share) first."""
    rows = [
        {**r, "name": category_names.get(r["category"], r["category"]), "kind": "pain point"}
        for r in _records(pain_point_csat)
    ] + [{**r, "name": r["label"], "kind": "topic"} for r in _records(topic_csat)]

    def total_impact(r: dict[str, Any]) -> float:
        return 0.0 if r["suppressed"] else (r["total_impact"] or 0.0)

    return sorted(rows, key=total_impact)


def _theme_names(
    theme_type: pd.Series, theme: pd.Series, topics: pd.DataFrame, category_names: dict[str, str]
) -> list[str]:
    labels = {str(k): v for k, v in topics.set_index("topic_id")["label"].items()}
    return [
        labels.get(th, f"topic {th}") if tt == "topic" else category_names.get(th, th)
        for tt, th in zip(theme_type, theme, strict=True)
    ]


def emerging_rows(
    trends: pd.DataFrame, topics: pd.DataFrame, category_names: dict[str, str]
) -> list[dict[str, Any]]:
    """Themes flagged emerging in the latest period, all services and per service."""
    if trends.empty:
        return []
    latest = trends[(trends["period"] == trends["period"].max()) & trends["emerging"].fillna(False)]
    latest = latest.assign(
        name=_theme_names(latest["theme_type"], latest["theme"], topics, category_names)
    )
    return _records(latest.sort_values(["service", "p_value"]))


def gap_rows(
    gaps: pd.DataFrame, topics: pd.DataFrame, category_names: dict[str, str]
) -> list[dict[str, Any]]:
    """Segment x theme pairs scoring significantly below the rest of the segment, worst first."""
    sig = gaps[gaps["significant_gap"].fillna(False)]
    sig = sig.assign(name=_theme_names(sig["theme_type"], sig["theme"], topics, category_names))
    return _records(sig.sort_values("gap"))


def report_context(
    tables: dict[str, pd.DataFrame],
    category_names: dict[str, str],
    min_n: int,
    topics_skipped: str | None,
) -> dict[str, Any]:
    """Everything the template shows, as plain data, from this run's output tables."""
    reasons = tables["quarantine"].groupby("reason").size().reset_index(name="n")
    overall = {
        name: tables[name][tables[name]["segment"] == "all"]
        for name in ("topic_csat", "pain_point_csat")
    }
    return {
        "summary": _records(tables["run_summary"].head(1))[0],
        "quarantine_reasons": _records(reasons),
        "min_n": min_n,
        "briefs": pain_point_briefs(
            tables["pain_points"], overall["pain_point_csat"], tables["comments"], category_names
        ),
        "drivers": driver_rows(overall["pain_point_csat"], overall["topic_csat"], category_names),
        "topics": topic_sections(tables["topics"], overall["topic_csat"], tables["comments"]),
        "emerging": emerging_rows(tables["trends"], tables["topics"], category_names),
        "gaps": gap_rows(tables["driver_gaps"], tables["topics"], category_names),
        "topics_skipped": topics_skipped,
    }


def render_report(context: dict[str, Any]) -> str:
    """Render the HTML report from `report_context(...)`."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: (
                resources.files("nlp.report").joinpath("templates", name).read_text("utf-8")
            )
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["num"] = _num
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f}%"
    return env.get_template("report.html").render(**context)


def _num(value: Any, digits: int = 1) -> str:
    if value is None or _isna(value):
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"
