"""The reporting template: what a member unit gets, and that a filled one imports back."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from wuwei_analysis import store
from wuwei_analysis.indicator_catalog import indicators
from wuwei_analysis.errors import DataError
from wuwei_analysis.ingest.template import FIRST_DATA_ROW, HEADER_ROW, write_template

try:
    from fixtures_store import *  # noqa: F401,F403
    from fixtures_store import counts, run_cli
except ImportError:
    from .fixtures_store import *  # noqa: F401,F403
    from .fixtures_store import counts, run_cli


@pytest.fixture
def gulang(tmp_path):
    return write_template(tmp_path / "古浪县卫健委2024.xlsx", "卫健委", 2024, "古浪县")


def _header(ws):
    return [c.value for c in ws[HEADER_ROW]]


def test_the_template_lists_the_units_indicators_with_chinese_headers_and_units(gulang):
    wb = load_workbook(gulang)
    assert wb.sheetnames[:3] == ["填报数据", "指标说明", "填报说明"]
    ws = wb["填报数据"]
    header = _header(ws)
    assert header[:5] == ["指标编号", "指标名称", "单位", "地区", "年份"]
    assert {"数值", "分子", "分母", "分子名称", "分母名称", "是否初步数"} <= set(header)
    ids = {r[0] for r in ws.iter_rows(min_row=FIRST_DATA_ROW, values_only=True) if r[0]}
    expected = {i.id for i in indicators() if i.reporter == "卫健委" and i.monitorable}
    assert ids == expected and "c_infant_mortality" in ids
    row = next(r for r in ws.iter_rows(min_row=FIRST_DATA_ROW, values_only=True)
               if r[0] == "c_infant_mortality")
    col = dict(zip(header, row))
    assert (col["单位"], col["地区"], col["年份"]) == ("‰", "古浪县", 2024)
    assert (col["分子名称"], col["分母名称"]) == ("婴儿死亡数", "活产数")
    assert "古浪县" in ws["A1"].value and "2024" in ws["A1"].value


def test_key_columns_are_locked_and_the_cells_to_fill_are_not(gulang):
    ws = load_workbook(gulang)["填报数据"]
    assert ws.protection.sheet
    header = _header(ws)
    locked = {h: ws.cell(FIRST_DATA_ROW, i + 1).protection.locked for i, h in enumerate(header)}
    assert locked["指标编号"] and locked["指标名称"] and locked["单位"] and locked["城乡"]
    assert not locked["数值"] and not locked["分子"] and not locked["分母"] and not locked["地区"]


def test_region_year_and_yes_no_cells_have_dropdowns_or_limits(gulang):
    ws = load_workbook(gulang)["填报数据"]
    dvs = ws.data_validations.dataValidation
    region = next(d for d in dvs if d.type == "list" and "古浪县" in d.formula1)
    assert "武威市" in region.formula1 and "天祝藏族自治县" in region.formula1
    assert str(region.sqref).startswith(f"D{FIRST_DATA_ROW}:")
    assert any(d.type == "whole" and d.formula1 == "2000" and d.formula2 == "2024" for d in dvs)
    assert any(d.type == "list" and d.formula1 == '"是,否"' for d in dvs)


def test_the_explanation_sheet_gives_each_indicator_its_definition_and_clause(gulang):
    ws = load_workbook(gulang)["指标说明"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("指标编号", "指标名称", "单位", "单位说明", "定义")
    imr = dict(zip(header, next(r for r in rows if r[0] == "c_infant_mortality")))
    assert imr["定义"].startswith("当年") and imr["分母"] == "活产数"
    assert "5.0" in imr["目标"] and "儿童与健康" in imr["规划条款"]


def test_without_a_region_the_template_lists_the_city_and_counties_the_indicator_is_measured_in(tmp_path):
    path = write_template(tmp_path / "t.xlsx", "组织部", 2024)
    ws = load_workbook(path)["填报数据"]
    regions = {r[3] for r in ws.iter_rows(min_row=FIRST_DATA_ROW, values_only=True) if r[0]}
    assert regions == {"武威市", "凉州区", "民勤县", "古浪县", "天祝藏族自治县"}


def test_an_unknown_unit_region_or_year_is_refused_clearly(tmp_path):
    with pytest.raises(DataError, match="未知成员单位‘卫建委’，是否是：卫健委"):
        write_template(tmp_path / "t.xlsx", "卫建委", 2024)
    with pytest.raises(Exception, match="古狼县"):
        write_template(tmp_path / "t.xlsx", "卫健委", 2024, "古狼县")
    with pytest.raises(DataError, match="2000—2035"):
        write_template(tmp_path / "t.xlsx", "卫健委", 1999)
    with pytest.raises(DataError, match="对比地区"):
        write_template(tmp_path / "t.xlsx", "卫健委", 2024, "甘肃省")


@pytest.mark.slow  # subprocesses
def test_a_filled_in_template_round_trips_through_the_cli(tmp_path, empty_db):
    out = tmp_path / "古浪县卫健委2024.xlsx"
    r = run_cli("template", "--unit", "卫健委", "--year", "2024", "--region", "古浪县", "-o", str(out))
    assert r.returncode == 0, r.stderr
    wb = load_workbook(out)
    ws = wb["填报数据"]
    header = _header(ws)
    col = {h: i + 1 for i, h in enumerate(header)}
    filled = {}
    for row in range(FIRST_DATA_ROW, ws.max_row + 1):
        iid, ur = ws.cell(row, col["指标编号"]).value, ws.cell(row, col["城乡"]).value
        if iid == "c_infant_mortality" and not ur:
            ws.cell(row, col["数值"], 4.36)
            ws.cell(row, col["分子"], 13)
            ws.cell(row, col["分母"], 2982)
            ws.cell(row, col["是否初步数"], "是")
            filled[("c_infant_mortality", "")] = 4.36
        elif iid == "c_infant_mortality" and ur == "农村":
            ws.cell(row, col["数值"], "５．１")  # full-width, as typed on a Chinese IME
            filled[("c_infant_mortality", "农村")] = 5.1
        elif iid == "w_maternal_mortality" and not ur:
            ws.cell(row, col["数值"], 0)
            ws.cell(row, col["分子"], 0)
            ws.cell(row, col["分母"], "2,982")
            filled[("w_maternal_mortality", "")] = 0.0
    wb.save(out)
    r = run_cli("--db", str(empty_db), "import", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "读取 3 行，接收 3 行，拒收 0 行" in r.stdout
    df = store.observations(["c_infant_mortality", "w_maternal_mortality"], "古浪县",
                            breakdown="all", db=empty_db)
    got = {(x.indicator, x.urban_rural): x.value for x in df.itertuples()}
    assert got == filled
    total = df[(df["indicator"] == "c_infant_mortality") & (df["urban_rural"] == "")].iloc[0]
    assert total["provisional"] and not total["illustrative"] and total["denominator"] == 2982
    sub = store.submissions(empty_db).iloc[0]
    assert sub["reporting_unit"] == "卫健委" and sub["file_name"] == out.name
    assert len(sub["sha256"]) == 64
    # importing it again changes nothing
    before = counts(empty_db)
    r = run_cli("--db", str(empty_db), "import", str(out))
    assert r.returncode == 0 and "未作任何更改" in r.stdout and counts(empty_db) == before
