"""Vectorised trend models: fit, select, forecast and p_meet for many series at once.

Series are held as padded arrays (series × years, ``NaN`` after each series' last point)
and every model of :mod:`wuwei_analysis.models` that ``model="auto"`` can pick from a
series' own data is computed for all of them together with numpy:

=============  ===========================================================================
loglinear,     closed-form least squares on the modelling scale (the same centred design
logit, linear  [1, year − mean year] as the per-series statsmodels OLS)
poisson,       batched IRLS, the very iteration statsmodels' GLM runs (same start, same
quasi_poisson  deviance stopping rule, covariance from the last weights); a series with
               fewer than ``MIN_EVENTS_FOR_TREND`` events gets the pooled constant rate
naive          last value carried forward, random-walk variance per year
arima          ARIMA(1,1,0) with drift, a local trend on the yearly changes, by conditional
               least squares in closed form (:func:`fit_arima`, the local-trend section below)
pooled         the pooled trend: span slopes and the ARIMA bend combined with the weights
               learned across the calibration pool (:func:`fit_pooled`)
arima2         ARIMA(2,1,0) with drift by conditional least squares in closed form (a 2 × 2
               solve per row; :func:`fit_arima2`, last section); falls back to the
               ARIMA(1,1,0) path on short or non-stationary rows
curve          ARIMA(1,2,0) with its coefficient fixed (:func:`fit_curve`, last section):
               the latest yearly change and its latest change, halving each year
=============  ===========================================================================

``model="auto"`` is the AUTO RULE of :mod:`wuwei_analysis.models.core`, vectorised: the
same rolling origins (one pass per training length, all series at once), the same
candidates (primary and OTHER_CANDIDATES), the same scale-free error, the same SELECT_MARGIN
and CHALLENGE_MARGIN, and before it the same SCALE RULE (a percentage on the share scale).
The one model not vectorised is ``damped`` (a numerical ETS likelihood fit, no longer an
auto candidate): explicit ``damped`` requests are handed to the per-series
:func:`~wuwei_analysis.models.forecast_series` unchanged — so the result for *every* series
is the per-series result.

Intervals and p_meet are :func:`~wuwei_analysis.models.calibrate.predictive` computed for all
series: the calibrated spread, the calibrated multipliers and t shape; for count models the
exact count distribution of :mod:`wuwei_analysis.models.count_dist` (the same functions the
per-series path calls). Every constant is read from the models' modules when used (never
copied), so a recalibration changes both paths alike. p_meet then goes through the pool's
recalibration map (``calibrate.p_meet_key`` / ``recalibrate_p``), as in the per-series path.

Agreement with the per-series statsmodels path (estimates, intervals, p_meet) is to about
1e-12 relative, shown in ``tests/test_engine.py`` to 1e-8 on random series with zeros, gaps
and very short series. Decisions taken on a rounding-level difference (two model scores
equal to the last bit, e.g. on a series that is exactly constant) can in principle go
either way in either path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..models import calibrate as _cal
from ..models import core as _core
from ..models import fit as _fit
from ..models import local_trend as _lt
from ..models import pooled_trend as _pt
from ..models.count_dist import rate_ge, rate_intervals, rate_le

if TYPE_CHECKING:
    import pandas as pd

#: Models the vectorised engine fits itself (others go to the per-series path).
VECTOR_MODELS = ("poisson", "loglinear", "logit", "linear", "naive", "arima", "pooled",
                 "arima2", "curve")
_TARGET_KINDS = ("at_most", "at_least", "around", "relative_change", "direction", "gap")
#: The auto rule's candidates besides the primary model, in the order that settles ties
#: (``core.choose_model``).
OTHER_CANDIDATES = ("naive", "arima", "pooled", "arima2", "curve")
#: The modelling scales (``models.fit.Scale`` kinds).
SCALE_KINDS = ("log", "logit", "identity", "share")


# =============================================================================== series
@dataclass
class SeriesBatch:
    """Annual series as padded arrays (S series × T positions, ascending years).

    ``x`` years, ``y`` values, ``c`` counts, ``e`` exposures (denominators) — ``NaN`` after a
    series' ``n`` points; ``use_counts`` marks series whose counts and exposures are used
    (every exposure finite and positive, as ``forecast_series`` requires; missing counts
    are then derived from value × exposure / rate_scale).
    """

    x: np.ndarray
    y: np.ndarray
    n: np.ndarray
    c: np.ndarray | None = None
    e: np.ndarray | None = None
    use_counts: np.ndarray | None = None

    def __post_init__(self):
        S = self.x.shape[0]
        if self.c is None:
            self.c = np.full_like(self.x, np.nan)
        if self.e is None:
            self.e = np.full_like(self.x, np.nan)
        if self.use_counts is None:
            self.use_counts = np.zeros(S, bool)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def mask(self) -> np.ndarray:
        """Points present (S × T); computed once."""
        m = self.__dict__.get("_mask")
        if m is None or m.shape != self.x.shape:
            m = np.arange(self.x.shape[1])[None, :] < self.n[:, None]
            self.__dict__["_mask"] = m
        return m

    def take(self, rows) -> "SeriesBatch":
        rows = np.asarray(rows)
        t = max(int(self.n[rows].max()) if len(rows) else 1, 1)
        return SeriesBatch(self.x[rows, :t], self.y[rows, :t], self.n[rows], self.c[rows, :t],
                           self.e[rows, :t], self.use_counts[rows])

    def series(self, i: int):
        """(years, values, counts, exposures) of series ``i`` as the per-series path gets
        them after ``_prepare`` (counts / exposures None when not used)."""
        k = int(self.n[i])
        x, y = self.x[i, :k].copy(), self.y[i, :k].copy()
        if self.use_counts[i]:
            return x, y, self.c[i, :k].copy(), self.e[i, :k].copy()
        return x, y, None, None

    @classmethod
    def from_lists(cls, years, values, counts=None, exposures=None, rate_scale=1.0
                   ) -> "SeriesBatch":
        """From per-series sequences, prepared exactly as ``forecast_series`` prepares one
        series (NaN values dropped, years sorted, counts derived where missing)."""
        from ..models.forecasting import _prepare

        S = len(years)
        rs = np.broadcast_to(np.asarray(rate_scale, float), (S,))
        prepared = []
        for i in range(S):
            cnt = None if counts is None else counts[i]
            exp_ = None if exposures is None else exposures[i]
            prepared.append(_prepare(years[i], values[i], cnt, exp_, float(rs[i])))
        T = max([len(p[0]) for p in prepared] + [1])
        x = np.full((S, T), np.nan)
        y, c, e = x.copy(), x.copy(), x.copy()
        n = np.zeros(S, np.int64)
        use = np.zeros(S, bool)
        for i, (xi, yi, ci, ei) in enumerate(prepared):
            k = len(xi)
            n[i] = k
            x[i, :k], y[i, :k] = xi, yi
            if ci is not None:
                use[i] = True
                c[i, :k], e[i, :k] = ci, ei
        return cls(x, y, n, c, e, use)


def pack_long(keys: np.ndarray, years: np.ndarray, values: np.ndarray,
              numerators: np.ndarray | None = None, denominators: np.ndarray | None = None,
              rate_scale: np.ndarray | float = 1.0, n_series: int | None = None,
              presorted: bool = False) -> SeriesBatch:
    """A :class:`SeriesBatch` from long arrays: ``keys`` are series numbers 0…S−1; one row per
    series and year (de-duplicate first), values finite. ``rate_scale`` is per series;
    ``presorted``: the rows are already in order of key, then year."""
    keys = np.asarray(keys, np.int64)
    years = np.asarray(years, float)
    values = np.asarray(values, float)
    S = int(n_series if n_series is not None else (keys.max() + 1 if len(keys) else 0))
    order = slice(None) if presorted else np.lexsort((years, keys))
    k, yr, v = keys[order], years[order], values[order]
    num = np.full(len(k), np.nan) if numerators is None else \
        np.asarray(numerators, float)[order]
    den = np.full(len(k), np.nan) if denominators is None else \
        np.asarray(denominators, float)[order]
    n = np.bincount(k, minlength=S).astype(np.int64)
    T = max(int(n.max()) if S else 1, 1)
    start = np.zeros(S + 1, np.int64)
    np.cumsum(n, out=start[1:])
    pos = np.arange(len(k)) - start[k]
    x = np.full((S, T), np.nan)
    y, c, e = x.copy(), x.copy(), x.copy()
    x[k, pos], y[k, pos], c[k, pos], e[k, pos] = yr, v, num, den
    M = np.arange(T)[None, :] < n[:, None]
    has_den = (M & np.isfinite(e)).any(axis=1)
    e_ok = np.where(M, np.isfinite(e) & (e > 0), True).all(axis=1)
    use = has_den & e_ok & (n > 0)
    rs = np.broadcast_to(np.asarray(rate_scale, float), (S,))
    with np.errstate(invalid="ignore"):
        derived = np.round(y * e / rs[:, None])
    c = np.where(use[:, None] & M, np.where(np.isfinite(c), c, derived), np.nan)
    e = np.where(use[:, None] & M, e, np.nan)
    return SeriesBatch(x, y, n, c, e, use)


# =============================================================================== fits
@dataclass
class Fits:
    """One fitted model per row. Prediction at years ``xs`` (rows × k), with d = xs − C::

        m = A + B·d,    s = √max(V0 + V1·d + V2·d², 0)     (modelling scale, textbook sd)
    """

    model: np.ndarray           # model name per row (object)
    kind: np.ndarray            # scale kind per row: "log" / "logit" / "identity"
    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    V0: np.ndarray
    V1: np.ndarray
    V2: np.ndarray
    df: np.ndarray              # degrees of freedom (int)
    u: np.ndarray               # pace (per year, modelling scale, floored)
    slope: np.ndarray           # Fit.slope
    x_last: np.ndarray          # last fitted year
    fitted_last: np.ndarray     # the fitted value (unit) in the last year
    fail: np.ndarray            # the model cannot be fitted (ForecastError)
    count: np.ndarray           # count model rows
    phi: np.ndarray
    e_future: np.ndarray
    rate_scale: np.ndarray
    params: dict = field(default_factory=dict)   # name → array (NaN where not defined)
    # ARIMA(1,1,0) rows (:func:`fit_arima`): AR coefficient (NaN on other rows), last
    # change minus drift, innovation variance; there A = last z, B = drift, C = last year
    ar: np.ndarray | None = None
    ar_w: np.ndarray | None = None
    ar_s2: np.ndarray | None = None
    # pooled-trend rows (:func:`fit_pooled`): changes z_{T+h} − z_T for h = 1…H_MAX (NaN on
    # other rows); there A = last z, C = last year
    path: np.ndarray | None = None

    def __post_init__(self):
        S = len(self.A)
        for name in ("ar", "ar_w", "ar_s2"):
            if getattr(self, name) is None:
                setattr(self, name, np.full(S, np.nan))
        if self.path is None:
            self.path = np.full((S, _pt.H_MAX), np.nan)

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = xs - self.C[:, None]
        m = self.A[:, None] + self.B[:, None] * d
        v = self.V0[:, None] + self.V1[:, None] * d + self.V2[:, None] * d * d
        s = np.sqrt(np.maximum(v, 0.0))
        ar = np.isfinite(self.ar)
        if ar.any():

            m[ar], s[ar] = arima_predict(self.A[ar], self.ar_w[ar], self.B[ar], self.ar[ar],
                                         self.ar_s2[ar], np.maximum(d[ar], 0.0))
        pt = np.isfinite(self.path[:, 0])
        if pt.any():
            m[pt] = self.A[pt, None] + pooled_path_at(self.path[pt], d[pt])
        return m, s

    @classmethod
    def empty(cls, S: int) -> "Fits":
        f = np.full(S, np.nan)
        return cls(model=_objs(S, "none"), kind=_objs(S, "identity"),
                   A=f.copy(), B=f.copy(), C=f.copy(), V0=f.copy(), V1=f.copy(),
                   V2=f.copy(), df=np.ones(S, np.int64), u=f.copy(), slope=f.copy(),
                   x_last=f.copy(), fitted_last=f.copy(), fail=np.ones(S, bool),
                   count=np.zeros(S, bool), phi=np.ones(S), e_future=f.copy(),
                   rate_scale=np.ones(S), params={})

    def put(self, rows: np.ndarray, other: "Fits") -> None:
        """Rows ``rows`` of self become ``other`` (of length len(rows))."""
        for name in ("model", "kind", "A", "B", "C", "V0", "V1", "V2", "df", "u", "slope",
                     "x_last", "fitted_last", "fail", "count", "phi", "e_future",
                     "rate_scale", "ar", "ar_w", "ar_s2", "path"):
            getattr(self, name)[rows] = getattr(other, name)
        S = len(self.A)
        for k, v in other.params.items():
            if k not in self.params:
                self.params[k] = np.full(S, np.nan)
            self.params[k][rows] = v


def _objs(n, value) -> np.ndarray:
    """An object array of ``n`` times ``value`` (``np.full(n, value, object)`` converts a
    string to a new object per element: 15× slower)."""
    a = np.empty(n, object)
    a.fill(value)
    return a


def _msum(a: np.ndarray, M: np.ndarray) -> np.ndarray:
    return np.where(M, a, 0.0).sum(axis=1)


def _last(a: np.ndarray, M: np.ndarray) -> np.ndarray:
    n = M.sum(axis=1)
    return a[np.arange(len(a)), np.maximum(n - 1, 0)]


def _ols_slope(x: np.ndarray, z: np.ndarray, M: np.ndarray) -> tuple:
    """(slope, mean x, mean z, centred x, sxx) of z on x over M (pace / OLS formula)."""
    n = M.sum(axis=1)
    xbar = _msum(x, M) / n
    zbar = _msum(z, M) / n
    xc = np.where(M, x - xbar[:, None], 0.0)
    sxx = (xc * xc).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = (xc * np.where(M, z - zbar[:, None], 0.0)).sum(axis=1) / sxx
    return b, xbar, zbar, xc, sxx


def _floor(kind: str, y: np.ndarray, M: np.ndarray) -> np.ndarray:
    floor = _cal.U_FLOOR[kind]
    if kind in _fit.LEVEL_SCALES:
        n = M.sum(axis=1)
        return floor * np.maximum(_msum(np.abs(y), M) / n, 1e-9)
    return np.full(len(y), float(floor))


def to_scale(kind: str, y: np.ndarray, M: np.ndarray, c=None, e=None, emp=None
             ) -> tuple[np.ndarray, np.ndarray]:
    """(z, fail): ``to_model_scale`` of the points in M (zeros on the log scale replaced by
    half the smallest positive value in M; a logit of counts where ``emp``)."""
    S = y.shape[0]
    fail = np.zeros(S, bool)
    with np.errstate(all="ignore"):
        if kind == "log":
            neg = (M & (y < 0)).any(axis=1)
            pos = M & (y > 0)
            fail = neg | ~pos.any(axis=1)
            minpos = np.where(pos, y, np.inf).min(axis=1)
            yy = np.where(y == 0, (minpos / 2.0)[:, None], y)
            z = np.log(yy)
        elif kind == "logit":
            top = 100.0
            p = np.clip(y / top, _fit.LOGIT_EPS, 1.0 - _fit.LOGIT_EPS)
            z = np.log(p / (1.0 - p))
            if emp is not None and np.any(emp):
                pe = (c + 0.5) / (e + 1.0)
                z = np.where(emp[:, None], np.log(pe / (1 - pe)), z)
        else:
            z = y.copy()
    return np.where(M, z, np.nan), fail


def fit_trend(x, y, M, kind: str, model: str, c=None, e=None, emp=None) -> Fits:
    """loglinear / logit / linear: OLS of z on [1, x − x̄] (``models.fit.fit_trend``)."""
    S = x.shape[0]
    z, fail = to_scale(kind, y, M, c, e, emp)
    n = M.sum(axis=1).astype(float)
    b, xbar, zbar, xc, sxx = _ols_slope(x, z, M)
    # a constant series: an exactly flat line (as models.fit.fit_trend)
    z0 = z[:, 0]
    const = np.where(M, z == z0[:, None], True).all(axis=1)
    b = np.where(const, 0.0, b)
    a = np.where(const, z0, zbar)
    with np.errstate(invalid="ignore"):
        r = np.where(M, z - a[:, None] - b[:, None] * (x - xbar[:, None]), 0.0)
    ssr = np.where(const, 0.0, (r * r).sum(axis=1))
    dfree = n - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = np.where(dfree > 0, ssr / np.where(dfree > 0, dfree, 1), 0.0)
        V2 = sigma2 / sxx
    x_last = _last(x, M)
    z_last_fit = a + b * (x_last - xbar)
    u = np.maximum(np.abs(b), _floor(kind, y, M))
    f = Fits(model=np.full(S, model, object), kind=np.full(S, kind, object), A=a, B=b,
             C=xbar, V0=sigma2 * (1.0 + 1.0 / n), V1=np.zeros(S), V2=V2,
             df=np.maximum(dfree, 1).astype(np.int64), u=u, slope=b, x_last=x_last,
             fitted_last=_inv(kind, z_last_fit), fail=fail, count=np.zeros(S, bool),
             phi=np.ones(S), e_future=np.full(S, np.nan), rate_scale=np.ones(S))
    with np.errstate(invalid="ignore", divide="ignore"):
        f.params = {"intercept": a, "slope": b, "slope_se": np.sqrt(sigma2 / sxx),
                    "centre_year": xbar, "resid_sd": np.sqrt(sigma2)}
    return f


def fit_naive(x, y, M, kind: str) -> Fits:
    """Last value carried forward (``models.fit.fit_naive``)."""
    S = x.shape[0]
    z, fail = to_scale(kind, y, M)
    n = M.sum(axis=1)
    D = M[:, 1:] & M[:, :-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        dz = z[:, 1:] - z[:, :-1]
        gaps = x[:, 1:] - x[:, :-1]
        nd = D.sum(axis=1)
        q = np.where(nd > 0, np.where(D, dz * dz / gaps, 0.0).sum(axis=1)
                     / np.maximum(nd, 1), 0.0)
    last = _last(z, M)
    x_last = _last(x, M)
    b = _ols_slope(x, z, M)[0]
    u = np.maximum(np.abs(np.where(np.isfinite(b), b, 0.0)), _floor(kind, y, M))
    f = Fits(model=np.full(S, "naive", object), kind=np.full(S, kind, object), A=last,
             B=np.zeros(S), C=x_last, V0=np.zeros(S), V1=q, V2=np.zeros(S),
             df=np.maximum(n - 1, 1).astype(np.int64), u=u, slope=np.zeros(S),
             x_last=x_last, fitted_last=_last(y, M), fail=fail, count=np.zeros(S, bool),
             phi=np.ones(S), e_future=np.full(S, np.nan), rate_scale=np.ones(S))
    f.params = {"last_value": _last(y, M), "rw_sd_per_year": np.sqrt(q)}
    return f


def _poisson_deviance(d, mu, M):
    with np.errstate(all="ignore"):
        r = np.clip(d / mu, _FLOAT_EPS, np.inf)
        dev = 2 * (d * np.log(r) - (d - mu))
    return np.where(M, dev, 0.0).sum(axis=1)


_FLOAT_EPS = np.finfo(float).eps


def _irls(x1, d, off, M, maxiter: int = 100, tol: float = 1e-8):
    """statsmodels' GLM IRLS (Poisson, log link) for many series: (params a, b; the last
    weights; converged). Same start (μ₀ = (y + ȳ)/2), same update, same stopping rule
    (|Δ deviance| ≤ tol)."""
    S = x1.shape[0]
    n = M.sum(axis=1)
    dbar = _msum(d, M) / n
    mu = np.where(M, (d + dbar[:, None]) / 2.0, 1.0)
    lin = np.log(np.clip(mu, _FLOAT_EPS, np.inf))
    dev = _poisson_deviance(d, mu, M)
    a = np.zeros(S)
    b = np.zeros(S)
    w_last = np.ones_like(mu)
    active = np.ones(S, bool)
    for _ in range(maxiter):
        idx = np.nonzero(active)[0]
        if len(idx) == 0:
            break
        Mi, mui, di = M[idx], mu[idx], d[idx]
        xi, offi = x1[idx], off[idx]
        with np.errstate(all="ignore"):
            w = 1.0 / ((1.0 / mui) ** 2 * mui)
            zw = lin[idx] + (1.0 / mui) * (di - mui) - offi
        w = np.where(Mi, w, 0.0)
        zw = np.where(Mi, zw, 0.0)
        s0 = w.sum(axis=1)
        s1 = (w * xi).sum(axis=1)
        s2 = (w * xi * xi).sum(axis=1)
        t0 = (w * zw).sum(axis=1)
        t1 = (w * xi * zw).sum(axis=1)
        det = s0 * s2 - s1 * s1
        with np.errstate(all="ignore"):
            ai = (s2 * t0 - s1 * t1) / det
            bi = (s0 * t1 - s1 * t0) / det
            lin_i = ai[:, None] + bi[:, None] * xi + offi
            mu_i = np.exp(lin_i)
        mu_i = np.where(Mi, mu_i, 1.0)
        dev_i = _poisson_deviance(di, mu_i, Mi)
        conv = np.abs(dev_i - dev[idx]) <= tol
        a[idx], b[idx] = ai, bi
        w_last[idx] = w
        lin[idx], mu[idx], dev[idx] = lin_i, mu_i, dev_i
        active[idx[conv | ~np.isfinite(dev_i)]] = False
    return a, b, w_last, ~active


def fit_poisson(x, d, e, y, M, rate_scale) -> Fits:
    """Poisson / quasi-Poisson trend or the pooled constant rate (``fit.fit_poisson``)."""
    S = x.shape[0]
    n = M.sum(axis=1)
    fail = (M & ((e <= 0) | (d < 0))).any(axis=1)
    xbar = _msum(x, M) / n
    k = _fit.EXPOSURE_YEARS
    pos = np.arange(x.shape[1])[None, :]
    lastk = M & (pos >= (n - k)[:, None])
    e_future = _msum(e, lastk) / lastk.sum(axis=1)
    total = _msum(d, M)
    const = total < _fit.MIN_EVENTS_FOR_TREND
    esum = _msum(e, M)
    with np.errstate(all="ignore"):
        eta0 = np.log((total + 0.5) / esum)
        se0 = 1.0 / np.sqrt(total + 0.5)
    x1 = np.where(M, x - xbar[:, None], 0.0)
    A, B = eta0.copy(), np.zeros(S)
    V0, V1, V2 = se0 ** 2, np.zeros(S), np.zeros(S)
    phi = np.ones(S)
    model = np.full(S, "poisson", object)
    dfree = n - 2
    df = np.maximum(n - 1, 1).astype(np.int64)
    slope_se = np.full(S, np.nan)
    tr = np.nonzero(~const & ~fail)[0]
    if len(tr):
        Mt = M[tr]
        with np.errstate(all="ignore"):
            off = np.where(Mt, np.log(e[tr]), 0.0)
        a, b, w, _ = _irls(x1[tr], np.where(Mt, d[tr], 0.0), off, Mt)
        xt = x1[tr]
        s0, s1, s2 = w.sum(axis=1), (w * xt).sum(axis=1), (w * xt * xt).sum(axis=1)
        det = s0 * s2 - s1 * s1
        with np.errstate(all="ignore"):
            c00, c01, c11 = s2 / det, -s1 / det, s0 / det
            mu = np.exp(a[:, None] + b[:, None] * xt + off)
            pear = np.where(Mt, (d[tr] - mu) ** 2 / mu, 0.0).sum(axis=1)
        dft = dfree[tr]
        ph = np.where(dft > 0, pear / np.where(dft > 0, dft, 1), 1.0)
        quasi = (dft >= 2) & (ph > _fit.quasi_poisson_threshold(dft))
        mult = np.where(quasi, ph, 1.0)
        c00, c01, c11 = c00 * mult, c01 * mult, c11 * mult
        A[tr], B[tr] = a, b
        V0[tr], V1[tr], V2[tr] = c00, 2.0 * c01, c11
        phi[tr] = np.where(quasi, ph, 1.0)
        model[tr] = np.where(quasi, "quasi_poisson", "poisson")
        df[tr] = np.maximum(dft, 1)
        slope_se[tr] = np.sqrt(c11)
    x_last = _last(x, M)
    zfit_last = A + B * (x_last - xbar)
    u = np.maximum(np.abs(B), float(_cal.U_FLOOR["log"]))
    f = Fits(model=model, kind=np.full(S, "log", object), A=A, B=B, C=xbar, V0=V0, V1=V1,
             V2=V2, df=df, u=u, slope=B.copy(), x_last=x_last,
             fitted_last=np.exp(np.clip(zfit_last, -700, 700)) * rate_scale, fail=fail,
             count=np.ones(S, bool), phi=phi, e_future=e_future,
             rate_scale=np.asarray(rate_scale, float) * np.ones(S))
    f.params = {"intercept": np.where(const, np.nan, A), "slope": B.copy(),
                "slope_se": slope_se, "centre_year": xbar,
                "dispersion": np.where(const, np.nan, phi), "events_total": total,
                "log_rate": np.where(const, eta0, np.nan),
                "log_rate_se": np.where(const, se0, np.nan)}
    return f


def _inv(kind, z):
    z = np.asarray(z, float)
    if isinstance(kind, str):
        kind = _objs(z.shape[:1], kind)
    kind = np.asarray(kind, object)
    if z.ndim and kind.shape == z.shape[:1]:    # per row: each row's own transform only
        out = z.copy()
        with np.errstate(over="ignore"):
            for name in ("log", "logit", "share"):
                sel = kind == name
                if sel.all():
                    zc = np.clip(z, -700, 700)
                elif sel.any():
                    zc = np.clip(z[sel], -700, 700)
                else:
                    continue
                v = np.exp(zc) if name == "log" else np.clip(zc, 0.0, 100.0) \
                    if name == "share" else _fit.snap_bounds(100.0 / (1.0 + np.exp(-zc)))
                if sel.all():
                    return v
                out[sel] = v
        return out
    zc = np.clip(z, -700, 700)
    k = kind.reshape((-1,) + (1,) * (z.ndim - 1))
    with np.errstate(over="ignore"):
        return np.where(k == "log", np.exp(zc),
                        np.where(k == "logit", _fit.snap_bounds(100.0 / (1.0 + np.exp(-zc))),
                                 np.where(k == "share", np.clip(z, 0.0, 100.0), z)))


def _fwd(kind: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Scale.fwd per row (threshold transform; no zero handling)."""
    y = np.asarray(y, float)
    with np.errstate(all="ignore"):
        lg = np.log(y)
        p = np.clip(y / 100.0, _fit.LOGIT_EPS, 1.0 - _fit.LOGIT_EPS)
        lt = np.log(p / (1.0 - p))
    return np.where(kind == "log", lg, np.where(kind == "logit", lt, y))


