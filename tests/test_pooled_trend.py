"""The pooled trend (跨国经验趋势): weights learned across the calibration pool."""
from __future__ import annotations

import numpy as np
import pytest

from wuwei_analysis import Target, forecast_series
from wuwei_analysis.engine import vector_models as vm
from wuwei_analysis.models import pooled_trend as pt
from wuwei_analysis.models.core import choose_model, resolve_spec
from wuwei_analysis.models.fit import MODEL_LABELS_ZH, ForecastError, Scale
from wuwei_analysis.models.local_trend import fit_arima


def _series(rng, n, kind):
    t = np.arange(n)
    if kind == "log":
        return 30 * np.exp(-0.05 * t + 0.002 * t ** 2 + rng.normal(0, 0.03, n))
    if kind == "logit":
        z = -1.0 + 0.25 * t - 0.005 * t ** 2 + rng.normal(0, 0.1, n)
        return 100 / (1 + np.exp(-z))
    return 70 + 0.3 * t + rng.normal(0, 0.2, n)


def test_the_shipped_weights_cover_every_scale_and_horizon():
    for kind in pt.KINDS:
        W = pt.WEIGHTS[kind]
        assert W.shape == (pt.H_MAX, pt.N_FEATURES) and np.isfinite(W).all()
    assert "跨国" in MODEL_LABELS_ZH["pooled"]


