"""The pooled trend (跨国经验趋势): a local trend whose weights were learned across many series.

Every other model is fitted on the series alone. This one has no per-series parameters of
its own: it combines summaries of the series' recent history with weights fitted once
across the real calibration pool (19 indicators × 120–196 countries, see
``data/calibration/pooled_trend.yaml``), separately for each scale kind (log / logit /
identity / share) and each horizon h = 1…H_MAX years::

    z_{T+h} − z_T = h · Σ_k β[kind, h, k] · f_k(h)

with the features, all on the modelling scale and all per year:

    s1, s3, s5, s10   mean yearly change over the last 1, 3, 5, 10 years (a series with
                      fewer years uses all it has: with 8 points, "s10" is the 7-year mean)
    arima(h)          the mean yearly change the ARIMA(1,1,0)+drift fit (:mod:`.local_trend`)
                      forecasts over the h years

So it is a learned damping and slope weighting: the pool decides how much of the latest
change, of the recent and long-run mean changes and of the ARIMA bend carries on h years
ahead. The weights are fitted by least absolute deviations on errors divided by each
series' recent pace (:func:`fit_scale`; so no series dominates by its units), and the
forecast is homogeneous: a constant series stays constant, a series twice as steep gets
twice the change. Beyond H_MAX years the change per year of the last step carries on.

The series must be yearly without gaps with at least POOLED_MIN_POINTS points (as the
ARIMA fit it uses). The textbook sd is that of a random walk with the series' own yearly
noise: sd(h)² = h · var(Δz); honest widths come from the pool calibration
(:mod:`.calibrate`) like for every model.

In ``model="auto"`` it is a candidate next to the ARIMA (rule 4 of :mod:`.core`): a series'
own rolling origins decide, since the pool's series are smooth national estimates and a
county series may be noisy (the pool cannot teach what it does not contain).

The vectorised engine computes the same for many series at once
(:func:`wuwei_analysis.engine.vector_models.fit_pooled`); ``tests/test_pooled_trend.py`` checks
the two agree to 1e-8. ``benchmarks/peer_benchmark.py --calibrate`` refits the weights
(:func:`fit_weights`) and writes the YAML.
"""
from __future__ import annotations

import math

import numpy as np

from .fit import Fit, ForecastError, Scale, _check_xy, to_model_scale
from .local_trend import ARIMA_MIN_POINTS, arima_forecast, fit_arima, path_predictor, yearly

#: Spans (years) of the mean yearly changes used as features.
SPANS = (1, 3, 5, 10)
#: Horizons with their own weights (beyond: the last step's change per year carries on).
H_MAX = 5
N_FEATURES = len(SPANS) + 1
POOLED_MIN_POINTS = ARIMA_MIN_POINTS
KINDS = ("log", "logit", "identity", "share")
WEIGHTS_FILE = "calibration/pooled_trend.yaml"
#: kind → (H_MAX × N_FEATURES) weights (a kind without weights has no pooled trend).
WEIGHTS: dict[str, np.ndarray] = {}


def _load_weights() -> None:
    from .calibrate import _shipped_yaml

    table = _shipped_yaml(WEIGHTS_FILE)       # shipped with the package: missing is an error
    WEIGHTS.clear()
    for kind, w in (table.get("weights") or {}).items():
        WEIGHTS[str(kind)] = np.asarray(w, float).reshape(H_MAX, N_FEATURES)


def available(kind: str) -> bool:
    return kind in WEIGHTS


def span_slopes(z: np.ndarray) -> np.ndarray:
    """s1, s3, s5, s10 of one yearly series (a span longer than the series: all of it)."""
    n = len(z)
    out = []
    for k in SPANS:
        kk = min(k, n - 1)
        out.append((z[-1] - z[-1 - kk]) / kk)
    return np.array(out)


def path_from_features(W: np.ndarray, slopes: np.ndarray, arima_change: np.ndarray
                       ) -> np.ndarray:
    """Changes z_{T+h} − z_T for h = 1…H_MAX (``arima_change``: the ARIMA's, per h)."""
    h = np.arange(1, H_MAX + 1, dtype=float)
    F = np.column_stack([np.tile(slopes, (H_MAX, 1)), arima_change / h])
    local = np.column_stack([np.zeros(H_MAX), arima_change, h[:, None] * slopes[None, :]])
    return np.clip(h * (W * F).sum(axis=1), local.min(axis=1), local.max(axis=1))