# =============================================================================== fit a model
def fit_named(name: str, batch: SeriesBatch, M: np.ndarray, rows: np.ndarray,
              primary: np.ndarray, scale: np.ndarray, rate_scale: np.ndarray) -> Fits:
    """``core.fit_named(spec, name, …)`` for rows of a batch, on the points in M (rows × T)."""
    x, y = batch.x[rows][:, :M.shape[1]], batch.y[rows][:, :M.shape[1]]
    c, e = batch.c[rows][:, :M.shape[1]], batch.e[rows][:, :M.shape[1]]
    use = batch.use_counts[rows]
    sc = scale[rows]
    out = Fits.empty(len(rows))
    if name == "poisson":
        ok = np.nonzero(use)[0]
        if len(ok):
            out.put(ok, fit_poisson(x[ok], c[ok], e[ok], y[ok], M[ok], rate_scale[rows][ok]))
        return out          # rows without counts stay failed ("needs counts")
    for kind in SCALE_KINDS:
        sel = np.nonzero(sc == kind)[0]
        if not len(sel):
            continue
        if name == "naive":
            out.put(sel, fit_naive(x[sel], y[sel], M[sel], kind))
        elif name == "arima":

            out.put(sel, fit_arima(x[sel], y[sel], M[sel], kind))
        elif name == "pooled":
            out.put(sel, fit_pooled(x[sel], y[sel], M[sel], kind))
        elif name == "arima2":
            out.put(sel, fit_arima2(x[sel], y[sel], M[sel], kind))
        elif name == "curve":
            out.put(sel, fit_curve(x[sel], y[sel], M[sel], kind))
        elif name in ("loglinear", "logit", "linear"):
            # a straight line in percentage points is the share scale's own trend
            want = "share" if name == "linear" and kind == "share" else \
                _fit.SCALE_OF_MODEL[name]
            if want != kind:        # fit_named: the model's own scale, no counts
                out.put(sel, fit_trend(x[sel], y[sel], M[sel], want, name))
            else:
                emp = use[sel] if name == "logit" else None
                out.put(sel, fit_trend(x[sel], y[sel], M[sel], want, name, c[sel], e[sel],
                                       emp))
        else:
            raise ValueError(f"model {name!r} is not vectorised")
    return out


