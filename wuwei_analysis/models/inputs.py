"""Checks of a series given to the models, and unit conversion (layer: models).

:func:`check_series` runs first in ``forecast_series`` and ``backtest``. It refuses what
would otherwise give a wrong answer without a word, with a Chinese message that names the
problem (:class:`SeriesInputError`, a ``ForecastError`` / ``DataError`` / ``WuweiError``):

* years and values (counts, denominators) of different lengths, a year given twice;
* negative event counts or denominators, more events than the denominator;
* values outside the unit's possible range (``data/units.yaml`` ``min`` / ``max``: a
  percentage above 100, a negative rate);
* a unit that differs from the indicator's and cannot be converted ("岁" for a ‰ rate);
* values that look like proportions (0.006) or another scale than the indicator's target
  (a value 100 × the target), i.e. a unit slip.

Units of the same quantity on different scales are converted (:data:`PROPORTION_SCALES`:
比例 ↔ % ↔ ‰ ↔ 1/万 ↔ 1/10万); the forecast is then in the indicator's unit, its notes
say so and a :class:`UnitConversionWarning` is issued. An empty or all-NaN series, or one
too short for a trend (fewer than 3 points), is not an error — the forecast is empty and a
status rests on the latest value, as in the vectorised engine — but a
:class:`ShortSeriesWarning` names the cause. A zero denominator with the rates given: the
counts are not used (no Poisson model), and a warning and a note say so.

Warnings go to the user's code only: the package's own callers (``assess``, the engine)
handle short series themselves and stay quiet.

``direction`` accepts "up" / "down" / "target" and common synonyms ("increase",
"decrease", "提高", "下降", …); anything else is refused with the valid values listed.
"""
from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .fit import MIN_POINTS, ForecastError

__all__ = [
    "CheckedSeries", "InputWarning", "PROPORTION_SCALES", "SeriesInputError", "ShortSeriesWarning",
    "UnitConversionWarning", "check_series", "convert_values", "no_breakdown_message",
    "normalize_direction", "unit_factor",
]

#: Units that are the same proportion on different scales: value = proportion × scale.
PROPORTION_SCALES: dict[str, float] = {
    "比例": 1.0, "proportion": 1.0, "%": 100.0, "‰": 1000.0, "1/万": 10000.0,
    "1/10万": 100000.0,
}
#: Values this many times below the indicator's target value (or above it) are taken for
#: a unit slip and refused. Real series stray far from targets (a county's maternal
#: mortality of 150/10万 against 12/10万 is 12.5 ×), never by two orders of magnitude.
SCALE_SLIP_FACTOR = 100.0
#: Values all in [0, 1] this many times below a rate / percentage target are proportions.
PROPORTION_SLIP_FACTOR = 30.0

DIRECTIONS: dict[str, str] = {
    "up": "up", "increase": "up", "higher": "up", "rise": "up", "上升": "up",
    "提高": "up", "增加": "up", "越高越好": "up",
    "down": "down", "decrease": "down", "lower": "down", "fall": "down", "下降": "down",
    "降低": "down", "减少": "down", "越低越好": "down",
    "target": "target", "around": "target", "保持": "target",
}


class SeriesInputError(ForecastError):
    """A series given to a model cannot be used as given (the message says why)."""


class InputWarning(UserWarning):
    """A series was used, but not quite as given (the message says how)."""


class ShortSeriesWarning(InputWarning):
    """Too few points for a trend model: the forecast is empty (the message says why)."""


class UnitConversionWarning(InputWarning):
    """Values were converted from the unit given to the indicator's unit."""


@dataclass
class CheckedSeries:
    """A checked series: arrays as the models take them, in the unit the model uses."""

    years: np.ndarray
    values: np.ndarray | None
    counts: np.ndarray | None
    exposures: np.ndarray | None
    unit: str | None
    direction: str | None
    input_unit: str | None = None       # the unit the values were given in, if converted
    factor: float = 1.0                 # values were multiplied by this
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- units
@lru_cache(maxsize=1)
def _units() -> dict[str, dict]:
    from ..indicator_catalog import units

    return units()


def unit_factor(from_unit: str, to_unit: str) -> float | None:
    """Multiplier from ``from_unit`` to ``to_unit`` (1/10万 → ‰: 0.01), None if unknown."""
    if from_unit == to_unit:
        return 1.0
    a, b = PROPORTION_SCALES.get(from_unit), PROPORTION_SCALES.get(to_unit)
    if a is None or b is None:
        return None
    return b / a


