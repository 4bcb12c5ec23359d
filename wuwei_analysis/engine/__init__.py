"""The vectorised model engine: many series at once, the same results as one at a time.

Layer: engine — above models; the one implementation of the assessment (status rules in
:mod:`.rules`, warnings and the progress rule in :mod:`.table_assessment`, sentences from
:mod:`wuwei_analysis.vocab.messages`). ``assessment`` (``wa.assess``) is its one-region
facade above it; the engine never imports ``assessment``.

Public API::

    assess_many(obs, regions=None, year=None, *, kind="annual", indicators=None,
                breakdowns=False, texts=True, engine="auto")            -> DataFrame
        every region × indicator (× breakdown) of a long table: rules.ASSESS_COLUMNS +
        region_code, sex, urban_rural, age_group
    assess_all(obs, ..., executor="local"|"dask", address=None, workers=2, chunks=None,
               client=None)                                               -> DataFrame
        assess_many with the regions split into chunks run by executors.map_tasks
        (local processes or a Dask cluster); ``wuwei assess --all`` calls it
    forecast_many(obs, *, horizon_year=2030, table=True, engine="vectorized")
                                                     -> (summary, forecast table)
        forecast_series for every series of a long table
    forecast_series(years, values, *, unit, target, ...)                 -> DataFrame
        ``wa.forecast_series``: the one-series case (models.forecast_series's arguments
        and frame; statsmodels stays the reference and gives ``interval="model"``)
    batch.forecast_series_many(years, values, *, unit, target, counts, exposures, ...)
        forecast_series for lists of series (same arguments, one per series)

How it works (:mod:`.vector_models`): series are padded arrays; log-linear / logit / linear trends
are closed-form least squares, the Poisson / quasi-Poisson GLM is statsmodels' IRLS run for
all series together, naive is arithmetic, the ARIMA(1,1,0)+drift local trend is closed-form
conditional least squares (:func:`.vector_models.fit_arima`); the AUTO RULE of ``models.core``
(rolling-origin comparison of the primary model, ``naive`` and ``arima``) is run for all
series at once, one pass per training length. The one model not vectorised — ``damped``,
only on request — sends its series to ``forecast_series`` unchanged, so every series gets
the per-series result. Intervals and p_meet use the calibration constants read from ``models.calibrate``
at call time and, for count models, the same deterministic count distribution
(``models.count_dist``) as the per-series path. ``engine="auto"`` uses the per-series path
below ``table_assessment.AUTO_MIN_SERIES`` (50) series, where it is faster.
"""
from .table_assessment import AUTO_MIN_SERIES, assess_all, assess_many, partition
from .vector_models import forecast_series_many
from .forecast_one import forecast_series
from .table_forecasts import forecast_many

__all__ = ["AUTO_MIN_SERIES", "assess_all", "assess_many", "forecast_many",
           "forecast_series", "forecast_series_many", "partition"]
