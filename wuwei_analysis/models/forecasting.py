"""``forecast_series`` (any plain series) and ``forecast`` (a series from the database)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..settings import FINAL_YEAR, PLAN_START
from ..targets import Target, trend_slope_confidence
from .calibrate import p_meet_key, predictive, recalibrate_p
from .core import SHARE_NOTE, SeriesSpec, choose_spec, fit_named, resolve_spec
from .fit import MIN_POINTS, MODEL_LABELS_ZH, MODEL_NAMES, Fit, ForecastError

if TYPE_CHECKING:
    import pandas as pd

#: ``median`` is the point forecast (the median of the predictive distribution); ``mean``
#: holds the same numbers under the name earlier releases used (kept for old code).
FORECAST_COLUMNS = ["year", "median", "mean", "lo80", "hi80", "lo95", "hi95"]
#: Direction and gap targets are judged on the years from this one (the plan's base year)
#: when there are at least 3 of them, otherwise on the last DIRECTION_MIN_WINDOW points.
DIRECTION_BASE_YEAR = PLAN_START - 1
DIRECTION_MIN_WINDOW = 6
LOG_MODELS = ("poisson", "quasi_poisson", "loglinear")


# --------------------------------------------------------------------------- helpers
def _resolve_target(target, unit, direction):
    """(Target | None, Indicator | None, unit, direction) from what the caller gave."""
    from ..indicator_catalog import Indicator, indicator as find_indicator

    ind = None
    t: Target | None = None
    if target is None:
        pass
    elif isinstance(target, Target):
        t = target
    elif isinstance(target, Indicator):
        ind = target
    elif isinstance(target, str):
        ind = find_indicator(target)
    elif isinstance(target, (int, float, np.floating, np.integer)):
        if direction not in ("up", "down"):
            raise ForecastError("以数值给出目标时须同时给出 direction（'up' 或 'down'）")
        t = Target(kind="at_most" if direction == "down" else "at_least", value=float(target))
    else:
        raise ForecastError(f"无法识别的目标 {target!r}（应为 Target、指标编号或指标对象）")
    if ind is not None:
        t = ind.target
        unit = unit if unit is not None else ind.unit
        if direction is None and ind.direction in ("up", "down", "target"):
            direction = ind.direction
    if t is not None and direction is None and t.lower_is_better is not None:
        direction = "down" if t.lower_is_better else "up"
    return t, ind, unit, direction


def _as_array(v, n: int) -> np.ndarray | None:
    if v is None:
        return None
    a = np.asarray(v, dtype=float).reshape(-1)
    if len(a) != n:
        raise ForecastError("事件数/分母的个数与年份不一致")
    return a


def _prepare(years, values, counts, exposures, rate_scale: float):
    x = np.asarray(years, dtype=float).reshape(-1)
    n = len(x)
    c = _as_array(counts, n)
    e = _as_array(exposures, n)
    if values is None:
        if c is None or e is None:
            raise ForecastError("须给出数值，或同时给出事件数与分母")
        with np.errstate(divide="ignore", invalid="ignore"):
            y = c / e * rate_scale
    else:
        y = np.asarray(values, dtype=float).reshape(-1)
        if len(y) != n:
            raise ForecastError("年份与数值个数不一致")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    c = None if c is None else c[keep]
    e = None if e is None else e[keep]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    c = None if c is None else c[order]
    e = None if e is None else e[order]
    if len(np.unique(x)) != len(x):
        dup = sorted({int(v) for v in x[np.r_[False, np.diff(x) == 0]]})
        raise ForecastError(f"年份重复：{dup}（每年只能有一个值）")
    use_counts = e is not None and len(e) > 0 and bool(np.all(np.isfinite(e) & (e > 0)))
    if use_counts:
        derived = np.round(y * e / rate_scale)
        c = derived if c is None else np.where(np.isfinite(c), c, derived)
    else:
        c = e = None
    return x, y, c, e


def direction_confidence(years, values, *, good_sign: float, absolute: bool = False,
                         base_year: int = DIRECTION_BASE_YEAR) -> tuple[float | None, float]:
    """One-sided confidence that the trend has the good sign (targets.trend_slope_confidence).

    Window: the years from ``base_year`` on if there are at least 3, else the last
    DIRECTION_MIN_WINDOW points. Returns (p, slope); p is None with fewer than 3 points.
    """
    x = np.asarray(years, float)
    y = np.asarray(values, float)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if absolute:
        y = np.abs(y)
    w = x >= base_year
    if w.sum() >= MIN_POINTS:
        x, y = x[w], y[w]
    else:
        x, y = x[-DIRECTION_MIN_WINDOW:], y[-DIRECTION_MIN_WINDOW:]
    if len(x) < MIN_POINTS:
        return None, float("nan")
    slope, p = trend_slope_confidence(list(x), list(y), good_sign)
    return float(p), float(slope)


def p_meet_value(pred, idx: int, target: Target, threshold: float | None) -> float | None:
    """P(the value in the year at ``idx`` meets a threshold-type target)."""
    if threshold is None or not math.isfinite(threshold):
        return None
    le = pred.cdf(threshold, idx)
    if target.kind == "at_most" or (target.kind == "relative_change" and target.change < 0):
        return le
    if target.kind in ("at_least", "relative_change"):
        return _p_ge(pred, idx, threshold)
    if target.kind == "around":
        tol = float(target.tolerance)
        return max(0.0, pred.cdf(threshold + tol, idx) - (1.0 - _p_ge(pred, idx,
                                                                       threshold - tol)))
    return None


def _p_ge(pred, idx: int, threshold: float) -> float:
    return pred.p_ge(threshold, idx)


def _empty(notes: list[str], n: int, target_year, observed: "pd.DataFrame",
           p_meet=None) -> "pd.DataFrame":
    import pandas as pd

    df = pd.DataFrame({c: pd.Series(dtype="float64") for c in FORECAST_COLUMNS})
    df["year"] = df["year"].astype("int64")
    df.attrs.update(model="none", model_zh=MODEL_LABELS_ZH["none"], params={}, aarr=None,
                    annual_change=None, p_meet=p_meet, target_year=target_year,
                    fitted=observed, n_points=n, interval_method="none", notes=notes,
                    selection={}, threshold=None)
    return df


# --------------------------------------------------------------------------- public API
def forecast_series(years, values, *, unit: str | None = None, target=None, counts=None,
                    exposures=None, horizon_year: int = FINAL_YEAR, model: str = "auto",
                    direction: str | None = None, interval: str = "calibrated",
                    base_value: float | None = None, reference_value: float | None = None
                    ) -> "pd.DataFrame":
    """趋势预测 — trend model and forecast to 2030, with 80 % / 95 % intervals, for one series.

    Args:
        years, values: the observed series (NaN values are dropped; years may have gaps).
            ``values`` may be None when ``counts`` and ``exposures`` are given.
        unit: a unit of ``data/units.yaml`` ("‰", "%", "1/10万", "岁", …) or a unit kind
            ("rate", "percent", …). Taken from the indicator when ``target`` is one; a
            different unit of the same proportion (比例, %, ‰, 1/万, 1/10万) is converted to
            the indicator's, any other is refused.
        target: a :class:`~wuwei_analysis.targets.Target`, an indicator id / name /
            :class:`~wuwei_analysis.indicator_catalog.Indicator` (unit, direction and target are then
            taken from it), or a number (with ``direction``).
        counts, exposures: events and denominators per year (e.g. infant deaths and live
            births): a rate with counts gets a Poisson / quasi-Poisson model. A missing
            count is derived from value × denominator.
        horizon_year: the last year forecast (default 2030).
        model: "auto" (see :mod:`wuwei_analysis.models.core`) or one of "poisson",
            "loglinear", "logit", "linear", "damped", "naive".
        direction: "up" / "down" (good direction; "increase" / "decrease", "提高" /
            "下降" are accepted too), when not implied by the target.
        interval: "calibrated" (default; see :mod:`.calibrate`) or "model" (textbook).
        base_value: for a relative_change target, the base-year value when the series does
            not contain it. reference_value: for a target given by another indicator.

    Returns:
        DataFrame with columns year, median, mean, lo80, hi80, lo95, hi95 for the years
        after the last observation up to ``horizon_year``. ``median`` is the point
        forecast: the trend's value, which is the median of the predictive distribution
        (on log / logit scales it is not the arithmetic mean); ``mean`` repeats it under
        its old name (deprecated alias). ``attrs``: model, model_zh, params, aarr
        (annual rate of reduction 1 − e^slope, positive = falling; log-scale models only),
        annual_change (unit per year, trend at the last year), p_meet, target_year, fitted
        (DataFrame year, observed, fitted), n_points, interval_method, notes (Chinese),
        selection (auto scores), threshold, unit, scale, input_unit (the unit the values
        were given in when converted, else None), inputs (counts / exposures used).

    Raises:
        SeriesInputError: (a ForecastError) the series cannot be used as given: duplicate
            years, negative counts, more events than the denominator, values outside the
            unit's range, a unit that cannot be converted to the indicator's, values that
            look like a unit slip (see :mod:`.inputs`). An empty, all-NaN or 1–2 point
            series is not an error: the table is empty and a ShortSeriesWarning says why.

        Note: ``attrs["fitted"]`` is a DataFrame, and pandas cannot concat frames whose
        attrs hold different DataFrames — call ``.attrs.clear()`` (or copy the columns)
        before ``pd.concat`` of several forecasts.
    """
    import pandas as pd

    from .inputs import check_series  # refuses unusable input; converts units (1/10万 → ‰)

    chk = check_series(years, values, unit=unit, target=target, counts=counts,
                       exposures=exposures, direction=direction)
    years, values, counts, exposures, unit, direction = (
        chk.years, chk.values, chk.counts, chk.exposures, chk.unit, chk.direction)
    t, ind, unit, direction = _resolve_target(target, unit, direction)
    if unit is None:
        raise ForecastError("须给出单位 unit（或以指标作为 target）")
    has_counts = exposures is not None
    spec: SeriesSpec = resolve_spec(unit, has_counts=has_counts,
                                    target_kind=t.kind if t else None, direction=direction)
    x, y, c, e = _prepare(years, values, counts, exposures, spec.rate_scale)
    if c is None and spec.primary == "poisson":
        spec = resolve_spec(unit, has_counts=False, target_kind=t.kind if t else None,
                            direction=direction)
    target_year = int(t.year) if t is not None else None
    notes: list[str] = list(chk.notes)
    observed = pd.DataFrame({"year": x.astype(int), "observed": y, "fitted": np.nan})

    # thresholds and direction / gap confidence do not need a model
    threshold = None
    p_dir = None
    if t is not None and t.kind in ("at_most", "at_least", "around", "relative_change"):
        if t.kind == "relative_change":
            if base_value is None:
                hit = np.nonzero(x == t.base_year)[0]
                if len(hit):
                    base_value = float(y[hit[0]])
                elif ind is not None:
                    base_value = ind.baseline(int(t.base_year))
            if base_value is None:
                notes.append(f"缺少{t.base_year}年基期值，无法判断相对变化目标")
        threshold = t.threshold(base_value, reference_value)
    elif t is not None and t.kind in ("direction", "gap"):
        good = -1.0 if (t.kind == "gap" or t.direction == "down") else 1.0
        p_dir, _ = direction_confidence(x, y, good_sign=good, absolute=t.kind == "gap")

    if len(x) < MIN_POINTS:
        notes.append(f"仅有{len(x)}个数据点（少于{MIN_POINTS}个），不作趋势预测，"
                     "状态只依据最新值判断")
        df = _empty(notes, len(x), target_year, observed)
        df.attrs.update(threshold=threshold, unit=unit, scale=spec.scale.kind)
        if target_year is not None and threshold is not None:
            obs_at = np.nonzero(x == target_year)[0]
            if len(obs_at):
                df.attrs["p_meet"] = float(bool(t.meets(float(y[obs_at[0]]),
                                                        base_value=base_value,
                                                        reference_value=reference_value)))
        return df

    # ----- model choice and fit
    selection: dict[str, float] = {}
    if model == "auto":
        logit_spec = spec
        spec, name, selection = choose_spec(spec, x, y, c, e)
        if spec is not logit_spec:
            notes.append(SHARE_NOTE)
    elif model in MODEL_NAMES and model != "none":
        name = "poisson" if model == "quasi_poisson" else model
    else:
        raise ForecastError(f"未知模型 {model!r}，可选：auto, {', '.join(MODEL_NAMES[:-1])}")
    try:
        fit: Fit = fit_named(spec, name, x, y, c, e, notes=notes)
    except ForecastError as exc:
        if model != "auto":
            raise
        notes.append(f"{MODEL_LABELS_ZH.get(name, name)}无法拟合（{exc.message}），改用线性趋势")
        fit = fit_named(spec, "linear", x, y, notes=notes)
    if selection:
        ranked = "、".join(f"{MODEL_LABELS_ZH[k]} {v:.3f}" for k, v in
                          sorted(selection.items(), key=lambda kv: kv[1]) if np.isfinite(v))
        notes.append(f"自动选择模型：按本序列滚动回测误差（建模尺度平均绝对误差）比较——{ranked}")

    # ----- predictive distribution
    last = int(x[-1])
    fut = list(range(last + 1, int(horizon_year) + 1))
    pred_years = list(fut)
    if target_year is not None and target_year > last and target_year not in pred_years:
        pred_years.append(target_year)
    if not pred_years:                 # nothing to forecast: still describe the next year
        pred_years = [last + 1]
    pred = predictive(fit, np.array(pred_years, float), method=interval)
    mean = pred.mean
    lo80, hi80 = pred.interval(0.8)
    lo95, hi95 = pred.interval(0.95)
    k = len(fut)
    df = pd.DataFrame({"year": np.array(fut, dtype="int64"), "median": mean[:k],
                       "mean": mean[:k],
                       "lo80": lo80[:k], "hi80": hi80[:k], "lo95": lo95[:k],
                       "hi95": hi95[:k]}, columns=FORECAST_COLUMNS)

    # ----- p_meet
    p_meet = None
    if t is not None and t.kind in ("direction", "gap"):
        p_meet = p_dir
    elif threshold is not None and target_year is not None:
        if target_year > last:
            i_t = pred_years.index(target_year)
            p_meet = p_meet_value(pred, i_t, t, threshold)
            if p_meet is not None:     # the pool's recalibration map (calibrate.recalibrate_p)
                met_now = bool(t.meets(float(y[-1]), base_value=base_value,
                                       reference_value=reference_value))
                key = p_meet_key([fit.model], [fit.scale.kind], [mean[i_t]], [pred.count],
                                 [pred.whole], [threshold], [met_now])
                p_meet = float(recalibrate_p([p_meet], key)[0])
        else:
            hit = np.nonzero(x == target_year)[0]
            if len(hit):
                p_meet = float(bool(t.meets(float(y[hit[0]]), base_value=base_value,
                                            reference_value=reference_value)))

    # ----- descriptive attributes
    fitted_vals = fit.fitted_values * (fit.rate_scale if fit.is_count_model else 1.0)
    if fit.model == "naive":
        fitted_vals = np.asarray(fit.values, float).copy()
    observed["fitted"] = fitted_vals
    next_mean = float(mean[0]) if len(mean) else float("nan")
    annual_change = next_mean - float(fitted_vals[-1]) if pred_years[0] == last + 1 else None
    aarr = None
    if fit.scale.kind == "log" and fit.model != "naive":
        aarr = float(1.0 - math.exp(fit.slope))
    params = dict(fit.params)
    if aarr is not None:
        params["aarr"] = aarr
    if annual_change is not None:
        params["annual_change"] = annual_change
    if interval == "calibrated":
        from .calibrate import constants, pace

        cst = constants(fit.model, fit.scale.kind)
        params["interval_drift_c"] = cst["c"]
        params["interval_pace_u"] = pace(fit)
        notes.append("预测区间已按历史滚动回测校准（包含观测噪声与趋势变化的不确定性），"
                     "80%区间约有80%的把握覆盖实际值")
    if fit.is_count_model:
        notes.append(f"区间含泊松{'（准泊松）' if fit.phi > 1 else ''}计数的随机波动"
                     "（按其分布数值积分计算，结果确定），"
                     f"未来分母取最近{min(3, len(x))}年平均（{fit.exposure_future:,.0f}）")
    df.attrs.update(
        model=fit.model, model_zh=MODEL_LABELS_ZH[fit.model], params=params, aarr=aarr,
        annual_change=annual_change, p_meet=p_meet, target_year=target_year, fitted=observed,
        n_points=int(len(x)), interval_method=interval, notes=notes, selection=selection, threshold=threshold,
        unit=unit, scale=fit.scale.kind, input_unit=chk.input_unit,
        inputs={"years": x.tolist(), "values": y.tolist(),
                "counts": None if c is None else c.tolist(),
                "exposures": None if e is None else e.tolist()})
    return df


def forecast(indicator, region, *, db=None, breakdown=None, horizon_year: int = FINAL_YEAR,
             model: str = "auto", year: int | None = None, interval: str = "calibrated"
             ) -> "pd.DataFrame":
    """从数据库读取序列并预测 — ``forecast_series`` for an indicator's series in a region.

    Args:
        indicator: id, Chinese name or alias (or an Indicator).
        region: name, alias or code ("古浪县", "620622").
        db: database path, sqlite3 connection, or None for the default database.
        breakdown: None for the total, or {"sex": "女"} / "urban_rural=农村" / "女"; a
            breakdown with no rows raises DataError listing the values the data have.
        horizon_year: the last year forecast (default 2030).
        model: "auto" or a model name (see forecast_series).
        year: use only data up to this year.
        interval: "calibrated" (default) or "model".

    Uses numerator / denominator (Poisson model) where the database has them.

    Returns:
        As ``forecast_series``: columns year, median (the point forecast), mean (alias),
        lo80, hi80, lo95, hi95; attrs as there plus ``indicator``, ``region`` and
        ``illustrative`` (True if any value used is illustrative).
    """
    from ..indicator_catalog import Indicator, indicator as find_indicator
    from ..database import observations
    from .series import select_rows, to_series

    ind = indicator if isinstance(indicator, Indicator) else find_indicator(indicator)
    data_id = getattr(ind, "data_id", None) or ind.id   # same_as: data stored once
    obs = observations(data_id, region, breakdown="all" if breakdown else None, db=db)
    rows = select_rows(obs, data_id, region, breakdown, year_max=year)
    if breakdown and not len(rows):
        from .inputs import no_breakdown_message

        raise ForecastError(no_breakdown_message(obs, data_id, region, breakdown),
                            indicator=ind.id, region=str(region))
    s = to_series(rows)
    base_value = None
    t = ind.target
    if t.kind == "relative_change" and s.value_in(int(t.base_year)) is None:
        from ..geography import region as find_region

        if find_region(region).level == "city":
            base_value = ind.baseline(int(t.base_year))
    counts = s.counts if s.exposures is not None else None
    df = forecast_series(s.years, s.values, unit=ind.unit, target=ind, counts=counts,
                         exposures=s.exposures, horizon_year=horizon_year, model=model,
                         base_value=base_value, interval=interval)
    df.attrs.update(indicator=ind.id, region=str(region), illustrative=s.illustrative)
    return df
