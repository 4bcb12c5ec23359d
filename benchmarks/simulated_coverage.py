"""Coverage of forecast intervals on simulated series whose truth is known.

    python benchmarks/simulated_coverage.py                 # the report (≈ 1–1.5 min)
    python benchmarks/simulated_coverage.py --series 60     # smaller / faster
    python benchmarks/simulated_coverage.py --no-fixed      # only model="auto"

Design
  Short annual series (5–12 observed years, cycling, last observed year 2024) are drawn
  from the processes the workbench models, with parameters drawn at random per series:

  count_county  rates from counts: live births B_t (county size, 1,500–15,000 a year,
                log-uniform, drifting −4 %…+1 % a year with 3 % noise), deaths ~
                Poisson(B_t · r_t), r_t log-linear: r = 2–12 ‰ at the first year, AARR
                0–8 % a year; passed as counts + denominators (Poisson / quasi-Poisson).
  count_city    the same at city size (15,000–40,000 births a year).
  rate          a rate without counts: r_t log-linear as above, times exp(ε),
                ε ~ N(0, σ²), σ = 2–10 %; passed as values (log-linear model).
  percent       a percentage: logit(p_t) = logit(p₀) + b·t + ε, p₀ = 40–99 %,
                b = −0.05…0.25 a year, ε ~ N(0, σ²), σ = 0.03–0.25 (logit model).
  share         a share meant to stay near a value: p_t = a + b·t + ε, a = 30–60 %,
                b = −0.5…0.5 points a year, σ = 0.3–2 points (linear model,
                ``direction="target"``).
  count_small   (extra, reported apart, not in the pooled figures) maternal-mortality-like
                small counts: county births as above, 10–60 per 100,000, AARR 0–8 %
                (0.15–9 expected deaths a year), unit 1/10万.

  Each series is forecast with ``forecast_series(..., model="auto")`` (and, unless
  ``--no-fixed``, with each fixed model the auto rule could pick: the kind's primary model
  and ``naive``; ``damped`` for 12-point series without counts) for 1–6 years after the
  last observation. Every forecast is compared with a *new observation* drawn from the
  same process in that year (for counts: new births and new Poisson deaths), since the
  intervals are for future observed values, observation noise included.

What it prints
  Coverage of the 80 % and 95 % intervals (share of future observations inside; below80 /
  above80: share below / above the 80 % interval) with the number of forecasts: overall,
  by kind, by horizon, by series length, by the model auto chose, per fixed model; and
  MASE (|error| / mean absolute yearly change of the training data) of the forecast and of
  the naive last-value forecast on the same pairs, and ``rel`` = their ratio (below 1
  beats "no change"). For counts, by expected events in the forecast year, with
  ``oracle80`` / ``oracle95``: the probability the *true* Poisson distribution gives its
  own whole-event 10–90 % (2.5–97.5 %) quantile range — what even a forecaster who knew
  the truth would cover with intervals whose ends are whole events. Forecasts from one
  series share its draws, so the effective sample is smaller than n: the standard error
  of a pooled coverage is about √(p(1−p) / n_series / 2) (≈ 0.008 at 80 % here).

Seeded: the same arguments give the same numbers.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

from wuwei_analysis.models import ForecastError, forecast_series

KINDS = ("count_county", "count_city", "rate", "percent", "share")
EXTRA_KINDS = ("count_small",)
COUNT_KINDS = ("count_county", "count_city", "count_small")
LAST_YEAR = 2024
MAX_H = 6
LENGTHS = tuple(range(5, 13))
SEED = 20240601
PRIMARY = {"count_county": "poisson", "count_city": "poisson", "count_small": "poisson",
           "rate": "loglinear", "percent": "logit", "share": "linear"}
ROW_COLUMNS = ["kind", "series", "n_obs", "model_req", "model", "h", "actual", "mean",
               "lo80", "hi80", "lo95", "hi95", "naive", "mase_scale", "signal", "mu"]


def _logit(p):
    return np.log(p / (1 - p))


def _expit(z):
    return 1 / (1 + np.exp(-z))


def draw_series(kind: str, n_obs: int, rng: np.random.Generator) -> dict:
    """One simulated series.

    Returns a dict with years, values (None for counts), counts / exposures / scale (count
    kinds), unit, direction, ``slope`` and ``noise`` (true trend per year and noise sd on
    the modelling scale), and ``future(rng)`` → (new observations, expected events) for
    the MAX_H years after the last observed one (expected events NaN without counts).
    """
    t_all = np.arange(n_obs + MAX_H, dtype=float)          # t = 0 at the first observed year
    years = LAST_YEAR - n_obs + 1 + t_all
    obs, fut = slice(0, n_obs), slice(n_obs, None)
    out: dict = {"kind": kind, "n_obs": n_obs, "years": years[obs]}
    nan = np.full(MAX_H, np.nan)
    if kind in COUNT_KINDS:
        lo, hi = (15000, 40000) if kind == "count_city" else (1500, 15000)
        scale, unit = (1e5, "1/10万") if kind == "count_small" else (1e3, "‰")
        b0 = np.exp(rng.uniform(np.log(lo), np.log(hi)))
        g = rng.uniform(-0.04, 0.01)
        r0 = (rng.uniform(10, 60) if kind == "count_small" else rng.uniform(2, 12)) / scale
        aarr = rng.uniform(0, 0.08)
        rate = r0 * (1 - aarr) ** t_all

        def births(r):
            return np.round(b0 * np.exp(g * t_all) * np.exp(r.normal(0, 0.03, len(t_all))))

        b = births(rng)
        d = rng.poisson(b * rate).astype(float)
        mu_last = b[n_obs - 1] * rate[n_obs - 1]
        out.update(values=None, counts=d[obs], exposures=b[obs], scale=scale, unit=unit,
                   slope=np.log(1 - aarr), noise=1 / np.sqrt(max(mu_last, 1e-9)))

        def future(r):
            bf = births(r)[fut]
            mu = bf * rate[fut]
            return r.poisson(mu) / bf * scale, mu

    elif kind == "rate":
        r0 = rng.uniform(2, 12)
        aarr = rng.uniform(0, 0.08)
        sigma = rng.uniform(0.02, 0.10)
        trend = r0 * (1 - aarr) ** t_all
        y = trend * np.exp(rng.normal(0, sigma, len(t_all)))
        out.update(values=y[obs], unit="‰", slope=np.log(1 - aarr), noise=sigma)

        def future(r):
            return trend[fut] * np.exp(r.normal(0, sigma, MAX_H)), nan

    elif kind == "percent":
        z0 = _logit(rng.uniform(0.40, 0.99))
        slope = rng.uniform(-0.05, 0.25)
        sigma = rng.uniform(0.03, 0.25)
        zt = z0 + slope * t_all
        y = 100 * _expit(zt + rng.normal(0, sigma, len(t_all)))
        out.update(values=y[obs], unit="%", slope=slope, noise=sigma)

        def future(r):
            return 100 * _expit(zt[fut] + r.normal(0, sigma, MAX_H)), nan

    elif kind == "share":
        a = rng.uniform(30, 60)
        slope = rng.uniform(-0.5, 0.5)
        sigma = rng.uniform(0.3, 2.0)
        trend = a + slope * t_all
        y = trend + rng.normal(0, sigma, len(t_all))
        out.update(values=y[obs], unit="%", direction="target", slope=slope, noise=sigma)

        def future(r):
            return trend[fut] + r.normal(0, sigma, MAX_H), nan

    else:
        raise ValueError(kind)
    out["future"] = future
    return out


def fixed_models(kind: str, n_obs: int) -> list[str]:
    """The fixed models the auto rule could pick for this kind and length."""
    ms = [PRIMARY[kind], "naive"]
    if n_obs >= 12 and PRIMARY[kind] != "poisson":
        ms.append("damped")
    return ms


def simulate(n_series: int = 200, *, seed: int = SEED, fixed: bool = True,
             kinds=KINDS, lengths=LENGTHS, forecaster=None) -> pd.DataFrame:
    """Rows (one per series × model × horizon) of forecasts against new observations.

    ``n_series`` series per kind; series lengths cycle through ``lengths``. Columns
    ROW_COLUMNS; ``signal`` is |true slope| / noise sd on the modelling scale (how far a
    year of trend stands out of a year of noise), ``mu`` the expected events in the
    forecast year (count kinds). A fixed model that cannot fit a series (naive on the log
    scale of all-zero counts) is skipped and listed in ``attrs["skipped"]``.
    """
    forecaster = forecaster or forecast_series
    rng = np.random.default_rng(seed)
    lengths = list(lengths)
    rows: list[tuple] = []
    skipped: list[tuple[str, str]] = []
    for kind in kinds:
        for i in range(n_series):
            n_obs = lengths[i % len(lengths)]
            s = draw_series(kind, n_obs, rng)
            actual, mu = s["future"](rng)
            if s["values"] is None:
                yobs = s["counts"] / s["exposures"] * s["scale"]
            else:
                yobs = s["values"]
            mase_scale = float(np.mean(np.abs(np.diff(yobs))))
            models = ["auto"] + (fixed_models(kind, n_obs) if fixed else [])
            for m in models:
                try:
                    fc = forecaster(s["years"], s["values"], unit=s["unit"],
                                    counts=s.get("counts"), exposures=s.get("exposures"),
                                    direction=s.get("direction"),
                                    horizon_year=LAST_YEAR + MAX_H, model=m)
                except ForecastError:     # e.g. naive on a log scale of all-zero counts
                    skipped.append((kind, m))
                    continue
                used = fc.attrs["model"]
                f = fc[["mean", "lo80", "hi80", "lo95", "hi95"]].to_numpy(float)
                for j in range(MAX_H):
                    rows.append((kind, f"{kind}:{i}", n_obs, m, used, j + 1,
                                 float(actual[j]), *f[j], float(yobs[-1]), mase_scale,
                                 abs(s["slope"]) / s["noise"], float(mu[j])))
    out = pd.DataFrame(rows, columns=ROW_COLUMNS)
    out.attrs["skipped"] = skipped
    return out


def coverage(rows: pd.DataFrame) -> tuple[float, float]:
    """(80 %, 95 %) coverage of the rows' intervals."""
    in80 = (rows.actual >= rows.lo80 - 1e-9) & (rows.actual <= rows.hi80 + 1e-9)
    in95 = (rows.actual >= rows.lo95 - 1e-9) & (rows.actual <= rows.hi95 + 1e-9)
    return float(in80.mean()), float(in95.mean())


