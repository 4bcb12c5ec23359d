"""Local-trend models on the differences: ARIMA(1,1,0) and ARIMA(2,1,0) with drift, and the
curve model (ARIMA(1,2,0) with its coefficient fixed, :func:`fit_curve`).

Both work on the family's modelling scale z (log for rates, logit for shares, identity for
levels; see :mod:`.fit`) and on yearly series without gaps (a series with a missing year
gets no local-trend fit: its differences would mix one- and two-year steps).

``arima``  — ARIMA(1,1,0) with drift, the model AutoARIMA picks for most smooth published
    series: the yearly change Δz_t follows an AR(1) around a drift μ::

        Δz_t − μ = a · (Δz_{t−1} − μ) + ε_t,      ε_t ~ N(0, σ²)

    estimated by conditional least squares (statsmodels OLS of Δz_t on [1, Δz_{t−1}], the
    conditional maximum likelihood of ``AutoReg(Δz, 1, trend="c")``). ``a`` is held in
    [AR_MIN, AR_MAX]: with a near 1 the model would extrapolate today's acceleration
    for ever; with a held at a bound μ is re-estimated given a (CLS). Forecast h years
    after the last year T::

        z_{T+h} = z_T + h·μ + (Δz_T − μ) · a (1 − a^h) / (1 − a)

    — a local trend that bends from the latest yearly change towards the long-run drift
    (declines that slow, coverage that saturates on the logit scale). The textbook variance
    is σ² Σ_{j<h} ψ_j², ψ_j = (1 − a^{j+1}) / (1 − a) (the random-walk weights of the
    integrated AR(1)); honest intervals then come from :mod:`.calibrate` like for every model.

The vectorised engine computes the same for many series at once
(:func:`wuwei_analysis.engine.vector_models.fit_arima`); ``tests/test_engine.py`` checks the two agree
to 1e-8.
"""
from __future__ import annotations

import math

import numpy as np

from .fit import Fit, ForecastError, Scale, _check_xy, to_model_scale

#: Bounds of the AR coefficient of the yearly changes (see the module docstring).
AR_MIN = 0.0
AR_MAX = 0.9
#: Yearly changes that differ by less than this (relative) count as equal: an exact
#: exponential trend then gets no AR term fitted to rounding noise.
FLAT_TOL = 1e-9
#: Fewest yearly points an ARIMA(1,1,0) fit uses (3 regression rows for 2 parameters).
ARIMA_MIN_POINTS = 5


def yearly(x: np.ndarray) -> bool:
    """Every year present between the first and the last."""
    return len(x) >= 2 and bool(np.all(np.diff(x) == 1.0))


