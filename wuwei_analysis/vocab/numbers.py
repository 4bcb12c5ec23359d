"""How numbers print, once for every page: "51.0/10万", "5.1‰", "96.2%", "2所".

Decimals come from ``data/units.yaml`` (one number per unit); count-like units print as
whole numbers; changes of a percentage are 个百分点 (‰: 个千分点, 1/10万: 个十万分点).
Missing values print as "—". Nothing here knows about indicators or regions.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

#: Unit kinds whose values are whole quantities (institutions, persons, hours are not).
WHOLE_UNITS = frozenset({"人", "个", "所", "元", "元/人·月", "人/所"})

#: How a change of a value in this unit is named when it is not a plain unit suffix.
CHANGE_WORDS = {"%": "个百分点", "‰": "个千分点", "1/万": "个万分点", "1/10万": "个十万分点"}

MISSING = "—"


@lru_cache(maxsize=256)
def unit_decimals(unit: str) -> int:
    """Decimals shown for ``unit`` (``units.yaml``; whole units 0; unknown units 2)."""
    if unit in WHOLE_UNITS:
        return 0
    from ..indicator_catalog import units

    try:
        return int(units().get(unit, {}).get("decimals", 2))
    except (TypeError, ValueError):
        return 2


def unit_suffix(unit: str) -> str:
    """How a unit follows a number: "1/10万" → "/10万" (16.0/10万), others unchanged."""
    return unit[1:] if unit.startswith("1/") else unit


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def format_number(v: float, decimals: int) -> str:
    """``v`` with ``decimals`` decimals, floating-point noise removed first.

    The value is rounded to 12 significant digits before it is rounded for display, and a
    zero never shows a minus sign: 7.850000000000004 and 7.85 print alike; −1e-17 as 0.00.
    Missing or non-finite values print as "—".
    """
    f = _finite(v)
    if f is None:
        return MISSING
    s = f"{float(f'{f:.12g}'):.{max(int(decimals), 0)}f}"
    if s.startswith("-") and float(s) == 0.0:
        s = s[1:]
    return s


def format_value(v: Any, unit: str = "", *, extra: int = 0, with_unit: bool = True) -> str:
    """One value with its unit: ``format_value(51.0, "1/10万")`` → "51.0/10万".

    ``extra`` adds decimals (e.g. for a slope); whole units never get decimals. Missing,
    None or non-finite values print as "—".
    """
    f = _finite(v)
    if f is None:
        return MISSING
    d = unit_decimals(unit) + (0 if unit in WHOLE_UNITS else extra)
    return format_number(f, d) + (unit_suffix(unit) if with_unit else "")


def format_range(lo: Any, hi: Any, unit: str = "", *, extra: int = 0) -> str:
    """An interval: "4.1–5.3‰"; one value when both ends print alike ("2人/所")."""
    a, b = format_value(lo, unit, extra=extra, with_unit=False), \
        format_value(hi, unit, extra=extra, with_unit=False)
    if MISSING in (a, b):
        return MISSING
    return (a if a == b else f"{a}–{b}") + unit_suffix(unit)


def change_unit(unit: str) -> str:
    """What a difference of two values in ``unit`` is called: "%" → "个百分点"."""
    return CHANGE_WORDS.get(unit, unit_suffix(unit))


def format_change(delta: Any, unit: str = "", *, signed: bool = True, extra: int = 0) -> str:
    """A difference of two values: "+0.3个千分点", "−1.2个百分点", "+2所".

    With ``signed=False`` the magnitude only (for "比上年下降0.3个千分点").
    """
    f = _finite(delta)
    if f is None:
        return MISSING
    body = format_value(abs(f) if not signed else f, unit, extra=extra, with_unit=False)
    if signed and not body.startswith("-") and float(body) != 0.0:
        body = "+" + body
    return body + change_unit(unit)


def format_relative(r: Any, *, signed: bool = True, decimals: int = 1) -> str:
    """A relative change as a percentage: 0.027 → "+2.7%" (not percentage points)."""
    f = _finite(r)
    if f is None:
        return MISSING
    body = format_number(f * 100, decimals)
    if signed and not body.startswith("-") and float(body) != 0.0:
        body = "+" + body
    return body + "%"


def format_prob(p: Any) -> str:
    """A probability as officials read it: "85%", "99%以上", "不足1%", "—"."""
    f = _finite(p)
    if f is None:
        return MISSING
    if f > 0.99:
        return "99%以上"
    if f < 0.01:
        return "不足1%"
    return f"{format_number(f * 100, 0)}%"


def round_for_unit(v: Any, unit: str = "") -> float | None:
    """The value as it prints, as a number (for downloads): 4.360624739904448 → 4.36."""
    f = _finite(v)
    if f is None:
        return None
    return round(float(f"{f:.12g}"), unit_decimals(unit))
