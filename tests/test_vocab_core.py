"""The one vocabulary: numbers print as official statistics print them, and every status,
outlook and warning code has one label and one colour, used by every page."""
from __future__ import annotations

import math

from wuwei_analysis.vocab import labels as L
from wuwei_analysis.vocab.messages import MESSAGES, say, trend_phrase
from wuwei_analysis.vocab.numbers import (
    format_change, format_prob, format_range, format_relative, format_value, round_for_unit,
)


def test_values_carry_their_units_decimals_and_no_run_together_numbers():
    assert format_value(51.0, "1/10万") == "51.0/10万"       # not "51.01/10万"
    assert format_value(0, "1/10万") == "0.0/10万"
    assert format_value(66.3, "1/万") == "66.3/万"
    assert format_value(4.46, "‰") == "4.5‰"                 # 婴儿死亡率4.5‰
    assert format_value(96.24, "%") == "96.2%"
    assert format_value(1.0, "所") == "1所" and format_value(2.0, "人/所") == "2人/所"
    assert format_value(1059.0, "个") == "1059个"
    assert format_value(None, "%") == format_value(math.nan, "%") == "—"
    assert format_value(-1e-17, "‰") == "0.0‰"               # no "-0.0"


def test_ranges_changes_and_probabilities():
    assert format_range(2.1, 2.2, "人/所") == "2人/所"          # not "2–2人/所"
    assert format_range(4.12, 5.31, "‰") == "4.1–5.3‰"
    assert format_change(-0.3, "‰") == "-0.3个千分点"
    assert format_change(2.27, "%") == "+2.3个百分点"          # a change of a share
    assert format_change(0.3, "‰", signed=False) == "0.3个千分点"
    assert format_relative(0.027) == "+2.7%"                  # a relative change
    assert format_prob(0.004) == "不足1%" and format_prob(0.996) == "99%以上"
    assert format_prob(0.5) == "50%" and format_prob(None) == "—"
    assert round_for_unit(4.360624739904448, "‰") == 4.4


def test_sentences_are_templates_filled_from_numbers():
    assert say("w_moving_away") == "近年走势背离目标方向"
    assert say("met", year=2024, name="婴儿死亡率", value=format_value(4.4, "‰"),
               target="≤5.0‰") == "2024年婴儿死亡率为4.4‰，已达到“≤5.0‰”的目标"
    assert trend_phrase(-0.31, "‰") == "近年呈下降趋势（年均-0.31个千分点）"
    assert trend_phrase(1e-17, "‰") == trend_phrase(-1e-17, "‰") == \
        "近年基本持平（年均0.00个千分点）"
    assert all(isinstance(k, str) and v for k, v in MESSAGES.items())


def test_one_label_and_one_colour_per_code():
    assert tuple(L.STATUS_LABELS) == L.STATUS_CODES
    assert set(L.STATUS_COLORS) == set(L.STATUS_LABELS) == set(L.STATUS_TEXT_COLORS)
    assert set(L.OUTLOOK_COLORS) == set(L.OUTLOOK_LABELS)
    assert set(L.CURRENT_COLORS) == set(L.CURRENT_LABELS)
    assert L.CURRENT_LABELS == {"met": "已达标", "not_met": "未达标", "no_target": "无量化目标",
                                "no_data": "暂无数据"}
    assert L.OUTLOOK_LABELS == {"on_track": "按期可达", "at_risk": "有风险",
                                "off_track": "难以实现", "insufficient": "数据不足",
                                "not_applicable": "不适用"}
    assert L.STATUS_LABELS["may_slip"] == "已达标但可能回落"
    # met now but likely to slip: its own colour, never the green of 已实现
    assert L.STATUS_COLORS["may_slip"] not in (L.STATUS_COLORS["achieved"],
                                               L.STATUS_COLORS["on_track"])
    assert len(set(L.STATUS_COLORS.values())) == len(L.STATUS_COLORS)
    assert L.FONT_FAMILY.startswith("Noto Sans CJK SC") and L.FONT_FAMILY.endswith("sans-serif")
    assert '"Noto Sans CJK SC"' in L.CSS_FONT_FAMILY


def test_every_page_uses_the_one_palette_and_labels():
    from wuwei_analysis import charts, report, svgchart
    from wuwei_analysis.app import present

    assert charts.STATUS_CODE_COLORS is present.STATUS_CODE_COLORS is L.STATUS_COLORS
    assert report.STATUS_CSS is L.STATUS_COLORS and report.STATUS_ZH is L.STATUS_LABELS
    assert charts.STATUS_ZH is present.STATUS_ZH is L.STATUS_LABELS
    assert svgchart.FONT_FAMILY == charts.FONT_FAMILY == L.FONT_FAMILY
