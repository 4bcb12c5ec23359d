"""The status rules, in one place: every threshold (:data:`STATUS_RULES`), the columns of an
assessment row, and the decisions — 现状 (``current_code``), 2030年展望 (``outlook_code``)
and the combined status (``status_code``) — as functions of the numbers.

:func:`wuwei_analysis.engine.assess_many` applies them column-wise to every region ×
indicator; ``wa.assess`` / ``assess_frame`` are its one-region case. ``docs/status_rules.md``
explains the same rules to officials in Chinese.

The two columns and the combined status
---------------------------------------
现状 ``current_code``: met (已达标) / not_met (未达标) — the latest value against the
target's threshold (an event rate — unit kind rate, or a percentage that should fall —
whose latest year rests on fewer than ``small_events`` events:
the pooled rate of its last ``pool_years`` calendar years, columns ``pooled_value``,
``pooled_years``, ``pooled_events``); no_target (无量化目标) — a qualitative goal, or a direction / gap target
(逐步提高, 差距缩小) that has no number to meet (except a direction target already at its
bound, which is met); no_data (暂无数据) — no value for the region, the indicator not
monitored at this level, or a threshold that cannot be set (no base-year / reference value).

2030年展望 ``outlook_code`` (with ``p_meet``): on_track (按期可达, p ≥ ``on_track_p``) /
at_risk (有风险, ≥ ``at_risk_p``) / off_track (难以实现) from the probability of meeting the
target in its year; for direction and gap targets from the trend confidence; in the mid-term
and final evaluation from the progress rule; insufficient (数据不足) when no probability can
be computed; not_applicable (不适用) for rows not assessed.

``status_code`` (sorting, counts, colour): as before, except that a target met now is
**achieved** (已实现) only when its outlook is on_track (or cannot be judged: fewer than
``min_points`` values, or the target year already observed); met now with an outlook
at_risk / off_track is **may_slip** (已达标但可能回落), never green.

Layer: engine (imports settings, targets; nothing of assessment).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..settings import PLAN_START
from ..targets import DIRECTION_CONFIDENCE
from ..vocab.labels import CURRENT_LABELS, OUTLOOK_LABELS, STATUS_LABELS

#: Every threshold the status and warning rules use.
STATUS_RULES: dict[str, Any] = {
    "min_points": 3,              # fewer values: no trend, status from the latest value
    "max_age_years": 5,           # latest value older than this (vs report year): insufficient
    "on_track_p": 0.80,           # p_meet ≥ this: on track (met now: achieved)
    "at_risk_p": 0.50,            # p_meet ≥ this (and < on_track_p): at risk; below: off track
    "direction_on_track": DIRECTION_CONFIDENCE,  # trend confidence for direction / gap
    "direction_at_risk": 0.50,
    "ceiling_percent": 99.5,      # a rising percentage at or above this: achieved
    "progress_on_track": 0.90,    # mid-term / final: share of the expected progress made
    "progress_at_risk": 0.50,
    "baseline_year": PLAN_START - 1,   # 2020
    "stale_years": 2,             # latest value this many years older than report year
    "small_events": 20,           # fewer events behind the latest rate: warning; and
                                  # 现状 from the pooled rate of the last pool_years years
    "pool_years": 3,              # calendar years pooled for a small-count rate
    "flat_trend_p": 0.05,         # two-sided p of the trend slope ≥ this: "indistinguishable
                                  # from flat" said in the reason
    "volatile_sd": 0.15,          # residual sd on the log scale (rates, counts): ≈ 15 %
    "volatile_pp": 2.0,           # residual sd of a percentage, in percentage points
    "volatile_cv": 0.05,          # residual sd / mean level for other units
    "moving_away_confidence": 0.80,
    "recent_window": 5,           # points used for moving_away
    "outlier_mad_k": 3.0,         # |residual − median| > k × 1.4826 × MAD: outlier
    "outlier_min_points": 5,
    "outlier_mad_floor": 0.05,    # robust sd floor, log scale (other units: 1 % of the level)
    "outlier_mad_floor_identity": 0.01,
}

KINDS = ("annual", "midterm", "final")

#: The columns of an assessment row, in order.
ASSESS_COLUMNS = [
    "indicator", "name_zh", "domain", "domain_code", "plan", "unit", "region",
    "latest_year", "latest_value", "target_kind", "target_value", "target_year",
    "target_text", "status_code", "status", "current_code", "current", "outlook_code",
    "outlook", "p_meet", "forecast_value", "forecast_lo80",
    "forecast_hi80", "required_annual_change", "observed_annual_change", "required_aarr",
    "observed_aarr", "model", "warnings", "warning_codes", "illustrative", "n_points",
    "reason", "threshold", "base_value", "path_value", "progress_ratio", "eval_year",
    "pooled_value", "pooled_years", "pooled_events", "trend_p",
]


# --------------------------------------------------------------------------- the rules
def bands(p, on_track: float, at_risk: float) -> np.ndarray:
    """on_track (p ≥ on_track) / at_risk (p ≥ at_risk) / off_track, column-wise;
    insufficient where p is NaN."""
    p = np.asarray(p, float)
    with np.errstate(invalid="ignore"):
        out = np.where(p >= on_track, "on_track", np.where(p >= at_risk, "at_risk",
                                                           "off_track")).astype(object)
    out[np.isnan(p)] = "insufficient"
    return out


def threshold_status(meets_now, n, p) -> np.ndarray:
    """Annual rule for at_most / at_least / around / relative_change (before the outlook
    check of :func:`decide`): met now → achieved; fewer than ``min_points`` values or no
    p_meet → insufficient; else by p_meet (``on_track_p``, ``at_risk_p``)."""
    p = np.asarray(p, float)
    out = bands(p, STATUS_RULES["on_track_p"], STATUS_RULES["at_risk_p"])
    out[np.asarray(n) < STATUS_RULES["min_points"]] = "insufficient"
    out[np.asarray(meets_now, bool)] = "achieved"
    return out


def trend_status(p, *, final: bool = False) -> np.ndarray:
    """Rule for direction and gap targets (one-sided confidence of the good sign); in the
    final evaluation on track means achieved."""
    out = bands(p, STATUS_RULES["direction_on_track"], STATUS_RULES["direction_at_risk"])
    if final:
        out[out == "on_track"] = "achieved"
    return out


def progress_status(ratio) -> np.ndarray:
    """Mid-term / final rule: the share of the expected progress made."""
    return bands(ratio, STATUS_RULES["progress_on_track"], STATUS_RULES["progress_at_risk"])


def _nan(v) -> float:
    return np.nan if v is None else float(v)


def status_for_threshold(latest_meets: bool | None, n_points: int, p_meet: float | None
                         ) -> str:
    """:func:`threshold_status` for one row."""
    if latest_meets is None:
        return "insufficient"
    return str(threshold_status([bool(latest_meets)], [n_points], [_nan(p_meet)])[0])


def status_for_trend(p_good: float | None, *, final: bool = False) -> str:
    """:func:`trend_status` for one row."""
    return str(trend_status([_nan(p_good)], final=final)[0])


def status_for_progress(ratio: float) -> str:
    """:func:`progress_status` for one row."""
    return str(progress_status([_nan(ratio)])[0])


# --------------------------------------------------------------------------- the decision
def decide(status: np.ndarray, *, qualitative: np.ndarray, has_data: np.ndarray,
           is_direction: np.ndarray, at_bound: np.ndarray, has_threshold: np.ndarray,
           meets_now: np.ndarray, p: np.ndarray, n: np.ndarray, target_after_latest: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(current_code, outlook_code, status_code) for every row, column-wise.

    ``status`` is the status of the annual / trend / progress rules (achieved, on_track,
    at_risk, off_track, insufficient, not_applicable); the rest are per-row facts: a
    qualitative goal, any value for the region, a direction / gap target, a direction
    target at its bound, a threshold that could be set, the latest value meets it, p_meet
    (NaN: none), the number of values, the target year after the latest year.
    """
    status = np.asarray(status, object).copy()
    U = len(status)
    current = np.full(U, "no_data", object)
    thr_rows = has_data & ~is_direction & has_threshold
    current[thr_rows] = np.where(meets_now[thr_rows], "met", "not_met")
    current[has_data & is_direction] = np.where(at_bound[has_data & is_direction], "met",
                                                "no_target")
    current[qualitative] = "no_target"

    outlook = status.copy()
    outlook[status == "achieved"] = "on_track"
    met_thr = thr_rows & meets_now & (status == "achieved")
    pb = bands(p, STATUS_RULES["on_track_p"], STATUS_RULES["at_risk_p"])
    judged = met_thr & np.isfinite(p) & (n >= STATUS_RULES["min_points"]) \
        & target_after_latest
    outlook[judged] = pb[judged]
    unjudged = met_thr & ~judged & target_after_latest
    outlook[unjudged] = "insufficient"
    slip = met_thr & np.isin(outlook, ("at_risk", "off_track"))
    status[slip] = "may_slip"
    return current, outlook, status


def labels(current: np.ndarray, outlook: np.ndarray, status: np.ndarray):
    """The Chinese labels of the three code columns."""
    def lab(codes, table):
        return np.array([table.get(c, c) for c in codes], object)

    return lab(current, CURRENT_LABELS), lab(outlook, OUTLOOK_LABELS), lab(status,
                                                                           STATUS_LABELS)
