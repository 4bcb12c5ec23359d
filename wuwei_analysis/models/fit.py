"""Trend models for short annual series, each giving a predictive distribution.

Every model works on a *modelling scale* z = g(y):

=============  ===========  ===============================================================
model          scale g       used for
=============  ===========  ===============================================================
poisson        log           a rate with its counts (deaths / live births): Poisson GLM,
quasi_poisson  log           log link, offset log(denominator); quasi-Poisson (dispersion
                             φ = Pearson χ²/df) when φ is significantly > 1 (and > 1.5)
loglinear      log           a rate (or other positive quantity) without counts
logit          logit         a percentage bounded by 0 and 100 (coverage, enrolment)
linear         identity      a share meant to stay "around" a value; years, ratios, scores
linear         share         a percentage whose own history moves in straight lines of
                             percentage points (chosen by the auto rule, ``core.choose_spec``)
damped         as family     damped additive trend (ETS(A,Ad,N)) on the family's scale
naive          as family     the last value carried forward (random walk)
=============  ===========  ===============================================================

A fitted model returns, for any future year, the centre ``m`` on the modelling scale and the
textbook standard deviation ``s`` of a new observation (parameter uncertainty plus the
residual noise), with its degrees of freedom. How those become honest intervals is decided
in :mod:`.calibrate`; this module only fits.

Zeros and hundreds
    log scale: zero values are replaced by half the smallest positive value of the series
    (a note says so); a series of zeros has no log-scale model.
    logit scale: a percentage is held inside [LOGIT_EPS, 100 − LOGIT_EPS] (0.05 percentage
    points from either bound) before the transform, so 100 and 0 can be modelled and a
    forecast never passes 100 %. When counts are known the empirical logit
    (numerator + ½) / (denominator + 1) is used instead.
    share scale: the percentage itself (identity), every value brought back into [0, 100]
    (a forecast, an interval end); the thresholds 0 and 100 keep the logit scale's rules.
Gaps
    Years may be missing: the regression models use the actual years; the damped trend,
    which needs a regular series, fills gaps by linear interpolation on the modelling scale.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import DataError

#: Chinese labels of the models (for tables and chart legends).
MODEL_LABELS_ZH = {
    "poisson": "泊松回归趋势（对数链接，以分母为暴露量）",
    "quasi_poisson": "准泊松回归趋势（考虑过度离散）",
    "loglinear": "对数线性趋势",
    "logit": "logit尺度线性趋势（预测不超过100%）",
    "linear": "线性趋势",
    "damped": "阻尼趋势（Holt/ETS）",
    "arima": "局部趋势（ARIMA(1,1,0)含漂移，逐年变化向长期平均回归）",
    "arima2": "局部趋势（ARIMA(2,1,0)含漂移，逐年变化可弯折后趋稳）",
    "pooled": "跨国经验趋势（近年变化按多国同类指标学得的权重延伸）",
    "curve": "局部弯曲趋势（最近的年变化延续，其增减逐年减半）",
    "naive": "末值延续（朴素预测）",
    "none": "数据不足，未作预测",
}
#: The scale each model family works on.
MODEL_NAMES = tuple(MODEL_LABELS_ZH)

#: A percentage is kept this far (as a proportion) from 0 and 1 before the logit transform.
LOGIT_EPS = 0.0005
#: Poisson fits with Pearson χ²/df above this (and significantly above 1, see
#: :func:`quasi_poisson_threshold`) are refitted as quasi-Poisson.
QUASI_POISSON_PHI = 1.5
#: Overdispersion must be significant at this level: φ above the χ²_df / df quantile. Under
#: Poisson counts a fixed φ > 1.5 picked quasi-Poisson for about one short series in five by
#: chance, widening its intervals (simulated_coverage: 89 % of 80 % intervals covered).
QUASI_POISSON_LEVEL = 0.95


def quasi_poisson_threshold(dfree) -> np.ndarray:
    """φ above which a Poisson fit with ``dfree`` residual degrees of freedom is quasi-Poisson:
    the QUASI_POISSON_LEVEL quantile of χ²_df / df (2.21 at 5 df, 1.83 at 10), at least
    QUASI_POISSON_PHI."""
    from scipy import stats

    d = np.maximum(np.asarray(dfree, float), 1.0)
    return np.maximum(QUASI_POISSON_PHI, stats.chi2.ppf(QUASI_POISSON_LEVEL, d) / d)
#: With fewer events than this in the whole series a Poisson trend is not estimated: the
#: rate is taken as constant (pooled events / pooled denominator).
MIN_EVENTS_FOR_TREND = 10
#: Future denominators (e.g. live births) are taken as the mean of the last this many years.
EXPOSURE_YEARS = 3
#: Fewest points a model is fitted on.
MIN_POINTS = 3


def snap_bounds(p: np.ndarray, top: float = 100.0) -> np.ndarray:
    """A share back from the logit scale: values within LOGIT_EPS of 0 or ``top`` (where
    the transform holds 0 % and 100 %) are the bound itself, so a share at 100 % stays at
    100 % (not 99.95 %)."""
    p = np.asarray(p, float)
    hi = top * (1.0 - LOGIT_EPS) * (1.0 - 1e-12)
    lo = top * LOGIT_EPS * (1.0 + 1e-12)
    return np.where(p >= hi, top, np.where(p <= lo, 0.0, p))


class ForecastError(DataError):
    """A series cannot be modelled as given (too few points, bad values)."""


# --------------------------------------------------------------------------- scales
@dataclass(frozen=True)
class Scale:
    """A modelling scale: ``log``, ``logit`` (of a percentage / ``top``), ``identity``, or
    ``share`` (a percentage on its own scale, values held inside [0, ``top``])."""

    kind: str
    top: float = 100.0  # logit: the value that means 100 %

    def fwd(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        if self.kind == "log":
            with np.errstate(divide="ignore"):
                return np.log(y)
        if self.kind == "logit":
            p = np.clip(y / self.top, LOGIT_EPS, 1.0 - LOGIT_EPS)
            return np.log(p / (1.0 - p))
        return y.copy()

    def inv(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self.kind == "log":
            return np.exp(np.clip(z, -700, 700))
        if self.kind == "logit":
            return snap_bounds(self.top / (1.0 + np.exp(-np.clip(z, -700, 700))), self.top)
        if self.kind == "share":
            return np.clip(z, 0.0, self.top)
        return z.copy()

    def clamp_threshold(self, t: float) -> float:
        """A threshold moved inside the scale's range (so g(t) is finite)."""
        if self.kind == "logit":
            return float(np.clip(t, LOGIT_EPS * self.top, (1 - LOGIT_EPS) * self.top))
        if self.kind == "log":
            return max(float(t), 1e-300)
        return float(t)


