"""Counting as the plans count: 145 主要目标, a goal in both plans counted once, a goal with
several indicators once, by the rule in docs/status_rules.md."""
from __future__ import annotations

import pandas as pd
import pytest

from wuwei_analysis.indicator_catalog import indicators
from wuwei_analysis.goals import (GOAL_STATUS_ORDER, goal_counts, goal_of, goal_status, goals,
                                  with_two_columns)


def test_every_main_goal_of_both_plans_is_in_the_catalogue():
    plan_goals = {i.goal for i in indicators() if i.goal}
    assert len(plan_goals) == 145
    assert sum(g.startswith("W") for g in plan_goals) == 75
    assert all(i.goal is None for i in indicators() if i.source_section == "策略措施")


def test_a_goal_in_both_plans_is_counted_once_and_shown_under_both():
    keys = [g.key for g in goals()]
    assert len(keys) == 143
    shared = {g.key: g for g in goals() if len(g.ids) == 2}
    assert set(shared) == {"C3.3=W2.4", "C3.4=W2.5"}
    assert shared["C3.3=W2.4"].domains == ("C3", "W2")
    assert goal_of("w_compulsory_education_retention_rate") is goal_of("c_compulsory_education_retention")
    # 农村自来水普及率 is in W7.6 and C6.7, but those goals also hold different indicators
    assert goal_of("w_rural_tap_water_coverage").key == "W7.6"


#: (current_code, outlook_code) of each combined status, as the engine sets them.
_COLUMNS = {"achieved": ("met", "on_track"), "may_slip": ("met", "off_track"),
            "on_track": ("not_met", "on_track"), "at_risk": ("not_met", "at_risk"),
            "off_track": ("not_met", "off_track"), "insufficient": ("no_data", "insufficient"),
            "not_applicable": ("no_target", "not_applicable")}


def _assessment(statuses: dict[str, tuple[str, float | None]]) -> pd.DataFrame:
    rows = []
    for ind in indicators():
        code, p = statuses.get(ind.id, ("not_applicable", None))
        cur, out = _COLUMNS[code]
        rows.append({"indicator": ind.id, "status_code": code, "current_code": cur,
                     "outlook_code": out, "p_meet": p})
    return pd.DataFrame(rows)


def test_a_goal_takes_the_worst_status_of_its_indicators():
    # C1.3: neonatal, infant, under-5 mortality and their urban-rural gap
    a = _assessment({"c_neonatal_mortality": ("achieved", 0.95),
                     "c_infant_mortality": ("at_risk", 0.6),
                     "c_under5_mortality": ("on_track", 0.9)})
    g = goal_status(a).set_index("key")
    assert g.loc["C1.3", "status_code"] == "at_risk"
    assert g.loc["C1.3", "worst"] == "c_infant_mortality"
    c = goal_counts(a)
    assert c["at_risk"] == 1 and c["total"] == 143 and sum(c[k] for k in GOAL_STATUS_ORDER) == 143


def test_met_now_but_likely_to_slip_is_never_counted_as_achieved():
    a = _assessment({"c_infant_mortality": ("may_slip", 0.18),
                     "c_neonatal_mortality": ("achieved", 0.95)})
    c = goal_counts(a)
    assert c["may_slip"] == 1 and c["achieved"] == 0


def test_the_goal_counts_need_the_two_status_columns():
    with pytest.raises(ValueError, match="two-column"):
        with_two_columns(pd.DataFrame({"indicator": [], "status_code": []}))


@pytest.mark.parametrize("code", ["insufficient"])
def test_a_goal_without_judged_indicators_is_insufficient(code):
    a = _assessment({"c_infant_mortality": (code, None)})
    assert goal_status(a).set_index("key").loc["C1.3", "status_code"] == "insufficient"
