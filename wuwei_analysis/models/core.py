"""Which model a series gets, and the ``model="auto"`` rule.

Family (from the unit and the target)
    ===============================================  =====================================
    series                                           primary model
    ===============================================  =====================================
    counts and denominators known, a rate unit       poisson (quasi_poisson if overdispersed)
    a rate without counts (‰, 1/10万)                 loglinear
    other positive quantities (per capita, counts)   loglinear
    a percentage (%)                                 logit
    a target "around" a value, or a gap (差距)        linear
    years, ratios, scores                            linear
    ===============================================  =====================================

``model="auto"`` (SCALE RULE, then AUTO RULE)
    SCALE RULE (:func:`choose_spec`). A percentage without counts, with at least
    AUTO_MIN_POINTS values none of which is at 0 or 100 %, is run through the AUTO RULE
    twice: on the logit scale (primary ``logit``) and on the share scale (the percentage
    itself, primary ``linear``, every forecast and interval end held inside 0–100 %). The
    share scale is used when its chosen model's rolling-origin errors, in percentage
    points, are below SCALE_MARGIN (0.75) × those of the logit scale's chosen model.
    Many published percentages (WHO/UNICEF JMP water and sanitation coverage, modelled
    labour-force shares) are drawn as straight lines in percentage points, which a logit
    scale bends: on the real calibration pool (``benchmarks/peer_benchmark.py``, every
    country with weights and constants fitted without it) the rule lowered the geometric
    mean over series × origin of the MAE relative to the last value from 0.249 to 0.168
    (AutoARIMA on the logit scale 0.250), the relative MASE from 0.598 to 0.579 and the
    median from 0.313 to 0.303; on simulated logit-scale percentages
    (``benchmarks/simulated_coverage.py``) the margin keeps the logit scale where it
    belongs (MASE relative to naive 0.647 against 0.646 without the rule; with a margin of
    1: 0.651). A series at a bound keeps the logit scale, whose bound rules hold it there;
    a percentage with counts keeps its binomial-noise logit model; an explicit model
    keeps the indicator's scale.

``model="auto"`` (AUTO RULE)
    1. Fewer than MIN_POINTS (3) points: no model (``none``).
    2. Fewer than AUTO_MIN_POINTS (8) points: the primary model, without selection — there is
       too little history to compare models honestly. With 8 points the comparison below
       rests on 3 origins and 3 one-step errors; with 6 points it rested on one error, and on
       simulated trending series (``benchmarks/simulated_coverage.py``) it then swapped the
       trend for ``naive`` half the time, on noise: the forecasts got worse (MASE relative
       to naive 0.87 instead of 0.70 at 6 points) and their 80 % intervals covered 75 %
       (95 %: 87 %), since an interval does not know it was picked for a lucky
       error.
    3. A rate with its counts keeps the Poisson / quasi-Poisson model, without selection:
       its intervals rest on the count noise, which ``naive`` and ``damped`` ignore (they
       work on the log of the observed rates, so a year of 0 events lies outside every
       interval they give), and the Poisson fit already falls back to a constant rate when
       events are few. On simulated county and city counts selection swapped in ``naive``
       for a quarter of the series long enough to select, which made forecasts worse (MASE
       relative to naive 0.71–0.89 against 0.65–0.87 for the Poisson model alone) and the
       95 % intervals too narrow (93–94 % against 95–96 %); on maternal-mortality-size counts
       (< 1 event a year) they covered 84 %.
    4. Otherwise the candidates are the primary model, ``naive`` (last value carried
       forward) and, for a series with every year present, ``arima`` (ARIMA(1,1,0) with
       drift, a local trend on the yearly changes: :mod:`.local_trend`) and ``pooled`` (the
       pooled trend, :mod:`.pooled_trend`: the ARIMA bend and the recent mean changes
       weighted by weights learned across the real calibration pool; a candidate when
       weights are shipped for the scale). On the pool (every country's weights fitted
       without it; ``benchmarks/peer_benchmark.py``) adding it lowered the relative MASE
       from 0.621 to 0.610; making it replace every trend the rule keeps lowered it to
       0.598 but on simulated short noisy series (``benchmarks/simulated_coverage.py``)
       raised it from 0.653 to 0.695 and cut the 80 % coverage to 76 %: the pool's smooth
       national estimates reward following the latest value, noisy county series do not,
       and only the series' own rolling origins can tell the two apart. (``damped``, a
       numerical ETS fit per series, is no longer a candidate: on the real calibration pool
       the local trend forecasts better and is computed for all series at once; it can
       still be asked for by name, and DAMPED_MIN_POINTS is kept for that.) Last,
       ``arima2`` (ARIMA(2,1,0) with drift, :func:`.local_trend.fit_arima2`: the yearly
       change may bend and settle; a series too short or with a non-stationary fit keeps
       the ARIMA(1,1,0) path, which then ties with ``arima`` and loses the tie). On the pool
       it lowered the relative MASE from 0.599 to 0.598, the geometric mean over series ×
       origin of the MAE relative to the last value from 0.260 to 0.249 (AutoARIMA 0.250)
       and the median from 0.321 to 0.313; on ``benchmarks/simulated_coverage.py`` the
       MASE relative to naive went from 0.647 to 0.646 (with ARIMA2_MIN_POINTS 8: 0.648). Each is
       evaluated by rolling origin on the series itself: for each of the last
       AUTO_MAX_ORIGINS origins with at least AUTO_MIN_TRAIN points before it, fit up to the
       origin and forecast the observed years up to AUTO_HORIZON years ahead (and always the
       next observed year, so that a series with gaps is compared too); the score is
       the mean absolute error on the modelling scale (log / logit / identity, so the score
       is scale-free and the same for all candidates). AUTO_HORIZON is 1 (one-step errors):
       on the real calibration pool (``benchmarks/peer_benchmark.py``, country folds) it
       beat 3 on every aggregate (relative MASE 0.599 against 0.608; geometric mean over
       series × origin of the MAE relative to the last value 0.260 against 0.268, median
       0.321 against 0.348; 2: 0.600 / 0.263 / 0.335; 5: 0.610 / 0.274 / 0.360), and on
       ``benchmarks/simulated_coverage.py`` too (MASE relative to naive 0.647 against
       0.653, 80 % coverage 81.6 % both): errors further ahead add noise from the same few
       origins rather than information about the bends.
    5. The primary model is kept unless another candidate's score is below
       SELECT_MARGIN × the primary's score (then the best of them is used): a
       simpler or different model has to be clearly better on this series' own history to
       replace the one the indicator's nature suggests. A score within SELECT_TIE_RTOL
       (relative) of the margin is a tie, and a tie keeps the primary model: values given
       to one decimal often put a score exactly at the margin (0.041667 = 0.9 × 0.046296),
       and the choice must not then rest on the last bit of a floating-point sum.
    6. A challenger (CHALLENGERS: ``curve``, :func:`.local_trend.fit_curve`, the latest
       yearly change carried on with its latest change halving each year) replaces the
       model chosen so far only when its score is below CHALLENGE_MARGIN (0.75) × that
       model's: it is scored like the others (yearly series only) but must win clearly.
       Smoothed published estimates (UN IGME mortality) bend this way; on the pool
       (``benchmarks/peer_benchmark.py``) it lowered the geometric mean over series ×
       origin of the MAE relative to the last value from 0.168 to 0.154, the median from
       0.303 to 0.285 and the relative MASE from 0.579 to 0.576; as an ordinary candidate
       (margin 0.9 against the primary only) it lowered the first two as much but raised
       the relative MASE to 0.619 (its bends, extrapolated, miss far on a few series).
       ``benchmarks/simulated_coverage.py`` is unchanged (it never wins there).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .fit import (LEVEL_SCALES, LOGIT_EPS, MIN_POINTS, MODEL_NAMES, Fit, ForecastError, Scale,
                  fit_damped, fit_naive, fit_poisson, fit_trend, to_model_scale)
from .local_trend import fit_arima, fit_arima2, fit_curve, yearly
from .pooled_trend import fit_pooled
from .pooled_trend import available as pooled_available

AUTO_MIN_POINTS = 8
DAMPED_MIN_POINTS = 12
AUTO_MAX_ORIGINS = 5
AUTO_MIN_TRAIN = 4
AUTO_HORIZON = 1
SELECT_MARGIN = 0.9
#: Candidates that replace the model the rule chose among the others only when their score
#: is below CHALLENGE_MARGIN × that model's (step 6 of the AUTO RULE).
CHALLENGERS = ("curve",)
CHALLENGE_MARGIN = 0.75
SELECT_TIE_RTOL = 1e-9
#: Scores (modelling-scale errors) closer than this are a tie too: on an exact trend every
#: candidate's error is rounding noise (1e-16), which must not pick the model.
SELECT_TIE_ATOL = 1e-9
#: SCALE RULE: a percentage without counts moves to the share scale when its best model
#: there errs by less than this × the logit scale's best (rolling origins, percentage points).
SCALE_MARGIN = 0.75

_KINDS = ("rate", "percent", "per_capita", "count", "years", "ratio", "score", "none")


@dataclass(frozen=True)
class SeriesSpec:
    """How a series is modelled: its unit, scale, primary model and rate scale."""

    unit: str
    unit_kind: str
    scale: Scale
    primary: str
    rate_scale: float = 1.0


def unit_info(unit: str | None) -> tuple[str, float | None]:
    """(kind, scale) for a unit of ``data/units.yaml`` or a bare kind name."""
    from ..indicator_catalog import units

    if unit is None:
        return "none", None
    table = units()
    if unit in table:
        u = table[unit]
        return str(u.get("kind", "none")), (float(u["scale"]) if u.get("scale") else None)
    if unit in _KINDS:
        return unit, None
    alias = {"‰": "rate", "%": "percent", "1/100000": "rate", "per 1000": "rate"}
    if unit in alias:
        return alias[unit], None
    raise ForecastError(f"未知单位 {unit!r}（应为 units.yaml 中的单位或 {', '.join(_KINDS)}）")


def resolve_spec(unit: str | None, *, has_counts: bool = False, target_kind: str | None = None,
                 direction: str | None = None) -> SeriesSpec:
    kind, rscale = unit_info(unit)
    if target_kind in ("around", "gap") or direction == "target":
        return SeriesSpec(unit or "", kind, Scale("identity"), "linear", rscale or 1.0)
    if has_counts and kind in ("rate", "per_capita"):
        return SeriesSpec(unit or "", kind, Scale("log"), "poisson", rscale or 1.0)
    if kind in ("rate", "per_capita", "count"):
        return SeriesSpec(unit or "", kind, Scale("log"), "loglinear", rscale or 1.0)
    if kind == "percent":
        return SeriesSpec(unit or "", kind, Scale("logit", 100.0), "logit", 100.0)
    return SeriesSpec(unit or "", kind, Scale("identity"), "linear", rscale or 1.0)


def fit_named(spec: SeriesSpec, model: str, years, values, counts=None, exposures=None,
              notes: list[str] | None = None) -> Fit:
    """Fit ``model`` (a name) to a series under ``spec``."""
    if model in ("poisson", "quasi_poisson") and (counts is None or exposures is None):
        raise ForecastError("泊松模型需要事件数（分子）和分母")
    if model == "logit" and spec.scale.kind != "logit":
        return fit_model("logit", years, values, Scale("logit", 100.0), notes=notes)
    if model == "loglinear" and spec.scale.kind != "log":
        return fit_model("loglinear", years, values, Scale("log"), notes=notes)
    if model == "linear" and spec.scale.kind not in LEVEL_SCALES:
        return fit_model("linear", years, values, Scale("identity"), notes=notes)
    return fit_model(model, years, values, spec.scale, counts=counts, exposures=exposures,
                     rate_scale=spec.rate_scale, notes=notes)


def _z_actual(spec: SeriesSpec, values, counts, exposures) -> np.ndarray:
    if spec.primary == "poisson" and counts is not None:
        d = np.asarray(counts, float)
        e = np.asarray(exposures, float)
        return np.log((d + 0.5) / e * spec.rate_scale)
    try:
        return to_model_scale(spec.scale, np.asarray(values, float))
    except ForecastError:
        return np.asarray(values, float)


def _on_scale(fit: Fit, m: np.ndarray) -> np.ndarray:
    """Forecast centre on the comparison scale (log-rate in the unit for count models)."""
    if fit.is_count_model:
        return m + np.log(fit.rate_scale)
    return m


def selection_scores(spec: SeriesSpec, years, values, counts=None, exposures=None,
                     candidates: tuple[str, ...] = ()) -> dict[str, float]:
    """Mean absolute rolling-origin error (modelling scale) of each candidate."""
    return rolling_errors(spec, years, values, counts, exposures, candidates)[0]


def rolling_errors(spec: SeriesSpec, years, values, counts=None, exposures=None,
                   candidates: tuple[str, ...] = ()
                   ) -> tuple[dict[str, float], dict[str, float]]:
    """Each candidate's mean absolute rolling-origin error on the modelling scale, and in
    the indicator's own unit (the forecast brought back to it: what SCALE RULE compares)."""
    x = np.asarray(years, float)
    yv = np.asarray(values, float)
    n = len(x)
    za = _z_actual(spec, values, counts, exposures)
    first = max(AUTO_MIN_TRAIN, n - 1 - AUTO_MAX_ORIGINS)
    errs: dict[str, list[float]] = {c: [] for c in candidates}
    errs_u: dict[str, list[float]] = {c: [] for c in candidates}
    for o in range(first, n - 1):
        tgt = [j for j in range(o + 1, n) if x[j] - x[o] <= AUTO_HORIZON or j == o + 1]
        if not tgt:
            continue
        sl = slice(0, o + 1)
        cnt = None if counts is None else np.asarray(counts)[sl]
        exp_ = None if exposures is None else np.asarray(exposures)[sl]
        fits: dict[str, Fit | None] = {}
        for c in candidates:
            try:
                fits[c] = fit_named(spec, c, x[sl], yv[sl], cnt, exp_)
            except (ForecastError, ValueError, np.linalg.LinAlgError):
                fits[c] = None
        if any(f is None for f in fits.values()):
            continue  # compare candidates on the same forecasts only
        for c, f in fits.items():
            m, _ = f.predict(x[tgt])
            errs[c].extend(np.abs(_on_scale(f, m) - za[tgt]).tolist())
            errs_u[c].extend(np.abs(f.scale.inv(m) - yv[tgt]).tolist())
    mean = lambda v: float(np.mean(v)) if v else float("nan")   # noqa: E731
    return ({c: mean(v) for c, v in errs.items()}, {c: mean(v) for c, v in errs_u.items()})


