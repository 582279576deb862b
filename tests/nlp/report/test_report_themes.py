"""Themes in the report: grouped under parents, counted per comment, statements marked."""

from __future__ import annotations

import pandas as pd

from nlp.report.context import render_report, report_context
from nlp.report.summary import theme_counts
from nlp.report.themes import theme_groups
from nlp.schemas import conform

TEXTS = {
    "c1": "The staff were lovely. But I waited <b>four</b> hours for a call back.",
    "c2": "Parking was impossible. Nobody answered the phone.",
    "c3": "I waited two hours at reception.",
    "c4": "Nothing to add.",
}


def _comments() -> pd.DataFrame:
    return conform(
        pd.DataFrame({"comment_id": list(TEXTS), "text": list(TEXTS.values())}), "comments"
    )


def _span(cid: str, part: str) -> tuple[int, int]:
    start = TEXTS[cid].index(part)
    return start, start + len(part)


def _statements() -> pd.DataFrame:
    rows = [
        ("c1", 0, *_span("c1", "The staff were lovely."), None),
        ("c1", 1, *_span("c1", "But I waited <b>four</b> hours for a call back."), 0),
        ("c2", 0, *_span("c2", "Parking was impossible."), 2),
        ("c2", 1, *_span("c2", "Nobody answered the phone."), 1),
        ("c3", 0, *_span("c3", "I waited two hours at reception."), 0),
    ]
    cols = ["comment_id", "statement_index", "start", "end", "topic_id"]
    return conform(pd.DataFrame(rows, columns=cols).assign(score=0.8), "statements")


def _comment_topics() -> pd.DataFrame:
    rows = [("c1", 0, True), ("c2", 2, True), ("c2", 1, False), ("c3", 0, True), ("c4", None, True)]
    return conform(
        pd.DataFrame(rows, columns=["comment_id", "topic_id", "is_primary"]), "comment_topics"
    )


def _topics(parents: bool = True) -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "topic_id": [0, 1, 2, 3],
            "label": ["Waiting for a call back", "Phone not answered", "Parking", "Old theme"],
            "top_words": ["waited, hours", "phone, answered", "parking", "old"],
            "size": [2, 1, 1, 3],
            "status": ["active", None, "emerging", "hidden"],
            "representative_ids": ["c3|c1", "c2", "c2", "c4"],
        }
    )
    if parents:  # 0 and 1 under "Getting through"; 2 is its own parent
        t = t.assign(
            parent_id=[10, 10, 11, 12], parent_label=["Getting through"] * 2 + ["Parking", "x"]
        )
    return conform(t, "topics")


def _topic_csat() -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "topic_id": [0, 1, 2, 10],
            "label": [
                "Waiting for a call back",
                "Phone not answered",
                "Parking",
                "Getting through",
            ],
            "level": ["theme", "theme", "theme", "parent"],
            "segment": "all",
            "n": [2, 1, 1, 3],
            "share": [0.5, 0.25, 0.25, 0.75],
            "mean_score": [20.0, 30.0, 60.0, 23.3],
            "impact": [-30.0, -10.0, 5.0, -25.0],
            "total_impact": [-15.0, -2.5, 1.25, -18.75],
            "suppressed": False,
        }
    )
    return conform(rows, "topic_csat")


def _services() -> pd.DataFrame:
    rows = [(0, "Housing", 1, 0.5), (0, "Benefits", 1, 0.5), (2, "Parking office", 1, 1.0)]
    return conform(
        pd.DataFrame(rows, columns=["topic_id", "service", "n", "share"]), "topic_services"
    )


def _tables(**over) -> dict[str, pd.DataFrame]:
    tables = {
        "comments": _comments(),
        "quarantine": conform(pd.DataFrame(), "quarantine"),
        "topics": _topics(),
        "comment_topics": _comment_topics(),
        "statements": _statements(),
        "topic_services": _services(),
        "topic_csat": _topic_csat(),
        "pain_points": conform(pd.DataFrame(), "pain_points"),
        "pain_point_csat": conform(pd.DataFrame(), "pain_point_csat"),
        "trends": conform(pd.DataFrame(), "trends"),
        "driver_gaps": conform(pd.DataFrame(), "driver_gaps"),
        "run_summary": conform(pd.DataFrame({"run_id": ["r1"], "status": ["ok"]}), "run_summary"),
    }
    return {**tables, **over}


def _html(**over) -> str:
    return render_report(report_context(_tables(**over), {}, 10, None))


def _themes_section(html: str) -> str:
    return html.split("<h2>Themes</h2>")[1]


