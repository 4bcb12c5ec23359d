"""wa.summary(fc): the model behind a forecast, refitted with statsmodels, for every family."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import wuwei_analysis as wa
from wuwei_analysis.models import summary as S
from wuwei_analysis.models.fit import ForecastError
from wuwei_analysis.models.summary import COEFFICIENT_COLUMNS

YEARS = np.arange(2010, 2024)
IMR = 9.0 * 0.93 ** (YEARS - 2010) * np.exp(0.03 * np.sin(YEARS))     # ‰, falling


def test_loglinear_summary_is_the_ols_of_log_values_on_centred_years():
    fc = wa.forecast_series(YEARS, IMR, target="c_infant_mortality", model="loglinear")
    s = wa.summary(fc)
    ref = sm.OLS(np.log(IMR), sm.add_constant(YEARS - YEARS.mean())).fit()
    assert list(s.coefficients.columns) == COEFFICIENT_COLUMNS
    assert list(s.coefficients.term) == ["intercept", "slope"]
    assert np.allclose(s.coefficients.coef, ref.params)
    assert np.allclose(s.coefficients.se, ref.bse)
    assert np.allclose(s.coefficients.p_value, ref.pvalues)
    assert np.allclose(s.coefficients[["ci_low", "ci_high"]], ref.conf_int(0.05))
    assert s.stats["aic"] == pytest.approx(ref.aic) and s.stats["n"] == len(YEARS)
    # the same slope and SE the forecast used
    assert s.coefficients.coef[1] == pytest.approx(fc.attrs["params"]["slope"])
    assert s.coefficients.se[1] == pytest.approx(fc.attrs["params"]["slope_se"])
    assert s.stats["aarr"] == pytest.approx(fc.attrs["aarr"])
    assert s.stats["aarr_ci_low"] < s.stats["aarr"] < s.stats["aarr_ci_high"]
    assert list(s.residuals.columns) == ["year", "observed", "fitted", "z_observed",
                                         "z_fitted", "resid"]
    assert np.allclose(s.residuals.resid, ref.resid)
    assert s.results.summary() is not None and "slope" in str(s.summary())


def test_logit_and_linear_families():
    pct = [80.1, 82.0, 83.5, 85.2, 86.0, 87.9, 88.5, 90.1]
    s = wa.summary(wa.forecast_series(range(2016, 2024), pct, unit="%", model="logit"))
    z = np.log(np.array(pct) / (100 - np.array(pct)))
    ref = sm.OLS(z, sm.add_constant(np.arange(8) - 3.5)).fit()
    assert np.allclose(s.coefficients.coef, ref.params)
    assert s.stats["scale"] == "logit"
    s = wa.summary(wa.forecast_series(range(2016, 2024), pct, unit="%", model="linear"))
    assert np.allclose(s.coefficients.coef,
                       sm.OLS(pct, sm.add_constant(np.arange(8) - 3.5)).fit().params)


def test_poisson_and_quasi_poisson_summaries_are_the_glm_with_offset():
    births = np.array([3100, 3000, 2900, 2800, 2700, 2600, 2500, 2450])
    deaths = np.array([30, 26, 29, 22, 20, 21, 17, 15])
    fc = wa.forecast_series(range(2016, 2024), None, unit="‰", counts=deaths,
                            exposures=births)
    assert fc.attrs["model"] == "poisson"
    s = wa.summary(fc)
    ref = sm.GLM(deaths, sm.add_constant(np.arange(8) - 3.5), family=sm.families.Poisson(),
                 offset=np.log(births)).fit()
    assert np.allclose(s.coefficients.coef, ref.params)
    assert np.allclose(s.coefficients.se, ref.bse)
    assert s.stats["aic"] == pytest.approx(ref.aic)
    assert s.stats["dispersion"] == pytest.approx(ref.pearson_chi2 / 6)
    assert s.coefficients.se[1] == pytest.approx(fc.attrs["params"]["slope_se"])
    # overdispersed counts: quasi-Poisson, SEs × √φ
    deaths2 = np.array([30, 12, 41, 15, 33, 9, 28, 10])
    fc2 = wa.forecast_series(range(2016, 2024), None, unit="‰", counts=deaths2,
                             exposures=births)
    assert fc2.attrs["model"] == "quasi_poisson"
    s2 = wa.summary(fc2)
    assert s2.coefficients.se[1] == pytest.approx(fc2.attrs["params"]["slope_se"])
    assert s2.stats["dispersion"] > 1.5 and any("准泊松" in n for n in s2.notes)


def test_damped_and_naive_have_statsmodels_results_too():
    damped = wa.summary(wa.forecast_series(YEARS, IMR, target="c_infant_mortality",
                                           model="damped"))
    assert "damping_trend" in set(damped.coefficients.term)
    assert math.isfinite(damped.stats["aic"]) and damped.results is not None
    naive = wa.summary(wa.forecast_series(YEARS, IMR, target="c_infant_mortality",
                                          model="naive"))
    assert list(naive.coefficients.term) == ["sigma2"]
    dz = np.diff(np.log(IMR))
    assert naive.coefficients.coef[0] == pytest.approx(np.mean(dz ** 2), rel=0.05)
    assert naive.results.summary() is not None


def test_auto_selection_scores_are_in_the_summary():
    fc = wa.forecast_series(YEARS, IMR, target="c_infant_mortality")   # 14 points: selection
    s = wa.summary(fc)
    assert set(s.selection.model) >= {"loglinear", "naive", "arima"}
    assert s.selection.chosen.sum() == 1
    assert s.selection.loc[s.selection.chosen, "model"].item() == fc.attrs["model"]


def test_a_flat_trend_is_said_to_be_indistinguishable_from_flat():
    noisy = [6.0, 6.9, 5.6, 6.4, 5.8, 6.6, 5.7, 6.3, 5.9]
    fc = wa.forecast_series(range(2015, 2024), noisy, target="c_infant_mortality",
                            model="loglinear")
    p = wa.trend_significance(fc)
    assert p > 0.5
    assert p == pytest.approx(wa.summary(fc).slope_p_value)
    assert any("无法区分" in n for n in wa.summary(fc).notes)
    steep = wa.forecast_series(YEARS, IMR, target="c_infant_mortality", model="loglinear")
    assert wa.trend_significance(steep) < 1e-6
    naive = wa.forecast_series(YEARS, IMR, target="c_infant_mortality", model="naive")
    assert wa.trend_significance(naive) is None


def test_fit_returns_the_statsmodels_results_object():
    res = wa.fit(YEARS, IMR, target="c_infant_mortality", model="loglinear")
    assert isinstance(res.params, pd.Series) and list(res.params.index) == ["intercept", "slope"]
    assert "OLS Regression Results" in str(res.summary())


def test_a_forecast_without_a_model_has_no_summary():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = wa.forecast_series([2022, 2023], [5.5, 5.1], unit="‰")
    with pytest.raises(ForecastError, match="没有拟合模型"):
        wa.summary(fc)


def test_a_new_family_is_added_through_the_registry(monkeypatch):
    fc = wa.forecast_series(YEARS, IMR, target="c_infant_mortality", model="loglinear")
    fc.attrs["model"] = "my_family"
    with pytest.raises(ForecastError, match="尚无摘要"):
        wa.summary(fc)
    monkeypatch.setitem(S.SUMMARIES, "my_family", S.SUMMARIES["loglinear"])
    assert len(wa.summary(fc).coefficients) == 2


def test_summary_of_a_database_forecast_and_its_html():
    fc = wa.forecast("c_infant_mortality", "天祝县")
    s = wa.summary(fc)
    assert s.model in ("poisson", "quasi_poisson", "loglinear")
    html = s._repr_html_()
    assert "<table" in html and "slope" in html


def test_the_local_trend_model_has_a_summary_too():
    fc = wa.forecast_series(YEARS, IMR, target="c_infant_mortality", model="arima")
    s = wa.summary(fc)
    assert list(s.coefficients.term) == ["const", "ar.L1"]
    assert s.results.nobs == len(YEARS) - 2
    assert len(s.residuals) == len(YEARS) and s.residuals.resid.iloc[:2].eq(0).all()


def test_the_curve_model_has_a_statsmodels_summary_with_its_coefficient_fixed():
    from wuwei_analysis.models.local_trend import CURVE_PHI

    fc = wa.forecast_series(YEARS, IMR, target="c_infant_mortality", model="curve")
    s = wa.summary(fc)
    assert list(s.coefficients.term) == ["ar.L1 (fixed)", "sigma2"]
    assert s.coefficients.coef.iloc[0] == CURVE_PHI
    assert s.stats["scale"] == "log" and len(s.residuals) == len(YEARS)
