"""City and province figures from county counts (issue #16): rules, derived values,
coverage, revisions, consistency checks, bad input, and the roll-up at scale.

Real SQLite databases and real imported CSV files throughout; the Dask test runs a
LocalCluster of worker processes.
"""
from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from wuwei_analysis import store
from wuwei_analysis.errors import DataError
from wuwei_analysis.ingest.importer import import_file
from wuwei_analysis.geography import Region, all_regions
from wuwei_analysis.rollup import checks, compute, rule_for, rules
from wuwei_analysis.rollup import derived as derive_mod
from wuwei_analysis.rollup.hierarchy import from_regions
from wuwei_analysis.indicator_catalog import aggregate_error as rule_error
from wuwei_analysis.rollup.methods import Rule

try:
    from fixtures_store import *  # noqa: F401,F403
    from fixtures_store import counts, run_cli, write_csv
except ImportError:  # pragma: no cover
    from .fixtures_store import *  # noqa: F401,F403
    from .fixtures_store import counts, run_cli, write_csv

H = ["指标名称", "地区", "年份", "城乡", "数值", "分子", "分母"]
#: 2025 infant deaths / live births of the four counties: 50 / 12,205 in all
COUNTIES_2025 = [["婴儿死亡率", "凉州区", 2025, "", 4.0, 20, 5000],
                 ["婴儿死亡率", "民勤县", 2025, "", 4.16, 10, 2405],
                 ["婴儿死亡率", "古浪县", 2025, "", 4.29, 12, 2800],
                 ["婴儿死亡率", "天祝县", 2025, "", 4.0, 8, 2000]]
CITY = "620600"


def _import(tmp_path, name, rows, db, header=H):
    return import_file(write_csv(tmp_path / name, rows, header), db=db)


def _city(db, indicator="婴儿死亡率", **kw):
    df = store.observations(indicator, region="武威市", db=db, **kw)
    return df[df["year"] == 2025]


# --------------------------------------------------------------------------- rules
def test_every_catalogue_entry_has_a_rule_of_a_known_kind():
    r = rules()
    assert rule_for("婴儿死亡率") == r["c_infant_mortality"]
    assert r["c_infant_mortality"].method == "ratio" and r["c_infant_mortality"].scale == 1000
    assert r["w_maternal_mortality"].scale == 100000
    assert r["c_mch_institutions"].method == "sum" and r["c_mch_institutions"].declared
    assert r["c_sleep_hours_primary"].method == "weighted"
    assert r["c_sleep_hours_primary"].weight == "denominator"
    assert r["w_female_life_expectancy"].method == "none"
    assert "生命表" in r["w_female_life_expectancy"].reason
    assert r["c_primary_care_child_gp_staffing"].method == "none"       # "每所 ≥ 2 名"
    assert r["c_child_health_service_system"].method == "none"          # qualitative
    assert r["c_child_mortality_urban_rural_gap"].method == "none"      # a gap
    assert {x.method for x in r.values()} == {"ratio", "sum", "weighted", "none"}


def test_a_wrong_aggregate_declaration_is_refused_with_a_reason():
    assert rule_error({"method": "ratio"}, "‰", {"numerator": "a"}) is None
    assert "不是率或比例" in rule_error({"method": "ratio"}, "岁", None)
    assert "method" in rule_error({"method": "median"}, "%", None)
    assert "weight" in rule_error({"method": "weighted"}, "小时", None)
    assert "reason" in rule_error({"method": "none"}, "%", None)
    assert "min_coverage" in rule_error({"method": "sum", "min_coverage": 1.5}, "个", None)
    assert "未知字段" in rule_error({"method": "sum", "wieght": 1}, "个", None)


