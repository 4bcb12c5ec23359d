"""The brief's data-quality part (数据质量与数据缺口): the roll-up's consistency warnings about
the region, up to the report year, and the values derived from the counties' data rather
than reported — from ``wuwei_analysis.rollup.data_quality`` on the brief's own database."""
from __future__ import annotations

import re

from wuwei_analysis import report
from wuwei_analysis.ingest.importer import import_file

try:
    from fixtures_store import *  # noqa: F401,F403
    from fixtures_store import write_csv
except ImportError:  # pragma: no cover
    from .fixtures_store import *  # noqa: F401,F403
    from .fixtures_store import write_csv


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_the_city_brief_shows_the_default_datas_city_versus_counties_disagreement(seeded_db):
    # 武威市 reported 2021 学前教育毛入园率 with 48,370 children; the counties add up to 47,490
    rows = report.rollup_quality("620600", 2024, str(seeded_db))
    [row] = [r for r in rows if r["指标"] == "学前教育毛入园率"]
    assert row["类别"] == "上下级不一致" and row["年份"] == 2021
    ctx = report.prepare("武威市", 2024, db=str(seeded_db))
    page = _text(report.gaps_html(ctx))
    assert "一致性检查发现 1 处需核实" in page
    assert "武威市 2021年 学前教育毛入园率：上报学前教育在园幼儿数（分子）48,370，各县（区）合计 47,490" in page
    assert "本地区的数值均为上报数" in page


def test_a_warning_after_the_report_year_is_not_in_that_years_brief(seeded_db):
    assert not [r for r in report.rollup_quality("620600", 2020, str(seeded_db))
                if r["指标"] == "学前教育毛入园率"]


def test_a_county_without_findings_says_so(seeded_db):
    ctx = report.prepare("古浪县", 2024, db=str(seeded_db))
    page = _text(report.gaps_html(ctx))
    assert "一致性检查未发现问题" in page and "本地区的数值均为上报数" in page


def test_the_brief_says_which_values_were_derived_from_the_counties(empty_db, tmp_path):
    header = ["指标名称", "地区", "年份", "数值", "分子", "分母"]
    rows = [["婴儿死亡率", county, year, round(n / b * 1000, 2), n, b]
            for year in (2022, 2023, 2024)
            for county, n, b in (("凉州区", 20, 5000), ("民勤县", 10, 2405),
                                 ("古浪县", 12, 2800), ("天祝县", 8, 2000))]
    import_file(write_csv(tmp_path / "counties.csv", rows, header), db=empty_db)
    dq = report.rollup_quality("620600", 2024, str(empty_db))
    assert {r["类别"] for r in dq} == {report.DERIVED_KIND}
    assert "由各县（区）数据汇总" in dq[0]["说明"] and dq[0]["年份"] == 2024   # latest first
    ctx = report.prepare("武威市", 2024, db=str(empty_db))
    page = _text(report.gaps_html(ctx))
    assert "3 个数值不是上报数，由各县（区）数据汇总" in page
    assert "婴儿死亡率：2022、2023、2024年" in page


def test_a_brief_from_a_long_table_says_the_check_did_not_run(seeded_db):
    ctx = report.prepare("古浪县", 2024, db=str(seeded_db))
    ctx.table = "synthetic.csv.gz"
    assert report.data_quality_rows(ctx) is None
    assert "本期未运行数据一致性检查（数据取自长表文件" in _text(report.gaps_html(ctx))
