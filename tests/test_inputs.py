"""Inputs checked before a model sees them: units converted or refused, impossible values
refused with a message naming the years, empty results explained."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import wuwei_analysis as wa
from wuwei_analysis.errors import CatalogError, DataError
from wuwei_analysis.models.inputs import (
    InputWarning, SeriesInputError, ShortSeriesWarning, UnitConversionWarning, convert_values,
    normalize_direction, unit_factor)

YEARS = list(range(2015, 2024))
IMR = [8.9, 8.1, 7.6, 7.0, 6.6, 6.1, 5.8, 5.5, 5.2]          # ‰


# ------------------------------------------------------------------ units
def test_p_meet_is_identical_for_the_same_series_in_permille_and_per_100000():
    a = wa.forecast_series(YEARS, IMR, target="c_infant_mortality")
    with pytest.warns(UnitConversionWarning, match="1/10万.*‰"):
        b = wa.forecast_series(YEARS, [v * 100 for v in IMR], unit="1/10万",
                               target="c_infant_mortality")
    # equal up to the rounding of the conversion (× 100 and back), as the medians
    assert a.attrs["p_meet"] == pytest.approx(b.attrs["p_meet"], rel=1e-12)
    assert np.allclose(a["median"], b["median"])
    assert b.attrs["unit"] == "‰" and b.attrs["input_unit"] == "1/10万"
    assert any("1/10万" in n and "‰" in n for n in b.attrs["notes"])


def test_percent_given_for_a_permille_indicator_is_converted_not_silently_accepted():
    with pytest.warns(UnitConversionWarning):
        fc = wa.forecast_series(YEARS, [v / 10 for v in IMR], unit="%",
                                target="c_infant_mortality")
    ref = wa.forecast_series(YEARS, IMR, target="c_infant_mortality")
    assert fc.attrs["p_meet"] == pytest.approx(ref.attrs["p_meet"])


def test_proportions_are_refused_with_the_fix():
    with pytest.raises(SeriesInputError, match="比例.*乘以1000"):
        wa.forecast_series(YEARS, [v / 1000 for v in IMR], target="c_infant_mortality")
    # ... or converted when declared as proportions
    with pytest.warns(UnitConversionWarning):
        fc = wa.forecast_series(YEARS, [v / 1000 for v in IMR], unit="比例",
                                target="c_infant_mortality")
    assert fc.attrs["unit"] == "‰"


def test_values_per_100000_given_as_permille_are_refused_as_a_unit_slip():
    with pytest.raises(SeriesInputError, match="疑为单位错误.*1/10万"):
        wa.forecast_series(YEARS, [v * 100 for v in IMR], target="c_infant_mortality")


def test_a_unit_that_cannot_be_converted_is_refused_naming_both_units():
    with pytest.raises(SeriesInputError, match="“岁”.*“‰”"):
        wa.forecast_series(YEARS, IMR, unit="岁", target="c_infant_mortality")
    with pytest.raises(SeriesInputError, match="名/千名儿童"):
        convert_values([1.0], "名/千名儿童", "‰")


def test_conversion_factors():
    assert unit_factor("1/10万", "‰") == pytest.approx(0.01)
    assert unit_factor("%", "‰") == pytest.approx(10)
    assert unit_factor("1/万", "1/10万") == pytest.approx(10)
    assert unit_factor("岁", "‰") is None
    assert convert_values([51.0], "1/10万", "1/万").tolist() == pytest.approx([5.1])


# ------------------------------------------------------------------ ranges and counts
def test_percentages_above_100_are_refused_naming_the_years():
    with pytest.raises(SeriesInputError, match=r"上限100.*2022年 101%.*2023年 104%"):
        wa.forecast_series(range(2018, 2024), [96, 97, 98, 99, 101, 104], unit="%")


def test_negative_rates_are_refused():
    with pytest.raises(SeriesInputError, match="下限"):
        wa.forecast_series(range(2018, 2024), [5, 4, -1, 3, 2, 2], unit="‰")


def test_gap_series_may_be_negative():
    t = wa.Target("gap", gap="urban_rural", direction="down")
    fc = wa.forecast_series(range(2018, 2025), [-4.0, -3.6, -3.1, -2.5, -2.2, -1.6, -1.1],
                            unit="‰", target=t)
    assert fc.attrs["p_meet"] > 0.9


def test_counts_and_denominators_are_checked():
    y = range(2018, 2023)
    with pytest.raises(SeriesInputError, match="事件数不能为负.*2019年"):
        wa.forecast_series(y, None, unit="‰", counts=[3, -1, 2, 2, 1],
                           exposures=[900, 900, 900, 900, 900])
    with pytest.raises(SeriesInputError, match="分母为0.*2020年"):
        wa.forecast_series(y, None, unit="‰", counts=[3, 1, 2, 2, 1],
                           exposures=[900, 900, 0, 900, 900])
    with pytest.raises(SeriesInputError, match="事件数大于分母"):
        wa.forecast_series(y, None, unit="‰", counts=[3, 1, 2000, 2, 1],
                           exposures=[900, 900, 900, 900, 900])
    # rates given with a zero denominator: used without counts, and said so
    with pytest.warns(InputWarning, match="分母为0：2020年"):
        fc = wa.forecast_series(y, [3.3, 1.1, 2.0, 2.2, 1.1], unit="‰", counts=[3, 1, 0, 2, 1],
                                exposures=[900, 900, 0, 900, 900])
    assert fc.attrs["model"] not in ("poisson", "quasi_poisson")
    assert any("分母为0" in n for n in fc.attrs["notes"])


def test_duplicate_years_are_refused_naming_them():
    with pytest.raises(SeriesInputError, match="年份重复：2020年"):
        wa.forecast_series([2019, 2020, 2020, 2021], [5, 4, 4, 3], unit="‰")


# ------------------------------------------------------------------ empty and short
def test_empty_and_all_nan_series_warn_naming_the_cause():
    with pytest.warns(ShortSeriesWarning, match="序列为空"):
        assert wa.forecast_series([], [], unit="‰").empty
    with pytest.warns(ShortSeriesWarning, match="全部3个数值都缺失"):
        assert wa.forecast_series([2020, 2021, 2022], [np.nan] * 3, unit="‰").empty
    # errors are WuweiErrors (and the ForecastError assess already handles)
    assert issubclass(SeriesInputError, DataError)


def test_a_two_point_series_warns_and_says_why():
    with pytest.warns(ShortSeriesWarning, match="只有2个有效数据点"):
        fc = wa.forecast_series([2022, 2023], [5.5, 5.1], unit="‰")
    assert fc.empty


def test_assess_stays_quiet_about_short_series_it_handles_itself():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ShortSeriesWarning)
        a = wa.assess(region="古浪县", year=2024)
    assert len(a)


def test_a_too_short_backtest_warns_instead_of_returning_nothing_silently():
    with pytest.warns(ShortSeriesWarning, match="回测没有产生任何预测.*4个有效数据点"):
        bt = wa.backtest([2020, 2021, 2022, 2023], [5, 4.8, 4.5, 4.4], unit="‰")
    assert bt.empty


# ------------------------------------------------------------------ filters that match nothing
def test_an_unknown_domain_suggests_the_closest():
    with pytest.raises(CatalogError, match="儿童与健康"):
        wa.catalog(domain="儿童健康")
    assert len(wa.catalog(domain="儿童与健康")) > 0


def test_a_breakdown_that_matches_nothing_names_what_the_data_have():
    with pytest.raises(DataError, match="sex=女.*女、男"):
        wa.forecast("w_maternity_insurance_insured", "武威市", breakdown={"sex": "female"})


def test_direction_normalisation():
    assert normalize_direction("decrease") == "down"
    assert normalize_direction("Increase") == "up"
    assert normalize_direction(None) is None
    with pytest.raises(SeriesInputError, match="decrease"):
        normalize_direction("flat")
