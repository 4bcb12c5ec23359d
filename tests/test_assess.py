"""Assessment: one row per indicator, with a status an official can trace to a written rule."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wuwei_analysis.assessment import (
    ASSESS_COLUMNS, CURRENT_LABELS, OUTLOOK_LABELS, STATUS_LABELS, STATUS_RULES, WARNING_LABELS, assess_frame,
    status_for_progress, status_for_threshold, status_for_trend,
)
from wuwei_analysis.indicator_catalog import indicators

GULANG = {"region": "古浪县", "region_code": "620622"}
YEARS = [2019, 2020, 2021, 2022, 2023, 2024]


def obs_rows(indicator, years, values, **cols):
    """Observation rows in the store's shape; list-valued ``cols`` vary by year."""
    base = dict(name_zh="", sex="", urban_rural="", age_group="", numerator=np.nan,
                denominator=np.nan, unit="", source="测试", illustrative=False,
                provisional=False, low_trust=False, flags="", submission_id=1,
                recorded_at="2025-03-01T00:00:00", **GULANG)
    out = []
    for i, (y, v) in enumerate(zip(years, values)):
        extra = {k: (c[i] if isinstance(c, (list, tuple)) else c) for k, c in cols.items()}
        out.append({**base, "indicator": indicator, "year": y, "value": v, **extra})
    return out


