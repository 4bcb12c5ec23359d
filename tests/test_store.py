"""The monitoring database: schema, WAL, revisions and vintages, the observations() contract."""
from __future__ import annotations

import shutil
import sqlite3

import pandas as pd
import pytest

from wuwei_analysis import database, store
from wuwei_analysis.errors import DataError, UnknownIndicatorError, UnknownRegionError

try:
    from fixtures_store import *  # noqa: F401,F403
    from fixtures_store import counts, run_cli
except ImportError:
    from .fixtures_store import *  # noqa: F401,F403
    from .fixtures_store import counts, run_cli


def _rec(value, year=2023, region="620622", indicator="c_infant_mortality", **kw):
    return {"indicator": indicator, "region_code": region, "year": year, "value": value,
            "unit": "‰", "source": "测试", **kw}


def _submit(conn, records, name="t.csv", **kw):
    with store.transaction(conn):
        sub = store.add_submission(conn, kind="import", file_name=name)
        out = store.write_observations(conn, sub, records, **kw)
        store.finish_submission(conn, sub, rows_read=len(records), rows_accepted=len(records),
                                rows_rejected=0)
    return sub, out


def test_a_new_database_is_created_with_its_folder_schema_and_wal_mode(tmp_path):
    path = tmp_path / "a" / "b" / "monitor.sqlite"
    conn = store.open_db(path)
    try:
        assert path.exists()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.schema_version(conn) == store.SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"observations", "submissions", "rejections", "meta"} <= tables
        assert store.get_meta(conn, "schema_version") == str(store.SCHEMA_VERSION)
    finally:
        conn.close()


def test_a_database_at_another_path_starts_empty_unless_asked(tmp_path):
    assert counts(database.init_db(tmp_path / "x.sqlite", with_defaults=False))["observations"] == 0
    conn = store.open_db(tmp_path / "y.sqlite")
    assert store.table_counts(conn)["observations"] == 0
    conn.close()


def test_the_default_database_is_filled_on_first_use_above_the_store(wuwei_env, tmp_path):
    # the store alone creates an empty database, even at the default path ...
    conn = store.open_db()
    assert store.table_counts(conn)["observations"] == 0
    conn.close()
    # ... the package's readers open it through `database`, which fills a new default
    # database with the default dataset (and only the default one)
    wuwei_env.unlink()
    import wuwei_analysis as wa

    assert not wa.observations("c_infant_mortality", "全国").empty
    assert database.db_info()["defaults_loaded"]
    other = tmp_path / "other.sqlite"
    assert database.observations(db=other).empty


def test_the_default_path_honours_WUWEI_DB(wuwei_env):
    conn = store.open_db()
    try:
        assert conn.execute("PRAGMA database_list").fetchone()[2] == str(wuwei_env)
    finally:
        conn.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    c = sqlite3.connect(path)
    c.execute("PRAGMA user_version = 99")
    c.close()
    with pytest.raises(DataError, match="请升级软件"):
        store.open_db(path)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_text("这不是数据库" * 100, encoding="utf-8")
    with pytest.raises(DataError, match="监测数据库无法使用"):
        store.open_db(path)


def test_the_counts_invariant_is_a_constraint_of_the_database(empty_db):
    conn = store.open_db(empty_db)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO submissions(kind, file_name, received_at, rows_read, "
                     "rows_accepted, rows_rejected) VALUES ('import', 'x', 'now', 5, 2, 2)")
    conn.close()


def test_writing_the_same_value_again_adds_nothing(empty_db):
    conn = store.open_db(empty_db)
    _submit(conn, [_rec(4.4)])
    _, out = _submit(conn, [_rec(4.4)], name="again.csv")
    assert (out["new"], out["revised"], out["unchanged"]) == (0, 0, 1)
    assert store.table_counts(conn)["observations"] == 1
    conn.close()


