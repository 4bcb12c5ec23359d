"""Trend models and forecasts: what a user of ``forecast_series`` can rely on."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from wuwei_analysis.models import FORECAST_COLUMNS, ForecastError, forecast_series
from wuwei_analysis.models.calibrate import Z80, calibrate_pool, predictive
from wuwei_analysis.models.core import choose_model, resolve_spec
from wuwei_analysis.models.fit import fit_trend
from wuwei_analysis.targets import Target

YEARS = list(range(2016, 2025))  # 9 points


def intervals_nested(df: pd.DataFrame) -> bool:
    return bool(((df.lo95 <= df.lo80 + 1e-12) & (df.lo80 <= df["mean"] + 1e-12)
                 & (df["mean"] <= df.hi80 + 1e-12) & (df.hi80 <= df.hi95 + 1e-12)).all())


# ------------------------------------------------------------------ the table and its attrs
def test_forecast_table_has_future_years_to_2030_and_documented_attrs():
    df = forecast_series(YEARS, np.linspace(9, 6, 9), unit="‰", target=Target("at_most", 5.0))
    assert list(df.columns) == FORECAST_COLUMNS
    assert df["year"].tolist() == list(range(2025, 2031))
    for key in ("model", "model_zh", "params", "aarr", "annual_change", "p_meet",
                "target_year", "fitted", "n_points", "interval_method", "notes"):
        assert key in df.attrs, key
    assert df.attrs["n_points"] == 9 and df.attrs["target_year"] == 2030
    assert list(df.attrs["fitted"].columns) == ["year", "observed", "fitted"]
    assert df.attrs["interval_method"] == "calibrated"
    assert intervals_nested(df)


def test_nan_values_are_dropped_and_years_may_have_gaps():
    df = forecast_series([2010, 2012, 2015, 2018, 2019, 2020], [10, np.nan, 8, 7, 6.8, 6.5],
                         unit="‰")
    assert df.attrs["n_points"] == 5
    assert df["year"].iloc[0] == 2021


def test_fewer_than_three_points_give_no_forecast():
    df = forecast_series([2023, 2024], [5.5, 5.1], unit="‰", target=Target("at_most", 5.0))
    assert df.empty and list(df.columns) == FORECAST_COLUMNS
    assert df.attrs["model"] == "none" and df.attrs["p_meet"] is None
    # NaNs do not count as points
    df = forecast_series([2022, 2023, 2024], [np.nan, 5.5, 5.1], unit="‰")
    assert df.attrs["model"] == "none"


def test_duplicate_years_are_refused_with_a_clear_error():
    with pytest.raises(ForecastError, match="年份重复"):
        forecast_series([2020, 2021, 2021, 2022], [1, 2, 3, 4], unit="%")


# ------------------------------------------------------------------ model by nature
def test_model_family_follows_the_indicator_nature():
    assert resolve_spec("‰").primary == "loglinear"
    assert resolve_spec("‰", has_counts=True).primary == "poisson"
    assert resolve_spec("%").primary == "logit"
    assert resolve_spec("%", target_kind="around").primary == "linear"
    assert resolve_spec("岁").primary == "linear"


def test_target_may_be_an_indicator_id_which_supplies_unit_and_target():
    df = forecast_series(YEARS, np.linspace(9, 6, 9), target="c_infant_mortality")
    assert df.attrs["unit"] == "‰" and df.attrs["threshold"] == 5.0
    assert df.attrs["scale"] == "log"


# ------------------------------------------------------------------ logit: bounded by 100
def test_logit_forecasts_never_exceed_100_even_from_a_series_that_reaches_100():
    for values in ([96.0, 97.5, 98.6, 99.3, 99.8, 100.0, 100.0],
                   [90.0, 93.0, 96.0, 98.0, 99.0, 99.5, 99.9]):
        df = forecast_series(range(2018, 2025), values, unit="%",
                             target=Target("at_least", 95.0))
        assert df.attrs["scale"] == "logit"
        assert (df[["mean", "lo80", "hi80", "lo95", "hi95"]] <= 100.0).all().all()
        assert intervals_nested(df)
        assert df.attrs["p_meet"] > 0.9


def test_logit_handles_zero_values_without_going_below_zero():
    df = forecast_series(range(2019, 2025), [0.0, 0.0, 0.4, 1.0, 1.8, 2.5], unit="%")
    assert (df[["mean", "lo80", "lo95"]] >= 0.0).all().all()
    assert any("0或100%" in n for n in df.attrs["notes"])


def test_linear_model_for_a_share_meant_to_stay_around_a_value():
    t = Target("around", 45.0, tolerance=2.0)
    df = forecast_series(YEARS, [44.6, 45.2, 44.9, 45.3, 44.8, 45.1, 45.0, 44.7, 45.2],
                         unit="%", target=t, model="linear")
    assert df.attrs["model"] == "linear"
    assert df.attrs["p_meet"] > 0.8


# ------------------------------------------------------------------ log-linear and AARR
def test_aarr_of_an_exact_exponential_series_is_its_rate_of_reduction():
    x = np.arange(2015, 2025)
    df = forecast_series(x, 10 * 0.95 ** (x - 2015), unit="‰", model="loglinear")
    assert df.attrs["aarr"] == pytest.approx(0.05, abs=1e-9)
    assert df.attrs["params"]["slope"] == pytest.approx(np.log(0.95), abs=1e-9)
    assert df["mean"].iloc[0] == pytest.approx(10 * 0.95 ** 10, rel=1e-9)
    assert df.attrs["annual_change"] < 0
    rising = forecast_series(x, 10 * 1.03 ** (x - 2015), unit="‰", model="loglinear")
    assert rising.attrs["aarr"] == pytest.approx(-0.03, abs=1e-9)
    auto = forecast_series(x, 10 * 0.95 ** (x - 2015), unit="‰")
    assert auto.attrs["model"] == "loglinear"   # nothing beats an exact trend


def test_linear_model_has_no_aarr_but_an_annual_change():
    df = forecast_series(YEARS, 70 + 0.3 * np.arange(9), unit="岁")
    assert df.attrs["aarr"] is None
    assert df.attrs["annual_change"] == pytest.approx(0.3, abs=1e-9)


# ------------------------------------------------------------------ p_meet
def test_p_meet_is_near_one_far_better_than_target_and_near_zero_far_worse():
    falling = np.linspace(4.0, 2.5, 9) * (1 + 0.02 * np.sin(np.arange(9)))
    # (> 0.98, not 0.99: the local-trend family's predictive, calibrated on real series,
    # has heavy tails — a few real series do turn)
    assert forecast_series(YEARS, falling, unit="‰",
                           target=Target("at_most", 5.0)).attrs["p_meet"] > 0.98
    rising = np.linspace(8.0, 12.0, 9) * (1 + 0.02 * np.sin(np.arange(9)))
    assert forecast_series(YEARS, rising, unit="‰",
                           target=Target("at_most", 5.0)).attrs["p_meet"] < 0.01
    low = np.linspace(60, 70, 9)
    assert forecast_series(YEARS, low, unit="%",
                           target=Target("at_least", 95)).attrs["p_meet"] < 0.01


def test_p_meet_uses_the_target_year_even_beyond_the_horizon():
    df = forecast_series(YEARS, np.linspace(9, 6, 9), unit="‰",
                         target=Target("at_most", 5.0, year=2035), horizon_year=2030)
    assert df["year"].max() == 2030
    assert df.attrs["target_year"] == 2035 and 0.0 <= df.attrs["p_meet"] <= 1.0


def test_relative_change_uses_the_base_year_value_of_the_series():
    t = Target("relative_change", base_year=2020, change=-0.20, direction="down")
    x = list(range(2018, 2025))
    y = [21.0, 20.5, 20.0, 19.0, 18.1, 17.2, 16.4]
    df = forecast_series(x, y, unit="1/10万", target=t)
    assert df.attrs["threshold"] == pytest.approx(16.0)
    assert df.attrs["p_meet"] > 0.8
    # without the base year the target cannot be judged
    df = forecast_series(x[3:], y[3:], unit="1/10万", target=t)
    assert df.attrs["p_meet"] is None
    assert any("基期" in n for n in df.attrs["notes"])


def test_direction_target_is_judged_by_the_trend_sign_not_a_threshold():
    t = Target("direction", direction="up")
    up = forecast_series(range(2018, 2025), [50, 51, 52.5, 53, 54.2, 55, 56], unit="%",
                         target=t)
    assert up.attrs["p_meet"] > 0.99
    down = forecast_series(range(2018, 2025), [56, 55, 54.2, 53, 52.5, 51, 50], unit="%",
                           target=t)
    assert down.attrs["p_meet"] < 0.01


def test_gap_target_is_judged_on_the_absolute_gap():
    t = Target("gap", gap="urban_rural", direction="down")
    narrowing = forecast_series(range(2018, 2025), [-4.0, -3.6, -3.1, -2.5, -2.2, -1.6, -1.1],
                                unit="‰", target=t)
    assert narrowing.attrs["p_meet"] > 0.99
    assert narrowing.attrs["model"] != "loglinear"   # a gap may be negative: linear
    widening = forecast_series(range(2018, 2025), [1.0, 1.3, 1.2, 1.8, 2.1, 2.0, 2.6],
                               unit="‰", target=t)
    assert widening.attrs["p_meet"] < 0.05


# ------------------------------------------------------------------ Poisson with counts
def test_poisson_with_zero_to_three_events_gives_achievable_nonnegative_intervals():
    births = np.array([3100, 3000, 2900, 2800, 2700, 2600, 2500])
    deaths = np.array([1, 0, 2, 0, 1, 3, 0])
    df = forecast_series(range(2018, 2025), None, unit="1/10万", counts=deaths,
                         exposures=births, target=Target("at_most", 12.0))
    assert df.attrs["model"] == "poisson"
    assert (df[["lo80", "lo95"]] >= 0).all().all()
    assert np.isfinite(df[["hi80", "hi95"]]).all().all() and intervals_nested(df)
    # interval ends are rates a county can actually record: k deaths / expected births
    e = births[-3:].mean()
    k = df["hi95"].to_numpy() * e / 1e5
    assert np.allclose(k, np.round(k))
    # with ~2,600 births a year any death exceeds 12/10万: P(meet) = P(no death) in 2030
    assert 0.1 < df.attrs["p_meet"] < 0.7
    again = forecast_series(range(2018, 2025), None, unit="1/10万", counts=deaths,
                            exposures=births, target=Target("at_most", 12.0))
    pd.testing.assert_frame_equal(df, again)          # fixed seed: same input, same output


def test_poisson_all_zero_counts_still_forecast():
    df = forecast_series(range(2019, 2025), [0.0] * 6, unit="1/10万", counts=[0] * 6,
                         exposures=[2500] * 6, target=Target("at_most", 12.0))
    assert df.attrs["model"] == "poisson" and df["mean"].gt(0).all()
    assert df.attrs["p_meet"] > 0.5


def test_poisson_trend_with_enough_events_and_quasi_poisson_when_overdispersed():
    years = np.arange(2013, 2025)
    births = np.full(12, 20000.0)
    expected = 20000 * 0.008 * 0.93 ** (years - 2013)          # 8‰ falling 7 % a year
    df = forecast_series(years, None, unit="‰", counts=np.round(expected),
                         exposures=births, model="poisson")
    assert df.attrs["model"] == "poisson"
    assert df.attrs["aarr"] == pytest.approx(0.07, abs=0.01)
    wild = np.round(expected * np.where(np.arange(12) % 2 == 0, 1.5, 0.6))
    dq = forecast_series(years, None, unit="‰", counts=wild, exposures=births,
                         model="poisson")
    assert dq.attrs["model"] == "quasi_poisson"
    assert dq.attrs["params"]["dispersion"] > 1.5
    assert (dq.hi80 - dq.lo80).mean() > (df.hi80 - df.lo80).mean()


def test_missing_counts_are_derived_from_values_and_denominators():
    df = forecast_series(range(2019, 2025), [6.0, 5.5, 5.2, 4.8, 4.4, 4.1], unit="‰",
                         counts=[60, np.nan, 52, 48, np.nan, 41], exposures=[10000] * 6)
    assert df.attrs["model"] in ("poisson", "quasi_poisson")


# ------------------------------------------------------------------ intervals and auto
def test_calibrated_intervals_are_wider_than_textbook_for_a_smooth_series():
    y = 13.1 * 0.93 ** np.arange(9) * (1 + 0.003 * np.cos(np.arange(9)))
    cal = forecast_series(YEARS, y, unit="‰", model="loglinear")
    tb = forecast_series(YEARS, y, unit="‰", model="loglinear", interval="model")
    assert tb.attrs["interval_method"] == "model"
    w_cal = (cal.hi80 - cal.lo80).iloc[-1]
    w_tb = (tb.hi80 - tb.lo80).iloc[-1]
    assert w_cal > 3 * w_tb
    # and the uncertainty grows with the horizon
    assert (np.diff((cal.hi80 - cal.lo80).to_numpy()) > 0).all()


def test_auto_uses_the_primary_model_for_short_series_and_compares_for_longer_ones():
    spec = resolve_spec("‰")
    name, scores = choose_model(spec, [2020, 2021, 2022, 2023, 2024], [9, 8, 7.5, 7, 6.2])
    assert name == "loglinear" and scores == {}
    x = np.arange(2013, 2025)
    flat_then_jumpy = [5, 5, 5, 5, 5, 5, 5.6, 5.6, 5.6, 6.4, 6.4, 6.4]
    name, scores = choose_model(spec, x, flat_then_jumpy)
    assert set(scores) == {"loglinear", "naive", "arima", "pooled", "arima2", "curve"}
    assert name == min(scores, key=scores.get) or name == "loglinear"


def test_unknown_model_is_refused():
    with pytest.raises(ForecastError):
        forecast_series(YEARS, np.linspace(9, 6, 9), unit="‰", model="prophet")


def test_calibration_recovers_a_known_drift():
    rng = np.random.default_rng(1)
    h = np.tile(np.arange(1, 7), 200).astype(float)
    u = np.full_like(h, 0.05)
    err = rng.normal(0, 0.3 * 0.05 * h)
    cst = calibrate_pool(err, np.zeros_like(h), u, h)
    assert cst["c"] == pytest.approx(0.3, rel=0.1)
    assert cst["k80"] == pytest.approx(Z80, rel=0.1)


def test_textbook_and_calibrated_predictive_agree_when_nothing_drifts():
    fit = fit_trend([2020, 2021, 2022, 2023, 2024], [50.0, 50.0, 50.0, 50.0, 50.0],
                    resolve_spec("岁").scale, "linear")
    pred = predictive(fit, [2025, 2030])
    assert np.allclose(pred.mean, 50.0)


def test_a_forecast_is_fast_enough_for_the_app():
    y = np.linspace(9, 6, 9)
    forecast_series(YEARS, y, unit="‰", target=Target("at_most", 5.0))   # warm imports
    t0 = time.perf_counter()
    for i in range(10):
        forecast_series(YEARS, y * (1 + 0.01 * i), unit="‰", target=Target("at_most", 5.0))
        forecast_series(YEARS, 80 + 2 * np.arange(9) + i * 0.1, unit="%",
                        target=Target("at_least", 95.0))
    per_call = (time.perf_counter() - t0) / 20
    assert per_call < 0.1
