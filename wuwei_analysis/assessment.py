"""Status, probability of meeting the target, and early warnings, one row per indicator.

``assess(region, year)`` reads the database; ``assess_frame(obs, region, year)`` does the
same on any observations-shaped DataFrame (the store's columns). Every rule and threshold is
in :data:`STATUS_RULES`; ``docs/status_rules.md`` explains them to officials in Chinese.

Status rules (``kind="annual"``, the default)
---------------------------------------------
Targets with a threshold (at_most, at_least, around, relative_change):

1. no data for the region up to the report year, or the latest value older than
   ``max_age_years`` (5) → **insufficient** (数据不足);
2. the latest value meets the target → **achieved** (已实现) — with the warning
   ``may_slip`` when the forecast gives p_meet < ``may_slip_p`` (0.5);
3. fewer than ``min_points`` (3) values → **insufficient** (no trend is fitted);
4. otherwise p_meet = P(value in the target year meets the target), from the forecast's
   predictive distribution: p_meet ≥ ``on_track_p`` (0.80) → **on_track** (按期可达);
   ``at_risk_p`` (0.50) ≤ p_meet < 0.80 → **at_risk** (有风险); below → **off_track**
   (难以实现).

Direction targets (逐步提高 / 持续下降) and gap targets (差距缩小), judged on the trend:
p = one-sided confidence that the trend's slope has the good sign (``targets``;
window: from 2020 if ≥ 3 points, else the last 6 points; a gap is judged on its absolute
value). p ≥ 0.80 → on_track (achieved in the final evaluation), 0.50–0.80 → at_risk,
< 0.50 → off_track. A percentage already ≥ ``ceiling_percent`` (99.5) that should rise,
or a rate already 0 that should fall, is achieved (it cannot go further).

Relative-change targets (以2020年为基数下降20%) become a threshold base × (1 + change), with
the base taken from the region's own 2020 value (or, for the city, the plan's stated
baseline); without a base → insufficient. A target given by another indicator
(``reference``) uses that indicator's latest value in the region as the threshold.

``kind="midterm"`` (2025) / ``kind="final"`` (2030)
    Progress against the straight path from the 2020 baseline B to the target T in the
    target year: the path value P at the evaluation year, the value V there (observed; if
    not yet observed, the forecast), and the progress ratio r = (V − B) / (P − B).
    V meets the final target → achieved; r ≥ ``progress_on_track`` (0.9) → on_track;
    ``progress_at_risk`` (0.5) ≤ r < 0.9 → at_risk; r < 0.5 (including moving backwards)
    → off_track. Without a baseline, or when the baseline already met the target, the
    annual rule applies. ``final`` with the 2030 value observed: achieved or off_track.
    Direction / gap / around targets use the annual rule in every mode.

Qualitative goals (机制、体系…) are listed with status **not_applicable** (不适用), as are
indicators not measured at the region's level (e.g. a city-only indicator for a county) and
indicators marked not monitorable that have no data.

Warnings (codes → Chinese text in ``warnings``; thresholds in STATUS_RULES)
    stale          the latest value is ≥ ``stale_years`` (2) years older than the report year
    small_numbers  the latest rate rests on fewer than ``small_events`` (20) events (its
                   numerator, or value × denominator); for a percentage: a denominator
                   below 20, or (one that should fall) a numerator below 20
    volatile       residual sd around a straight trend ≥ ``volatile_sd`` (rates and counts,
                   log scale: ≈ 15 %), ≥ ``volatile_pp`` (percentages: 2 percentage points)
                   or ≥ ``volatile_cv`` (other units: 5 % of the mean level); not checked
                   when the small-numbers warning already explains the noise
    moving_away    the recent trend (last ``recent_window`` points) moves away from the
                   target with one-sided confidence ≥ ``moving_away_confidence`` (0.8)
    outlier        a point lies more than ``outlier_mad_k`` (3) robust sd (1.4826 × MAD)
                   from the trend fitted without it (DHIS2-style median/MAD on a separate
                   baseline: the other points; log scale for rates, percentage points for
                   percentages; robust sd at least 5 % / 1 % of the level); the expected
                   range is given
    may_slip       achieved now, but p_meet < 0.5 in the target year
    low_trust / provisional / illustrative   about the data used
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from .settings import FINAL_YEAR, MIDTERM_YEAR, PLAN_START
from .targets import DIRECTION_CONFIDENCE, Target, trend_slope_confidence

if TYPE_CHECKING:
    import pandas as pd

    from .catalog import Indicator

#: Status codes, their Chinese and English labels, in display order.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "achieved": ("已实现", "achieved"),
    "on_track": ("按期可达", "on track"),
    "at_risk": ("有风险", "at risk"),
    "off_track": ("难以实现", "off track"),
    "insufficient": ("数据不足", "insufficient data"),
    "not_applicable": ("不适用", "not applicable"),
}
STATUS_ZH = {k: v[0] for k, v in STATUS_LABELS.items()}

#: Every threshold the status and warning rules use (see module docstring).
STATUS_RULES: dict[str, Any] = {
    "min_points": 3,              # fewer values: no trend, status from the latest value
    "max_age_years": 5,           # latest value older than this (vs report year): insufficient
    "on_track_p": 0.80,           # p_meet ≥ this: on track
    "at_risk_p": 0.50,            # p_meet ≥ this (and < on_track_p): at risk; below: off track
    "may_slip_p": 0.50,           # achieved but p_meet below this: warning may_slip
    "direction_on_track": DIRECTION_CONFIDENCE,  # trend confidence for direction / gap
    "direction_at_risk": 0.50,
    "ceiling_percent": 99.5,      # a rising percentage at or above this: achieved
    "progress_on_track": 0.90,    # mid-term / final: share of the expected progress made
    "progress_at_risk": 0.50,
    "baseline_year": PLAN_START - 1,   # 2020
    "stale_years": 2,             # latest value this many years older than report year
    "small_events": 20,           # fewer events behind the latest rate: warning
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

#: Warning codes and their Chinese labels (the text in ``warnings`` adds specifics).
WARNING_LABELS = {
    "stale": "近年数据缺失",
    "small_numbers": "事件数少，比率不稳定",
    "volatile": "波动较大",
    "moving_away": "偏离目标方向",
    "outlier": "数值偏离趋势",
    "may_slip": "已达标但可能回落",
    "low_trust": "数据可信度低",
    "provisional": "含初步数",
    "illustrative": "含示例数据（非真实统计）",
}

ASSESS_COLUMNS = [
    "indicator", "name_zh", "domain", "domain_code", "plan", "unit", "region",
    "latest_year", "latest_value", "target_kind", "target_value", "target_year",
    "target_text", "status_code", "status", "p_meet", "forecast_value", "forecast_lo80",
    "forecast_hi80", "required_annual_change", "observed_annual_change", "required_aarr",
    "observed_aarr", "model", "warnings", "warning_codes", "illustrative", "n_points",
    "reason", "threshold", "base_value", "path_value", "progress_ratio", "eval_year",
]
KINDS = ("annual", "midterm", "final")
_GAP_SUFFIX = re.compile(r"_(urban_rural|sex|region)_gap$")
_ID_IN_TEXT = re.compile(r"\b[wc]_[a-z0-9]+(?:_[a-z0-9]+)*\b")


# --------------------------------------------------------------------------- formatting
@lru_cache(maxsize=512)
def _decimals(unit: str) -> int:
    from .catalog import units

    try:
        return int(units().get(unit, {}).get("decimals", 2))
    except Exception:
        return 2


def unit_suffix(unit: str) -> str:
    """How a unit follows a number: "1/10万" → "/10万" (16.0/10万), others unchanged."""
    return unit[1:] if unit.startswith("1/") else unit


def format_number(v: float, decimals: int) -> str:
    """``v`` with ``decimals`` decimals, floating-point noise removed first.

    The value is rounded to 12 significant digits before it is rounded for display, and a
    result of zero never shows a minus sign: 7.850000000000004 and 7.85 (one computed by
    statsmodels, one in closed form) print alike, and a trend of −1e-17 prints as 0.00.
    """
    s = f"{float(f'{v:.12g}'):.{decimals}f}"
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s


def _fmt(v: float | None, unit: str, extra: int = 0, *, suffix: bool = True) -> str:
    if v is None or not np.isfinite(v):
        return "—"
    d = _decimals(unit) + extra
    return f"{format_number(v, d)}{unit_suffix(unit) if suffix else ''}"


def _pct(p: float | None) -> str:
    if p is None:
        return "—"
    if p > 0.99:
        return "99%以上"
    if p < 0.01:
        return "不足1%"
    return f"{format_number(p * 100, 0)}%"


def trend_phrase(slope: float, unit: str) -> str:
    """"近年呈上升趋势（年均+0.12‰）", or "近年基本持平（年均0.000‰）" when the trend shows as
    zero at the unit's precision (its sign would be rounding noise)."""
    num = _fmt(slope, unit, 1)
    if float(format_number(slope, _decimals(unit) + 1)) == 0.0:
        return f"近年基本持平（年均{num}）"
    word = "上升" if slope > 0 else "下降"
    return f"近年呈{word}趋势（年均{'+' if slope > 0 else ''}{num}）"