#: Scales of a percentage: values bounded by 0 and ``top`` (the bound rules of p_meet).
BOUNDED_SCALES = ("logit", "share")
#: Scales whose values are the quantity itself (level-relative noise floor).
LEVEL_SCALES = ("identity", "share")

SCALE_OF_MODEL = {"poisson": "log", "quasi_poisson": "log", "loglinear": "log",
                  "logit": "logit", "linear": "identity"}


# --------------------------------------------------------------------------- fit result
@dataclass
class Fit:
    """A fitted model. ``predict(years)`` → (m, s, df) on the modelling scale."""

    model: str
    scale: Scale
    years: np.ndarray
    values: np.ndarray
    z: np.ndarray
    zfit: np.ndarray            # fitted values on the modelling scale, at ``years``
    params: dict
    slope: float                # trend per year on the modelling scale at the last year
    df: int                     # degrees of freedom of the textbook t interval
    predict_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    notes: list[str] = field(default_factory=list)
    # Poisson only
    exposure_future: float | None = None
    phi: float = 1.0
    rate_scale: float = 1.0     # value = count / exposure × rate_scale

    @property
    def last_year(self) -> int:
        return int(self.years[-1])

    def predict(self, years) -> tuple[np.ndarray, np.ndarray]:
        """Centre and textbook sd (parameters + noise) on the modelling scale."""
        return self.predict_fn(np.asarray(years, dtype=float))

    @property
    def fitted_values(self) -> np.ndarray:
        return self.scale.inv(self.zfit)

    @property
    def is_count_model(self) -> bool:
        return self.model in ("poisson", "quasi_poisson")