def test_a_new_value_is_a_revision_and_queries_return_the_latest_unless_asked_for_a_vintage(empty_db):
    conn = store.open_db(empty_db)
    s1, _ = _submit(conn, [_rec(4.4), _rec(3.0, indicator="c_neonatal_mortality")])
    stamp = store.now_iso()
    s2, out = _submit(conn, [_rec(4.9)], name="revised.csv")
    assert out["revised"] == 1
    latest = store.observations("c_infant_mortality", db=conn)
    assert latest["value"].tolist() == [4.9] and latest["submission_id"].tolist() == [s2]
    assert store.observations("c_infant_mortality", db=conn, vintage=s1)["value"].tolist() == [4.4]
    assert store.observations("c_infant_mortality", db=conn, vintage=stamp)["value"].tolist() == [4.4]
    assert store.observations("c_infant_mortality", db=conn, vintage=str(s2))["value"].tolist() == [4.9]
    both = store.revisions("c_infant_mortality", db=conn)
    assert both["value"].tolist() == [4.4, 4.9] and both["submission_id"].tolist() == [s1, s2]
    assert len(store.observations(db=conn)) == 2
    conn.close()


def test_a_vintage_date_means_the_end_of_that_day(empty_db):
    conn = store.open_db(empty_db)
    _submit(conn, [_rec(4.4, recorded_at="2021-03-01T09:00:00.000000"),
                   _rec(3.0, year=2022, recorded_at="2022-05-01T09:00:00.000000")])
    assert store.observations(db=conn, vintage="2021-03-01")["year"].tolist() == [2023]
    assert len(store.observations(db=conn, vintage="2022-05-01")) == 2
    with pytest.raises(DataError, match="ISO"):
        store.observations(db=conn, vintage="去年")
    conn.close()


def test_observations_has_exactly_the_contract_columns_and_types(seeded_db):
    df = store.observations("婴儿死亡率", db=seeded_db)
    assert list(df.columns) == store.OBSERVATION_COLUMNS == [
        "indicator", "name_zh", "region", "region_code", "year", "sex", "urban_rural",
        "age_group", "value", "numerator", "denominator", "unit", "source", "illustrative",
        "provisional", "low_trust", "derived", "flags", "submission_id", "recorded_at"]
    assert df["year"].dtype == "int64" and df["value"].dtype == "float64"
    assert df["numerator"].dtype == "float64" and df["illustrative"].dtype == bool
    assert df["low_trust"].dtype == bool and df["provisional"].dtype == bool
    assert (df[["sex", "urban_rural", "age_group"]] == "").all().all()
    assert df["name_zh"].eq("婴儿死亡率").all() and df["unit"].eq("‰").all()
    key = ["indicator", "region_code", "sex", "urban_rural", "age_group", "year"]
    assert df[key].equals(df.sort_values(key)[key].reset_index(drop=True))
    empty = store.observations("婴儿死亡率", region="古浪县", db=seeded_db, year=1990)
    assert list(empty.columns) == store.OBSERVATION_COLUMNS and empty.empty


def test_indicator_and_region_accept_ids_names_aliases_codes_and_lists(seeded_db):
    a = store.observations("c_infant_mortality", "天祝藏族自治县", db=seeded_db)
    b = store.observations("婴儿死亡率", "天祝县", db=seeded_db)
    c = store.observations(["婴儿死亡率"], [620623], db=seeded_db)
    assert len(a) > 0 and a.equals(b) and a.equals(c)
    two = store.observations(["c_infant_mortality", "c_under5_mortality"], ["古浪", "民勤县"],
                             db=seeded_db)
    assert set(two["indicator"]) == {"c_infant_mortality", "c_under5_mortality"}
    assert set(two["region"]) == {"古浪县", "民勤县"}
    with pytest.raises(UnknownIndicatorError, match="婴儿死亡率"):
        store.observations("婴儿死亡律", db=seeded_db)
    with pytest.raises(UnknownRegionError, match="古浪县"):
        store.observations(region="古狼县", db=seeded_db)


