"""Many themes per comment, the parent level and the service facet in the drivers stage."""

from __future__ import annotations

import pandas as pd

from nlp.drivers.facets import topic_services
from nlp.drivers.membership import Themes, parent_membership, theme_membership
from nlp.drivers.scores import ScoreScale
from nlp.drivers.stage import DriverSettings, driver_tables
from nlp.schemas import TABLES, conform

N = 12  # survey comments c1 .. c12


def _comments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "comment_id": [f"c{i}" for i in range(1, N + 1)],
            "source_id": [str(i) for i in range(1, N + 1)],
            "kind": "comment",
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(range(N), "D"),
            "service": ["A"] * 6 + ["B"] * 4 + [None] * 2,
        }
    )


def _multi_rows() -> pd.DataFrame:
    """c1-c4 in themes 0 and 1 (c1 also in 2), c5-c8 in theme 0 only, c9-c10 in theme 2,
    c11-c12 in no theme (one null row each)."""
    rows = [(f"c{i}", 0) for i in range(1, 9)] + [(f"c{i}", 1) for i in range(1, 5)]
    rows += [("c1", 2), ("c9", 2), ("c10", 2), ("c11", None), ("c12", None)]
    ct = pd.DataFrame(rows, columns=["comment_id", "topic_id"])
    ct["is_primary"] = ~ct.duplicated("comment_id")
    return conform(ct, "comment_topics")


def _topics(parents: bool = True) -> pd.DataFrame:
    t = pd.DataFrame({"topic_id": [0, 1, 2], "label": ["waiting", "phone", "parking"]})
    if parents:  # 0 and 1 grouped under parent 10; 2 is its own parent 11
        t = t.assign(parent_id=[10, 10, 11], parent_label=["access", "access", "parking"])
    return conform(t, "topics")


def _themes(comment_topics: pd.DataFrame, topics: pd.DataFrame) -> Themes:
    c = _comments()
    ids = c["comment_id"].tolist()
    return Themes(
        analysed=c[["comment_id", "date", "service"]],
        topics=topics,
        comment_topics=comment_topics,
        tags=conform(pd.DataFrame(), "pain_points"),
        sentiment=conform(pd.DataFrame({"comment_id": ids, "label": "negative"}), "sentiment"),
    )


def _run(comment_topics: pd.DataFrame, topics: pd.DataFrame):
    # scores 1..5 cycling, so every group has spread
    table = pd.DataFrame({"source_id": [str(i) for i in range(1, N + 1)]})
    table["score"] = [str(1 + i % 5) for i in range(N)]
    return driver_tables(
        comments=_comments(),
        quarantined_ids=pd.Series([], dtype="string"),
        score_table=table,
        previous_scores=conform(pd.DataFrame(), "scores"),
        themes=_themes(comment_topics, topics),
        segments=conform(pd.DataFrame(), "comment_segments"),
        settings=DriverSettings(scale=ScoreScale(1, 5), min_n=2, n_boot=20, seed=1),
        run_id="r1",
    )


def _overall(topic_csat: pd.DataFrame, level: str) -> dict[int, int]:
    rows = topic_csat[(topic_csat["segment"] == "all") & (topic_csat["level"] == level)]
    return dict(zip(rows["topic_id"].astype(int), rows["n"].astype(int), strict=True))


def test_theme_levels_membership_counts_a_comment_once_per_theme():
    ct = _multi_rows()
    doubled = pd.concat([ct, ct.iloc[:3]], ignore_index=True)  # repeated rows change nothing
    m = theme_membership(doubled)
    assert m.groupby("topic_id").size().to_dict() == {0: 8, 1: 4, 2: 3}
    assert m["topic_id"].notna().all() and not m.duplicated().any()


def test_theme_levels_multi_row_comment_topics_counted_once_per_comment():
    out = _run(_multi_rows(), _topics(parents=False))
    assert _overall(out.topic_csat, "theme") == {0: 8, 1: 4, 2: 3}
    overall = out.topic_csat[out.topic_csat["segment"] == "all"].set_index("topic_id")
    assert overall.loc[0, "share"] == 8 / N  # over scored comments, not statements or rows
    trends = out.trends[(out.trends["service"] == "all") & (out.trends["theme_type"] == "topic")]
    assert trends.groupby("theme")["n"].sum().to_dict() == {"0": 8, "1": 4, "2": 3}


def test_theme_levels_parent_aggregates_children_without_double_counting():
    ct = _multi_rows()
    members = parent_membership(ct, _topics())
    # c1-c4 are in both children of 10: counted once; c1 is in 10 and in 11
    assert members.groupby("parent_id").size().to_dict() == {10: 8, 11: 3}
    out = _run(ct, _topics())
    assert _overall(out.topic_csat, "parent") == {10: 8, 11: 3}
    assert _overall(out.topic_csat, "theme") == {0: 8, 1: 4, 2: 3}
    parents = out.topic_csat[out.topic_csat["level"] == "parent"]
    assert parents.set_index("topic_id")["label"].to_dict() == {10: "access", 11: "parking"}
    assert not parents["suppressed"].iloc[0] and parents["mean_score"].notna().any()


def test_theme_levels_service_facet_counts_comments_per_theme_and_service():
    facet = topic_services(_multi_rows(), _comments()[["comment_id", "service"]])
    got = {(int(t), s): (int(n), sh) for t, s, n, sh in facet.itertuples(index=False)}
    # theme 0: c1-c6 in A, c7-c8 in B; theme 2: c1 (A), c9-c10 (B); no null service rows
    assert got == {
        (0, "A"): (6, 6 / 8),
        (0, "B"): (2, 2 / 8),
        (1, "A"): (4, 1.0),
        (2, "B"): (2, 2 / 3),
        (2, "A"): (1, 1 / 3),
    }
    assert facet["service"].tolist()[3:] == ["B", "A"]  # most comments first within a theme
    assert list(facet.columns) == list(TABLES["topic_services"])


def test_theme_levels_service_facet_empty_without_services_and_in_stage():
    no_service = _comments()[["comment_id"]].assign(service=None)
    assert topic_services(_multi_rows(), no_service).empty
    out = _run(_multi_rows(), _topics())
    assert int(out.topic_services["n"].sum()) == 6 + 2 + 4 + 2 + 1


def test_theme_levels_old_one_row_shape_still_works():
    old = pd.DataFrame(
        {
            "comment_id": [f"c{i}" for i in range(1, N + 1)],
            "topic_id": [0] * 6 + [2] * 4 + [None] * 2,
            "score": 0.9,
        }
    )
    old = old.astype({"topic_id": "Int64"})  # no statements / share / is_primary columns
    topics = _topics(parents=False).drop(columns=["parent_id", "parent_label", "name_source"])
    out = _run(old, topics)
    assert _overall(out.topic_csat, "theme") == {0: 6, 2: 4}
    assert set(out.topic_csat["level"]) == {"theme"}
    assert list(out.topic_csat.columns) == list(TABLES["topic_csat"])
    facet = out.topic_services
    assert list(zip(facet["topic_id"], facet["service"], facet["n"], strict=True)) == [
        (0, "A", 6),
        (2, "B", 4),
    ]