# --------------------------------------------------------------------------- the 2025 example
@pytest.mark.slow  # subprocesses
def test_the_city_gets_its_2025_infant_mortality_from_the_counties_and_a_disagreeing_city_row_is_flagged(
        empty_db, tmp_path):
    res = _import(tmp_path, "卫健委2025.csv", COUNTIES_2025, empty_db)
    assert res.rows_accepted == 4 and res.rows_derived == 1
    assert "汇总：由下级地区数据汇总得到上级地区数值 1 条" in res.summary_zh()
    city = _city(empty_db)
    assert len(city) == 1
    row = city.iloc[0]
    assert row["derived"] and row["numerator"] == 50 and row["denominator"] == 12205
    assert f"{row['value']:.2f}" == "4.10" and row["value"] == pytest.approx(50 / 12205 * 1000,
                                                                               abs=1e-3)
    assert row["source"] == "由各县（区）数据汇总（4/4个县区）"
    assert "derived" in row["flags"].split(";")
    # exported with its flag column
    out = tmp_path / "export.csv"
    r = run_cli("--db", str(empty_db), "export", "-o", str(out), "--indicator", "婴儿死亡率",
                "--region", "武威市")
    assert r.returncode == 0, r.stderr
    exp = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert exp["年份"].tolist() == ["2025"] and exp["下级汇总"].tolist() == ["是"]
    assert exp["数值"].astype(float).round(2).tolist() == [4.10]
    # provenance: the four county rows and their submission
    prov = derive_mod.derivations(empty_db)
    assert prov["children_used"].tolist() == [4] and prov["missing"].tolist() == [""]
    assert len(prov["inputs"][0].split(",")) == 4
    assert prov["submissions"].tolist() == [str(res.submission_id)]

    # the city then reports 64 / 12,310: accepted, with a warning giving both numbers
    res2 = _import(tmp_path, "市卫健委2025.csv", [["婴儿死亡率", "武威市", 2025, "", 5.2, 64, 12310]],
                   empty_db)
    assert res2.rows_accepted == 1 and len(res2.warnings) == 1
    w = res2.warnings[0]
    assert w.rule == "consistency" and w.row == 2
    for text in ("武威市 2025年 婴儿死亡率", "64", "合计 50", "+14", "12,310", "12,205", "+105",
                 "容差 ±0.5%", "4.10‰", "5.20‰"):
        assert text in w.reason, text
    report = pd.read_csv(res2.report_path, encoding="utf-8-sig")
    assert report["规则"].str.contains("不一致").all() and "64" in report["原因"][0]
    # the reported value is current; the derived one stays in the history
    city = _city(empty_db)
    assert city["value"].tolist() == [5.2] and not city["derived"].any()
    hist = store.revisions("婴儿死亡率", region="武威市", db=empty_db)
    assert hist["derived"].tolist() == [True, False]
    assert store.db_info(empty_db)["schema_version"] == 2


def test_a_derived_value_never_overrides_a_reported_one(empty_db, tmp_path):
    _import(tmp_path, "city.csv", [["婴儿死亡率", "武威市", 2025, "", 4.1, 50, 12205]], empty_db)
    res = _import(tmp_path, "counties.csv", COUNTIES_2025, empty_db)
    assert res.rows_derived == 0 and not res.warnings      # the counts agree: no warning
    conn = sqlite3.connect(empty_db)
    assert conn.execute("SELECT COUNT(*) FROM observations WHERE derived = 1").fetchone()[0] == 0
    conn.close()
    assert not _city(empty_db)["derived"].any()


def test_an_exported_derived_value_is_not_imported_back_as_a_report(empty_db, tmp_path):
    _import(tmp_path, "counties.csv", COUNTIES_2025, empty_db)
    path = store.export(tmp_path / "武威市.csv", region="武威市", db=empty_db)
    before = counts(empty_db)
    res = import_file(path, db=empty_db)
    assert res.rows_read == 0 and res.status == "failed"   # only a derived row: nothing to read
    assert counts(empty_db)["observations"] == before["observations"]
    assert _city(empty_db)["derived"].all()