# =============================================================================== auto rule
def _z_actual(batch: SeriesBatch, rows, primary, scale, rate_scale) -> np.ndarray:
    """``core._z_actual`` for each row over the whole series."""
    x, y = batch.x[rows], batch.y[rows]
    M = batch.mask[rows]
    za = np.full(x.shape, np.nan)
    pr, sc = primary[rows], scale[rows]
    use = batch.use_counts[rows]
    cnt = (pr == "poisson") & use
    if cnt.any():
        d, e = batch.c[rows][cnt], batch.e[rows][cnt]
        with np.errstate(all="ignore"):
            za[cnt] = np.log((d + 0.5) / e * rate_scale[rows][cnt][:, None])
    for kind in SCALE_KINDS:
        sel = ~cnt & (sc == kind)
        if not sel.any():
            continue
        z, fail = to_scale(kind, y[sel], M[sel])
        za[sel] = np.where(fail[:, None], np.where(M[sel], y[sel], np.nan), z)
    return za


def selection_scores(batch: SeriesBatch, rows: np.ndarray, primary, scale, rate_scale,
                     units: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``core.rolling_errors`` with candidates (primary, naive, arima, pooled, arima2, curve) for
    ``rows``: the mean absolute rolling-origin error on the modelling scale (NaN: no
    comparable origin), and under ``"units:" + candidate`` in the indicator's unit (for the
    rows where ``units``, a bool per row, is true — all by default; NaN for the others).

    The primaries compared are the straight-line trends (a rate with counts keeps its
    Poisson model without comparison), fitted as ``fit_trend`` fits them; for each origin
    both candidates share the training values on the modelling scale (zeros replaced
    within the training years, as ``to_model_scale`` does for the shorter series).
    """
    rows = np.asarray(rows)
    R = len(rows)
    n = batch.n[rows]
    x = batch.x[rows]
    y = batch.y[rows]
    pr, sc = primary[rows], scale[rows]
    emp_all = batch.use_counts[rows] & (pr == "logit")
    if np.any(~np.isin(pr, ("loglinear", "logit", "linear"))):
        raise ValueError("selection compares straight-line trends with naive only")
    za = _z_actual(batch, rows, primary, scale, rate_scale)
    first = np.maximum(_core.AUTO_MIN_TRAIN, n - 1 - _core.AUTO_MAX_ORIGINS)
    cand_ar = _yearly(batch.x[rows], batch.mask[rows])       # arima is a candidate
    cand_pl = cand_ar & np.array([_pt.available(k) for k in sc], bool)     # pooled too
    sums = {"primary": np.zeros(R), "naive": np.zeros(R), "arima": np.zeros(R),
            "pooled": np.zeros(R), "arima2": np.zeros(R), "curve": np.zeros(R)}
    sums_u = {k: np.zeros(R) for k in sums}
    want_u = np.ones(R, bool) if units is None else np.asarray(units, bool)
    cnts = {k: np.zeros(R) for k in sums}
    T = x.shape[1]
    H = _core.AUTO_HORIZON
    jpos = np.arange(T)[None, :]
    for o in range(int(first.min()) if R else 0, T - 1):
        L = o + 1
        has = (first <= o) & (o <= n - 2)
        if not has.any():
            continue
        sub = np.nonzero(has)[0]
        xs = x[sub]
        # targets: observed years j > o with x[j] − x[o] ≤ AUTO_HORIZON, and always j = o + 1
        with np.errstate(invalid="ignore"):
            tgt = (jpos > o) & (jpos < n[sub][:, None]) & ((xs - xs[:, o:o + 1] <= H)
                                                           | (jpos == o + 1))
        anyt = tgt.any(axis=1)
        sub, tgt, xs = sub[anyt], tgt[anyt], xs[anyt]
        if not len(sub):
            continue
        xw = xs[:, :L]
        ones = np.ones((len(sub), L), bool)
        m_p = np.empty(xs.shape)
        m_n = np.empty(xs.shape)
        m_a = np.full(xs.shape, np.nan)
        m_pl = np.full(xs.shape, np.nan)
        m_a2 = np.full(xs.shape, np.nan)
        m_cv = np.full(xs.shape, np.nan)
        failed = np.zeros(len(sub), bool)
        for kind in SCALE_KINDS:
            g = np.nonzero(sc[sub] == kind)[0]
            if not len(g):
                continue
            gr = sub[g]
            z, fail = to_scale(kind, y[gr, :L], ones[g])
            failed[g] = fail
            m_n[g] = z[:, L - 1:L]                                     # naive: last value
            emp = emp_all[gr]
            if emp.any():
                zr = z.copy()
                zr[emp] = to_scale(kind, y[gr[emp], :L], ones[g][emp],
                                   batch.c[rows[gr[emp]], :L], batch.e[rows[gr[emp]], :L],
                                   np.ones(int(emp.sum()), bool))[0]
            else:
                zr = z
            # fit_trend: OLS on [1, x − x̄]; a constant series gets an exactly flat line
            xg = xw[g]
            xbar = xg.sum(axis=1) / L
            zbar = zr.sum(axis=1) / L
            xc = xg - xbar[:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                b = (xc * (zr - zbar[:, None])).sum(axis=1) / (xc * xc).sum(axis=1)
            const = (zr == zr[:, :1]).all(axis=1)
            b = np.where(const, 0.0, b)
            a = np.where(const, zr[:, 0], zbar)
            m_p[g] = a[:, None] + b[:, None] * (xs[g] - xbar[:, None])
            ga = g[cand_ar[gr]]
            if len(ga):
    
                fa = fit_arima(xw[ga], y[sub[ga], :L], ones[ga], kind)
                failed[ga] |= fa.fail
                m_a[ga] = fa.predict(xs[ga])[0]
            gp = g[cand_pl[gr]]                   # a subset of ga: reuse its ARIMA fits
            if len(gp):
                fp = fit_pooled(xw[gp], y[sub[gp], :L], ones[gp], kind,
                                ar=_subfits(fa, np.isin(ga, gp)))
                failed[gp] |= fp.fail
                m_pl[gp] = fp.predict(xs[gp])[0]
            if len(ga):
                f2 = fit_arima2(xw[ga], y[sub[ga], :L], ones[ga], kind, ar=fa)
                m_a2[ga] = f2.predict(xs[ga])[0]
                fcv = fit_curve(xw[ga], y[sub[ga], :L], ones[ga], kind)
                m_cv[ga] = fcv.predict(xs[ga])[0]
        ok = ~failed
        for cand, m in (("primary", m_p), ("naive", m_n), ("arima", m_a), ("pooled", m_pl),
                        ("arima2", m_a2), ("curve", m_cv)):
            w = tgt & ok[:, None]
            if cand in ("arima", "arima2", "curve"):
                w = w & cand_ar[sub][:, None]
            elif cand == "pooled":
                w = w & cand_pl[sub][:, None]
            with np.errstate(invalid="ignore"):
                err = np.abs(m - za[sub])
            sums[cand][sub] += np.where(w, err, 0.0).sum(axis=1)
            nu_ = want_u[sub]
            if nu_.any():
                with np.errstate(invalid="ignore"):
                    err_u = np.abs(_inv(sc[sub][nu_], m[nu_]) - y[sub][nu_])
                sums_u[cand][sub[nu_]] += np.where(w[nu_], err_u, 0.0).sum(axis=1)
            cnts[cand][sub] += w.sum(axis=1)
    with np.errstate(invalid="ignore"):
        out = {k: np.where(cnts[k] > 0, sums[k] / np.maximum(cnts[k], 1), np.nan)
               for k in sums}
        out.update({"units:" + k: np.where((cnts[k] > 0) & want_u,
                                           sums_u[k] / np.maximum(cnts[k], 1),
                                           np.nan) for k in sums})
        return out


def choose_models(batch: SeriesBatch, primary, scale, rate_scale
                  ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The SCALE RULE and the AUTO RULE for every series: (model name per series, scores,
    primary and scale per series: a percentage the share scale forecasts better moves to
    it, ``core.choose_spec``). A rate with counts keeps its Poisson model."""
    primary, scale = primary.copy(), scale.copy()
    # the share twin of a percentage on the logit scale without counts, never at 0 / 100
    with np.errstate(invalid="ignore"):
        edge = (batch.mask & ((batch.y <= 100.0 * _fit.LOGIT_EPS)
                              | (batch.y >= 100.0 * (1.0 - _fit.LOGIT_EPS)))).any(axis=1)
    twin = (primary == "logit") & (scale == "logit") & ~batch.use_counts & ~edge
    name, scores = _choose(batch, primary, scale, rate_scale, np.ones(len(batch), bool), twin)
    twin &= np.isfinite(_unit_score(scores, name, primary))
    if twin.any():
        pr2, sc2 = primary.copy(), scale.copy()
        pr2[twin], sc2[twin] = "linear", "share"
        name2, scores2 = _choose(batch, pr2, sc2, rate_scale, twin, twin)
        e_l = _unit_score(scores, name, primary)
        e_s = _unit_score(scores2, name2, pr2)
        with np.errstate(invalid="ignore"):
            win = twin & np.isfinite(e_s) & _core.clearly_below(e_s, _core.SCALE_MARGIN, e_l)
        name[win] = name2[win]
        primary[win], scale[win] = "linear", "share"
        for k in scores:
            scores[k][win] = scores2[k][win]
    return name, scores, primary, scale


