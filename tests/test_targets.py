"""Specification of target kinds: each kind has one rule, checked at its boundaries."""
import math

import pytest

from wuwei_analysis.errors import CatalogError
from wuwei_analysis.targets import Target


class TestAtMost:
    target = Target(kind="at_most", value=5.0)

    def test_a_value_on_the_limit_meets_it(self):  # "降至5.0‰以下" is read as ≤ 5.0
        assert self.target.meets(5.0) is True

    def test_a_value_computed_as_the_limit_with_float_noise_meets_it(self):
        assert self.target.meets(0.1 * 50) is True

    def test_a_value_just_above_the_limit_fails(self):
        assert self.target.meets(5.01) is False

    def test_lower_values_meet_it(self):
        assert self.target.meets(0.0) is True

    def test_no_value_cannot_be_judged(self):
        assert self.target.meets(None) is None


class TestAtLeast:
    target = Target(kind="at_least", value=95.0)

    def test_a_value_on_the_limit_meets_it(self):
        assert self.target.meets(95.0) is True

    def test_a_value_just_below_fails(self):
        assert self.target.meets(94.99) is False


class TestAround:
    target = Target(kind="around", value=45.0, tolerance=2.0)

    @pytest.mark.parametrize("value", [43.0, 45.0, 47.0])
    def test_values_within_the_tolerance_meet_it(self, value):
        assert self.target.meets(value) is True

    @pytest.mark.parametrize("value", [42.9, 47.1])
    def test_values_outside_the_tolerance_fail(self, value):
        assert self.target.meets(value) is False

    def test_around_needs_a_tolerance(self):
        with pytest.raises(CatalogError):
            Target(kind="around", value=45.0)


class TestRelativeChange:
    # 儿童伤害死亡率以2020年数据为基数下降20%
    target = Target(kind="relative_change", base_year=2020, change=-0.20, direction="down")

    def test_exactly_twenty_percent_below_the_base_meets_it(self):
        assert self.target.meets(16.0, base_value=20.0) is True

    def test_nineteen_percent_below_the_base_fails(self):
        assert self.target.meets(16.2, base_value=20.0) is False

    def test_the_threshold_is_derived_from_the_base(self):
        assert math.isclose(self.target.threshold(base_value=20.0), 16.0)

    def test_without_a_base_value_it_cannot_be_judged(self):
        assert self.target.meets(10.0) is None

    def test_a_rise_target_is_met_at_or_above_its_threshold(self):
        rise = Target(kind="relative_change", base_year=2020, change=0.10)
        assert rise.meets(11.0, base_value=10.0) is True
        assert rise.meets(10.9, base_value=10.0) is False


class TestDirection:
    up = Target(kind="direction", direction="up")

    def test_a_steady_rise_meets_an_upward_target(self):
        assert self.up.meets(years=[2018, 2019, 2020, 2021, 2022],
                             series=[50, 51.2, 51.9, 53.1, 54.0]) is True

    def test_a_fall_fails_an_upward_target(self):
        assert self.up.meets(years=[2018, 2019, 2020, 2021], series=[54, 53, 52.5, 51]) is False

    def test_noise_without_a_clear_slope_fails(self):
        assert self.up.meets(years=[2018, 2019, 2020, 2021, 2022],
                             series=[50, 53, 49, 52, 50.1]) is False

    def test_fewer_than_three_points_cannot_be_judged(self):
        assert self.up.meets(years=[2021, 2022], series=[1, 2]) is None

    def test_missing_values_are_ignored(self):
        down = Target(kind="direction", direction="down")
        assert down.meets(years=[2019, 2020, 2021, 2022],
                          series=[9, float("nan"), 7, 6]) is True


class TestGap:
    gap = Target(kind="gap", gap="urban_rural")

    def test_a_narrowing_gap_meets_it(self):
        assert self.gap.meets(years=[2019, 2020, 2021, 2022], series=[3.0, 2.6, 2.1, 1.7]) is True

    def test_a_gap_that_changes_sign_is_judged_on_its_size(self):
        assert self.gap.meets(years=[2019, 2020, 2021, 2022], series=[-3.0, -2.0, -1.2, -0.5]) is True

    def test_a_widening_gap_fails(self):
        assert self.gap.meets(years=[2019, 2020, 2021, 2022], series=[1.0, 1.4, 1.9, 2.5]) is False


def test_qualitative_targets_are_never_judged_from_data():
    assert Target(kind="qualitative").meets(100) is None


def test_an_unknown_kind_is_refused():
    with pytest.raises(CatalogError):
        Target(kind="roughly", value=1)


def test_a_reference_target_takes_its_threshold_from_the_reference_value():
    t = Target(kind="at_least", reference="w_party_members_women_share")
    assert t.meets(30.0, reference_value=29.5) is True
    assert t.meets(29.0, reference_value=29.5) is False