def yearly_series(years, values, scale: Scale, notes: list[str], min_points: int, label: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(years, values, modelling-scale values) of a yearly series without gaps with at least
    ``min_points`` points; otherwise a ForecastError naming the model ``label``."""
    x, y = _check_xy(years, values)
    if len(x) < min_points:
        raise ForecastError(f"{label}至少需要{min_points}年数据")
    if not yearly(x):
        raise ForecastError(f"{label}需要逐年连续的数据")
    return x, y, to_model_scale(scale, y, notes)


def arima_forecast(z_last: float, w: float, mu: float, a: float, s2: float, h: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Centre and textbook sd h years ahead (h ≥ 0, whole years)."""
    h = np.asarray(h, float)
    ah = a ** h
    geo = a * (1.0 - ah) / (1.0 - a)
    # Σ_{j<h} ψ_j², ψ_j = (1 − a^{j+1})/(1 − a), in closed form
    psi2 = (h - 2.0 * geo + a * a * (1.0 - ah * ah) / (1.0 - a * a)) / (1.0 - a) ** 2
    m = z_last + h * mu + w * geo
    return m, np.sqrt(np.maximum(s2 * psi2, 0.0))


def path_at(path: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The change d years after the last year of a path of changes for h = 1…H (d ≥ 0;
    between whole years linear; beyond H the last step's change per year carries on)."""
    H = len(path)
    d = np.maximum(np.asarray(d, float), 0.0)
    full = np.r_[0.0, path]
    inside = np.interp(np.minimum(d, H), np.arange(H + 1, dtype=float), full)
    step = full[-1] - full[-2]
    return inside + np.maximum(d - H, 0.0) * step


def path_predictor(z_last: float, x_last: float, path: np.ndarray, s2: float):
    """``predict(xs) -> (centre, model sd)`` on the model scale for a path of changes from
    the last value (variance ``s2`` per year ahead)."""
    def predict(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = np.maximum(xs - x_last, 0.0)
        return z_last + path_at(path, d), np.sqrt(s2 * d)
    return predict


def fit_arima(years, values, scale: Scale, *, notes: list[str] | None = None) -> Fit:
    """ARIMA(1,1,0) with drift by conditional least squares (statsmodels OLS)."""
    from statsmodels.regression.linear_model import OLS

    notes = [] if notes is None else notes
    x, y, z = yearly_series(years, values, scale, notes, ARIMA_MIN_POINTS, "ARIMA(1,1,0)")
    dz = np.diff(z)
    d0, d1 = dz[:-1], dz[1:]
    k = len(d1)
    if np.all(np.abs(d0 - d0[0]) <= FLAT_TOL * (1.0 + np.abs(d0[0]))):
        a = 0.0          # (next to) no variation in the lagged change: no AR term
    else:
        res = OLS(d1, np.column_stack([np.ones(k), d0])).fit()
        a = float(res.params[1])
    a = min(max(a, AR_MIN), AR_MAX)
    mu = float(np.mean(d1 - a * d0)) / (1.0 - a)
    r = d1 - mu * (1.0 - a) - a * d0
    dfree = max(k - 2, 1)
    s2 = float(np.sum(r * r)) / dfree
    if np.all(z == z[0]):
        mu, s2 = 0.0, 0.0
    z_last, x_last = float(z[-1]), float(x[-1])
    w = float(dz[-1]) - mu

    def predict(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return arima_forecast(z_last, w, mu, a, s2, np.maximum(xs - x_last, 0.0))

    zfit = z.copy()     # a local trend's level is the observation itself
    params = {"drift": mu, "ar": a, "last_change": float(dz[-1]), "resid_sd": math.sqrt(s2)}
    slope = mu + w * a                   # the change to the next year
    return Fit(model="arima", scale=scale, years=x, values=y, z=z, zfit=zfit, params=params,
               slope=slope, df=dfree, predict_fn=predict, notes=notes)


#: Fewest yearly points an ARIMA(2,1,0) fit uses (7 regression rows for 3 parameters; 8
#: points made benchmarks/simulated_coverage.py worse: relative MASE 0.648 vs 0.647).
ARIMA2_MIN_POINTS = 10
#: Lagged changes whose (centred) variation or independence is below this fraction
#: (relative) count as constant / collinear: no AR(2) fitted to rounding noise.
COLLINEAR_TOL = 1e-9
#: Years of the ARIMA(2,1,0) path (= pooled_trend.H_MAX: the engine keeps both in
#: ``Fits.path``); beyond it the last step carries on.
H_MAX = 5
#: Largest a1 + a2 (stationarity of the changes' AR(2) with margin); see :func:`fit_arima2`.
ARIMA2_AR_MAX = 0.995


def arima2_ok(a1: float, a2: float) -> bool:
    """The AR(2) of the changes is stationary (the triangle), with a1 + a2 ≤ ARIMA2_AR_MAX."""
    return (math.isfinite(a1) and math.isfinite(a2) and a1 + a2 <= ARIMA2_AR_MAX
            and abs(a2) < 1.0 and a2 - a1 < 1.0)


def fit_arima2(years, values, scale: Scale, *, notes: list[str] | None = None) -> Fit:
    """ARIMA(2,1,0) with drift by conditional least squares (statsmodels OLS of Δz_t on
    [1, Δz_{t−1}, Δz_{t−2}], the conditional MLE of ``AutoReg(Δz, 2, trend="c")``)::

        Δz_t − μ = a1 (Δz_{t−1} − μ) + a2 (Δz_{t−2} − μ) + ε_t

    — the yearly change may bend and settle (a decline that slows, then steadies: the
    AR(2)-on-differences curves AutoARIMA picks for smooth series; with a1 + a2 near 1 it
    is close to a d = 2 trend). The forecast is the path of changes by the recursion for
    h = 1…H_MAX (then the last step carries on, as for the pooled trend); the model sd is
    that of a random walk with the innovation variance (intervals are calibrated per family).
    A series shorter than ARIMA2_MIN_POINTS, without variation in its changes, or whose AR(2)
    is not stationary (or a1 + a2 > ARIMA2_AR_MAX) keeps the ARIMA(1,1,0) path instead."""
    from statsmodels.regression.linear_model import OLS

    notes = [] if notes is None else notes
    ar = fit_arima(years, values, scale, notes=notes)     # its errors: too short, gaps, scale
    x, y, z = ar.years, ar.values, ar.z
    dz = np.diff(z)
    h = np.arange(1, H_MAX + 1, dtype=float)
    a, mu1 = ar.params["ar"], ar.params["drift"]
    path = arima_forecast(0.0, ar.params["last_change"] - mu1, mu1, a, 0.0, h)[0]
    s2 = ar.params["resid_sd"] ** 2
    a1, a2, mu = a, 0.0, mu1
    flat = bool(np.all(np.abs(dz - dz[0]) <= FLAT_TOL * (1.0 + abs(dz[0]))))
    if len(x) >= ARIMA2_MIN_POINTS and not flat:
        yv, l1, l2 = dz[2:], dz[1:-1], dz[:-2]
        k = len(yv)
        X = np.column_stack([np.ones(k), l1, l2])
        c1, c2 = l1 - l1.mean(), l2 - l2.mean()
        s11, s22, s12 = float(c1 @ c1), float(c2 @ c2), float(c1 @ c2)
        q1, q2 = float(l1 @ l1), float(l2 @ l2)
        if (s11 > COLLINEAR_TOL * q1 and s22 > COLLINEAR_TOL * q2        # lags that vary,
                and s11 * s22 - s12 * s12 > COLLINEAR_TOL * s11 * s22):  # not collinear
            res = OLS(yv, X).fit()
            c, b1, b2 = (float(v) for v in res.params)
            if arima2_ok(b1, b2):
                a1, a2 = b1, b2
                mu = c / (1.0 - a1 - a2)
                s2 = float(np.sum(res.resid ** 2)) / max(k - 3, 1)
                e1, e0 = dz[-1] - mu, dz[-2] - mu
                cum, out = 0.0, []
                for _ in range(H_MAX):
                    e1, e0 = a1 * e1 + a2 * e0, e1
                    cum += mu + e1
                    out.append(cum)
                path = np.array(out)
    if np.all(z == z[0]):
        path, s2 = np.zeros(H_MAX), 0.0
    z_last, x_last = float(z[-1]), float(x[-1])
    predict = path_predictor(z_last, x_last, path, s2)

    params = {"ar1": a1, "ar2": a2, "drift": mu, "resid_sd": math.sqrt(s2),
              "change_1y": float(path[0])}
    return Fit(model="arima2", scale=scale, years=x, values=y, z=z, zfit=z.copy(),
               params=params, slope=float(path[0]), df=max(len(x) - 3, 1),
               predict_fn=predict, notes=notes)


#: The damping of the curve model: the latest change of the yearly change carries on, shrunk
#: by this factor every year (0.5 halves it; on the pool 0.5 beat 0.3, 0.7, 0.85 and a per-series
#: estimate on every aggregate together: benchmarks/peer_benchmark.py).
CURVE_PHI = 0.5
#: Fewest yearly points a curve fit uses (two changes of the yearly change).
CURVE_MIN_POINTS = 4


def curve_path(change: float, bend: float, horizons: int = H_MAX) -> np.ndarray:
    """The path of changes h = 1…``horizons`` years after the last year: the yearly change
    ``change`` plus the bend ``bend`` (the latest change of the yearly change) shrunk by
    CURVE_PHI each year, summed."""
    phi = CURVE_PHI
    k = np.arange(1, horizons + 1, dtype=float)
    slope_k = change + bend * (phi * (1.0 - phi ** k) / (1.0 - phi))
    return np.cumsum(slope_k)


def fit_curve(years, values, scale: Scale, *, notes: list[str] | None = None) -> Fit:
    """The curve model (局部弯曲趋势): ARIMA(1,2,0) without constant and with its AR
    coefficient fixed at CURVE_PHI — the change of the yearly change follows

        Δ²z_t = φ · Δ²z_{t−1} + ε_t,       φ = CURVE_PHI

    so the latest yearly change Δz_T carries on and bends by Δ²z_T · (φ + φ² + … + φ^k) in
    year k: a decline that has been slowing keeps slowing, by less each year. Nothing is
    estimated but the innovation variance σ² = mean of the residuals squared (the one-step
    errors of the recursion); the forecast is the path of changes for h = 1…H_MAX (then the
    last step carries on, as for ARIMA(2,1,0)); the model sd is that of a random walk with σ²
    (intervals are calibrated per family). ``tests/test_local_trend.py`` checks the path
    against statsmodels ``ARIMA(order=(1, 2, 0), trend="n")`` with the coefficient fixed."""
    notes = [] if notes is None else notes
    x, y, z = yearly_series(years, values, scale, notes, CURVE_MIN_POINTS, "弯曲趋势")
    dz = np.diff(z)
    d2 = np.diff(dz)
    r = d2[1:] - CURVE_PHI * d2[:-1]
    s2 = float(np.sum(r * r)) / max(len(r), 1)
    change, bend = float(dz[-1]), float(d2[-1])
    path = curve_path(change, bend)
    if np.all(z == z[0]):
        path, s2 = np.zeros(H_MAX), 0.0
    z_last, x_last = float(z[-1]), float(x[-1])
    params = {"phi": CURVE_PHI, "last_change": change, "bend": bend,
              "resid_sd": math.sqrt(s2), "change_1y": float(path[0])}
    return Fit(model="curve", scale=scale, years=x, values=y, z=z, zfit=z.copy(),
               params=params, slope=float(path[0]), df=max(len(x) - 3, 1),
               predict_fn=path_predictor(z_last, x_last, path, s2), notes=notes)