def test_breakdown_selects_totals_groups_a_value_or_everything(seeded_db):
    kw = dict(indicator="c_infant_mortality", region="武威市", db=seeded_db)
    totals = store.observations(**kw)
    groups = store.observations(breakdown="urban_rural", **kw)
    rural = store.observations(breakdown={"urban_rural": "农村"}, **kw)
    everything = store.observations(breakdown="all", **kw)
    assert (totals["urban_rural"] == "").all()
    assert set(groups["urban_rural"]) == {"城镇", "农村"}
    assert set(rural["urban_rural"]) == {"农村"}
    assert len(everything) == len(totals) + len(groups)
    assert store.observations(breakdown="sex", **kw).empty
    with pytest.raises(DataError, match="未知分组"):
        store.observations(breakdown="colour", **kw)


def test_benchmarks_can_be_left_out(seeded_db):
    with_b = store.observations("c_infant_mortality", db=seeded_db)
    without = store.observations("c_infant_mortality", db=seeded_db, include_benchmarks=False)
    assert {"全国", "甘肃省"} <= set(with_b["region"])
    assert not {"全国", "甘肃省"} & set(without["region"])


def test_db_accepts_a_path_a_connection_or_none(seeded_db, wuwei_env):
    conn = store.open_db(seeded_db)
    try:
        by_conn = store.observations("c_infant_mortality", db=conn)
        assert conn.execute("SELECT 1").fetchone() == (1,)  # left open
    finally:
        conn.close()
    assert by_conn.equals(store.observations("c_infant_mortality", db=str(seeded_db)))
    wuwei_env.parent.mkdir(parents=True)
    shutil.copy(seeded_db, wuwei_env)  # the default database ($WUWEI_DB)
    assert store.observations("c_infant_mortality").equals(by_conn)  # db=None


def test_export_writes_csv_and_xlsx_with_chinese_headers_and_the_illustrative_column(seeded_db, tmp_path):
    csv_path = store.export(tmp_path / "out.csv", "c_infant_mortality", db=seeded_db)
    df = pd.read_csv(csv_path, encoding="utf-8-sig")
    assert list(df.columns)[:5] == ["指标编号", "指标名称", "地区", "地区代码", "年份"]
    assert set(df["示意数据"]) == {"是", "否"}
    xlsx = store.export(tmp_path / "out.xlsx", "c_infant_mortality", "古浪县", db=seeded_db)
    assert pd.read_excel(xlsx)["示意数据"].eq("是").all()
    with pytest.raises(DataError):
        store.export(tmp_path / "out.json", db=seeded_db)


def test_an_exported_file_imports_again_without_changing_anything(seeded_db, tmp_path):
    from wuwei_analysis.ingest.importer import import_file

    path = store.export(tmp_path / "古浪县.csv", region="古浪县", db=seeded_db)
    before = counts(seeded_db)
    res = import_file(path, db=seeded_db)
    assert res.rows_rejected == 0 and res.rows_new == 0 and res.rows_revised == 0
    after = counts(seeded_db)
    assert after["observations"] == before["observations"] and after["sum"] == before["sum"]


@pytest.mark.slow  # subprocesses
def test_cli_export_and_db_info(seeded_db, tmp_path):
    out = tmp_path / "导出.csv"
    r = run_cli("--db", str(seeded_db), "export", "-o", str(out), "--indicator", "婴儿死亡率",
                "--region", "古浪县", "--breakdown", "total")
    assert r.returncode == 0, r.stderr
    assert "示意数据" in r.stdout and out.exists()
    r = run_cli("--db", str(seeded_db), "db", "info")
    assert r.returncode == 0 and f"结构版本：{store.SCHEMA_VERSION}" in r.stdout and "日志模式：wal" in r.stdout


def test_an_entry_that_is_the_same_as_another_gets_its_data_under_its_own_id(seeded_db):
    from wuwei_analysis.indicator_catalog import indicators

    twin = next(i for i in indicators() if i.same_as)
    mine = store.observations(twin.id, "武威市", db=seeded_db)
    theirs = store.observations(twin.same_as, "武威市", db=seeded_db)
    assert len(mine) > 0 and (mine["indicator"] == twin.id).all()
    assert mine["value"].tolist() == theirs["value"].tolist()
    both = store.observations([twin.id, twin.same_as], "武威市", db=seeded_db)
    assert len(both) == 2 * len(mine)