def fit_pooled(years, values, scale: Scale, *, notes: list[str] | None = None,
               weights: np.ndarray | None = None) -> Fit:
    """The pooled trend of one series (weights: the shipped ones of its scale kind)."""
    x, y = _check_xy(years, values)
    notes = [] if notes is None else notes
    W = WEIGHTS.get(scale.kind) if weights is None else np.asarray(weights, float)
    if W is None:
        raise ForecastError("跨国经验趋势的权重未随软件提供")
    if len(x) < POOLED_MIN_POINTS:
        raise ForecastError(f"跨国经验趋势至少需要{POOLED_MIN_POINTS}年数据")
    if not yearly(x):
        raise ForecastError("跨国经验趋势需要逐年连续的数据")
    z = to_model_scale(scale, y, notes)
    ar = fit_arima(x, y, scale)
    a, mu, w = ar.params["ar"], ar.params["drift"], ar.params["last_change"] - ar.params["drift"]
    h = np.arange(1, H_MAX + 1, dtype=float)
    ar_change = arima_forecast(0.0, w, mu, a, 0.0, h)[0]
    slopes = span_slopes(z)
    path = path_from_features(W, slopes, ar_change)
    dz = np.diff(z)
    s2 = float(np.var(dz, ddof=1)) if len(dz) > 1 else 0.0
    if np.all(z == z[0]):
        path, s2 = np.zeros(H_MAX), 0.0
    z_last, x_last = float(z[-1]), float(x[-1])
    predict = path_predictor(z_last, x_last, path, s2)

    params = {"change_1y": float(path[0]), f"change_{H_MAX}y": float(path[-1]),
              "ar": a, "drift": mu, "resid_sd": math.sqrt(s2)}
    for k, s in zip(SPANS, slopes):
        params[f"slope_{k}y"] = float(s)
    return Fit(model="pooled", scale=scale, years=x, values=y, z=z, zfit=z.copy(),
               params=params, slope=float(path[0]), df=max(len(x) - 2, 1), predict_fn=predict,
               notes=notes)


# ----------------------------------------------------------------------------- fitting
#: Shrinkage of the weights towards the ARIMA alone (weights 0, 0, 0, 0, 1), relative to the
#: scale of the normal equations. On the pool (country folds), with the pooled trend in
#: place of every trend the auto rule kept, 0.003–0.03 forecast alike and clearly better
#: than a ridge towards 0 (relative MASE 0.596 against 0.611), and most of all with weights
#: fitted on past outcomes only (0.604 against 0.648). With errors scaled by the recent pace
#: (:func:`fit_scale`; auto candidate, country folds) 0.001 against 0.01: relative MASE 0.608
#: both, geometric mean over series of the MAE relative to the last value 0.268 against
#: 0.271, median 0.348 against 0.357 (0.1: 0.611 / 0.277 / 0.360; 0.0001: 0.607 / 0.267 /
#: 0.338, kept at 0.001 for weights fitted on fewer rows).
SHRINK = 0.001
PRIOR = np.r_[np.zeros(len(SPANS)), 1.0]


#: Floor of the fitting scale (:func:`fit_scale`), as a share of the series' mean |Δz|.
FIT_SCALE_FLOOR = 0.1


def fit_scale(slopes: np.ndarray, mean_abs_change: np.ndarray) -> np.ndarray:
    """The scale each training error is divided by: the series' recent pace, the mean of
    |s1| and |s3| (at least FIT_SCALE_FLOOR × its mean |Δz| over all years).

    With the mean |Δz| of all years, a decline that has slowed (most of the pool's smooth
    series) had a large scale and so little weight: the weights were those of the series
    with big errors. On the pool (country folds) the recent pace lowered the geometric
    mean over series × origin of the MAE relative to the last value from 0.279 to 0.271
    and the relative MASE from 0.610 to 0.608 (``benchmarks/peer_benchmark.py``)."""
    slopes = np.asarray(slopes, float).reshape(-1, len(SPANS))
    recent = 0.5 * (np.abs(slopes[:, SPANS.index(1)]) + np.abs(slopes[:, SPANS.index(3)]))
    return np.maximum(recent, FIT_SCALE_FLOOR * np.asarray(mean_abs_change, float))


def fit_weights(F: np.ndarray, change: np.ndarray, h: int, scale: np.ndarray,
                iters: int = 50, shrink: float = SHRINK) -> np.ndarray:
    """Weights for horizon ``h`` of one scale kind, by least absolute deviations.

    F: rows × N_FEATURES features (per year; the ARIMA one for this h), change: observed
    z_{T+h} − z_T, scale: each row's :func:`fit_scale` (errors are divided by it).
    IRLS, shrunk towards PRIOR (the ARIMA forecast) by ``shrink``."""
    X = F * h / scale[:, None]
    t = change / scale
    ok = np.isfinite(X).all(axis=1) & np.isfinite(t)
    X, t = X[ok], t[ok]
    w = np.ones(len(t))
    b = np.zeros(X.shape[1])
    for _ in range(iters):
        A = (X * w[:, None]).T @ X
        lam = shrink * np.trace(A) / len(A)
        A += lam * np.eye(len(A))
        b_new = np.linalg.solve(A, (X * w[:, None]).T @ t + lam * PRIOR)
        r = np.abs(t - X @ b_new)
        w = 1.0 / np.maximum(r, 1e-6)
        if np.max(np.abs(b_new - b)) < 1e-10:
            b = b_new
            break
        b = b_new
    return b


_load_weights()
