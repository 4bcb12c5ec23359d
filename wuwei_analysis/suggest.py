"""Closest names for a filter that matched nothing ("did you mean …?").

Imports nothing of the project, so any layer (catalog, store, models) may use it.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest_names", "did_you_mean"]


def closest_names(name: object, candidates: Iterable[object], n: int = 3) -> list[str]:
    """The ``n`` candidates most like ``name`` (difflib ratio; substrings first).

    Chinese names are compared character by character, so "儿童健康" finds "儿童与健康".
    """
    text = str(name).strip()
    pool = list(dict.fromkeys(str(c) for c in candidates if c is not None and str(c).strip()))
    if not text or not pool:
        return []
    contains = [c for c in pool if text in c or c in text]
    scored = sorted(pool, key=lambda c: -difflib.SequenceMatcher(None, text, c).ratio())
    close = [c for c in scored if difflib.SequenceMatcher(None, text, c).ratio() >= 0.4]
    return list(dict.fromkeys(contains + close))[:n]


def did_you_mean(name: object, candidates: Iterable[object], n: int = 3) -> str:
    """A Chinese hint "，是否要找：A、B？" (or "" when nothing is close)."""
    hits = closest_names(name, candidates, n)
    return f"，是否要找：{'、'.join(hits)}？" if hits else ""