def convert_values(values, from_unit: str, to_unit: str) -> np.ndarray:
    """单位换算 — ``values`` in ``from_unit`` expressed in ``to_unit`` (1/10万 → ‰: ÷100).

    Args:
        values: numbers (list, array or Series).
        from_unit, to_unit: units of the same proportion: 比例, %, ‰, 1/万, 1/10万.

    Returns:
        A float numpy array of the converted values.

    Raises:
        SeriesInputError: the two units do not measure the same proportion.
    """
    f = unit_factor(from_unit, to_unit)
    if f is None:
        raise SeriesInputError(_no_conversion(from_unit, to_unit))
    return np.asarray(values, dtype=float) * f


def _no_conversion(given: str, wanted: str, name: str = "") -> str:
    who = f"指标“{name}”" if name else "指标"
    return (f"单位不一致：数值的单位为“{given}”，{who}的单位为“{wanted}”，两者无法换算；"
            f"请以“{wanted}”给出数值（可换算的单位：{'、'.join(_CONVERTIBLE)}）")


_CONVERTIBLE = ("比例", "%", "‰", "1/万", "1/10万")


def normalize_direction(direction: str | None) -> str | None:
    """"up" / "down" / "target" (None stays None); synonyms accepted, others refused."""
    if direction is None:
        return None
    key = str(direction).strip()
    hit = DIRECTIONS.get(key) or DIRECTIONS.get(key.lower())
    if hit is None:
        raise SeriesInputError(
            f"无法识别的方向 direction={direction!r}：应为 'up'（越高越好，也可写 increase、提高）、"
            "'down'（越低越好，也可写 decrease、下降）或 'target'（保持在目标附近）")
    return hit


