from __future__ import annotations

import pandas as pd

from nlp.report import quote_window, render_report, report_context
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
    }


def test_report_renders_briefs_with_marked_evidence_and_escapes_text():
    html = render_report(report_context(_tables(), {"slow_process": "Slow process"}, 10, None))
    assert "Slow process" in html and "<mark>waited</mark>" in html and "s:1" in html
    assert "too few" in html and "<script>" not in html and "&lt;script&gt;" in html


def test_report_quote_window_cuts_long_context_at_words():
    text = "word " * 100 + "EVIDENCE" + " more" * 100
    q = quote_window(text, 500, 508, context=40)
    assert q["evidence"] == "EVIDENCE" and q["before"].startswith("…") and q["after"].endswith("…")
    assert len(q["before"]) <= 42 and len(q["after"]) <= 42