# --------------------------------------------------------------------------- series
def _region_info(region: str):
    from .regions import region as find_region

    return find_region(region)


def _series_for(obs, ind_id: str, region, breakdown=None, year=None):
    """The series of one indicator; ``obs`` is a frame or an ``index_series`` dict."""
    from .models.series import lookup, select_rows, to_series

    if isinstance(obs, dict):
        return lookup(obs, ind_id, _region_info(region).code, breakdown, year)
    return to_series(select_rows(obs, ind_id, region, breakdown, year_max=year))


def _data_id(ind) -> str:
    """The id an indicator's observations are stored under (``same_as`` shares data)."""
    if isinstance(ind, str):
        from .catalog import indicator as find_indicator

        try:
            ind = find_indicator(ind)
        except Exception:
            return ind
    return getattr(ind, "data_id", None) or ind.id


def _gap_base_id(ind: "Indicator", known: set[str]) -> str | None:
    """The indicator whose breakdown gives this gap indicator's gap."""
    if ind.target.reference and ind.target.reference in known:
        return ind.target.reference
    base = _GAP_SUFFIX.sub("", ind.id)
    if base != ind.id and base in known:
        return base
    for text in (ind.notes, ind.definition):
        for cand in _ID_IN_TEXT.findall(text or ""):
            if cand in known and cand != ind.id:
                return cand
    return None