#: What a forecast on the share scale says of it (both paths' notes).
SHARE_NOTE = ("按本序列滚动回测的一步预测误差（百分点）比较：在百分比尺度上直接延伸比在logit尺度上"
              "更准，故按百分比尺度建模（预测限于0–100%）")


def clearly_below(score, margin: float, reference):
    """``score`` < ``margin`` × ``reference`` beyond the tie tolerances (SELECT_TIE_RTOL,
    SELECT_TIE_ATOL): the test of every replacement in the rules; scalars or arrays."""
    return score < margin * reference * (1.0 - SELECT_TIE_RTOL) - SELECT_TIE_ATOL


def share_twin(spec: SeriesSpec) -> SeriesSpec | None:
    """The share-scale spec of a percentage modelled on the logit scale (SCALE RULE);
    None for every other spec."""
    if spec.primary != "logit" or spec.scale.kind != "logit":
        return None
    return SeriesSpec(spec.unit, spec.unit_kind, Scale("share", spec.scale.top), "linear",
                      spec.rate_scale)


def at_bound(values, top: float = 100.0) -> bool:
    """A value at 0 or ``top`` (within the logit scale's LOGIT_EPS): the logit scale keeps it."""
    y = np.asarray(values, float) / top
    return bool(np.any((y <= LOGIT_EPS) | (y >= 1.0 - LOGIT_EPS)))