# --------------------------------------------------------------------------- helpers
def _array(v, n: int | None, what: str) -> np.ndarray | None:
    if v is None:
        return None
    try:
        a = np.asarray(v, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise SeriesInputError(f"{what}须为数值（{exc}）") from exc
    if n is not None and len(a) != n:
        raise SeriesInputError(f"{what}的个数（{len(a)}）与年份个数（{n}）不一致")
    return a


def _years_text(years: np.ndarray, mask: np.ndarray, values: np.ndarray | None = None,
                unit: str = "") -> str:
    idx = np.nonzero(mask)[0][:6]
    if values is None:
        parts = [f"{int(years[i])}年" if math.isfinite(years[i]) else "?" for i in idx]
    else:
        parts = [f"{int(years[i])}年 {values[i]:g}{unit}" for i in idx]
    more = "等" if mask.sum() > len(idx) else ""
    return "、".join(parts) + more


def _same_kind(unit: str, ind_unit: str) -> bool:
    """``unit`` is a bare unit kind ("rate", "percent") that the indicator's unit has."""
    if unit in _units() or unit in PROPORTION_SCALES:
        return False
    return str((_units().get(ind_unit) or {}).get("kind")) == unit


def _indicator_of(target):
    """The catalogue indicator a target names (or is), else None."""
    from ..indicator_catalog import Indicator, indicator as find_indicator

    if isinstance(target, Indicator):
        return target
    if isinstance(target, str):
        return find_indicator(target)
    return None


def _target_value(target) -> float | None:
    t = getattr(target, "target", target)
    kind = getattr(t, "kind", None)
    if kind not in ("at_most", "at_least", "around"):
        return None
    try:
        v = float(t.value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def _warn(message: str, category: type[Warning], stacklevel: int) -> None:
    """Warn the user's code; calls from inside the package (assess, the engine) handle
    short series themselves and stay quiet."""
    try:
        frame = sys._getframe(stacklevel)
        caller = str(frame.f_globals.get("__name__", ""))
    except ValueError:
        caller = ""
    if caller == "wuwei_analysis" or caller.startswith("wuwei_analysis."):
        return
    warnings.warn(message, category, stacklevel=stacklevel + 1)


# --------------------------------------------------------------------------- the check
def check_series(years, values, *, unit: str | None = None, target=None, counts=None,
                 exposures=None, direction: str | None = None,
                 stacklevel: int = 3) -> CheckedSeries:
    """Check a series before it is modelled; convert its unit to the indicator's.

    Args:
        years, values: the series (``values`` may be None when counts and exposures are
            given). NaN values are allowed (they are dropped later), but not all of them.
        unit: the unit of ``values`` (a unit of ``data/units.yaml`` or a unit kind).
        target: as in ``forecast_series``: an indicator id / name / Indicator (its unit is
            then the unit the model uses), a Target, a number, or None.
        counts, exposures: events and denominators per year.
        direction: "up" / "down" / "target" or a synonym ("decrease", "提高", …).
        stacklevel: for warnings, the caller's frame (3 = the caller of forecast_series).

    Returns:
        A :class:`CheckedSeries`: years, values (converted), counts, exposures, unit (the
        indicator's when it was converted), direction (normalised), input_unit, factor,
        notes (Chinese sentences for the forecast's ``attrs["notes"]``).

    Raises:
        SeriesInputError: the series cannot be used as given; the message names the years
            and values concerned, or both units.
    """
    direction = normalize_direction(direction)
    ind = _indicator_of(target)
    notes: list[str] = []
    x = _array(years, None, "年份")
    n = len(x)
    y = _array(values, n, "数值")
    c = _array(counts, n, "事件数（分子）")
    e = _array(exposures, n, "分母")
    if y is None and (c is None or e is None):
        raise SeriesInputError("须给出数值 values，或同时给出事件数 counts 与分母 exposures")
    if n == 0:   # not an error: the forecast is empty (as the vectorised engine's)
        _warn("序列为空：没有任何年份和数值，不作预测（预测表为空）", ShortSeriesWarning,
              stacklevel)
        return CheckedSeries(years=x, values=y, counts=c, exposures=e, unit=unit or
                             (ind.unit if ind is not None else None), direction=direction)
    if not np.all(np.isfinite(x)):
        raise SeriesInputError(f"年份缺失或不是数字（第{int(np.argmin(np.isfinite(x))) + 1}个）")
    if np.any(x != np.round(x)):
        raise SeriesInputError(f"年份须为整数：{_years_text(x, x != np.round(x))}")
    if len(np.unique(x)) != n:
        u, k = np.unique(x, return_counts=True)
        dup = "、".join(f"{int(v)}年" for v in u[k > 1])
        raise SeriesInputError(f"年份重复：{dup}（每年只能有一个值；分性别、城乡的数据请分别建模）")
    # ----- counts and denominators
    if c is not None:
        bad = np.isfinite(c) & (c < 0)
        if bad.any():
            raise SeriesInputError(f"事件数不能为负：{_years_text(x, bad, c)}")
    if e is not None:
        bad = np.isfinite(e) & (e < 0)
        if bad.any():
            raise SeriesInputError(f"分母不能为负：{_years_text(x, bad, e)}")
        zero = np.isfinite(e) & (e == 0)
        if zero.any() and y is None:
            raise SeriesInputError(f"分母为0的年份无法计算率：{_years_text(x, zero, e)}")
        if zero.any():   # the rates are used without their counts (no Poisson model)
            msg = (f"分母为0：{_years_text(x, zero, e)}；这些年份无法计算率，"
                   "因此不用计数（泊松）模型，按给出的数值建模")
            notes.append(msg)
            _warn(msg, InputWarning, stacklevel)
        if c is not None:
            over = np.isfinite(c) & np.isfinite(e) & (c > e)
            if over.any():
                raise SeriesInputError(f"事件数大于分母：{_years_text(x, over, c)}"
                                       "（请核对分子、分母是否填反）")

    # ----- values: something to model
    given = y
    if given is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            given = c / e
    finite = np.isfinite(given)
    if not finite.any():   # not an error: the forecast is empty (as the engine's)
        _warn(f"全部{n}个数值都缺失（NaN），没有可用于建模的数据点，不作预测（预测表为空）",
              ShortSeriesWarning, stacklevel)

    # ----- unit: convert to the indicator's
    input_unit, factor = None, 1.0
    if ind is not None and unit is not None and ind.unit and unit != ind.unit \
            and not _same_kind(unit, ind.unit):
        f = unit_factor(unit, ind.unit)
        if f is None:
            raise SeriesInputError(_no_conversion(unit, ind.unit, ind.name_zh),
                                   indicator=ind.id)
        if y is not None:
            y = y * f
        input_unit, factor = unit, f
        msg = (f"数值单位“{unit}”已换算为指标“{ind.name_zh}”的单位“{ind.unit}”"
               f"（乘以{f:g}），预测结果以“{ind.unit}”表示")
        notes.append(msg)
        _warn(msg, UnitConversionWarning, stacklevel)
        unit = ind.unit
    elif ind is not None and unit is None:
        unit = ind.unit

    # ----- the unit's possible range
    info = _units().get(unit) if unit is not None else None
    t = ind.target if ind is not None else target
    is_gap = getattr(t, "kind", None) == "gap"     # a gap (urban − rural) may be negative
    if y is not None and info is not None and not is_gap:
        lo, hi = info.get("min"), info.get("max")
        shown = f"（数值已由“{input_unit}”换算）" if input_unit else ""
        if lo is not None:
            bad = finite & (y < float(lo))
            if bad.any():
                raise SeriesInputError(f"数值低于单位“{unit}”的下限{float(lo):g}："
                                       f"{_years_text(x, bad, y, unit)}{shown}")
        if hi is not None:
            bad = finite & (y > float(hi))
            if bad.any():
                raise SeriesInputError(f"数值超出单位“{unit}”的上限{float(hi):g}："
                                       f"{_years_text(x, bad, y, unit)}{shown}"
                                       + ("；百分比不能超过100" if unit == "%" else ""))

    # ----- a unit slip against the indicator's target value
    tv = _target_value(ind) if ind is not None else None
    if y is not None and tv is not None and info is not None \
            and info.get("kind") in ("rate", "percent"):
        pos = y[finite & (y > 0)]
        if len(pos) and np.median(pos) > 0:
            med = float(np.median(pos))
            name = f"指标“{ind.name_zh}”"
            if np.all(y[finite] <= 1.0) and tv / med >= PROPORTION_SLIP_FACTOR \
                    and unit in PROPORTION_SCALES:
                scale = PROPORTION_SCALES[unit]
                raise SeriesInputError(
                    f"数值像是比例（0—1之间，中位数{med:g}），而{name}的单位为“{unit}”、"
                    f"目标为{tv:g}{unit}：请把数值乘以{scale:g}，或以 unit=\"比例\" 给出")
            ratio = med / tv
            if ratio >= SCALE_SLIP_FACTOR or ratio <= 1.0 / SCALE_SLIP_FACTOR:
                guess = [u for u in _CONVERTIBLE if u in PROPORTION_SCALES and
                         0.1 <= med * unit_factor(u, unit) / tv <= 10] \
                    if unit in PROPORTION_SCALES else []
                hint = f"；数值也许是以“{'”或“'.join(guess)}”给出的" if guess else ""
                raise SeriesInputError(
                    f"数值（中位数{med:g}{unit}）与{name}的目标{tv:g}{unit}相差约{ratio:.3g}倍，"
                    f"疑为单位错误{hint}；请核对数值与单位“{unit}”")

    # ----- too short for a trend: not an error, but say so
    k = int(finite.sum())
    if 0 < k < MIN_POINTS:
        _warn(f"序列只有{k}个有效数据点（少于{MIN_POINTS}个），不作趋势预测："
              "预测表为空，状态只依据最新值判断", ShortSeriesWarning, stacklevel)
    return CheckedSeries(years=x, values=y, counts=c, exposures=e, unit=unit,
                         direction=direction, input_unit=input_unit, factor=factor,
                         notes=notes)


def no_breakdown_message(obs, data_id, region, breakdown) -> str:
    """Message for a breakdown with no rows, naming the breakdowns the data have.

    Args:
        obs: observations (``breakdown="all"``), data_id: the indicator id, region: the
        region asked for, breakdown: as given to ``forecast``.

    Returns:
        A Chinese sentence, e.g. "没有分组 sex=female 的数据，是否要找：sex=女？（…）".
    """
    from ..suggest import did_you_mean
    from .series import BREAKDOWN_COLUMNS, parse_breakdown, select_rows

    rows = select_rows(obs, data_id, region, "all")
    want = parse_breakdown(breakdown)
    have = []
    for col in BREAKDOWN_COLUMNS:
        if col in rows:
            vals = sorted({str(v) for v in rows[col].dropna() if str(v).strip()})
            if vals:
                have.append(f"{col}：{'、'.join(vals)}")
    asked = "，".join(f"{k}={v}" for k, v in want.items())
    hint = ""
    english = {"female": "女", "f": "女", "women": "女", "male": "男", "m": "男", "men": "男",
               "urban": "城镇", "rural": "农村"}
    for k, v in want.items():
        if k in rows:
            vals = {str(x) for x in rows[k].dropna() if str(x).strip()}
            alias = english.get(str(v).strip().lower())
            hint = hint or (f"，是否要找：{k}={alias}？" if alias in vals
                            else did_you_mean(v, vals))
    avail = "；".join(have) if have else "这一指标在该地区只有合计数"
    return f"没有分组 {asked} 的数据{hint}（该地区已有的分组——{avail}）"
