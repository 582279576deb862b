"""Driver and gap tables: suppression, ranking, seeds, segments and the table contracts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nlp.drivers.tables import driver_table, driver_table_by_segment, gap_table
from nlp.schemas import TABLES


def _theme_data(seed=10, n=1000):
    """Scores (5-point scale on 0-100) and three themes: costly, mild, tiny."""
    rng = np.random.default_rng(seed)
    ids = [f"c{i}" for i in range(n)]
    costly = rng.random(n) < 0.3
    mild = rng.random(n) < 0.1
    tiny = np.zeros(n, dtype=bool)
    tiny[:5] = True
    y = 75 - 20 * costly - 30 * mild + rng.normal(0, 15, n)
    y = np.clip(np.round(y / 25) * 25, 0, 100)
    scores = pd.DataFrame(
        {
            "comment_id": ids,
            "source_id": ids,
            "score_raw": y / 25 + 1,
            "score_0_100": y,
            "top_box": pd.array(y >= 75, dtype="boolean"),
            "bottom_box": pd.array(y <= 25, dtype="boolean"),
        }
    )
    rows = [
        (ids[i], name)
        for name, mask in (("costly", costly), ("mild", mild), ("tiny", tiny))
        for i in np.flatnonzero(mask)
    ]
    membership = pd.DataFrame(rows, columns=["comment_id", "category"])
    return membership, scores


def test_tables_driver_table_suppression_and_ranking():
    membership, scores = _theme_data()
    # a theme whose comments are unscored, and an unscored comment in a scored theme
    extra = pd.DataFrame({"comment_id": ["x1", "x2", "c0"], "category": ["ghost", "ghost", "mild"]})
    membership = pd.concat([membership, extra], ignore_index=True)
    t = driver_table(membership, scores, "category", min_n=10, n_boot=300)
    # the driver columns are the theme statistics of the topic_csat/pain_point_csat contract
    stats = [c for c in TABLES["pain_point_csat"] if c not in ("category", "segment")]
    assert list(t.columns) == ["category", *stats]
    by = t.set_index("category")
    assert t["category"].tolist()[:2] == ["costly", "mild"]  # total impact: 0.3x-20 < 0.1x-30
    assert t["category"].tolist()[2:] == ["tiny", "ghost"]  # suppressed last (n desc)
    assert by.loc["tiny", "suppressed"] and by.loc["ghost", "suppressed"]
    assert by.loc["tiny", "n"] == 5 and by.loc["ghost", "n"] == 0
    stats_cols = ["mean_score", "impact", "impact_ci_low", "kd_coef", "total_impact"]
    assert by.loc[["tiny", "ghost"], stats_cols].isna().all().all()
    live = by.loc[["costly", "mild"]]
    assert not live["suppressed"].any()
    assert (live["impact_ci_high"] < 0).all() and (live["kd_ci_high"] < 0).all()
    np.testing.assert_allclose(live["total_impact"], live["impact"] * live["share"])
    assert by.loc["costly", "n"] == by.loc["costly", "share"] * len(scores)
    costly = membership.loc[membership["category"] == "costly", "comment_id"]
    inside = scores["comment_id"].isin(costly)
    assert by.loc["costly", "mean_score"] == pytest.approx(scores["score_0_100"][inside].mean())
    assert by.loc["costly", "top_box_share"] == pytest.approx(scores["top_box"][inside].mean())


def test_tables_driver_table_seeded_determinism():
    membership, scores = _theme_data()
    a = driver_table(membership, scores, "category", n_boot=200, seed=3)
    b = driver_table(membership, scores, "category", n_boot=200, seed=3)
    c = driver_table(membership, scores, "category", n_boot=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["impact_ci_low"].equals(c["impact_ci_low"])
    pd.testing.assert_series_equal(a["impact"], c["impact"])  # point estimates don't move


def test_tables_driver_table_empty_inputs():
    membership, scores = _theme_data()
    t = driver_table(membership.iloc[:0], scores, "category", n_boot=50)
    assert t.empty and "kd_coef" in t.columns
    t = driver_table(membership, scores.iloc[:0], "category", n_boot=50)
    assert t["suppressed"].all()


def test_tables_gap_table_flags_planted_segment():
    membership, scores = _theme_data(n=3000)
    rng = np.random.default_rng(11)
    ids = scores["comment_id"].to_numpy()
    band = rng.choice(["18-34", "35-64", "65+"], size=len(ids))
    region = rng.choice(["north", "south", "tiny"], size=len(ids), p=[0.5, 0.497, 0.003])
    costly = scores["comment_id"].isin(
        membership.loc[membership.category == "costly", "comment_id"]
    )
    mild = scores["comment_id"].isin(membership.loc[membership.category == "mild", "comment_id"])
    planted = costly.to_numpy() & ~mild.to_numpy() & (band == "65+")  # leave 'mild' untouched
    scores.loc[planted, "score_0_100"] = (scores.loc[planted, "score_0_100"] - 25).clip(0, 100)
    segments = pd.concat(
        [
            pd.DataFrame({"comment_id": ids, "segment": "age_band", "value": band}),
            pd.DataFrame({"comment_id": ids, "segment": "region", "value": region}),
        ]
    )
    g = gap_table(membership, scores, "category", segments, min_n=10, n_boot=300)
    gap_stats = [c for c in TABLES["driver_gaps"] if c not in ("theme_type", "theme")]
    assert list(g.columns) == ["category", *gap_stats]  # the driver_gaps contract
    flagged = g[g["significant_gap"]]
    assert list(zip(flagged["category"], flagged["segment"], strict=True)) == [
        ("costly", "age_band=65+")
    ]
    assert g.iloc[0]["segment"] == "age_band=65+"  # biggest gap first
    row = g.iloc[0]
    assert row["gap"] == pytest.approx(row["mean_score"] - row["rest_mean_score"])
    tiny = g[g["segment"] == "region=tiny"]
    assert tiny["suppressed"].all() and tiny["gap"].isna().all()
    assert not tiny["significant_gap"].any()
    assert g["suppressed"].tolist() == sorted(g["suppressed"].tolist())  # suppressed last
    assert (g.loc[~g["suppressed"], "n"] + g.loc[~g["suppressed"], "rest_n"] > 0).all()


def _planted(rng, n=400, effect=-20.0, share=0.3):
    theme = rng.random(n) < share
    y = np.clip(70 + effect * theme + rng.normal(0, 15, n), 0, 100)
    ids = [f"c{i}" for i in range(n)]
    scores = pd.DataFrame(
        {"comment_id": ids, "score_0_100": y, "bottom_box": y < 30, "top_box": y > 80}
    )
    members = pd.DataFrame(
        {"comment_id": [i for i, t in zip(ids, theme, strict=True) if t], "category": "x"}
    )
    return scores, members, y[theme].mean() - y[~theme].mean()


def test_tables_driver_table_impact_sign_and_suppression():
    scores, members, truth = _planted(np.random.default_rng(0))
    rare = pd.DataFrame({"comment_id": ["c1", "c2"], "category": "rare"})
    out = driver_table(pd.concat([members, rare]), scores, "category", min_n=10, n_boot=500)
    out = out.set_index("category")
    assert out.loc["x", "impact"] < 0 and not out.loc["x", "suppressed"]
    assert out.loc["x", "impact_ci_low"] <= truth <= out.loc["x", "impact_ci_high"]
    assert out.loc["rare", "suppressed"] and pd.isna(out.loc["rare", "impact"])


def test_tables_driver_table_segments_are_broken_down_and_suppressed():
    scores, members, _ = _planted(np.random.default_rng(2))
    segs = pd.DataFrame(
        {
            "comment_id": scores["comment_id"],
            "segment": "region",
            "value": ["north"] * 390 + ["south"] * 10,
        }
    )
    out = driver_table_by_segment(members, scores, "category", segs, min_n=10, n_boot=200)
    assert set(out["segment"]) == {"all", "region=north", "region=south"}
    south = out[out["segment"] == "region=south"].iloc[0]
    assert south["suppressed"]
