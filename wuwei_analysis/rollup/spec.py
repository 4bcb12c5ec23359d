"""The ``aggregate:`` field of a catalogue entry: its methods and its check.

Below the catalogue (imports nothing of the project), so the catalogue loader can check an
entry's ``aggregate`` while :mod:`.aggregation` (which reads the catalogue) builds the rules.
"""
from __future__ import annotations

from typing import Any, Mapping

METHODS = ("ratio", "sum", "weighted", "none")
METHOD_ZH = {"ratio": "分子、分母分别加总后相除", "sum": "各地数值相加",
             "weighted": "按人数加权平均", "none": "不汇总"}
_RATE_KINDS = ("rate", "percent", "per_capita")
_KEYS = {"method", "weight", "min_coverage", "reason", "note"}


def rule_error(raw: Any, unit: str, unit_kind: str | None) -> str | None:
    """Why a declared ``aggregate`` value is invalid (Chinese), or None when it is fine
    (``unit_kind``: the unit's kind in ``units.yaml``)."""
    if not isinstance(raw, Mapping):
        return "应为字典，如 {method: ratio}"
    unknown = set(raw) - _KEYS
    if unknown:
        return f"未知字段 {sorted(unknown)}"
    method = raw.get("method")
    if method not in METHODS:
        return f"method 应为 {'、'.join(METHODS)} 之一，而不是 {method!r}"
    cov = raw.get("min_coverage")
    if cov is not None and not (isinstance(cov, (int, float)) and 0 < float(cov) <= 1):
        return "min_coverage 应为 0 到 1 之间的比例（1 = 全部下级地区）"
    if method == "ratio":
        if unit_kind not in _RATE_KINDS:
            return f"单位“{unit}”不是率或比例，不能用 ratio"
    if method == "weighted" and not raw.get("weight"):
        return "weighted 需要 weight：denominator 或加权人口指标的编号"
    if method == "none" and not raw.get("reason"):
        return "method: none 需要说明 reason"
    return None
