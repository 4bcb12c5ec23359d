"""Local-trend model (ARIMA(1,1,0) with drift), small counts and point-in-interval rules."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from wuwei_analysis.engine.vector_models import SeriesBatch, forecast_series_many, pooled_rates
from wuwei_analysis.models import forecast_series
from wuwei_analysis.models.fit import Scale
from wuwei_analysis.models.local_trend import AR_MAX, ARIMA2_MIN_POINTS, fit_arima, fit_arima2
from wuwei_analysis.targets import Target

YEARS = np.arange(2008, 2021)


def _bending(seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(len(YEARS))
    return 40 * np.exp(-0.08 * t + 0.003 * t ** 2 + rng.normal(0, 0.01, len(t)))


def test_arima_equals_statsmodels_autoreg_on_the_differences():
    """The fit is statsmodels' AutoReg(Δz, 1, trend="c") (conditional least squares), and the
    forecast is its ARIMA(1,1,0) recursion, to 1e-8."""
    from statsmodels.tsa.ar_model import AutoReg

    y = _bending()
    fit = fit_arima(YEARS, y, Scale("log"))
    z = np.log(y)
    res = AutoReg(np.diff(z), lags=1, trend="c").fit()
    c, a = (float(v) for v in res.params)
    assert a < AR_MAX
    assert fit.params["ar"] == pytest.approx(a, rel=1e-8, abs=1e-12)
    assert fit.params["drift"] == pytest.approx(c / (1 - a), rel=1e-8)
    dz_next = res.predict(start=len(z) - 1, end=len(z) + 3)   # Δz for the next 5 years
    m, _ = fit.predict(YEARS[-1] + np.arange(1, 6.0))
    np.testing.assert_allclose(m, z[-1] + np.cumsum(dz_next), rtol=1e-8)


def test_arima_holds_its_ar_coefficient_below_the_bound_and_needs_yearly_data():
    accel = 50 * np.exp(-0.001 * np.arange(13) ** 2.5)
    assert fit_arima(YEARS, accel, Scale("log")).params["ar"] <= AR_MAX
    from wuwei_analysis.models import ForecastError

    with pytest.raises(ForecastError):
        fit_arima(np.delete(YEARS, 4), np.delete(accel, 4), Scale("log"))


def test_a_slowing_decline_is_followed_by_the_local_trend():
    """A decline that slows: the straight log-linear line overshoots, the local trend
    follows the latest yearly changes; auto picks a local trend (the ARIMA or the pooled trend
    built on it) in both paths."""
    t = np.arange(len(YEARS) + 5)
    truth = 40 * np.exp(-0.15 * t + 0.004 * t ** 2)
    y = truth[:len(YEARS)]
    auto = forecast_series(YEARS, y, unit="‰", horizon_year=2025)
    assert auto.attrs["model"] in ("arima", "pooled")
    line = forecast_series(YEARS, y, unit="‰", model="loglinear", horizon_year=2025)
    err_auto = np.abs(auto["mean"].to_numpy() - truth[len(YEARS):]).mean()
    err_line = np.abs(line["mean"].to_numpy() - truth[len(YEARS):]).mean()
    assert err_auto < 0.5 * err_line
    res = forecast_series_many([YEARS], [y], unit="‰", horizon_year=2025, table=True)
    assert res.model[0] == auto.attrs["model"]
    np.testing.assert_allclose(res.table["mean"].to_numpy(), auto["mean"].to_numpy(),
                               rtol=1e-10)


def test_a_point_forecast_lies_inside_its_own_80_percent_interval_for_few_events():
    """No events in ten years among 2,000 births a year: the rate's median is 2.5/10万 but the
    count quantiles are 0 and 0; the interval is widened to hold the point (both paths)."""
    x = np.arange(2015, 2025)
    d, e = np.zeros(10), np.full(10, 2000.0)
    tgt = Target("at_most", 10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = forecast_series(x, d / e * 1e5, unit="1/10万", counts=d, exposures=e, target=tgt)
    assert fc.attrs["model"] == "poisson"
    assert (fc["lo80"] <= fc["mean"]).all() and (fc["mean"] <= fc["hi80"]).all()
    assert (fc["lo95"] <= fc["mean"]).all() and (fc["mean"] <= fc["hi95"]).all()
    assert (fc["mean"] > 0).all() and (fc["lo80"] == 0).all()
    res = forecast_series_many([x], [d / e * 1e5], unit="1/10万", counts=[d], exposures=[e],
                               target=tgt, table=True)
    for c in ("mean", "lo80", "hi80", "lo95", "hi95"):
        np.testing.assert_allclose(res.table[c].to_numpy(), fc[c].to_numpy(), rtol=1e-10)


def test_a_share_at_100_percent_stays_there():
    x = np.arange(2013, 2025)
    fc = forecast_series(x, np.full(12, 100.0), unit="%", target=Target("at_least", 95.0))
    assert (fc["mean"] == 100.0).all() and (fc["lo80"] > 99.5).all()
    assert fc.attrs["p_meet"] > 0.99
    zero = forecast_series(x, np.zeros(12), unit="%", target=Target("at_least", 95.0))
    assert (zero["mean"] == 0.0).all()
    res = forecast_series_many([x, x], [np.full(12, 100.0), np.zeros(12)], unit="%",
                               target=Target("at_least", 95.0), table=True)
    assert (res.table["mean"].to_numpy() == np.r_[fc["mean"], zero["mean"]]).all()


def test_small_counts_get_the_pooled_three_year_rate():
    x = np.arange(2017, 2025, dtype=float)
    small_c = np.array([3, 1, 4, 0, 2, 5, 1, 3.0])
    big_c = np.full(8, 60.0)
    e = np.full(8, 4000.0)
    b = SeriesBatch.from_lists([x, x], [small_c / e * 1e3, big_c / e * 1e3], [small_c, big_c],
                               [e, e], rate_scale=[1e3, 1e3])
    p = pooled_rates(b, [1e3, 1e3])
    assert p["pooled_rate"][0] == pytest.approx((5 + 1 + 3) / 12000 * 1e3)
    assert p["pooled_years"][0] == 3 and p["pooled_from"][0] == 2022
    assert p["pooled_events"][0] == 9
    assert np.isnan(p["pooled_rate"][1])          # 60 events a year: no pooling needed


@pytest.mark.parametrize("unit,values,target,expect", [
    ("小时", [1.0] * 8, Target("at_least", 1.0, direction="up"), "met"),
    ("所", [2.0] * 8, Target("at_least", 2.0, direction="up"), "met"),
    ("人/所", [3.0] * 8, Target("at_least", 4.0, direction="up"), "not"),
    ("人/所", [2.0] * 8, Target("at_most", 2.0, direction="down"), "met"),
])
def test_small_whole_numbers_are_judged_as_whole_numbers(unit, values, target, expect):
    """1 小时 a day against a target of ≥ 1 小时 has met it (p_meet near 1, not 50 %); both
    paths give the same p_meet."""
    x = np.arange(2017, 2025)
    fc = forecast_series(x, values, unit=unit, target=target)
    p = fc.attrs["p_meet"]
    assert (p > 0.95) if expect == "met" else (p < 0.05), p
    res = forecast_series_many([x], [values], unit=unit, target=target)
    assert res.p_meet[0] == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_whole_number_rounding_applies_only_to_small_whole_number_series():
    from wuwei_analysis.models.calibrate import whole_numbers

    y = np.array([[1, 2, 3.0], [1.5, 2, 3], [150, 160, 170], [0, 0, 1]])
    assert whole_numbers(y).tolist() == [True, False, False, True]


# ------------------------------------------------------------------ ARIMA(2,1,0) + drift
def _ar2_path(n, a1, a2, mu, e0, e1, noise=0.0, seed=0):
    """z with yearly changes Δz_t = μ + e_t, e_t = a1 e_{t−1} + a2 e_{t−2} (+ noise)."""
    rng = np.random.default_rng(seed)
    e = [e0, e1]
    while len(e) < n - 1:
        e.append(a1 * e[-1] + a2 * e[-2] + noise * rng.normal())
    return np.r_[0.0, np.cumsum(mu + np.array(e))], e


def test_arima2_equals_statsmodels_autoreg_on_the_differences():
    """ARIMA(2,1,0) + drift is statsmodels' AutoReg(Δz, 2, trend="c") (conditional least
    squares) and its recursion for the next 5 years, to 1e-8."""
    from statsmodels.tsa.ar_model import AutoReg

    y = _bending(3)
    fit = fit_arima2(YEARS, y, Scale("log"))
    z = np.log(y)
    res = AutoReg(np.diff(z), lags=2, trend="c").fit()
    c, a1, a2 = (float(v) for v in res.params)
    assert fit.model == "arima2" and fit.params["ar2"] != 0.0
    assert fit.params["ar1"] == pytest.approx(a1, rel=1e-8, abs=1e-12)
    assert fit.params["ar2"] == pytest.approx(a2, rel=1e-8, abs=1e-12)
    assert fit.params["drift"] == pytest.approx(c / (1 - a1 - a2), rel=1e-8)
    dz_next = res.predict(start=len(z) - 1, end=len(z) + 3)
    m, _ = fit.predict(YEARS[-1] + np.arange(1, 6.0))
    np.testing.assert_allclose(m, z[-1] + np.cumsum(dz_next), rtol=1e-8)


def test_arima2_recovers_a_known_ar2_path_on_the_differences():
    """A decline whose yearly change overshoots and settles (complex AR(2) roots): the fit
    finds a1, a2 and the drift, and forecasts the path on; ARIMA(1,1,0) cannot."""
    a1, a2, mu = 1.2, -0.5, -0.03
    z, _ = _ar2_path(len(YEARS) + 5, a1, a2, mu, -0.10, -0.08, noise=1e-6)
    y = 100 * np.exp(z)
    fit = fit_arima2(YEARS, y[:len(YEARS)], Scale("log"))
    assert fit.params["ar1"] == pytest.approx(a1, abs=1e-3)
    assert fit.params["ar2"] == pytest.approx(a2, abs=1e-3)
    assert fit.params["drift"] == pytest.approx(mu, abs=1e-4)
    future = YEARS[-1] + np.arange(1, 6.0)
    m, _ = fit.predict(future)
    np.testing.assert_allclose(m, z[len(YEARS):] + np.log(100), atol=1e-4)
    m1, _ = fit_arima(YEARS, y[:len(YEARS)], Scale("log")).predict(future)
    assert np.abs(m1 - z[len(YEARS):] - np.log(100)).max() > 100 * 1e-4


def test_arima2_falls_back_to_arima_on_short_or_explosive_series():
    """Fewer than ARIMA2_MIN_POINTS years, or an AR(2) with a1 + a2 above ARIMA2_AR_MAX
    (changes that keep accelerating): the ARIMA(1,1,0) path, under the name arima2."""
    y = _bending(5)
    short = fit_arima2(YEARS[:ARIMA2_MIN_POINTS - 1], y[:ARIMA2_MIN_POINTS - 1], Scale("log"))
    ref = fit_arima(YEARS[:ARIMA2_MIN_POINTS - 1], y[:ARIMA2_MIN_POINTS - 1], Scale("log"))
    assert short.model == "arima2" and short.params["ar2"] == 0.0
    future = YEARS[ARIMA2_MIN_POINTS - 2] + np.arange(1, 6.0)
    np.testing.assert_allclose(short.predict(future)[0], ref.predict(future)[0], rtol=1e-12)
    z, _ = _ar2_path(len(YEARS), 1.3, -0.2, 0.0, 0.01, 0.012, noise=1e-6)     # a1 + a2 = 1.1
    boom = fit_arima2(YEARS, 10 * np.exp(z), Scale("log"))
    assert boom.params["ar2"] == 0.0
    assert boom.params["ar1"] == fit_arima(YEARS, 10 * np.exp(z), Scale("log")).params["ar"]
    from wuwei_analysis.models import ForecastError

    with pytest.raises(ForecastError):
        fit_arima2(np.delete(YEARS, 4), np.delete(y, 4), Scale("log"))


def test_arima2_in_the_engine_equals_the_per_series_fit():
    """``vector_models.fit_arima2`` on a padded batch of shares (5–20 years, some falling
    back) equals ``local_trend.fit_arima2`` series by series to 1e-8: parameters, centre
    and model sd."""
    from wuwei_analysis.engine import vector_models as vm

    rng = np.random.default_rng(1)
    S, T = 200, 20
    x = np.arange(2000, 2000 + T, dtype=float)[None, :].repeat(S, 0)
    z = np.cumsum(np.cumsum(rng.normal(0, 0.02, (S, T)), 1) * rng.uniform(0, 1, (S, 1))
                  + rng.normal(0, 0.01, (S, T)), 1)
    y = 100 / (1 + np.exp(-z))
    n = rng.integers(5, T + 1, S)
    M = np.arange(T)[None, :] < n[:, None]
    f = vm.fit_arima2(x, np.where(M, y, np.nan), M, "logit")
    xs = np.arange(2000, 2035, dtype=float)[None, :].repeat(S, 0)
    m_e, s_e = f.predict(xs)
    fell_back = 0
    for i in range(S):
        one = fit_arima2(x[i, :n[i]], y[i, :n[i]], Scale("logit", 100.0))
        m, s = one.predict(xs[i])
        ahead = xs[i] > x[i, n[i] - 1]
        np.testing.assert_allclose(m_e[i, ahead], m[ahead], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(s_e[i, ahead], s[ahead], rtol=1e-8, atol=1e-10)
        for k, v in one.params.items():
            assert f.params[k][i] == pytest.approx(v, rel=1e-8, abs=1e-10), k
        fell_back += one.params["ar2"] == 0.0
    assert 0 < fell_back < S


def test_the_arima2_path_spans_the_pooled_trends_years():
    """The engine keeps both paths in ``Fits.path`` (pooled_trend.H_MAX columns)."""
    from wuwei_analysis.models import local_trend, pooled_trend

    assert local_trend.H_MAX == pooled_trend.H_MAX


# ----------------------------------------------------------------------------- curve model
def test_curve_equals_statsmodels_arima_120_with_its_coefficient_fixed():
    """The curve model is ARIMA(1,2,0) without constant, φ fixed at CURVE_PHI: its path for
    the next H_MAX years is statsmodels' forecast of that model (exact diffuse Kalman
    filter), to 1e-8; beyond H_MAX the last step carries on (documented)."""
    from statsmodels.tsa.arima.model import ARIMA

    from wuwei_analysis.models.local_trend import CURVE_PHI, H_MAX, fit_curve

    y = _bending(4)
    z = np.log(y)
    mod = ARIMA(z, order=(1, 2, 0), trend="n")
    with mod.fix_params({"ar.L1": CURVE_PHI}):
        res = mod.fit()
    fit = fit_curve(YEARS, y, Scale("log"))
    m, _ = fit.predict(YEARS[-1] + np.arange(1, H_MAX + 1.0))
    np.testing.assert_allclose(m, res.forecast(H_MAX), rtol=1e-8)
    d2 = np.diff(z, 2)
    r = d2[1:] - CURVE_PHI * d2[:-1]
    assert fit.params["resid_sd"] == pytest.approx(np.sqrt(np.mean(r ** 2)), rel=1e-12)


def test_a_decline_whose_bends_fade_is_followed_by_the_curve_model():
    """A decline whose pace changed twice (a slowing, then a quickening), each bend fading by
    half every year after (the curve model's own dynamics, as in smoothed mortality
    estimates): the auto rule picks it in both paths — its rolling-origin errors are below
    CHALLENGE_MARGIN × the others' — and it forecasts the next five years closer than
    ARIMA(2,1,0) and the straight log-linear trend."""
    from wuwei_analysis.models.local_trend import CURVE_PHI

    d2 = np.zeros(len(YEARS) + 5)
    for t in range(1, len(d2)):
        d2[t] = CURVE_PHI * d2[t - 1] + {2: 0.03, 6: -0.02}.get(t, 0.0)
    z = np.log(60) + np.r_[0.0, np.cumsum(-0.08 + np.cumsum(d2))[1:]]
    y = np.exp(z)
    n = len(YEARS)
    end = int(YEARS[-1]) + 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = forecast_series(YEARS, y[:n], unit="‰", horizon_year=end)
        many = forecast_series_many([YEARS], [y[:n]], unit=["‰"], horizon_year=end)
        refs = {m: forecast_series(YEARS, y[:n], unit="‰", model=m, horizon_year=end)
                for m in ("arima2", "loglinear")}
    assert fc.attrs["model"] == "curve" and many.model[0] == "curve"
    err = np.abs(fc["mean"].to_numpy() - y[n:]).max()
    for m, ref in refs.items():
        assert err < np.abs(ref["mean"].to_numpy() - y[n:]).max() / 10, m


def test_curve_needs_four_yearly_points():
    from wuwei_analysis.models import ForecastError
    from wuwei_analysis.models.local_trend import fit_curve

    with pytest.raises(ForecastError):
        fit_curve(YEARS[:3], _bending()[:3], Scale("log"))
    with pytest.raises(ForecastError):
        fit_curve(np.delete(YEARS, 4), np.delete(_bending(), 4), Scale("log"))


def test_curve_in_the_engine_equals_the_per_series_fit():
    """``vector_models.fit_curve`` on a padded batch (3–20 years, some constant) equals
    ``local_trend.fit_curve`` series by series to 1e-8: parameters, centre and model sd; the
    rows too short fail."""
    from wuwei_analysis.engine import vector_models as vm
    from wuwei_analysis.models.local_trend import CURVE_MIN_POINTS, fit_curve

    rng = np.random.default_rng(2)
    S, T = 200, 20
    x = np.arange(2000, 2000 + T, dtype=float)[None, :].repeat(S, 0)
    z = np.cumsum(np.cumsum(rng.normal(0, 0.02, (S, T)), 1) * rng.uniform(0, 1, (S, 1))
                  + rng.normal(0, 0.01, (S, T)), 1)
    y = 20 * np.exp(z)
    y[:10] = 7.0                                                   # constant series
    n = rng.integers(3, T + 1, S)
    M = np.arange(T)[None, :] < n[:, None]
    f = vm.fit_curve(x, np.where(M, y, np.nan), M, "log")
    xs = np.arange(2000, 2035, dtype=float)[None, :].repeat(S, 0)
    m_e, s_e = f.predict(xs)
    for i in range(S):
        if n[i] < CURVE_MIN_POINTS:
            assert f.fail[i]
            continue
        one = fit_curve(x[i, :n[i]], y[i, :n[i]], Scale("log"))
        m, s = one.predict(xs[i])
        ahead = xs[i] > x[i, n[i] - 1]
        np.testing.assert_allclose(m_e[i, ahead], m[ahead], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(s_e[i, ahead], s[ahead], rtol=1e-8, atol=1e-10)
        for k in ("phi", "resid_sd", "change_1y"):
            assert f.params[k][i] == pytest.approx(one.params[k], rel=1e-8, abs=1e-10), k