# --------------------------------------------------------------------------- kinds
def test_ratio_kind_also_rolls_up_each_breakdown_group(empty_db, tmp_path):
    rows = []
    for region, (un, ud), (rn, rd) in [("凉州区", (5, 2000), (15, 3000)),
                                       ("民勤县", (2, 1000), (8, 1405)),
                                       ("古浪县", (3, 800), (9, 2000)),
                                       ("天祝县", (1, 500), (7, 1500))]:
        rows += [["婴儿死亡率", region, 2025, "城镇", round(un / ud * 1000, 2), un, ud],
                 ["婴儿死亡率", region, 2025, "农村", round(rn / rd * 1000, 2), rn, rd]]
    _import(tmp_path, "ur.csv", rows, empty_db)
    df = store.observations("婴儿死亡率", region="武威市", breakdown="urban_rural", db=empty_db)
    got = df.set_index("urban_rural")
    assert got.loc["城镇", "numerator"] == 11 and got.loc["城镇", "denominator"] == 4300
    assert got.loc["农村", "value"] == pytest.approx(39 / 7905 * 1000, abs=1e-3)
    assert df["derived"].all()


def test_sum_kind_adds_counts(empty_db, tmp_path):
    rows = [["c_mch_institutions", r, 2025, "", v, "", ""] for r, v in
            [("凉州区", 3), ("民勤县", 2), ("古浪县", 4), ("天祝县", 1)]]
    res = _import(tmp_path, "inst.csv", rows, empty_db)
    assert res.rows_accepted == 4, res.summary_zh()
    city = _city(empty_db, "c_mch_institutions")
    assert city["value"].tolist() == [10.0] and city["derived"].all()


def test_weighted_kind_weights_by_the_persons_in_the_denominator(empty_db, tmp_path):
    rows = [["c_sleep_hours_primary", r, 2025, "", v, "", d] for r, v, d in
            [("凉州区", 9.0, 3000), ("民勤县", 10.0, 1000), ("古浪县", 9.5, 500),
             ("天祝县", 8.5, 500)]]
    res = _import(tmp_path, "sleep.csv", rows, empty_db)
    assert res.rows_accepted == 4, res.summary_zh()
    city = _city(empty_db, "c_sleep_hours_primary")
    want = (9.0 * 3000 + 10.0 * 1000 + 9.5 * 500 + 8.5 * 500) / 5000
    assert city["value"].tolist() == [pytest.approx(want)] and city["denominator"].tolist() == [5000]


def test_weighted_kind_by_a_population_indicator():
    rows = pd.DataFrame({
        "indicator": ["avg", "avg", "pop", "pop"], "region_code": ["A", "B", "A", "B"],
        "year": 2025, "sex": "", "urban_rural": "", "age_group": "",
        "value": [10.0, 20.0, 300.0, 100.0], "numerator": np.nan, "denominator": np.nan})
    rule = {"avg": Rule("avg", "weighted", weight="pop", unit="岁"),
            "pop": Rule("pop", "sum", unit="万人")}
    der, prob = compute.rollup(rows, {"A": "P", "B": "P"}, {"P": 2}, rule)
    got = der.set_index("indicator")["value"]
    assert got["avg"] == pytest.approx((10 * 300 + 20 * 100) / 400) and got["pop"] == 400
    assert prob.empty


def test_none_kind_is_not_derived(empty_db, tmp_path):
    rows = [["w_female_life_expectancy", r, 2025, "", v, "", ""] for r, v in
            [("凉州区", 80.1), ("民勤县", 79.5), ("古浪县", 78.0), ("天祝县", 77.9)]]
    res = _import(tmp_path, "life.csv", rows, empty_db)
    assert res.rows_accepted == 4 and res.rows_derived == 0
    assert _city(empty_db, "w_female_life_expectancy").empty


# --------------------------------------------------------------------------- coverage
def test_nothing_is_derived_from_three_of_four_counties_unless_a_minimum_share_is_declared(
        empty_db, tmp_path):
    res = _import(tmp_path, "three.csv", [r for r in COUNTIES_2025 if r[1] != "古浪县"], empty_db)
    assert res.rows_derived == 0 and not res.warnings       # waiting for 古浪县 is no warning
    assert _city(empty_db).empty
    d = derive_mod.derive(empty_db, write=False)
    assert d.messages == ["武威市 2025年 婴儿死亡率：只有 3/4 个县区的数据可用（古浪县无数据），"
                          "未由各县（区）数据汇总"]
    # a declared minimum share of 3/4: derived, and it says so
    r = dict(rules())
    r["c_infant_mortality"] = Rule("c_infant_mortality", "ratio", scale=1000, unit="‰",
                                   min_coverage=0.75, declared=True)
    d = derive_mod.derive(empty_db, rules=r)
    assert d.new == 1
    city = _city(empty_db).iloc[0]
    assert city["source"] == "由各县（区）数据汇总（3/4个县区，缺古浪县）"
    assert "partial_coverage" in city["flags"] and city["numerator"] == 38


