"""The forecast app's package side (no browser): what-if maths, chart, callbacks, exports.

The app is built on a small hand-made database (a few indicators for 武威市 and 古浪县, a
national benchmark), so every number below can be checked by hand.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from wuwei_analysis.targets import Target

REPO = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- what-if maths
from wuwei_analysis.app.whatif import (  # noqa: E402
    observed_rate, project, required_rate, scenario_mode, whatif,
)


def test_required_rate_is_the_aarr_that_lands_exactly_on_the_target():
    r = required_rate(10.0, 5.0, 10, mode="down")
    assert r == pytest.approx((1 - 0.5 ** 0.1) * 100)           # 6.70 % a year
    years, values = project(10.0, 2020, r, mode="down", to_year=2030)
    assert years[0] == 2020 and years[-1] == 2030
    assert values[-1] == pytest.approx(5.0)
    up = required_rate(80.0, 90.0, 6, mode="up")
    assert 80.0 * (1 + up / 100) ** 6 == pytest.approx(90.0)


def test_required_rate_edge_cases():
    assert required_rate(4.0, 5.0, 6, mode="down") == 0.0        # already met
    assert required_rate(95.0, 90.0, 6, mode="up") == 0.0
    assert required_rate(3.0, 0.0, 6, mode="down") is None       # 0 is never reached by %
    assert required_rate(80.0, 101.0, 6, mode="up", upper=100.0) is None
    assert required_rate(10.0, 5.0, 0, mode="down") is None      # target year passed
    # around: the distance 52 − 50 = 2 must shrink to the tolerance 1 in 4 years
    r = required_rate(52.0, 50.0, 4, mode="toward", tolerance=1.0)
    assert r == pytest.approx((1 - 0.5 ** 0.25) * 100)


def test_scenario_paths_respect_the_units_range_and_direction():
    _, up = project(96.0, 2024, 5.0, mode="up", to_year=2030, upper=100.0)
    assert max(up) == 100.0 and up[0] == 96.0
    _, worse = project(5.0, 2024, -10.0, mode="down", to_year=2030)
    assert worse[-1] > worse[0]
    _, toward = project(55.0, 2024, 50.0, mode="toward", to_year=2026, toward=50.0)
    assert toward == pytest.approx((55.0, 52.5, 51.25))


def test_whatif_judges_the_final_value_with_the_targets_own_rule():
    t = Target(kind="at_most", value=5.0, year=2030, direction="down")
    ok = whatif(t, 2024, 6.0, 4.0)
    assert ok.mode == "down" and ok.final_value == pytest.approx(6.0 * 0.96 ** 6)
    assert ok.meets is True and ok.required_rate == pytest.approx((1 - (5 / 6) ** (1 / 6)) * 100)
    assert ok.required_abs == pytest.approx((5.0 - 6.0) / 6)
    bad = whatif(t, 2024, 6.0, 1.0)
    assert bad.meets is False
    rel = Target(kind="relative_change", base_year=2020, change=-0.2, year=2030)
    w = whatif(rel, 2024, 9.0, 3.0, base_value=10.0)
    assert w.threshold == pytest.approx(8.0) and w.meets is (9.0 * 0.97 ** 6 <= 8.0)
    d = Target(kind="direction", direction="up", year=2030)
    assert whatif(d, 2024, 50.0, 1.0).meets is True
    assert whatif(d, 2024, 50.0, -1.0).meets is False
    assert whatif(d, 2024, 50.0, 1.0).required_rate is None
    q = Target(kind="qualitative")
    assert scenario_mode(q) is None and not whatif(q, 2024, 1.0, 1.0).applicable


def test_observed_rate_recovers_a_constant_rate():
    years = list(range(2015, 2025))
    assert observed_rate(years, [10 * 0.95 ** i for i in range(10)], mode="down") == \
        pytest.approx(5.0)
    assert observed_rate(years, [50 * 1.02 ** i for i in range(10)], mode="up") == \
        pytest.approx(2.0)
    assert observed_rate([2024], [3.0], mode="down") is None


# --------------------------------------------------------------------------- the SVG chart
from wuwei_analysis.svgchart import ChartData, nice_ticks, render_svg  # noqa: E402


def test_chart_svg_is_self_contained_with_chinese_text():
    d = ChartData(title="武威市 · 婴儿死亡率", unit="‰", region="武威市",
                  history=[(2015, 8.0), (2020, 6.0), (2024, 4.8)],
                  benchmarks={"全国": [(2015, 8.1), (2023, 4.5)]},
                  forecast=[{"year": y, "mean": 4.8 - 0.1 * (y - 2024), "lo80": 4.0,
                             "hi80": 5.2, "lo95": 3.5, "hi95": 5.8} for y in range(2025, 2031)],
                  target_value=5.0, target_year=2030, target_label="2030年目标 ≤5.0‰",
                  whatif=[(2024, 4.8), (2030, 4.0)], whatif_label="情景：每年改善3%",
                  key={"region": "武威市", "indicator": "c_infant_mortality"})
    svg = render_svg(d)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "2030年目标 ≤5.0‰" in svg and "武威市 · 婴儿死亡率" in svg and "全国" in svg
    assert 'class="fan80"' in svg and 'class="whatif"' in svg and 'class="target"' in svg
    assert 'data-indicator="c_infant_mortality"' in svg
    urls = re.findall(r"https?://[^\"' ]+", svg)
    assert urls == ["http://www.w3.org/2000/svg"]     # only the XML namespace
    empty = render_svg(ChartData(title="古浪县 · 某指标"))
    assert "暂无" in empty


def test_nice_ticks_cover_the_range_with_round_steps():
    ticks = nice_ticks(3.2, 8.9)
    assert ticks[0] <= 3.2 and ticks[-1] >= 8.9 and 4 <= len(ticks) <= 8
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and steps.pop() in (0.5, 1.0, 2.0)


def test_app_colours_and_note_match_the_charts_module():
    from wuwei_analysis import charts
    from wuwei_analysis import svgchart
    from wuwei_analysis.app import present

    assert svgchart.ILLUSTRATIVE_NOTE == charts.ILLUSTRATIVE_NOTE
    assert svgchart.FONT_FAMILY == charts.FONT_FAMILY
    assert svgchart.MAIN_COLOR == charts.MAIN_COLOR
    assert svgchart.TARGET_COLOR == charts.TARGET_COLOR
    assert svgchart.SERIES_COLORS == charts.SERIES_COLORS
    assert svgchart.FAN_COLORS == charts.FAN_COLORS
    assert present.STATUS_COLORS == charts.STATUS_COLORS
    assert present.STATUS_ORDER == charts.STATUS_ORDER


# --------------------------------------------------------------------------- a small database
def _series(start, rate, n=10):
    return [round(start * (1 + rate) ** i, 3) for i in range(n)]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    """Infant and under-5 mortality (with counts), immunisation coverage and a direction
    indicator, for 武威市 and 古浪县 2015–2024 (illustrative), and 全国 as a benchmark."""
    from wuwei_analysis import store

    path = tmp_path_factory.mktemp("appdb") / "app.sqlite"
    conn = store.open_db(path)
    years = list(range(2015, 2025))
    recs = []

    def add(ind, code, values, *, births=None, illustrative=True, yrs=years):
        for k, (y, v) in enumerate(zip(yrs, values)):
            r = {"indicator": ind, "region_code": code, "year": y, "value": v,
                 "illustrative": illustrative, "source": "测试数据"}
            if births:
                r["denominator"] = births
                r["numerator"] = round(v * births / 1000)
            recs.append(r)

    add("c_infant_mortality", "620600", _series(8.0, -0.06), births=15000)
    add("c_infant_mortality", "620622", _series(11.0, -0.02), births=3000)
    add("c_under5_mortality", "620600", _series(10.0, -0.05), births=15000)
    add("c_under5_mortality", "620622", _series(13.0, -0.02), births=3000)
    add("c_immunisation_coverage", "620600", _series(85.0, 0.01))
    add("c_immunisation_coverage", "620622", _series(80.0, 0.005))
    add("c_child_health_literacy", "620600", _series(20.0, 0.04))
    add("c_infant_mortality", "100000", [8.9, 7.5, 6.8, 6.1, 5.6, 5.4, 5.0, 4.9, 4.5],
        illustrative=False, yrs=list(range(2015, 2024)))
    with store.transaction(conn):
        sid = store.add_submission(conn, kind="illustrative", file_name="test_app")
        store.write_observations(conn, sid, recs)
        store.finish_submission(conn, sid, rows_read=len(recs), rows_accepted=len(recs),
                                rows_rejected=0)
    conn.close()
    from wuwei_analysis.database import init_db

    init_db(path, with_defaults=False)   # as the user made it: never filled with the defaults
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    h = tmp_path_factory.mktemp("wuwei_home")
    mp.setenv("WUWEI_HOME", str(h))
    yield h
    mp.undo()


@pytest.fixture(scope="module")
def app(small_db, home):
    from wuwei_analysis.app import build_app

    a = build_app(small_db, warm=False, safe=False)
    a.download_delay = None      # build the download links synchronously
    return a


def chart_key(app) -> tuple[str, str]:
    m = re.search(r'data-region="([^"]*)" data-indicator="([^"]*)"', app.chart.value)
    return m.group(1), m.group(2)


def rows_in_table(app) -> list[str]:
    return re.findall(r'<tr[^>]*data-indicator="([^"]+)"', app.table.value)


def test_the_first_screen_shows_chart_summary_whatif_table_and_note(app):
    from wuwei_analysis.svgchart import ILLUSTRATIVE_NOTE

    assert chart_key(app) == ("武威市", "c_infant_mortality")
    assert "<svg" in app.chart.value and "2030年目标 ≤5" in app.chart.value
    assert "婴儿死亡率" in app.summary.value and "达标概率" in app.summary.value
    assert "2030年将为" in app.whatif_result.value
    assert "c_infant_mortality" in rows_in_table(app)
    assert "ww-badge" in app.table.value
    assert ILLUSTRATIVE_NOTE in app.banner.value       # the data are illustrative
    assert app.region.options[0] == "武威市" and len(app.region.options) == 5
    labels = [lab for lab, _ in app.indicator.options]
    assert any(lab.startswith("婴儿死亡率") for lab in labels)


def test_changing_indicator_and_region_updates_chart_and_table(app):
    app.select(region="武威市", indicator="c_under5_mortality")
    assert chart_key(app) == ("武威市", "c_under5_mortality")
    assert 'class="ww-selected" data-indicator="c_under5_mortality"' in app.table.value
    assert "5岁以下儿童死亡率" in app.summary.value
    before = app.table.value
    app.select(region="古浪县")
    assert chart_key(app) == ("古浪县", "c_under5_mortality")
    assert "古浪县" in app.table_title.value and app.table.value != before
    app.select(region="武威市", indicator="c_infant_mortality")
    assert chart_key(app) == ("武威市", "c_infant_mortality")


def test_region_without_data_shows_a_message_not_an_error(app):
    app.select(region="民勤县")
    assert chart_key(app) == ("民勤县", "c_infant_mortality")
    assert "暂无" in app.chart.value and "无法推演" in app.whatif_result.value
    app.select(region="武威市")


def test_domain_picker_filters_indicators_and_table(app):
    app.select(domain="C1")
    ids = [v for _, v in app.indicator.options]
    assert ids and all(i.startswith("c_") for i in ids)
    assert set(rows_in_table(app)) <= set(ids)
    app.select(domain="")
    assert len(app.indicator.options) > len(ids)
    app.select(domain="C1", indicator="c_infant_mortality")


def test_whatif_control_changes_the_projected_value_and_the_chart(app):
    def value():
        return float(re.search(r'ww-whatif-value[^"]*">([\d.]+)', app.whatif_result.value)
                     .group(1))

    app.select(indicator="c_infant_mortality", rate=0.0)
    flat = value()
    assert 'data-whatif="0"' in app.chart.value
    app.select(rate=10.0)
    assert value() < flat and 'data-whatif="10"' in app.chart.value
    assert "可以实现目标" in app.whatif_result.value
    app.select(rate=-10.0)
    assert value() > flat
    assert "达标所需" in app.whatif_result.value


def test_whatif_starts_at_the_trend_labelled_from_the_modelled_level(app):
    from wuwei_analysis.app.present import modelled_level

    for ind, region in (("c_infant_mortality", "古浪县"), ("c_immunisation_coverage", "武威市"),
                        ("c_under5_mortality", "武威市")):
        app.select(region=region, indicator=ind)
        assert app.rate.value == 0.0                             # always the trend first
        assert "按当前趋势（0 %）" in app.whatif_result.value
        view = app.current_view()
        w = app.data and __import__("wuwei_analysis.app.present", fromlist=["x"]).scenario(
            view, 0.0)
        at = view.forecast[view.forecast["year"] == 2030].iloc[0]
        assert w.final_value == pytest.approx(at["mean"])        # 0 % = the trend forecast
        assert (w.lo80, w.hi80) == pytest.approx((at["lo80"], at["hi80"]))
        y, level = modelled_level(view)
        fitted = view.forecast.attrs.get("fitted")
        if fitted is not None:
            assert level == pytest.approx(fitted[fitted["year"] == y]["fitted"].iloc[-1])
        else:   # the trend carried back one year from the first forecast years
            m = dict(zip(view.forecast["year"], view.forecast["mean"]))
            back = (m[y + 1] ** 2 / m[y + 2] if view.forecast.attrs.get("scale") == "log"
                    else 2 * m[y + 1] - m[y + 2])
            assert level == pytest.approx(back)
        assert w.start_value == pytest.approx(level)
        assert "80%区间" in app.whatif_result.value               # the scenario's uncertainty


def test_a_worse_than_trend_result_is_never_green():
    from wuwei_analysis.app.whatif import trend_whatif

    t = Target(kind="at_most", value=12.0, year=2030, direction="down")
    years = list(range(2025, 2031))
    # the trend is far below the target: even 10 % a year worse still meets it
    w = trend_whatif(t, years, [5.0] * 6, 2024, 5.0, -10.0, lo80=3.0, hi80=8.0)
    assert w.meets is True and w.worse_than_trend
    from wuwei_analysis.app.present import whatif_html
    from types import SimpleNamespace

    from wuwei_analysis.indicator_catalog import indicator

    view = SimpleNamespace(ind=indicator("w_maternal_mortality"), decimals=1, threshold=12.0,
                           base_value=None)
    html = whatif_html(view, w)
    assert "ww-yes" not in html and "ww-worse" in html and "比当前趋势差" in html
    better = trend_whatif(t, years, [5.0] * 6, 2024, 5.0, 3.0, lo80=3.0, hi80=8.0)
    assert "ww-yes" in whatif_html(view, better)
    # the scenario's range moves with it, and the chance says how sure it is
    assert better.lo80 < 3.0 and better.hi80 < 8.0 and better.chance == "likely"
    worse = trend_whatif(t, years, [11.0] * 6, 2024, 11.0, -5.0, lo80=8.0, hi80=15.0)
    assert worse.meets is False and worse.chance in ("unlikely", "very_unlikely")
    assert "ww-no" in whatif_html(view, worse) and "ww-yes" not in whatif_html(view, worse)


def test_what_the_page_says_agrees_with_the_assessment(app, small_db):
    import wuwei_analysis as wa

    row = wa.assess(region="武威市", db=small_db, indicators=["c_infant_mortality"]).iloc[0]
    view = app.data.view("c_infant_mortality", "武威市")
    assert view.status["status"] == row["status"]
    assert view.status["p_meet"] == pytest.approx(row["p_meet"])
    at2030 = view.forecast[view.forecast["year"] == 2030].iloc[0]
    assert at2030["mean"] == pytest.approx(row["forecast_value"])
    assert view.threshold == pytest.approx(5.0)


def test_status_table_sorts_by_any_column(app):
    app.select(region="武威市", domain="C1")
    app.sort_key.value = "p_meet"
    app.sort_order.value = True
    assert 'data-sort-key="p_meet"' in app.table.value and "▼" in app.table.value
    from wuwei_analysis.app.present import sort_rows

    rows = app.shown_rows()
    ordered = [r["indicator"] for r in sort_rows(rows, "p_meet", True)]
    assert rows_in_table(app) == ordered
    ps = [r["p_meet"] for r in sort_rows(rows, "p_meet", True) if r["p_meet"] is not None]
    assert ps == sorted(ps, reverse=True)
    app.sort_key.value = "name"
    assert rows_in_table(app) == [r["indicator"] for r in sort_rows(rows, "name",
                                                                      app.sort_order.value)]
    app.sort_key.value = "status"


def test_triage_puts_off_track_first_and_unjudged_last():
    from wuwei_analysis.app.present import sort_rows

    def row(i, status, rank):
        return {"indicator": i, "order": i, "status": status, "triage_rank": rank}

    rows = [row(0, "数据不足", None), row(1, "已实现", 3), row(2, "难以实现", 0),
            row(3, "不适用", None), row(4, "有风险", 1), row(5, "按期可达", 2)]
    assert [r["status"] for r in sort_rows(rows, "status")] == \
        ["难以实现", "有风险", "按期可达", "已实现", "数据不足", "不适用"]
    # descending never puts 不适用 / 数据不足 first
    assert [r["status"] for r in sort_rows(rows, "status", True)][:4] == \
        ["已实现", "按期可达", "有风险", "难以实现"]


def test_the_table_starts_sorted_off_track_first_and_clicks_sort_and_open(app):
    from wuwei_analysis.app import build_app

    fresh = build_app(app.data.db, warm=False, safe=False)
    assert fresh.sort_key.value == "status" and fresh.sort_order.value is False
    assert 'data-sort-key="status"' in fresh.table.value
    fresh.command.value = "sort:p_meet|1"              # a click on the 达标概率 header
    assert 'data-sort-key="p_meet"' in fresh.table.value and "▲" in fresh.table.value
    fresh.command.value = "sort:p_meet|2"              # again: the order reverses
    assert "▼" in fresh.table.value
    fresh.command.value = "open:c_under5_mortality|3"  # a click on a row
    assert chart_key(fresh) == ("武威市", "c_under5_mortality")


def test_the_table_filters_by_status_domain_and_member_unit(app):
    app.select(region="武威市", domain="")
    every = rows_in_table(app)
    statuses = {r["status"] for r in app.shown_rows()}
    some = sorted(statuses)[0]
    app.status_filter.value = some
    shown = rows_in_table(app)
    assert shown and set(shown) < set(every) or len(statuses) == 1
    assert all(r["status"] == some for r in app.shown_rows() if r["indicator"] in shown)
    app.status_filter.value = ""
    unit = app.reporter_filter.options[1][1]
    app.reporter_filter.value = unit
    by_unit = rows_in_table(app)
    from wuwei_analysis.indicator_catalog import indicator

    assert by_unit and all(unit in indicator(i).reporter for i in by_unit)
    app.reporter_filter.value = ""
    assert rows_in_table(app) == every


def test_downloads_hold_the_shown_data_as_csv_and_xlsx(app):
    import base64

    import openpyxl

    from wuwei_analysis.app.present import export_csv, export_xlsx, scenario

    app.select(region="武威市", indicator="c_infant_mortality", rate=3.0)
    view = app.current_view()
    w = scenario(view, 3.0)
    csv = export_csv(view, w)
    assert csv.startswith("\ufeff".encode())
    text = csv.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")           # no comment line: the header first
    assert header[:7] == ["指标编号", "指标", "单位", "系列", "地区", "年份", "数值"]
    assert "示意数据" in header                          # the illustrative flag is a column
    assert "实际值" in text and "预测" in text and "对比" in text and "情景（" in text
    import pandas as pd

    df = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    assert set(df["示意数据"]) <= {"是", "否"} and (df["示意数据"] == "是").any()
    vals = pd.concat([df["数值"].dropna(), df["预测或情景值"].dropna()])
    assert df.loc[df["系列"] == "预测", "数值"].isna().all()
    assert all(round(v, 2) == v for v in vals)          # rounded as printed (‰: 2 decimals)
    assert not re.search(r"\d\.\d{5,}", text)            # no 4.360624739904448
    xlsx = export_xlsx(view, w, app.shown_rows())
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames == ["图表数据", "状态一览", "说明"]
    assert wb["图表数据"]["A2"].value == "c_infant_mortality"
    assert wb["状态一览"].max_row > 1
    app.flush_downloads()
    links = app.downloads.value
    m = re.search(r'download="([^"]+\.csv)" href="data:text/csv;charset=utf-8;base64,([^"]+)"',
                  links)
    assert m and m.group(1) == "武威市_婴儿死亡率.csv"
    assert base64.b64decode(m.group(2)).decode("utf-8-sig").count("\n") == text.count("\n")
    # the workbook is built when its link is clicked (the page sends "xlsx:"), not before
    assert "spreadsheetml" not in links and 'data-command="xlsx"' in links
    app.command.value = "xlsx:|1"
    links = app.downloads.value
    m = re.search(r'data-autoclick="\d+" href="data:application/vnd.openxmlformats-officedocument'
                  r'.spreadsheetml.sheet;base64,([^"]+)"', links)
    assert m and zipfile.is_zipfile(io.BytesIO(base64.b64decode(m.group(1))))
    assert "武威市_婴儿死亡率.csv" in links                  # the CSV link stays


def test_results_are_shared_with_later_kernels_through_the_disk_cache(small_db, home):
    from wuwei_analysis.app.cache import DiskCache
    from wuwei_analysis.app.data import AppData

    first = AppData(small_db)
    first.view("c_under5_mortality", "古浪县")
    assert first.disk.enabled and first.disk.root.is_relative_to(home)
    assert DiskCache.for_db(small_db).root == first.disk.root     # same data and code
    later = AppData(small_db)
    later.disk = DiskCache(first.disk.root)   # (the code may be edited while tests run)
    v = later.view("c_under5_mortality", "古浪县")
    assert later.computed == 0                 # loaded, not recomputed
    assert v.status["status"] == first.view("c_under5_mortality", "古浪县").status["status"]


def test_the_warmer_fills_the_status_table(small_db, home):
    from wuwei_analysis.app import build_app

    a = build_app(small_db, region="古浪县", safe=False)
    assert a.warmer is not None
    assert a.warmer.done.wait(120)
    a.warmer.stop()
    assert "计算中" not in a.table.value
    assert set(rows_in_table(a)) == {i.id for i in a.data.indicators(a.domain.value)}


def test_build_app_shows_a_chinese_message_instead_of_failing(tmp_path, home):
    import ipywidgets

    from wuwei_analysis.app import build_app

    bad = tmp_path / "not_a_db.sqlite"
    bad.write_text("this is not sqlite")
    w = build_app(bad, warm=False)
    assert isinstance(w, ipywidgets.HTML) and "应用无法启动" in w.value


# --------------------------------------------------------------------------- notebook and command
def test_the_notebook_is_thin_and_has_no_outputs():
    from wuwei_analysis.app import NOTEBOOK_CODE

    nb = json.loads((REPO / "notebooks" / "forecast_app.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) == 1 and "".join(code[0]["source"]) == NOTEBOOK_CODE
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_voila_command_has_the_settings_for_officials(tmp_path):
    from wuwei_analysis.cli.app_cmd import app_env, prepare_root, voila_command

    nb = prepare_root(tmp_path / "root")
    assert [p.name for p in (tmp_path / "root").iterdir()] == ["forecast_app.ipynb"]
    cmd = voila_command(nb, port=9999, pool_size=1, cull_idle=40)
    assert cmd[1:3] == ["-m", "wuwei_analysis.app.server"]
    joined = " ".join(cmd)
    for flag in ("--Voila.ip=127.0.0.1", "--strip_sources=True", "--show_tracebacks=False",
                 "--preheat_kernel=True", "--pool_size=1", "--theme=light",
                 "--MappingKernelManager.cull_idle_timeout=40",
                 "--MappingKernelManager.cull_interval=10", "--template=wuwei_app",
                 "--VoilaConfiguration.allow_theme_override=NO", "--no-browser",
                 "--VoilaConfiguration.file_allowlist=^$", "--port=9999"):
        assert flag in cmd, flag
    assert str(nb) in cmd and "--Voila.root_dir" not in joined
    env = app_env(str(tmp_path / "x.sqlite"))
    assert env["WUWEI_DB"] == str((tmp_path / "x.sqlite").resolve())
    tpl = Path(env["JUPYTER_PATH"].split(":")[0]) / "voila" / "templates" / "wuwei_app"
    text = (tpl / "index.html.j2").read_text(encoding="utf-8")
    assert not re.findall(r"https?://", text)       # the lab template's CDN links are gone
    # Chinese page: lang, loading screen, the retry message; Chinese error and login pages
    assert '<html lang="zh-CN">' in text and "正在加载，请稍候…" in text
    assert "无法连接计算内核，正在重试…" in text
    pages = Path(env["JUPYTER_PATH"].split(":")[0]) / "pages"
    for name in ("error.html", "404.html", "403.html", "500.html", "login.html"):
        assert (pages / name).exists(), name
    assert 'lang="zh-CN"' in (pages / "error.html").read_text(encoding="utf-8")


def test_wuwei_app_print_command(tmp_path, monkeypatch, capsys):
    from wuwei_analysis.cli import main

    monkeypatch.setenv("WUWEI_HOME", str(tmp_path))
    assert main(["--db", str(tmp_path / "a.sqlite"), "app", "--port", "8899",
                 "--print-command"]) == 0
    out = capsys.readouterr().out
    assert "voila" in out and "--port=8899" in out and "--Voila.ip=127.0.0.1" in out
    assert main(["app", "--db", str(tmp_path / "b.sqlite"), "--print-command"]) == 0
    assert "--port=8866" in capsys.readouterr().out


def test_the_csv_download_imports_without_editing(app, tmp_path):
    """`wuwei import` reads the downloaded CSV as it is: the region's observed rows are
    accepted (benchmark rows refused by the importer's rule for public data),
    the forecast and scenario rows (no 数值: their numbers are in 预测或情景值) are skipped
    as blank, so a forecast is never stored as an observation."""
    from wuwei_analysis import store
    from wuwei_analysis.app.present import export_csv, scenario
    from wuwei_analysis.ingest.importer import import_file

    app.select(region="武威市", indicator="c_infant_mortality", rate=0.0)
    view = app.current_view()
    path = tmp_path / "shown.csv"
    data = export_csv(view, scenario(view, 0.0))
    path.write_bytes(data)
    text = data.decode("utf-8-sig")
    observed = sum(1 for line in text.splitlines() if ",实际值," in line)
    benchmark = sum(1 for line in text.splitlines() if ",对比," in line)
    db = tmp_path / "imported.sqlite"
    store.open_db(db).close()
    result = import_file(path, db=db)
    assert result.rows_accepted == observed
    # 全国 / 甘肃省 rows are refused by the importer's own rule (public data only), with a reason
    assert result.rows_rejected == benchmark
    assert result.rows_read + result.rows_blank == len(text.splitlines()) - 1
    from wuwei_analysis.database import observations

    assert observations(db=db)["year"].max() <= view.latest[0]


def test_a_network_address_needs_a_password_or_token(tmp_path, monkeypatch, capsys):
    from wuwei_analysis.app.server import TOKEN_ENV, is_loopback
    from wuwei_analysis.cli import main
    from wuwei_analysis.cli.app_cmd import auth_path, has_login, set_password

    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    monkeypatch.setenv("WUWEI_HOME", str(tmp_path))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert not has_login()
    assert main(["app", "--host", "0.0.0.0", "--db", str(tmp_path / "a.sqlite"),
                 "--print-command"]) == 2
    assert "拒绝启动" in capsys.readouterr().err
    with pytest.raises(ValueError):
        set_password("short")
    path = set_password("一个足够长的密码2030")
    assert path == auth_path() and (path.stat().st_mode & 0o777) == 0o600
    stored = json.loads(path.read_text())["hashed_password"]
    assert stored.startswith("argon2:") and "足够长" not in stored      # hashed, not plain
    from jupyter_server.auth import passwd_check

    assert passwd_check(stored, "一个足够长的密码2030")
    assert main(["app", "--host", "0.0.0.0", "--db", str(tmp_path / "a.sqlite"),
                 "--print-command"]) == 0
    out = capsys.readouterr().out
    assert "--Voila.ip=0.0.0.0" in out and f"--WuweiVoila.auth_file={path}" in out


def test_the_status_table_shows_the_regions_goal_counts_in_the_briefs_words(app, small_db):
    """Above the indicator table: the counts over the plans' 主要目标 of the one counting
    function (goals.goal_counts), in the sentence the CLI prints."""
    import html as _html

    from wuwei_analysis.assessment import assess
    from wuwei_analysis.goals import counts_sentence, goal_counts

    region = app.region.value
    expected = counts_sentence(goal_counts(assess(region=region, db=str(small_db))))
    assert expected in _html.unescape(app.table_title.value)


def test_a_page_kernel_after_the_warmer_imports_no_model_library(small_db, tmp_path):
    """After ``wuwei app``'s warmer has filled the disk cache, a page kernel serves every
    region and indicator from it: it never imports the fitting engine and its libraries,
    nor pyarrow (``lean_kernel``), nor openpyxl before an Excel file is asked for (each
    kernel < 200 MB)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, WUWEI_HOME=str(tmp_path), WUWEI_DB=str(small_db),
               PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "wuwei_analysis.app.warm"], env=env, check=True,
                   capture_output=True, timeout=300)
    page = ("import sys\n"
            "from wuwei_analysis.app import build_app, lean_kernel\n"
            "lean_kernel()\n"
            "a = build_app(warm=False, safe=False)\n"
            "for r in a.region.options:\n"
            "    a.region.value = r\n"
            "    a.rate.value = 1.0\n"
            "    a.flush_downloads()\n"
            "a.domain.value = ''\n"           # every indicator (gap ones: benchmark series)
            "for i in [v for _, v in a.indicator.options]:\n"
            "    a.indicator.value = i\n"
            "assert a.data.computed == 0, a.data.computed\n"
            "heavy = ('statsmodels', 'scipy', 'altair', 'vl_convert', 'dask', 'matplotlib',\n"
            "         'pyarrow', 'openpyxl', 'wuwei_analysis.engine')\n"
            "print(' '.join(m for m in heavy if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", page], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == ""


def test_the_app_output_carries_the_page_as_plain_html(app):
    """Voila shows the app's output before its JavaScript has built a widget: the output
    carries the page as it is (``snapshot_html``), with the very chart and status table the
    widgets show and the pickers' current choices (disabled until the widgets are live)."""
    from wuwei_analysis.app.ui import SNAPSHOT_MIME

    app.select(region="古浪县", indicator="c_under5_mortality", rate=0.0)
    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle   # the live widget still
    snap = bundle[SNAPSHOT_MIME]
    assert 'class="wuwei-app wuwei-snapshot"' in snap
    assert app.chart.value in snap and app.table.value in snap
    assert app.summary.value in snap and app.whatif_result.value in snap
    assert 'data-region="古浪县"' in snap and 'data-indicator="c_under5_mortality"' in snap
    assert "<option selected>古浪县</option>" in snap and "select disabled" in snap
    assert "正在连接" in snap                       # says the pickers are not live yet
    assert f'<div class="ww-snap-chart">{app.chart.value}</div>' in snap
    assert f'<div class="ww-snap-table">{app.table.value}</div>' in snap
