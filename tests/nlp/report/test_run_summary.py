"""The run summary row and status (nlp.report.summary, nlp.report.stage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from nlp.report.summary import emerging_count, finished, run_status, summary_markdown
from nlp.themes.quality import QualityThresholds


def test_run_summary_status_names_missed_thresholds_and_skipped_topics():
    t = QualityThresholds(max_unassigned_share=0.25, min_stability_ari=0.5)
    assert run_status({"unassigned_share": 0.1, "stability_ari": 0.9}, t, None) == ("ok", None)
    status, reason = run_status({"unassigned_share": 0.4, "stability_ari": None}, t, "too few")
    assert status == "degraded"
    assert reason == "topics skipped: too few; unassigned_share 0.40 > 0.25"


def test_run_summary_emerging_counts_latest_period_all_services_only():
    trends = pd.DataFrame(
        {
            "service": ["all", "all", "all", "A&E"],
            "period": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-08", "2024-01-08"]),
            "emerging": [True, True, False, True],
        }
    )
    assert emerging_count(trends) == 1
    assert emerging_count(trends.iloc[:0]) == 0


def test_run_summary_finished_adds_timings_and_total():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    done = finished({"started_at": start}, {"seconds_tag": 1.5}, start + timedelta(seconds=7))
    assert done["seconds_tag"] == 1.5 and done["seconds_total"] == 7.0
    assert "| seconds_tag | 1.500 |" in summary_markdown(done)


def test_run_summary_report_row_counts_and_renders_with_empty_tables():
    from nlp.report.stage import RunFacts, run_report
    from nlp.schemas import TABLES, empty

    tables = {name: empty(name) for name in TABLES if name != "run_summary"}
    facts = RunFacts(
        run_id="r1",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        rows_read=5,
        rows_unchanged=1,
        new_comments=3,
        new_quarantined=1,
        documents_analysed=3,
        scores_read=0,
        match_rate=None,
        nps=None,
    )
    report = run_report(
        facts=facts,
        tables=tables,
        topic_metrics={"n_topics": 0, "unassigned_share": None},
        topics_skipped="too few documents",
        thresholds=QualityThresholds(),
        category_names={},
        min_n=10,
        timings={"seconds_ingest": 0.5},
    )
    row = report.summary
    assert (row["rows_new"], row["rows_kept"], row["rows_quarantined"]) == (4, 3, 1)
    assert row["status"] == "degraded" and row["seconds_ingest"] == 0.5
    assert report.run_summary["run_id"].tolist() == ["r1"]
    assert "<html" in report.html.lower()