# --------------------------------------------------------------------------- revisions
def test_a_revised_county_re_derives_the_city_and_the_earlier_vintage_is_kept(empty_db, tmp_path):
    first = _import(tmp_path, "v1.csv", COUNTIES_2025, empty_db)
    second = _import(tmp_path, "v2.csv", [["婴儿死亡率", "古浪县", 2025, "", 5.0, 14, 2800]],
                     empty_db)
    assert second.rows_revised == 1 and second.rows_derived == 1
    now = _city(empty_db).iloc[0]
    assert now["numerator"] == 52 and now["submission_id"] == second.submission_id
    assert "revised" in now["flags"]
    then = _city(empty_db, vintage=first.submission_id).iloc[0]
    assert then["numerator"] == 50 and then["derived"]
    hist = store.revisions("婴儿死亡率", region="武威市", db=empty_db)
    assert hist["numerator"].tolist() == [50, 52] and hist["current"].tolist() == [False, True]
    # deriving again with nothing new adds nothing
    assert derive_mod.derive(empty_db).written == 0


# --------------------------------------------------------------------------- consistency
def test_urban_plus_rural_against_the_total(empty_db, tmp_path):
    res = _import(tmp_path, "gl.csv", [
        ["婴儿死亡率", "古浪县", 2025, "", 4.29, 12, 2800],
        ["婴儿死亡率", "古浪县", 2025, "城镇", 3.75, 3, 800],
        ["婴儿死亡率", "古浪县", 2025, "农村", 5.5, 11, 2000]], empty_db)
    [w] = res.warnings
    assert w.rule == "consistency"
    for text in ("古浪县 2025年 婴儿死亡率", "合计婴儿死亡数（分子）12", "城镇+农村之和 14", "-2"):
        assert text in w.reason, text
    assert "活产数" not in w.reason        # 2,800 = 800 + 2,000: the denominators agree


def test_female_plus_male_against_the_total(empty_db, tmp_path):
    header = ["指标名称", "地区", "年份", "性别", "数值"]
    res = _import(tmp_path, "sex.csv", [
        ["w_maternity_insurance_insured", "凉州区", 2025, "", 10.0],
        ["w_maternity_insurance_insured", "凉州区", 2025, "女", 4.0],
        ["w_maternity_insurance_insured", "凉州区", 2025, "男", 5.0]], empty_db, header)
    [w] = res.warnings
    assert "合计数值10 与女+男之和 9 不一致" in w.reason.replace(".00", "").replace(",", ""), w.reason
    found = checks.check(empty_db)
    assert found["kind"].tolist() == ["breakdown"] and found["difference"].tolist() == [1.0]


def test_age_groups_against_the_total_and_a_rate_total_outside_its_groups():
    rows = pd.DataFrame({
        "indicator": "c_under5_mortality", "region_code": "620622", "year": 2025, "sex": "",
        "urban_rural": "", "age_group": ["", "0岁", "1-4岁"], "value": [5.0, 4.0, 1.2],
        "numerator": [60.0, 48.0, 14.0], "denominator": [12000.0, 12000.0, 12000.0]})
    names = {"c_under5_mortality": "5岁以下儿童死亡率"}
    found = checks.breakdowns(rows, rules(), names, groups={"age_group": ["0岁", "1-4岁"]})
    assert [f["part"] for f in found] == ["numerator", "denominator"]
    assert found[0]["reported"] == 60 and found[0]["expected"] == 62
    # without counts, a rate total must lie between its groups
    rows2 = rows.assign(numerator=np.nan, denominator=np.nan, value=[9.0, 4.0, 1.2])
    [f] = checks.breakdowns(rows2, rules(), names, groups={"age_group": ["0岁", "1-4岁"]})
    assert f["part"] == "value" and f["expected"] == 4.0 and "不在" in f["text"]


