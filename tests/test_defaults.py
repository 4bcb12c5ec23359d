"""The embedded default dataset: real public figures and baselines, and illustrative series."""
from __future__ import annotations


import pandas as pd
import pytest
import yaml

import wuwei_analysis as wa
from wuwei_analysis import database, store
from wuwei_analysis.indicator_catalog import indicator, indicators
from wuwei_analysis.defaults import illustrative, public

try:
    from fixtures_store import *  # noqa: F401,F403
    from fixtures_store import counts, write_csv
except ImportError:
    from .fixtures_store import *  # noqa: F401,F403
    from .fixtures_store import counts, write_csv

PREFACE = ["c_infant_mortality", "c_under5_mortality", "c_preschool_gross_enrolment",
           "c_compulsory_education_retention", "c_high_school_gross_enrolment"]


@pytest.fixture(scope="module")
def generated():
    return illustrative.generate()


def _totals(df):
    return df[(df["sex"] == "") & (df["urban_rural"] == "") & (df["age_group"] == "")]


def test_a_new_users_first_observations_show_the_default_dataset_and_its_illustrative_flag(wuwei_env):
    assert not wuwei_env.exists()
    df = wa.observations()
    assert wuwei_env.exists() and len(df) > 1000
    assert df["illustrative"].any() and (~df["illustrative"]).any()
    illus = df[df["illustrative"]]
    assert illus["source"].str.contains("示意数据").all()
    assert set(illus["region"]) == {"武威市", "凉州区", "民勤县", "古浪县", "天祝藏族自治县"}
    real = df[~df["illustrative"]]
    assert {"全国", "甘肃省", "武威市"} <= set(real["region"]) and real["source"].str.len().gt(0).all()


def test_the_generator_is_deterministic(generated):
    again = illustrative.generate()
    pd.testing.assert_frame_equal(generated, again)


def test_every_monitorable_indicator_has_city_and_county_series_2015_to_2024(generated):
    tot = _totals(generated)
    for ind in indicators():
        if not ind.monitorable or not ind.unit or ind.same_as:
            continue  # a same_as entry shares the data of the entry it names
        mine = tot[tot["indicator_id"] == ind.id]
        assert set(mine["year"]) <= set(range(2015, 2025)) and 2024 in set(mine["year"])
        regions = set(mine["region"])
        assert "武威市" in regions
        if "county" in ind.levels:
            assert regions == {"武威市", "凉州区", "民勤县", "古浪县", "天祝藏族自治县"}, ind.id


def test_city_counts_are_the_sums_of_the_county_counts(generated):
    tot = _totals(generated)
    tot = tot[tot["planted"] == ""]
    imr = tot[tot["indicator_id"] == "c_infant_mortality"]
    city = imr[imr["region"] == "武威市"].set_index("year")
    counties = imr[imr["region"] != "武威市"]
    full = counties.groupby("year").filter(lambda g: len(g) == 4).groupby("year")
    for year, g in full:
        assert g["numerator"].sum() == city.loc[year, "numerator"]
        assert g["denominator"].sum() == city.loc[year, "denominator"]
    # births ≈ 8–12 per 1000 of a city of ~1.46 million
    assert 11_000 < city.loc[2020, "denominator"] < 17_000


def test_county_maternal_deaths_are_small_counts(generated):
    mmr = _totals(generated)
    mmr = mmr[(mmr["indicator_id"] == "w_maternal_mortality") & (mmr["region"] != "武威市")]
    assert mmr["numerator"].max() <= 6 and (mmr["numerator"] == 0).mean() > 0.3
    assert mmr["numerator"].between(0, 3).mean() > 0.9


def test_the_2020_city_value_equals_the_plan_baseline(generated, seeded_db):
    tot = _totals(generated)
    for iid in PREFACE:
        base = indicator(iid).baseline(2020)
        row = tot[(tot["indicator_id"] == iid) & (tot["region"] == "武威市") & (tot["year"] == 2020)]
        assert float(row["value"].iloc[0]) == pytest.approx(base, abs=1e-9), iid
        stored = store.observations(iid, "武威市", db=seeded_db, year=[2011, 2020])
        assert stored["value"].tolist() == [indicator(iid).baseline(2011), base]
        assert not stored["illustrative"].any()  # the real figure, not the illustrative one
        assert stored["source"].str.contains("武政发〔2022〕15号").all()


def test_some_years_are_missing_and_2024_is_provisional(generated, seeded_db):
    tot = _totals(generated)
    per_series = tot.groupby(["indicator_id", "region"])["year"].nunique()
    assert (per_series < 10).sum() > 20
    df = store.observations(region="古浪县", db=seeded_db, include_benchmarks=False)
    assert df.loc[df["year"] == 2024, "provisional"].all()
    assert not df.loc[df["year"] < 2024, "provisional"].any()


def test_planted_problems_are_caught_by_the_importer(seeded_db):
    subs = store.submissions(seeded_db)
    sub = subs[subs["kind"] == "illustrative"].iloc[0]
    assert sub["rows_read"] == sub["rows_accepted"] + sub["rows_rejected"]
    rej = store.rejections(int(sub["id"]), db=seeded_db)
    assert sorted(rej["rule"]) == ["counts_inconsistent", "duplicate_row", "magnitude_slip", "unit_slip"]
    assert rej["reason"].str.contains("‰").any()
    jump = store.observations("c_preschool_gross_enrolment", "民勤县", db=seeded_db)
    assert jump.loc[jump["year"] == 2021, "flags"].str.contains("jump").all()
    # a rejected planted row leaves a gap, it is not stored with its wrong value
    imr = store.observations("c_infant_mortality", "古浪县", db=seeded_db)
    assert (imr["value"] < 20).all()