def choose_spec(spec: SeriesSpec, years, values, counts=None, exposures=None
                ) -> tuple[SeriesSpec, str, dict[str, float]]:
    """The SCALE RULE, then the AUTO RULE (module docstring): the spec the series is
    modelled under, the model name and its candidates' scores."""
    name, scores, units = _auto_rule(spec, years, values, counts, exposures)
    twin = share_twin(spec)
    if (twin is None or counts is not None or name not in scores
            or at_bound(values, spec.scale.top)):
        return spec, name, scores
    name_s, scores_s, units_s = _auto_rule(twin, years, values)
    if share_wins(units.get(name), units_s.get(name_s)):
        return twin, name_s, scores_s
    return spec, name, scores


def share_wins(e_logit, e_share) -> bool:
    """SCALE RULE: the share scale's best model errs by less than SCALE_MARGIN × the logit
    scale's (in percentage points; a tie keeps the logit scale)."""
    if e_logit is None or e_share is None or not (np.isfinite(e_logit)
                                                  and np.isfinite(e_share)):
        return False
    return bool(clearly_below(e_share, SCALE_MARGIN, e_logit))


def choose_model(spec: SeriesSpec, years, values, counts=None, exposures=None
                 ) -> tuple[str, dict[str, float]]:
    """The AUTO RULE (module docstring): the model name and the candidates' scores."""
    return _auto_rule(spec, years, values, counts, exposures)[:2]