@pytest.mark.slow  # subprocesses
def test_db_check_lists_every_warning_with_its_numbers_and_exits_1(empty_db, tmp_path):
    _import(tmp_path, "c.csv", COUNTIES_2025 + [["婴儿死亡率", "武威市", 2025, "", 5.2, 64, 12310]],
            empty_db)
    out = tmp_path / "检查.xlsx"
    r = run_cli("--db", str(empty_db), "db", "check", "--year", "2025", "-o", str(out))
    assert r.returncode == 1, r.stderr
    assert "1 条警告" in r.stdout and "上报婴儿死亡数（分子）64，各县（区）合计 50" in r.stdout
    sheet = pd.read_excel(out)
    assert sheet["项目"].tolist() == ["分子", "分母"] and sheet["差值"].tolist() == [14, 105]
    r = run_cli("--db", str(empty_db), "db", "check", "--year", "2024")
    assert r.returncode == 0 and "未发现" in r.stdout


def test_data_quality_rows_for_a_brief(empty_db, tmp_path):
    _import(tmp_path, "c.csv", COUNTIES_2025, empty_db)
    _import(tmp_path, "gl.csv", [["婴儿死亡率", "古浪县", 2025, "城镇", 3.75, 3, 800],
                                 ["婴儿死亡率", "古浪县", 2025, "农村", 5.5, 11, 2000]], empty_db)
    city = checks.data_quality("武威市", 2025, db=empty_db)
    assert city["类别"].tolist() == ["汇总数（非上报）"] * len(city) and len(city) >= 1
    assert "由各县（区）数据汇总（4/4个县区）" in city["说明"][0]
    county = checks.data_quality("古浪县", 2025, db=empty_db)
    assert county["类别"].tolist() == ["分组与合计不一致"]
    assert list(county.columns) == ["类别", "指标", "年份", "说明"]


# --------------------------------------------------------------------------- bad input
def test_a_county_without_denominator_blocks_the_city_and_the_import_says_so(empty_db, tmp_path):
    rows = [r if r[1] != "民勤县" else ["婴儿死亡率", "民勤县", 2025, "", 4.16, "", ""]
            for r in COUNTIES_2025]
    res = _import(tmp_path, "nd.csv", rows, empty_db)
    assert res.rows_accepted == 4 and res.rows_derived == 0
    [w] = res.warnings
    assert w.rule == "rollup"
    assert w.reason == ("武威市 2025年 婴儿死亡率：只有 3/4 个县区的数据可用（民勤县只有数值、缺分子或分母），"
                        "未由各县（区）数据汇总")
    assert _city(empty_db).empty


def test_children_in_another_unit_are_not_rolled_up(empty_db):
    conn = store.open_db(empty_db)
    sub = store.add_submission(conn, kind="import", file_name="x.csv")
    store.write_observations(conn, sub, [
        {"indicator": "c_infant_mortality", "region_code": c, "year": 2025, "value": 4.0,
         "numerator": 4, "denominator": 1000, "unit": "%" if c == "620622" else "‰"}
        for c in ("620602", "620621", "620622", "620623")])
    d = derive_mod.derive(conn)
    conn.close()
    assert d.written == 0
    assert d.messages == ["武威市 2025年 婴儿死亡率：各县（区）数据的单位与目录不一致，未汇总"]


def test_a_cycle_or_a_missing_parent_in_the_region_table_is_named():
    regs = list(all_regions())
    bad = [r if r.code != "620602" else Region("620602", "凉州区", "x", "county", "629999",
                                                 "monitored") for r in regs]
    with pytest.raises(DataError, match="凉州区（620602） 的上级地区 629999 不在地区表中"):
        from_regions(bad)
    cyc = [r if r.code != "620000" else Region("620000", "甘肃省", "x", "province", "620600",
                                               "benchmark") for r in regs]
    with pytest.raises(DataError, match="成环") as e:
        from_regions(cyc)
    assert "武威市（620600）" in str(e.value) and "甘肃省（620000）" in str(e.value)


