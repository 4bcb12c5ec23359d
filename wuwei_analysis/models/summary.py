"""The fitted model behind a forecast, as a statistician reads it (layer: models).

``summary(fc)`` refits the forecast's model with statsmodels on the same inputs (the
observed series in ``fc.attrs["fitted"]``, counts and denominators in
``fc.attrs["inputs"]``, the model in ``fc.attrs["model"]``) and returns a
:class:`ModelSummary`: the coefficient table (estimate, standard error, test statistic,
p-value, 95 % confidence interval), fit statistics (n, residual degrees of freedom, σ or
the dispersion φ, log-likelihood, AIC, BIC), the residuals per year, the auto-selection
scores, and the statsmodels results object itself (``.results``; ``.summary()`` prints
statsmodels' own table). It does not depend on how the forecast was computed (the
per-series path or the vectorised engine): the refit is the reference.

Model families and their statsmodels fit (:data:`SUMMARIES`, a registry: a new family is
added with :func:`register_summary`)

===============================  ==========================================================
model                            statsmodels
===============================  ==========================================================
loglinear, logit, linear         OLS of the modelling-scale value on (year − centre year)
poisson                          GLM Poisson, log link, offset log(denominator)
quasi_poisson                    the same GLM with scale = Pearson χ² / df (SEs × √φ)
poisson without a trend          intercept-only Poisson GLM (fewer than 5 events in all)
damped                           ETSModel(error="add", trend="add", damped_trend=True)
naive                            ARIMA(0, 1, 0) on the modelling scale (a random walk)
arima                            OLS of Δz_t on [1, Δz_{t−1}] (ARIMA(1,1,0) with drift)
pooled                           the same ARIMA refit; the pool's weights as stats (no SEs)
arima2                           OLS of Δz_t on [1, Δz_{t−1}, Δz_{t−2}] (ARIMA(2,1,0), drift)
curve                            ARIMA(1, 2, 0) without constant, ar.L1 fixed at CURVE_PHI
===============================  ==========================================================

``trend_significance(fc)`` is the two-sided p-value of the trend slope (H0: flat) from the
forecast's own parameters, without a refit: a slope with p ≥ 0.05 is "not distinguishable
from flat" whatever AARR it implies.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .fit import MODEL_LABELS_ZH, ForecastError, Scale, to_model_scale

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COEFFICIENT_COLUMNS", "ModelSummary", "SUMMARIES", "SummaryInputs", "fit",
    "register_summary", "summary", "trend_significance",
]

COEFFICIENT_COLUMNS = ["term", "term_zh", "coef", "se", "stat", "p_value", "ci_low",
                       "ci_high"]
RESIDUAL_COLUMNS = ["year", "observed", "fitted", "z_observed", "z_fitted", "resid"]
#: A slope whose two-sided p-value is at least this is "not distinguishable from flat".
FLAT_P = 0.05


@dataclass
class SummaryInputs:
    """What a family's refit needs, taken from a forecast's attrs."""

    model: str
    years: np.ndarray
    values: np.ndarray
    counts: np.ndarray | None
    exposures: np.ndarray | None
    unit: str
    scale: Scale
    rate_scale: float
    params: dict


@dataclass
class ModelSummary:
    """模型摘要 — the fitted model's table, statistics, residuals and selection scores.

    Attributes:
        model, model_zh: the model (as in ``fc.attrs["model"]``) and its Chinese label.
        coefficients: DataFrame term, term_zh, coef, se, stat (t or z), p_value, ci_low,
            ci_high (95 %), on the modelling scale (log / logit / identity).
        stats: dict n, df_resid, sigma (residual sd, modelling scale) or dispersion (φ),
            loglik, aic, bic, scale (modelling scale), and family-specific entries.
        residuals: DataFrame year, observed, fitted (in the unit), z_observed, z_fitted,
            resid (modelling scale; Pearson residuals for Poisson models).
        selection: DataFrame model, model_zh, score, chosen — the auto rule's rolling-origin
            errors (empty when the model was not selected among candidates).
        results: the statsmodels results object (``.summary()``, ``.params``, ...).
        notes: Chinese remarks on the fit.
    """

    model: str
    model_zh: str
    coefficients: "pd.DataFrame"
    stats: dict
    residuals: "pd.DataFrame"
    selection: "pd.DataFrame"
    results: Any = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> Any:
        """statsmodels' own summary of the fitted model (or this summary's text)."""
        if self.results is not None and hasattr(self.results, "summary"):
            return self.results.summary()
        return str(self)

    @property
    def slope_p_value(self) -> float | None:
        """Two-sided p-value of the trend slope, if the model has one."""
        hit = self.coefficients[self.coefficients["term"] == "slope"]
        return float(hit["p_value"].iloc[0]) if len(hit) else None

    def __str__(self) -> str:
        import pandas as pd

        lines = [f"模型：{self.model_zh}（{self.model}）"]
        st = ", ".join(f"{k}={_fmt(v)}" for k, v in self.stats.items())
        lines.append(st)
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            lines.append(self.coefficients.to_string(index=False))
            if len(self.selection):
                lines.append("模型选择（滚动回测误差，越小越好）：")
                lines.append(self.selection.to_string(index=False))
        lines += self.notes
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        parts = [f"<h4>{html.escape(self.model_zh)}（{html.escape(self.model)}）</h4>",
                 "<p>" + html.escape("；".join(f"{k} = {_fmt(v)}"
                                                for k, v in self.stats.items())) + "</p>",
                 self.coefficients.to_html(index=False, float_format=lambda v: f"{v:.4g}")]
        if len(self.selection):
            parts.append("<p>模型选择（滚动回测误差，越小越好）</p>")
            parts.append(self.selection.to_html(index=False,
                                                float_format=lambda v: f"{v:.4g}"))
        parts += [f"<p>{html.escape(n)}</p>" for n in self.notes]
        return "\n".join(parts)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# --------------------------------------------------------------------------- registry
SummaryFn = Callable[[SummaryInputs], tuple[Any, "pd.DataFrame", dict, np.ndarray,
                                            np.ndarray, list[str]]]
#: model name → function(inputs) → (results, coefficients, stats, z_observed, z_fitted,
#: notes). z arrays are on the modelling scale, one per observed year.
SUMMARIES: dict[str, SummaryFn] = {}


def register_summary(*models: str) -> Callable[[SummaryFn], SummaryFn]:
    """Decorator: the refit-and-tabulate function of one or more model names."""
    def deco(fn: SummaryFn) -> SummaryFn:
        for m in models:
            SUMMARIES[m] = fn
        return fn
    return deco


_TERMS_ZH = {
    "intercept": "截距（中心年份处，建模尺度）", "slope": "年趋势斜率（建模尺度）",
    "log_rate": "对数率（合并平均）", "sigma2": "随机游走方差（每年）",
    "smoothing_level": "水平平滑系数α", "smoothing_trend": "趋势平滑系数β",
    "damping_trend": "阻尼系数φ", "initial_level": "初始水平", "initial_trend": "初始趋势",
}


def _coef_table(names, params, bse, stat, pvalues, ci) -> "pd.DataFrame":
    import pandas as pd

    ci = np.asarray(ci, float).reshape(len(names), 2)
    return pd.DataFrame({
        "term": list(names), "term_zh": [_TERMS_ZH.get(n, n) for n in names],
        "coef": np.asarray(params, float), "se": np.asarray(bse, float),
        "stat": np.asarray(stat, float), "p_value": np.asarray(pvalues, float),
        "ci_low": ci[:, 0], "ci_high": ci[:, 1]}, columns=COEFFICIENT_COLUMNS)


def _design(years: np.ndarray, xbar: float) -> "pd.DataFrame":
    """[1, year − centre year], the design of the trend models (named for the summary)."""
    import pandas as pd

    return pd.DataFrame({"intercept": np.ones(len(years)), "slope": years - xbar})


# --------------------------------------------------------------------------- families
@register_summary("loglinear", "logit", "linear")
def _trend(s: SummaryInputs):
    import pandas as pd
    from statsmodels.regression.linear_model import OLS

    use_counts = s.model == "logit" and s.counts is not None and s.exposures is not None
    z = to_model_scale(s.scale, s.values, None, s.counts if use_counts else None,
                       s.exposures if use_counts else None)
    xbar = float(s.years.mean())
    X = _design(s.years, xbar)
    res = OLS(pd.Series(z, name=f"{s.scale.kind}(value)"), X).fit()
    tab = _coef_table(["intercept", "slope"], res.params, res.bse, res.tvalues, res.pvalues,
                      res.conf_int(0.05))
    notes = []
    stats = {"n": int(res.nobs), "df_resid": int(res.df_resid),
             "sigma": float(math.sqrt(res.scale)) if res.df_resid > 0 else float("nan"),
             "r2": float(res.rsquared), "loglik": float(res.llf), "aic": float(res.aic),
             "bic": float(res.bic), "centre_year": xbar, "scale": s.scale.kind}
    if s.scale.kind == "log":
        lo, hi = (float(v) for v in np.asarray(res.conf_int(0.05))[1])
        stats.update(aarr=1 - math.exp(float(np.asarray(res.params)[1])),
                     aarr_ci_low=1 - math.exp(hi), aarr_ci_high=1 - math.exp(lo))
        notes.append("对数尺度：年均下降率 AARR = 1 − e^斜率，其95%置信区间由斜率区间换算")
    return res, tab, stats, z, np.asarray(res.fittedvalues, float), notes


@register_summary("poisson", "quasi_poisson")
def _poisson(s: SummaryInputs):
    import pandas as pd
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    if s.counts is None or s.exposures is None:
        raise ForecastError("泊松模型的摘要需要事件数和分母（forecast 的 attrs['inputs']）")
    d, e = np.asarray(s.counts, float), np.asarray(s.exposures, float)
    xbar = float(s.years.mean())
    trend = bool(s.params.get("trend", True))
    X = _design(s.years, xbar) if trend else _design(s.years, xbar)[["intercept"]]
    quasi = s.model == "quasi_poisson"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = GLM(pd.Series(d, name="events"), X, family=families.Poisson(), offset=np.log(e)).fit(
            scale="X2" if quasi else 1.0)
    names = ["intercept", "slope"] if trend else ["log_rate"]
    tab = _coef_table(names, res.params, res.bse, res.tvalues, res.pvalues, res.conf_int(0.05))
    dfr = float(res.df_resid)
    phi = float(res.pearson_chi2 / dfr) if dfr > 0 else float("nan")
    notes = []
    if quasi:
        notes.append(f"准泊松：标准误按离散系数φ={phi:.2f}放大（√φ）；AIC、BIC 按泊松似然计算，"
                     "仅供参考")
    if not trend:
        notes.append("全部年份事件数过少，未估计趋势：只估计合并平均率（截距）")
    stats = {"n": int(res.nobs), "df_resid": int(dfr), "dispersion": phi,
             "deviance": float(res.deviance), "pearson_chi2": float(res.pearson_chi2),
             "loglik": float(res.llf), "aic": float(res.aic),
             "bic": float(res.bic_llf) if hasattr(res, "bic_llf") else float("nan"),
             "events_total": float(d.sum()), "centre_year": xbar, "scale": "log"}
    if trend:
        lo, hi = (float(v) for v in np.asarray(res.conf_int(0.05))[1])
        stats.update(aarr=1 - math.exp(float(np.asarray(res.params)[1])),
                     aarr_ci_low=1 - math.exp(hi), aarr_ci_high=1 - math.exp(lo))
    z_obs = np.log(np.maximum(d, 0.5) / e * s.rate_scale)
    z_fit = np.log(np.asarray(res.fittedvalues, float) / e * s.rate_scale)
    return res, tab, stats, z_obs, z_fit, notes


@register_summary("damped")
def _damped(s: SummaryInputs):
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    z = to_model_scale(s.scale, s.values)
    grid = np.arange(int(s.years[0]), int(s.years[-1]) + 1, dtype=float)
    zg = np.interp(grid, s.years, z)
    series = pd.Series(zg, index=pd.RangeIndex(int(grid[0]), int(grid[-1]) + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ETSModel(series, error="add", trend="add", damped_trend=True).fit(
            disp=False, maxiter=200)
        names = list(res.param_names)
        params = np.asarray(res.params, float)
        bse = np.asarray(res.bse, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = params / bse
        from scipy import stats as sps

        pv = 2 * sps.norm.sf(np.abs(stat))
        ci = np.column_stack([params - 1.959964 * bse, params + 1.959964 * bse])
    tab = _coef_table(names, params, bse, stat, pv, ci)
    notes = ["阻尼趋势（ETS(A,Ad,N)）按极大似然估计；标准误来自数值 Hessian，短序列上仅供参考"]
    if len(grid) > len(s.years):
        notes.append("缺失年份按相邻年份线性插补后拟合")
    resid = np.asarray(res.resid, float)
    stats = {"n": int(len(grid)), "df_resid": int(max(len(grid) - len(names), 0)),
             "sigma": float(np.sqrt(np.mean(resid ** 2))), "loglik": float(res.llf),
             "aic": float(res.aic), "bic": float(res.bic), "scale": s.scale.kind}
    zfit = np.interp(s.years, grid, np.asarray(res.fittedvalues, float))
    return res, tab, stats, z, zfit, notes


@register_summary("naive")
def _naive(s: SummaryInputs):
    from statsmodels.tsa.arima.model import ARIMA

    z = to_model_scale(s.scale, s.values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ARIMA(z, order=(0, 1, 0)).fit()
    names = list(res.param_names)
    tab = _coef_table(names, res.params, res.bse, res.tvalues, res.pvalues,
                      res.conf_int(0.05))
    notes = ["末值延续即无漂移的随机游走 ARIMA(0,1,0)：预测等于最后一个观测值，"
             "区间随年数按√h 放宽"]
    if np.any(np.diff(s.years) > 1):
        notes.append("ARIMA 按相邻观测计算差分，未考虑缺失年份")
    zfit = np.concatenate([[z[0]], z[:-1]])
    stats = {"n": int(len(z)), "df_resid": int(len(z) - 1 - len(names)),
             "sigma": float(math.sqrt(float(res.params[-1]))), "loglik": float(res.llf),
             "aic": float(res.aic), "bic": float(res.bic), "scale": s.scale.kind}
    return res, tab, stats, z, zfit, notes


@register_summary("arima")
def _arima(s: SummaryInputs):
    """ARIMA(1,1,0) with drift as :mod:`.local_trend` fits it: OLS of Δz_t on [1, Δz_{t−1}]."""
    from statsmodels.regression.linear_model import OLS

    from .local_trend import AR_MAX, AR_MIN

    if np.any(np.diff(s.years) != 1):
        raise ForecastError("ARIMA(1,1,0)需要逐年连续的数据")
    z = to_model_scale(s.scale, s.values)
    dz = np.diff(z)
    X = np.column_stack([np.ones(len(dz) - 1), dz[:-1]])
    res = OLS(dz[1:], X).fit()
    tab = _coef_table(["const", "ar.L1"], res.params, res.bse, res.tvalues, res.pvalues,
                      res.conf_int(0.05))
    c, a = (float(v) for v in res.params)
    notes = ["年变化量的一阶自回归（ARIMA(1,1,0)带漂移），按条件最小二乘估计："
             "Δz_t = c + a·Δz_{t−1} + ε_t，长期漂移 μ = c/(1−a)"]
    if not AR_MIN <= a <= AR_MAX:
        notes.append(f"预测时自回归系数限定在[{AR_MIN}, {AR_MAX}]内（估计值{a:.3g}），"
                     "漂移按限定后的系数重新估计")
    zfit = np.concatenate([z[:2], z[1:-1] + np.asarray(res.fittedvalues, float)])
    stats = {"n": int(len(z)), "df_resid": int(res.df_resid),
             "sigma": float(math.sqrt(res.scale)), "loglik": float(res.llf),
             "aic": float(res.aic), "bic": float(res.bic), "scale": s.scale.kind,
             "drift": c / (1.0 - a) if a != 1.0 else float("nan")}
    return res, tab, stats, z, zfit, notes


@register_summary("arima2")
def _arima2(s: SummaryInputs):
    """ARIMA(2,1,0) with drift as :func:`.local_trend.fit_arima2` fits it: OLS of Δz_t on
    [1, Δz_{t−1}, Δz_{t−2}] (a series it falls back on: the ARIMA(1,1,0) refit)."""
    from statsmodels.regression.linear_model import OLS

    from .local_trend import fit_arima2

    if np.any(np.diff(s.years) != 1):
        raise ForecastError("ARIMA(2,1,0)需要逐年连续的数据")
    fit = fit_arima2(s.years, s.values, s.scale)
    if fit.params["ar2"] == 0.0:
        res, tab, stats, z, zfit, notes = _arima(s)
        notes = notes + ["数据不足或二阶自回归不平稳，按 ARIMA(1,1,0) 带漂移预测"]
        return res, tab, stats, z, zfit, notes
    z = to_model_scale(s.scale, s.values)
    dz = np.diff(z)
    X = np.column_stack([np.ones(len(dz) - 2), dz[1:-1], dz[:-2]])
    res = OLS(dz[2:], X).fit()
    tab = _coef_table(["const", "ar.L1", "ar.L2"], res.params, res.bse, res.tvalues,
                      res.pvalues, res.conf_int(0.05))
    notes = ["年变化量的二阶自回归（ARIMA(2,1,0)带漂移），按条件最小二乘估计："
             "Δz_t = c + a1·Δz_{t−1} + a2·Δz_{t−2} + ε_t，长期漂移 μ = c/(1−a1−a2)"]
    zfit = np.concatenate([z[:3], z[2:-1] + np.asarray(res.fittedvalues, float)])
    stats = {"n": int(len(z)), "df_resid": int(res.df_resid),
             "sigma": float(math.sqrt(res.scale)), "loglik": float(res.llf),
             "aic": float(res.aic), "bic": float(res.bic), "scale": s.scale.kind,
             "drift": fit.params["drift"]}
    return res, tab, stats, z, zfit, notes


@register_summary("curve")
def _curve(s: SummaryInputs):
    """The curve model (:func:`.local_trend.fit_curve`): statsmodels ARIMA(1, 2, 0) without
    constant, its AR coefficient fixed at CURVE_PHI (only σ² is estimated)."""
    from statsmodels.tsa.arima.model import ARIMA

    from .local_trend import CURVE_PHI, yearly

    if not yearly(np.asarray(s.years, float)):
        raise ForecastError("弯曲趋势需要逐年连续的数据")
    z = to_model_scale(s.scale, s.values)
    mod = ARIMA(z, order=(1, 2, 0), trend="n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mod.fix_params({"ar.L1": CURVE_PHI}):
            res = mod.fit()
    names = list(res.param_names)
    tab = _coef_table(names, res.params, res.bse, res.tvalues, res.pvalues,
                      res.conf_int(0.05))
    tab["term_zh"] = [{"sigma2": "残差方差（年变化之变化）"}.get(n, "自回归系数（固定）")
                      for n in names]
    notes = [f"年变化量之变化的一阶自回归（ARIMA(1,2,0)，无常数项），系数固定为{CURVE_PHI}："
             "最近的年变化延续，其增减逐年减半；只估计残差方差"]
    zfit = np.asarray(res.fittedvalues, float)
    zfit[:2] = z[:2]
    stats = {"n": int(len(z)), "df_resid": int(len(z) - 3),
             "sigma": float(math.sqrt(float(res.params[-1]))), "loglik": float(res.llf),
             "aic": float(res.aic), "bic": float(res.bic), "scale": s.scale.kind}
    return res, tab, stats, z, zfit, notes


@register_summary("pooled")
def _pooled(s: SummaryInputs):
    """The pooled trend (:mod:`.pooled_trend`): its own fit is the ARIMA(1,1,0) refit above;
    the weights are the pool's (no standard errors), reported with the series' features."""
    from . import pooled_trend as pt

    res, tab, stats, z, zfit, _ = _arima(s)
    kind = s.scale.kind
    W = pt.WEIGHTS.get(kind)
    slopes = pt.span_slopes(z)
    notes = ["跨国经验趋势：未来h年的变化 = h × Σ 权重 × 特征；特征为近1、3、5、10年的"
             "平均年变化（建模尺度）和 ARIMA(1,1,0)带漂移预测的h年平均年变化，权重按尺度"
             "和年数在多国同类指标的滚动预测上学得（data/calibration/pooled_trend.yaml，"
             "来源 Gapminder systema_globalis，CC BY 4.0），本序列不单独估计权重"]
    stats = dict(stats)
    for k, v in zip(pt.SPANS, slopes):
        stats[f"slope_{k}y"] = float(v)
    if W is not None:
        for h in (1, pt.H_MAX):
            stats[f"weights_h{h}"] = [round(float(v), 4) for v in W[h - 1]]
    return res, tab, stats, z, zfit, notes


# --------------------------------------------------------------------------- public API
def _inputs(fc: "pd.DataFrame") -> SummaryInputs:
    from .core import unit_info

    a = getattr(fc, "attrs", {}) or {}
    model = a.get("model")
    inp = a.get("inputs") or {}
    fitted = a.get("fitted")
    if inp.get("years") is not None:          # both forecast paths keep their inputs
        years = np.asarray(inp["years"], float)
        values = np.asarray(inp["values"], float)
    elif fitted is not None:
        years = np.asarray(fitted["year"], float)
        values = np.asarray(fitted["observed"], float)
    else:
        years = values = np.array([])
    if not model or model == "none" or len(years) == 0:
        notes = "；".join(a.get("notes") or [])
        raise ForecastError("这个预测没有拟合模型，无法给出模型摘要"
                            + (f"（{notes}）" if notes else ""))
    counts = None if inp.get("counts") is None else np.asarray(inp["counts"], float)
    expo = None if inp.get("exposures") is None else np.asarray(inp["exposures"], float)
    scale_kind = a.get("scale") or "identity"
    scale = Scale("logit", 100.0) if scale_kind == "logit" else Scale(scale_kind)
    unit = a.get("unit") or ""
    try:
        _, rs = unit_info(unit)
    except ForecastError:
        rs = None
    return SummaryInputs(model=model, years=years, values=values, counts=counts,
                         exposures=expo, unit=unit, scale=scale, rate_scale=rs or 1.0,
                         params=dict(a.get("params") or {}))


def summary(fc: "pd.DataFrame") -> ModelSummary:
    """模型摘要 — the table of the model behind a forecast of ``forecast_series`` / ``forecast``.

    Args:
        fc: a forecast (its ``attrs`` hold the model, the observed series and, for
            Poisson models, the counts and denominators).

    Returns:
        A :class:`ModelSummary` with ``coefficients`` (columns term, term_zh, coef, se,
        stat, p_value, ci_low, ci_high), ``stats`` (n, df_resid, sigma or dispersion,
        loglik, aic, bic, …; aarr with its 95 % CI on log scales), ``residuals`` (columns
        year, observed, fitted, z_observed, z_fitted, resid), ``selection`` (columns model,
        model_zh, score, chosen) and ``results`` (the statsmodels results object;
        ``.summary()`` prints statsmodels' table).

    Raises:
        ForecastError: the forecast has no model (too few points), or its model family has
            no registered summary.
    """
    import pandas as pd

    s = _inputs(fc)
    fn = SUMMARIES.get(s.model)
    if fn is None:
        raise ForecastError(f"模型 {s.model!r} 尚无摘要（已登记：{', '.join(sorted(SUMMARIES))}）")
    results, coef, stats, z_obs, z_fit, notes = fn(s)
    fitted = s.scale.inv(z_fit) if s.model not in ("poisson", "quasi_poisson") \
        else np.exp(z_fit)
    if s.model in ("poisson", "quasi_poisson"):
        resid = np.asarray(getattr(results, "resid_pearson", z_obs - z_fit), float)
    else:
        resid = z_obs - z_fit
    residuals = pd.DataFrame({"year": s.years.astype(int), "observed": s.values,
                              "fitted": fitted, "z_observed": z_obs, "z_fitted": z_fit,
                              "resid": resid}, columns=RESIDUAL_COLUMNS)
    sel = fc.attrs.get("selection")
    if sel is None:    # the engine's forecast does not keep the scores: recompute them
        sel = _selection(s, fc.attrs)
    if s.model == "pooled" and sel and "pooled" not in sel:
        # not scored: the trend the rule kept became the pooled trend (rule 6 of models.core)
        sel = {**sel, "pooled": float("nan")}
    selection = pd.DataFrame({
        "model": list(sel), "model_zh": [MODEL_LABELS_ZH.get(k, k) for k in sel],
        "score": [float(v) for v in sel.values()],
        "chosen": [k == s.model or (k == "poisson" and s.model == "quasi_poisson")
                   for k in sel]}, columns=["model", "model_zh", "score", "chosen"])
    p = trend_significance(fc)
    if p is not None and p >= FLAT_P:
        notes.append(f"趋势斜率的 p 值为{p:.3g}（≥{FLAT_P}），与“无变化”无法区分")
    return ModelSummary(model=s.model, model_zh=MODEL_LABELS_ZH.get(s.model, s.model),
                        coefficients=coef, stats=stats, residuals=residuals,
                        selection=selection, results=results, notes=notes)


def _selection(s: SummaryInputs, attrs: dict) -> dict:
    """The auto rule's scores for the series (empty when it had no choice to make)."""
    from .core import choose_model, resolve_spec

    try:
        tk = None
        if attrs.get("target_kind"):
            tk = attrs["target_kind"]
        spec = resolve_spec(s.unit, has_counts=s.exposures is not None, target_kind=tk)
        return choose_model(spec, s.years, s.values, s.counts, s.exposures)[1] or {}
    except Exception:  # noqa: BLE001 - scores are a courtesy
        return {}


def fit(years, values, *, unit: str | None = None, target=None, counts=None, exposures=None,
        model: str = "auto", direction: str | None = None) -> Any:
    """拟合模型并返回 statsmodels 结果 — the statsmodels results object of a series' model.

    Args:
        years, values, unit, target, counts, exposures, model, direction: as for
            ``forecast_series`` (the same checks, unit conversion and auto model choice).

    Returns:
        The statsmodels results (``RegressionResults`` for loglinear / logit / linear,
        ``GLMResults`` for poisson / quasi_poisson, ``ETSResults`` for damped,
        ``ARIMAResults`` for naive): ``.summary()``, ``.params``, ``.bse``, ``.pvalues``,
        ``.conf_int()``, ``.aic``, ``.resid``. Its design matrix is [1, year − centre year]
        on the modelling scale. :func:`summary` gives the same with Chinese labels.
    """
    from .forecasting import forecast_series

    fc = forecast_series(years, values, unit=unit, target=target, counts=counts,
                         exposures=exposures, model=model, direction=direction)
    return summary(fc).results


def trend_significance(fc: "pd.DataFrame") -> float | None:
    """趋势显著性 — two-sided p-value that the forecast's trend slope is zero (flat).

    Args:
        fc: a forecast of ``forecast_series`` / ``forecast``.

    Returns:
        The p-value (t test with n − 2 df for loglinear / logit / linear; z test for
        Poisson, with the quasi-Poisson standard error), or None when the model has no
        estimated slope (naive, damped, a Poisson rate without trend, no model). A value
        ≥ 0.05 means the trend cannot be told from flat.
    """
    from scipy import stats as sps

    a = getattr(fc, "attrs", {}) or {}
    model = a.get("model")
    params = a.get("params") or {}
    b, se = params.get("slope"), params.get("slope_se")
    if model not in ("loglinear", "logit", "linear", "poisson", "quasi_poisson") \
            or b is None or se is None or params.get("trend") is False:
        return None
    b, se = float(b), float(se)
    if not (math.isfinite(b) and math.isfinite(se)):
        return None
    if se == 0:
        return 1.0 if b == 0 else 0.0
    if model in ("poisson", "quasi_poisson"):
        return float(2 * sps.norm.sf(abs(b / se)))
    dfree = int(a.get("n_points") or 0) - 2
    if dfree < 1:
        return None
    return float(2 * sps.t.sf(abs(b / se), dfree))
