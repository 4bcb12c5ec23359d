"""Rolling-origin evaluation: fit up to year t, forecast t+1 … t+h, compare with what came.

Measures (``attrs`` of the result, and :func:`summarise_backtest`)
    mase        mean absolute scaled error: |actual − forecast| divided by the mean absolute
                per-year change of the training data (Hyndman's scale, per origin);
                the naive last-value forecast scores about 1 at one year ahead.
    rel_mae     the model's MASE divided by the MASE of the naive last-value forecast on the
                same (origin, year) pairs: below 1 beats "no change". (Scaled errors, so
                pooling series of different units is fair.)
    coverage80, coverage95
                share of actual values inside the 80 % / 95 % intervals.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .calibrate import predictive, t_infl
from .calibrate import pace as pace_of
from .core import _on_scale, _z_actual, choose_spec, fit_named, resolve_spec
from .fit import MIN_POINTS, ForecastError

if TYPE_CHECKING:
    import pandas as pd

BACKTEST_COLUMNS = ["origin", "year", "h", "actual", "mean", "lo80", "hi80", "lo95", "hi95",
                    "model", "naive", "mase_scale", "z_error", "z_sd_model", "pace_u"]


def backtest(years, values, *, unit: str | None = None, counts=None, exposures=None,
             model: str = "auto", min_train: int = 5, horizon: int = 3,
             interval: str = "calibrated", direction: str | None = None,
             target_kind: str | None = None, target=None) -> "pd.DataFrame":
    """滚动起点回测 — rolling-origin evaluation of a model on one series.

    For every origin with at least ``min_train`` points up to it, the model (re-chosen by
    the auto rule at each origin when ``model="auto"``) is fitted on the data up to the
    origin and forecasts the observed years up to ``horizon`` years later.

    Args:
        years, values: the series (as for ``forecast_series``; ``values`` may be None when
            ``counts`` and ``exposures`` are given).
        unit: the unit of ``values``; taken from the indicator when ``target`` is one (a
            different unit of the same proportion is converted, as in forecast_series).
        target: as in ``forecast_series``: an indicator id / name / Indicator (unit,
            direction and target kind are taken from it) or a Target.
        counts, exposures: events and denominators per year (Poisson models).
        model: "auto" or a model name (see forecast_series).
        min_train: the fewest points a model is fitted on.
        horizon: the most years ahead forecast from each origin.
        interval: "calibrated" (default) or "model".
        direction: "up" / "down" / "target" (or "increase" / "decrease").
        target_kind: the target kind ("around" → linear model) when ``target`` is not given.

    Returns:
        One row per origin × forecast year, columns origin, year, h (years ahead), actual, mean,
        lo80, hi80, lo95, hi95, and model (the model used), naive (the value at the
        origin), mase_scale, z_error / z_sd_model / pace_u (modelling-scale error,
        textbook sd and pace, used to calibrate intervals). ``attrs``: mase, rel_mae,
        coverage80, coverage95, n_forecasts, interval_method. A series too short for
        a single origin gives no rows and a ShortSeriesWarning naming the cause.
    """
    import pandas as pd

    from .forecasting import _prepare, _resolve_target
    from .inputs import check_series  # refuses unusable input; converts units (1/10万 → ‰)

    chk = check_series(years, values, unit=unit, target=target, counts=counts,
                       exposures=exposures, direction=direction)
    years, values, counts, exposures, unit, direction = (
        chk.years, chk.values, chk.counts, chk.exposures, chk.unit, chk.direction)
    if target is not None:
        t, _, unit, direction = _resolve_target(target, unit, direction)
        target_kind = target_kind or (t.kind if t is not None else None)
    if unit is None:
        raise ForecastError("须给出单位 unit（或以指标作为 target）")

    spec = resolve_spec(unit, has_counts=exposures is not None, target_kind=target_kind,
                        direction=direction)
    x, y, c, e = _prepare(years, values, counts, exposures, spec.rate_scale)
    if c is None and spec.primary == "poisson":
        spec = resolve_spec(unit, has_counts=False, target_kind=target_kind,
                            direction=direction)
    za = _z_actual(spec, y, c, e)
    rows = []
    start = max(min_train, MIN_POINTS) - 1
    for o in range(start, len(x) - 1):
        tgt = [j for j in range(o + 1, len(x)) if x[j] - x[o] <= horizon]
        if not tgt:
            continue
        sl = slice(0, o + 1)
        cs = None if c is None else c[sl]
        es = None if e is None else e[sl]
        name, spec_o = model, spec
        if model == "auto":
            spec_o, name, _ = choose_spec(spec, x[sl], y[sl], cs, es)
        try:
            fit = fit_named(spec_o, name, x[sl], y[sl], cs, es)
        except (ForecastError, ValueError, np.linalg.LinAlgError):
            continue
        za_o = za if spec_o is spec else _z_actual(spec_o, y, c, e)   # the fit's own scale
        pred = predictive(fit, x[tgt], method=interval)
        lo80, hi80 = pred.interval(0.8)
        lo95, hi95 = pred.interval(0.95)
        m_tb, s_tb = fit.predict(x[tgt])
        infl = 1.0 if fit.is_count_model else t_infl(fit.df)
        u = pace_of(fit)
        d = np.abs(np.diff(y[sl])) / np.diff(x[sl])
        scale = float(d.mean()) if len(d) else float("nan")
        for i, j in enumerate(tgt):
            rows.append({
                "origin": int(x[o]), "year": int(x[j]), "h": int(x[j] - x[o]),
                "actual": float(y[j]), "mean": float(pred.mean[i]),
                "lo80": float(lo80[i]), "hi80": float(hi80[i]),
                "lo95": float(lo95[i]), "hi95": float(hi95[i]),
                "model": fit.model, "naive": float(y[o]),
                "mase_scale": scale,
                "z_error": float(za_o[j] - _on_scale(fit, m_tb[i:i + 1])[0]),
                "z_sd_model": float(s_tb[i] * np.sqrt(infl)), "pace_u": float(u),
            })
    df = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    if not rows:
        import warnings

        from .inputs import ShortSeriesWarning

        need = max(min_train, MIN_POINTS) + 1
        warnings.warn(f"回测没有产生任何预测：序列有{len(x)}个有效数据点，"
                      f"min_train={min_train} 时至少需要{need}个（且模型能够拟合）",
                      ShortSeriesWarning, stacklevel=2)
    df.attrs.update(summary_dict(df))
    df.attrs["interval_method"] = interval
    return df


def summary_dict(df: "pd.DataFrame") -> dict:
    """mase, rel_mae, coverage80, coverage95, n_forecasts, width80 of backtest rows."""
    if len(df) == 0:
        return {"mase": float("nan"), "rel_mae": float("nan"), "coverage80": float("nan"),
                "coverage95": float("nan"), "n_forecasts": 0, "width80": float("nan")}
    err = (df["actual"] - df["mean"]).abs()
    naive_err = (df["actual"] - df["naive"]).abs()
    sc = df["mase_scale"].where(df["mase_scale"] > 0)
    cov80 = ((df["actual"] >= df["lo80"] - 1e-9) & (df["actual"] <= df["hi80"] + 1e-9)).mean()
    cov95 = ((df["actual"] >= df["lo95"] - 1e-9) & (df["actual"] <= df["hi95"] + 1e-9)).mean()
    ok = sc.notna()
    num, den = (err / sc)[ok].sum(), (naive_err / sc)[ok].sum()
    rel = float(num / den) if den > 0 else float("nan")
    width = ((df["hi80"] - df["lo80"]) / df["actual"].abs().where(df["actual"] != 0)).median()
    return {"mase": float((err / sc).mean()), "rel_mae": rel, "coverage80": float(cov80),
            "coverage95": float(cov95), "n_forecasts": int(len(df)), "width80": float(width)}


def summarise_backtest(df: "pd.DataFrame", by: str | list[str] | None = None
                       ) -> "pd.DataFrame":
    """回测汇总 — summary of backtest rows, overall or per group.

    Args:
        df: rows of :func:`backtest` (several series may be concatenated).
        by: None (one row), a column name (``"h"``, ``"model"``, ``"series"``) or a list.

    Returns:
        DataFrame with columns: the group keys, n_forecasts, mase, rel_mae, coverage80,
        coverage95, width80 (median 80 % interval width relative to the actual value).
    """
    import pandas as pd

    if by is None:
        return pd.DataFrame([summary_dict(df)])
    keys = [by] if isinstance(by, str) else list(by)
    out = []
    for k, g in df.groupby(keys, sort=True):
        k = k if isinstance(k, tuple) else (k,)
        out.append({**dict(zip(keys, k)), **summary_dict(g)})
    cols = keys + ["n_forecasts", "mase", "rel_mae", "coverage80", "coverage95", "width80"]
    return pd.DataFrame(out)[cols]