def test_benchmarks_are_neither_derived_nor_checked_from_one_of_their_cities():
    h = from_regions()
    assert h.order() == [CITY]
    assert h.children(CITY) == ["620602", "620621", "620622", "620623"]


def test_a_version_1_database_is_migrated_and_its_rows_are_reported(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(store._SCHEMA_V1)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO submissions(kind, file_name, received_at) VALUES "
                 "('import', 'old.csv', '2024-01-01')")
    conn.execute("INSERT INTO observations(indicator, region_code, year, value, unit, "
                 "submission_id, recorded_at) VALUES ('c_infant_mortality', '620622', 2023, "
                 "4.5, '‰', 1, '2024-01-01T00:00:00')")
    conn.commit()
    conn.close()
    df = store.observations(db=path)
    assert df["value"].tolist() == [4.5] and df["derived"].tolist() == [False]
    assert store.db_info(path)["schema_version"] == store.SCHEMA_VERSION == 2


# --------------------------------------------------------------------------- scale
@pytest.fixture(scope="module")
def synthetic():
    from wuwei_analysis import synthetic

    return synthetic.generate(62, seed=5)


def test_the_synthetic_nation_rolls_up_counties_to_provinces_to_the_nation(synthetic):
    from wuwei_analysis.rollup.table import SYNTHETIC_TOP, rollup_table

    out = rollup_table(synthetic, top=SYNTHETIC_TOP, min_coverage=0.5)
    prov, nation = out[out["region_level"] == 1], out[out["region_level"] == 2]
    assert set(prov["region_code"]) == {f"SP{k:02d}" for k in range(1, 32)}
    assert set(nation["region_code"]) == {"SN000"} and set(prov["region_parent"]) == {"SN000"}
    # a province's counts are the sum of its counties' (the usable ones)
    ind = "c_infant_mortality"
    kids = synthetic[(synthetic["indicator"] == ind) & (synthetic["region_parent"] == "SP01")
                     & (synthetic["year"] == 2020) & (synthetic["urban_rural"] == "")]
    p = prov[(prov["indicator"] == ind) & (prov["region_code"] == "SP01") & (prov["year"] == 2020)
             & (prov["urban_rural"] == "")].iloc[0]
    assert p["numerator"] == kids["numerator"].sum() and p["children_used"] == len(kids)
    assert p["value"] == pytest.approx(kids["numerator"].sum() / kids["denominator"].sum() * 1000,
                                       abs=1e-3)
    n = nation[(nation["indicator"] == ind) & (nation["year"] == 2020)
               & (nation["urban_rural"] == "")].iloc[0]
    same = prov[(prov["indicator"] == ind) & (prov["year"] == 2020) & (prov["urban_rural"] == "")]
    assert n["numerator"] == same["numerator"].sum() and n["children_expected"] == 31
    assert set(out["method"]) <= {"ratio", "sum", "weighted"}
    assert (out.loc[out["coverage"] < 1, "partial"]).all() and out["illustrative"].all()
    # with every county required, the provinces missing one are not derived
    strict = rollup_table(synthetic, top=SYNTHETIC_TOP)
    assert len(strict) < len(out) and (strict["coverage"] == 1).all()


@pytest.mark.slow  # a Dask LocalCluster
def test_the_roll_up_on_dask_equals_the_local_one(synthetic):
    import warnings

    import distributed

    from wuwei_analysis.rollup.table import SYNTHETIC_TOP, rollup_table

    local = rollup_table(synthetic, top=SYNTHETIC_TOP, min_coverage=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                      memory_limit="1GiB") as cluster, \
                distributed.Client(cluster) as client:
            remote = rollup_table(synthetic, top=SYNTHETIC_TOP, min_coverage=0.5,
                                  executor="dask", client=client, workers=2)
    pd.testing.assert_frame_equal(local, remote)


def test_a_table_whose_parents_form_a_cycle_is_refused(synthetic):
    from wuwei_analysis.rollup.table import rollup_table

    with pytest.raises(DataError, match="成环"):
        rollup_table(synthetic, parents={"SP01": "SP02", "SP02": "SP01"})