def _auto_rule(spec: SeriesSpec, years, values, counts=None, exposures=None
               ) -> tuple[str, dict[str, float], dict[str, float]]:
    """The AUTO RULE: the model name, the candidates' scores and their errors in the unit."""
    n = len(years)
    if n < MIN_POINTS:
        return "none", {}, {}
    if n < AUTO_MIN_POINTS or spec.primary == "poisson":
        return spec.primary, {}, {}
    cands = [spec.primary, "naive"]
    if yearly(np.asarray(years, float)):
        cands.append("arima")
        if pooled_available(spec.scale.kind):
            cands.append("pooled")
        cands += ["arima2", "curve"]
    scores, units = _cached_errors(*_key(spec, years, values, counts, exposures, cands))
    base = scores.get(spec.primary, float("nan"))
    best = spec.primary
    if np.isfinite(base):
        others = {c: s for c, s in scores.items()
                  if c != spec.primary and c not in CHALLENGERS and np.isfinite(s)}
        if others:
            # the best other candidate; scores within the tie tolerance of the best go to
            # the first in candidate order (a model that fell back to another ties with it
            # up to rounding, and rounding must not decide)
            low = min(others.values())
            c = next(c for c, v in others.items()
                     if v <= low * (1.0 + SELECT_TIE_RTOL) + SELECT_TIE_ATOL)
            if clearly_below(others[c], SELECT_MARGIN, base):
                best = c
        # a challenger replaces the model chosen so far only when clearly better than it
        for c in CHALLENGERS:
            v = scores.get(c, float("nan"))
            if np.isfinite(v) and clearly_below(v, CHALLENGE_MARGIN, scores[best]):
                best = c
    return best, scores, units


