"""Roll-up rules: how each indicator aggregates from child regions to their parent.

Declared in the catalogue: an entry's ``aggregate:`` field, else the default of
``_meta.yaml`` ``rollup.default`` (``ratio_if_counts``: entries with ``counts`` and a rate,
percent or per-capita unit sum numerators and denominators; every other entry is not
aggregable). Methods:

``ratio``     value = Σ numerator / Σ denominator × the unit's scale (rates, shares).
``sum``       value = Σ value (counts and levels: institutions, places, insured persons).
``weighted``  value = Σ value·w / Σ w, w the row's ``denominator`` (persons an average is
              over) or the value of another indicator (a population) for the same
              region and year.
``none``      not aggregable (qualitative goals, standards such as "每所 ≥ 2 名", medians,
              life expectancy, gaps computed from breakdowns), with a reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

METHOD_ZH = {"ratio": "分子、分母分别加总后相除", "sum": "各地数值相加",
             "weighted": "按人数加权平均", "none": "不汇总"}
from ..indicator_catalog import RATE_KINDS as _RATE_KINDS


@dataclass(frozen=True)
class Rule:
    """How one indicator rolls up."""

    indicator: str
    method: str                     # ratio / sum / weighted / none
    scale: float = 1.0              # ratio: the unit's multiplier (‰ → 1000)
    weight: str | None = None       # weighted: "denominator" or an indicator id
    min_coverage: float = 1.0       # share of children needed (1 = all)
    reason: str = ""                # none: why not
    declared: bool = False          # declared in the catalogue (else the default)
    unit: str = ""

    @property
    def aggregable(self) -> bool:
        return self.method != "none"


def _catalog():
    from .. import indicator_catalog
    return indicator_catalog


def settings() -> dict:
    """The ``rollup`` section of ``_meta.yaml`` (defaults, coverage, tolerances)."""
    meta = _catalog()._meta().get("rollup") or {}
    return {
        "default": meta.get("default", "ratio_if_counts"),
        "min_coverage": float(meta.get("min_coverage", 1.0)),
        "tolerance": {"relative": 0.005, "absolute": 0.5, **(meta.get("tolerance") or {})},
        "value_tolerance": {"relative": 0.02, "absolute": 0.05,
                            **(meta.get("value_tolerance") or {})},
    }


def _default(ind) -> Rule:
    units = _catalog().units()
    kind = units.get(ind.unit, {}).get("kind")
    if ind.counts and kind in _RATE_KINDS and ind.target.kind != "gap":
        return Rule(ind.id, "ratio", scale=float(units[ind.unit].get("scale") or 1.0),
                    unit=ind.unit)
    reason = ("定性目标" if not ind.unit else "差距由分组数据计算" if ind.target.kind == "gap"
              else "目录未声明汇总方法")
    return Rule(ind.id, "none", reason=reason, unit=ind.unit)


def rule_for(ind: Any) -> Rule:
    """The roll-up rule of an indicator (an Indicator, id, name or alias)."""
    cat = _catalog()
    if not hasattr(ind, "id"):
        ind = cat.indicator(str(ind))
    return _rules().get(ind.data_id) or _default(ind)


@lru_cache(maxsize=1)
def _rules() -> dict[str, Rule]:
    cat = _catalog()
    cfg = settings()
    units = cat.units()
    out: dict[str, Rule] = {}
    for ind in cat.indicators():
        if ind.same_as:
            continue
        raw = ind.aggregate
        if raw is None:
            rule = _default(ind)
        else:
            method = raw["method"]
            rule = Rule(ind.id, method,
                        scale=float(units.get(ind.unit, {}).get("scale") or 1.0)
                        if method == "ratio" else 1.0,
                        weight=raw.get("weight"), reason=str(raw.get("reason", "")),
                        declared=True, unit=ind.unit,
                        min_coverage=float(raw.get("min_coverage", cfg["min_coverage"])))
        if not ind.aggregate or "min_coverage" not in ind.aggregate:
            rule = Rule(**{**rule.__dict__, "min_coverage": cfg["min_coverage"]})
        out[ind.id] = rule
    return out


def rules() -> dict[str, Rule]:
    """Every stored indicator id → its Rule."""
    return dict(_rules())


def rules_frame():
    """One row per indicator: id, name_zh, unit, method, 汇总方法, weight, min_coverage,
    declared, reason (``wuwei catalog``-style listing)."""
    import pandas as pd

    cat = _catalog()
    names = {i.id: i.name_zh for i in cat.indicators()}
    return pd.DataFrame([{
        "indicator": r.indicator, "name_zh": names.get(r.indicator, ""), "unit": r.unit,
        "method": r.method, "method_zh": METHOD_ZH[r.method], "weight": r.weight or "",
        "min_coverage": r.min_coverage, "declared": r.declared, "reason": r.reason,
    } for r in _rules().values()])