def test_three_levels_in_the_database_use_a_reported_middle_level_when_there_is_one(empty_db):
    regs = [Region("P1", "甲省", "p", "province", None, "monitored"),
            Region("C1", "乙市", "c1", "city", "P1", "monitored"),
            Region("C2", "丙市", "c2", "city", "P1", "monitored"),
            *[Region(f"K{k}", f"丁{k}县", "k", "county", "C1" if k <= 2 else "C2", "monitored")
              for k in range(1, 5)]]
    conn = store.open_db(empty_db)
    sub = store.add_submission(conn, kind="import", file_name="x.csv")
    rec = lambda code, n, d: {"indicator": "c_infant_mortality", "region_code": code,  # noqa: E731
                              "year": 2025, "value": n / d * 1000, "numerator": n,
                              "denominator": d, "unit": "‰"}
    store.write_observations(conn, sub, [rec("K1", 5, 1000), rec("K2", 3, 1000),
                                         rec("K3", 4, 1000), rec("K4", 6, 1000),
                                         rec("C2", 12, 2100)])   # 丙市 reported its own
    d = derive_mod.derive(conn, regions=regs)
    got = d.rows.set_index("region_code")
    assert set(got.index) == {"C1", "P1"}                  # 丙市 reported: not derived
    assert got.loc["C1", "numerator"] == 8 and got.loc["P1", "numerator"] == 8 + 12
    assert got.loc["P1", "source"] == "由各市（州）数据汇总（2/2个市州）"
    conn.close()


def test_a_city_rate_reported_without_counts_is_checked_against_the_derived_rate(empty_db, tmp_path):
    res = _import(tmp_path, "c.csv", COUNTIES_2025 + [["婴儿死亡率", "武威市", 2025, "", 5.2, "", ""]],
                  empty_db)
    [w] = res.warnings
    assert "上报 5.20‰，由各县（区）数据汇总为 4.10‰，相差 +1.10" in w.reason and "容差 ±2%" in w.reason
    ok = _import(tmp_path, "d.csv", [["婴儿死亡率", "武威市", 2024, "", 4.1, "", ""]] +
                 [[*r[:2], 2024, *r[3:]] for r in COUNTIES_2025], empty_db)
    assert not ok.warnings          # 4.10 vs 4.0967: within the tolerance


def test_the_catalogue_refuses_an_entry_with_a_wrong_aggregate():

    from wuwei_analysis.errors import CatalogError

    from wuwei_analysis import indicator_catalog as catalog

    raw = {"id": "c_test_entry", "domain": "C1", "name_zh": "测试", "name_en": "test",
           "unit": "岁", "direction": "up", "target": {"kind": "direction"},
           "source": {"section": "主要目标", "number": 1, "text": "测试"},
           "aggregate": {"method": "ratio"}}
    with pytest.raises(CatalogError, match="aggregate 有误：单位“岁”不是率或比例"):
        catalog._build(raw, "children", "children.yaml")
    raw["aggregate"] = {"method": "weighted", "weight": "denominator"}
    assert catalog._build(raw, "children", "children.yaml").aggregate["method"] == "weighted"


def test_an_import_checks_only_the_indicator_years_it_changes(empty_db, tmp_path):
    """A disagreement warned of when it came in is not warned of again by a later file that
    leaves that indicator-year alone (the roll-up reads back only the file's pairs)."""
    first = _import(tmp_path, "c.csv", COUNTIES_2025 + [
        ["婴儿死亡率", "武威市", 2025, "", 5.2, 64, 12310]], empty_db)
    assert [w.rule for w in first.warnings] == ["consistency"]
    # 婴儿死亡率 for 2024 and another indicator for 2025: neither touches 婴儿死亡率 2025
    later = _import(tmp_path, "l.csv", [
        ["婴儿死亡率", "凉州区", 2024, "", 4.2, 21, 5000],
        ["5岁以下儿童死亡率", "凉州区", 2025, "", 6.0, 30, 5000]], empty_db)
    assert later.rows_accepted == 2, later.summary_zh()
    assert not [w for w in later.warnings if w.rule == "consistency"], later.summary_zh()
    # the disagreement is still there for `wuwei db check`
    assert len(checks.check(empty_db, years=[2025])) == 2
