"""Local-trend models for many series at once (closed form, numpy).

:func:`fit_arima` is :func:`wuwei_analysis.models.local_trend.fit_arima` — ARIMA(1,1,0) with
drift by conditional least squares on the modelling scale — for every row of a padded batch:
the OLS of Δz_t on [1, Δz_{t−1}] is two sums per row, so a million series cost what a few
array passes cost. Rows that the per-series path refuses (fewer than ARIMA_MIN_POINTS points,
a missing year, a log-scale series with a negative value or only zeros) are marked ``fail``.
"""
from __future__ import annotations

import numpy as np

from ..models import local_trend as _lt


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
    from .batch import Fits, _floor, _inv, _last, _ols_slope, to_scale

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
    f = Fits(model=np.full(S, "arima", object), kind=np.full(S, kind, object), A=z_last,
             B=mu, C=x_last, V0=np.zeros(S), V1=np.zeros(S), V2=np.zeros(S),
             df=dfree.astype(np.int64), u=u, slope=mu + w * a, x_last=x_last,
             fitted_last=_inv(kind, z_last), fail=fail, count=np.zeros(S, bool), phi=np.ones(S),
             e_future=np.full(S, np.nan), rate_scale=np.ones(S), ar=a, ar_w=w, ar_s2=s2)
    f.params = {"drift": mu, "ar": a, "last_change": last_change, "resid_sd": np.sqrt(s2)}
    return f
