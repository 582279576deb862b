from __future__ import annotations

import pandas as pd

from nlp.report.context import quote_window, render_report, report_context
from nlp.schemas import conform


def _tables():
    text = "Staff were kind <script>alert(1)</script> but I waited four hours for a bed."
    start = text.index("waited")
    comments = conform(pd.DataFrame({"comment_id": ["s:1"], "text": [text]}), "comments")
    pains = conform(
        pd.DataFrame(
            {
                "comment_id": ["s:1"],
                "clause_index": [1],
                "category": ["slow_process"],
                "start": [start],
                "end": [start + 6],
                "evidence": ["waited"],
                "score": [1.0],
                "is_pain_point": [True],
            }
        ),
        "pain_points",
    )
    ppc = conform(
        pd.DataFrame(
            {
                "category": ["slow_process"],
                "segment": ["all"],
                "n": [3],
                "share": [0.1],
                "suppressed": [True],
            }
        ),
        "pain_point_csat",
    )
    summary = conform(
        pd.DataFrame({"run_id": ["r1"], "status": ["ok"], "rows_read": [1]}), "run_summary"
    )
    return {
        "comments": comments,
        "pain_points": pains,
        "pain_point_csat": ppc,
        "topic_csat": conform(pd.DataFrame(), "topic_csat"),
        "topics": conform(pd.DataFrame(), "topics"),
        "quarantine": conform(pd.DataFrame({"reason": ["empty_text"]}), "quarantine"),
        "run_summary": summary,
        "trends": conform(
            pd.DataFrame(
                {
                    "theme_type": ["pain_point", "pain_point"],
                    "theme": ["slow_process", "slow_process"],
                    "period": pd.to_datetime(["2026-11-09", "2026-11-16"]),
                    "service": ["all", "all"],
                    "n": [2, 9],
                    "share": [0.02, 0.2],
                    "p_value": [None, 0.001],
                    "emerging": [False, True],
                }
            ),
            "trends",
        ),
        "driver_gaps": conform(
            pd.DataFrame(
                {
                    "theme_type": ["pain_point", "pain_point"],
                    "theme": ["slow_process", "slow_process"],
                    "segment": ["age_band=65+", "age_band=18-24"],
                    "n": [40, 40],
                    "gap": [-21.5, 3.0],
                    "significant_gap": [True, False],
                }
            ),
            "driver_gaps",
        ),
    }


def test_report_renders_briefs_with_marked_evidence_and_escapes_text():
    html = render_report(report_context(_tables(), {"slow_process": "Slow process"}, 10, None))
    assert "Slow process" in html and "<mark>waited</mark>" in html and "s:1" in html
    assert "too few" in html and "<script>" not in html and "&lt;script&gt;" in html


def test_report_lists_latest_emerging_themes_and_significant_gaps_only():
    html = render_report(report_context(_tables(), {"slow_process": "Slow process"}, 10, None))
    emerging = html.split("<h2>Emerging this period</h2>")[1].split("<h2>")[0]
    assert "Slow process" in emerging and "2026-11-16" in emerging
    gaps = html.split("<h2>Where some groups fare worse</h2>")[1].split("<h2>")[0]
    assert "age_band=65+" in gaps and "-21.5" in gaps and "18-24" not in gaps


def test_report_quote_window_cuts_long_context_at_words():
    text = "word " * 100 + "EVIDENCE" + " more" * 100
    q = quote_window(text, 500, 508, context=40)
    assert q["evidence"] == "EVIDENCE" and q["before"].startswith("…") and q["after"].endswith("…")
    assert len(q["before"]) <= 42 and len(q["after"]) <= 42