def test_engine_equals_a_plain_per_series_computation():
    """The vectorised fit (padded rows of different lengths) equals the per-series one
    (statsmodels OLS for the ARIMA part, numpy for the rest) to 1e-8, within and beyond the
    horizons with their own weights."""
    rng = np.random.default_rng(5)
    for kind in pt.KINDS:
        lens = rng.integers(pt.POOLED_MIN_POINTS, 22, 40)
        ys = [_series(rng, n, kind) for n in lens]
        xs = [2024.0 - n + 1 + np.arange(n) for n in lens]
        T = int(lens.max())
        X = np.full((len(ys), T), np.nan)
        Y = X.copy()
        for i, (x, y) in enumerate(zip(xs, ys)):
            X[i, :len(x)], Y[i, :len(y)] = x, y
        M = np.isfinite(X)
        F = vm.fit_pooled(X, Y, M, kind)
        assert not F.fail.any()
        future = 2024.0 + np.arange(0, 9)
        m, s = F.predict(np.tile(future, (len(ys), 1)))
        for i, (x, y) in enumerate(zip(xs, ys)):
            ref = pt.fit_pooled(x, y, Scale(kind))
            mr, sr = ref.predict(future)
            np.testing.assert_allclose(m[i], mr, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(s[i], sr, rtol=1e-8, atol=1e-10)
            for k in ("ar", "drift", "resid_sd", "slope_1y", "slope_10y", "change_1y"):
                assert F.params[k][i] == pytest.approx(ref.params[k], rel=1e-8, abs=1e-12)


def test_pure_arima_weights_give_the_arima_forecast():
    """Weight 1 on the ARIMA's change and 0 on the slopes: the ARIMA(1,1,0) forecast."""
    rng = np.random.default_rng(1)
    x = np.arange(2011, 2025, dtype=float)
    y = _series(rng, len(x), "log")
    W = np.zeros((pt.H_MAX, pt.N_FEATURES))
    W[:, -1] = 1.0
    fut = np.arange(2025, 2030, dtype=float)
    m = pt.fit_pooled(x, y, Scale("log"), weights=W).predict(fut)[0]
    np.testing.assert_allclose(m, fit_arima(x, y, Scale("log")).predict(fut)[0], rtol=1e-12)


def test_fitted_weights_recover_a_known_damped_path():
    """Rows made by a known rule (the change h years ahead: 0.6·h·s3 + damped ARIMA change
    0.8^h) are recovered by the least-absolute-deviation fit, also with 15 % gross errors."""
    rng = np.random.default_rng(2)
    n = 4000
    for h in (1, 3, 5):
        true = np.array([0.0, 0.6, 0.0, 0.0, 0.8 ** h])
        F = rng.normal(0, 0.02, (n, pt.N_FEATURES))
        scale = np.abs(rng.normal(0.02, 0.005, n)) + 0.005
        change = h * F @ true
        bad = rng.random(n) < 0.15
        change[bad] += rng.normal(0, 1.0, bad.sum())
        W = pt.fit_weights(F, change, h, scale, shrink=0.0)
        np.testing.assert_allclose(W, true, atol=2e-3)


def test_a_constant_series_stays_and_a_steeper_one_changes_in_proportion():
    x = np.arange(2015, 2025, dtype=float)
    flat = pt.fit_pooled(x, np.full(10, 5.0), Scale("identity"))
    assert np.all(flat.predict(np.arange(2025, 2031))[0] == 5.0)
    base = 50 + 0.5 * (x - 2015) + 0.02 * (x - 2015) ** 2
    steep = 50 + 2 * (base - 50)
    fut = np.arange(2025, 2031, dtype=float)
    ch1 = pt.fit_pooled(x, base, Scale("identity")).predict(fut)[0] - base[-1]
    ch2 = pt.fit_pooled(x, steep, Scale("identity")).predict(fut)[0] - steep[-1]
    np.testing.assert_allclose(ch2, 2 * ch1, rtol=1e-9)


def test_short_and_gappy_series_fall_back():
    """A Wuwei county series of 10 years is fitted (its "10-year" slope is the 9-year one);
    fewer than POOLED_MIN_POINTS years or a missing year are refused, and the auto rule then
    does not consider it: under AUTO_MIN_POINTS the primary model, with a gap no pooled.
    On a full yearly series it is a candidate."""
    rng = np.random.default_rng(4)
    x = np.arange(2015, 2025, dtype=float)
    y = _series(rng, 10, "logit")
    f = pt.fit_pooled(x, y, Scale("logit", 100.0))
    z = Scale("logit", 100.0).fwd(y)
    assert f.params["slope_10y"] == pytest.approx((z[-1] - z[0]) / 9, rel=1e-12)
    with pytest.raises(ForecastError):
        pt.fit_pooled(x[:4], y[:4], Scale("logit", 100.0))
    with pytest.raises(ForecastError):
        pt.fit_pooled(np.delete(x, 5), np.delete(y, 5), Scale("logit", 100.0))
    spec = resolve_spec("%")
    assert choose_model(spec, x[:7], y[:7])[0] == "logit"          # rule 2
    assert choose_model(spec, np.delete(x, 5), np.delete(y, 5))[0] != "pooled"
    t = x - 2015
    bend = 100 / (1 + np.exp(-(0.5 + 0.3 * t - 0.02 * t ** 2)))     # a share that saturates
    name, scores = choose_model(spec, x, bend)
    # a local trend that follows the bend wins (with the shipped weights: the ARIMA on this
    # exact curve, the pooled trend close behind), never the straight logit trend
    assert "pooled" in scores and scores["pooled"] < scores["logit"] / 5
    assert name in ("arima", "pooled") and scores[name] == min(scores.values())
    assert "pooled" not in choose_model(spec, np.delete(x, 5), np.delete(bend, 5))[1]


def test_a_county_share_gets_the_pooled_trend_with_its_interval_and_p_meet_in_both_paths():
    """A 10-year county series with the pooled trend: the point forecast lies inside its own
    80 % interval, and the engine gives the same forecast and p_meet."""
    x = np.arange(2015, 2025)
    y = np.array([78.0, 80.1, 82.5, 84.0, 86.2, 87.5, 89.1, 90.0, 91.2, 92.0])
    tgt = Target("at_least", 95.0, year=2030)
    df = forecast_series(x, y, unit="%", target=tgt, horizon_year=2030, model="pooled")
    assert df.attrs["model"] == "pooled"
    assert df.attrs["model_zh"].startswith("跨国经验趋势")
    assert (df["lo80"] <= df["mean"]).all() and (df["mean"] <= df["hi80"]).all()
    assert (df["mean"] < 100).all() and df["mean"].is_monotonic_increasing
    assert 0 < df.attrs["p_meet"] < 1
    res = vm.forecast_series_many([x], [y], unit="%", target=tgt, horizon_year=2030, table=True,
                                  model="pooled")
    assert res.model[0] == "pooled"
    np.testing.assert_allclose(res.table["mean"].to_numpy(), df["mean"].to_numpy(), rtol=1e-9)
    assert res.p_meet[0] == pytest.approx(df.attrs["p_meet"], rel=1e-8)
