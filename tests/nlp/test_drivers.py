from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nlp.drivers import (
    bootstrap_impact,
    driver_table,
    emerging_test,
    gap_table,
    key_driver_model,
    nps,
    resample_means,
    trends_table,
)
from nlp.schemas import TABLES

N_SIM = 100
N_BOOT = 300


def _simulate_impact(rng, effect, n=400, p=0.2, sd=20.0, discrete=False):
    in_theme = rng.random(n) < p
    y = 70 + effect * in_theme + rng.normal(0, sd, n)
    if discrete:  # a 5-point scale on 0-100: exercises the multinomial resample path
        y = np.clip(np.round(y / 25) * 25, 0, 100)
    return in_theme, y


def _impact_cis(effect, seed, discrete=False):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(N_SIM):
        in_theme, y = _simulate_impact(rng, effect, discrete=discrete)
        out.append(bootstrap_impact(in_theme, y, n_boot=N_BOOT, seed=i))
    return np.array(out)


def test_drivers_bootstrap_impact_covers_planted_effect():
    cis = _impact_cis(-10.0, seed=1)
    covered = (cis[:, 1] <= -10) & (cis[:, 2] >= -10)
    assert covered.mean() >= 0.90
    excludes_zero = cis[:, 2] < 0  # a large effect is detected nearly always
    assert excludes_zero.mean() >= 0.90
    assert np.all(cis[:, 1] <= cis[:, 0]) and np.all(cis[:, 0] <= cis[:, 2])


def test_drivers_bootstrap_impact_null_effect_covers_zero():
    cis = _impact_cis(0.0, seed=2)
    covers_zero = (cis[:, 1] <= 0) & (cis[:, 2] >= 0)
    assert covers_zero.mean() >= 0.90
    assert covers_zero.mean() < 1.0 or np.abs(cis[:, 0]).max() > 0  # not degenerate


def test_drivers_bootstrap_impact_discrete_scale_path():
    # Rounding to 5 points shrinks the effect; check coverage of the true rounded effect
    # via the large-sample mean difference, and that the interval is not degenerate.
    rng = np.random.default_rng(3)
    in_theme, y = _simulate_impact(rng, -10.0, n=200_000, discrete=True)
    truth = y[in_theme].mean() - y[~in_theme].mean()
    cis = _impact_cis(-10.0, seed=4, discrete=True)
    covered = (cis[:, 1] <= truth) & (cis[:, 2] >= truth)
    assert covered.mean() >= 0.90
    assert np.all(cis[:, 2] - cis[:, 1] > 1.0)


def test_drivers_resample_means_paths_agree():
    rng = np.random.default_rng(5)
    discrete = rng.integers(0, 5, 2000).astype(float) * 25  # multinomial path
    continuous = discrete + rng.normal(0, 1e-6, 2000)  # index path
    a = resample_means(discrete, 2000, np.random.default_rng(0))
    b = resample_means(continuous, 2000, np.random.default_rng(0))
    se = discrete.std() / np.sqrt(len(discrete))
    assert abs(a.mean() - discrete.mean()) < 0.1 * se
    assert abs(a.std() / se - 1) < 0.1 and abs(b.std() / se - 1) < 0.1


def test_drivers_bootstrap_impact_fast_on_10k_rows():
    import time

    rng = np.random.default_rng(6)
    in_theme = rng.random(10_000) < 0.1
    y = rng.normal(70, 20, 10_000)  # continuous: the slower index path
    start = time.perf_counter()
    bootstrap_impact(in_theme, y, n_boot=1000)
    assert time.perf_counter() - start < 1.0


def _simulate_kd(rng, n=400, b=(-10.0, -5.0), sd=20.0):
    x1 = rng.random(n) < 0.3
    x2 = np.where(rng.random(n) < 0.5, x1, rng.random(n) < 0.2)  # correlated with x1
    X = np.column_stack([x1, x2]).astype(float)
    return X, 70 + X @ np.asarray(b) + rng.normal(0, sd, n)


def test_drivers_key_driver_ci_covers_planted_coefficients():
    rng = np.random.default_rng(7)
    b = np.array([-10.0, -5.0])
    covered, excl = [], []
    for i in range(N_SIM):
        X, y = _simulate_kd(rng, b=b)
        coef, lo, hi = key_driver_model(X, y, n_boot=N_BOOT, seed=i)
        covered.append((lo <= b) & (hi >= b))
        excl.append(hi < 0)
    covered = np.array(covered)
    assert covered[:, 0].mean() >= 0.90 and covered[:, 1].mean() >= 0.90
    assert np.array(excl)[:, 0].mean() >= 0.90  # the -10 driver is detected


