"""``wa.forecast_series``: the engine's one-series case.

The same arguments and the same frame as :func:`wuwei_analysis.models.forecast_series`
(columns year, median, mean, lo80, hi80, lo95, hi95; attrs model, model_zh, params, aarr,
annual_change, p_meet, target_year, threshold, unit, scale, n_points, interval_method),
computed by the vectorised models of :mod:`.vector_models` for a batch of one — so a researcher's
forecast, the assessment's and the brief's chart are one computation. The statsmodels
function stays in :mod:`wuwei_analysis.models` as the reference the engine is tested
against (``tests/test_engine.py``, 1e-8) and for what only it gives: ``interval="model"``
(textbook intervals), and the ``fitted`` table, ``notes`` and ``selection`` scores in its
attrs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..settings import FINAL_YEAR

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["year", "median", "mean", "lo80", "hi80", "lo95", "hi95"]


def forecast_series(years, values, *, unit: str | None = None, target=None, counts=None,
                    exposures=None, horizon_year: int = FINAL_YEAR, model: str = "auto",
                    direction: str | None = None, interval: str = "calibrated",
                    base_value: float | None = None, reference_value: float | None = None
                    ) -> "pd.DataFrame":
    """趋势预测 — trend model and forecast to ``horizon_year`` for one series.

    The engine's one-series case (see the module docstring); arguments and result as
    :func:`wuwei_analysis.models.forecast_series`, whose docstring has the details.

    Args:
        years, values: the observed series (NaN dropped; ``values`` may be None when
            ``counts`` and ``exposures`` are given).
        unit: unit of ``values`` (taken from the indicator when ``target`` is one; another
            unit of the same proportion — 比例, %, ‰, 1/万, 1/10万 — is converted to the
            indicator's, any other refused).
        target: an indicator id / name / Indicator, a Target, or a number (with direction).
        counts, exposures: events and denominators per year (Poisson models).
        horizon_year: the last year forecast (default 2030).
        model: "auto" or "poisson", "loglinear", "logit", "linear", "damped", "naive".
        direction: "up" / "down" (also "increase" / "decrease", "提高" / "下降").
        interval: "calibrated" (default) or "model" (textbook; the statsmodels path).
        base_value: base-year value of a relative_change target missing from the series.
        reference_value: the threshold of a target set by another indicator.

    Returns:
        DataFrame with columns year, median (the point forecast: the median of the
        predictive distribution), mean (the same numbers, its old name), lo80, hi80, lo95,
        hi95. ``attrs``: model, model_zh, params, aarr, annual_change, p_meet,
        target_year, threshold, unit, scale, n_points, interval_method, notes,
        input_unit, inputs (for :func:`wuwei_analysis.summary`).

    Raises:
        SeriesInputError: the series cannot be used as given (see
            :mod:`wuwei_analysis.models.inputs`); a ShortSeriesWarning says why a forecast
            is empty.
    """
    import pandas as pd

    from ..models.forecasting import _prepare, _resolve_target, forecast_series as reference
    from ..models.core import SHARE_NOTE, resolve_spec
    from ..models.fit import MODEL_LABELS_ZH, ForecastError
    from .vector_models import forecast_series_many

    if interval != "calibrated" or (unit is None and target is None):
        # textbook intervals: the statsmodels path only (and its error for a missing unit)
        return reference(years, values, unit=unit, target=target, counts=counts,
                                   exposures=exposures, horizon_year=horizon_year,
                                   model=model, direction=direction, interval=interval,
                                   base_value=base_value, reference_value=reference_value)
    from ..models.inputs import check_series  # refuses unusable input; converts units

    chk = check_series(years, values, unit=unit, target=target, counts=counts,
                       exposures=exposures, direction=direction)
    years, values, counts, exposures, unit, direction = (
        chk.years, chk.values, chk.counts, chk.exposures, chk.unit, chk.direction)
    t, ind, unit, direction = _resolve_target(target, unit, direction)
    if unit is None:
        return reference(years, values, target=target, direction=direction)  # its error
    spec = resolve_spec(unit, has_counts=exposures is not None,
                        target_kind=t.kind if t else None, direction=direction)
    x, y, c, e = _prepare(years, values, counts, exposures, spec.rate_scale)  # checks
    if t is not None and t.kind == "relative_change" and base_value is None \
            and not np.any(x == t.base_year) and ind is not None:
        base_value = ind.baseline(int(t.base_year))
    res = forecast_series_many(
        [x], [y], unit=unit, target=t, counts=None if c is None else [c],
        exposures=None if e is None else [e], horizon_year=horizon_year, model=model,
        direction=direction, base_value=base_value, reference_value=reference_value,
        table=True)
    if res.error[0]:
        raise ForecastError(str(res.error[0]))
    tab = res.table
    df = tab[tab["series"] == 0][COLUMNS].reset_index(drop=True) if tab is not None \
        else pd.DataFrame({c_: pd.Series(dtype="float64") for c_ in COLUMNS})
    df["year"] = df["year"].astype("int64")

    def num(a):
        v = float(a[0])
        return None if np.isnan(v) else v

    name = str(res.model[0])
    params = {k: float(v[0]) for k, v in (res.params or {}).items()
              if np.ndim(v) and np.isfinite(v[0])}
    for k, a in (("aarr", res.aarr), ("annual_change", res.annual_change)):
        if num(a) is not None:
            params[k] = num(a)
    threshold = None
    if t is not None and t.kind in ("at_most", "at_least", "around", "relative_change"):
        b = base_value
        if t.kind == "relative_change" and b is None:
            hit = np.nonzero(x == t.base_year)[0]
            b = float(y[hit[0]]) if len(hit) else None
        threshold = t.threshold(b, reference_value)
    df.attrs.update(
        model=name, model_zh=MODEL_LABELS_ZH.get(name, name), params=params,
        aarr=num(res.aarr), annual_change=num(res.annual_change), p_meet=num(res.p_meet),
        target_year=int(t.year) if t is not None else None, threshold=threshold, unit=unit,
        scale=str(res.scale[0]) if name != "none" else spec.scale.kind, n_points=int(len(x)),
        interval_method="calibrated" if name != "none" else "none",
        notes=list(chk.notes) + ([SHARE_NOTE] if str(res.scale[0]) == "share" else []),
        input_unit=chk.input_unit,
        inputs={"years": x.tolist(), "values": y.tolist(),   # for wa.summary(fc)
                "counts": None if c is None else c.tolist(),
                "exposures": None if e is None else e.tolist()})
    return df
