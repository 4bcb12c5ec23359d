"""The indicator catalogue: schema, ids, units, and the public look-up API."""
import re

import pytest

import wuwei_analysis as wa
from wuwei_analysis.indicator_catalog import CATALOG_COLUMNS, ID_PATTERN, _meta, indicators, units
from wuwei_analysis.errors import UnknownIndicatorError
from wuwei_analysis.targets import TARGET_KINDS


@pytest.fixture(scope="module")
def cat():
    return wa.catalog()


def test_the_catalogue_holds_both_plans_and_all_fifteen_domains(cat):
    assert set(cat.plan) == {"women", "children"}
    assert set(cat.domain_code) == {f"W{i}" for i in range(1, 9)} | {f"C{i}" for i in range(1, 8)}


def test_the_catalogue_has_about_145_goals_split_into_more_indicators(cat):
    goals = cat[cat.source_section == "主要目标"][["domain_code", "source_number"]].drop_duplicates()
    assert 135 <= len(goals) <= 160
    assert len(cat) >= len(goals)


def test_catalogue_columns_are_the_documented_ones(cat):
    assert list(cat.columns) == CATALOG_COLUMNS
    for col in ["id", "plan", "domain", "name_zh", "name_en", "unit", "direction",
                "target_kind", "target_value", "target_year", "monitorable"]:
        assert col in cat.columns


def test_ids_are_unique_and_follow_the_pattern(cat):
    assert cat.id.is_unique
    for iid, plan in zip(cat.id, cat.plan):
        assert ID_PATTERN.match(iid), iid
        assert iid[0] == plan[0], iid


def test_every_unit_is_a_known_unit(cat):
    assert set(cat.unit) <= set(units())


def test_every_target_kind_is_one_of_the_seven(cat):
    assert set(cat.target_kind) <= set(TARGET_KINDS)


def test_every_reporter_is_a_member_unit(cat):
    assert set(cat.reporter) <= set(_meta()["member_units"])


def test_names_are_filled_in_both_languages(cat):
    assert (cat.name_zh.str.len() > 1).all()
    assert (cat.name_en.str.len() > 1).all()
    assert not cat.name_zh.str.contains(r"[A-Za-z]{4,}").any()


def test_numeric_kinds_have_a_value_and_units(cat):
    numeric = cat[cat.target_kind.isin(["at_most", "at_least", "around"])]
    refs = {i.id for i in indicators() if i.target.reference}
    missing = numeric[numeric.target_value.isna() & ~numeric.id.isin(refs)]
    assert missing.empty, list(missing.id)
    assert (numeric.unit != "").all()


def test_qualitative_goals_are_not_monitorable_and_monitorable_ones_have_a_unit(cat):
    qual = cat[cat.target_kind == "qualitative"]
    assert not qual.monitorable.any()
    mon = cat[cat.monitorable]
    assert (mon.unit != "").all(), list(mon[mon.unit == ""].id)


def test_target_years_are_within_the_plan_period(cat):
    assert cat.target_year.between(2021, 2035).all()


def test_percentage_targets_lie_between_0_and_100(cat):
    pct = cat[(cat.unit == "%") & cat.target_value.notna()]
    assert pct.target_value.between(0, 100).all()


def test_good_direction_agrees_with_the_target_kind(cat):
    assert (cat[cat.target_kind == "at_most"].direction == "down").all()
    assert (cat[cat.target_kind == "at_least"].direction.isin(["up", "target"])).all()
    assert (cat[cat.target_kind == "around"].direction == "target").all()


def test_references_point_at_existing_indicators():
    ids = {i.id for i in indicators()}
    for ind in indicators():
        if ind.target.reference:
            assert ind.target.reference in ids, ind.id


def test_every_monitorable_indicator_has_a_definition():
    missing = [i.id for i in indicators() if i.monitorable and not i.definition]
    assert not missing, missing


def test_rates_with_counts_name_numerator_and_denominator():
    for ind in indicators():
        if ind.counts:
            assert ind.counts.get("numerator") and ind.counts.get("denominator"), ind.id


# ---------------------------------------------------------------- the public API

def test_an_indicator_is_found_by_id_and_by_chinese_name():
    assert wa.indicator("c_infant_mortality").name_zh == "婴儿死亡率"
    assert wa.indicator("婴儿死亡率").id == "c_infant_mortality"


def test_an_indicator_knows_whether_a_value_meets_its_target():
    imr = wa.indicator("婴儿死亡率")
    assert imr.target.meets(4.9) is True
    assert imr.target.meets(5.0) is True
    assert imr.target.meets(5.1) is False


def test_an_unknown_indicator_suggests_close_names():
    with pytest.raises(UnknownIndicatorError) as err:
        wa.indicator("婴儿死忙率")
    assert "婴儿死亡率" in str(err.value)


def test_the_catalogue_filters_by_plan_domain_and_monitorability(cat):
    assert set(wa.catalog(plan="儿童").plan) == {"children"}
    assert set(wa.catalog(domain="C1").domain) == {"儿童与健康"}
    assert wa.catalog(monitorable=True).monitorable.all()


def test_the_infant_mortality_entry_is_as_the_plan_states():
    imr = wa.indicator("c_infant_mortality")
    assert (imr.unit, imr.direction, imr.target.kind, imr.target.value, imr.target.year) == \
        ("‰", "down", "at_most", 5.0, 2030)
    assert imr.source_section == "主要目标" and imr.source_number == 3
    assert "5.0‰" in imr.source_text


PREFACE_BASELINES = {
    # the children's plan preface; its ‰ values are printed as "%" (a unit slip)
    "c_infant_mortality": {2011: 8.87, 2020: 4.36},
    "c_under5_mortality": {2011: 10.11, 2020: 5.59},
    "c_preschool_gross_enrolment": {2011: 58.4, 2020: 95.48},
    "c_compulsory_education_retention": {2011: 96.83, 2020: 100.0},
    "c_high_school_gross_enrolment": {2011: 81.41, 2020: 95.42},
}


@pytest.mark.parametrize("iid", sorted(PREFACE_BASELINES))
def test_the_five_preface_baselines_are_recorded(iid):
    ind = wa.indicator(iid)
    for year, value in PREFACE_BASELINES[iid].items():
        assert ind.baseline(year) == pytest.approx(value), (iid, year)


def test_mortality_baselines_are_stored_in_per_mille_and_the_slip_is_noted():
    imr = wa.indicator("c_infant_mortality")
    assert imr.unit == "‰"
    assert any("%" in str(b.get("note", "")) for b in imr.baselines)


def test_a_goal_shared_by_both_plans_stores_its_data_once():
    women = wa.indicator("w_compulsory_education_retention_rate")
    assert women.same_as == "c_compulsory_education_retention"
    assert women.data_id == "c_compulsory_education_retention"
    assert wa.indicator("九年义务教育巩固率").id == "c_compulsory_education_retention"