def _key(spec, years, values, counts, exposures, cands) -> tuple:
    return (spec, tuple(map(float, years)), tuple(map(float, values)),
            None if counts is None else tuple(map(float, counts)),
            None if exposures is None else tuple(map(float, exposures)), tuple(cands))


@lru_cache(maxsize=512)
def _cached_errors(spec, years, values, counts, exposures, cands
                   ) -> tuple[dict[str, float], dict[str, float]]:
    return rolling_errors(spec, years, values, counts, exposures, cands)


#: The models fitted from the values on the modelling scale alone: name → fitter.
_SCALE_FITTERS = {"naive": fit_naive, "damped": fit_damped, "arima": fit_arima,
                  "pooled": fit_pooled, "arima2": fit_arima2, "curve": fit_curve}


def fit_model(model: str, years, values, scale: Scale, *, counts=None, exposures=None,
              rate_scale: float = 1.0, notes: list[str] | None = None) -> Fit:
    """Fit one model by name (``poisson`` covers quasi-Poisson)."""
    if model in ("poisson", "quasi_poisson"):
        if counts is None or exposures is None:
            raise ForecastError("泊松模型需要事件数和分母")
        return fit_poisson(years, counts, exposures, rate_scale=rate_scale, values=values,
                           notes=notes)
    if model in ("loglinear", "logit", "linear"):
        return fit_trend(years, values, scale, model, counts=counts if model == "logit" else None,
                         exposures=exposures if model == "logit" else None, notes=notes)
    if model in _SCALE_FITTERS:
        return _SCALE_FITTERS[model](years, values, scale, notes=notes)
    raise ForecastError(f"未知模型 {model!r}，可选：{', '.join(MODEL_NAMES)}")
