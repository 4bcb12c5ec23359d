"""Honest forecast intervals: textbook intervals widened by a calibrated trend-drift term.

Why
    Published series are often smoothed estimates: their year-to-year noise around a trend is
    tiny, so a textbook interval (parameter uncertainty + residual noise) is very narrow —
    yet the trend itself bends. On the national series such intervals cover about a third of
    later outcomes instead of 80 %.

What
    On the modelling scale (log, logit or identity; see :mod:`.fit`) the predictive standard
    deviation h years ahead is::

        sd(h)² = s_model(h)² · infl(df)  +  (c · u · h)²

    * ``s_model(h)`` — the model's own (textbook) sd of a new observation; ``infl(df)``
      = (t₀.₉,df / z₀.₉)² keeps the small-sample t width of that part;
    * ``u`` — the series' own pace: |OLS slope of the modelling-scale values per year| over
      the fitted years, at least ``U_FLOOR`` of the scale (a flat series still may drift);
    * ``c`` — how much the pace may change, as a fraction of itself per year ahead, pooled
      over series of the same kind by maximum likelihood on rolling-origin errors.

    The 80 % and 95 % intervals are ``m ± k80·sd`` and ``m ± k95·sd``, where k80 and k95 are
    the empirical 80 % / 95 % quantiles of |error| / sd in the same rolling-origin pool
    (never below the normal values 1.2816 / 1.9600). p_meet uses a Student t shaped to pass
    through both: a t with ν degrees of freedom chosen so t₀.₉₇₅/t₀.₉ = k95/k80, scaled so its
    0.9 quantile is k80·sd.

    Constants below come from ``benchmarks/backtest_national.py`` (rolling origin, training
    ≥ 4 points, horizons 1–6, on the real national series of ``data/public``); that script
    recomputes them and checks them by leave-one-series-out. For count models (Poisson) the
    log-scale constants apply to the log-rate, and Poisson (or negative-binomial) count noise
    at the expected denominator is added exactly: the future count's distribution (a normal
    log-rate mixed with the count noise) is computed by quadrature in :mod:`.count_dist`,
    deterministic and the same for one series or a million (it replaced an 8,000-draw
    simulation, whose Monte-Carlo error in a probability was about 0.005).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .fit import BOUNDED_SCALES, LEVEL_SCALES, LOGIT_EPS, Fit

Z80 = 1.2815515655446004
Z95 = 1.959963984540054
#: Smallest pace u (per year, on the modelling scale): 1 % a year on log and logit scales;
#: on the identity scale 1 % of the series' mean absolute level a year.
U_FLOOR = {"log": 0.01, "logit": 0.01, "identity": 0.01, "share": 0.01}

#: Calibration constants per model: c (drift of the pace per year ahead, as a fraction of
#: the pace), k80 and k95 (interval multipliers), n (rolling-origin errors they rest on).
#: Regenerate with ``python benchmarks/backtest_national.py --calibrate``.
CALIBRATION: dict[str, dict[str, float]] = {
    "loglinear": {"c": 0.2952, "k80": 1.136, "k95": 1.8747, "n": 146},
    "logit": {"c": 0.4453, "k80": 1.2816, "k95": 1.96, "n": 35},
    # too few linear series: c and k pooled over all trend models (n = pooled errors)
    "linear": {"c": 0.3191, "k80": 1.068, "k95": 1.8952, "n": 184},
    "damped": {"c": 0.1189, "k80": 1.1264, "k95": 2.161, "n": 138},
    "naive": {"c": 0.3378, "k80": 1.0122, "k95": 1.31, "n": 184},
    "arima": {"c": 0.3378, "k80": 1.0122, "k95": 1.31, "n": 0},
    # placeholder: the pooled trend exists only with the pool's constants (intervals.yaml)
    "pooled": {"c": 0.3378, "k80": 1.0122, "k95": 1.31, "n": 0},
    "arima2": {"c": 0.3378, "k80": 1.0122, "k95": 1.31, "n": 0},
    "curve": {"c": 0.3378, "k80": 1.0122, "k95": 1.31, "n": 0},
}
# Poisson models (county counts) keep the national log-linear constants for the log-rate:
# the pool has no counts, and its smoothed national estimates have no count noise.
CALIBRATION["poisson"] = dict(CALIBRATION["loglinear"])
CALIBRATION_KEY = {"quasi_poisson": "poisson"}
#: Where the constants fitted on the real calibration pool are shipped (they replace the
#: national ones above for the families they cover; ``benchmarks/peer_benchmark.py
#: --calibrate`` rebuilds the file, whose header cites the pool's source).
POOL_CONSTANTS = "calibration/intervals.yaml"


def _shipped_yaml(name: str) -> dict:
    """A YAML file shipped in ``wuwei_analysis/data`` (the package's calibration data)."""
    from importlib import resources

    import yaml

    text = resources.files("wuwei_analysis.data").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def _load_pool_constants() -> None:
    for name in [k for k in CALIBRATION if "@" in k]:    # only the file's share-scale keys
        del CALIBRATION[name]
    for name, cst in _shipped_yaml(POOL_CONSTANTS).items():
        CALIBRATION[str(name)] = {k: (list(map(float, v)) if isinstance(v, list) else float(v))
                                  for k, v in cst.items()}


_load_pool_constants()


#: The p_meet recalibration map (``benchmarks/peer_benchmark.py --calibrate`` rebuilds it):
#: per key (the model family, or ``bound`` for a share whose forecast sits at 0 / 100 %),
#: knots (p, observed frequency) of a monotone piecewise-linear map from 0 to 1, fitted on the
#: pool's 5-year-ahead thresholds. A key without a map (count models, small whole numbers)
#: keeps its p.
P_MEET_MAP_FILE = "calibration/p_meet.yaml"
P_MEET_MAP: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _load_p_meet_map() -> None:
    for name, kn in _shipped_yaml(P_MEET_MAP_FILE).items():
        P_MEET_MAP[str(name)] = (np.asarray(kn["p"], float), np.asarray(kn["freq"], float))


_load_p_meet_map()


def p_meet_key(model, kind, point, count, whole, threshold, met_now) -> np.ndarray:
    """Per row: the key of the p_meet map (``""``: none). ``bound``: a share whose forecast
    for the target year is 0 / 100 % with the threshold at that bound (will it stay
    there?); none for count models, small whole numbers and a threshold the latest value
    already meets (the pool measured thresholds still to reach); else the model family."""
    model = np.asarray(model, object)
    point, thr = np.asarray(point, float), np.asarray(threshold, float)
    eps = 100.0 * LOGIT_EPS
    with np.errstate(invalid="ignore"):
        at_bound = np.isin(np.asarray(kind, object), BOUNDED_SCALES) & (
            ((point == 100.0) & (thr >= 100.0 - eps)) | ((point == 0.0) & (thr <= eps)))
    none = np.asarray(count, bool) | np.asarray(whole, bool) | np.asarray(met_now, bool)
    return np.where(at_bound, "bound", np.where(none, "", model)).astype(object)


def recalibrate_p(p, key) -> np.ndarray:
    """p_meet through the pool's monotone recalibration map of its key (NaN stays NaN; 0 and
    1, decided by the data or the bounds, stay)."""
    p = np.array(p, float, ndmin=1)
    key = np.asarray(key, object).reshape(p.shape)
    out = p.copy()
    for k, (kx, ky) in P_MEET_MAP.items():
        sel = (key == k) & np.isfinite(p) & (p > 0.0) & (p < 1.0)
        if sel.any():
            out[sel] = np.interp(p[sel], kx, ky)
    return out


def constants(model: str, kind: str | None = None) -> dict[str, float]:
    """The interval constants of a model family; on the share scale its own where the pool
    gave them (``family@share``: a percentage in percentage points errs unlike one on the
    logit scale), else the family's."""
    key = CALIBRATION_KEY.get(model, model)
    if kind == "share" and f"{key}@share" in CALIBRATION:
        return CALIBRATION[f"{key}@share"]
    return CALIBRATION[key]


def share_floor(sd, s_textbook, k80) -> np.ndarray:
    """On the share scale the calibrated 80 % interval is never narrower than the model's own
    textbook one (normal, ± Z80 · s): the pool's share-scale constants come from published
    estimates that move in near-exact straight lines, and a noisy county percentage must
    not inherit their narrowness (``benchmarks/peer_benchmark.py``, EXACT_NOISE)."""
    return np.maximum(sd, Z80 * np.asarray(s_textbook, float) / np.asarray(k80, float))


def horizon_factor(cst: dict, h) -> np.ndarray:
    """The family's factor on the sd ``h`` years ahead (1 where the constants have none;
    beyond the last calibrated horizon the last factor)."""
    h = np.asarray(h, float)
    g = cst.get("horizon")
    if not g:
        return np.ones_like(h)
    g = np.asarray(g, float)
    idx = np.clip(np.round(h).astype(int), 1, len(g)) - 1
    return g[idx]


def pace(fit: Fit) -> float:
    """u: the series' pace per year on the modelling scale (floored, see U_FLOOR)."""
    x, z = fit.years, fit.z
    if fit.is_count_model:
        b = abs(float(fit.params.get("slope", 0.0)))
    elif len(x) >= 2 and x[-1] > x[0]:
        xc = x - x.mean()
        b = abs(float((xc * (z - z.mean())).sum() / (xc ** 2).sum()))
    else:
        b = 0.0
    floor = U_FLOOR[fit.scale.kind]
    if fit.scale.kind in LEVEL_SCALES:
        floor = floor * max(float(np.mean(np.abs(fit.values))), 1e-9)
    return max(b, floor)


@lru_cache(maxsize=256)
def _tq90(nu: float) -> float:
    from scipy import special

    return float(special.stdtrit(nu, 0.9))


@lru_cache(maxsize=64)
def t_infl(df: int) -> float:
    from scipy import stats

    return (float(stats.t.ppf(0.9, df)) / Z80) ** 2


@lru_cache(maxsize=64)
def shape_nu(k80: float, k95: float) -> float:
    """Degrees of freedom ν of a t whose 0.975/0.9 quantile ratio is k95/k80 (∞ → 1e6)."""
    from scipy import optimize, stats

    ratio = k95 / k80
    if ratio <= Z95 / Z80 + 1e-9:
        return 1e6
    f = lambda nu: float(stats.t.ppf(0.975, nu) / stats.t.ppf(0.9, nu)) - ratio  # noqa: E731
    if f(1.0) < 0:
        return 1.0
    return float(optimize.brentq(f, 1.0, 1e6))


@dataclass
class Predictive:
    """Predictive distribution of future values (original scale) for a fitted model."""

    fit: Fit
    years: np.ndarray
    m: np.ndarray           # centre on the modelling scale
    sd: np.ndarray          # sd on the modelling scale (calibrated, or textbook)
    k80: float
    k95: float
    nu: float               # t shape for the cdf (1e6 ≈ normal)
    method: str             # "calibrated" or "model"
    count: bool = False     # count models: the discrete predictive of :mod:`.count_dist`
    whole: bool = False     # a small whole-number quantity: p_meet is for the value rounded
    #                         to a whole number (see :func:`whole_numbers`)

    @property
    def mean(self) -> np.ndarray:
        """Point forecast: the trend's value (the median of the predictive distribution)."""
        return self.fit.scale.inv(self.m) * (self.fit.rate_scale if self.fit.is_count_model
                                             else 1.0)

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """The central ``level`` interval; it always holds the point forecast (a count
        model's whole-event quantiles could otherwise give [0, 0] around a median rate of
        1.9/10万)."""
        if self.count:
            from .count_dist import rate_interval

            lo, hi = rate_interval(level, *self.count_params())
            mean = self.mean
            return np.minimum(lo, mean), np.maximum(hi, mean)
        k = self.k80 if level == 0.8 else self.k95 if level == 0.95 else self._k(level)
        sc = self.fit.scale
        return sc.inv(self.m - k * self.sd), sc.inv(self.m + k * self.sd)

    def _k(self, level: float) -> float:
        from scipy import special

        return self.k80 * float(special.stdtrit(self.nu, 0.5 + level / 2)
                                / special.stdtrit(self.nu, 0.9))

    def cdf(self, threshold: float, year_index: int) -> float:
        """P(value ≤ threshold) in the year at ``year_index`` (a whole-number quantity:
        P(the value rounded to a whole number ≤ threshold))."""
        if self.whole and math.isfinite(threshold):
            threshold = math.floor(threshold + 1e-9) + 0.5
        return self._cdf(threshold, year_index)

    def _cdf(self, threshold: float, year_index: int, strict: bool = False) -> float:
        """P(value ≤ threshold); ``strict``: P(value < threshold). A share at its bound
        (within LOGIT_EPS of 0 / 100 %, where the forecast is the bound itself) has mass
        there: P(< 100 %) and P(≤ 0 %) are those of the model scale, not 1 and 0."""
        if self.count:
            from .count_dist import rate_le

            return float(rate_le(threshold, *self.count_params(year_index))[0])
        from scipy import special

        sc = self.fit.scale
        zt = float(sc.fwd(np.array([sc.clamp_threshold(threshold)]))[0])
        s = float(self.sd[year_index])
        m = float(self.m[year_index])
        if sc.kind in BOUNDED_SCALES and threshold >= (1 - 1e-12) * sc.top and not strict:
            return 1.0
        if sc.kind == "log" and threshold <= 0:
            return 0.0
        if sc.kind in BOUNDED_SCALES and (threshold < 0 or (threshold <= 0 and strict)):
            return 0.0
        if s <= 0:
            return 1.0 if m <= zt + 1e-12 else 0.0
        tq = _tq90(self.nu)
        return float(special.stdtr(self.nu, (zt - m) / (s * self.k80 / tq)))

    def p_ge(self, threshold: float, year_index: int) -> float:
        """P(value ≥ threshold) in the year at ``year_index``."""
        if self.count:
            from .count_dist import rate_ge

            return float(rate_ge(threshold, *self.count_params(year_index))[0])
        if self.whole and math.isfinite(threshold):
            return 1.0 - self._cdf(math.ceil(threshold - 1e-9) - 0.5, year_index)
        return 1.0 - self._cdf(threshold, year_index, strict=True)

    def count_params(self, year_index: int | None = None) -> tuple:
        """Count models: (m, sd of the normal log-rate, denominator, φ, rate scale)."""
        sl = slice(None) if year_index is None else slice(year_index, year_index + 1)
        f = self.fit
        return (self.m[sl], self.sd[sl] * (self.k80 / Z80), float(f.exposure_future),
                float(f.phi), float(f.rate_scale))


def predictive(fit: Fit, years, *, method: str = "calibrated") -> Predictive:
    """The predictive distribution of ``fit`` at ``years``.

    ``method="calibrated"`` (default) adds the drift term and uses calibrated multipliers;
    ``method="model"`` gives the textbook interval (t with the model's df, no drift).
    """
    years = np.asarray(years, dtype=float)
    m, s = fit.predict(years)
    h = np.maximum(years - fit.last_year, 0.0)
    if method == "model":
        from scipy import stats

        k80 = float(stats.t.ppf(0.9, fit.df))
        k95 = float(stats.t.ppf(0.975, fit.df))
        sd, nu = s, float(fit.df)
        if fit.is_count_model:
            k80, k95, nu = Z80, Z95, 1e6
    elif method == "calibrated":
        cst = constants(fit.model, fit.scale.kind)
        u = pace(fit)
        infl = 1.0 if fit.is_count_model else t_infl(fit.df)
        sd = np.sqrt(s ** 2 * infl + (cst["c"] * u * h) ** 2) * horizon_factor(cst, h)
        k80, k95 = cst["k80"], cst["k95"]
        if fit.scale.kind == "share":
            sd = share_floor(sd, s * math.sqrt(infl), k80)
        nu = shape_nu(round(k80, 6), round(k95, 6))
    else:
        raise ValueError(f"interval method must be 'calibrated' or 'model', not {method!r}")
    pred = Predictive(fit=fit, years=years, m=m, sd=sd, k80=k80, k95=k95, nu=nu, method=method)
    pred.count = fit.is_count_model
    pred.whole = (not pred.count) and fit.scale.kind not in BOUNDED_SCALES and bool(
        whole_numbers(np.asarray(fit.values, float)[None, :])[0])
    return pred


#: Whole-number series up to this size (institutions, staff per institution, hours a day)
#: are judged as whole numbers.
WHOLE_MAX = 100


def whole_numbers(y: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per row: every value a whole number between 0 and WHOLE_MAX (a small integer
    quantity, recorded as such: 1 所, 2 人/所, 1 小时). Their targets are judged on the value
    as it will be recorded, a whole number: P(≥ 1) is P(the rounded value ≥ 1), so a
    series constant at its target has met it, not a coin toss."""
    y = np.asarray(y, float)
    m = np.isfinite(y) if mask is None else mask
    with np.errstate(invalid="ignore"):
        ok = np.where(m, (y == np.round(y)) & (y >= 0) & (y <= WHOLE_MAX), True)
    return ok.all(axis=1) & m.any(axis=1)


def fit_drift(errors: np.ndarray, s_model: np.ndarray, u: np.ndarray, h: np.ndarray
              ) -> float:
    """Maximum-likelihood c for errors ~ N(0, s_model² + (c·u·h)²) (a 1-D search)."""
    from scipy import optimize

    e2 = np.asarray(errors, float) ** 2
    s2 = np.asarray(s_model, float) ** 2
    w2 = (np.asarray(u, float) * np.asarray(h, float)) ** 2

    def nll(logc: float) -> float:
        v = s2 + math.exp(2 * logc) * w2 + 1e-12
        return float(np.sum(np.log(v) + e2 / v))

    res = optimize.minimize_scalar(nll, bounds=(math.log(1e-3), math.log(50.0)),
                                   method="bounded")
    return float(math.exp(res.x))


#: A model's own pool needs this many rolling-origin errors; smaller pools borrow c from all
#: trend models together (c is a scale-free fraction of the pace, so it can be shared).
MIN_POOL = 30
#: With at least this many errors the empirical k80 / k95 are used even when below the
#: normal values; smaller pools never go below 1.2816 / 1.96.
MIN_POOL_EMPIRICAL_K = 50
TREND_MODELS = ("loglinear", "logit", "linear")


def _standardised(errors, s_model, u, h) -> tuple[float, np.ndarray]:
    """The drift constant c by maximum likelihood, and |error| / predictive sd under it."""
    errors, s_model, u, h = (np.asarray(a, float) for a in (errors, s_model, u, h))
    c = fit_drift(errors, s_model, u, h)
    sd = np.sqrt(s_model ** 2 + (c * u * h) ** 2) + 1e-12
    return c, np.abs(errors) / sd


def calibrate_pool(errors, s_model, u, h) -> dict[str, float]:
    """c by maximum likelihood, then k80 / k95 as empirical quantiles of |error| / sd."""
    h = np.asarray(h, float)
    c, r = _standardised(errors, s_model, u, h)
    k80 = float(np.quantile(r, 0.8)) if len(r) >= 10 else Z80
    k95 = float(np.quantile(r, 0.95)) if len(r) >= 20 else Z95
    if len(r) < MIN_POOL_EMPIRICAL_K:
        k80, k95 = max(k80, Z80), max(k95, Z95)
    return {"c": round(c, 4), "k80": round(k80, 4), "k95": round(max(k95, k80 * 1.05), 4),
            "n": int(len(r))}


#: Fewest errors at one horizon for its own horizon factor (else 1).
MIN_POOL_H = 20


def calibrate_pool_h(errors, s_model, u, h, horizons: int = 5) -> dict:
    """:func:`calibrate_pool` with horizon factors: c by maximum likelihood; then for each
    horizon 1…``horizons`` the factor g_h = (80 % quantile of |error| / sd at h) / (the same
    over all h); k80 / k95 the 80 % / 95 % quantiles of |error| / (sd · g_h)."""
    h = np.asarray(h, float)
    c, r = _standardised(errors, s_model, u, h)
    q_all = float(np.quantile(r, 0.8))
    g = []
    for hh in range(1, horizons + 1):
        rh = r[np.round(h) == hh]
        g.append(float(np.quantile(rh, 0.8)) / q_all if len(rh) >= MIN_POOL_H and q_all > 0
                 else (g[-1] if g else 1.0))
    r2 = r / np.asarray(g)[np.clip(np.round(h).astype(int), 1, horizons) - 1]
    k80 = float(np.quantile(r2, 0.8))
    k95 = float(np.quantile(r2, 0.95))
    return {"c": round(c, 4), "k80": round(k80, 4), "k95": round(max(k95, k80 * 1.05), 4),
            "n": int(len(r)), "horizon": [round(v, 4) for v in g]}


def calibrate_rows(rows) -> dict[str, dict[str, float]]:
    """Calibration constants per model from backtest rows of fixed-model runs.

    ``rows`` needs columns model, z_error, z_sd_model, pace_u, h (as returned by
    :func:`~wuwei_analysis.models.rolling_origin.backtest`, ``interval="model"``). A model with
    fewer than MIN_POOL errors gets the constants of all trend models pooled.
    """
    rows = rows[np.isfinite(rows["z_error"])]
    out: dict[str, dict[str, float]] = {}
    trend = rows[rows["model"].isin(TREND_MODELS)]
    pooled = calibrate_pool(trend["z_error"], trend["z_sd_model"], trend["pace_u"],
                            trend["h"]) if len(trend) >= MIN_POOL else None
    for model in ("loglinear", "logit", "linear", "damped", "naive"):
        g = rows[rows["model"] == model]
        if len(g) >= MIN_POOL:
            out[model] = calibrate_pool(g["z_error"], g["z_sd_model"], g["pace_u"], g["h"])
        elif pooled is not None and model in TREND_MODELS:
            out[model] = {**pooled, "pooled": "trend"}
        else:
            out[model] = dict(CALIBRATION[model])
    return out
