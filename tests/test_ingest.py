"""Importing member-unit files: every bad file gets a clear outcome; nothing stored is lost."""
from __future__ import annotations

import shutil
import signal
import sqlite3
import time

import pytest

from wuwei_analysis import store
from wuwei_analysis.ingest import importer, rules
from wuwei_analysis.ingest.importer import import_file
from wuwei_analysis.ingest.read import NotANumber, parse_number, read_file

try:
    from fixtures_store import *  # noqa: F401,F403  (fixtures)
    from fixtures_store import (BAD_FILES, counts, run_cli, start_cli, wait_for_marker,
                                write_csv, write_xlsx)
except ImportError:  # tests run as a package
    from .fixtures_store import *  # noqa: F401,F403
    from .fixtures_store import (BAD_FILES, counts, run_cli, start_cli, wait_for_marker,
                                 write_csv, write_xlsx)


def _copy(name, tmp_path):
    return shutil.copy(BAD_FILES / name, tmp_path / name)


# file -> (status, rule, row, field (Chinese), fragment of the reason)
BAD = {
    "unknown_indicator.csv": ("failed_or_rejected", "unknown_indicator", 2, "指标编号", "是否是：婴儿死亡率"),
    "unknown_region.csv": ("rejected", "unknown_region", 2, "地区", "是否是：古浪县"),
    "year_out_of_range.csv": ("rejected", "year_out_of_range", 2, "年份", "1949—"),
    "future_year.csv": ("partial", "future_year", 3, "年份", "晚于当前年份"),
    "not_a_number.csv": ("rejected", "not_a_number", 2, "数值", "‘12,5%’ 不是数字"),
    "out_of_range.csv": ("rejected", "out_of_range", 2, "数值", "可能范围"),
    "permille_written_as_percent.csv": ("rejected", "unit_slip", 2, "数值", "疑似单位错误"),
    "tenfold_history.csv": ("partial", "magnitude_slip", 7, "数值", "10 倍"),
    "counts_inconsistent.csv": ("rejected", "counts_inconsistent", 2, "数值", "计算应为 10.00‰"),
    "duplicate_rows.csv": ("partial", "duplicate_row", 3, "指标编号", "与第2行重复"),
    "breakdown_not_in_catalogue.csv": ("rejected", "bad_breakdown", 2, "性别", "不按性别分组统计"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_file_gets_a_clear_outcome_naming_file_row_and_field(name, tmp_path, empty_db):
    status, rule, row, field, fragment = BAD[name]
    path = _copy(name, tmp_path)
    res = import_file(path, db=empty_db)
    assert res.status in status
    issue = next(i for i in res.rejections if i.rule == rule)
    assert issue.row == row and issue.field_zh == field
    assert fragment in issue.reason
    assert issue.message().startswith(f"{name} 第{row}行 字段「{field}」：")
    assert res.rows_read == res.rows_accepted + res.rows_rejected


def test_the_message_reads_like_the_example_in_the_issue(tmp_path, empty_db):
    path = write_csv(tmp_path / "古浪县卫健委2024.csv", [
        ["c_infant_mortality", "婴儿死亡率", "古浪县", 2024, "4.36", "", ""],
        ["c_infant_mortality", "婴儿死亡率", "凉州区", 2024, "4.1", "", ""],
        ["c_infant_mortality", "婴儿死亡率", "民勤县", 2024, "4.2", "", ""],
        ["c_infant_mortality", "婴儿死亡率", "天祝县", 2024, "5.0", "", ""],
        ["c_infant_mortality", "婴儿死亡率", "武威市", 2024, "4.4", "", ""],
        ["c_high_school_gross_enrolment", "高中阶段教育毛入学率", "古浪县", 2024, "12,5%", "", ""],
    ])
    res = import_file(path, db=empty_db)
    assert res.rejections[0].message() == "古浪县卫健委2024.csv 第7行 字段「数值」：‘12,5%’ 不是数字（逗号只能用作千位分隔符，小数点请用“.”）"


def test_a_jump_far_outside_the_series_history_is_flagged_not_rejected(tmp_path, empty_db):
    res = import_file(_copy("jump.csv", tmp_path), db=empty_db)
    assert res.status == "accepted" and res.exit_code == 0
    assert [w.rule for w in res.warnings] == ["jump"] and res.warnings[0].row == 8
    df = store.observations("w_village_committee_women_share", "古浪县", db=empty_db)
    row = df[df["year"] == 2024].iloc[0]
    assert row["value"] == 45.0 and "jump" in row["flags"]


def test_an_empty_file_fails_with_a_clear_message(tmp_path, empty_db):
    res = import_file(_copy("empty.csv", tmp_path), db=empty_db)
    assert res.status == "failed" and res.exit_code == 2
    assert "empty.csv" in res.message and "文件是空的" in res.message


def test_an_empty_workbook_fails_with_a_clear_message(tmp_path, empty_db):
    from openpyxl import Workbook

    path = tmp_path / "空表.xlsx"
    Workbook().save(path)
    res = import_file(path, db=empty_db)
    assert res.status == "failed" and "文件是空的" in res.message and "空表.xlsx" in res.message


def test_a_missing_required_column_is_named(tmp_path, empty_db):
    res = import_file(_copy("missing_year_column.csv", tmp_path), db=empty_db)
    assert res.status == "failed" and "「年份」" in res.message


def test_a_workbook_without_the_data_sheet_says_which_sheets_it_has(tmp_path, empty_db):
    path = write_xlsx(tmp_path / "wrong_sheet.xlsx",
                      [["c_infant_mortality", "婴儿死亡率", "‰", "定义……"]],
                      header=["指标编号", "指标名称", "单位", "定义"], sheet="指标说明")
    res = import_file(path, db=empty_db)
    assert res.status == "failed"
    assert "找不到填报数据" in res.message and "「指标说明」" in res.message
    assert counts(empty_db)["submissions"] == 0


def test_merged_header_cells_are_read_as_the_columns_they_span(tmp_path, empty_db):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["指标编号", "地区", "年份", "填报数值", None, None])
    ws.append([None, None, None, "数值", "分子", "分母"])
    for col in "ABC":
        ws.merge_cells(f"{col}1:{col}2")
    ws.merge_cells("D1:F1")
    ws.append(["c_infant_mortality", "古浪县", 2024, 4.36, 13, 2982])
    ws.append(["c_infant_mortality", "民勤县", 2024, 3.9, 7, 1795])
    path = tmp_path / "merged_header.xlsx"
    wb.save(path)
    res = import_file(path, db=empty_db)
    assert res.status == "accepted" and res.rows_accepted == 2
    df = store.observations("c_infant_mortality", db=empty_db)
    assert set(df["region"]) == {"古浪县", "民勤县"}
    assert df.set_index("region").loc["古浪县", "denominator"] == 2982


def test_full_width_digits_are_read_as_ordinary_digits(tmp_path, empty_db):
    res = import_file(_copy("fullwidth_digits.csv", tmp_path), db=empty_db)
    assert res.status == "accepted"
    row = store.observations("c_infant_mortality", db=empty_db).iloc[0]
    assert (row["year"], row["value"], row["numerator"], row["denominator"]) == (2024, 4.36, 13, 2982)


def test_a_value_with_thousands_separator_is_read_as_a_number(tmp_path, empty_db):
    res = import_file(_copy("thousands_separator.csv", tmp_path), db=empty_db)
    assert res.status == "accepted"
    assert store.observations("c_infant_mortality", db=empty_db).iloc[0]["denominator"] == 15138


def test_a_dash_means_no_value_and_the_row_is_counted_as_not_reported(tmp_path, empty_db):
    res = import_file(_copy("dash_for_missing.csv", tmp_path), db=empty_db)
    assert (res.status, res.rows_read, res.rows_accepted, res.rows_blank) == ("accepted", 1, 1, 1)
    assert "未填数值" in res.summary_zh()
    assert store.observations("c_under5_mortality", db=empty_db).empty


def test_an_old_xls_file_is_refused_with_advice(tmp_path, empty_db):
    path = tmp_path / "旧格式.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    res = import_file(path, db=empty_db)
    assert res.status == "failed" and "另存为 .xlsx" in res.message


def test_a_qualitative_goal_cannot_be_given_a_number(tmp_path, empty_db):
    from wuwei_analysis.indicator_catalog import indicators

    qual = next(i for i in indicators() if not i.monitorable)
    path = write_csv(tmp_path / "q.csv", [[qual.id, "", "武威市", 2024, "1", "", ""]])
    res = import_file(path, db=empty_db)
    assert res.rejections[0].rule == "not_monitorable"


# --------------------------------------------------------------------------- invariants
def _mixed_rows():
    return [
        ["c_infant_mortality", "婴儿死亡率", "古浪县", 2023, "4.4", "12", "2730"],
        ["c_infant_mortality", "婴儿死亡率", "古浪县", 2024, "4.36%", "", ""],
        ["c_infant_mortality", "婴儿死亡率", "火星", 2024, "4.3", "", ""],
        ["c_infant_mortality", "婴儿死亡率", "民勤县", 1899, "abc", "", ""],
        ["c_neonatal_mortality", "新生儿死亡率", "古浪县", 2024, "2.1", "", ""],
        ["c_neonatal_mortality", "新生儿死亡率", "古浪县", 2024, "2.2", "", ""],
        ["c_under5_mortality", "5岁以下儿童死亡率", "古浪县", 2024, "", "", ""],
        ["w_village_committee_women_share", "", "武威市", 2024, "31.2", "", ""],
    ]


def test_rows_read_always_equals_accepted_plus_rejected(tmp_path, empty_db):
    res = import_file(write_csv(tmp_path / "mixed.csv", _mixed_rows()), db=empty_db)
    assert (res.rows_read, res.rows_accepted, res.rows_rejected, res.rows_blank) == (7, 2, 5, 1)
    assert res.status == "partial" and res.exit_code == 1
    conn = sqlite3.connect(empty_db)
    sub = conn.execute("SELECT rows_read, rows_accepted, rows_rejected FROM submissions").fetchone()
    distinct_rows = conn.execute("SELECT COUNT(DISTINCT row) FROM rejections").fetchone()[0]
    assert sub == (7, 2, 5) and distinct_rows == 5
    # a row with several problems is still one rejected row, with every reason kept
    assert conn.execute("SELECT COUNT(*) FROM rejections WHERE row = 5").fetchone()[0] == 2
    conn.close()


def test_importing_the_same_file_twice_changes_nothing(tmp_path, empty_db):
    path = write_csv(tmp_path / "mixed.csv", _mixed_rows())
    first = import_file(path, db=empty_db)
    before = counts(empty_db)
    second = import_file(path, db=empty_db)
    assert counts(empty_db) == before
    assert second.status == "duplicate" and second.submission_id == first.submission_id
    assert second.exit_code == first.exit_code
    assert "未作任何更改" in second.summary_zh()


def test_a_different_value_in_a_later_file_is_a_revision_and_the_old_one_is_kept(tmp_path, empty_db):
    a = write_csv(tmp_path / "a.csv", [["c_infant_mortality", "", "古浪县", 2023, "4.4", "", ""]])
    b = write_csv(tmp_path / "b.csv", [["c_infant_mortality", "", "古浪县", 2023, "4.6", "", ""],
                                       ["c_neonatal_mortality", "", "古浪县", 2023, "2.0", "", ""]])
    ra = import_file(a, db=empty_db)
    rb = import_file(b, db=empty_db)
    assert (rb.rows_new, rb.rows_revised, rb.rows_unchanged) == (1, 1, 0)
    cur = store.observations("c_infant_mortality", "古浪县", db=empty_db)
    assert cur["value"].tolist() == [4.6] and "revised" in cur["flags"].iloc[0]
    old = store.observations("c_infant_mortality", "古浪县", db=empty_db, vintage=ra.submission_id)
    assert old["value"].tolist() == [4.4]
    hist = store.revisions("c_infant_mortality", "古浪县", db=empty_db)
    assert hist["value"].tolist() == [4.4, 4.6] and hist["current"].tolist() == [False, True]


def test_the_rejection_report_is_written_next_to_the_input(tmp_path, empty_db):
    from openpyxl import load_workbook

    xlsx = write_xlsx(tmp_path / "古浪县卫健委2024.xlsx", _mixed_rows())
    res = import_file(xlsx, db=empty_db)
    report = tmp_path / "古浪县卫健委2024_导入报告.xlsx"
    assert res.report_path == report and report.exists()
    ws = load_workbook(report)["问题明细"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("文件", "工作表", "行号", "字段", "原始值", "处理", "原因", "规则")
    assert ("古浪县卫健委2024.xlsx", None, 4, "数值", "4.36%") == rows[1][:5]  # title row 1, header row 2
    csv_in = write_csv(tmp_path / "b.csv", _mixed_rows())
    assert import_file(csv_in, db=empty_db).report_path == tmp_path / "b_导入报告.csv"


def test_rules_are_small_functions_with_clear_reasons():
    assert parse_number("１２，３４５") .value == 12345
    assert parse_number("4.36‰").suffix == "‰" and parse_number(" 95.4 % ").value == 95.4
    assert parse_number("—") is None and parse_number("-") is None and parse_number(None) is None
    assert parse_number("-3").value == -3
    with pytest.raises(NotANumber):
        parse_number("12,5%")
    with pytest.raises(NotANumber):
        parse_number("约5")
    from wuwei_analysis.indicator_catalog import indicator

    imr = indicator("c_infant_mortality")
    assert rules.check_unit_slip_history(imr, 44.0, [4.1, 4.5, 4.3]).rule == "magnitude_slip"
    assert rules.check_unit_slip_history(imr, 0.44, [4.1, 4.5, 4.3]).rule == "magnitude_slip"
    assert rules.check_unit_slip_history(imr, 6.0, [4.1, 4.5, 4.3]) is None
    assert rules.check_unit_slip_history(imr, 44.0, [4.1, 4.5], counts_verified=True) is None
    # a cell formatted as a percentage in Excel: 95.4 % is stored as 0.954
    pre = indicator("c_preschool_gross_enrolment")
    assert rules.check_unit_slip_history(pre, 0.954, []).rule == "magnitude_slip"
    mmr = indicator("w_maternal_mortality")
    history = {y: (v, n, 2800.0) for y, v, n in
               [(2018, 0.0, 0), (2019, 35.7, 1), (2020, 0.0, 0), (2021, 0.0, 0), (2022, 36.1, 1)]}
    # three maternal deaths in a small county is not a "jump": small numbers vary
    assert rules.check_jump(mmr, 2023, 107.1, history, 3, 2800) is None
    year, issue = rules.parse_year("2024年")
    assert year == 2024 and issue is None


# --------------------------------------------------------------------------- CLI, concurrency
@pytest.mark.slow  # subprocesses
def test_cli_import_exit_codes_tell_success_partial_and_failure(tmp_path, empty_db):
    good = write_csv(tmp_path / "good.csv", [["c_infant_mortality", "", "古浪县", 2024, "4.4", "", ""]])
    mixed = write_csv(tmp_path / "mixed.csv", _mixed_rows())
    bad = write_csv(tmp_path / "bad.csv", [["c_infant_mortality", "", "火星", 2024, "4.4", "", ""]])
    db = str(empty_db)
    r0 = run_cli("--db", db, "import", str(good))
    assert r0.returncode == 0, r0.stderr
    r1 = run_cli("--db", db, "import", str(mixed), str(bad))
    assert r1.returncode == 1
    assert "mixed.csv 第3行 字段「数值」：‘4.36%’ 带有“%”" in r1.stdout
    assert "bad.csv 第2行 字段「地区」：未知地区" in r1.stdout
    r2 = run_cli("--db", db, "import", str(bad), str(tmp_path / "没有这个文件.xlsx"))
    assert r2.returncode == 2


@pytest.mark.slow  # subprocesses
def test_a_killed_import_leaves_the_database_unchanged(tmp_path, seeded_db):
    path = write_csv(tmp_path / "big.csv", _mixed_rows())
    before = counts(seeded_db)
    proc = start_cli("--db", str(seeded_db), "import", str(path),
                     env_extra={"WUWEI_TEST_SLOW_IMPORT": "60"})
    try:
        wait_for_marker(proc)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert counts(seeded_db) == before
    conn = sqlite3.connect(seeded_db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


@pytest.mark.slow  # subprocesses
def test_ctrl_c_during_an_import_rolls_it_back(tmp_path, empty_db):
    path = write_csv(tmp_path / "x.csv", _mixed_rows())
    before = counts(empty_db)
    proc = start_cli("--db", str(empty_db), "import", str(path),
                     env_extra={"WUWEI_TEST_SLOW_IMPORT": "60"})
    try:
        wait_for_marker(proc)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "已中断" in proc.stderr.read()
    assert counts(empty_db) == before


@pytest.mark.slow  # subprocesses
def test_a_reader_is_not_blocked_while_an_import_transaction_is_open(tmp_path, seeded_db):
    path = write_csv(tmp_path / "new.csv", [["c_infant_mortality", "", "古浪县", 2025, "3.1", "", ""]])
    before = store.observations("c_infant_mortality", "古浪县", db=seeded_db)
    proc = start_cli("--db", str(seeded_db), "import", str(path),
                     env_extra={"WUWEI_TEST_SLOW_IMPORT": "4"})
    try:
        wait_for_marker(proc)
        t0 = time.time()
        during = store.observations("c_infant_mortality", "古浪县", db=seeded_db)
        assert time.time() - t0 < 2.0
        assert during.equals(before)  # the reader sees the last committed state
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    after = store.observations("c_infant_mortality", "古浪县", db=seeded_db)
    assert 2025 in after["year"].tolist() and 2025 not in before["year"].tolist()


def test_reading_a_template_finds_the_header_below_the_title(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", [["c_infant_mortality", "", "古浪县", 2024, 4.3, None, None]])
    data = read_file(path)
    assert data.header_row == 2 and data.rows[0].row == 3 and data.sheet == "填报数据"


def test_import_result_exit_code_of_a_duplicate_repeats_the_first_outcome():
    r = importer.ImportResult(file="x", status="duplicate", previous_status="partial")
    assert r.exit_code == 1


def test_a_row_for_a_same_as_entry_is_stored_once_under_the_entry_it_names(tmp_path, empty_db):
    path = write_csv(tmp_path / "w.csv", [
        ["w_compulsory_education_retention_rate", "九年义务教育巩固率", "古浪县", 2024, "99.1", "", ""]])
    res = import_file(path, db=empty_db)
    assert res.status == "accepted"
    stored = store.observations(db=empty_db)
    assert stored["indicator"].tolist() == ["c_compulsory_education_retention"]


# --------------------------------------------------------------------------- what clerks really send
try:
    from fixtures import xlsx_faults
except ImportError:  # tests run as a package
    from .fixtures import xlsx_faults

import contextlib
import os
import subprocess
from pathlib import Path


def _no_traceback(proc):
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr


def test_every_sheet_of_a_workbook_is_read_not_only_the_first(tmp_path, empty_db):
    path = xlsx_faults.one_sheet_per_county(tmp_path / "各县卫健委2024.xlsx")
    res = import_file(path, db=empty_db)
    assert (res.status, res.rows_read, res.rows_accepted) == ("accepted", 12, 12)
    assert set(store.observations("c_infant_mortality", db=empty_db)["region"]) == {
        "凉州区", "民勤县", "古浪县", "天祝藏族自治县"}


def test_a_problem_on_a_later_sheet_names_the_sheet(tmp_path, empty_db):
    from openpyxl import load_workbook

    path = xlsx_faults.one_sheet_per_county(tmp_path / "各县.xlsx")
    wb = load_workbook(path)
    wb["古浪县"]["E3"] = "4,3"
    wb.save(path)
    res = import_file(path, db=empty_db)
    assert res.status == "partial" and res.rows_rejected == 1
    assert res.rejections[0].message().startswith("各县.xlsx 工作表「古浪县」第3行 字段「数值」")
    report = load_workbook(res.report_path)["问题明细"]
    assert ("各县.xlsx", "古浪县", 3) in [r[:3] for r in report.iter_rows(min_row=2, values_only=True)]


def test_a_sheet_with_numbers_but_no_known_header_refuses_the_whole_file_naming_it(tmp_path, empty_db):
    path = xlsx_faults.extra_sheet_without_header(tmp_path / "两张表.xlsx")
    res = import_file(path, db=empty_db)
    assert res.status == "failed" and res.exit_code == 2
    assert "「民勤县」" in res.message and "整个文件未导入" in res.message
    assert counts(empty_db)["observations"] == 0


def test_years_after_the_templates_year_are_rejected(tmp_path, empty_db):
    from openpyxl import load_workbook

    from wuwei_analysis.ingest.template import FIRST_DATA_ROW, write_template

    path = write_template(tmp_path / "古浪县卫健委2024.xlsx", "卫健委", 2024, "古浪县")
    wb = load_workbook(path)
    ws = wb["填报数据"]
    header = [c.value for c in ws[2]]
    ws.cell(FIRST_DATA_ROW, header.index("数值") + 1, 4.3)
    ws.cell(FIRST_DATA_ROW, header.index("年份") + 1, 2025)
    wb.save(path)
    res = import_file(path, db=empty_db)
    issue = res.rejections[0]
    assert issue.rule == "future_year" and "晚于模板填报年份 2024" in issue.reason
    # --year says which year the report is for
    csv_path = write_csv(tmp_path / "x.csv", [["c_infant_mortality", "", "古浪县", 2024, "4.3", "", ""]])
    assert import_file(csv_path, db=empty_db, reporting_year=2023).rejections[0].rule == "future_year"


def test_a_rate_typed_as_a_proportion_is_rejected_naming_the_slip(tmp_path, seeded_db):
    path = write_csv(tmp_path / "古浪县卫健委.csv",
                     [["c_infant_mortality", "", "古浪县", 2025, "0.0037", "", ""]])
    res = import_file(path, db=seeded_db)
    assert res.status == "rejected"
    issue = res.rejections[0]
    assert issue.rule == "magnitude_slip" and "1000 分之一" in issue.reason
    assert "把千分率写成了小数" in issue.reason and "--accept-outliers" in issue.reason


def test_a_tenfold_slip_on_one_county_is_rejected_against_the_other_counties(tmp_path, empty_db):
    rows = [["c_infant_mortality", "", c, 2024, v, "", ""]
            for c, v in (("凉州区", "3.9"), ("民勤县", "4.2"), ("古浪县", "43"), ("天祝县", "5.1"))]
    res = import_file(write_csv(tmp_path / "卫健委.csv", rows), db=empty_db)
    assert res.status == "partial" and [i.row for i in res.rejections] == [4]
    assert "10 倍" in res.rejections[0].reason and "其他地区" in res.rejections[0].reason


def test_accept_outliers_keeps_a_confirmed_slip_as_a_flagged_warning(tmp_path, seeded_db):
    path = write_csv(tmp_path / "c.csv", [["c_infant_mortality", "", "古浪县", 2025, "0.0037", "", ""]])
    res = import_file(path, db=seeded_db, accept_outliers=True)
    assert res.status == "accepted" and res.warnings[0].rule == "magnitude_slip"
    row = store.observations("c_infant_mortality", "古浪县", db=seeded_db, year=2025).iloc[0]
    assert row["value"] == 0.0037 and "outlier_accepted" in row["flags"]


def test_a_member_unit_writes_only_its_own_indicators(tmp_path, empty_db):
    path = write_csv(tmp_path / "古浪县卫健委2024.csv", [
        ["c_infant_mortality", "", "古浪县", 2024, "4.3", "", ""],
        ["c_high_school_gross_enrolment", "", "古浪县", 2024, "92.1", "", ""]])
    res = import_file(path, db=empty_db)
    issue = res.rejections[0]
    assert res.status == "partial" and issue.rule == "not_own_indicator" and issue.row == 3
    assert "由教育局报送" in issue.reason and "卫健委" in issue.reason


def test_benchmark_figures_change_only_through_the_public_data_path(tmp_path, seeded_db):
    published = store.observations("c_infant_mortality", "全国", db=seeded_db).iloc[-1]
    path = write_csv(tmp_path / "卫健委.csv", [
        ["c_infant_mortality", "", "全国", int(published["year"]), "9.99", "", ""],
        ["c_infant_mortality", "", "甘肃省", 2024, "9.99", "", ""]])
    before = counts(seeded_db)
    res = import_file(path, db=seeded_db)
    assert res.status == "rejected" and {i.rule for i in res.rejections} == {"region_not_allowed"}
    assert "公开数据" in res.rejections[0].reason
    assert counts(seeded_db)["observations"] == before["observations"]
    after = store.observations("c_infant_mortality", "全国", db=seeded_db).iloc[-1]
    assert after["value"] == published["value"]


@pytest.mark.slow  # exports and re-imports the whole default dataset
def test_an_export_imports_back_with_no_rejection_no_warning_and_no_change(tmp_path, seeded_db):
    for name in ("监测数据.xlsx", "监测数据.csv"):
        path = store.export(tmp_path / name, db=seeded_db)
        before = counts(seeded_db)["observations"]
        res = import_file(path, db=seeded_db)
        assert (res.status, res.rows_rejected, len(res.warnings)) == ("accepted", 0, 0), res.summary_zh()
        assert (res.rows_new, res.rows_revised) == (0, 0) and res.rows_unchanged == res.rows_read
        assert counts(seeded_db)["observations"] == before


def _cells_of(path):
    from openpyxl import load_workbook

    if path.suffix == ".csv":
        import csv

        with open(path, encoding="utf-8-sig", newline="") as fh:
            return [(None, v) for row in csv.reader(fh) for v in row]
    wb = load_workbook(path)
    return [(c.data_type, c.value) for ws in wb for row in ws.iter_rows() for c in row]


def _assert_safe(path):
    cells = _cells_of(path)
    assert cells
    for dtype, v in cells:
        assert dtype != "f", (path.name, v)
        if isinstance(v, str) and v:
            assert not v.startswith(("=", "+", "@", "\t", "\r")), (path.name, v)
            assert not (v.startswith("-") and not v.lstrip("-").replace(".", "").isdigit()), v


def test_formula_like_text_is_never_written_as_a_formula_anywhere(tmp_path, empty_db):
    path = xlsx_faults.injection_notes(tmp_path / "古浪县卫健委2024.xlsx")
    res = import_file(path, db=empty_db)
    assert res.status == "accepted"
    notes = store.observations("c_infant_mortality", db=empty_db, notes=True)
    assert set(notes["note"]) == {xlsx_faults.INJECTIONS[i].strip() for i in (1, 3, 5)} | {
        xlsx_faults.INJECTIONS[1]} - {""}  # stored as typed, notes exported (备注)
    xlsx = store.export(tmp_path / "out.xlsx", db=empty_db)
    csv_out = store.export(tmp_path / "out.csv", db=empty_db)
    _assert_safe(xlsx)
    _assert_safe(csv_out)
    header = [v for _, v in _cells_of(xlsx)[:25]]
    assert "备注" in header
    # the escaped notes come back exactly as typed: an export imports back unchanged
    for out in (xlsx, csv_out):
        again = import_file(out, db=empty_db)
        assert (again.rows_rejected, again.rows_new, again.rows_revised) == (0, 0, 0)
    # a rejected raw value that looks like a formula is escaped in both kinds of report
    bad = write_csv(tmp_path / "r.csv", [["c_infant_mortality", "", "古浪县", 2023, "=1+2", "", ""],
                                         ["c_infant_mortality", "", "-cmd|x", 2023, "4", "", ""]])
    rep = import_file(bad, db=empty_db).report_path
    _assert_safe(rep)
    rep_x = import_file(write_xlsx(tmp_path / "r.xlsx", [["@SUM(A1)", "", "古浪县", 2023, "4", "", ""]]),
                        db=empty_db).report_path
    _assert_safe(rep_x)


def test_the_template_writes_no_formula(tmp_path):
    from wuwei_analysis.ingest.template import write_template

    _assert_safe(write_template(tmp_path / "t.xlsx", "卫健委", 2024))


def test_a_formula_without_a_saved_result_is_named_with_advice(tmp_path, empty_db):
    res = import_file(xlsx_faults.formula_without_value(tmp_path / "公式.xlsx"), db=empty_db)
    warn = next(i for i in res.warnings if i.rule == "formula_no_value")
    assert warn.row == 2 and "E2" in warn.reason and "保存" in warn.reason
    # the value cell counts as blank; the counts beside it still give the value
    assert res.rows_accepted == 2 and res.report_path is not None
    stored = store.observations("c_infant_mortality", "古浪县", db=empty_db).iloc[0]
    assert round(stored["value"], 2) == 4.36 and "computed" in stored["flags"]


def test_a_merged_header_that_shifts_columns_is_named_instead_of_blaming_every_value(tmp_path, empty_db):
    res = import_file(xlsx_faults.merged_header_over_counts(tmp_path / "合并表头.xlsx"), db=empty_db)
    assert res.status == "failed" and res.exit_code == 2
    assert "表头「数值」" in res.message and "错位" in res.message and "F列" in res.message
    assert counts(empty_db)["submissions"] == 0


def test_a_merged_header_with_the_numbers_in_its_right_column_is_named_not_dropped(tmp_path, empty_db):
    path = xlsx_faults.merged_header_value_in_right_column(tmp_path / "合并表头2.xlsx")
    res = import_file(path, db=empty_db)
    assert res.status == "failed" and "表头「数值」是合并单元格" in res.message
    assert "E列" in res.message and counts(empty_db)["submissions"] == 0


@pytest.mark.slow  # subprocesses
@pytest.mark.parametrize("kind", ["not_a_zip", "damaged_xml"])
def test_a_damaged_workbook_gets_a_chinese_message_and_exit_2(kind, tmp_path, empty_db):
    path = tmp_path / ("改了扩展名.xlsx" if kind == "not_a_zip" else "坏文件.xlsx")
    if kind == "not_a_zip":
        xlsx_faults.not_a_zip(path)
    else:
        good = xlsx_faults.one_sheet_per_county(tmp_path / "good.xlsx")
        xlsx_faults.damaged_xml(path, good)
    res = import_file(path, db=empty_db)
    assert res.status == "failed" and ("不是有效的 Excel" in res.message or "已损坏" in res.message)
    assert "zip" not in res.message.lower() and "Error" not in res.message
    proc = run_cli("--db", str(empty_db), "import", str(path))
    assert proc.returncode == 2 and "无法导入" in proc.stdout
    _no_traceback(proc)


@pytest.mark.slow  # subprocesses
def test_a_locked_database_waits_with_a_message_then_fails_clearly_with_exit_2(tmp_path, empty_db):
    path = write_csv(tmp_path / "x.csv", [["c_infant_mortality", "", "古浪县", 2024, "4.3", "", ""]])
    holder = sqlite3.connect(empty_db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holding the write lock
    try:
        proc = run_cli("--db", str(empty_db), "import", str(path),
                       env_extra={"WUWEI_LOCK_TIMEOUT": "2"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 2
    assert "正在等待" in proc.stderr and "正被另一个程序写入" in proc.stdout
    _no_traceback(proc)
    assert counts(empty_db)["submissions"] == 0


@contextlib.contextmanager
def _read_only(path: Path):
    """Make a file or folder really read-only (chmod; chattr +i when running as root)."""
    mode = path.stat().st_mode
    path.chmod(0o555 if path.is_dir() else 0o444)
    immutable = False
    if os.geteuid() == 0:
        immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    probe = path / ".probe" if path.is_dir() else path
    try:
        try:
            with open(probe, "a"):
                pass
            writable = True
            if path.is_dir():
                probe.unlink()
        except OSError:
            writable = False
        if writable:
            pytest.skip("cannot make a path read-only here (root without chattr)")
        yield path
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        path.chmod(mode)


@pytest.mark.slow  # subprocesses
def test_a_read_only_database_file_is_reported_as_such(tmp_path, empty_db):
    path = write_csv(tmp_path / "x.csv", [["c_infant_mortality", "", "古浪县", 2024, "4.3", "", ""]])
    sqlite3.connect(empty_db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    with _read_only(Path(empty_db)):
        proc = run_cli("--db", str(empty_db), "import", str(path))
    assert proc.returncode == 2 and "只读" in proc.stdout
    _no_traceback(proc)


@pytest.mark.slow  # subprocesses
def test_a_read_only_folder_is_not_called_a_corrupt_database(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = write_csv(tmp_path / "x.csv", [["c_infant_mortality", "", "古浪县", 2024, "4.3", "", ""]])
    with _read_only(folder):
        proc = run_cli("--db", str(folder / "new.sqlite"), "import", str(path))
    assert proc.returncode == 2 and "文件夹" in proc.stdout and "损坏" not in proc.stdout
    _no_traceback(proc)


def test_a_full_disk_reports_the_cause_and_leaves_the_database_as_it_was(tmp_path, seeded_db):
    rows = [["c_infant_mortality", "", r, y, f"{4 + (y % 3) * 0.1:.1f}", "", ""]
            for r in ("古浪县", "民勤县") for y in range(1950, 2000)]
    path = write_csv(tmp_path / "big.csv", rows)
    before = counts(seeded_db)
    conn = store.open_db(seeded_db)
    try:  # a database that cannot grow: SQLite answers exactly as on a full disk
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
        res = import_file(path, db=conn)
        assert res.status == "failed" and res.exit_code == 2
        assert "磁盘已满" in res.message and "savepoint" not in res.message
        assert isinstance(res.error, store.DatabaseWriteError)
        # nested use (a savepoint) does not hide the cause either
        with pytest.raises(store.DatabaseWriteError, match="磁盘已满"):
            with store.transaction(conn):
                with store.transaction(conn):
                    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                                     [(f"k{i}", "x" * 500) for i in range(5000)])
    finally:
        conn.close()
    assert counts(seeded_db) == before


def test_a_report_that_cannot_be_written_is_said_so(tmp_path, empty_db):
    folder = tmp_path / "in"
    folder.mkdir()
    path = write_csv(folder / "x.csv", [["c_infant_mortality", "", "火星", 2024, "4.3", "", ""]])
    with _read_only(folder):
        res = import_file(path, db=empty_db)
    assert res.report_path is None and "x_导入报告.csv" in res.report_error
    assert "报告未能写入" in res.summary_zh()


@pytest.mark.slow  # subprocesses
def test_the_cli_says_where_the_report_went_even_when_quiet(tmp_path, empty_db):
    path = write_csv(tmp_path / "x.csv", [["c_infant_mortality", "", "火星", 2024, "4.3", "", ""]])
    proc = run_cli("--db", str(empty_db), "import", "-q", str(path))
    assert proc.returncode == 2 and "报告已写入" in proc.stdout and "x_导入报告.csv" in proc.stdout


@pytest.mark.slow  # subprocesses
def test_cli_year_and_accept_outliers_options(tmp_path, seeded_db):
    path = write_csv(tmp_path / "古浪县卫健委.csv",
                     [["c_infant_mortality", "", "古浪县", 2025, "0.0037", "", ""]])
    r1 = run_cli("--db", str(seeded_db), "import", "--year", "2024", str(path))
    assert r1.returncode == 2 and "晚于填报年份 2024" in r1.stdout
    r2 = run_cli("--db", str(seeded_db), "import", "--force", str(path))
    assert r2.returncode == 2 and "疑似数量级错误" in r2.stdout
    r3 = run_cli("--db", str(seeded_db), "import", "--force", "--accept-outliers", str(path))
    assert r3.returncode == 0 and "已按 --accept-outliers 确认接收" in r3.stdout


def test_a_header_merged_over_the_count_columns_reads_the_counts_below_it(tmp_path, empty_db):
    path = xlsx_faults.merged_header_over_counts_with_sub_header(tmp_path / "计数表头.xlsx")
    res = import_file(path, db=empty_db)
    assert (res.status, res.rows_accepted, res.rows_rejected) == ("accepted", 2, 0)
    df = store.observations("c_infant_mortality", db=empty_db).set_index("region")
    assert df.loc["古浪县", "numerator"] == 13 and df.loc["民勤县", "denominator"] == 1795


def test_a_workbook_renamed_to_csv_and_excels_unicode_text_are_handled(tmp_path, empty_db):
    xlsx = xlsx_faults.one_sheet_per_county(tmp_path / "a.xlsx")
    renamed = tmp_path / "改名.csv"
    renamed.write_bytes(xlsx.read_bytes())
    res = import_file(renamed, db=empty_db)
    assert res.status == "failed" and "扩展名改为 .xlsx" in res.message
    utf16 = tmp_path / "unicode文本.txt"
    utf16.write_text("指标编号\t地区\t年份\t数值\nc_infant_mortality\t古浪县\t2024\t4.3\n",
                     encoding="utf-16")
    assert import_file(utf16, db=empty_db).status == "accepted"
