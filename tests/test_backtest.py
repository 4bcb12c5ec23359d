"""Rolling-origin backtests: the measures are computed right, and intervals are honest on the
real national series (80 % nominal ≈ 80 % of later outcomes)."""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wuwei_analysis.models import backtest, summarise_backtest
from wuwei_analysis.models.rolling_origin import BACKTEST_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("backtest_national",
                                                  ROOT / "benchmarks" / "backtest_national.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rows_are_one_per_origin_and_forecast_year():
    x = np.arange(2013, 2021)            # 8 points
    df = backtest(x, np.linspace(10, 6, 8), unit="‰", model="loglinear", min_train=5,
                  horizon=3)
    assert list(df.columns) == BACKTEST_COLUMNS
    # origins 2017, 2018, 2019 (5, 6, 7 points); targets up to 3 years later, within data
    assert df.groupby("origin").size().to_dict() == {2017: 3, 2018: 2, 2019: 1}
    assert (df["h"] == df["year"] - df["origin"]).all()
    assert df.attrs["n_forecasts"] == 6


def test_naive_model_on_a_straight_line_has_known_errors_and_coverage():
    # y = year − 2010: the naive forecast h years ahead is off by exactly h
    x = np.arange(2011, 2019)
    df = backtest(x, (x - 2010).astype(float), unit="岁", model="naive", min_train=3,
                  horizon=1, interval="model")
    assert (df["actual"] - df["mean"] == 1).all()
    assert df.attrs["mase"] == pytest.approx(1.0)      # one-step error = mean yearly change
    assert df.attrs["rel_mae"] == pytest.approx(1.0)   # it *is* the naive forecast
    inside80 = ((df.actual >= df.lo80) & (df.actual <= df.hi80)).mean()
    assert df.attrs["coverage80"] == pytest.approx(inside80)


def test_summary_counts_actuals_inside_the_intervals():
    rows = pd.DataFrame({
        "origin": 2020, "year": [2021, 2022, 2023, 2024], "h": [1, 2, 3, 4],
        "actual": [10.0, 10.0, 10.0, 10.0], "mean": [10.0, 9.0, 11.0, 14.0],
        "lo80": [9.0, 9.5, 10.5, 12.0], "hi80": [11.0, 10.5, 11.5, 16.0],
        "lo95": [8.0, 9.0, 9.5, 11.0], "hi95": [12.0, 11.0, 12.5, 17.0],
        "model": "linear", "naive": [8.0, 8.0, 8.0, 8.0], "mase_scale": 2.0,
        "z_error": 0.0, "z_sd_model": 0.0, "pace_u": 0.0})
    s = summarise_backtest(rows).iloc[0]
    assert s.coverage80 == pytest.approx(2 / 4)   # 10 in [9, 11] and [9.5, 10.5] only
    assert s.coverage95 == pytest.approx(3 / 4)   # not in [11, 17]
    assert s.mase == pytest.approx(np.mean([0, 1, 1, 4]) / 2.0)
    assert s.rel_mae == pytest.approx((0 + 1 + 1 + 4) / (2 * 4))
    by_h = summarise_backtest(rows, by="h")
    assert by_h["coverage80"].tolist() == [1.0, 1.0, 0.0, 0.0]


def test_backtest_with_counts_uses_the_poisson_model():
    years = np.arange(2013, 2025)
    births = np.full(12, 5000.0)
    deaths = np.round(5000 * 0.006 * 0.95 ** (years - 2013))
    df = backtest(years, None, unit="‰", counts=deaths, exposures=births, model="auto")
    assert set(df["model"]) <= {"poisson", "quasi_poisson", "naive"}
    assert len(df) > 0 and df.attrs["coverage95"] >= df.attrs["coverage80"]


@pytest.fixture(scope="module")
def national():
    warnings.simplefilter("ignore")
    bench = _bench()
    series = bench.load_series()
    rows = []
    for s in series:
        for method in ("model", "calibrated"):
            bt = backtest(s["years"], s["values"], unit=s["unit"], min_train=5, horizon=3,
                          interval=method)
            df = pd.DataFrame(bt)
            df.attrs = {}
            rows.append(df.assign(series=s["series"], method=method))
    return series, pd.concat(rows, ignore_index=True)


def test_national_series_are_the_real_long_ones(national):
    series, _ = national
    names = {s["series"] for s in series}
    assert {"全国:婴儿死亡率", "全国:孕产妇死亡率", "全国:5岁以下儿童死亡率"} <= names
    imr = next(s for s in series if s["series"] == "全国:婴儿死亡率")
    assert len(imr["years"]) >= 14


def test_calibrated_80_percent_intervals_cover_about_80_percent_of_national_outcomes(national):
    _, rows = national
    s = summarise_backtest(rows, by="method").set_index("method")
    assert 0.72 <= s.loc["calibrated", "coverage80"] <= 0.90
    assert 0.88 <= s.loc["calibrated", "coverage95"] <= 0.99
    # textbook intervals are too narrow on these smoothed series
    assert s.loc["model", "coverage80"] < s.loc["calibrated", "coverage80"] - 0.05
    imr = summarise_backtest(rows[rows.series == "全国:婴儿死亡率"], by="method")
    imr = imr.set_index("method")
    assert imr.loc["model", "coverage80"] < 0.55 < imr.loc["calibrated", "coverage80"]


def test_default_model_beats_the_naive_forecast_on_national_series(national):
    _, rows = national
    s = summarise_backtest(rows[rows.method == "calibrated"]).iloc[0]
    assert s.rel_mae < 0.7
    mort = rows[(rows.method == "calibrated") & rows.series.str.contains("死亡率")]
    assert summarise_backtest(mort).iloc[0].rel_mae < 0.6


@pytest.mark.slow  # backtests every national series
def test_stored_calibration_matches_what_the_national_series_give():
    from wuwei_analysis.models.calibrate import CALIBRATION, calibrate_rows

    warnings.simplefilter("ignore")
    bench = _bench()
    new = calibrate_rows(bench.fixed_model_rows(bench.load_series()))
    # naive and arima come from the real calibration pool instead (next test)
    for model in ("loglinear", "logit", "damped"):
        assert new[model]["c"] == pytest.approx(CALIBRATION[model]["c"], rel=0.05), model
        assert new[model]["k80"] == pytest.approx(CALIBRATION[model]["k80"], rel=0.05), model


def test_pool_constants_are_shipped_as_data_with_their_source():
    from importlib import resources

    import yaml

    from wuwei_analysis.models.calibrate import CALIBRATION, POOL_CONSTANTS, constants

    text = resources.files("wuwei_analysis.data").joinpath(POOL_CONSTANTS).read_text("utf-8")
    assert "systema_globalis" in text and "CC BY 4.0" in text
    shipped = yaml.safe_load(text)
    assert {"arima", "naive"} <= set(shipped)
    for fam, cst in shipped.items():
        assert constants(fam) is CALIBRATION[fam]
        assert CALIBRATION[fam]["c"] == cst["c"] and len(cst["horizon"]) == 5
        # a family's own constants on the share scale rest on at least 500 forecasts
        assert cst["n"] > (500 if fam.endswith("@share") else 1000)
    # county counts keep the national log-linear constants
    assert constants("quasi_poisson") == constants("poisson")


def test_poisson_intervals_cover_simulated_county_counts_of_one_event_a_year():
    """A county with ~3,000 births and a constant 40/10万 rate: ~1.2 deaths a year. The 80 %
    interval three years ahead holds the realised rate at least 80 % of the time (counts are
    discrete, so a little more), and not almost always (which would say nothing)."""
    from wuwei_analysis.models import forecast_series

    rng = np.random.default_rng(7)
    births = np.full(8, 3000.0)
    inside80 = inside95 = 0
    n = 120
    for _ in range(n):
        deaths = rng.poisson(3000 * 40e-5, size=8)
        fc = forecast_series(np.arange(2015, 2023), None, unit="1/10万", counts=deaths,
                             exposures=births, horizon_year=2025, model="poisson")
        future = rng.poisson(3000 * 40e-5) / 3000 * 1e5
        row = fc.iloc[-1]
        inside80 += row.lo80 <= future <= row.hi80
        inside95 += row.lo95 <= future <= row.hi95
    assert 0.78 <= inside80 / n <= 0.99
    assert 0.92 <= inside95 / n <= 1.0
