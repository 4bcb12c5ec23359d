"""Trend models and forecasts to 2030 with honest intervals (layer: models).

Public API::

    forecast_series(years, values, *, unit, target=None, counts=None, exposures=None,
                    horizon_year=2030, model="auto", direction=None)  -> DataFrame
    forecast(indicator, region, *, db=None, breakdown=None, horizon_year=2030,
             model="auto")                                               -> DataFrame
    backtest(years, values, *, unit, counts=None, exposures=None, model="auto",
             min_train=5, horizon=3)                                     -> DataFrame
    summarise_backtest(backtest_rows, by=None)                           -> DataFrame

Submodules: ``fit`` (the models), ``core`` (which model: family and the auto rule),
``calibrate`` (honest intervals), ``backtest`` (rolling origin), ``series`` (observations →
one annual series), ``forecast`` (the two forecast functions).

Imports: models may use catalog, targets, regions, settings and (lazily) store — never
assess, charts or app.
"""
from __future__ import annotations

from .rolling_origin import backtest, summarise_backtest
from .calibrate import CALIBRATION
from .core import choose_model, resolve_spec
from .fit import MODEL_LABELS_ZH, ForecastError
from .forecasting import FORECAST_COLUMNS, direction_confidence, forecast, forecast_series

__all__ = [
    "CALIBRATION", "FORECAST_COLUMNS", "MODEL_LABELS_ZH", "ForecastError", "backtest",
    "choose_model", "direction_confidence", "forecast", "forecast_series", "resolve_spec",
    "summarise_backtest",
]