def _check_xy(years, values) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(years, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.shape != y.shape:
        raise ForecastError("年份与数值个数不一致")
    if len(x) < MIN_POINTS:
        raise ForecastError(f"至少需要{MIN_POINTS}个数据点才能拟合趋势（现有{len(x)}个）")
    return x, y


def to_model_scale(scale: Scale, values: np.ndarray, notes: list[str] | None = None,
                   counts=None, exposures=None) -> np.ndarray:
    """Values on the modelling scale, handling zeros (log) and 0/100 (logit)."""
    y = np.asarray(values, dtype=float)
    if scale.kind == "log":
        if np.any(y < 0):
            raise ForecastError("对数尺度的指标不能为负值")
        if np.any(y == 0):
            pos = y[y > 0]
            if len(pos) == 0:
                raise ForecastError("数值全为0，无法在对数尺度建模")
            y = np.where(y == 0, pos.min() / 2.0, y)
            if notes is not None:
                notes.append("序列含0值，对数建模时以最小正值的一半代替")
        return np.log(y)
    if scale.kind == "logit":
        if counts is not None and exposures is not None:
            d = np.asarray(counts, float)
            n = np.asarray(exposures, float)
            p = (d + 0.5) / (n + 1.0)
            return np.log(p / (1 - p))
        p = y / scale.top
        if np.any((p <= LOGIT_EPS) | (p >= 1 - LOGIT_EPS)) and notes is not None:
            notes.append("序列含0或100%（或极接近），logit建模时按距边界0.05个百分点处理")
        return scale.fwd(y)
    return y.copy()


# --------------------------------------------------------------------------- OLS trend
def fit_trend(years, values, scale: Scale, model: str, *, counts=None, exposures=None,
              notes: list[str] | None = None) -> Fit:
    """Straight-line trend on the modelling scale (loglinear, logit, linear), by OLS."""
    from statsmodels.regression.linear_model import OLS

    x, y = _check_xy(years, values)
    notes = [] if notes is None else notes
    z = to_model_scale(scale, y, notes, counts, exposures)
    xbar = float(x.mean())
    X = np.column_stack([np.ones_like(x), x - xbar])
    if np.all(z == z[0]):
        # a constant series gets an exactly flat line: OLS would give a slope of rounding
        # noise (±1e-17), whose sign then decided model choice and "+0.00"/"-0.00" in texts
        # (and differed between this path and the vectorised engine)
        a, b, ssr = float(z[0]), 0.0, 0.0
    else:
        res = OLS(z, X).fit()
        a, b = (float(v) for v in res.params)
        ssr = float(res.ssr)
    n = len(x)
    dfree = n - 2
    sigma2 = ssr / dfree if dfree > 0 else 0.0
    sxx = float(((x - xbar) ** 2).sum())

    def predict(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = a + b * (xs - xbar)
        v = sigma2 * (1.0 + 1.0 / n + (xs - xbar) ** 2 / sxx)
        return m, np.sqrt(v)

    se_b = math.sqrt(sigma2 / sxx) if sxx > 0 else float("nan")
    params = {"intercept": a, "slope": b, "slope_se": se_b, "centre_year": xbar,
              "resid_sd": math.sqrt(sigma2)}
    return Fit(model=model, scale=scale, years=x, values=y, z=z, zfit=a + b * (x - xbar),
               params=params, slope=b, df=max(dfree, 1), predict_fn=predict, notes=notes)


# --------------------------------------------------------------------------- naive
def fit_naive(years, values, scale: Scale, *, notes: list[str] | None = None) -> Fit:
    """Last value carried forward; textbook sd of a random walk without drift."""
    x, y = _check_xy(years, values)
    notes = [] if notes is None else notes
    z = to_model_scale(scale, y, notes)
    gaps = np.diff(x)
    dz = np.diff(z)
    q = float(np.mean(dz ** 2 / gaps)) if len(dz) else 0.0   # variance per year
    last = float(z[-1])
    x_last = float(x[-1])
    # change per year over the series: the drift unit in calibration, and shown in params
    slope = float((z[-1] - z[0]) / (x[-1] - x[0])) if x[-1] > x[0] else 0.0

    def predict(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.maximum(xs - x_last, 0.0)
        return np.full_like(xs, last), np.sqrt(q * h)

    zfit = np.concatenate([[z[0]], z[:-1]])  # one-step-ahead "fit": the previous value
    return Fit(model="naive", scale=scale, years=x, values=y, z=z, zfit=zfit,
               params={"last_value": float(y[-1]), "rw_sd_per_year": math.sqrt(q)},
               slope=0.0, df=max(len(x) - 1, 1), predict_fn=predict, notes=notes)


# --------------------------------------------------------------------------- damped
_BLAS_LIBS: list | None = None


def _openblas_libs() -> list:
    """OpenBLAS libraries loaded in this process that can limit threads per calling thread."""
    global _BLAS_LIBS
    if _BLAS_LIBS is None:
        import ctypes

        found = []
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="ignore") as fh:
                paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
            for path in sorted(paths):
                lib = ctypes.CDLL(path)
                fn = getattr(lib, "openblas_set_num_threads_local", None)
                if fn is not None:
                    fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
                    found.append(fn)
        except OSError:
            found = []
        _BLAS_LIBS = found
    return _BLAS_LIBS


class _single_thread_blas:
    """Run tiny fits with one BLAS thread (this thread only; restored on exit).

    Fits on ≤ 30 numbers gain nothing from BLAS threads, and on a busy machine OpenBLAS
    thread hand-offs made the damped-trend fit (L-BFGS-B) 5–10 × slower.
    """

    def __enter__(self):
        self._old = [fn(1) for fn in _openblas_libs()]
        return self

    def __exit__(self, *exc):
        for fn, old in zip(_openblas_libs(), self._old):
            fn(max(int(old), 1))
        return False


def fit_damped(years, values, scale: Scale, *, notes: list[str] | None = None) -> Fit:
    """Damped additive trend, ETS(A,Ad,N) by maximum likelihood (statsmodels ETSModel)."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    x, y = _check_xy(years, values)
    notes = [] if notes is None else notes
    z = to_model_scale(scale, y, notes)
    grid = np.arange(int(x[0]), int(x[-1]) + 1, dtype=float)
    zg = np.interp(grid, x, z)
    if len(grid) > len(x):
        notes.append("阻尼趋势需要逐年数据，缺失年份按相邻年份线性插补")
    if len(grid) < 4:
        raise ForecastError("阻尼趋势至少需要4年连续数据")
    s = pd.Series(zg, index=pd.RangeIndex(int(grid[0]), int(grid[-1]) + 1))
    with warnings.catch_warnings(), _single_thread_blas():
        warnings.simplefilter("ignore")
        res = ETSModel(s, error="add", trend="add", damped_trend=True).fit(disp=False,
                                                                          maxiter=200)
    alpha, beta, phi = (float(res.params[i]) for i in range(3))
    level, trend = (float(v) for v in res.states.iloc[-1])
    sigma2 = float(np.mean(np.asarray(res.resid) ** 2))
    x_last = float(grid[-1])
    zfit_grid = np.asarray(res.fittedvalues, dtype=float)
    zfit = np.interp(x, grid, zfit_grid)

    def predict(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.maximum(np.round(xs - x_last).astype(int), 0)
        m = np.empty(len(h))
        v = np.empty(len(h))
        for i, hh in enumerate(h):
            phis = phi ** np.arange(1, hh + 1)
            m[i] = level + trend * phis.sum()
            # ETS(A,Ad,N): c_j = alpha (1 + beta/alpha * (phi + ... + phi^j)) (Hyndman 2008)
            js = np.arange(1, hh)
            cj = alpha + beta * np.array([(phi ** np.arange(1, j + 1)).sum() for j in js])
            v[i] = sigma2 * (1.0 + float((cj ** 2).sum())) if hh > 0 else 0.0
        return m, np.sqrt(v)

    params = {"smoothing_level": alpha, "smoothing_trend": beta, "damping_trend": phi,
              "level": level, "trend": trend}
    return Fit(model="damped", scale=scale, years=x, values=y, z=z, zfit=zfit, params=params,
               slope=trend * phi, df=max(len(grid) - 5, 1), predict_fn=predict, notes=notes)


# --------------------------------------------------------------------------- Poisson GLM
def fit_poisson(years, counts, exposures, *, rate_scale: float, values=None,
                notes: list[str] | None = None) -> Fit:
    """Poisson GLM, log link, offset log(exposure); quasi-Poisson if overdispersed.

    ``values`` (the published rates) are kept for display; the fit uses only counts and
    exposures. With fewer than MIN_EVENTS_FOR_TREND events in all, the rate is taken as
    constant at (events + ½) / exposure (the ½ keeps an all-zero series usable).
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    x = np.asarray(years, dtype=float)
    d = np.asarray(counts, dtype=float)
    e = np.asarray(exposures, dtype=float)
    if len(x) < MIN_POINTS:
        raise ForecastError(f"至少需要{MIN_POINTS}个数据点才能拟合趋势（现有{len(x)}个）")
    if np.any(e <= 0) or np.any(d < 0):
        raise ForecastError("分母须为正数、事件数不能为负")
    notes = [] if notes is None else notes
    y = d / e * rate_scale if values is None else np.asarray(values, dtype=float)
    xbar = float(x.mean())
    e_future = float(np.mean(e[-EXPOSURE_YEARS:]))
    total = float(d.sum())
    if total < MIN_EVENTS_FOR_TREND:
        eta = math.log((total + 0.5) / e.sum())
        se = 1.0 / math.sqrt(total + 0.5)
        notes.append(f"全部年份合计仅{total:g}例事件（少于{MIN_EVENTS_FOR_TREND}例），"
                     "无法估计趋势，按合并平均率预测")

        def predict0(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return np.full_like(xs, eta), np.full_like(xs, se)

        return Fit(model="poisson", scale=Scale("log"), years=x, values=y,
                   z=np.log(np.maximum(d, 0.5) / e), zfit=np.full_like(x, eta),
                   params={"log_rate": eta, "log_rate_se": se, "slope": 0.0,
                           "events_total": total, "trend": False},
                   slope=0.0, df=max(len(x) - 1, 1), predict_fn=predict0, notes=notes,
                   exposure_future=e_future, phi=1.0, rate_scale=rate_scale)

    X = np.column_stack([np.ones_like(x), x - xbar])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = GLM(d, X, family=families.Poisson(), offset=np.log(e)).fit()
    dfree = len(x) - 2
    phi = float(res.pearson_chi2 / dfree) if dfree > 0 else 1.0
    model = "poisson"
    cov = np.asarray(res.cov_params())
    if dfree >= 2 and phi > float(quasi_poisson_threshold(dfree)):
        model = "quasi_poisson"
        cov = cov * phi
        notes.append(f"计数过度离散（离散系数φ={phi:.2f}），采用准泊松模型，区间相应放宽")
    else:
        phi = 1.0
    a, b = (float(v) for v in res.params)

    def predict(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = np.column_stack([np.ones_like(xs), xs - xbar])
        m = a + b * (xs - xbar)
        v = np.einsum("ij,jk,ik->i", g, cov, g)
        return m, np.sqrt(np.maximum(v, 0.0))

    params = {"intercept": a, "slope": b, "slope_se": float(math.sqrt(cov[1, 1])),
              "centre_year": xbar, "dispersion": phi, "events_total": total, "trend": True}
    zfit = a + b * (x - xbar)
    with np.errstate(divide="ignore"):
        zobs = np.log(np.maximum(d, 0.5) / e)
    return Fit(model=model, scale=Scale("log"), years=x, values=y, z=zobs, zfit=zfit,
               params=params, slope=b, df=max(dfree, 1), predict_fn=predict, notes=notes,
               exposure_future=e_future, phi=phi, rate_scale=rate_scale)