def test_report_themes_groups_children_under_their_parent():
    groups = theme_groups(
        topics=_topics(),
        topic_csat=_topic_csat(),
        comments=_comments(),
        comment_topics=_comment_topics(),
        statements=_statements(),
    )
    assert [(g["parent_id"], [c["topic_id"] for c in g["children"]]) for g in groups] == [
        (10, [0, 1]),  # c1, c2, c3: three comments, c2 once though in one child only
        (None, [2]),  # its own parent: shown plainly; hidden theme 3 is not shown
    ]
    assert groups[0]["label"] == "Getting through" and groups[0]["n_comments"] == 3
    assert groups[0]["stats"]["mean_score"] == 23.3  # the parent-level row
    section = _themes_section(_html())
    parent = section.split('<section class="parent">')[1].split("</section>")[0]
    assert "<h3>Getting through" in parent and "3 comments in 2 themes" in parent
    assert "<h4>Waiting for a call back" in parent and "<h4>Phone not answered" in parent
    assert "<h3>Parking" in section.split("</section>")[1] and "Old theme" not in section


def test_report_themes_parent_counts_a_comment_in_two_children_once():
    ct = pd.concat(
        [
            _comment_topics(),
            conform(pd.DataFrame({"comment_id": ["c1"], "topic_id": [1]}), "comment_topics"),
        ]
    )
    groups = theme_groups(
        topics=_topics(), topic_csat=_topic_csat(), comments=_comments(), comment_topics=ct
    )
    assert groups[0]["n_comments"] == 3  # c1 is in both children
    assert [c["n_comments"] for c in groups[0]["children"]] == [2, 2]


def test_report_themes_mark_the_statement_inside_its_comment_escaped():
    section = _themes_section(_html())
    card = section.split("<h4>Waiting for a call back")[1].split("</div>")[0]
    # c3 is the first representative; c1's statement is marked inside the whole comment
    assert card.index("c3") < card.index("c1")
    assert (
        "The staff were lovely. <mark>But I waited &lt;b&gt;four&lt;/b&gt; hours for a call "
        "back.</mark>" in card
    )
    assert "<b>four</b>" not in section
    phone = section.split("<h4>Phone not answered")[1].split("</div>")[0]
    assert "Parking was impossible. <mark>Nobody answered the phone.</mark>" in phone


def test_report_themes_show_name_words_counts_and_service_facet():
    section = _themes_section(_html())
    card = section.split("<h4>Waiting for a call back")[1].split("</div>")[0]
    assert card.startswith(' <span class="words">waited, hours</span>')
    assert "2 comments (40% of statements)" in card  # 2 of the 5 statements
    assert (
        "most from: Housing 50%, Benefits 50%" in card
        or "most from: Benefits 50%, Housing 50%" in card
    )
    parking = section.split("<h3>Parking")[1].split("</div>")[0]
    assert "most from: Parking office 100%" in parking and "emerging</span>" in parking
    phone = section.split("<h4>Phone not answered")[1].split("</div>")[0]
    assert "most from" not in phone and "1 comment (20% of statements)" in phone


def test_report_themes_drivers_list_themes_with_their_group_not_parents():
    drivers = _html().split("<h2>Drivers of the score</h2>")[1].split("<h2>")[0]
    assert "Waiting for a call back" in drivers and "in Getting through" in drivers
    assert drivers.count("<tr>") == 1 + 3  # header + three themes; the parent row is not a driver


def test_report_themes_statement_offsets_out_of_range_fall_back_to_comments():
    bad = _statements().assign(end=999)
    section = _themes_section(_html(statements=bad))
    assert "<mark>" not in section and "I waited two hours at reception." in section


def test_report_themes_old_one_row_shape_still_renders():
    old_ct = conform(
        pd.DataFrame({"comment_id": ["c1", "c2", "c3"], "topic_id": [0, 2, 0]}), "comment_topics"
    )
    topics = _topics(parents=False).drop(columns=["parent_id", "parent_label", "name_source"])
    csat = _topic_csat().iloc[:3].drop(columns="level")
    tables = _tables(topics=topics, comment_topics=old_ct, topic_csat=csat)
    for key in ("statements", "topic_services"):
        del tables[key]
    html = render_report(report_context(tables, {}, 10, None))
    section = _themes_section(html)
    assert '<section class="parent">' not in section and "<mark>" not in section
    assert "<h3>Waiting for a call back" in section and "2 comments · theme 0" in section
    assert "The staff were lovely. But I waited &lt;b&gt;four&lt;/b&gt;" in section
    assert "most from" not in section


def test_report_themes_summary_counts_comments_statements_and_parents():
    counts = theme_counts(_tables())
    assert counts == {
        "n_parent_topics": 2,  # 10 and 11 hold comments; 12's only theme holds none
        "statements_analysed": 5,
        "unassigned_comment_share": 0.25,  # c4
        "multi_theme_share": 0.25,  # c2
    }
    old = conform(pd.DataFrame({"comment_id": ["a", "b"], "topic_id": [1, None]}), "comment_topics")
    assert theme_counts({"comment_topics": old, "topics": conform(pd.DataFrame(), "topics")}) == {
        "n_parent_topics": None,
        "statements_analysed": None,
        "unassigned_comment_share": 0.5,
        "multi_theme_share": 0.0,
    }
