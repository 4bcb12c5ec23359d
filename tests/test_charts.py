"""Charts: what a reader of a brief must see, checked on the Vega-Lite spec (real Altair).

Rendering (vl-convert → SVG) is checked in test_render.py; here one small-multiples grid
is rendered to make sure a composed chart compiles.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from wuwei_analysis import charts as C
from wuwei_analysis.errors import DataError
from wuwei_analysis.targets import Target

IMR_TARGET = Target(kind="at_most", value=5.0, year=2030, direction="down", text="≤5.0‰")


def _obs(region: str, years, values, *, illustrative: bool, code: str = "620602",
         indicator: str = "C1_imr", name: str = "婴儿死亡率", unit: str = "‰") -> pd.DataFrame:
    n = len(years)
    return pd.DataFrame({
        "indicator": [indicator] * n, "name_zh": [name] * n, "region": [region] * n,
        "region_code": [code] * n, "year": list(years), "value": list(values),
        "unit": [unit] * n, "illustrative": [illustrative] * n, "source": ["测试"] * n,
        "sex": [""] * n, "urban_rural": [""] * n, "age_group": [""] * n,
    })


def history(illustrative: bool = True, benchmarks: bool = True) -> pd.DataFrame:
    parts = [_obs("凉州区", range(2016, 2024), [8.6, 8.1, 7.5, 7.0, 6.6, 6.1, 5.8, 5.5],
                  illustrative=illustrative)]
    if benchmarks:
        parts.append(_obs("甘肃省", [2016, 2018, 2020, 2022], [9.0, 7.8, 6.4, 5.3],
                          illustrative=False, code="620000"))
        parts.append(_obs("全国", [2016, 2018, 2020, 2022], [7.5, 6.1, 5.4, 4.9],
                          illustrative=False, code="100000"))
    # a breakdown row that must not be drawn as the total
    sex = _obs("凉州区", [2023], [99.0], illustrative=illustrative)
    sex["sex"] = "女"
    parts.append(sex)
    return pd.concat(parts, ignore_index=True)


def forecast() -> pd.DataFrame:
    years = np.arange(2024, 2031)
    mean = 5.5 * 0.95 ** (years - 2023)
    sd = 0.25 * np.sqrt(years - 2023)
    fc = pd.DataFrame({"year": years, "median": mean, "mean": mean, "lo80": mean - 1.28 * sd,
                       "hi80": mean + 1.28 * sd, "lo95": mean - 1.96 * sd,
                       "hi95": mean + 1.96 * sd})
    fc.attrs.update(model_zh="对数线性趋势", p_meet=0.72, target_year=2030,
                    fitted=pd.DataFrame({"year": [2023], "fitted": [5.5]}))
    return fc


def layers(spec: dict) -> dict[str, dict]:
    return {layer.get("name", f"#{i}"): layer for i, layer in enumerate(spec["layer"])}


def rows(spec: dict, layer: dict) -> list[dict]:
    data = layer.get("data", spec.get("data"))
    return spec["datasets"][data["name"]]


def subtitle(spec: dict) -> list[str]:
    sub = spec.get("title", {}).get("subtitle", [])
    return [sub] if isinstance(sub, str) else list(sub)


# --------------------------------------------------------------------------- forecast chart
def test_forecast_chart_draws_fans_dashed_forecast_target_and_benchmarks():
    spec = C.forecast_chart(history(), forecast(), target=IMR_TARGET).to_dict()
    L = layers(spec)
    # 95% fan under the 80% fan, as areas between lo and hi
    names = list(L)
    assert names.index("fan95") < names.index("fan80") < names.index("lines")
    for lvl in ("95", "80"):
        enc = L[f"fan{lvl}"]["encoding"]
        assert L[f"fan{lvl}"]["mark"]["type"] == "area"
        assert enc["y"]["field"] == f"lo{lvl}" and enc["y2"]["field"] == f"hi{lvl}"
    # the fan starts at the last observation, so projection and history join
    fan = rows(spec, L["fan80"])
    assert fan[0]["year"] == 2023 and fan[0]["lo80"] == fan[0]["hi80"] == 5.5
    # one line layer: history solid, forecast dashed, benchmarks solid in muted colours
    enc = L["lines"]["encoding"]
    dash = dict(zip(enc["strokeDash"]["scale"]["domain"], enc["strokeDash"]["scale"]["range"]))
    color = dict(zip(enc["color"]["scale"]["domain"], enc["color"]["scale"]["range"]))
    assert dash[C.FORECAST_LABEL] == C.FORECAST_DASH and dash["凉州区"] == [1, 0]
    assert set(color) == {"凉州区", C.FORECAST_LABEL, "甘肃省", "全国"}
    assert color["甘肃省"] == C.SERIES_COLORS["甘肃省"] and color["全国"] == C.SERIES_COLORS["全国"]
    assert color["凉州区"] == color[C.FORECAST_LABEL] == C.MAIN_COLOR
    assert enc["color"]["legend"] is not None
    # history line holds totals only (the 女 breakdown row is not drawn)
    line_rows = rows(spec, L["lines"])
    assert max(r["value"] for r in line_rows if r["series"] == "凉州区") == 8.6
    # target: horizontal rule at 5.0, labelled, and a diamond at the target year
    rule = L["target_rule"]
    assert rule["mark"]["type"] == "rule" and "x" not in rule["encoding"]
    assert rows(spec, rule)[0]["target"] == 5.0
    assert rows(spec, L["target_label"])[0]["label"] == "2030年目标 ≤5.0‰"
    marker = L["target_marker"]
    assert marker["mark"]["shape"] == "diamond"
    assert rows(spec, marker)[0]["year"] == 2030
    # the year axis reaches the target year and prints integers (2020, not 2,020)
    x = L["lines"]["encoding"]["x"]
    assert x["scale"]["domain"] == [2016, 2030]
    assert x["axis"]["format"] == "d" and x["title"] == "年份"
    # Chinese axis titles with the unit
    assert L["lines"]["encoding"]["y"]["title"] == "婴儿死亡率（‰）"
    # title and subtitle: region · indicator, model and probability
    assert spec["title"]["text"] == "凉州区 · 婴儿死亡率"
    assert "预测模型：对数线性趋势；2030年达标概率 72%" in subtitle(spec)


@pytest.mark.parametrize("illustrative", [True, False])
def test_illustrative_note_appears_exactly_when_rows_are_illustrative(illustrative):
    for chart in (C.forecast_chart(history(illustrative), forecast(), target=IMR_TARGET),
                  C.forecast_chart(history(illustrative))):
        spec = chart.to_dict()
        assert (C.ILLUSTRATIVE_NOTE in subtitle(spec)) is illustrative
        assert ("示意数据" in json.dumps(spec, ensure_ascii=False)) is illustrative


def test_illustrative_flag_on_the_forecast_also_adds_the_note():
    fc = forecast()
    fc.attrs["illustrative"] = True
    spec = C.forecast_chart(history(illustrative=False), fc).to_dict()
    assert C.ILLUSTRATIVE_NOTE in subtitle(spec)


def test_history_only_chart_has_no_fan_and_no_forecast_series():
    spec = C.forecast_chart(history(), target=IMR_TARGET).to_dict()
    L = layers(spec)
    assert "fan80" not in L and "fan95" not in L
    assert C.FORECAST_LABEL not in L["lines"]["encoding"]["color"]["scale"]["domain"]
    assert "target_rule" in L  # the target is still drawn


def test_benchmarks_can_be_passed_separately_or_switched_off():
    hist = history(benchmarks=False)
    bench = history()
    bench = bench[bench.region.isin(["甘肃省", "全国"])]
    spec = C.forecast_chart(hist, forecast(), benchmarks=bench, unit="‰",
                            title="凉州区：婴儿死亡率").to_dict()
    domain = layers(spec)["lines"]["encoding"]["color"]["scale"]["domain"]
    assert "甘肃省" in domain and "全国" in domain
    assert spec["title"]["text"] == "凉州区：婴儿死亡率"
    spec = C.forecast_chart(history(), forecast(), benchmarks=False).to_dict()
    assert layers(spec)["lines"]["encoding"]["color"]["scale"]["domain"] == ["凉州区", "预测"]


def test_several_monitored_regions_need_region():
    two = pd.concat([history(), _obs("民勤县", [2020, 2021], [6.0, 5.0], illustrative=True,
                                     code="620621")])
    with pytest.raises(DataError, match="region"):
        C.forecast_chart(two)
    spec = C.forecast_chart(two, region="民勤").to_dict()
    assert spec["title"]["text"] == "民勤县 · 婴儿死亡率"


def test_directional_target_marks_the_target_year_without_a_rule():
    t = Target(kind="direction", direction="up", year=2030)
    spec = C.forecast_chart(history(), forecast(), target=t).to_dict()
    L = layers(spec)
    assert "target_rule" not in L and "target_year" in L
    assert rows(spec, L["target_label"])[0]["label"] == "2030年目标 逐步提高"


def test_relative_change_target_uses_the_base_year_value():
    t = Target(kind="relative_change", base_year=2020, change=-0.2, year=2030)
    spec = C.forecast_chart(history(), forecast(), target=t).to_dict()
    L = layers(spec)
    assert rows(spec, L["target_rule"])[0]["target"] == pytest.approx(6.6 * 0.8)
    assert rows(spec, L["target_label"])[0]["label"].startswith("2030年目标 较2020年下降20%")


def test_empty_history_gives_a_placeholder_not_an_error():
    spec = C.forecast_chart(history().iloc[0:0], title="婴儿死亡率").to_dict()
    assert spec["mark"]["type"] == "text"
    assert spec["title"]["text"] == "婴儿死亡率"


# --------------------------------------------------------------------------- county comparison
def latest(illustrative: bool = True) -> pd.DataFrame:
    return pd.DataFrame({
        "region": ["全国", "天祝县", "古浪县", "民勤县", "凉州区", "武威市", "甘肃省"],
        "value": [4.9, 7.8, 6.9, 4.1, 5.2, 5.6, 5.3],
        "year": [2022, 2023, 2023, 2023, 2023, 2023, 2022],
        "name_zh": "婴儿死亡率", "unit": "‰",
        "illustrative": [False, illustrative, illustrative, illustrative, illustrative,
                         illustrative, False],
    })


def test_county_comparison_orders_regions_and_draws_the_target():
    spec = C.county_comparison_chart(latest(), target=IMR_TARGET, highlight="天祝县").to_dict()
    L = layers(spec)
    y = L["bars"]["encoding"]["y"]
    assert y["sort"] == ["武威市", "凉州区", "民勤县", "古浪县", "天祝藏族自治县", "甘肃省", "全国"]
    kinds = {r["region"]: r["kind"] for r in rows(spec, L["bars"])}
    assert kinds["天祝藏族自治县"] == "本地区" and kinds["全国"] == "对比基准"
    assert L["bars"]["encoding"]["x"]["title"] == "婴儿死亡率（‰）"
    assert rows(spec, L["target_rule"])[0]["target"] == 5.0
    assert rows(spec, L["target_label"])[0]["label"] == "2030年目标 ≤5.0‰"
    assert C.ILLUSTRATIVE_NOTE in subtitle(spec)
    labels = {r["region"]: r["label"] for r in rows(spec, L["values"])}
    assert labels["全国"] == "4.9（2022年）"  # years differ, so each bar says its year


def test_county_comparison_without_illustrative_rows_has_no_note():
    spec = C.county_comparison_chart(latest(illustrative=False), unit="‰").to_dict()
    assert C.ILLUSTRATIVE_NOTE not in subtitle(spec)
    assert "target_rule" not in layers(spec)


# --------------------------------------------------------------------------- status overview
def assessment(illustrative: bool = True) -> pd.DataFrame:
    spec = [("C1", "儿童与健康", "achieved"), ("W1", "妇女与健康", "off_track"),
            ("W1", "妇女与健康", "achieved"), ("C1", "儿童与健康", "at_risk"),
            ("W1", "妇女与健康", "insufficient"), ("C3", "儿童与教育", "on_track"),
            ("W2", "妇女与教育", "not_applicable")]
    return pd.DataFrame([{
        "indicator": f"{dc}_{i}", "name_zh": f"指标{i}", "domain": dz, "domain_code": dc,
        "plan": "women" if dc[0] == "W" else "children", "unit": "%", "latest_year": 2023,
        "latest_value": 90.0 + i, "target_text": "≥95%", "target_value": 95.0,
        "target_year": 2030, "status_code": sc, "status": C.STATUS_ZH[sc],
        "p_meet": None if sc == "insufficient" else 0.1 * i, "illustrative": illustrative,
    } for i, (dc, dz, sc) in enumerate(spec)])


def test_status_constants_fixed_order_and_colours():
    assert C.STATUS_ORDER == ("已实现", "已达标但可能回落", "按期可达", "有风险", "难以实现",
                              "数据不足", "不适用")
    assert list(C.STATUS_COLORS) == list(C.STATUS_ORDER)
    assert C.STATUS_COLORS["已实现"] == C.STATUS_CODE_COLORS["achieved"] == "#2e7d32"  # green
    assert C.STATUS_COLORS["有风险"] == "#f28e2b" and C.STATUS_COLORS["难以实现"] == "#d62728"
    assert C.STATUS_COLORS["数据不足"] == "#9e9e9e"
    assert len(set(C.STATUS_COLORS.values())) == len(C.STATUS_COLORS)
    # met now but likely to slip: its own colour, never green
    assert C.STATUS_COLORS["已达标但可能回落"] not in (C.STATUS_COLORS["已实现"],
                                                  C.STATUS_COLORS["按期可达"])


def test_status_overview_one_mark_per_indicator_grouped_by_domain():
    a = assessment()
    spec = C.status_overview_chart(a).to_dict()
    enc = spec["encoding"]
    assert enc["color"]["scale"]["domain"] == list(C.STATUS_ORDER)
    assert enc["color"]["scale"]["range"] == [C.STATUS_COLORS[s] for s in C.STATUS_ORDER]
    assert enc["color"]["legend"]["values"] == list(C.STATUS_ORDER)
    data = rows(spec, spec)
    assert len(data) == len(a)
    # domains in plan order (women first), each row sorted by status
    assert enc["y"]["sort"] == ["妇女与健康", "妇女与教育", "儿童与健康", "儿童与教育"]
    w1 = [r["status_zh"] for r in data if r["domain_label"] == "妇女与健康"]
    assert w1 == ["已实现", "难以实现", "数据不足"]
    tips = {t["field"]: t["title"] for t in enc["tooltip"]}
    assert tips == {"name_zh": "指标", "domain_label": "领域", "status_zh": "状态",
                    "latest_text": "最新值", "target_show": "目标", "p_text": "达标概率"}
    by_name = {r["name_zh"]: r for r in data}
    assert by_name["指标3"]["p_text"] == "30%" and by_name["指标4"]["p_text"] == "—"
    assert by_name["指标0"]["latest_text"] == "90.0%（2023年）"   # the unit's decimals (vocab.numbers)
    assert C.ILLUSTRATIVE_NOTE in subtitle(spec)
    assert C.ILLUSTRATIVE_NOTE not in subtitle(C.status_overview_chart(assessment(False)).to_dict())


# --------------------------------------------------------------------------- small multiples
@pytest.mark.slow  # renders every panel
def test_domain_small_multiples_renders_one_panel_per_indicator():
    from wuwei_analysis.render import chart_to_svg

    h = history()
    h2 = h.assign(indicator="C1_u5mr", name_zh="5岁以下儿童死亡率", value=h.value * 1.3)
    h3 = h.assign(indicator="C1_care", name_zh="孕产妇系统管理率", unit="%", value=h.value + 80)
    chart = C.domain_small_multiples(
        pd.concat([h, h2, h3]), {"C1_imr": forecast()},
        targets={"C1_imr": IMR_TARGET, "C1_u5mr": Target(kind="at_most", value=6.0),
                 "C1_care": Target(kind="at_least", value=90.0)},
        domain="C1", region="凉州区", columns=2)
    spec = chart.to_dict()
    assert len(spec["concat"]) == 3 and spec["columns"] == 2
    assert spec["title"]["text"] == "凉州区 · 儿童与健康"
    assert C.ILLUSTRATIVE_NOTE in subtitle(spec)
    panel_titles = [p["title"]["text"] for p in spec["concat"]]
    assert panel_titles == ["婴儿死亡率", "5岁以下儿童死亡率", "孕产妇系统管理率"]
    svg = chart_to_svg(chart)
    assert "孕产妇系统管理率" in svg and re.search(r">2,0\d\d<", svg) is None


# --------------------------------------------------------------------------- theme
def test_theme_names_a_cjk_font_chain():
    cfg = C.theme_config()
    assert cfg["font"].startswith("Noto Sans CJK SC")
    for name in ("Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "sans-serif"):
        assert name in cfg["font"]
    themed = C.themed(C.forecast_chart(history())).to_dict()
    assert themed["config"]["font"] == C.FONT_FAMILY


def test_svg_chart_draws_the_median_as_the_point_forecast():
    """The brief's / app's SVG chart reads ``median`` (the point forecast) from the engine's
    forecast table; a frame with only the old ``mean`` name still draws."""
    import wuwei_analysis as wa
    from wuwei_analysis.indicator_catalog import indicator
    from wuwei_analysis.svgchart import chart_data, render_svg
    from wuwei_analysis.vocab.numbers import format_value

    ind = indicator("c_infant_mortality")
    hist = pd.DataFrame({"year": [2019, 2020, 2021, 2022, 2023],
                         "value": [7.6, 7.1, 6.8, 6.2, 5.9]})
    fc = wa.forecast_series(hist["year"], hist["value"], target=ind.id)
    assert (fc["median"] == fc["mean"]).all()
    d = chart_data(ind, "古浪县", hist, fc, threshold=5.0)
    assert [r["median"] for r in d.forecast] == fc["median"].tolist()
    end = f"{int(fc['year'].iloc[-1])}年：{format_value(fc['median'].iloc[-1], '‰')}"
    svg = render_svg(d)
    assert 'class="forecast"' in svg and end in svg
    old = render_svg(chart_data(ind, "古浪县", hist, fc.drop(columns="median"), threshold=5.0))
    assert old == svg
