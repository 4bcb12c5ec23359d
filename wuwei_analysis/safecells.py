"""Spreadsheet-safe text: no cell we write can become a formula (CSV / Excel injection).

A note or source typed by a clerk such as ``=HYPERLINK("http://…")`` or ``@SUM(1+1)*cmd|…``
must never come back as a live formula in an export, a rejection report or a template.
OWASP's rule: text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a leading single quote, which spreadsheet programs show as plain text. Numbers are
numbers (``-3.5`` stays a number, also when it arrives as text: a plain numeric literal
cannot run anything); only other text is escaped. :func:`unescape` undoes it on import,
so an exported file imports back unchanged.

Imports nothing else of the project (the store and the importer both use it).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: First characters that make a spreadsheet treat a cell as a formula (OWASP).
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def is_dangerous(value: Any) -> bool:
    """True for text a spreadsheet could run as a formula (not for plain numbers)."""
    return (isinstance(value, str) and value.startswith(DANGEROUS_FIRST)
            and not _NUMBER.match(value))


def neutralise(value: Any) -> Any:
    """The value as it may be written to a cell: dangerous text gets a leading quote."""
    return "'" + value if is_dangerous(value) else value


def unescape(value: Any) -> Any:
    """Undo :func:`neutralise` on text read from a file ("'=A1" → "=A1")."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" \
            and is_dangerous(value[1:]):
        return value[1:]
    return value


def neutralise_frame(df: "pd.DataFrame") -> "pd.DataFrame":
    """A copy of ``df`` whose text cells (and column names) are safe to write."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith(("string", "str")):
            s = out[col]
            mask = s.map(is_dangerous).astype(bool)
            if mask.any():
                out[col] = s.astype(object).where(~mask, "'" + s[mask].astype(str))
    out.columns = [neutralise(c) for c in out.columns]
    return out


__all__ = ["DANGEROUS_FIRST", "is_dangerous", "neutralise", "unescape", "neutralise_frame"]