_GAP_GROUPS = {"urban_rural": ("urban_rural", ("农村",), ("城镇", "城市")),
               "sex": ("sex", ("女",), ("男",))}


def county_range(series, src: str):
    """The between-county gap of one indicator: for each year with at least two counties'
    values, their range (max − min). ``series``: the counties' Series. Returns (years,
    gaps, note, illustrative), or None when no year has two values."""
    per: dict[int, list[float]] = {}
    ill = False
    for s in series:
        ill |= s.illustrative
        for y, v in zip(s.years, s.values):
            per.setdefault(int(y), []).append(v)
    yrs = sorted(y for y, vs in per.items() if len(vs) >= 2)
    if not yrs:
        return None
    gaps = [max(per[y]) - min(per[y]) for y in yrs]
    return (np.array(yrs, float), np.array(gaps, float), f"按各县（区）{src}的极差计算", ill)


def _gap_series(obs, ind: "Indicator", region, year, known: set[str]):
    """(years, gap values, note, illustrative) for a gap target; gap = a − b per year."""
    own = _series_for(obs, _data_id(ind), region, None, year)
    if len(own):
        return own.years, own.values, "", own.illustrative
    kind = ind.target.gap
    sources = [_data_id(ind)]
    base = _gap_base_id(ind, known)
    if base:
        sources.append(_data_id(base))
    if kind == "region":
        from .regions import all_regions

        counties = [r for r in all_regions() if r.level == "county"]
        for src in sources:
            found = county_range([_series_for(obs, src, r.code, None, year) for r in counties],
                                 src)
            if found is not None:
                return found
        return np.array([]), np.array([]), "", False
    if kind not in _GAP_GROUPS:
        return np.array([]), np.array([]), "", False
    col, a_vals, b_vals = _GAP_GROUPS[kind]
    for src in sources:
        sa = sb = None
        for a in a_vals:
            s = _series_for(obs, src, region, {col: a}, year)
            if len(s):
                sa = s
                break
        for b in b_vals:
            s = _series_for(obs, src, region, {col: b}, year)
            if len(s):
                sb = s
                break
        if sa is None or sb is None:
            continue
        common = np.intersect1d(sa.years, sb.years)
        if len(common):
            va = np.array([sa.value_in(int(y)) for y in common])
            vb = np.array([sb.value_in(int(y)) for y in common])
            name = "城乡" if kind == "urban_rural" else "男女"
            return (common, va - vb, f"由{src}的{name}分组数值计算",
                    sa.illustrative or sb.illustrative)
    return np.array([]), np.array([]), "", False


# --------------------------------------------------------------------------- warnings
def _warning_scale(unit: str, target: Target):
    """Scale the warning rules work on: log for rates, counts and other positive quantities
    (relative deviations); identity for percentages (percentage points — on the logit scale
    99.7 % and 99.9 % would look far apart) and everything else."""
    from .models.core import resolve_spec
    from .models.fit import Scale

    scale = resolve_spec(unit, target_kind=target.kind, direction=target.direction).scale
    return scale if scale.kind == "log" else Scale("identity")


def _z(scale, values: np.ndarray) -> np.ndarray:
    from .models.fit import ForecastError, to_model_scale

    try:
        return to_model_scale(scale, values)
    except ForecastError:
        return np.asarray(values, float)


