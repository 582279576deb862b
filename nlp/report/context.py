"""Static HTML report: run summary, pain-point briefs with traceable quotes, themes, drivers.

Builds a plain-data context from the output tables and renders the packaged Jinja template.
Every quote carries its comment_id so a reader can find it in the `comments` table. Themes
are grouped under their parents (`nlp.report.themes`); every count is of comments, once each.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2
import pandas as pd

from nlp.report.records import QUOTE_CONTEXT, quote_window
from nlp.report.records import isna as _isna
from nlp.report.records import records as _records
from nlp.report.themes import QUOTES_PER_THEME, overall_rows, theme_groups

__all__ = ["QUOTE_CONTEXT", "quote_window", "render_report", "report_context"]

TEMPLATES = resources.files("nlp.report") / "templates"


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


def driver_rows(
    pain_point_csat: pd.DataFrame,
    topic_csat: pd.DataFrame,
    category_names: dict[str, str],
    groups: dict[Any, str] | None = None,
) -> list[dict[str, Any]]:
    """Themes and pain points in one list, most negative total impact (impact x share) first.

    `topic_csat` holds theme rows; `groups` names the parent a theme is shown under.
    """
    groups = groups or {}
    rows = [
        {
            **r,
            "name": category_names.get(r["category"], r["category"]),
            "kind": "pain point",
            "group": None,
        }
        for r in _records(pain_point_csat)
    ] + [
        {**r, "name": r["label"], "kind": "theme", "group": groups.get(r["topic_id"])}
        for r in _records(topic_csat)
    ]

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
    """Everything the template shows, as plain data, from this run's output tables.

    Optional tables: `comment_topics` (comment counts per theme and parent), `statements`
    (quotes mark the theme's statements; "x% of statements") and `topic_services` (the
    service facet); without them themes show their size and representative comments.
    """
    reasons = tables["quarantine"].groupby("reason").size().reset_index(name="n")
    ppc = tables["pain_point_csat"]
    themes = theme_groups(
        topics=tables["topics"],
        topic_csat=tables["topic_csat"],
        comments=tables["comments"],
        comment_topics=tables.get("comment_topics"),
        statements=tables.get("statements"),
        topic_services=tables.get("topic_services"),
    )
    grouped = {
        c["topic_id"]: g["label"]
        for g in themes
        if g["parent_id"] is not None
        for c in g["children"]
    }
    return {
        "summary": _records(tables["run_summary"].head(1))[0],
        "quarantine_reasons": _records(reasons),
        "min_n": min_n,
        "briefs": pain_point_briefs(
            tables["pain_points"], ppc[ppc["segment"] == "all"], tables["comments"], category_names
        ),
        "drivers": driver_rows(
            ppc[ppc["segment"] == "all"],
            overall_rows(tables["topic_csat"], "theme"),
            category_names,
            grouped,
        ),
        "themes": themes,
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
