"""Validation rules for imported rows: small pure functions, each giving a clear reason.

Every rule returns ``None`` (fine) or an :class:`Issue` whose ``reason`` is Chinese and says
what is wrong and what was expected. ``severity="reject"`` rejects the row;
``severity="warn"`` (only the ``jump`` rule) keeps the row and flags it. Resolvers return
``(value, issue)``. The importer (``importer.py``) adds file and row.

=====================  =======================================================  =======
rule                   when                                                     outcome
=====================  =======================================================  =======
unknown_indicator      id / name not in the catalogue (with "是否是" hints)     reject
indicator_mismatch     the id and the name name different indicators           reject
not_monitorable        a qualitative goal (no number to report)                 reject
unknown_region         region not known (with hints)                            reject
bad_year               year not a whole number                                  reject
year_out_of_range      year before YEAR_MIN (or after YEAR_MAX)                  reject
future_year            year after the reporting year (the template's, --year),   reject
                       or after the current year when none is given
not_own_indicator      a member unit's file names another unit's indicator      reject
region_not_allowed     a benchmark region (甘肃省, 全国: public data only) or a     reject
                       region outside the plan, with a value different from
                       the stored one (an identical value is kept, unchanged)
bad_breakdown          sex / 城乡 / age group not allowed for the indicator       reject
bad_flag               是否初步数 / 示意数据 not 是 or 否                          reject
not_a_number           value, numerator or denominator not a number             reject
missing_value          no value, and counts not enough to compute it            reject
out_of_range           outside the unit's possible range (units.yaml min–max)   reject
unit_slip              a unit mark or unit column not the indicator's (‰ as %)  reject
magnitude_slip         a value 10×/100×/1000× (or 1/10…) the series' level,     reject, or warn
                       its peers in the file, or the plan's target/baseline     with --accept-outliers
counts_inconsistent    numerator / denominator × scale ≠ value, or num > den    reject
duplicate_row          the same key twice in one file, same numbers              reject (later rows)
conflicting_rows       the same key twice in one file, different numbers        reject (all)
jump                   far outside the series' history (robust trend + MAD, or   warn
                       a Poisson / binomial test when counts are known)
formula_no_value       an Excel formula cell without a saved result (blank)     warn
=====================  =======================================================  =======

A row whose value equals the stored current value (an exported file imported back) is
not questioned again: it changes nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from .. import indicator_catalog as catalog
from ..indicator_catalog import Indicator
from ..errors import UnknownIndicatorError, UnknownRegionError
from ..geography import Region, region as find_region
from .read import FIELD_ZH, Number, NotANumber, clean_text, is_missing, parse_number

#: Years that can be stored at all (national public series start in 1991). Years after the
#: reporting year are rejected separately (``future_year``).
YEAR_MIN, YEAR_MAX = 1949, 2035

#: Rule code -> short Chinese title (report column 规则).
RULES = {
    "unknown_indicator": "未知指标",
    "indicator_mismatch": "指标编号与名称不符",
    "not_monitorable": "定性目标不填数值",
    "unknown_region": "未知地区",
    "bad_year": "年份有误",
    "year_out_of_range": "年份超出范围",
    "future_year": "未来年份",
    "not_own_indicator": "不属于本单位填报的指标",
    "region_not_allowed": "地区不在填报范围",
    "magnitude_slip": "疑似数量级错误",
    "formula_no_value": "公式没有保存结果（按空白处理）",
    "bad_breakdown": "分组有误",
    "bad_flag": "是/否填写有误",
    "not_a_number": "不是数字",
    "missing_value": "缺少数值",
    "out_of_range": "超出取值范围",
    "unit_slip": "疑似单位错误",
    "counts_inconsistent": "分子分母与数值不一致",
    "duplicate_row": "重复行",
    "conflicting_rows": "同一数据填了不同数值",
    "jump": "与历史相比变化异常（已接收，请核实）",
    "consistency": "与下级合计或分组之和不一致（已接收，请核实）",
    "rollup": "无法由下级数据汇总（已接收，请核实）",
}

#: Thresholds of the history rules, in one place.
THRESHOLDS = {
    "slip_min_history": 2,        # history points needed to call a 10× slip
    "slip_log_tolerance": 0.25,   # |log10(value/level) − k| below this → k-th power slip
    "slip_log_tolerance_target": 0.35,  # same, against target/baseline (only 100×, 1000×)
    "jump_min_history": 4,        # history points needed for the jump warning
    "history_window": 10,         # the history rules use the years nearest the value's year
    "jump_mad_multiplier": 5.0,   # residual beyond this × 1.4826·MAD → jump
    "jump_floor_points": 3.0,     # … and beyond this many points for percentages
    "jump_floor_relative": 0.25,  # … or this share of the expected level otherwise
    "jump_poisson_p": 0.001,      # counts: tail probability at or above this → no jump
    "jump_poisson_min_diff": 3,   # … and at least this many events from the expectation
    "counts_relative_tolerance": 0.002,
}

_BOOL_TRUE = {"是", "y", "yes", "true", "1", "初步", "初步数", "√", "✓"}
_BOOL_FALSE = {"否", "n", "no", "false", "0", "正式", "终审", ""}
_TOTAL_WORDS = {"", "合计", "总计", "全部", "总体", "小计", "总", "all", "total"}
_SEX = {"女": "女", "女性": "女", "妇女": "女", "female": "女", "f": "女",
        "男": "男", "男性": "男", "male": "男", "m": "男"}
_URBAN_RURAL = {"城镇": "城镇", "城市": "城镇", "城区": "城镇", "urban": "城镇",
                "农村": "农村", "乡村": "农村", "rural": "农村"}
_UNIT_EQUIV = {"女=100": "男/女=100", "以女性为100": "男/女=100", "/10万": "1/10万",
               "1/100000": "1/10万", "/100000": "1/10万", "千分率": "‰", "百分比": "%"}


@dataclass
class Issue:
    """A problem with one field of one row."""

    rule: str
    field: str          # canonical field (see read.FIELD_ZH)
    raw: Any
    reason: str         # Chinese, without file and row
    severity: str = "reject"
    row: int | None = None
    file: str = ""
    sheet: str = ""

    @property
    def field_zh(self) -> str:
        return FIELD_ZH.get(self.field, self.field)

    @property
    def raw_text(self) -> str:
        return "" if self.raw is None else clean_text(self.raw) if not isinstance(
            self.raw, float) else f"{self.raw:g}"

    def message(self) -> str:
        """"古浪县卫健委2024.xlsx 第7行 字段「数值」：‘12,5%’ 不是数字"."""
        where = f"{self.file} " if self.file else ""
        if self.sheet:
            where += f"工作表「{self.sheet}」"
        row = f"第{self.row}行 " if self.row is not None else ""
        return f"{where}{row}字段「{self.field_zh}」：{self.reason}"


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if abs(x) >= 1000 and float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:,.1f}"


def _unit_norm(u: str) -> str:
    u = clean_text(u).replace(" ", "")
    return _UNIT_EQUIV.get(u, u)


# --------------------------------------------------------------------------- keys
def _suggest_indicators(text: str) -> str:
    hits = catalog.suggest(text, n=3)
    if not hits:
        return ""
    shown = []
    for h in hits:
        try:
            ind = catalog.indicator(h)
            shown.append(f"{ind.name_zh}（{ind.id}）")
        except UnknownIndicatorError:
            shown.append(h)
    return "，是否是：" + "、".join(dict.fromkeys(shown))


@lru_cache(maxsize=8192)
def _lookup_indicator(key: str) -> Indicator | None:
    """catalog.indicator(key) or None; cached, since files repeat the same few keys."""
    try:
        return catalog.indicator(key)
    except UnknownIndicatorError:
        return None


@lru_cache(maxsize=1024)
def _lookup_region(key: str) -> tuple[Region | None, str]:
    try:
        return find_region(key), ""
    except UnknownRegionError as exc:
        return None, exc.message


def resolve_indicator(raw_id: Any, raw_name: Any) -> tuple[Indicator | None, Issue | None]:
    """The catalogue indicator a row names by id (preferred) or Chinese name."""
    id_text = "" if is_missing(raw_id) else clean_text(raw_id)
    name_text = "" if is_missing(raw_name) else clean_text(raw_name)
    if not id_text and not name_text:
        return None, Issue("unknown_indicator", "indicator_id", raw_id,
                           "没有填写指标编号或指标名称")
    ind = None
    if id_text:
        ind = _lookup_indicator(id_text)
        if ind is None:
            return None, Issue("unknown_indicator", "indicator_id", raw_id,
                               f"未知指标编号‘{id_text}’{_suggest_indicators(id_text)}")
        own_names = {clean_text(n) for n in (ind.name_zh, *ind.aliases)}
        if name_text and name_text not in own_names:
            by_name = _lookup_indicator(name_text)  # None: a reworded name is fine, the id decides
            if by_name is not None and by_name.id != ind.id:
                return None, Issue(
                    "indicator_mismatch", "indicator_name", raw_name,
                    f"指标编号 {ind.id}（{ind.name_zh}）与指标名称‘{name_text}’"
                    f"（{by_name.id}）不一致，请核对")
    else:
        ind = _lookup_indicator(name_text)
        if ind is None:
            return None, Issue("unknown_indicator", "indicator_name", raw_name,
                               f"未知指标‘{name_text}’{_suggest_indicators(name_text)}")
    if not ind.monitorable or ind.target.kind == "qualitative" and not ind.unit:
        field = "indicator_id" if id_text else "indicator_name"
        return None, Issue("not_monitorable", field, raw_id if id_text else raw_name,
                           f"「{ind.name_zh}」是定性目标，不按数值填报")
    return ind, None


def resolve_region(raw: Any, raw_code: Any = None) -> tuple[Region | None, Issue | None]:
    """The region a row names (name, alias or code)."""
    text = "" if is_missing(raw) else clean_text(raw)
    field, shown = "region", raw
    if not text and not is_missing(raw_code):
        text, field, shown = clean_text(raw_code), "region_code", raw_code
    if not text:
        return None, Issue("unknown_region", "region", raw, "没有填写地区")
    reg, message = _lookup_region(text)
    if reg is not None:
        return reg, None
    return None, Issue("unknown_region", field, shown, message.replace("找不到地区", "未知地区"))


def parse_year(raw: Any, max_year: int | None = None, max_basis: str = ""
               ) -> tuple[int | None, Issue | None]:
    """A year as a whole number from YEAR_MIN ("2024", "2024年", ２０２４), not after
    ``max_year`` (the reporting year; default the current year). ``max_basis`` names it in
    the message ("填报年份", "当前年份")."""
    if is_missing(raw):
        return None, Issue("bad_year", "year", raw, "没有填写年份")
    year: int | None = None
    if isinstance(raw, (datetime, date)):
        year = raw.year
    elif isinstance(raw, bool):
        year = None
    elif isinstance(raw, (int, float)):
        year = int(raw) if float(raw).is_integer() else None
    else:
        text = clean_text(raw).replace(" ", "")
        for tail in ("年度", "年"):
            if text.endswith(tail):
                text = text[: -len(tail)]
        if text.endswith(".0"):
            text = text[:-2]
        year = int(text) if text.isdigit() else None
    if year is None:
        return None, Issue("bad_year", "year", raw, f"‘{clean_text(raw)}’ 不是有效年份（应为四位数字，如 2024）")
    if max_year is None:
        max_year, max_basis = date.today().year, "当前年份"
    if year < YEAR_MIN:
        return None, Issue("year_out_of_range", "year", raw,
                           f"年份 {year} 超出范围（应在 {YEAR_MIN}—{min(max_year, YEAR_MAX)} 之间）")
    if year > max_year:
        return None, Issue("future_year", "year", raw,
                           f"年份 {year} 晚于{max_basis or '填报年份'} {max_year}，不能填报未来年份的数据"
                           "（是否把年份填错了？）")
    if year > YEAR_MAX:
        return None, Issue("year_out_of_range", "year", raw,
                           f"年份 {year} 超出范围（{YEAR_MIN}—{YEAR_MAX}）")
    return year, None


def check_reporter(ind: Indicator, unit: str) -> Issue | None:
    """A member unit's file may only hold the unit's own indicators (catalogue ``reporter``).

    An entry with ``same_as`` may be reported by the unit of either entry. No check when
    the unit is not known (an export imported back, a file named without a unit).
    """
    if not unit or unit not in catalog.member_units():
        return None
    owners = {ind.reporter}
    same = getattr(ind, "same_as", None)
    if same:
        other = _lookup_indicator(same)
        if other is not None:
            owners.add(other.reporter)
    if unit in owners:
        return None
    return Issue("not_own_indicator", "indicator_id", ind.id,
                 f"「{ind.name_zh}」由{ind.reporter}报送，不在{unit}的填报范围内，未导入"
                 f"（如确由{ind.reporter}提供，请由{ind.reporter}报送，或导入时用 --unit 指明报送单位）")


def region_not_allowed(reg: Region) -> Issue:
    """A row for a region a member unit may not write (a benchmark, or not the plan's)."""
    if reg.role == "benchmark":
        reason = (f"{reg.name}是对比地区，其数据只能通过公开数据途径（内置公开数据）更新，"
                  "成员单位报送文件不能修改；与库中不同的数值未导入")
    else:
        reason = f"{reg.name}不是本规划监测的地区（武威市及所辖县区），未导入"
    return Issue("region_not_allowed", "region", reg.name, reason)


def resolve_breakdown(ind: Indicator, dim: str, raw: Any) -> tuple[str, Issue | None]:
    """A breakdown value ("" = total) allowed for the indicator."""
    text = "" if is_missing(raw) else clean_text(raw)
    if text.lower() in _TOTAL_WORDS:
        return "", None
    label = FIELD_ZH[dim]
    if dim not in ind.breakdowns:
        return "", Issue("bad_breakdown", dim, raw,
                         f"「{ind.name_zh}」不按{label}分组统计，此列应留空（现为‘{text}’）")
    if dim == "sex":
        value = _SEX.get(text.lower())
        allowed = "女、男"
    elif dim == "urban_rural":
        value = _URBAN_RURAL.get(text.lower())
        allowed = "城镇、农村"
    else:
        groups = {clean_text(g): g for g in ind.age_groups}
        value = groups.get(text)
        allowed = "、".join(ind.age_groups) or "（目录未列出年龄组）"
    if value is None:
        return "", Issue("bad_breakdown", dim, raw, f"‘{text}’ 不是有效的{label}（可填：{allowed}，合计留空）")
    return value, None


def parse_flag(raw: Any, field: str) -> tuple[bool, Issue | None]:
    """是/否 (also Y/N, 1/0); empty means 否."""
    text = "" if is_missing(raw) else clean_text(raw).lower()
    if text in _BOOL_TRUE:
        return True, None
    if text in _BOOL_FALSE:
        return False, None
    return False, Issue("bad_flag", field, raw, f"‘{clean_text(raw)}’ 应填“是”或“否”")


def parse_numeric(raw: Any, field: str) -> tuple[Number | None, Issue | None]:
    """A number in a value / numerator / denominator cell (None when left empty or "—")."""
    try:
        return parse_number(raw), None
    except NotANumber as exc:
        return None, Issue("not_a_number", field, raw, str(exc))


# --------------------------------------------------------------------------- units and ranges
def unit_info(ind: Indicator) -> dict:
    return catalog.units().get(ind.unit, {})


def value_range(ind: Indicator) -> tuple[float | None, float | None]:
    """The possible range of a value in the indicator's unit (units.yaml).

    Gross ratios (毛入学率, 毛入园率) may exceed 100%: their upper bound is 150%.
    """
    info = unit_info(ind)
    lo, hi = info.get("min"), info.get("max")
    if hi is not None and info.get("kind") == "percent" and "毛入" in ind.name_zh:
        hi = 150
    return lo, hi


def check_unit_column(ind: Indicator, raw_unit: Any) -> Issue | None:
    """The file's 单位 column, if filled, must be the indicator's unit."""
    if is_missing(raw_unit):
        return None
    given = _unit_norm(raw_unit)
    if given == _unit_norm(ind.unit):
        return None
    return Issue("unit_slip", "unit", raw_unit,
                 f"单位填为“{clean_text(raw_unit)}”，但「{ind.name_zh}」的单位是“{ind.unit}”，"
                 "疑似单位错误（请按目录单位换算后填写）")


def check_suffix(ind: Indicator, number: Number | None, field: str, raw: Any) -> Issue | None:
    """A unit mark typed after a number must be the indicator's unit (counts take none)."""
    if number is None or not number.suffix:
        return None
    if field in ("numerator", "denominator"):
        return Issue("unit_slip", field, raw, f"‘{clean_text(raw)}’ 是人数/例数，不应带单位"
                     f"“{number.suffix}”")
    if _unit_norm(number.suffix) == _unit_norm(ind.unit):
        return None
    return Issue("unit_slip", field, raw,
                 f"‘{clean_text(raw)}’ 带有“{number.suffix}”，但「{ind.name_zh}」的单位是"
                 f"“{ind.unit}”，疑似单位错误（如把‰写成%），请按“{ind.unit}”填写数字")


def check_range(ind: Indicator, value: float | None, field: str = "value",
                raw: Any = None) -> Issue | None:
    """Value within the unit's possible range; counts non-negative, denominators > 0."""
    if value is None:
        return None
    if field in ("numerator", "denominator"):
        if value < 0:
            return Issue("out_of_range", field, raw, f"{_fmt(value)} 不能为负数")
        if field == "denominator" and value == 0:
            return Issue("out_of_range", field, raw, "分母不能为 0")
        return None
    lo, hi = value_range(ind)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        span = f"{_fmt(lo) if lo is not None else '−∞'}—{_fmt(hi) if hi is not None else '∞'}"
        return Issue("out_of_range", field, raw,
                     f"数值 {_fmt(value)} 超出单位“{ind.unit}”的可能范围（{span}）")
    return None


def counts_value(ind: Indicator, numerator: float, denominator: float) -> float | None:
    """numerator / denominator × the unit's scale, or None when the unit has no scale."""
    scale = unit_info(ind).get("scale")
    if scale is None or not denominator:
        return None
    return numerator / denominator * float(scale)


def check_counts(ind: Indicator, value: Number | None, numerator: float | None,
                 denominator: float | None, raw: Any = None) -> Issue | None:
    """Numerator and denominator agree with the value (within its typed decimals)."""
    if numerator is None or denominator is None or not denominator:
        return None
    info = unit_info(ind)
    if info.get("kind") in ("rate", "percent") and numerator > denominator:
        return Issue("counts_inconsistent", "numerator", numerator,
                     f"分子（{_fmt(numerator)}）大于分母（{_fmt(denominator)}）")
    computed = counts_value(ind, numerator, denominator)
    if computed is None or value is None:
        return None
    decimals = value.decimals if value.decimals is not None else 6
    tol = 0.5 * 10 ** (-min(decimals, 6)) + THRESHOLDS["counts_relative_tolerance"] * abs(computed)
    if abs(computed - value.value) <= tol + 1e-12:
        return None
    unit = ind.unit
    return Issue("counts_inconsistent", "value", raw if raw is not None else value.value,
                 f"按分子 {_fmt(numerator)}、分母 {_fmt(denominator)} 计算应为 "
                 f"{computed:.{max(2, min(decimals, 4))}f}{unit}，而数值填的是 {_fmt(value.value)}{unit}")


# --------------------------------------------------------------------------- history rules
def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def robust_trend(years: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """Theil–Sen line (median of pairwise slopes): returns (slope, intercept)."""
    pairs = list(zip(years, values))
    slopes = [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(pairs)
              for (x2, y2) in pairs[i + 1:] if x2 != x1]
    slope = _median(slopes) if slopes else 0.0
    intercept = _median([y - slope * x for x, y in pairs])
    return slope, intercept


_SLIP_WORDS = {
    1: "多打了一位或小数点右移了一位", 2: "小数点右移了两位（如把比例按百分数又乘了100）",
    3: "小数点右移了三位（如把‰当成比例又乘了1000）",
    -1: "少打了一位或小数点左移了一位", -2: "把百分数写成了小数（如 95.4% 写成 0.954）",
    -3: "把千分率写成了小数（如 3.7‰ 写成 0.0037）",
}


def check_unit_slip_history(ind: Indicator, value: float, history: Sequence[float],
                            counts_verified: bool = False, raw: Any = None,
                            peers: Sequence[float] = ()) -> Issue | None:
    """A value about 10×, 100× or 1000× (or a tenth …) the series' level: a magnitude slip.

    The level is the median of the series' other years (at least ``slip_min_history``);
    without such history, the same indicator's values for other regions in the same file
    and year (``peers``, at least 2); else the target and the plan's baselines, where only
    100× / 1000× slips are called. Values verified by consistent counts are not questioned.
    The message names the slip and the value it probably should be.
    """
    if counts_verified or value == 0:
        return None
    refs = [h for h in history if h and h > 0]
    peer_refs = [p for p in peers if p and p > 0]
    if len(refs) >= THRESHOLDS["slip_min_history"]:
        level, min_k, tol, basis = _median(refs), 1, THRESHOLDS["slip_log_tolerance"], "该序列历史水平"
    elif len(peer_refs) >= 2:
        level, min_k, tol, basis = (_median(peer_refs), 1, THRESHOLDS["slip_log_tolerance"],
                                    "本文件中其他地区同年数值")
    else:
        anchors = [b.get("value") for b in ind.baselines if b.get("value")]
        if ind.target.value:
            anchors.append(ind.target.value)
        anchors = [float(a) for a in anchors if a and float(a) > 0]
        if not anchors:
            return None
        level, min_k, tol, basis = _median(anchors), 2, THRESHOLDS[
            "slip_log_tolerance_target"], "规划目标值/基线值"
    if value < 0 or level <= 0:
        return None
    ratio = value / level
    lg = math.log10(ratio)
    k = round(lg)
    if abs(k) < min_k or abs(k) > 3 or abs(lg - k) > tol:
        return None
    times = f"{10 ** k:g} 倍" if k > 0 else f"{10 ** -k:g} 分之一"
    meant = value / 10 ** k
    return Issue("magnitude_slip", "value", raw if raw is not None else value,
                 f"数值 {_fmt(value)} 约为{basis}（{_fmt(level)}{ind.unit}）的 {times}，"
                 f"疑似数量级错误：{_SLIP_WORDS[k]}，应为 {_fmt(meant)}{ind.unit} 左右？"
                 f"请按“{ind.unit}”核对后重报；如确认无误，导入时加 --accept-outliers")


def _poisson_tail(k: int, lam: float) -> float:
    """min(P(X ≥ k), P(X ≤ k)) for X ~ Poisson(lam)."""
    if lam <= 0:
        return 0.0 if k > 0 else 1.0
    if lam > 500:  # normal approximation with continuity correction
        z = (abs(k - lam) - 0.5) / math.sqrt(lam)
        return 0.5 * math.erfc(max(z, 0) / math.sqrt(2))
    term = math.exp(-lam)
    cdf = 0.0
    for i in range(0, k + 1):
        if i > 0:
            term *= lam / i
        cdf += term
    p_le = min(1.0, cdf)
    p_ge = min(1.0, 1.0 - cdf + term)
    return min(p_le, p_ge)


def _binomial_tail(k: int, n: int, p: float) -> float:
    """min(P(X ≥ k), P(X ≤ k)) for X ~ Binomial(n, p), by the nearest good approximation."""
    if n <= 0:
        return 1.0
    p = min(max(p, 0.0), 1.0)
    if p in (0.0, 1.0):
        return 1.0 if k == round(n * p) else 0.0
    var = n * p * (1 - p)
    if var >= 20:
        z = (abs(k - n * p) - 0.5) / math.sqrt(var)
        return 0.5 * math.erfc(max(z, 0) / math.sqrt(2))
    if p <= 0.5:
        return _poisson_tail(k, n * p)
    return _poisson_tail(n - k, n * (1 - p))


def check_jump(ind: Indicator, year: int, value: float,
               history: Mapping[int, tuple[float, float | None, float | None]],
               numerator: float | None = None, denominator: float | None = None,
               raw: Any = None) -> Issue | None:
    """A value far outside the series' history: a warning, never a rejection.

    ``history`` maps other years to (value, numerator, denominator). The value is compared
    with a Theil–Sen line through the history: outside ``jump_mad_multiplier`` × 1.4826 ×
    MAD of the history's residuals (at least ``jump_floor_points`` for percentages, else
    ``jump_floor_relative`` of the expected level) it is a jump — unless counts are known
    and the count itself is not unlikely (Poisson for rates, binomial for percentages,
    tail probability ≥ ``jump_poisson_p``), as happens with small numbers.
    """
    pts = sorted((y, v) for y, (v, _, _) in history.items() if v is not None and y != year)
    if len(pts) > THRESHOLDS["history_window"]:  # a baseline window: the nearest years
        pts = sorted(sorted(pts, key=lambda p: (abs(p[0] - year), -p[0]))[
            :THRESHOLDS["history_window"]])
    if len(pts) < THRESHOLDS["jump_min_history"]:
        return None
    ys, vs = [p[0] for p in pts], [p[1] for p in pts]
    slope, intercept = robust_trend(ys, vs)
    expected = slope * year + intercept
    lo, hi = value_range(ind)
    if lo is not None:
        expected = max(expected, lo)
    if hi is not None:
        expected = min(expected, hi)
    info = unit_info(ind)
    resid = [v - (slope * y + intercept) for y, v in pts]
    centre = _median(resid)
    mad = 1.4826 * _median([abs(r - centre) for r in resid])
    if info.get("kind") == "percent":
        floor = THRESHOLDS["jump_floor_points"]
    else:
        floor = THRESHOLDS["jump_floor_relative"] * abs(expected if expected else _median(vs))
    tol = max(THRESHOLDS["jump_mad_multiplier"] * mad, floor)
    if abs(value - expected) <= tol:
        return None
    detail = ""
    if info.get("kind") in ("rate", "percent", "per_capita") and info.get("scale") \
            and numerator is not None and denominator:
        # small counts jump about by chance: also ask whether the count itself is unlikely
        scale = float(info["scale"])
        rate = max(expected, 0.0)
        if info.get("kind") == "percent":
            rate = min(rate, scale)
        lam = rate * denominator / scale
        k = int(round(numerator))
        if abs(k - lam) < THRESHOLDS["jump_poisson_min_diff"]:
            return None
        if info.get("kind") == "percent":
            p_tail = _binomial_tail(k, int(round(denominator)), rate / scale)
        else:
            p_tail = _poisson_tail(k, lam)
        if p_tail >= THRESHOLDS["jump_poisson_p"]:
            return None
        detail = f"（分子 {_fmt(k)}，按趋势预计约 {lam:.1f}）"
    return Issue("jump", "value", raw if raw is not None else value,
                 f"数值 {_fmt(value)}{ind.unit}{detail} 与历史序列相差较大：按历史趋势预计约 "
                 f"{_fmt(expected)}（可接受范围约 {_fmt(expected - tol)}—{_fmt(expected + tol)}），"
                 "已接收，请核实", severity="warn")


# --------------------------------------------------------------------------- within a file
def find_duplicates(rows: Iterable[tuple[Any, tuple, tuple]],
                    labels: Mapping[Any, str] | None = None) -> dict[Any, Issue]:
    """Rows with the same key in one file.

    ``rows``: (row id, key, numbers); ``labels``: row id -> how a person names the row
    ("第7行", "工作表「凉州区」第7行"; default: 第{row id}行). Identical repeats: the later rows are rejected
    (the first is kept). Different numbers for one key: every such row is rejected, since
    the file does not say which is right.
    """
    first: dict[tuple, tuple[int, tuple]] = {}
    groups: dict[tuple, list[tuple[int, tuple]]] = {}
    for row, key, nums in rows:
        groups.setdefault(key, []).append((row, nums))
        first.setdefault(key, (row, nums))
    out: dict[Any, Issue] = {}

    def label(r: Any) -> str:
        return labels[r] if labels is not None else f"第{r}行"

    for key, items in groups.items():
        if len(items) < 2:
            continue
        rows_shown = "、".join(label(r) for r, _ in items)
        distinct = {n for _, n in items}
        if len(distinct) == 1:
            r0 = label(items[0][0])
            for r, _ in items[1:]:
                out[r] = Issue("duplicate_row", "indicator_id", None,
                               f"与{r0}重复（同一指标、地区、年份、分组），只保留{r0}")
        else:
            for r, nums in items:
                out[r] = Issue("conflicting_rows", "value", nums[0],
                               f"同一指标、地区、年份、分组出现在{rows_shown}，且数值不同；"
                               "无法判断哪一行正确，均未导入")
    return out
