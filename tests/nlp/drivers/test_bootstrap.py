"""Bootstrap impact and key-driver intervals: coverage of planted effects."""

from __future__ import annotations

import numpy as np

from nlp.drivers.bootstrap import bootstrap_impact, key_driver_model, resample_means

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


def test_bootstrap_impact_covers_planted_effect():
    cis = _impact_cis(-10.0, seed=1)
    covered = (cis[:, 1] <= -10) & (cis[:, 2] >= -10)
    assert covered.mean() >= 0.90
    excludes_zero = cis[:, 2] < 0  # a large effect is detected nearly always
    assert excludes_zero.mean() >= 0.90
    assert np.all(cis[:, 1] <= cis[:, 0]) and np.all(cis[:, 0] <= cis[:, 2])


def test_bootstrap_impact_null_effect_covers_zero():
    cis = _impact_cis(0.0, seed=2)
    covers_zero = (cis[:, 1] <= 0) & (cis[:, 2] >= 0)
    assert covers_zero.mean() >= 0.90
    assert covers_zero.mean() < 1.0 or np.abs(cis[:, 0]).max() > 0  # not degenerate


def test_bootstrap_impact_discrete_scale_path():
    # Rounding to 5 points shrinks the effect; check coverage of the true rounded effect
    # via the large-sample mean difference, and that the interval is not degenerate.
    rng = np.random.default_rng(3)
    in_theme, y = _simulate_impact(rng, -10.0, n=200_000, discrete=True)
    truth = y[in_theme].mean() - y[~in_theme].mean()
    cis = _impact_cis(-10.0, seed=4, discrete=True)
    covered = (cis[:, 1] <= truth) & (cis[:, 2] >= truth)
    assert covered.mean() >= 0.90
    assert np.all(cis[:, 2] - cis[:, 1] > 1.0)


def test_bootstrap_resample_means_paths_agree():
    rng = np.random.default_rng(5)
    discrete = rng.integers(0, 5, 2000).astype(float) * 25  # multinomial path
    continuous = discrete + rng.normal(0, 1e-6, 2000)  # index path
    a = resample_means(discrete, 2000, np.random.default_rng(0))
    b = resample_means(continuous, 2000, np.random.default_rng(0))
    se = discrete.std() / np.sqrt(len(discrete))
    assert abs(a.mean() - discrete.mean()) < 0.1 * se
    assert abs(a.std() / se - 1) < 0.1 and abs(b.std() / se - 1) < 0.1


def _simulate_kd(rng, n=400, b=(-10.0, -5.0), sd=20.0):
    x1 = rng.random(n) < 0.3
    x2 = np.where(rng.random(n) < 0.5, x1, rng.random(n) < 0.2)  # correlated with x1
    X = np.column_stack([x1, x2]).astype(float)
    return X, 70 + X @ np.asarray(b) + rng.normal(0, sd, n)


def test_bootstrap_key_driver_ci_covers_planted_coefficients():
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


def test_bootstrap_key_driver_null_coefficient_covers_zero():
    rng = np.random.default_rng(8)
    covers = []
    for i in range(N_SIM):
        X, y = _simulate_kd(rng, b=(-10.0, 0.0))
        _, lo, hi = key_driver_model(X, y, n_boot=N_BOOT, seed=i)
        covers.append(lo[1] <= 0 <= hi[1])
    assert np.mean(covers) >= 0.90


def test_bootstrap_key_driver_matches_ols_and_drops_degenerate_columns():
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