def test_public_figures_are_benchmark_series_with_their_source(seeded_db):
    nat = store.observations("婴儿死亡率", "全国", db=seeded_db)
    assert len(nat) >= 15 and not nat["illustrative"].any()
    assert nat["source"].str.len().gt(5).all()
    gansu = store.observations("孕产妇死亡率", "甘肃省", db=seeded_db)
    assert len(gansu) >= 4
    assert store.observations("婴儿死亡率", "全国", {"urban_rural": "农村"}, db=seeded_db).shape[0] >= 1


def test_low_trust_rows_keep_that_flag_until_an_official_source_confirms_them(seeded_db):
    nat = store.observations("c_infant_mortality", "全国", db=seeded_db, year=[2023, 2024])
    # 2024: only an unofficial relay; 2023: relayed in May 2024, confirmed by the bulletin in August
    assert nat["low_trust"].tolist() == [False, True]
    hist = store.revisions("c_infant_mortality", "全国", db=seeded_db, year=2023)
    assert hist["low_trust"].tolist() == [True, False] and hist["value"].tolist() == [4.5, 4.5]


def test_a_revised_published_figure_keeps_both_vintages(seeded_db):
    # 学前三年毛入园率 2020: 94.45 % (newspaper, Aug 2020), then 95.48 % (plan, Jan 2022)
    kw = dict(indicator="c_preschool_gross_enrolment", region="武威市", db=seeded_db, year=2020)
    assert store.observations(**kw)["value"].tolist() == [95.48]
    assert store.observations(vintage="2021-06-30", **kw)["value"].tolist() == [94.45]
    hist = store.revisions("c_preschool_gross_enrolment", "武威市", db=seeded_db, year=2020)
    assert hist["value"].tolist() == [94.45, 95.48]


def test_a_permille_printed_as_percent_and_a_repeated_value_are_flagged(seeded_db):
    u5 = store.observations("c_under5_mortality", "全国", db=seeded_db, year=2011)
    assert u5["value"].tolist() == [15.6] and "unit_slip_fixed" in u5["flags"].iloc[0]
    mmr = store.observations("w_maternal_mortality", "甘肃省", db=seeded_db, year=[2015, 2020])
    assert mmr["value"].tolist() == [15.07, 15.07]
    assert mmr["flags"].str.contains("repeated_value").all()


def test_public_rows_with_no_catalogue_indicator_are_skipped_and_the_mapping_is_valid(seeded_db):
    with open(public.MAPPING_FILE, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    known = {i.id for i in indicators()}
    for name, entry in doc["mappings"].items():
        for e in entry if isinstance(entry, list) else [entry]:
            assert (e if isinstance(e, str) else e["id"]) in known, name
    stored = set(store.observations(db=seeded_db, breakdown="all")["indicator"])
    assert stored <= known  # nothing for 常住人口 and the like


def test_loading_the_defaults_again_changes_nothing(seeded_db):
    before = counts(seeded_db)
    conn = store.open_db(seeded_db)
    try:
        summary = database.load_default_dataset(conn)
    finally:
        conn.close()
    assert all(v.get("skipped") for v in summary.values())
    assert counts(seeded_db) == before


def test_real_data_is_never_overwritten_by_illustrative_data_on_reload(seeded_db, tmp_path):
    from wuwei_analysis.defaults import load_illustrative
    from wuwei_analysis.ingest.importer import import_file

    path = write_csv(tmp_path / "real.csv", [["c_infant_mortality", "", "古浪县", 2022, "3.3", "", ""]])
    assert import_file(path, db=seeded_db).rows_accepted == 1
    conn = store.open_db(seeded_db)
    try:
        with store.transaction(conn):
            conn.execute("UPDATE submissions SET sha256 = 'x' WHERE kind = 'illustrative'")
            load_illustrative(conn)  # a catalogue change would make the generator run again
    finally:
        conn.close()
    row = store.observations("c_infant_mortality", "古浪县", db=seeded_db, year=2022).iloc[0]
    assert row["value"] == 3.3 and not row["illustrative"]


def test_a_default_database_first_opened_by_a_low_level_reader_still_gets_the_default_dataset(wuwei_env):
    # The roll-up checks read the store directly; as a new user's first call they used to
    # leave an empty default database that no later call ever filled.
    from wuwei_analysis import rollup, store

    store.open_db().close()  # created without the dataset, as a low-level call does
    assert wuwei_env.exists()
    assert len(wa.observations()) > 1000
    rollup.data_quality("武威市", 2024)
    assert len(wa.observations()) > 1000


def test_a_default_database_made_empty_on_purpose_stays_empty(wuwei_env):
    from wuwei_analysis.database import init_db

    init_db(with_defaults=False)
    assert len(wa.observations()) == 0
    init_db()  # asked for later: loaded then
    assert len(wa.observations()) > 1000
