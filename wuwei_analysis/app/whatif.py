"""What-if maths for the app: "if the indicator improves by X % a year from now".

Pure functions, no widgets. A scenario starts from the latest observed value and moves it by
a constant relative rate each year, in the indicator's good direction, up to the target year:

==================  =====================================================================
mode                value in year t (n = t − start year, r = rate / 100)
==================  =====================================================================
``down``            v₀ · (1 − r)ⁿ          lower is better (mortality, at_most targets)
``up``              v₀ · (1 + r)ⁿ          higher is better (coverage, at_least targets)
``toward``          T + (v₀ − T)(1 − r)ⁿ   "保持在 T 左右": the distance to T shrinks by r
==================  =====================================================================

A negative rate is a worsening. Values are kept inside the unit's possible range (a
percentage never passes 100). Whether the scenario meets the target is decided by the
target's own rule (:meth:`wuwei_analysis.targets.Target.meets`); for direction and gap
targets, any sustained improvement (rate > 0) meets them.

The *required* rate is the smallest constant rate that meets a threshold target in the
target year: ``1 − (T / v₀)^(1/n)`` going down, ``(T / v₀)^(1/n) − 1`` going up (the
annual rate of reduction, AARR, that UNICEF and UN IGME report, when going down).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from ..targets import Target

#: Threshold kinds: the target is a number the value is compared with.
THRESHOLD_KINDS = ("at_most", "at_least", "around", "relative_change")
_EPS = 1e-9


@dataclass(frozen=True)
class WhatIf:
    """The result of one scenario (all values in the indicator's unit).

    Attributes:
        rate: the scenario's improvement per year, in % (negative = worsening).
        mode: "down", "up" or "toward" (see module docstring); None when not applicable.
        start_year, start_value: where the scenario starts (the latest observation).
        target_year: the year it is judged in.
        years, values: the path, from start_year to target_year inclusive.
        final_value: the value in target_year (None when not applicable).
        threshold: the number the target compares with (None for direction / gap).
        meets: whether the final value (or, for direction / gap, the rate) meets the
            target; None when it cannot be judged.
        required_rate: the smallest rate (% per year) that meets the target; 0.0 when the
            latest value already meets it; None when no constant rate can (or the target is
            not a threshold).
        required_abs: the straight-line change per year (unit / year, signed) from the
            latest value to the threshold; None when not applicable.
        feasible: False when the threshold is out of reach of any constant rate (e.g. a
            target of 0 by relative decline, or above the unit's maximum).
    """

    rate: float
    mode: str | None
    start_year: int | None
    start_value: float | None
    target_year: int | None
    years: tuple[int, ...] = ()
    values: tuple[float, ...] = ()
    final_value: float | None = None
    threshold: float | None = None
    meets: bool | None = None
    required_rate: float | None = None
    required_abs: float | None = None
    feasible: bool = True

    @property
    def already_met(self) -> bool:
        return self.required_rate == 0.0

    @property
    def applicable(self) -> bool:
        return self.mode is not None and self.final_value is not None


def scenario_mode(target: Target, direction: str | None = None) -> str | None:
    """"down", "up" or "toward" for a target (None for qualitative targets)."""
    if target.kind == "qualitative":
        return None
    if target.kind == "around":
        return "toward"
    lib = target.lower_is_better
    if lib is None and direction in ("up", "down"):
        lib = direction == "down"
    if lib is None:
        return None
    return "down" if lib else "up"


def _clip(v: float, lower: float | None, upper: float | None) -> float:
    if lower is not None and v < lower:
        return float(lower)
    if upper is not None and v > upper:
        return float(upper)
    return v


def project(start_value: float, start_year: int, rate: float, *, mode: str,
            to_year: int, toward: float | None = None, lower: float | None = None,
            upper: float | None = None) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The scenario path from ``start_year`` to ``to_year`` (inclusive).

    Args:
        start_value, start_year: the latest observation.
        rate: improvement per year in % (negative = worsening).
        mode: "down", "up" or "toward".
        toward: for mode "toward", the value the indicator should stay around.
        lower, upper: the unit's possible range; the path is kept inside it.
    """
    r = float(rate) / 100.0
    years = tuple(range(int(start_year), int(to_year) + 1))
    vals: list[float] = []
    v0 = float(start_value)
    for y in years:
        n = y - int(start_year)
        if mode == "down":
            v = v0 * (1.0 - r) ** n if r < 1 else 0.0
        elif mode == "up":
            v = v0 * (1.0 + r) ** n
        elif mode == "toward":
            if toward is None:
                raise ValueError("mode 'toward' needs the value to move toward")
            v = toward + (v0 - toward) * ((1.0 - r) ** n if r < 1 else 0.0)
        else:
            raise ValueError(f"unknown scenario mode {mode!r}")
        vals.append(_clip(v, lower, upper))
    return years, tuple(vals)


def required_rate(start_value: float, threshold: float, years: int, *, mode: str,
                  tolerance: float | None = None, upper: float | None = None
                  ) -> float | None:
    """The smallest constant rate (% per year) that brings ``start_value`` to ``threshold``.

    Returns 0.0 when the start value already meets it, None when no constant rate can
    (threshold 0 by decline, a non-positive start going up, a threshold above ``upper``,
    or no years left).
    """
    v0, t = float(start_value), float(threshold)
    if mode == "down":
        if v0 <= t + _EPS:
            return 0.0
        if years <= 0 or t <= 0:
            return None
        return (1.0 - (t / v0) ** (1.0 / years)) * 100.0
    if mode == "up":
        if v0 >= t - _EPS:
            return 0.0
        if years <= 0 or v0 <= 0 or (upper is not None and t > upper + _EPS):
            return None
        return ((t / v0) ** (1.0 / years) - 1.0) * 100.0
    if mode == "toward":
        tol = float(tolerance or 0.0)
        gap = abs(v0 - t)
        if gap <= tol + _EPS:
            return 0.0
        if years <= 0 or tol <= 0:
            return None
        return (1.0 - (tol / gap) ** (1.0 / years)) * 100.0
    raise ValueError(f"unknown scenario mode {mode!r}")


def observed_rate(years: Sequence[float], values: Sequence[float], *, mode: str | None,
                  toward: float | None = None, last_n: int = 6) -> float | None:
    """The improvement per year (%) of the recent history, on the scenario's own scale.

    A log-linear least-squares slope over the last ``last_n`` positive values (for
    "toward", of the distance to the target value). None with fewer than 2 usable points.
    """
    if mode is None:
        return None
    pts = [(float(x), float(y)) for x, y in zip(years, values)
           if y is not None and math.isfinite(float(y))]
    pts.sort()
    if mode == "toward":
        if toward is None:
            return None
        pts = [(x, abs(y - toward)) for x, y in pts]
    pts = [(x, math.log(y)) for x, y in pts[-last_n:] if y > 0]
    if len(pts) < 2:
        return None
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
    if mode == "up":
        return (math.exp(slope) - 1.0) * 100.0
    return (1.0 - math.exp(slope)) * 100.0


def whatif(target: Target, start_year: int | None, start_value: float | None, rate: float,
           *, direction: str | None = None, threshold: float | None = None,
           base_value: float | None = None, reference_value: float | None = None,
           lower: float | None = None, upper: float | None = None) -> WhatIf:
    """One scenario for an indicator's target (see module docstring).

    Args:
        target: the plan target (its year is the scenario's end).
        start_year, start_value: the latest observation (None: nothing to project).
        rate: improvement per year in %.
        direction: the indicator's good direction, when the target does not imply it.
        threshold: the target's number, if already known (else from ``target.threshold``).
        base_value, reference_value: for relative_change / reference targets.
        lower, upper: the unit's possible range.
    """
    mode = scenario_mode(target, direction)
    ty = int(target.year)
    if mode is None or start_value is None or start_year is None \
            or not math.isfinite(float(start_value)):
        return WhatIf(rate=float(rate), mode=mode, start_year=start_year,
                      start_value=start_value, target_year=ty, feasible=False)
    if threshold is None and target.kind in THRESHOLD_KINDS:
        threshold = target.threshold(base_value, reference_value)
    toward = threshold if mode == "toward" else None
    if mode == "toward" and toward is None:
        return WhatIf(rate=float(rate), mode=None, start_year=start_year,
                      start_value=start_value, target_year=ty, feasible=False)
    end = max(ty, int(start_year))
    years, values = project(float(start_value), int(start_year), rate, mode=mode, to_year=end,
                            toward=toward, lower=lower, upper=upper)
    final = values[-1]
    n = ty - int(start_year)
    meets: bool | None
    req = req_abs = None
    feasible = True
    if target.kind in ("direction", "gap"):
        meets = bool(rate > 0)
    elif threshold is None:
        meets = None
    else:
        meets = target.meets(final, base_value=base_value, reference_value=reference_value)
        req = required_rate(float(start_value), float(threshold), n, mode=mode,
                            tolerance=target.tolerance, upper=upper)
        if req is None:
            feasible = False
        elif req > 0 and n > 0:
            goal = float(threshold)
            if mode == "toward":
                tol = float(target.tolerance or 0.0)
                goal = goal + tol if float(start_value) > goal else goal - tol
            req_abs = (goal - float(start_value)) / n
    return WhatIf(rate=float(rate), mode=mode, start_year=int(start_year),
                  start_value=float(start_value), target_year=ty, years=years, values=values,
                  final_value=final, threshold=None if threshold is None else float(threshold),
                  meets=meets, required_rate=req, required_abs=req_abs, feasible=feasible)


# --------------------------------------------------------------------------- relative to the trend
#: How likely a scenario meets a threshold target, from where its 80 % range lies.
#: Said as where the range lies (not as a confidence word, which read as contradicting the
#: status's 达标概率 beside it, e.g. "把握不大" next to 87 %).
CHANCE_ZH = {"likely": "80%区间全部达标，很可能实现",
             "possible": "预测值达标，但80%区间跨过目标，仍有达不到的可能",
             "unlikely": "预测值未达标，但80%区间内仍有达标的可能",
             "very_unlikely": "80%区间全部未达标，很难实现"}


@dataclass(frozen=True)
class TrendWhatIf(WhatIf):
    """A scenario relative to the modelled trend (see :func:`trend_whatif`).

    Extra attributes:
        trend_final: the trend forecast in the target year (the scenario at rate 0).
        lo80, hi80: the scenario's 80 % range in the target year (the trend forecast's
            range moved with the scenario).
        chance: "likely", "possible", "unlikely" or "very_unlikely" (threshold targets).
        base: "trend" (from the modelled level) or "latest" (no model: the latest value).
    """

    trend_final: float | None = None
    lo80: float | None = None
    hi80: float | None = None
    chance: str | None = None
    base: str = "trend"

    @property
    def worse_than_trend(self) -> bool:
        return self.rate < 0

    @property
    def chance_zh(self) -> str:
        return CHANCE_ZH.get(self.chance or "", "")


def _factor(mode: str, r: float, n: int) -> float:
    if mode == "up":
        return (1.0 + r) ** n
    return (1.0 - r) ** n if r < 1 else 0.0


def _moved(mode: str, v: float, r: float, n: int, toward: float | None) -> float:
    """The trend value ``v`` n years after the start, moved by ``r`` a year in the good
    direction (for "toward": its distance to the target value shrinks by r a year)."""
    if mode == "toward":
        return float(toward) + (v - float(toward)) * _factor("down", r, n)
    return v * _factor(mode, r, n)


def trend_whatif(target: Target, trend_years: Sequence[int], trend_mean: Sequence[float],
                 start_year: int, start_level: float, rate: float, *,
                 lo80: float | None = None, hi80: float | None = None,
                 direction: str | None = None, threshold: float | None = None,
                 base_value: float | None = None, reference_value: float | None = None,
                 lower: float | None = None, upper: float | None = None) -> TrendWhatIf:
    """"Better (or worse) than the current trend by ``rate`` % a year" from the modelled level.

    At rate 0 the scenario *is* the trend forecast (mean and 80 % range). At rate r the trend
    value of year t is moved by (1 − r)ⁿ going down, (1 + r)ⁿ going up (n = t − start year),
    or its distance to an "around" target shrinks by that factor; the range moves with it.

    Args:
        trend_years, trend_mean: the trend forecast (years after ``start_year``).
        start_year, start_level: the latest observed year and the model's level there
            (its fitted value, not the noisy observation).
        lo80, hi80: the trend forecast's 80 % range in the target year.
        Others as in :func:`whatif`.
    """
    mode = scenario_mode(target, direction)
    ty = int(target.year)
    y0 = int(start_year)
    if threshold is None and target.kind in THRESHOLD_KINDS:
        threshold = target.threshold(base_value, reference_value)
    toward = threshold if mode == "toward" else None
    trend = {int(y): float(v) for y, v in zip(trend_years, trend_mean)
             if v is not None and math.isfinite(float(v))}
    if mode is None or (mode == "toward" and toward is None) or ty not in trend \
            or not math.isfinite(float(start_level)):
        return TrendWhatIf(rate=float(rate), mode=None, start_year=y0,
                           start_value=float(start_level), target_year=ty, feasible=False)
    r = float(rate) / 100.0
    years = tuple(range(y0, max(ty, y0) + 1))
    values = []
    for y in years:
        v = float(start_level) if y == y0 else trend.get(y)
        if v is None:   # a gap in the forecast years: interpolate from the start
            v = float(start_level)
        values.append(_clip(_moved(mode, v, r, y - y0, toward), lower, upper))
    n = ty - y0
    final = values[years.index(ty)] if ty in years else values[-1]
    trend_final = trend[ty]
    shift_lo = shift_hi = None
    if lo80 is not None and hi80 is not None and math.isfinite(lo80) and math.isfinite(hi80):
        shift_lo = _clip(_moved(mode, float(lo80), r, n, toward), lower, upper)
        shift_hi = _clip(_moved(mode, float(hi80), r, n, toward), lower, upper)
        shift_lo, shift_hi = min(shift_lo, shift_hi), max(shift_lo, shift_hi)
    meets: bool | None
    req = req_abs = None
    chance = None
    feasible = True
    if target.kind in ("direction", "gap"):
        good_up = mode == "up"
        meets = final > start_level if good_up else final < start_level
    elif threshold is None:
        meets = None
    else:
        def ok(v):
            return bool(target.meets(v, base_value=base_value, reference_value=reference_value))

        meets = ok(final)
        if shift_lo is not None:
            both = [ok(shift_lo), ok(shift_hi)]
            chance = ("likely" if all(both) else "possible" if meets
                      else "unlikely" if any(both) else "very_unlikely")
        # the smallest rate (relative to the trend) that brings the trend to the threshold
        req = required_rate(trend_final, float(threshold), n, mode=mode,
                            tolerance=target.tolerance, upper=upper)
        if req is None:
            feasible = False
        elif req > 0 and n > 0:
            req_abs = (float(threshold) - float(start_level)) / n
    return TrendWhatIf(rate=float(rate), mode=mode, start_year=y0,
                       start_value=float(start_level), target_year=ty, years=years,
                       values=tuple(values), final_value=final,
                       threshold=None if threshold is None else float(threshold), meets=meets,
                       required_rate=req, required_abs=req_abs, feasible=feasible,
                       trend_final=trend_final, lo80=shift_lo, hi80=shift_hi, chance=chance)
