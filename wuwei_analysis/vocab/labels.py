"""Codes users see as words and colours, defined once: status (two columns and combined),
target kinds, warnings, the one colour palette and the CJK font chain.

Every page (brief, app, CLI, charts, downloads) takes its labels and colours from here, so
"有风险" is the same orange everywhere. The rules that choose a code live in
:mod:`wuwei_analysis.engine.rules`; ``docs/status_rules.md`` explains them in Chinese.

Names: ``*_LABELS`` map a code to its Chinese label; ``*_COLORS`` map a code to a colour;
``STATUS_ORDER`` is the legend / sorting order of the combined status.
"""
from __future__ import annotations

# --------------------------------------------------------------------------- status
#: 现状 (the latest value against the target): code → label.
CURRENT_LABELS: dict[str, str] = {
    "met": "已达标",
    "not_met": "未达标",
    "no_target": "无量化目标",
    "no_data": "暂无数据",
}
#: 2030年展望 (how likely the target is met in its year): code → label.
OUTLOOK_LABELS: dict[str, str] = {
    "on_track": "按期可达",
    "at_risk": "有风险",
    "off_track": "难以实现",
    "insufficient": "数据不足",
    "not_applicable": "不适用",
}
#: The combined status (sorting, counts, colour), in display order: code → label.
STATUS_LABELS: dict[str, str] = {
    "achieved": "已实现",
    "may_slip": "已达标但可能回落",
    "on_track": "按期可达",
    "at_risk": "有风险",
    "off_track": "难以实现",
    "insufficient": "数据不足",
    "not_applicable": "不适用",
}
#: English labels of the combined status (for code and English tables).
STATUS_LABELS_EN: dict[str, str] = {
    "achieved": "achieved", "may_slip": "met, may slip", "on_track": "on track",
    "at_risk": "at risk", "off_track": "off track", "insufficient": "insufficient data",
    "not_applicable": "not applicable",
}
STATUS_CODES: tuple[str, ...] = tuple(STATUS_LABELS)
STATUS_ORDER: tuple[str, ...] = tuple(STATUS_LABELS.values())
#: Statuses that need attention (drawn, listed first).
STATUS_WARNED: tuple[str, ...] = ("may_slip", "at_risk", "off_track")

# --------------------------------------------------------------------------- targets
#: Target kinds (``targets.TARGET_KINDS``) and their Chinese labels, for tables people read.
TARGET_KIND_LABELS: dict[str, str] = {
    "at_most": "不高于",
    "at_least": "不低于",
    "around": "保持在左右",
    "relative_change": "较基期相对变化",
    "direction": "方向性",
    "gap": "差距缩小",
    "qualitative": "定性",
}

# --------------------------------------------------------------------------- warnings
#: Warning codes and their short Chinese labels (the ``warnings`` text adds specifics).
WARNING_LABELS: dict[str, str] = {
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

# --------------------------------------------------------------------------- colours
#: The one palette of the combined status (charts, brief badges, app, CLI colour names).
STATUS_COLORS: dict[str, str] = {
    "achieved": "#2e7d32",        # green — met now and on track
    "may_slip": "#b58900",        # dark gold — met now, but the outlook is not safe
    "on_track": "#1f78b4",        # blue
    "at_risk": "#f28e2b",         # orange
    "off_track": "#d62728",       # red
    "insufficient": "#9e9e9e",    # grey
    "not_applicable": "#d9d9d9",  # light grey
}
CURRENT_COLORS: dict[str, str] = {
    "met": "#2e7d32", "not_met": "#d62728", "no_target": "#bdbdbd", "no_data": "#9e9e9e",
}
OUTLOOK_COLORS: dict[str, str] = {k: STATUS_COLORS[k] for k in OUTLOOK_LABELS}
#: Text on a status badge: dark text on light backgrounds.
STATUS_TEXT_COLORS: dict[str, str] = {k: "#333333" if k == "not_applicable" else "#ffffff"
                                      for k in STATUS_COLORS}
#: Status colours keyed by the Chinese label (a chart legend's domain).
STATUS_COLORS_ZH: dict[str, str] = {STATUS_LABELS[c]: STATUS_COLORS[c] for c in STATUS_CODES}

#: Lines and marks of the charts.
MAIN_COLOR = "#1f5fa8"
SERIES_COLORS: dict[str, str] = {"甘肃省": "#a08160", "全国": "#8a8a8a"}
OTHER_BENCHMARK_COLOR = "#b8b8b8"
FAN_COLORS: dict[str, str] = {"95%预测区间": "#c6dbef", "80%预测区间": "#8fb8de"}
TARGET_COLOR = "#c2410c"
WHATIF_COLOR = "#1b9e77"
MUTED_COLOR = "#6e7781"

# --------------------------------------------------------------------------- fonts
#: CJK font chain: whichever the viewer has draws the glyphs (Linux Noto / Source Han,
#: Windows YaHei, macOS PingFang / Hiragino, older Linux WenQuanYi).
FONT_NAMES: tuple[str, ...] = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei",
                               "PingFang SC", "Hiragino Sans GB", "WenQuanYi Micro Hei")
#: The chain as SVG / Vega-Lite write it (unquoted, comma-separated).
FONT_FAMILY = ", ".join(FONT_NAMES) + ", sans-serif"
#: The chain as CSS writes it (names quoted).
CSS_FONT_FAMILY = ", ".join(f'"{f}"' for f in FONT_NAMES) + ", sans-serif"

#: Subtitle line on any chart or page built on illustrative (simulated) rows.
ILLUSTRATIVE_NOTE = "示意数据：基于演示用模拟数据，非官方统计"


def status_label(code: str) -> str:
    """The Chinese label of a combined status code (the code itself if unknown)."""
    return STATUS_LABELS.get(code, code)