def test_drivers_key_driver_null_coefficient_covers_zero():
    rng = np.random.default_rng(8)
    covers = []
    for i in range(N_SIM):
        X, y = _simulate_kd(rng, b=(-10.0, 0.0))
        _, lo, hi = key_driver_model(X, y, n_boot=N_BOOT, seed=i)
        covers.append(lo[1] <= 0 <= hi[1])
    assert np.mean(covers) >= 0.90


def test_drivers_key_driver_matches_ols_and_drops_degenerate_columns():
    rng = np.random.default_rng(9)
    X, y = _simulate_kd(rng, n=500)
    ref = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0][1:]
    coef, _, _ = key_driver_model(X, y, n_boot=50)
    np.testing.assert_allclose(coef, ref, atol=1e-6)
    # duplicate column, all-zero column, all-one column: NaN, no crash, others unchanged
    X2 = np.column_stack([X, X[:, 0], np.zeros(len(y)), np.ones(len(y))])
    coef2, lo2, hi2 = key_driver_model(X2, y, n_boot=50)
    np.testing.assert_allclose(coef2[:2], ref, atol=1e-6)
    assert np.isnan(coef2[2:]).all() and np.isnan(lo2[2:]).all() and np.isnan(hi2[2:]).all()
    assert np.isfinite(lo2[:2]).all() and np.isfinite(hi2[:2]).all()
    # a rare theme that vanishes from some resamples still solves
    X3 = np.column_stack([X, np.r_[np.ones(2), np.zeros(len(y) - 2)]])
    _, lo3, hi3 = key_driver_model(X3, y, n_boot=200)
    assert np.isfinite(lo3).all() and np.isfinite(hi3).all()


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


def test_drivers_driver_table_suppression_and_ranking():
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


def test_drivers_driver_table_seeded_determinism():
    membership, scores = _theme_data()
    a = driver_table(membership, scores, "category", n_boot=200, seed=3)
    b = driver_table(membership, scores, "category", n_boot=200, seed=3)
    c = driver_table(membership, scores, "category", n_boot=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["impact_ci_low"].equals(c["impact_ci_low"])
    pd.testing.assert_series_equal(a["impact"], c["impact"])  # point estimates don't move


def test_drivers_driver_table_empty_inputs():
    membership, scores = _theme_data()
    t = driver_table(membership.iloc[:0], scores, "category", n_boot=50)
    assert t.empty and "kd_coef" in t.columns
    t = driver_table(membership, scores.iloc[:0], "category", n_boot=50)
    assert t["suppressed"].all()


def test_drivers_gap_table_flags_planted_segment():
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


def test_drivers_trends_flags_emerging_theme_only():
    membership, comments, scores, sentiment = _trend_data()
    t = trends_table(membership, comments, scores, sentiment, "category", "pain_point", freq="W")
    assert list(t.columns) == [
        "theme_type",
        "theme",
        "period",
        "service",
        "n",
        "share",
        "mean_score",
        "negative_share",
        "p_value",
        "emerging",
    ]
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


def test_drivers_trends_all_rows_sum_services_and_null_dates_excluded():
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
    monthly = trends_table(membership, with_null, scores, sentiment, "category", "topic", "M")
    assert set(monthly["period"].dt.day) == {1}
    assert monthly.loc[monthly["service"] == "all", "n"].sum() == len(expected)
    with pytest.raises(ValueError):
        trends_table(membership, comments, scores, sentiment, "category", "topic", freq="D")


def test_drivers_emerging_test_new_theme_against_prior():
    p, e = emerging_test(
        count=np.array([6, 2, 6, 6]),
        total=np.array([500, 500, 500, 500]),
        trail_count=np.array([0, 0, 0, 20]),
        trail_total=np.array([2000, 2000, 0, 2000]),
    )
    assert e.tolist() == [True, False, False, False]  # too few; no history; not a rise
    assert np.isnan(p[2]) and p[0] < 0.01


def test_drivers_nps_known_values():
    assert nps(pd.Series([10, 9, 8, 0])) == 25.0
    assert nps(pd.Series([0, 6, 7, 8])) == -50.0
    assert nps(pd.Series([10, None, "x", 11])) == 100.0
    assert nps(pd.Series([], dtype="float64")) is None
    assert nps(pd.Series([None, 12])) is None
