"""wuwei_analysis — 武威市妇女儿童发展规划（2021—2030年）监测与预测工作台.

Public API (imported lazily, so ``import wuwei_analysis as wa`` stays fast)::

    wa.catalog()                 # one row per indicator of both plans
    wa.indicator("婴儿死亡率")    # an Indicator; .target.meets(value)
    wa.regions()                 # 武威市, its four counties, 甘肃省 and 全国
    wa.observations(...)         # tidy observations from the monitoring database
    wa.forecast_series(...)      # trend model + forecast to 2030 for any series (the
                                 # engine's one-series case; statsmodels reference:
                                 # wuwei_analysis.models.forecast_series)
    wa.forecast(id, region)      # the same, reading the series from the database
    wa.backtest(...)             # rolling-origin evaluation of a model
    wa.assess(region=..., year=...)  # status and early warnings, one row per indicator
    wa.goal_counts(assessment)   # headline counts over the plans' 主要目标 (brief, index, app, CLI)

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
    "observations": "database",
    "open_db": "database",
    "forecast_series": "engine",
    "forecast": "models",
    "backtest": "models",
    "assess": "assessment",
    "goal_counts": "goals",
    "goal_status": "goals",
}

__all__ = sorted([*_API, "Indicator", "Target", "WuweiError", "catalog", "domains", "indicator",
                  "indicators", "member_units", "region", "regions"])


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'wuwei_analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
