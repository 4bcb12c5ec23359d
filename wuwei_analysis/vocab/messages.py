"""The message catalogue: every Chinese sentence of the assessment (reasons and warnings) as
one template, filled from the numbers.

The engine (:mod:`wuwei_analysis.engine.assess_many`) is the only writer of the ``reason``
and ``warnings`` columns and fills them with :func:`say`; briefs, app and CLI print those
columns, so the same indicator says the same thing everywhere. Numbers are formatted by
:mod:`.numbers` before they go into a template (``value`` = ``format_value(v, unit)``).

Keys name the situation; fields in braces are filled by :func:`say`.
"""
from __future__ import annotations

from .numbers import MISSING, format_change, format_number, format_value

#: key → template (str.format fields).
MESSAGES: dict[str, str] = {
    # ---- rows not judged
    "qualitative": "定性目标，不以数据评估，由成员单位报告进展",
    "not_monitored_at_level": "该指标不在{level}监测",
    "no_source": "暂无常规数据来源",
    "no_data": "{region}暂无该指标数据",
    "note": "（{note}）",
    "gap_from_groups": "由{source}的{groups}分组数值计算",
    "group_urban_rural": "城乡",
    "group_sex": "男女",
    "gap_county_range": "按各县（区）{source}的极差计算",
    # ---- direction and gap targets
    "at_bound": "{year}年{name}为{value}，已处于可达上限附近，视为实现“{target}”",
    "too_old_for_trend": "最新数据为{year}年，已超过{max_age}年，无法判断近期趋势",
    "too_few_for_trend": "仅有{n}个年度数据，不足以判断趋势（至少需要{min_points}个）",
    "trend": "{what}{trend}，趋势方向符合“{target}”的把握约为{p}",
    "gap_what": "{name}（绝对差距）",
    "trend_flat": "近年基本持平（年均{slope}）",
    "trend_up": "近年呈上升趋势（年均{slope}）",
    "trend_down": "近年呈下降趋势（年均{slope}）",
    # ---- threshold targets
    "no_base": "缺少{base_year}年基期值，无法判断是否达标",
    "no_reference": "缺少参照指标数值，无法判断是否达标",
    "too_old": "最新数据为{year}年，距报告年份已超过{max_age}年",
    "met": "{year}年{name}为{value}，已达到“{target}”的目标",
    "too_few": "仅有{n}个年度数据，最新值（{year}年{value}）尚未达到“{target}”，数据不足以预测趋势",
    "forecast": "按当前趋势，{year}年{name}预计为{value}（80%区间{range}），"
                "实现“{target}”目标的概率约为{p}",
    "required_change": "；需年均变化{required}，当前趋势年均{observed}",
    "no_model": "无法建立趋势模型：{message}",
    # small counts: 现状 from the pooled rate of the last years
    "pooled": "{year}年{name}为{value}，仅基于{events}例（少于{min_events}例）；"
              "按{years}年合并率{pooled}（{k}年共{total}例）判断现状，{verdict}",
    "pooled_met": "已达到“{target}”的目标",
    "pooled_not_met": "尚未达到“{target}”",
    "pooled_too_few": "；仅有{n}个年度数据，不足以预测趋势",
    "then": "；{text}",
    # a trend slope not distinguishable from zero
    "flat_trend": "；近年趋势与持平无法区分（p={p}），按趋势外推的预测把握不大",
    "no_forecast": "仅有{n}个年度数据（少于{min_points}个），不作趋势预测，状态只依据最新值判断",
    # ---- mid-term / final evaluation
    "final_met": "{year}年{name}为{value}，已实现“{target}”",
    "final_not_met": "{year}年{name}为{value}，未实现“{target}”",
    "no_baseline": "（缺少{year}年基线，按年度规则判断）",
    "baseline_met": "（{year}年基线已达标，按年度规则判断）",
    "progress": "{year}年{name}{verb}{value}；按{base_year}年基线{base}至{target_year}年目标"
                "{threshold}的线性进度，{year}年应为{path}，完成应有进度的{ratio}%",
    "observed_verb": "为",
    "forecast_verb": "预计为",
    # ---- warnings
    "w_may_slip": "已达标，但按趋势{year}年仍达标的概率约为{p}",
    "w_stale": "最新数据为{year}年，近{years}年数据缺失",
    "w_small_numbers": "{year}年数值仅基于{events}例（少于{min_events}例），比率不稳定，年际起伏多属随机波动",
    "w_volatile": "围绕趋势波动较大（{detail}）",
    "w_volatile_log": "残差约{pct}%",
    "w_volatile_pp": "残差约{pp}个百分点",
    "w_volatile_cv": "残差约为平均水平的{pct}%",
    "w_moving_away": "近年走势背离目标方向",
    "w_outlier": "{year}年数值{value}偏离趋势（预期范围{range}），请核实",
    "w_low_trust": "部分数据来自非官方转载，可信度低",
    "w_provisional": "含初步数，可能修订",
    "w_illustrative": "含示例数据（非真实统计），仅供演示",
    # ---- errors a user can cause
    "bad_kind": "评估类型应为 {kinds}，而不是 {kind}",
    # ---- how the lists are joined
    "join_warnings": "；",
}

#: Level names in "该指标不在…监测".
LEVEL_ZH = {"city": "市级", "county": "县（区）级"}


def say(key: str, **fields) -> str:
    """The sentence ``key`` of :data:`MESSAGES` with ``fields`` filled in."""
    return MESSAGES[key].format(**fields)


def trend_phrase(slope: float, unit: str) -> str:
    """"近年呈上升趋势（年均+0.12个千分点）", or "近年基本持平（年均0.000个千分点）" when the
    trend shows as zero at the unit's precision (its sign would be rounding noise)."""
    shown = format_value(slope, unit, extra=1, with_unit=False)
    if shown == MISSING or float(shown) == 0.0:
        return say("trend_flat", slope=format_change(0.0, unit, extra=1))
    return say("trend_up" if slope > 0 else "trend_down",
               slope=format_change(slope, unit, extra=1))


def percent_int(v: float) -> str:
    """A share as a whole percentage number (no sign noise): 0.504 → "50"."""
    return format_number(v * 100, 0)