def summarise(rows: pd.DataFrame, by=None) -> pd.DataFrame:
    """n, cov80, cov95, below80, above80, MASE of the forecast and of naive, rel."""
    def one(g: pd.DataFrame) -> dict:
        c80, c95 = coverage(g)
        sc = g.mase_scale.where(g.mase_scale > 0)
        ok = sc.notna()
        e = (g.actual - g["mean"]).abs()[ok] / sc[ok]
        en = (g.actual - g.naive).abs()[ok] / sc[ok]
        return {"n": len(g), "cov80": c80, "cov95": c95,
                "below80": float((g.actual < g.lo80 - 1e-9).mean()),
                "above80": float((g.actual > g.hi80 + 1e-9).mean()),
                "mase": float(e.mean()), "mase_naive": float(en.mean()),
                "rel": float(e.sum() / en.sum()) if en.sum() > 0 else np.nan}

    if by is None:
        return pd.DataFrame([one(rows)], index=["all"])
    return pd.DataFrame({k: one(g) for k, g in rows.groupby(by, sort=True)}).T


def by_expected_events(rows: pd.DataFrame) -> pd.DataFrame:
    """Count rows by expected events in the forecast year, with the oracle coverage."""
    from scipy import stats

    r = rows[rows.mu.notna()].copy()
    if r.empty:
        return pd.DataFrame()
    for lev, a in (("80", 0.1), ("95", 0.025)):
        lo = stats.poisson.ppf(a, r.mu)
        hi = stats.poisson.ppf(1 - a, r.mu)
        r[f"oracle{lev}"] = stats.poisson.cdf(hi, r.mu) - stats.poisson.cdf(lo - 1, r.mu)
    r["events"] = pd.cut(r.mu, [0, 1, 3, 10, 30, np.inf],
                         labels=["<1", "1–3", "3–10", "10–30", "≥30"])
    out = summarise(r, "events")[["n", "cov80", "cov95"]]
    orc = r.groupby("events", observed=True)[["oracle80", "oracle95"]].mean()
    return out.join(orc)


