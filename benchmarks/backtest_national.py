"""Rolling-origin backtest on the real published series in ``wuwei_analysis/data/public``.

    python benchmarks/backtest_national.py              # the report
    python benchmarks/backtest_national.py --calibrate  # also print CALIBRATION to paste

What it prints
  A. Calibration constants (c, k80, k95 per model), re-estimated from fixed-model rolling-
     origin runs (training ≥ 4 points, 1–6 years ahead), beside the stored ones.
  B. The default forecast (model="auto", min_train=5, horizons 1–3) per series and pooled:
     MASE, MASE relative to the naive last-value forecast, and the empirical coverage of
     the 80 % / 95 % intervals — textbook intervals (the model's own, interval="model")
     against the calibrated ones (the default).
  C. Honesty check of the calibration: leave-one-series-out (constants re-estimated
     without the series being scored), pooled and by horizon 1–6.

Series used: every indicator × region with at least 5 distinct years and one unit (values
of one year given by several sources: the first non-"low trust" one).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd

from wuwei_analysis.models import backtest, summarise_backtest
from wuwei_analysis.models.calibrate import CALIBRATION, calibrate_rows
from wuwei_analysis.models.core import DAMPED_MIN_POINTS, resolve_spec
from wuwei_analysis.settings import PUBLIC_DIR

UNIT_MAP = {"万人": "万人", "万所": "count", "女=100": "男/女=100", "‰": "‰", "%": "%",
            "1/10万": "1/10万", "岁": "岁", "人": "人"}
FILES = ("national_china.csv", "gansu.csv", "wuwei.csv")
MIN_YEARS = 5


def load_series(min_years: int = MIN_YEARS) -> list[dict]:
    out = []
    for fname in FILES:
        d = pd.read_csv(PUBLIC_DIR / fname)
        for (name, region), g in d.groupby(["indicator_zh", "region"], sort=True):
            if g["unit"].nunique() != 1:
                continue  # mixed units (e.g. 人 and 万人): a trap, not a series
            g = g.assign(low=g["note"].fillna("").str.contains("low trust"))
            g = g.sort_values(["year", "low"], kind="stable").groupby("year").head(1)
            if len(g) < min_years:
                continue
            unit = UNIT_MAP.get(g["unit"].iloc[0])
            if unit is None:
                continue
            out.append({"series": f"{region}:{name}", "unit": unit,
                        "years": g["year"].to_numpy(float),
                        "values": g["value"].to_numpy(float)})
    return out


def _frame(bt: pd.DataFrame, **cols) -> pd.DataFrame:
    df = pd.DataFrame(bt)
    df.attrs = {}
    for k, v in cols.items():
        df[k] = v
    return df


def fixed_model_rows(series: list[dict]) -> pd.DataFrame:
    """Fixed-model runs (each applicable model on each series), textbook intervals."""
    rows = []
    for s in series:
        spec = resolve_spec(s["unit"])
        models = [spec.primary, "naive"]
        if len(s["years"]) >= DAMPED_MIN_POINTS:
            models.append("damped")
        for m in models:
            bt = backtest(s["years"], s["values"], unit=s["unit"], model=m, min_train=4,
                          horizon=6, interval="model")
            rows.append(_frame(bt, series=s["series"]))
    return pd.concat(rows, ignore_index=True)


def loso(rows: pd.DataFrame) -> pd.DataFrame:
    """Leave-one-series-out coverage: constants from the other series, per model."""
    out = []
    for model, g_model in rows.groupby("model"):
        for s, g in g_model.groupby("series"):
            cst = calibrate_rows(rows[rows["series"] != s]).get(model)
            if cst is None:
                continue
            sd = np.sqrt(g["z_sd_model"] ** 2 + (cst["c"] * g["pace_u"] * g["h"]) ** 2)
            r = g["z_error"].abs() / sd
            out.append(pd.DataFrame({"series": s, "model": model, "h": g["h"],
                                     "in80": r <= cst["k80"], "in95": r <= cst["k95"],
                                     "in80_textbook": g["z_error"].abs() <= 1.2816 * g["z_sd_model"],
                                     "in95_textbook": g["z_error"].abs() <= 1.96 * g["z_sd_model"]}))
    return pd.concat(out, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibrate", action="store_true", help="print CALIBRATION to paste")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    pd.set_option("display.width", 160)
    t0 = time.time()
    series = load_series()
    print(f"{len(series)} series with ≥{MIN_YEARS} years:",
          "; ".join(f"{s['series']} ({len(s['years'])})" for s in series))

    # A. calibration
    raw = fixed_model_rows(series)
    new = calibrate_rows(raw)
    print("\nA. Calibration constants (fixed models, training ≥4, horizons 1–6)")
    tab = pd.DataFrame({m: {**{f"new_{k}": v for k, v in new[m].items() if k != "pooled"},
                            **{f"stored_{k}": v for k, v in CALIBRATION[m].items()}}
                        for m in new}).T
    print(tab.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.calibrate:
        print("\nCALIBRATION = {")
        for m, c in new.items():
            print(f'    "{m}": {{"c": {c["c"]}, "k80": {c["k80"]}, "k95": {c["k95"]}, '
                  f'"n": {c["n"]}}},')
        print("}")

    # B. default forecasts: textbook vs calibrated intervals
    per = []
    for s in series:
        for method in ("model", "calibrated"):
            bt = backtest(s["years"], s["values"], unit=s["unit"], model="auto", min_train=5,
                          horizon=3, interval=method)
            per.append(_frame(bt, series=s["series"],
                              method="textbook" if method == "model" else method))
    allb = pd.concat(per, ignore_index=True)
    print("\nB. Default forecast (model='auto', min_train=5, horizons 1–3)")
    by_series = summarise_backtest(allb, by=["series", "method"])
    wide = by_series.pivot(index="series", columns="method",
                           values=["coverage80", "coverage95"])
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    first = by_series[by_series["method"] == "calibrated"].set_index("series")
    models = allb[allb["method"] == "calibrated"].groupby("series")["model"].agg(
        lambda m: ",".join(sorted(set(m))))
    table = pd.concat([first[["n_forecasts", "mase", "rel_mae"]], models, wide], axis=1)
    print(table.to_string(float_format=lambda v: f"{v:.2f}"))
    pooled = summarise_backtest(allb, by="method").set_index("method")
    print("\nPooled over all series:")
    print(pooled[["n_forecasts", "mase", "rel_mae", "coverage80", "coverage95",
                  "width80"]].to_string(float_format=lambda v: f"{v:.3f}"))
    mean_series = by_series.groupby("method")[["coverage80", "coverage95"]].mean()
    print("Average of per-series coverage:")
    print(mean_series.to_string(float_format=lambda v: f"{v:.3f}"))
    naive_rows = []
    for s in series:
        bt = backtest(s["years"], s["values"], unit=s["unit"], model="naive", min_train=5,
                      horizon=3)
        naive_rows.append(_frame(bt, series=s["series"]))
    nv = summary_line(pd.concat(naive_rows, ignore_index=True))
    print(f"Naive last-value forecast, same origins: MASE {nv['mase']:.3f}")

    # C. honesty of the calibration: leave one series out
    lo = loso(raw)
    print("\nC. Leave-one-series-out coverage of calibrated intervals (fixed models, h 1–6)")
    print(lo.groupby("model")[["in80", "in95", "in80_textbook", "in95_textbook"]]
          .mean().assign(n=lo.groupby("model").size())
          .to_string(float_format=lambda v: f"{v:.3f}"))
    print("all models, by horizon:")
    print(lo.groupby("h")[["in80", "in95", "in80_textbook", "in95_textbook"]].mean()
          .assign(n=lo.groupby("h").size()).to_string(float_format=lambda v: f"{v:.3f}"))
    tot = lo[["in80", "in95", "in80_textbook", "in95_textbook"]].mean()
    print("all models, pooled: " + ", ".join(f"{k} {v:.3f}" for k, v in tot.items())
          + f" (n={len(lo)})")
    print(f"\n({time.time() - t0:.1f} s)")
    return 0


def summary_line(df: pd.DataFrame) -> dict:
    return summarise_backtest(df).iloc[0].to_dict()


if __name__ == "__main__":
    sys.exit(main())
