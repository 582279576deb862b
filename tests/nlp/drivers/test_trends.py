"""Trends per period and service, the emerging test and NPS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nlp.drivers.trends import emerging_test, nps, trends_table
from nlp.schemas import TABLES


def _trend_data():
    """Eight weeks, two services; 'surge' jumps in the last week, 'steady' stays flat."""
    rng = np.random.default_rng(12)
    rows, members, labels = [], [], []
    start = pd.Timestamp("2024-01-01")  # a Monday
    k = 0
    for week in range(8):
        for j in range(200):
            cid = f"c{k}"
            k += 1
            date = start + pd.Timedelta(days=7 * week + int(rng.integers(0, 7)))
            rows.append((cid, date, "111" if j % 2 else "999"))
            if j % 10 == 0:  # 20 a week
                members.append((cid, "steady"))
            if j % (8 if week == 7 else 40) == 3:  # 5 a week, then 25
                members.append((cid, "surge"))
            labels.append((cid, "negative" if rng.random() < 0.3 else "positive"))
    comments = pd.DataFrame(rows, columns=["comment_id", "date", "service"])
    comments["date"] = comments["date"].astype("datetime64[us]")
    membership = pd.DataFrame(members, columns=["comment_id", "category"])
    sentiment = pd.DataFrame(labels, columns=["comment_id", "label"])
    ids = comments["comment_id"]
    scores = pd.DataFrame({"comment_id": ids, "score_0_100": rng.integers(0, 5, len(ids)) * 25.0})
    return membership, comments, scores, sentiment


def test_trends_table_flags_emerging_theme_only():
    membership, comments, scores, sentiment = _trend_data()
    t = trends_table(membership, comments, scores, sentiment, "category", "pain_point", freq="W")
    assert list(t.columns) == list(TABLES["trends"])
    latest = t[(t["period"] == t["period"].max()) & (t["service"] == "all")].set_index("theme")
    assert latest.loc["surge", "emerging"] and latest.loc["surge", "p_value"] < 0.01
    assert not latest.loc["steady", "emerging"]
    assert latest.loc["steady", "n"] > latest.loc["surge", "n"] * 0.5  # similar volume
    assert not t.loc[t["theme"] == "steady", "emerging"].any()
    assert not t.loc[t["period"] < t["period"].max(), "emerging"].any()
    first = t[t["period"] == t["period"].min()]
    assert first["p_value"].isna().all() and not first["emerging"].any()  # no history
    assert t["period"].dtype == "datetime64[us]"
    assert set(t["period"].dt.day_of_week) == {0}  # weeks start on Monday
    assert (t["theme_type"] == "pain_point").all()
    assert t["negative_share"].between(0, 1).all() and t["mean_score"].between(0, 100).all()


def test_trends_table_all_rows_sum_services_and_null_dates_excluded():
    membership, comments, scores, sentiment = _trend_data()
    with_null = comments.copy()
    dropped = with_null["comment_id"].isin(membership["comment_id"].iloc[:20])
    with_null.loc[dropped, "date"] = pd.NaT
    t = trends_table(membership, with_null, scores, sentiment, "category", "topic")
    expected = membership[~membership["comment_id"].isin(with_null.loc[dropped, "comment_id"])]
    assert t.loc[t["service"] == "all", "n"].sum() == len(expected)
    parts = t[t["service"] != "all"].groupby(["theme", "period"])["n"].sum()
    alls = t[t["service"] == "all"].set_index(["theme", "period"])["n"]
    pd.testing.assert_series_equal(parts.sort_index(), alls.sort_index(), check_names=False)
    monthly = trends_table(membership, with_null, scores, sentiment, "category", "topic", freq="M")
    assert set(monthly["period"].dt.day) == {1}
    assert monthly.loc[monthly["service"] == "all", "n"].sum() == len(expected)
    with pytest.raises(ValueError):
        trends_table(membership, comments, scores, sentiment, "category", "topic", freq="D")


def test_trends_emerging_test_new_theme_against_prior():
    p, e = emerging_test(
        count=np.array([6, 2, 6, 6]),
        total=np.array([500, 500, 500, 500]),
        trail_count=np.array([0, 0, 0, 20]),
        trail_total=np.array([2000, 2000, 0, 2000]),
    )
    assert e.tolist() == [True, False, False, False]  # too few; no history; not a rise
    assert np.isnan(p[2]) and p[0] < 0.01


def test_trends_nps_known_values():
    assert nps(pd.Series([10, 9, 8, 0])) == 25.0
    assert nps(pd.Series([0, 6, 7, 8])) == -50.0
    assert nps(pd.Series([10, None, "x", 11])) == 100.0
    assert nps(pd.Series([], dtype="float64")) is None
    assert nps(pd.Series([None, 12])) is None