def _line(x: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    xc = x - x.mean()
    sxx = float((xc ** 2).sum())
    b = float((xc * (z - z.mean())).sum() / sxx) if sxx > 0 else 0.0
    return float(z.mean() - b * x.mean()), b


def volatility(years, values, scale) -> float | None:
    """Residual sd around a straight trend on the modelling scale (identity: ÷ mean level)."""
    x = np.asarray(years, float)
    if len(x) < 4:
        return None
    z = _z(scale, np.asarray(values, float))
    a, b = _line(x, z)
    sd = float(np.sqrt(((z - a - b * x) ** 2).sum() / (len(x) - 2)))
    if scale.kind == "identity":
        level = float(np.mean(np.abs(values)))
        return sd / level if level > 0 else None
    return sd


def outliers(years, values, scale, k: float | None = None) -> list[dict]:
    """Points far from the trend fitted without them (median/MAD of the other residuals).

    Returns one dict per outlying point: year, value, low, high (the expected range in the
    unit), score (distance in robust sd).
    """
    k = STATUS_RULES["outlier_mad_k"] if k is None else k
    x = np.asarray(years, float)
    y = np.asarray(values, float)
    if len(x) < STATUS_RULES["outlier_min_points"]:
        return []
    z = _z(scale, y)
    floor = STATUS_RULES["outlier_mad_floor"]
    if scale.kind != "log":
        floor = STATUS_RULES["outlier_mad_floor_identity"] * max(float(np.mean(np.abs(y))), 1e-9)
    out = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        a, b = _line(x[keep], z[keep])
        base = z[keep] - a - b * x[keep]
        med = float(np.median(base))
        rsd = max(1.4826 * float(np.median(np.abs(base - med))), floor)
        r = float(z[i] - a - b * x[i])
        score = abs(r - med) / rsd
        if score > k:
            centre = a + b * x[i] + med
            lo, hi = scale.inv(np.array([centre - k * rsd, centre + k * rsd]))
            out.append({"year": int(x[i]), "value": float(y[i]), "low": float(lo),
                        "high": float(hi), "score": score})
    return out


def _moving_away(years, values, target: Target, threshold: float | None) -> bool:
    x = np.asarray(years, float)[-STATUS_RULES["recent_window"]:]
    y = np.asarray(values, float)[-STATUS_RULES["recent_window"]:]
    if len(x) < STATUS_RULES["min_points"]:
        return False
    if target.kind == "around":
        if threshold is None:
            return False
        y = np.abs(y - threshold)
        bad = 1.0
    elif target.kind == "gap":
        y = np.abs(y)
        bad = 1.0
    else:
        lib = target.lower_is_better
        if lib is None:
            return False
        bad = 1.0 if lib else -1.0
    _, p = trend_slope_confidence(list(x), list(y), bad)
    return p >= STATUS_RULES["moving_away_confidence"]


# --------------------------------------------------------------------------- status rules
def status_for_threshold(latest_meets: bool | None, n_points: int, p_meet: float | None
                         ) -> str:
    """Annual rule for at_most / at_least / around / relative_change (module docstring)."""
    if latest_meets:
        return "achieved"
    if n_points < STATUS_RULES["min_points"] or p_meet is None or latest_meets is None:
        return "insufficient"
    if p_meet >= STATUS_RULES["on_track_p"]:
        return "on_track"
    if p_meet >= STATUS_RULES["at_risk_p"]:
        return "at_risk"
    return "off_track"


def status_for_trend(p_good: float | None, *, final: bool = False) -> str:
    """Rule for direction and gap targets (one-sided confidence of the good sign)."""
    if p_good is None:
        return "insufficient"
    if p_good >= STATUS_RULES["direction_on_track"]:
        return "achieved" if final else "on_track"
    if p_good >= STATUS_RULES["direction_at_risk"]:
        return "at_risk"
    return "off_track"


def status_for_progress(ratio: float) -> str:
    """Mid-term / final rule: the share of the expected progress made."""
    if ratio >= STATUS_RULES["progress_on_track"]:
        return "on_track"
    if ratio >= STATUS_RULES["progress_at_risk"]:
        return "at_risk"
    return "off_track"


# --------------------------------------------------------------------------- one indicator
def _base_row(ind: "Indicator", region_name: str) -> dict:
    t = ind.target
    return {
        "indicator": ind.id, "name_zh": ind.name_zh, "domain": ind.domain_zh,
        "domain_code": ind.domain, "plan": ind.plan, "unit": ind.unit, "region": region_name,
        "latest_year": None, "latest_value": None, "target_kind": t.kind,
        "target_value": t.value, "target_year": int(t.year),
        "target_text": ind.describe_target(), "status_code": "insufficient", "p_meet": None,
        "forecast_value": None, "forecast_lo80": None, "forecast_hi80": None,
        "required_annual_change": None, "observed_annual_change": None,
        "required_aarr": None, "observed_aarr": None, "model": "none", "warnings": "",
        "warning_codes": "", "illustrative": False, "n_points": 0, "reason": "",
        "threshold": None, "base_value": None, "path_value": None, "progress_ratio": None,
        "eval_year": None,
    }


def _assess_one(ind: "Indicator", obs: "pd.DataFrame", reg, year: int, kind: str,
                known: set[str], forecasts: dict | None = None) -> dict:
    from .models import forecast_series
    from .models.fit import ForecastError

    row = _base_row(ind, reg.name)
    t = ind.target
    unit = ind.unit
    name = ind.name_zh
    if t.kind == "qualitative":
        row.update(status_code="not_applicable", reason="定性目标，不以数据评估，由成员单位报告进展")
        return row
    if reg.level in ("city", "county", "township") and reg.level not in ind.levels:
        lvl = {"city": "市级", "county": "县（区）级"}.get(reg.level, reg.level)
        row.update(status_code="not_applicable", reason=f"该指标不在{lvl}监测")
        return row

    # ---------- the series
    gap_note = ""
    if t.kind == "gap":
        years, values, gap_note, illustrative = _gap_series(obs, ind, reg.code, year, known)
        s = None
        counts = exposures = None
        low_trust = provisional = False
    else:
        s = _series_for(obs, _data_id(ind), reg.code, None, year)
        years, values = s.years, s.values
        counts = s.counts if s.exposures is not None else None
        exposures = s.exposures
        illustrative, low_trust, provisional = s.illustrative, s.low_trust, s.provisional
    n = len(years)
    row.update(n_points=int(n), illustrative=bool(illustrative))
    if n == 0:
        why = "暂无常规数据来源" if not ind.monitorable else f"{reg.name}暂无该指标数据"
        row.update(status_code="not_applicable" if not ind.monitorable else "insufficient",
                   reason=why + ("（" + gap_note + "）" if gap_note else ""))
        return row
    latest_year, latest = int(years[-1]), float(values[-1])
    row.update(latest_year=latest_year, latest_value=latest)

    # ---------- threshold
    base_value = reference_value = None
    baseline_year = STATUS_RULES["baseline_year"]
    if t.kind == "relative_change":
        base_value = s.value_in(int(t.base_year)) if s is not None else None
        if base_value is None and reg.level == "city":
            base_value = ind.baseline(int(t.base_year))
    if t.reference:
        ref = _series_for(obs, _data_id(t.reference), reg.code, None, year)
        if len(ref):
            reference_value = float(ref.values[-1])
    threshold = t.threshold(base_value, reference_value)
    row.update(threshold=threshold, base_value=base_value)

    # ---------- forecast
    horizon = max(FINAL_YEAR, int(t.year), MIDTERM_YEAR)
    try:
        fc = forecast_series(years, values, unit=unit, target=t, counts=counts,
                             exposures=exposures, horizon_year=horizon,
                             direction=ind.direction if ind.direction in ("up", "down", "target")
                             else None, base_value=base_value, reference_value=reference_value)
    except ForecastError as exc:
        row.update(status_code="insufficient", reason=f"无法建立趋势模型：{exc.message}")
        return row
    a = dict(fc.attrs)
    fc.attrs = {}     # indexing a frame deep-copies its attrs (and the fitted table in them)
    if forecasts is not None:   # the caller keeps the forecast table (e.g. for a chart)
        kept = fc.copy()
        kept.attrs = {k: v for k, v in a.items() if not hasattr(v, "shape")}
        kept.attrs.update(illustrative=bool(illustrative), target_year=int(t.year))
        forecasts[ind.id] = kept
    p_meet = a.get("p_meet")
    row.update(model=a.get("model", "none"), p_meet=p_meet,
               observed_annual_change=a.get("annual_change"), observed_aarr=a.get("aarr"))
    at_target = fc[fc["year"] == int(t.year)]
    if len(at_target):
        r0 = at_target.iloc[0]
        row.update(forecast_value=float(r0["mean"]), forecast_lo80=float(r0["lo80"]),
                   forecast_hi80=float(r0["hi80"]))

    # ---------- required change (threshold kinds)
    if threshold is not None and int(t.year) > latest_year and t.kind != "around":
        dt = int(t.year) - latest_year
        row["required_annual_change"] = (threshold - latest) / dt
        if a.get("scale") == "log" and latest > 0 and threshold > 0:
            row["required_aarr"] = 1.0 - (threshold / latest) ** (1.0 / dt)

    # ---------- status
    stale = year - latest_year
    warn: list[tuple[str, str]] = []
    final = kind == "final"
    eval_year = {"midterm": MIDTERM_YEAR, "final": FINAL_YEAR}.get(kind)
    row["eval_year"] = eval_year
    ty = int(t.year)
    if t.kind in ("direction", "gap"):
        p_good = p_meet
        if t.kind == "direction" and _at_bound(ind, latest):
            status = "achieved"
            reason = (f"{latest_year}年{name}为{_fmt(latest, unit)}，已处于可达上限附近，"
                      f"视为实现“{row['target_text']}”")
        elif stale > STATUS_RULES["max_age_years"]:
            status, reason = "insufficient", f"最新数据为{latest_year}年，已超过{STATUS_RULES['max_age_years']}年，无法判断近期趋势"
        else:
            status = status_for_trend(p_good, final=final)
            if p_good is None:
                reason = f"仅有{n}个年度数据，不足以判断趋势（至少需要{STATUS_RULES['min_points']}个）"
            else:
                from .models import direction_confidence

                good = -1.0 if (t.kind == "gap" or t.direction == "down") else 1.0
                _, slope = direction_confidence(years, values, good_sign=good,
                                                absolute=t.kind == "gap")
                what = f"{name}（绝对差距）" if t.kind == "gap" else name
                reason = (f"{what}{trend_phrase(slope, unit)}，趋势方向符合“{row['target_text']}”"
                          f"的把握约为{_pct(p_good)}")
                if gap_note:
                    reason += f"（{gap_note}）"
        row["p_meet"] = p_good
    else:
        def meets(v: float) -> bool | None:
            return t.meets(v, base_value=base_value, reference_value=reference_value)

        latest_meets = meets(latest)
        if threshold is None:
            status = "insufficient"
            reason = ("缺少" + (f"{t.base_year}年基期值" if t.kind == "relative_change"
                               else "参照指标数值") + "，无法判断是否达标")
        elif stale > STATUS_RULES["max_age_years"] and not latest_meets:
            status = "insufficient"
            reason = f"最新数据为{latest_year}年，距报告年份已超过{STATUS_RULES['max_age_years']}年"
        else:
            status = status_for_threshold(latest_meets, n, p_meet)
            reason = _threshold_reason(status, name, unit, row, latest_year, latest, n, ty,
                                       p_meet)
            if kind in ("midterm", "final") and status != "achieved" and t.kind != "around":
                status, reason = _progress(row, ind, s, fc, status, reason, eval_year,
                                           baseline_year, threshold, kind, reg, meets)
        if status == "achieved" and p_meet is not None and p_meet < STATUS_RULES["may_slip_p"] \
                and n >= STATUS_RULES["min_points"] and ty > latest_year:
            warn.append(("may_slip", f"已达标，但按趋势{ty}年仍达标的概率约为{_pct(p_meet)}"))

    # ---------- warnings
    scale = _warning_scale(unit, t)
    if stale >= STATUS_RULES["stale_years"]:
        warn.append(("stale", f"最新数据为{latest_year}年，近{stale}年数据缺失"))
    ev = _latest_events(s, unit, t.lower_is_better) if s is not None else None
    small = ev is not None and ev < STATUS_RULES["small_events"]
    if small:
        warn.append(("small_numbers", f"{latest_year}年数值仅基于{ev:.0f}例（少于"
                                      f"{STATUS_RULES['small_events']}例），比率不稳定，"
                                      "年际起伏多属随机波动"))
    vol = None if small else volatility(years, values, scale)
    if vol is not None:
        is_pct = _unit_kind(unit) == "percent"
        if scale.kind == "log":
            lim, text = STATUS_RULES["volatile_sd"], f"残差约{vol * 100:.0f}%"
        elif is_pct:
            vol = vol * float(np.mean(np.abs(values)))          # back to percentage points
            lim, text = STATUS_RULES["volatile_pp"], f"残差约{vol:.1f}个百分点"
        else:
            lim, text = STATUS_RULES["volatile_cv"], f"残差约为平均水平的{vol * 100:.0f}%"
        if vol >= lim:
            warn.append(("volatile", f"围绕趋势波动较大（{text}）"))
    if _moving_away(years, values, t, threshold):
        warn.append(("moving_away", "近年走势背离目标方向"))
    for o in ([] if small else outliers(years, values, scale)):
        warn.append(("outlier", f"{o['year']}年数值{_fmt(o['value'], unit)}偏离趋势"
                                f"（预期范围{_fmt(o['low'], unit, suffix=False)}–{_fmt(o['high'], unit)}），请核实"))
    if low_trust:
        warn.append(("low_trust", "部分数据来自非官方转载，可信度低"))
    if provisional:
        warn.append(("provisional", "含初步数，可能修订"))
    if illustrative:
        warn.append(("illustrative", "含示例数据（非真实统计），仅供演示"))
    row.update(status_code=status, reason=reason,
               warnings="；".join(w[1] for w in warn),
               warning_codes=",".join(dict.fromkeys(w[0] for w in warn)))
    return row


def _unit_kind(unit: str) -> str | None:
    from .catalog import units

    return units().get(unit, {}).get("kind")


def _at_bound(ind: "Indicator", latest: float) -> bool:
    from .catalog import units

    kind = units().get(ind.unit, {}).get("kind")
    if ind.target.direction == "up" and kind == "percent":
        return latest >= STATUS_RULES["ceiling_percent"]
    if ind.target.direction == "down" and kind in ("rate", "percent"):
        return latest <= 0
    return False


def _latest_events(s, unit: str, lower_is_better: bool | None = None) -> float | None:
    """Events behind the latest value: for a rate its numerator (or value × denominator /
    scale); for a percentage that should fall (a prevalence, a transmission rate) its
    numerator; for any percentage with a denominator below the threshold, the denominator."""
    from .catalog import units

    u = units().get(unit, {})
    kind = u.get("kind")
    if s is None or len(s) == 0 or kind not in ("rate", "percent"):
        return None
    num = float(s.counts[-1]) if s.counts is not None and np.isfinite(s.counts[-1]) else None
    den = float(s.exposures[-1]) if s.exposures is not None and np.isfinite(s.exposures[-1]) \
        else None
    if num is None and den is not None and u.get("scale"):
        num = float(s.values[-1] * den / float(u["scale"]))
    if kind == "rate":
        return num
    if den is not None and den < STATUS_RULES["small_events"]:
        return den
    return num if lower_is_better else None


def _threshold_reason(status, name, unit, row, latest_year, latest, n, ty, p_meet) -> str:
    tt = row["target_text"]
    if status == "achieved":
        return f"{latest_year}年{name}为{_fmt(latest, unit)}，已达到“{tt}”的目标"
    if status == "insufficient":
        return (f"仅有{n}个年度数据，最新值（{latest_year}年{_fmt(latest, unit)}）尚未达到"
                f"“{tt}”，数据不足以预测趋势")
    fv, lo, hi = row["forecast_value"], row["forecast_lo80"], row["forecast_hi80"]
    text = (f"按当前趋势，{ty}年{name}预计为{_fmt(fv, unit)}（80%区间"
            f"{_fmt(lo, unit, suffix=False)}–{_fmt(hi, unit)}），实现“{tt}”目标的概率约为{_pct(p_meet)}")
    if row["required_annual_change"] is not None and row["observed_annual_change"] is not None:
        text += (f"；需年均变化{_signed(row['required_annual_change'], unit)}，"
                 f"当前趋势年均{_signed(row['observed_annual_change'], unit)}")
    return text


def _signed(v: float, unit: str) -> str:
    s = _fmt(v, unit, 1)
    return s if s.startswith("-") else "+" + s


def _progress(row, ind, s, fc, status, reason, eval_year, baseline_year, threshold, kind,
              reg, meets):
    """Mid-term / final progress rule; returns (status, reason)."""
    base = s.value_in(baseline_year) if s is not None else None
    if base is None and reg.level == "city":
        base = ind.baseline(baseline_year)
    if base is None and s is not None:
        near = [(abs(y - baseline_year), v) for y, v in zip(s.years, s.values)
                if abs(y - baseline_year) <= 1]
        base = min(near)[1] if near else None
    observed_v = s.value_in(eval_year) if s is not None else None
    if observed_v is not None:
        v, v_src = observed_v, "为"
    else:
        hit = fc[fc["year"] == eval_year]
        if not len(hit):
            return status, reason
        v, v_src = float(hit.iloc[0]["mean"]), "预计为"
    return progress_rule(row, ind, v, v_src, observed_v is not None, base, threshold,
                         eval_year, baseline_year, kind, status, reason, meets)


def progress_rule(row: dict, ind, v: float, v_src: str, observed: bool, base: float | None,
                  threshold: float, eval_year: int, baseline_year: int, kind: str,
                  status: str, reason: str, meets) -> tuple[str, str]:
    """The mid-term / final rule once the evaluation-year value ``v`` (observed, or the
    forecast mean: ``v_src`` 为 / 预计为) and the baseline ``base`` are known: progress
    against the straight path from the baseline to the target. Returns (status, reason);
    puts ``path_value`` and ``progress_ratio`` in ``row``. Shared by the per-series and
    the vectorised assessment."""
    t, unit, name = ind.target, ind.unit, ind.name_zh
    if kind == "final" and observed:
        if meets(v):
            return "achieved", f"{eval_year}年{name}为{_fmt(v, unit)}，已实现“{row['target_text']}”"
        return "off_track", f"{eval_year}年{name}为{_fmt(v, unit)}，未实现“{row['target_text']}”"
    if base is None:
        return status, reason + f"（缺少{baseline_year}年基线，按年度规则判断）"
    if meets(base):
        return status, reason + f"（{baseline_year}年基线已达标，按年度规则判断）"
    ty = int(t.year)
    path = base + (threshold - base) * (eval_year - baseline_year) / (ty - baseline_year)
    if abs(path - base) < 1e-12:
        return status, reason
    ratio = (v - base) / (path - base)
    row.update(path_value=path, progress_ratio=ratio)
    new = "achieved" if meets(v) else status_for_progress(ratio)
    text = (f"{eval_year}年{name}{v_src}{_fmt(v, unit)}；按{baseline_year}年基线"
            f"{_fmt(base, unit)}至{ty}年目标{_fmt(threshold, unit)}的线性进度，{eval_year}年应为"
            f"{_fmt(path, unit)}，完成应有进度的{format_number(ratio * 100, 0)}%")
    return new, text


# --------------------------------------------------------------------------- public API
def resolve_indicators(indicators=None) -> list:
    """Indicator objects for ids / names / Indicator objects (one or several); the whole
    catalogue for None."""
    from .catalog import Indicator, indicator as find_indicator, indicators as all_indicators

    if indicators is None:
        return list(all_indicators())
    if isinstance(indicators, (str, Indicator)):
        indicators = [indicators]
    return [i if isinstance(i, Indicator) else find_indicator(i) for i in indicators]


def assess_frame(obs: "pd.DataFrame", region: str = "武威市", year: int | None = None, *,
                 indicators=None, kind: str = "annual",
                 forecasts: dict | None = None) -> "pd.DataFrame":
    """Assess every catalogue indicator (or ``indicators``) for a region from ``obs``.

    Args:
        obs: observations with the store's columns (indicator, region, region_code, year,
            sex, urban_rural, age_group, value, numerator, denominator, illustrative,
            provisional, low_trust, recorded_at …); all regions may be included (needed for
            between-county gaps).
        region: name, alias or code.
        year: report year — only data up to it is used. Default: the latest year with data
            for the region (annual), 2025 (midterm), 2030 (final).
        indicators: ids / names / Indicator objects to assess (default: the whole
            catalogue, qualitative goals included as not_applicable).
        kind: "annual", "midterm" or "final" (see the module docstring).
        forecasts: if a dict is given, the forecast table behind each assessed row is put
            in it (``{indicator id: DataFrame year, mean, lo80 … hi95}``, attrs ``model``,
            ``model_zh``, ``p_meet``, ``target_year``, ``illustrative``), so a chart shows
            exactly the forecast the status rests on, without fitting again.

    Returns:
        One row per indicator, columns ASSESS_COLUMNS (see module docstring for the rules);
        ``attrs``: region, year, kind, rules (a copy of STATUS_RULES).
    """
    import pandas as pd

    from .catalog import indicators as all_indicators
    from .errors import DataError

    if kind not in KINDS:
        raise DataError(f"评估类型应为 {', '.join(KINDS)}，而不是 {kind!r}")
    reg = _region_info(region)
    inds = resolve_indicators(indicators)
    known = {i.id for i in all_indicators()}
    if year is None:
        if kind == "midterm":
            year = MIDTERM_YEAR
        elif kind == "final":
            year = FINAL_YEAR
        else:
            mine = obs[(obs["region_code"].astype("string") == reg.code)
                       | (obs["region"].astype("string") == reg.name)] if len(obs) else obs
            pool = mine if len(mine) else obs
            year = int(pool["year"].max()) if len(pool) else FINAL_YEAR
    from .models.series import index_series

    by_ind = index_series(obs)
    rows = [_assess_one(ind, by_ind, reg, int(year), kind, known, forecasts) for ind in inds]
    df = pd.DataFrame(rows, columns=ASSESS_COLUMNS)
    df["status"] = df["status_code"].map(STATUS_ZH)
    for c in ("latest_year", "n_points", "target_year", "eval_year"):
        df[c] = df[c].astype("Int64")
    float_cols = ["latest_value", "target_value", "p_meet", "forecast_value", "forecast_lo80",
                  "forecast_hi80", "required_annual_change", "observed_annual_change",
                  "required_aarr", "observed_aarr", "threshold", "base_value", "path_value",
                  "progress_ratio"]
    for c in float_cols:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["illustrative"] = df["illustrative"].astype(bool)
    df.attrs.update(region=reg.name, year=int(year), kind=kind, rules=dict(STATUS_RULES))
    return df


def assess(region: str = "武威市", year: int | None = None, *, db=None, indicators=None,
           kind: str = "annual") -> "pd.DataFrame":
    """评估一个地区的全部指标 — status, p_meet and warnings for every indicator of a region.

    A thin wrapper: reads all observations (every region and breakdown: between-county and
    urban–rural gaps need them) and calls :func:`assess_frame`. See the module docstring for
    the rules, and ``docs/status_rules.md`` for the plain-Chinese version.

    Args:
        region: region name, alias or code ("古浪县", "620622"); default 武威市.
        year: the monitoring year (data after it are ignored); None = the latest year.
        db: database path, sqlite3 connection, or None for the default database.
        indicators: ids / names to assess (default: every goal of both plans).
        kind: "annual" (default), "midterm" (2025) or "final" (2030) evaluation rules.

    Returns:
        One row per indicator, columns ``ASSESS_COLUMNS``: indicator, name_zh, domain,
        domain_code, plan, unit, region, latest_year, latest_value, target_kind,
        target_value, target_year, target_text, status_code, status (Chinese), p_meet,
        forecast_value (point forecast, the median, in the target year), forecast_lo80,
        forecast_hi80, required_annual_change, observed_annual_change, required_aarr,
        observed_aarr, model, warnings, warning_codes, illustrative, n_points, reason
        (Chinese), threshold, base_value, path_value, progress_ratio, eval_year.
        ``attrs``: region, year, kind, rules.
    """
    from .store import observations

    obs = observations(breakdown="all", db=db)
    return assess_frame(obs, region, year, indicators=indicators, kind=kind)