@pytest.fixture(scope="module")
def frame():
    rows = []
    # ≤5.0‰ — falling steadily towards it: on track
    rows += obs_rows("c_infant_mortality", YEARS, [9.0, 8.2, 7.5, 6.9, 6.3, 5.8])
    # ≤3.0‰ — rising: off track, and moving away
    rows += obs_rows("c_neonatal_mortality", YEARS, [3.4, 3.6, 3.7, 3.9, 4.1, 4.3])
    # ≤6.0‰ — latest value already meets it: achieved
    rows += obs_rows("c_under5_mortality", YEARS, [7.5, 7.0, 6.6, 6.3, 6.1, 5.9])
    # ≤12/10万 with 0–1 deaths a year: 0 in 2024 meets it, but the pooled 2022–2024 rate
    # (1 death in 7,380 births: 13.6/10万) does not — small numbers, not met
    rows += obs_rows("w_maternal_mortality", YEARS[1:], [0.0, 38.2, 0.0, 40.3, 0.0],
                     numerator=[0, 1, 0, 1, 0], denominator=[2600, 2620, 2500, 2480, 2400])
    # ≥95% — only two values, not yet met: insufficient
    rows += obs_rows("c_high_school_gross_enrolment", [2023, 2024], [90.1, 91.0])
    # 以2020年为基数下降20% — base 20.0 → threshold 16.0
    rows += obs_rows("c_child_injury_mortality", YEARS, [21.0, 20.0, 19.2, 18.3, 17.6, 16.9])
    # 45%左右（±2）: stays around it → achieved
    rows += obs_rows("w_employed_persons_female_share", YEARS, [44.8, 45.3, 44.6, 45.1, 44.9, 45.2])
    # direction up (女党员比例): rising clearly → on track
    rows += obs_rows("w_party_members_women_share", YEARS, [26.0, 26.6, 27.1, 27.9, 28.4, 29.0])
    # direction down (育龄妇女人工流产率): rising → off track
    rows += obs_rows("w_induced_abortion_rate", YEARS, [10.0, 10.4, 10.9, 11.3, 11.9, 12.4])
    # urban–rural gap of infant mortality from the breakdown rows: narrowing
    rows += obs_rows("c_infant_mortality", YEARS[1:], [9.0, 8.6, 8.1, 7.4, 6.9],
                     urban_rural="农村")
    rows += obs_rows("c_infant_mortality", YEARS[1:], [5.0, 5.0, 4.9, 4.8, 4.8],
                     urban_rural="城镇")
    # a later year that a 2024 report must not see
    rows += obs_rows("c_infant_mortality", [2025], [1.0])
    # another county's data must not leak in
    rows += [{**r, "region": "民勤县", "region_code": "620621", "value": 99.0}
             for r in obs_rows("c_neonatal_mortality", YEARS, [0] * 6)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def result(frame):
    return assess_frame(frame, "古浪县", 2024).set_index("indicator")


def test_one_row_per_catalogue_indicator_with_the_documented_columns(frame):
    df = assess_frame(frame, "古浪县", 2024)
    assert list(df.columns) == ASSESS_COLUMNS
    assert len(df) == len(indicators()) and df["indicator"].is_unique
    assert set(df["status_code"]) <= set(STATUS_LABELS)
    assert (df["status"] == df["status_code"].map(STATUS_LABELS)).all()
    assert (df["current"] == df["current_code"].map(CURRENT_LABELS)).all()
    assert (df["outlook"] == df["outlook_code"].map(OUTLOOK_LABELS)).all()
    assert df.attrs["region"] == "古浪县" and df.attrs["year"] == 2024
    assert df.attrs["rules"] == STATUS_RULES


def test_expected_statuses_on_a_hand_made_county(result):
    expected = {
        "c_infant_mortality": "on_track",
        "c_neonatal_mortality": "off_track",
        "c_under5_mortality": "achieved",
        "w_maternal_mortality": "at_risk",      # 0 deaths now, but pooled 13.6/10万
        "c_high_school_gross_enrolment": "insufficient",
        "c_child_injury_mortality": "on_track",
        "w_employed_persons_female_share": "achieved",
        "w_party_members_women_share": "on_track",
        "w_induced_abortion_rate": "off_track",
        "c_child_mortality_urban_rural_gap": "on_track",
    }
    got = result.loc[list(expected), "status_code"].to_dict()
    assert got == expected


def test_status_answers_two_questions_now_and_in_2030(result):
    """现状 and 2030年展望 in two columns; the combined status never says 已实现 beside an
    outlook that is not on track."""
    cols = ["current_code", "outlook_code", "status_code"]
    assert tuple(result.loc["c_under5_mortality", cols]) == ("met", "on_track", "achieved")
    mmr = result.loc["w_maternal_mortality"]
    assert (mmr.current, mmr.status) == ("未达标", "有风险")       # on the pooled rate
    assert tuple(result.loc["c_infant_mortality", cols]) == ("not_met", "on_track", "on_track")
    assert tuple(result.loc["c_high_school_gross_enrolment", cols]) == (
        "not_met", "insufficient", "insufficient")
    assert result.loc["w_party_members_women_share", "current_code"] == "no_target"
    qual = result[result.target_kind == "qualitative"]
    assert set(qual.current_code) == {"no_target"} and set(qual.outlook_code) == {"not_applicable"}
    achieved = result[result.status_code == "achieved"]
    assert (achieved.outlook_code == "on_track").all() or \
        achieved[achieved.outlook_code != "on_track"].p_meet.isna().all()
    slip = result[(result.current_code == "met") & result.outlook_code.isin(["at_risk", "off_track"])]
    assert (slip.status_code == "may_slip").all()
    nodata = result[(result.n_points == 0) & (result.target_kind != "qualitative")]
    assert set(nodata.current_code) == {"no_data"}


def test_met_now_but_heading_away_is_may_slip_never_achieved():
    rows = obs_rows("c_under5_mortality", YEARS, [4.0, 4.4, 4.8, 5.2, 5.6, 5.9])   # ≤6.0‰
    r = assess_frame(pd.DataFrame(rows), "古浪县", 2024, indicators="c_under5_mortality").iloc[0]
    assert (r.current, r.status) == ("已达标", "已达标但可能回落")
    assert r.outlook_code in ("at_risk", "off_track") and r.p_meet < STATUS_RULES["on_track_p"]
    assert "may_slip" in r.warning_codes.split(",")


def test_a_rate_on_few_events_is_judged_on_its_pooled_three_years(result):
    """Issue #14 item 4: < 20 events in the latest year — 现状 from the pooled rate of the
    last three years, and the reason says so; the single lucky year does not count."""
    mmr = result.loc["w_maternal_mortality"]
    assert mmr.latest_value == 0.0 and mmr.threshold == 12.0      # the last year alone meets it
    assert mmr.pooled_years == "2022—2024"
    assert mmr.pooled_events == 1.0
    assert mmr.pooled_value == pytest.approx(1 / (2500 + 2480 + 2400) * 1e5)
    assert (mmr.current_code, mmr.current) == ("not_met", "未达标")
    assert mmr.status_code != "achieved"
    assert "仅基于0例（少于20例）；按2022—2024年合并率13.6/10万（3年共1例）判断现状，" \
           "尚未达到“≤12/10万”" in mmr.reason
    assert "按当前趋势" in mmr.reason                    # the outlook sentence follows
    # a rate on many events, and a rate without counts, have no pooled columns
    imr = result.loc["c_infant_mortality"]
    assert np.isnan(imr.pooled_value) and imr.pooled_years == "" and "合并率" not in imr.reason


def test_a_small_count_rate_whose_pooled_rate_meets_the_target_is_met():
    # 3, 2, 1 deaths in ~30,000 births: 2024 alone 3.4/10万, pooled 2022–2024 6.8/10万 ≤ 12
    rows = obs_rows("w_maternal_mortality", YEARS, [13.0, 10.2, 9.9, 10.1, 6.7, 3.4],
                    numerator=[4, 3, 3, 3, 2, 1],
                    denominator=[30800, 29400, 30300, 29700, 29900, 29500])
    r = assess_frame(pd.DataFrame(rows), "古浪县", 2024, indicators="w_maternal_mortality").iloc[0]
    assert r.current_code == "met" and r.pooled_years == "2022—2024" and r.pooled_events == 6
    assert "判断现状，已达到“≤12/10万”的目标" in r.reason
    assert "small_numbers" in r.warning_codes.split(",")


def test_a_coverage_share_on_few_cases_is_a_state_judged_on_its_latest_year():
    # 治疗率 ≥95%: 2, 3, 4 of 4 cases treated — the latest year (100 %) is the state now
    rows = obs_rows("w_hiv_infected_pregnant_women_treatment_rate", [2022, 2023, 2024],
                    [50.0, 75.0, 100.0], numerator=[2, 3, 4], denominator=[4, 4, 4])
    r = assess_frame(pd.DataFrame(rows), "古浪县", 2024,
                     indicators="w_hiv_infected_pregnant_women_treatment_rate").iloc[0]
    assert r.current_code == "met" and r.pooled_years == "" and np.isnan(r.pooled_value)
    assert "合并率" not in r.reason


def test_a_trend_not_distinguishable_from_flat_is_said_so():
    """Issue #17 item 2: the trend's two-sided p ≥ STATUS_RULES["flat_trend_p"] — the
    reason says the forecast's trend cannot be told from flat."""
    from scipy import stats

    flat = obs_rows("c_infant_mortality", YEARS, [6.0, 5.6, 6.3, 5.7, 6.1, 5.8])    # ≤5.0‰
    clear = obs_rows("c_neonatal_mortality", YEARS, [3.4, 3.6, 3.7, 3.9, 4.1, 4.3])
    df = assess_frame(pd.DataFrame(flat + clear), "古浪县", 2024,
                      indicators=["c_infant_mortality", "c_neonatal_mortality"])
    f, c = df.iloc[0], df.iloc[1]
    assert f.model == c.model == "loglinear"
    fit = stats.linregress(YEARS, np.log([6.0, 5.6, 6.3, 5.7, 6.1, 5.8]))
    assert f.trend_p == pytest.approx(fit.pvalue, rel=1e-8)      # the engine's own numbers
    assert f.trend_p >= STATUS_RULES["flat_trend_p"]
    assert f"近年趋势与持平无法区分（p={f.trend_p:.2f}）" in f.reason
    assert c.trend_p < STATUS_RULES["flat_trend_p"] and "持平无法区分" not in c.reason


def test_qualitative_goals_and_indicators_without_data_are_listed_not_judged(result):
    qual = [i.id for i in indicators() if i.target.kind == "qualitative"]
    assert (result.loc[qual, "status_code"] == "not_applicable").all()
    assert result.loc[qual[0], "reason"].startswith("定性目标")
    city_only = [i.id for i in indicators() if i.levels == ("city",)
                 and i.target.kind != "qualitative"]
    assert (result.loc[city_only, "status_code"] == "not_applicable").all()
    no_data = result[(result.n_points == 0) & (result.status_code == "insufficient")]
    assert len(no_data) > 0 and no_data["reason"].str.contains("暂无").all()


def test_report_year_cuts_later_data_and_other_regions_do_not_leak(result):
    imr = result.loc["c_infant_mortality"]
    assert imr.latest_year == 2024 and imr.latest_value == pytest.approx(5.8)
    assert result.loc["c_neonatal_mortality", "latest_value"] == pytest.approx(4.3)


def test_reason_states_the_forecast_interval_and_probability(result):
    imr = result.loc["c_infant_mortality"]
    assert imr.p_meet >= STATUS_RULES["on_track_p"]
    assert imr.forecast_lo80 <= imr.forecast_value <= imr.forecast_hi80
    assert "2030年婴儿死亡率预计为" in imr.reason and "80%区间" in imr.reason
    assert "概率约为" in imr.reason
    # required vs observed annual change (unit per year, and AARR on the log scale)
    assert imr.required_annual_change == pytest.approx((5.0 - 5.8) / 6)
    assert imr.observed_annual_change < imr.required_annual_change < 0
    assert imr.required_aarr == pytest.approx(1 - (5.0 / 5.8) ** (1 / 6))
    assert imr.observed_aarr > imr.required_aarr


def test_relative_change_target_uses_the_regions_2020_value(result):
    r = result.loc["c_child_injury_mortality"]
    assert r.base_value == pytest.approx(20.0) and r.threshold == pytest.approx(16.0)


def test_direction_and_gap_targets_are_judged_by_trend_confidence(result):
    up = result.loc["w_party_members_women_share"]
    assert up.p_meet > STATUS_RULES["direction_on_track"] and "上升" in up.reason
    gap = result.loc["c_child_mortality_urban_rural_gap"]
    assert gap.latest_value == pytest.approx(6.9 - 4.8)
    assert "城乡分组" in gap.reason


def test_warnings_small_numbers_and_moving_away(result):
    mmr = result.loc["w_maternal_mortality"]
    assert "small_numbers" in mmr.warning_codes.split(",")
    assert "仅基于0例" in mmr.warnings
    assert "outlier" not in mmr.warning_codes       # Poisson noise is not an outlier
    nmr = result.loc["c_neonatal_mortality"]
    assert "moving_away" in nmr.warning_codes.split(",")
    assert set(filter(None, ",".join(result.warning_codes).split(","))) <= set(WARNING_LABELS)


def test_stale_outlier_volatile_and_illustrative_warnings():
    rows = obs_rows("c_infant_mortality", [2015, 2016, 2017, 2018, 2019, 2020, 2021],
                    [9.0, 8.6, 8.2, 12.5, 7.5, 7.1, 6.8], illustrative=True)
    rows += obs_rows("c_under5_mortality", YEARS, [9.0, 6.0, 9.5, 5.5, 8.8, 5.9])
    df = assess_frame(pd.DataFrame(rows), "古浪县", 2024,
                      indicators=["c_infant_mortality", "c_under5_mortality"])
    imr, u5 = df.iloc[0], df.iloc[1]
    codes = imr.warning_codes.split(",")
    assert {"stale", "outlier", "illustrative"} <= set(codes)
    assert "2018年数值12.5‰偏离趋势" in imr.warnings and "预期范围" in imr.warnings
    assert imr.illustrative
    assert "volatile" in u5.warning_codes.split(",")


def test_a_percentage_near_100_is_judged_in_percentage_points_not_log_odds():
    rows = obs_rows("c_compulsory_education_retention", YEARS, [99.7, 99.9, 99.8, 99.9, 99.7, 99.9])
    r = assess_frame(pd.DataFrame(rows), "古浪县", 2024,
                     indicators="c_compulsory_education_retention").iloc[0]
    assert r.status_code == "achieved"
    assert "volatile" not in r.warning_codes and "outlier" not in r.warning_codes


def test_an_old_latest_value_is_insufficient_not_a_forecast():
    rows = obs_rows("c_infant_mortality", [2012, 2013, 2014, 2015, 2016],
                    [9.0, 8.6, 8.2, 7.8, 7.5])
    r = assess_frame(pd.DataFrame(rows), "古浪县", 2024, indicators="c_infant_mortality").iloc[0]
    assert r.status_code == "insufficient" and "stale" in r.warning_codes


def test_midterm_mode_judges_progress_on_the_path_from_2020_to_2030():
    rows = obs_rows("c_infant_mortality", [2020, 2021, 2022, 2023, 2024, 2025],
                    [9.0, 8.7, 8.5, 8.3, 8.2, 8.0])       # path value in 2025: 7.0
    r = assess_frame(pd.DataFrame(rows), "古浪县", kind="midterm",
                     indicators=["c_infant_mortality"]).iloc[0]
    assert r.eval_year == 2025 and r.path_value == pytest.approx(7.0)
    assert r.progress_ratio == pytest.approx((8.0 - 9.0) / (7.0 - 9.0))
    assert r.status_code == "at_risk" and "应有进度的50%" in r.reason
    fast = obs_rows("c_infant_mortality", [2020, 2021, 2022, 2023, 2024, 2025],
                    [9.0, 8.4, 7.8, 7.2, 6.7, 6.2])
    r = assess_frame(pd.DataFrame(fast), "古浪县", kind="midterm",
                     indicators=["c_infant_mortality"]).iloc[0]
    assert r.status_code == "on_track" and r.progress_ratio > 1


def test_final_mode_with_the_2030_value_is_met_or_not():
    rows = obs_rows("c_infant_mortality", list(range(2024, 2031)),
                    [6.0, 5.9, 5.8, 5.7, 5.6, 5.5, 5.4])
    r = assess_frame(pd.DataFrame(rows), "古浪县", kind="final",
                     indicators=["c_infant_mortality"]).iloc[0]
    assert r.status_code == "off_track" and "未实现" in r.reason


def test_status_rules_are_pure_functions_of_their_inputs():
    assert status_for_threshold(True, 1, None) == "achieved"
    assert status_for_threshold(False, 2, None) == "insufficient"
    assert status_for_threshold(False, 5, 0.80) == "on_track"
    assert status_for_threshold(False, 5, 0.79) == "at_risk"
    assert status_for_threshold(False, 5, 0.49) == "off_track"
    assert status_for_trend(0.9) == "on_track" and status_for_trend(0.9, final=True) == "achieved"
    assert status_for_trend(0.6) == "at_risk" and status_for_trend(0.2) == "off_track"
    assert status_for_trend(None) == "insufficient"
    assert status_for_progress(1.2) == "on_track" and status_for_progress(0.7) == "at_risk"
    assert status_for_progress(-0.3) == "off_track"


def test_outlier_rule_gives_the_expected_range():
    rows = obs_rows("c_infant_mortality", [2018, 2019, 2020, 2021, 2022, 2023],
                    [8.0, 7.6, 7.2, 10.5, 6.5, 6.2])
    r = assess_frame(pd.DataFrame(rows), "古浪县", 2023,
                     indicators="c_infant_mortality").iloc[0]
    assert r.warning_codes.split(",").count("outlier") == 1
    text = [w for w in r.warnings.split("；") if "偏离趋势" in w][0]
    assert text.startswith("2021年数值10.5‰偏离趋势")
    lo, hi = (float(v) for v in text.split("预期范围")[1].split("‰")[0].split("–"))
    assert lo < 6.9 < hi < 10.5


def test_cli_prints_a_chinese_table(frame, monkeypatch, capsys, tmp_path):
    import wuwei_analysis.assessment as assess_mod
    from wuwei_analysis.cli import main

    monkeypatch.setattr(assess_mod, "assess",
                        lambda region, year=None, db=None, kind="annual", indicators=None:
                        assess_frame(frame, region, year, kind=kind))
    assert main(["assess", "--region", "古浪县", "--year", "2024"]) == 0
    text = capsys.readouterr().out
    assert "古浪县 2024年" in text and "婴儿死亡率" in text and "按期可达" in text
    assert "判定规则" in text and "达标概率" in text
    out = tmp_path / "评估.csv"
    assert main(["assess", "--region", "古浪县", "--year", "2024", "--format", "csv",
                 "-o", str(out)]) == 0
    back = pd.read_csv(out, encoding="utf-8-sig")
    assert len(back) == len(indicators()) and "status_code" in back.columns


@pytest.mark.slow  # default dataset + CLI
def test_wuwei_status_prints_the_chinese_assessment_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WUWEI_HOME", str(tmp_path))
    monkeypatch.delenv("WUWEI_DB", raising=False)
    from wuwei_analysis.cli import main

    assert main(["status", "--region", "古浪县", "--year", "2024"]) == 0
    out = capsys.readouterr().out
    assert "古浪县" in out and "婴儿死亡率" in out
    assert any(s in out for s in ["已实现", "按期可达", "有风险", "难以实现"])


@pytest.mark.parametrize("engine", ["vectorized", "per-series"])
def test_the_forecast_behind_each_row_comes_with_it(frame, engine):
    """``forecasts=`` returns the forecast each status rests on (the chart draws it; the app
    and the brief fit nothing again), gap targets included."""
    forecasts: dict = {}
    df = assess_frame(frame, "古浪县", 2024, forecasts=forecasts, engine=engine
                      ).set_index("indicator")
    modelled = df[df.model != "none"]
    assert len(modelled) >= 8 and set(modelled.index) <= set(forecasts)
    assert "c_child_mortality_urban_rural_gap" in forecasts
    for ind, r in modelled.iterrows():
        fc = forecasts[ind]
        assert fc.attrs["model"] == r.model and fc.attrs["target_year"] == r.target_year
        assert (fc.attrs["p_meet"] is None and pd.isna(r.p_meet)) or \
            fc.attrs["p_meet"] == pytest.approx(r.p_meet)
        at = fc[fc.year == r.target_year]
        if pd.notna(r.forecast_value):
            assert at["median"].iloc[0] == pytest.approx(r.forecast_value)   # point forecast
            assert at["mean"].iloc[0] == at["median"].iloc[0]                   # its old name
            assert at["lo80"].iloc[0] == pytest.approx(r.forecast_lo80)