def _unit_score(scores: dict, name: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Per series: the chosen model's rolling-origin error in the indicator's unit."""
    out = np.full(len(name), np.nan)
    for k in ("primary",) + OTHER_CANDIDATES:
        sel = (primary == name) if k == "primary" else (name == k)
        out[sel] = scores["units:" + k][sel]
    return out


def _choose(batch: SeriesBatch, primary, scale, rate_scale, rows: np.ndarray,
            units: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The AUTO RULE for the series ``rows`` (bool mask; others get NaN scores); scores in
    the unit too for the series ``units`` (bool mask)."""
    S = len(batch)
    n = batch.n
    name = np.where(n < _fit.MIN_POINTS, "none", primary.astype(object)).astype(object)
    keys = ("primary",) + OTHER_CANDIDATES
    scores = {k: np.full(S, np.nan) for k in keys + tuple("units:" + k for k in keys)}
    compare = rows & (n >= _core.AUTO_MIN_POINTS) & (primary != "poisson")   # rules 2, 3
    sel = np.nonzero(compare)[0]
    if len(sel):
        sc = selection_scores(batch, sel, primary, scale, rate_scale, units=units[sel])
        base = sc["primary"]
        # the best other candidate (on a tie the first in OTHER_CANDIDATES' order)
        others = tuple(k for k in OTHER_CANDIDATES if k not in _core.CHALLENGERS)
        names_o = np.array(others, object)
        so = np.column_stack([sc[k] for k in others])
        fin = np.where(np.isfinite(so), so, np.inf)
        low = fin.min(axis=1, keepdims=True)
        # within the tie tolerance of the best: the first in candidate order (as core)
        with np.errstate(invalid="ignore"):
            k = np.argmax(fin <= low * (1.0 + _core.SELECT_TIE_RTOL) + _core.SELECT_TIE_ATOL,
                          axis=1)
        other = names_o[k]
        best = so[np.arange(len(k)), k]
        with np.errstate(invalid="ignore"):
            pick = np.isfinite(base) & np.isfinite(best) & _core.clearly_below(
                best, _core.SELECT_MARGIN, base)
        name[sel[pick]] = other[pick]
        # a challenger replaces the model chosen so far only when clearly better than it
        chosen = np.where(pick, best, base)
        for c in _core.CHALLENGERS:
            v = sc[c]
            with np.errstate(invalid="ignore"):
                win = np.isfinite(v) & np.isfinite(chosen) & _core.clearly_below(
                    v, _core.CHALLENGE_MARGIN, chosen)
            name[sel[win]] = c
            chosen = np.where(win, v, chosen)
        for k in scores:
            scores[k][sel] = sc[k]
    return name, scores


def _yearly(x: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``local_trend.yearly`` per row: at least 2 points, every year in between present."""
    D = M[:, 1:] & M[:, :-1]
    with np.errstate(invalid="ignore"):
        step = np.where(D, x[:, 1:] - x[:, :-1], 1.0)
    return (M.sum(axis=1) >= 2) & (step == 1.0).all(axis=1)


# =============================================================================== forecast
@dataclass
class Targets:
    """Per-series target arrays (see :func:`forecast_batch`)."""

    kind: np.ndarray                  # at_most / at_least / around / relative_change /
    #                                   direction / gap / "" (none)
    threshold: np.ndarray             # NaN: none
    year: np.ndarray                  # target year (int; 0: none)
    tolerance: np.ndarray
    change: np.ndarray
    good: np.ndarray                  # direction / gap: +1 (up is good) or −1

    @classmethod
    def none(cls, S: int) -> "Targets":
        return cls(np.full(S, "", object), np.full(S, np.nan), np.zeros(S, np.int64),
                   np.full(S, np.nan), np.full(S, np.nan), np.ones(S))

    @classmethod
    def from_targets(cls, targets, thresholds=None) -> "Targets":
        """From :class:`~wuwei_analysis.targets.Target` objects (None: no target) and the
        thresholds resolved for each (default ``target.threshold()``)."""
        S = len(targets)
        out = cls.none(S)
        for i, t in enumerate(targets):
            if t is None:
                continue
            out.kind[i] = t.kind
            out.year[i] = int(t.year)
            thr = t.threshold() if thresholds is None else thresholds[i]
            out.threshold[i] = np.nan if thr is None else float(thr)
            out.tolerance[i] = np.nan if t.tolerance is None else float(t.tolerance)
            out.change[i] = np.nan if t.change is None else float(t.change)
            out.good[i] = -1.0 if (t.kind == "gap" or t.direction == "down") else 1.0
        return out


def meets(kind, value, threshold, tolerance, change) -> np.ndarray:
    """``Target.meets`` for threshold kinds, per row (False where it cannot be judged)."""
    eps = 1e-9
    v, t = np.asarray(value, float), np.asarray(threshold, float)
    with np.errstate(invalid="ignore"):
        le = v <= t + eps
        ge = v >= t - eps
        around = np.abs(v - t) <= tolerance + eps
    out = np.where(kind == "at_most", le, np.where(kind == "at_least", ge, False))
    out = np.where(kind == "around", around, out)
    out = np.where(kind == "relative_change", np.where(change < 0, le, ge), out)
    return out & np.isfinite(t) & np.isfinite(v)


def _predictive(fits: Fits, xs: np.ndarray, x_obs_last: np.ndarray):
    """Calibrated predictive (``calibrate.predictive``): m, sd, k80, k95, nu per row."""
    m, s = fits.predict(xs)
    h = np.maximum(xs - np.floor(x_obs_last)[:, None], 0.0)
    R = len(m)
    c = np.empty(R)
    k80 = np.empty(R)
    k95 = np.empty(R)
    nu = np.empty(R)
    g = np.ones(h.shape)
    # constants per family, and per family on the share scale (calibrate.constants)
    group = np.where(fits.kind == "share", fits.model + "@share", fits.model)
    for key in np.unique(group):
        sel = group == key
        name, _, kind = key.partition("@")
        if name == "none":
            c[sel] = k80[sel] = k95[sel] = nu[sel] = np.nan
            continue
        cst = _cal.constants(name, kind or None)
        c[sel], k80[sel], k95[sel] = cst["c"], cst["k80"], cst["k95"]
        nu[sel] = _cal.shape_nu(round(cst["k80"], 6), round(cst["k95"], 6))
        g[sel] = _cal.horizon_factor(cst, h[sel])
    infl = np.ones(R)
    for df in np.unique(fits.df[~fits.count]):
        infl[(~fits.count) & (fits.df == df)] = _cal.t_infl(int(df))
    sd = np.sqrt(s ** 2 * infl[:, None] + (c[:, None] * fits.u[:, None] * h) ** 2) * g
    sh = fits.kind == "share"
    if sh.any():
        sd[sh] = _cal.share_floor(sd[sh], s[sh] * np.sqrt(infl[sh])[:, None],
                                  k80[sh][:, None])
    return m, sd, k80, k95, nu


def _cdf_le(fits: Fits, m, sd, k80, nu, thr, strict: bool = False) -> np.ndarray:
    """P(value ≤ thr) per row at one year (m, sd: one column); ``strict``: P(value < thr)
    (a share at its bound has mass there, ``Predictive._cdf``)."""
    from scipy import special

    R = len(m)
    out = np.full(R, np.nan)
    cnt = fits.count
    if cnt.any():
        out[cnt] = rate_le(thr[cnt], m[cnt], sd[cnt] * (k80[cnt] / _cal.Z80),
                           fits.e_future[cnt], fits.phi[cnt], fits.rate_scale[cnt])
    o = ~cnt & np.isfinite(thr)
    if o.any():
        kind = fits.kind[o]
        t = thr[o]
        tt = np.where(kind == "logit", np.clip(t, _fit.LOGIT_EPS * 100.0,
                                               (1 - _fit.LOGIT_EPS) * 100.0),
                      np.where(kind == "log", np.maximum(t, 1e-300), t))
        zt = _fwd(kind, tt)
        mm, ss, nn = m[o], sd[o], nu[o]
        tq = _vec_tq90(nn)
        with np.errstate(all="ignore"):
            p = special.stdtr(nn, (zt - mm) / (ss * k80[o] / tq))
        p = np.where(ss <= 0, np.where(mm <= zt + 1e-12, 1.0, 0.0), p)
        p = np.where((kind == "log") & (t <= 0), 0.0, p)
        bounded = np.isin(kind, _fit.BOUNDED_SCALES)
        p = np.where(bounded & ((t <= 0) if strict else (t < 0)), 0.0, p)
        if not strict:
            p = np.where(bounded & (t >= (1 - 1e-12) * 100.0), 1.0, p)
        out[o] = p
    return out


def _vec_tq90(nu: np.ndarray) -> np.ndarray:
    out = np.empty(len(nu))
    for v in np.unique(nu):
        out[nu == v] = _cal._tq90(float(v))
    return out


def _p_ge(fits, m, sd, k80, nu, thr):
    out = np.full(len(m), np.nan)
    cnt = fits.count
    if cnt.any():
        out[cnt] = rate_ge(thr[cnt], m[cnt], sd[cnt] * (k80[cnt] / _cal.Z80),
                           fits.e_future[cnt], fits.phi[cnt], fits.rate_scale[cnt])
    o = ~cnt
    if o.any():
        sub = _subfits(fits, o)
        out[o] = 1.0 - _cdf_le(sub, m[o], sd[o], k80[o], nu[o], thr[o], strict=True)
    return out


def _subfits(fits: Fits, sel) -> Fits:
    kw = {k: getattr(fits, k)[sel] for k in (
        "model", "kind", "A", "B", "C", "V0", "V1", "V2", "df", "u", "slope", "x_last",
        "fitted_last", "fail", "count", "phi", "e_future", "rate_scale", "ar", "ar_w",
        "ar_s2", "path")}
    return Fits(**kw, params={k: v[sel] for k, v in fits.params.items()})


def p_meet_threshold(fits: Fits, m, sd, k80, nu, tg: Targets, whole=None) -> np.ndarray:
    """``forecast.p_meet_value`` per row at the target year (m, sd: that year); ``whole``
    rows are small whole-number quantities (``calibrate.whole_numbers``): their thresholds
    apply to the value rounded to a whole number."""
    kind, thr = tg.kind, tg.threshold
    out = np.full(len(m), np.nan)
    if whole is not None and np.any(whole):
        w = np.asarray(whole, bool) & ~fits.count & ~np.isin(fits.kind, _fit.BOUNDED_SCALES)
        tol = np.where(np.isfinite(tg.tolerance), tg.tolerance, 0.0)
        with np.errstate(invalid="ignore"):
            le_t = np.floor(thr + 1e-9) + 0.5           # P(round(Y) ≤ t) = P(Y ≤ ⌊t⌋ + ½)
            ge_t = np.ceil(thr - 1e-9) - 0.5            # P(round(Y) ≥ t) = P(Y ≥ ⌈t⌉ − ½)
            up = np.floor(thr + tol + 1e-9) + 0.5 - thr
            dn = thr - (np.ceil(thr - tol - 1e-9) - 0.5)
        le_kind = (kind == "at_most") | ((kind == "relative_change") & (tg.change < 0))
        new_thr = np.where(le_kind, le_t, np.where(kind == "around", thr, ge_t))
        tg = Targets(kind, np.where(w, new_thr, thr), tg.year, tg.tolerance, tg.change,
                     tg.good)
        tg.__dict__["_around"] = (np.where(w, up, tol), np.where(w, dn, tol))
        kind, thr = tg.kind, tg.threshold
    le_kind = (kind == "at_most") | ((kind == "relative_change") & (tg.change < 0))
    ge_kind = ((kind == "at_least") | (kind == "relative_change")) & ~le_kind
    fin = np.isfinite(thr)
    sel = le_kind & fin
    if sel.any():
        out[sel] = _cdf_le(_subfits(fits, sel), m[sel], sd[sel], k80[sel], nu[sel], thr[sel])
    sel = ge_kind & fin
    if sel.any():
        out[sel] = _p_ge(_subfits(fits, sel), m[sel], sd[sel], k80[sel], nu[sel], thr[sel])
    sel = (kind == "around") & fin
    if sel.any():
        f = _subfits(fits, sel)
        up, dn = tg.__dict__.get("_around", (tg.tolerance, tg.tolerance))
        a = _cdf_le(f, m[sel], sd[sel], k80[sel], nu[sel], thr[sel] + up[sel])
        b = _p_ge(f, m[sel], sd[sel], k80[sel], nu[sel], thr[sel] - dn[sel])
        out[sel] = np.maximum(0.0, a - (1.0 - b))
    return out


def intervals(fits: Fits, m, sd, k80, k95, levels=(0.8, 0.95), valid=None) -> dict:
    """{level: (lo, hi)} for ``levels`` (0.8 and / or 0.95) of the calibrated predictive per
    row (m, sd: rows × years), as ``Predictive.interval`` computes them; for count models
    every quantile is its own search (:func:`~wuwei_analysis.models.count_dist.
    count_quantile`), so asking for one level gives what asking for both gives.
    ``valid`` (rows × years, optional): the cells wanted; count-model cells outside it are
    not searched (NaN)."""
    out = {}
    mult = {0.8: k80, 0.95: k95}
    for level in levels:
        k = mult[level]
        out[level] = (_inv(fits.kind, m - k[:, None] * sd), _inv(fits.kind, m + k[:, None] * sd))
    cnt = fits.count
    if cnt.any():
        K = m.shape[1]
        mm, ss = m[cnt], sd[cnt] * (k80[cnt] / _cal.Z80)[:, None]
        cell = slice(None) if valid is None else np.asarray(valid)[cnt].reshape(-1)
        rep = lambda a: np.repeat(a, K)[cell]  # noqa: E731
        iv = rate_intervals(tuple(levels), mm.reshape(-1)[cell], ss.reshape(-1)[cell],
                            rep(fits.e_future[cnt]), rep(fits.phi[cnt]),
                            rep(fits.rate_scale[cnt]))
        pt = point(_subfits(fits, cnt), mm)      # the interval holds the point forecast
        for level, ends in iv.items():
            for end, v, keep in zip(out[level], ends, (np.minimum, np.maximum)):
                full = np.full(mm.size, np.nan)
                full[cell] = v
                end[cnt] = keep(full.reshape(mm.shape), pt)
    return out


def point(fits: Fits, m) -> np.ndarray:
    """The point forecast (median): inverse scale, times rate_scale for count models."""
    return _inv(fits.kind, m) * np.where(fits.count, fits.rate_scale, 1.0)[:, None]


def fit_final(batch: SeriesBatch, names: np.ndarray, primary, scale, rate_scale,
              fallback: bool = True) -> Fits:
    """The chosen model of each series fitted on all its points; a model that cannot be
    fitted falls back to a linear trend (``forecast_series`` with ``model="auto"``)."""
    S = len(batch)
    fits = Fits.empty(S)
    M = batch.mask
    for name in np.unique(names):
        if name not in VECTOR_MODELS:
            continue
        rows = np.nonzero(names == name)[0]
        fits.put(rows, fit_named(name, batch, M[rows], rows, primary, scale, rate_scale))
    if fallback:
        bad = np.nonzero(fits.fail & np.isin(names, VECTOR_MODELS))[0]
        if len(bad):
            lin = fit_named("linear", batch, M[bad], bad, primary,
                            np.full(S, "log", object), rate_scale)
            fits.put(bad, lin)
    return fits


def direction_p(x: np.ndarray, y: np.ndarray, M: np.ndarray, good: np.ndarray,
                absolute: np.ndarray, base_year: int | None = None, window: int | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """``forecast.direction_confidence`` for every row: (p, slope); p NaN with < 3 points.

    The window is the years from ``base_year`` on if there are at least 3, else the last
    ``window`` points; the arithmetic follows ``targets.trend_slope_confidence`` in the same
    order (sequential sums), so exact zeros (a constant series) come out alike.
    """
    from ..models import forecasting as _fc

    base_year = _fc.DIRECTION_BASE_YEAR if base_year is None else base_year
    window = _fc.DIRECTION_MIN_WINDOW if window is None else window
    yy = np.where(absolute[:, None], np.abs(y), y)
    n = M.sum(axis=1)
    w = M & (x >= base_year)
    use_w = w.sum(axis=1) >= _fit.MIN_POINTS
    pos = np.arange(x.shape[1])[None, :]
    tail = M & (pos >= (n - window)[:, None])
    W = np.where(use_w[:, None], w, tail)
    return trend_confidence(x, yy, W, good)


def trend_confidence(x, y, W, good) -> tuple[np.ndarray, np.ndarray]:
    """``targets.trend_slope_confidence`` on the points in W per row: (p, slope)."""
    from scipy import stats

    R, T = x.shape
    n = W.sum(axis=1).astype(float)
    sx = np.zeros(R)
    sy = np.zeros(R)
    for j in range(T):
        sx = sx + np.where(W[:, j], x[:, j], 0.0)
        sy = sy + np.where(W[:, j], y[:, j], 0.0)
    with np.errstate(all="ignore"):
        mx, my = sx / n, sy / n
        sxx = np.zeros(R)
        sxy = np.zeros(R)
        for j in range(T):
            dx = x[:, j] - mx
            sxx = sxx + np.where(W[:, j], dx ** 2, 0.0)
            sxy = sxy + np.where(W[:, j], dx * (y[:, j] - my), 0.0)
        slope = sxy / sxx
        ss = np.zeros(R)
        for j in range(T):
            r = y[:, j] - (my + slope * (x[:, j] - mx))
            ss = ss + np.where(W[:, j], r * r, 0.0)
        s2 = np.where(n > 2, ss / (n - 2), 0.0)
        se = np.power(s2 / sxx, 0.5)
        t = slope * good / se
        p = stats.t.cdf(t, df=n - 2)
    p = np.where(se == 0, np.where(slope * good > 0, 1.0, 0.0), p)
    p = np.where(sxx == 0, 0.5, p)
    slope = np.where(sxx == 0, 0.0, slope)
    p = np.where(n >= _fit.MIN_POINTS, p, np.nan)
    return p, slope


@dataclass
class BatchForecast:
    """What :func:`forecast_batch` returns (arrays, one entry per series)."""

    model: np.ndarray
    scale: np.ndarray
    n_points: np.ndarray
    last_year: np.ndarray
    p_meet: np.ndarray
    p_direction: np.ndarray
    slope_direction: np.ndarray
    aarr: np.ndarray
    annual_change: np.ndarray
    target_mean: np.ndarray        # at the target year (NaN if not a forecast year)
    target_lo80: np.ndarray
    target_hi80: np.ndarray
    scores: dict
    params: dict
    fits: Fits
    error: np.ndarray              # message where the explicit model could not be fitted
    per_series: np.ndarray         # handed to forecast_series
    table: object = None           # long forecast table (series, year, median, mean, lo/hi)
    eval_mean: np.ndarray | None = None   # mean at ``eval_year`` if asked


def forecast_batch(batch: SeriesBatch, *, primary, scale, rate_scale, targets: Targets,
                   horizon_year, model: str = "auto", table: bool = False,
                   eval_year: int | None = None, per_series_fn=None,
                   engine: str = "vectorized") -> BatchForecast:
    """``forecast_series`` for every series of ``batch`` (``interval="calibrated"``).

    Args:
        primary, scale, rate_scale: per series, from ``core.resolve_spec(unit,
            has_counts=use_counts, target_kind, direction)``.
        targets: per-series target arrays; thresholds already resolved (base / reference).
        horizon_year: last forecast year (scalar or per series).
        model: "auto" or a model name.
        table: also build the long forecast table (every series × future year).
        eval_year: also return the point forecast in that year (mid-term / final rules).
        per_series_fn: called as ``fn(i)`` → the ``forecast_series`` frame for series i,
            for the series the engine hands over (damped candidates, explicit damped).
        engine: "vectorized", or "per-series" to hand every series to ``per_series_fn``
            (the statsmodels path, for comparison and small jobs).
    """
    if engine not in ("vectorized", "per-series"):
        raise ValueError(f"engine must be 'vectorized' or 'per-series', not {engine!r}")
    S = len(batch)
    primary = np.asarray(primary, object)
    scale = np.asarray(scale, object)
    rate_scale = np.asarray(rate_scale, float) * np.ones(S)
    hz = np.asarray(horizon_year, np.int64) * np.ones(S, np.int64)
    n = batch.n
    M = batch.mask
    x_last = _last(batch.x, M)
    err = np.full(S, "", object)
    if model == "auto":
        names, scores, primary, scale = choose_models(batch, primary, scale, rate_scale)
    else:
        mname = "poisson" if model == "quasi_poisson" else model
        if mname not in _fit.MODEL_NAMES or mname == "none":
            raise _fit.ForecastError(f"未知模型 {model!r}")
        names = np.where(n < _fit.MIN_POINTS, "none", mname).astype(object)
        if mname == "damped":
            names[n >= _fit.MIN_POINTS] = "per_series"
        scores = {"primary": np.full(S, np.nan), "naive": np.full(S, np.nan)}
    if engine == "per-series":
        names = np.full(S, "per_series", object)
    fits = fit_final(batch, names, primary, scale, rate_scale, fallback=model == "auto")
    if model != "auto":
        bad = fits.fail & np.isin(names, VECTOR_MODELS)
        err[bad] = "无法拟合所选模型"
        names = np.where(bad, "none", names)
        fits.model[bad] = "none"
    per = names == "per_series"
    modelled = np.isin(names, VECTOR_MODELS) & ~fits.fail

    # ---- direction / gap confidence (needs no model)
    absolute = targets.kind == "gap"
    p_dir, slope_dir = direction_p(batch.x, batch.y, M, targets.good, absolute)
    is_dir = np.isin(targets.kind, ("direction", "gap"))

    # ---- predictive at the target year, the next year, the evaluation year
    ty = targets.year.astype(float)
    next_year = x_last + 1
    tyv = np.where(ty > x_last, ty, next_year)
    cols = [tyv, next_year] + ([np.full(S, float(eval_year))] if eval_year else [])
    xs = np.stack(cols, axis=1)
    rows = np.nonzero(modelled)[0]
    F = _subfits(fits, rows)
    m, sd, k80, k95, nu = _predictive(F, xs[rows], x_last[rows])
    mean = point(F, m)

    p_meet = np.full(S, np.nan)
    whole = _cal.whole_numbers(batch.y, M)
    pm = p_meet_threshold(F, m[:, 0], sd[:, 0], k80, nu, _subtargets(targets, rows),
                          whole[rows])
    tg_r = _subtargets(targets, rows)
    met_now = meets(tg_r.kind, _last(batch.y, M)[rows], tg_r.threshold, tg_r.tolerance,
                    tg_r.change)
    pm = _cal.recalibrate_p(pm, _cal.p_meet_key(F.model, F.kind, mean[:, 0], F.count,
                                                whole[rows] & ~np.isin(F.kind,
                                                                      _fit.BOUNDED_SCALES),
                                                tg_r.threshold, met_now))
    fut = ty[rows] > x_last[rows]
    p_meet[rows] = np.where(fut, pm, np.nan)
    # the target year already observed: meets or not
    obs_at = (batch.x == ty[:, None]) & M
    has_obs = obs_at.any(axis=1) & (ty <= x_last) & (targets.year > 0)
    v_at = np.where(obs_at, batch.y, 0.0).sum(axis=1)
    met = meets(targets.kind, v_at, targets.threshold, targets.tolerance, targets.change)
    thr_kind = np.isin(targets.kind, ("at_most", "at_least", "around", "relative_change"))
    set_obs = has_obs & thr_kind & np.isfinite(targets.threshold)
    p_meet[set_obs & (n >= _fit.MIN_POINTS)] = met[set_obs & (n >= _fit.MIN_POINTS)]
    few = n < _fit.MIN_POINTS
    p_meet[set_obs & few] = met[set_obs & few]
    p_meet[is_dir] = p_dir[is_dir]

    # forecast at target year only if it is a forecast year (≤ horizon, > last)
    in_table = (ty > x_last) & (ty <= hz)
    t_mean = np.full(S, np.nan)
    t_lo = np.full(S, np.nan)
    t_hi = np.full(S, np.nan)
    want = in_table[rows]
    tab = table_arrays(batch, fits, modelled, hz) if table else None
    if want.any() and tab is not None:
        # the table holds the target year: the same numbers, computed once
        t_mean[rows[want]], t_lo[rows[want]], t_hi[rows[want]] = tab.at(rows[want],
                                                                        ty[rows[want]])
    elif want.any():
        sub = _subfits(F, want)
        lo, hi = intervals(sub, m[want][:, :1], sd[want][:, :1], k80[want], k95[want],
                           levels=(0.8,))[0.8]
        t_mean[rows[want]] = mean[want, 0]
        t_lo[rows[want]], t_hi[rows[want]] = lo[:, 0], hi[:, 0]
    ann = np.full(S, np.nan)
    # forecast_series: the change to the next year when that is the first forecast year
    first_next = (x_last < hz) | ~(ty > x_last) | (ty == x_last + 1)
    ann[rows] = np.where(first_next[rows], mean[:, 1] - F.fitted_last, np.nan)
    aarr = np.full(S, np.nan)
    lg = (F.kind == "log") & (F.model != "naive")
    aarr[rows[lg]] = 1.0 - np.exp(F.slope[lg])
    eval_mean = None
    if eval_year:
        eval_mean = np.full(S, np.nan)
        ok = float(eval_year) > x_last[rows]
        ok &= float(eval_year) <= hz[rows]
        eval_mean[rows[ok]] = mean[ok, 2]

    res = BatchForecast(
        model=np.where(modelled, fits.model, np.where(per, "per_series", "none")),
        scale=fits.kind.copy(), n_points=n.copy(), last_year=x_last, p_meet=p_meet,
        p_direction=p_dir, slope_direction=slope_dir, aarr=aarr, annual_change=ann,
        target_mean=t_mean, target_lo80=t_lo, target_hi80=t_hi, scores=scores,
        params=fits.params, fits=fits, error=err, per_series=per, eval_mean=eval_mean)
    if table:
        res.table = tab.frame()
    if per.any() and per_series_fn is not None:
        _merge_per_series(res, np.nonzero(per)[0], per_series_fn, targets, eval_year, table)
    return res


#: A county rate resting on fewer events than this in its last year also gets the pooled
#: rate of its last POOL_YEARS calendar years (the usual practice for small areas).
SMALL_COUNT_EVENTS = 20
POOL_YEARS = 3


def pooled_rates(batch: SeriesBatch, rate_scale, min_events: float = SMALL_COUNT_EVENTS,
                 years: int = POOL_YEARS) -> dict[str, np.ndarray]:
    """For series with counts whose last year has < ``min_events`` events: the pooled rate
    of the observed years among the last ``years`` calendar years (Σ events / Σ denominators
    × rate scale), with ``pooled_years`` (how many years), ``pooled_from`` (the first) and
    ``pooled_events``; NaN for other series."""
    S = len(batch)
    M = batch.mask
    x_last = _last(batch.x, M)
    rs = np.asarray(rate_scale, float) * np.ones(S)
    with np.errstate(invalid="ignore"):
        win = M & (batch.x > (x_last - years)[:, None])
        c_last = _last(batch.c, M)
        small = batch.use_counts & (batch.n > 0) & (c_last < min_events)
        ev = _msum(batch.c, win)
        den = _msum(batch.e, win)
        rate = ev / den * rs
        first = np.where(win, batch.x, np.inf).min(axis=1)
    nan = np.full(S, np.nan)
    return {"pooled_rate": np.where(small, rate, nan),
            "pooled_years": np.where(small, win.sum(axis=1), nan),
            "pooled_from": np.where(small, first, nan),
            "pooled_events": np.where(small, ev, nan)}


#: Models whose slope is an estimated trend (its test against zero is meaningful).
SLOPE_MODELS = ("loglinear", "logit", "linear", "poisson", "quasi_poisson")


def trend_p_values(res: "BatchForecast") -> np.ndarray:
    """Two-sided p-value that each series' trend slope is zero (flat), column-wise — as
    :func:`wuwei_analysis.models.summary.trend_significance`: a t test with n − 2 df for
    loglinear / logit / linear, a z test for Poisson (quasi-Poisson: its widened SE); NaN
    where the model has no estimated slope (naive, ARIMA, damped, a Poisson rate without
    trend, no model)."""
    from scipy import stats

    S = len(res.model)
    nan = np.full(S, np.nan)
    b = np.asarray(res.params.get("slope", nan), float)
    se = np.asarray(res.params.get("slope_se", nan), float)
    count = np.isin(res.model, ("poisson", "quasi_poisson"))
    dfree = np.asarray(res.n_points, float) - 2
    ok = np.isin(res.model, SLOPE_MODELS) & np.isfinite(b) & np.isfinite(se) \
        & (count | (dfree >= 1))
    with np.errstate(all="ignore"):
        t = np.abs(b) / se
        p = np.where(count, 2 * stats.norm.sf(t), 2 * stats.t.sf(t, np.maximum(dfree, 1)))
    p = np.where(se == 0, np.where(b == 0, 1.0, 0.0), p)
    return np.where(ok, p, np.nan)


def _subtargets(tg: Targets, rows) -> Targets:
    return Targets(tg.kind[rows], tg.threshold[rows], tg.year[rows], tg.tolerance[rows],
                   tg.change[rows], tg.good[rows])


@dataclass
class TableArrays:
    """The forecast table as arrays: ``rows`` (the modelled series) × K years after each
    one's last observation (``valid``: up to its horizon)."""

    rows: np.ndarray
    years: np.ndarray
    valid: np.ndarray
    median: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray

    def frame(self) -> "pd.DataFrame":
        """Long table: series, year, median, mean, lo80, hi80, lo95, hi95 (valid cells)."""
        import pandas as pd

        sel = self.valid.reshape(-1)
        med = self.median.reshape(-1)[sel]
        K = self.years.shape[1]
        return pd.DataFrame({
            "series": np.repeat(self.rows, K)[sel],
            "year": self.years.reshape(-1)[sel].astype(np.int64),
            "median": med, "mean": med.copy(), "lo80": self.lo80.reshape(-1)[sel],
            "hi80": self.hi80.reshape(-1)[sel], "lo95": self.lo95.reshape(-1)[sel],
            "hi95": self.hi95.reshape(-1)[sel]}, copy=False)

    def at(self, rows: np.ndarray, year: np.ndarray):
        """(median, lo80, hi80) of series ``rows`` (all in the table) in ``year``."""
        pos = np.searchsorted(self.rows, rows)
        col = (np.asarray(year, float) - self.years[pos, 0]).astype(np.int64)
        return self.median[pos, col], self.lo80[pos, col], self.hi80[pos, col]


def table_arrays(batch: SeriesBatch, fits: Fits, modelled: np.ndarray,
                 horizon: np.ndarray) -> TableArrays:
    """Every modelled series' forecast in the years after its last observation up to the
    horizon (the rows of each ``forecast_series`` frame): the point forecast and the 80 %
    and 95 % intervals, computed for all series and years in one pass."""
    rows = np.nonzero(modelled)[0]
    x_last = _last(batch.x, batch.mask)[rows]
    hz = horizon[rows]
    K = int(max((hz - x_last).max(), 1)) if len(rows) else 1
    years = x_last[:, None] + np.arange(1, K + 1)[None, :]
    valid = years <= hz[:, None]
    F = _subfits(fits, rows)
    m, sd, k80, k95, _ = _predictive(F, years, x_last)
    mean = point(F, m)
    iv = intervals(F, m, sd, k80, k95, valid=valid)
    (lo80, hi80), (lo95, hi95) = iv[0.8], iv[0.95]
    return TableArrays(rows, years, valid, mean, lo80, hi80, lo95, hi95)


def forecast_table(batch: SeriesBatch, fits: Fits, modelled: np.ndarray,
                   horizon: np.ndarray, target_year: np.ndarray = None) -> "pd.DataFrame":
    """Long table: series, year, median, mean, lo80, hi80, lo95, hi95 — the years after
    the last observation up to the horizon (the rows of each ``forecast_series`` frame).
    ``median`` is the point forecast (the median of the predictive distribution);
    ``mean`` is the same numbers under its old name, kept as an alias for now."""
    return table_arrays(batch, fits, modelled, horizon).frame()


def _merge_per_series(res: BatchForecast, rows, fn, targets: Targets, eval_year, table):
    """Fill the series handed to the per-series path from its ``forecast_series`` frames."""
    import pandas as pd

    frames = []
    for i in rows:
        fc = fn(int(i))
        a = dict(fc.attrs)
        fc.attrs = {}
        res.model[i] = a.get("model", "none")
        res.scale[i] = a.get("scale", "")
        res.p_meet[i] = np.nan if a.get("p_meet") is None else a["p_meet"]
        res.aarr[i] = np.nan if a.get("aarr") is None else a["aarr"]
        res.annual_change[i] = np.nan if a.get("annual_change") is None else \
            a["annual_change"]
        ty = int(targets.year[i])
        hit = fc[fc["year"] == ty]
        if len(hit):
            res.target_mean[i] = float(hit["median"].iloc[0])
            res.target_lo80[i] = float(hit["lo80"].iloc[0])
            res.target_hi80[i] = float(hit["hi80"].iloc[0])
        if eval_year and res.eval_mean is not None:
            hit = fc[fc["year"] == int(eval_year)]
            if len(hit):
                res.eval_mean[i] = float(hit["median"].iloc[0])
        for k, v in (a.get("params") or {}).items():
            if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool):
                if k not in res.params:
                    res.params[k] = np.full(len(res.model), np.nan)
                res.params[k][i] = float(v)
        sel = a.get("selection") or {}
        if sel:
            res.scores["primary"][i] = np.nan
            res.scores.setdefault("all", {})[int(i)] = dict(sel)
        if table and len(fc):
            frames.append(fc.assign(series=int(i)))
    if table and frames:
        res.table = pd.concat([res.table] + [f[res.table.columns] for f in frames],
                              ignore_index=True).sort_values(["series", "year"],
                                                             kind="stable")


# =============================================================================== convenience
def forecast_series_many(years, values, *, unit, target=None, counts=None, exposures=None,
                         horizon_year: int = 2030, model: str = "auto",
                         direction=None, base_value=None, reference_value=None,
                         table: bool = False) -> BatchForecast:
    """:func:`~wuwei_analysis.models.forecast_series` for many series at once.

    ``years`` / ``values`` (and ``counts`` / ``exposures``, None or per-series sequences or
    None entries) are lists of per-series sequences; ``unit``, ``target`` (Target or None),
    ``direction``, ``base_value``, ``reference_value`` are one value for all series or a list
    (one per series). Series the engine does not vectorise are computed by
    ``forecast_series`` itself.
    """
    from ..models.core import resolve_spec
    from ..models.forecasting import forecast_series

    S = len(years)

    def each(v):
        return list(v) if isinstance(v, (list, tuple)) else [v] * S

    units, tgts, dirs = each(unit), each(target), each(direction)
    bases, refs = each(base_value), each(reference_value)
    cnts = [None] * S if counts is None else list(counts)
    exps = [None] * S if exposures is None else list(exposures)
    specs0 = [resolve_spec(units[i], has_counts=exps[i] is not None,
                           target_kind=tgts[i].kind if tgts[i] is not None else None,
                           direction=_dir(tgts[i], dirs[i])) for i in range(S)]
    batch = SeriesBatch.from_lists(years, values, cnts, exps,
                                   [sp.rate_scale for sp in specs0])
    primary = np.empty(S, object)
    scale = np.empty(S, object)
    rs = np.empty(S)
    thr = []
    for i in range(S):
        t = tgts[i]
        sp = resolve_spec(units[i], has_counts=bool(batch.use_counts[i]),
                          target_kind=t.kind if t is not None else None,
                          direction=_dir(t, dirs[i]))
        if not batch.use_counts[i] and specs0[i].primary != "poisson":
            sp = specs0[i]
        primary[i], scale[i], rs[i] = sp.primary, sp.scale.kind, sp.rate_scale
        b = bases[i]
        if t is not None and t.kind == "relative_change" and b is None:
            k = int(batch.n[i])
            hit = np.nonzero(batch.x[i, :k] == t.base_year)[0]
            b = float(batch.y[i, hit[0]]) if len(hit) else None
        thr.append(None if t is None else t.threshold(b, refs[i]))
    tg = Targets.from_targets(tgts, thr)

    def one(i):
        return forecast_series(years[i], values[i], unit=units[i], target=tgts[i],
                               counts=cnts[i], exposures=exps[i], horizon_year=horizon_year,
                               model=model, direction=dirs[i], base_value=bases[i],
                               reference_value=refs[i])

    return forecast_batch(batch, primary=primary, scale=scale, rate_scale=rs, targets=tg,
                          horizon_year=horizon_year, model=model, table=table,
                          per_series_fn=one)


def _dir(t, direction):
    if direction is not None:
        return direction
    if t is not None and t.lower_is_better is not None:
        return "down" if t.lower_is_better else "up"
    return None


# ============================================================================ local trend
# ARIMA(1,1,0) with drift for every row of a padded batch: :func:`fit_arima` is
# :func:`wuwei_analysis.models.local_trend.fit_arima` by conditional least squares on the
# modelling scale — the OLS of Δz_t on [1, Δz_{t−1}] is two sums per row. Rows that the
# per-series path refuses (fewer than ARIMA_MIN_POINTS points, a missing year, a log-scale
# series with a negative value or only zeros) are marked ``fail``.

def arima_predict(z_last, w, mu, a, s2, h) -> tuple[np.ndarray, np.ndarray]:
    """``local_trend.arima_forecast`` per row (arrays of rows; h: rows × k)."""
    a_ = a[:, None]
    ah = a_ ** h
    geo = a_ * (1.0 - ah) / (1.0 - a_)
    psi2 = (h - 2.0 * geo + a_ * a_ * (1.0 - ah * ah) / (1.0 - a_ * a_)) / (1.0 - a_) ** 2
    m = z_last[:, None] + h * mu[:, None] + w[:, None] * geo
    return m, np.sqrt(np.maximum(s2[:, None] * psi2, 0.0))


def fit_arima(x: np.ndarray, y: np.ndarray, M: np.ndarray, kind: str):
    """ARIMA(1,1,0) + drift for every row (points in M, on ``kind``'s scale) → Fits."""
    S = x.shape[0]
    n = M.sum(axis=1)
    z, fail = to_scale(kind, y, M)
    T = x.shape[1]
    D = M[:, 1:] & M[:, :-1]
    with np.errstate(invalid="ignore"):
        gaps = np.where(D, x[:, 1:] - x[:, :-1], 1.0)
        dz = np.where(D, z[:, 1:] - z[:, :-1], 0.0)
    fail = fail | (n < _lt.ARIMA_MIN_POINTS) | (gaps != 1.0).any(axis=1)
    # regression rows: Δz at positions 1..n−2 (d1) on Δz at 0..n−3 (d0)
    R = (np.arange(T - 2)[None, :] < (n - 2)[:, None]) if T > 2 else np.zeros((S, 0), bool)
    d0, d1 = dz[:, :-1], dz[:, 1:]
    k = np.maximum(R.sum(axis=1), 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m0 = np.where(R, d0, 0.0).sum(axis=1) / k
        m1 = np.where(R, d1, 0.0).sum(axis=1) / k
        c0 = np.where(R, d0 - m0[:, None], 0.0)
        sxx = (c0 * c0).sum(axis=1)
        sxy = (c0 * np.where(R, d1 - m1[:, None], 0.0)).sum(axis=1)
        first = d0[:, :1] if d0.shape[1] else np.zeros((S, 1))
        flat = np.where(R, np.abs(d0 - first) <= _lt.FLAT_TOL * (1.0 + np.abs(first)),
                        True).all(axis=1)
        a = np.where(flat, 0.0, sxy / np.where(sxx > 0, sxx, 1.0))
    a = np.clip(np.where(np.isfinite(a), a, 0.0), _lt.AR_MIN, _lt.AR_MAX)
    with np.errstate(invalid="ignore"):
        mu = np.where(R, d1 - a[:, None] * d0, 0.0).sum(axis=1) / k / (1.0 - a)
        r = np.where(R, d1 - mu[:, None] * (1.0 - a[:, None]) - a[:, None] * d0, 0.0)
    dfree = np.maximum(k - 2, 1)
    s2 = (r * r).sum(axis=1) / dfree
    z0 = z[:, :1]
    const = np.where(M, z == z0, True).all(axis=1)
    mu = np.where(const, 0.0, mu)
    s2 = np.where(const, 0.0, s2)
    z_last = _last(z, M)
    x_last = _last(x, M)
    last_change = dz[np.arange(S), np.maximum(n - 2, 0)] if T > 1 else np.zeros(S)
    w = last_change - mu
    b = _ols_slope(x, z, M)[0]
    u = np.maximum(np.abs(np.where(np.isfinite(b), b, 0.0)), _floor(kind, y, M))
    f = Fits(model=_objs(S, "arima"), kind=_objs(S, kind), A=z_last,
             B=mu, C=x_last, V0=np.zeros(S), V1=np.zeros(S), V2=np.zeros(S),
             df=dfree.astype(np.int64), u=u, slope=mu + w * a, x_last=x_last,
             fitted_last=_inv(kind, z_last), fail=fail, count=np.zeros(S, bool), phi=np.ones(S),
             e_future=np.full(S, np.nan), rate_scale=np.ones(S), ar=a, ar_w=w, ar_s2=s2)
    f.params = {"drift": mu, "ar": a, "last_change": last_change, "resid_sd": np.sqrt(s2)}
    return f


# ============================================================================ pooled trend
# The pooled trend (:mod:`wuwei_analysis.models.pooled_trend`) for every row: the span
# slopes and the ARIMA(1,1,0) bend of each row, combined with the weights fitted across the
# calibration pool (one (H_MAX × features) table per scale kind).

def pooled_features(x: np.ndarray, y: np.ndarray, M: np.ndarray, kind: str,
                    ar: Fits | None = None):
    """(slopes rows × len(SPANS), ARIMA changes rows × H_MAX, mean |Δz|, z, fail, Δz, pairs
    of consecutive points, the ARIMA fits) per row; ``fail`` as for the ARIMA fit (too
    short, a missing year, not on the scale). ``ar``: the rows' ARIMA fits if already made."""
    S = x.shape[0]
    n = M.sum(axis=1)
    ar = fit_arima(x, y, M, kind) if ar is None else ar
    z, _ = to_scale(kind, y, M)
    fail = ar.fail | (n < _pt.POOLED_MIN_POINTS)
    rows = np.arange(S)
    last = np.maximum(n - 1, 0)
    z_last = z[rows, last]
    slopes = np.empty((S, len(_pt.SPANS)))
    for j, k in enumerate(_pt.SPANS):
        kk = np.maximum(np.minimum(k, n - 1), 1)
        slopes[:, j] = (z_last - z[rows, np.maximum(last - kk, 0)]) / kk
    h = np.arange(1, _pt.H_MAX + 1, dtype=float)[None, :].repeat(S, axis=0)
    with np.errstate(invalid="ignore"):
        change = arima_predict(np.zeros(S), ar.ar_w, ar.B, ar.ar, np.zeros(S), h)[0]
        D = M[:, 1:] & M[:, :-1]
        dz = np.where(D, z[:, 1:] - z[:, :-1], 0.0)
        nd = np.maximum(D.sum(axis=1), 1)
        scale = np.abs(dz).sum(axis=1) / nd
    return slopes, change, scale, z, fail, dz, D, ar


def pooled_path_at(path: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``local_trend.path_at`` per row (path rows × H_MAX, d rows × k)."""
    H = _pt.H_MAX
    bad = ~np.isfinite(d)
    d = np.maximum(np.where(bad, 0.0, d), 0.0)
    full = np.concatenate([np.zeros((len(path), 1)), path], axis=1)
    dc = np.minimum(d, float(H))
    lo = np.minimum(np.floor(dc).astype(np.int64), H - 1)
    frac = dc - lo
    a = np.take_along_axis(full, lo, axis=1)
    b = np.take_along_axis(full, lo + 1, axis=1)
    step = full[:, H] - full[:, H - 1]
    return np.where(bad, np.nan, a + frac * (b - a) + np.maximum(d - H, 0.0) * step[:, None])


def _path_fits(model: str, kind: str, x, y, z, M, path, s2, fail, dof) -> "Fits":
    """Fits of a model forecast as a path of changes from the last value (pooled trend,
    ARIMA(2,1,0)): a constant series stays flat, a failed fit has no path; variance
    ``s2`` per year ahead, ``dof`` residual degrees of freedom."""
    S = len(z)
    const = np.where(M, z == z[:, :1], True).all(axis=1)
    path = np.where(const[:, None], 0.0, path)
    path = np.where(fail[:, None], np.nan, path)
    s2 = np.where(const, 0.0, s2)
    z_last, x_last = _last(z, M), _last(x, M)
    b = _ols_slope(x, z, M)[0]
    u = np.maximum(np.abs(np.where(np.isfinite(b), b, 0.0)), _floor(kind, y, M))
    return Fits(model=np.full(S, model, object), kind=np.full(S, kind, object), A=z_last,
                B=path[:, 0], C=x_last, V0=np.zeros(S), V1=s2, V2=np.zeros(S),
                df=np.maximum(dof, 1).astype(np.int64), u=u, slope=path[:, 0], x_last=x_last,
                fitted_last=_inv(kind, z_last), fail=fail, count=np.zeros(S, bool),
                phi=np.ones(S), e_future=np.full(S, np.nan), rate_scale=np.ones(S), path=path)


def fit_pooled(x: np.ndarray, y: np.ndarray, M: np.ndarray, kind: str,
               weights: np.ndarray | None = None, ar: Fits | None = None) -> Fits:
    """The pooled trend for every row (points in M, on ``kind``'s scale) → Fits; rows fail
    where the ARIMA fit does, or when no weights are shipped for ``kind``."""
    S = x.shape[0]
    W = _pt.WEIGHTS.get(kind) if weights is None else np.asarray(weights, float)
    slopes, change, _, z, fail, dz, D, ar = pooled_features(x, y, M, kind, ar)
    if W is None:
        fail = np.ones(S, bool)
        W = np.zeros((_pt.H_MAX, _pt.N_FEATURES))
    n = M.sum(axis=1)
    h = np.arange(1, _pt.H_MAX + 1, dtype=float)
    path = h[None, :] * ((W[None, :, :len(_pt.SPANS)] * slopes[:, None, :]).sum(axis=2)
                         + W[None, :, -1] * change / h[None, :])
    # the change stays within the range of the local forecasts (the last value, the ARIMA's
    # and each span slope carried on): weights learned on the pool never extrapolate further
    local = np.concatenate([np.zeros((S, _pt.H_MAX, 1)), change[:, :, None],
                            h[None, :, None] * slopes[:, None, :]], axis=2)
    path = np.clip(path, local.min(axis=2), local.max(axis=2))
    nd = D.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mdz = np.where(D, dz, 0.0).sum(axis=1) / np.maximum(nd, 1)
        s2 = np.where(nd > 1, np.where(D, (dz - mdz[:, None]) ** 2, 0.0).sum(axis=1)
                      / np.maximum(nd - 1, 1), 0.0)
    f = _path_fits("pooled", kind, x, y, z, M, path, s2, fail, n - 2)
    path, s2 = f.path, f.V1
    f.params = {"change_1y": path[:, 0], f"change_{_pt.H_MAX}y": path[:, -1], "ar": ar.ar,
                "drift": ar.B, "resid_sd": np.sqrt(s2)}
    for j, k in enumerate(_pt.SPANS):
        f.params[f"slope_{k}y"] = slopes[:, j]
    return f


# ============================================================================ ARIMA(2,1,0)
# ARIMA(2,1,0) with drift for every row: the yearly change follows an AR(2) around a drift
# μ, by conditional least squares (OLS of Δz_t on [1, Δz_{t−1}, Δz_{t−2}]) — a trend whose
# change can bend and settle (the AR(2)-on-differences curves AutoARIMA picks for smooth
# series; :func:`wuwei_analysis.models.local_trend.fit_arima2` per series). Rows too short
# (< ARIMA2_MIN_POINTS), without variation in the changes or with a non-stationary / too
# persistent AR part (a1 + a2 > ARIMA2_AR_MAX, |a2| ≥ 1, a2 − a1 ≥ 1) fall back to the ARIMA(1,1,0) of :func:`fit_arima`. The forecast is a path of changes
# (like the pooled trend's: ``Fits.path``), the model sd that of a random walk with the
# innovation variance (the intervals are calibrated per family anyway).


def arima2_params(x: np.ndarray, y: np.ndarray, M: np.ndarray, kind: str):
    """(a1, a2, μ, σ², ok) per row by CLS; ok False where the row falls back."""
    S, T = x.shape
    n = M.sum(axis=1)
    z, fail = to_scale(kind, y, M)
    D = M[:, 1:] & M[:, :-1]
    with np.errstate(invalid="ignore"):
        dz = np.where(D, z[:, 1:] - z[:, :-1], 0.0)
    if T < 4:
        nan = np.full(S, np.nan)
        return nan, nan, nan, nan, np.zeros(S, bool)
    R = np.arange(T - 3)[None, :] < (n - 3)[:, None]
    l2, l1, yv = dz[:, :-2], dz[:, 1:-1], dz[:, 2:]
    k = np.maximum(R.sum(axis=1), 1).astype(float)

    def cen(v):
        m = np.where(R, v, 0.0).sum(axis=1) / k
        return np.where(R, v - m[:, None], 0.0), m

    c1, m1 = cen(l1)
    c2, m2 = cen(l2)
    cy, my = cen(yv)
    s11, s22, s12 = (c1 * c1).sum(1), (c2 * c2).sum(1), (c1 * c2).sum(1)
    s1y, s2y = (c1 * cy).sum(1), (c2 * cy).sum(1)
    det = s11 * s22 - s12 * s12
    tol = _lt.COLLINEAR_TOL
    q1 = np.where(R, l1 * l1, 0.0).sum(1)
    q2 = np.where(R, l2 * l2, 0.0).sum(1)
    varies = (s11 > tol * q1) & (s22 > tol * q2) & (det > tol * s11 * s22)
    with np.errstate(invalid="ignore", divide="ignore"):
        a1 = (s22 * s1y - s12 * s2y) / det
        a2 = (s11 * s2y - s12 * s1y) / det
        c = my - a1 * m1 - a2 * m2
        mu = c / (1.0 - a1 - a2)
        r = np.where(R, yv - c[:, None] - a1[:, None] * l1 - a2[:, None] * l2, 0.0)
    s2 = (r * r).sum(axis=1) / np.maximum(k - 3, 1)
    first = dz[:, :1]
    flat = np.where(D, np.abs(dz - first) <= _lt.FLAT_TOL * (1.0 + np.abs(first)),
                    True).all(axis=1)
    with np.errstate(invalid="ignore"):
        ok = (~fail & ~flat & (n >= _lt.ARIMA2_MIN_POINTS) & _yearly(x, M) & varies
              & np.isfinite(a1) & np.isfinite(a2) & (a1 + a2 <= _lt.ARIMA2_AR_MAX)
              & (np.abs(a2) < 1.0) & (a2 - a1 < 1.0))
    return a1, a2, mu, s2, ok


def fit_arima2(x: np.ndarray, y: np.ndarray, M: np.ndarray, kind: str,
               ar: Fits | None = None) -> Fits:
    """ARIMA(2,1,0) + drift for every row (points in M, on ``kind``'s scale) → Fits; rows
    that cannot take it carry the ARIMA(1,1,0) path (``ar``: those fits if already made)."""
    S = x.shape[0]
    n = M.sum(axis=1)
    ar = fit_arima(x, y, M, kind) if ar is None else ar
    a1, a2, mu, s2, ok = arima2_params(x, y, M, kind)
    z, _ = to_scale(kind, y, M)
    H = _pt.H_MAX
    h = np.arange(1, H + 1, dtype=float)[None, :].repeat(S, axis=0)
    with np.errstate(invalid="ignore"):
        path = arima_predict(np.zeros(S), ar.ar_w, ar.B, ar.ar, np.zeros(S), h)[0]
    rows = np.arange(S)
    if ok.any() and x.shape[1] >= 3:
        last = np.maximum(n - 1, 2)
        e1 = z[rows, last] - z[rows, last - 1] - mu
        e0 = z[rows, last - 1] - z[rows, last - 2] - mu
        cum = np.zeros(S)
        p2 = np.empty((S, H))
        with np.errstate(invalid="ignore"):
            for j in range(H):
                e1, e0 = a1 * e1 + a2 * e0, e1
                cum = cum + mu + e1
                p2[:, j] = cum
        path = np.where(ok[:, None], p2, path)
    s2 = np.where(ok, s2, ar.ar_s2)
    f = _path_fits("arima2", kind, x, y, z, M, path, s2, ar.fail, n - 3)
    path, s2 = f.path, f.V1
    f.params = {"ar1": np.where(ok, a1, ar.ar), "ar2": np.where(ok, a2, 0.0),
                "drift": np.where(ok, mu, ar.B), "resid_sd": np.sqrt(s2),
                "change_1y": path[:, 0]}
    return f


# =============================================================================== curve model
def fit_curve(x: np.ndarray, y: np.ndarray, M: np.ndarray, kind: str) -> Fits:
    """The curve model (ARIMA(1,2,0), coefficient fixed at ``local_trend.CURVE_PHI``) for
    every row (points in M, on ``kind``'s scale) → Fits (:func:`.local_trend.fit_curve`);
    rows that are not yearly or shorter than CURVE_MIN_POINTS fail."""
    S = x.shape[0]
    n = M.sum(axis=1)
    z, fail = to_scale(kind, y, M)
    fail = fail | ~_yearly(x, M) | (n < _lt.CURVE_MIN_POINTS)
    rows = np.arange(S)
    phi = _lt.CURVE_PHI
    path = np.full((S, _pt.H_MAX), np.nan)
    s2 = np.zeros(S)
    change = bend = np.full(S, np.nan)
    if x.shape[1] >= 3:
        last = np.clip(n - 1, 2, x.shape[1] - 1)
        with np.errstate(invalid="ignore"):
            change = z[rows, last] - z[rows, last - 1]
            bend = change - (z[rows, last - 1] - z[rows, last - 2])
            k = np.arange(1, _pt.H_MAX + 1, dtype=float)
            slope_k = change[:, None] + bend[:, None] * (phi * (1.0 - phi ** k) / (1.0 - phi))
            path = np.cumsum(slope_k, axis=1)
            # residuals of the recursion Δ²z_t − φ Δ²z_{t−1} over each row's own points
            d2 = np.diff(np.where(M, z, np.nan), n=2, axis=1)
            r = d2[:, 1:] - phi * d2[:, :-1]
            okr = np.isfinite(r)
            cnt = okr.sum(axis=1)
            s2 = np.where(okr, r * r, 0.0).sum(axis=1) / np.maximum(cnt, 1)
    f = _path_fits("curve", kind, x, y, z, M, path, s2, fail, n - 3)
    f.params = {"phi": np.full(S, phi), "last_change": change, "bend": bend,
                "resid_sd": np.sqrt(f.V1), "change_1y": f.path[:, 0]}
    return f
