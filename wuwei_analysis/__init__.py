"""wuwei_analysis — 武威市妇女儿童发展规划（2021—2030年）监测与预测工作台.

Public API (``wa.__all__``; heavy modules are imported lazily, so ``import wuwei_analysis
as wa`` stays fast)::

    # 指标与地区 catalogue and regions
    wa.catalog(plan=None, domain=None)      # one row per indicator of both plans
    wa.domains()                            # the 15 domains
    wa.indicator("婴儿死亡率")               # an Indicator; .unit, .target.meets(value)
    wa.regions() / wa.region("天祝县")       # 武威市, its four counties, 甘肃省 and 全国
    # 数据 data
    wa.observations(indicator, region, breakdown)   # tidy long table from the database
    wa.open_db(path)                        # the SQLite monitoring database
    # 模型 models
    wa.forecast_series(years, values, unit=, target=)  # trend + forecast to 2030 (the
                                            # engine's one-series case; statsmodels
                                            # reference: wuwei_analysis.models.forecast_series)
    wa.forecast(indicator, region)          # the same, reading the series from the database
    wa.backtest(years, values, unit=, target=)         # rolling-origin evaluation
    wa.summarise_backtest(rows, by=None)
    wa.summary(fc)                          # coefficients, SE, p, CI, AIC, residuals, …
    wa.fit(years, values, unit=, target=)   # the statsmodels results object (.summary())
    wa.trend_significance(fc)               # p-value of "the trend is flat"
    wa.convert_values(values, "1/10万", "‰")
    # 评估 assessment
    wa.assess(region=, year=)               # status and early warnings per indicator
    wa.goal_counts(assessment)              # headline counts over the plans' 主要目标
                                            # (brief, index, app and CLI: one rule)
    # 图表 charts (Altair; shown offline in notebooks: SVG + PNG, no CDN)
    wa.forecast_chart(history, fc, target=) / wa.county_comparison_chart(latest)
    wa.status_overview_chart(assessment) / wa.domain_small_multiples(history, forecasts)
    wa.display_chart(chart)                 # inline SVG that survives papermill / Voila

The same argument means the same thing everywhere: ``target=`` an indicator id / name /
Indicator (or a Target), ``unit=`` a unit of ``data/units.yaml`` (values in another unit of
the same proportion are converted, others refused), ``direction=`` "up" / "down" (also
"increase" / "decrease"). Forecast tables have ``median`` as the point forecast
(``mean`` is the same, kept for old code).

Data flow (one-way imports; see ARCHITECTURE.md): indicator_catalog / geography → store →
database (+ defaults) → models → engine → assessment → charts → briefs / app / CLI; vocab
(labels, numbers, messages) is used by all of them.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Light modules are imported eagerly. No function here shares its name with a submodule
# (tests/test_layering.py checks it).
from .indicator_catalog import Indicator, catalog, domains, indicator, indicators, member_units  # noqa: E402
from .errors import WuweiError  # noqa: E402
from .geography import region, regions  # noqa: E402
from .targets import Target  # noqa: E402

_API = {
    # data
    "observations": "database",
    "open_db": "database",
    # models
    "forecast_series": "engine",
    "forecast": "models",
    "backtest": "models",
    "summarise_backtest": "models",
    "summary": "models.summary",
    "fit": "models.summary",
    "trend_significance": "models.summary",
    "convert_values": "models.inputs",
    # assessment
    "assess": "assessment",
    "goal_counts": "goals",
    "goal_status": "goals",
    # charts (Altair; displayed offline, see display.enable_offline_renderer)
    "forecast_chart": "charts",
    "county_comparison_chart": "charts",
    "status_overview_chart": "charts",
    "domain_small_multiples": "charts",
    "display_chart": "render",
}

__all__ = sorted([*_API, "Indicator", "Target", "WuweiError", "catalog", "domains", "indicator",
                  "indicators", "member_units", "region", "regions"])


def _offline_charts() -> None:
    """In a notebook kernel, Altair charts display offline (SVG + PNG, no CDN script).

    If Altair is loaded, the package's renderer is enabled now
    (:func:`wuwei_analysis.display.enable_offline_renderer`). Otherwise a display hook is
    registered by class name, so Altair is imported only when a chart is first shown: the
    CLI and the Voila app's kernels (which draw SVG themselves) do not pay for Altair.
    """
    import sys

    if "altair" in sys.modules:
        try:
            from .display import enable_offline_renderer

            enable_offline_renderer(force=False)
        except Exception:  # pragma: no cover - charts stay on Altair's own renderer
            pass
        return
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    formatter = getattr(getattr(shell, "display_formatter", None), "mimebundle_formatter", None)
    if formatter is None:
        return
    for module in ("altair.vegalite.v6.api", "altair.vegalite.v5.api"):
        try:
            formatter.for_type_by_name(module, "TopLevelMixin", _display_chart_offline)
        except Exception:  # pragma: no cover
            pass


_OFFLINE_ENABLED = False


def _display_chart_offline(chart: Any) -> Any:
    """First display of an Altair chart: enable the offline renderer, then let Altair's
    renderer registry decide (so a renderer the researcher enables later is honoured)."""
    global _OFFLINE_ENABLED
    if not _OFFLINE_ENABLED:
        _OFFLINE_ENABLED = True
        try:
            from .display import enable_offline_renderer

            enable_offline_renderer(force=False)
        except Exception:  # pragma: no cover
            pass
    return chart._repr_mimebundle_()


_offline_charts()


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'wuwei_analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # tab completion offers the public API (not ``annotations``, ``Any``, ``importlib``)
    return [*__all__, "__version__"]
