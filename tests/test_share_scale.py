"""The SCALE RULE: a percentage whose own history moves in straight lines of percentage points
is forecast on the share scale (the percentage itself, held inside 0–100 %); one that bends
as a logit bends, is short, sits at a bound or comes with its counts keeps the logit scale.
The engine and the per-series statsmodels path make the same choice and the same numbers."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from wuwei_analysis.models import forecast_series
from wuwei_analysis.models.calibrate import Z80
from wuwei_analysis.targets import Target

YEARS = np.arange(2012, 2025)


def straight(start: float, step: float, noise: float = 0.0, seed: int = 0, n: int = 13):
    """A published-estimate-like percentage: a straight line in percentage points."""
    rng = np.random.default_rng(seed)
    return np.round(start + step * np.arange(n) + rng.normal(0, noise, n), 2)


def logit_curve(p0: float, b: float, n: int = 13):
    """A percentage that saturates: a straight line on the logit scale."""
    z = np.log(p0 / (100 - p0)) + b * np.arange(n)
    return np.round(100 / (1 + np.exp(-z)), 2)


def run(values, years=YEARS, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return forecast_series(years[:len(values)], values, unit="%",
                               target=kw.pop("target", Target("at_least", 95.0, year=2030)),
                               horizon_year=2030, **kw)


def test_a_percentage_on_a_straight_line_is_forecast_on_the_share_scale():
    v = straight(60.0, 2.5, noise=0.02)                   # 60 → 90 %
    fc = run(v)
    assert fc.attrs["scale"] == "share"
    assert any("百分比尺度" in n for n in fc.attrs["notes"])
    import wuwei_analysis as wa                               # the engine's one-series case

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = wa.forecast_series(YEARS, v, unit="%", horizon_year=2030)
    assert one.attrs["scale"] == "share" and any("百分比尺度" in n for n in one.attrs["notes"])
    # it carries the line on, +2.5 points a year, where the logit scale would bend it down
    assert fc["mean"].iloc[0] == pytest.approx(v[-1] + 2.5, abs=0.15)
    assert fc["mean"].iloc[2] == pytest.approx(v[-1] + 7.5, abs=0.5)
    assert run(v, model="logit")["mean"].iloc[2] < v[-1] + 7.5 - 1.0


def test_in_the_middle_range_the_logit_scale_is_kept_when_it_forecasts_as_well():
    """From 40 to 64 % a logit line is nearly straight: the share scale must be clearly
    better (SCALE_MARGIN) to replace the indicator's own scale."""
    assert run(straight(40.0, 2.0, noise=0.02)).attrs["scale"] == "logit"


def test_share_scale_forecasts_and_intervals_stay_inside_0_to_100():
    v = straight(70.0, 2.2, noise=0.05, seed=3)          # 70 → 96.4 by 2024
    fc = run(v)
    assert fc.attrs["scale"] == "share"
    for c in ("mean", "lo80", "hi80", "lo95", "hi95"):
        assert (fc[c] >= 0).all() and (fc[c] <= 100).all(), c
    assert fc["mean"].iloc[-1] == 100.0                   # the line reaches the bound
    assert ((fc["lo80"] <= fc["mean"]) & (fc["mean"] <= fc["hi80"])).all()
    assert fc.attrs["p_meet"] > 0.9                       # ≥ 95 % by 2030


def test_a_saturating_percentage_keeps_the_logit_scale():
    fc = run(logit_curve(60.0, 0.25))
    assert fc.attrs["scale"] == "logit"


@pytest.mark.parametrize("why, values, kw", [
    ("short", straight(40.0, 2.0)[:7], {}),
    ("at 100 %", np.r_[straight(80.0, 2.0)[:10], 100.0, 100.0, 100.0], {}),
    ("counts", straight(40.0, 2.0), {"counts": np.round(straight(40.0, 2.0) * 10),
                                     "exposures": np.full(13, 1000.0)}),
])
def test_these_percentages_keep_the_logit_scale(why, values, kw):
    assert run(values, **kw).attrs["scale"] == "logit", why


def test_an_explicit_model_keeps_the_logit_scale():
    assert run(straight(40.0, 2.0), model="arima").attrs["scale"] == "logit"


@pytest.mark.parametrize("seed", [2, 6, 7])     # arima2, arima, linear on the share scale
def test_a_share_scale_interval_is_never_narrower_than_the_models_own(seed):
    """The pool's share-scale constants come from near-exact straight lines; a noisy
    percentage keeps at least its textbook 80 % interval (± Z80 · s)."""
    v = straight(60.0, 2.5, noise=0.6, seed=seed)
    fc = run(v)
    assert fc.attrs["scale"] == "share"
    from wuwei_analysis.models.core import choose_spec, fit_named, resolve_spec

    spec, name, _ = choose_spec(resolve_spec("%"), YEARS, v)
    fit = fit_named(spec, name, YEARS, v)
    _, s = fit.predict(fc["year"].to_numpy(float))
    half = (fc["hi80"] - fc["lo80"]).to_numpy() / 2
    inside = (fc["hi80"] < 100).to_numpy()
    assert (half[inside] >= Z80 * s[inside] * 0.999).all()


def test_the_engine_makes_the_same_scale_choice_and_numbers():
    from test_engine import compare, run_both

    rng = np.random.default_rng(7)
    series = []
    for i in range(60):
        n = int(rng.integers(6, 14))
        if i % 3 == 0:
            v = logit_curve(float(rng.uniform(20, 90)), float(rng.uniform(-0.1, 0.3)), n)
        else:
            v = straight(float(rng.uniform(5, 80)), float(rng.uniform(-1.5, 3.0)),
                         noise=float(rng.choice([0.0, 0.05, 0.5, 2.0])), seed=i, n=n)
        v = np.clip(v, 0.5, 99.5)
        series.append(dict(years=np.arange(2025 - n, 2025), values=v, unit="%",
                           target=Target("at_least", 90.0, year=2030), counts=None,
                           exposures=None))
    res, refs = run_both(series)
    assert compare(series, res, refs) == []
    assert [r.attrs["scale"] for r in refs] == list(res.scale)
    assert 10 <= (res.scale == "share").sum() <= 50        # both scales are exercised


def test_share_scale_95_percent_intervals_are_at_most_three_times_the_80_percent_ones():
    """The pool's share-scale errors have a fat tail (published straight lines that stop);
    the shipped constants cap k95 at 3 × k80 (peer_benchmark.SHARE_TAIL_MAX), so a steadily
    rising county percentage is not given a 95 % range from 71 to 100."""
    from wuwei_analysis.models.calibrate import CALIBRATION

    share = {k: v for k, v in CALIBRATION.items() if k.endswith("@share")}
    assert share and all(c["k95"] <= 3.0 * c["k80"] + 1e-4 for c in share.values())
    v = straight(60.0, 2.5, noise=0.6, seed=6)
    fc = run(v)
    assert fc.attrs["scale"] == "share"
    first = fc.iloc[0]
    half80, half95 = (first.hi80 - first.lo80) / 2, (first.hi95 - first.lo95) / 2
    assert first.hi95 < 100 and half95 <= 3.0 * half80 * 1.001