def _fmt(df: pd.DataFrame) -> str:
    df = df.copy()
    df["n"] = df["n"].astype(int)
    return df.to_string(float_format=lambda v: f"{v:.3f}")


def report(rows: pd.DataFrame) -> None:
    main = rows[rows.kind.isin(KINDS)]
    auto = main[main.model_req == "auto"]
    print("\n== model='auto' (the default) ==")
    print("overall:")
    print(_fmt(summarise(auto)))
    print("\nby kind:")
    print(_fmt(summarise(auto, "kind")))
    print("\nby horizon (years ahead):")
    print(_fmt(summarise(auto, "h")))
    print("\nby series length (observed years):")
    print(_fmt(summarise(auto, "n_obs")))
    print("\nby the model auto chose:")
    print(_fmt(summarise(auto, "model")))
    print("\ncounts (county and city), by expected events in the forecast year:")
    print(_fmt(by_expected_events(auto)))
    fixed = main[main.model_req != "auto"]
    if len(fixed):
        print("\n== fixed models ==")
        print(_fmt(summarise(fixed, ["kind", "model_req"])))
        print("\nfixed models by horizon:")
        print(_fmt(summarise(fixed, ["model_req", "h"])))
    extra = rows[~rows.kind.isin(KINDS)]
    if len(extra):
        print("\n== extra: small counts (maternal-mortality-like, 10–60 per 100,000) ==")
        print(_fmt(summarise(extra, ["kind", "model_req"])))
        print("by expected events in the forecast year (model='auto'):")
        print(_fmt(by_expected_events(extra[extra.model_req == "auto"])))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=240, help="series per kind (default 240)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--no-fixed", action="store_true", help="only model='auto'")
    ap.add_argument("--no-extra", action="store_true", help="skip the small-count kind")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    pd.set_option("display.width", 160)
    t0 = time.time()
    kinds = KINDS + (() if args.no_extra else EXTRA_KINDS)
    rows = simulate(args.series, seed=args.seed, fixed=not args.no_fixed, kinds=kinds)
    n_auto = int(((rows.model_req == "auto") & rows.kind.isin(KINDS)).sum())
    print(f"{args.series} series per kind × {len(KINDS)} kinds (+ {len(kinds) - len(KINDS)} "
          f"extra), lengths {LENGTHS[0]}–{LENGTHS[-1]}, horizons 1–{MAX_H}, seed {args.seed}: "
          f"{n_auto} default forecasts, {len(rows)} in all")
    if rows.attrs["skipped"]:
        print("fixed-model fits refused (series × model):",
              pd.Series([f"{k}/{m}" for k, m in rows.attrs["skipped"]]).value_counts().to_dict())
    report(rows)
    print(f"\n({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
