"""Plain-text tables that line up Chinese (full-width) and Latin text in a terminal."""
from __future__ import annotations

import unicodedata
from typing import Iterable, Sequence


def display_width(text: str) -> int:
    """Terminal columns ``text`` occupies: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text + " " * (width - display_width(text))
    out, used = "", 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out + "…" + " " * (width - used - 1)


def format_table(rows: Iterable[Sequence[object]], headers: Sequence[str],
                 max_widths: Sequence[int] | None = None) -> str:
    """Format rows as an aligned text table; cells longer than ``max_widths`` are cut with …."""
    cells = [[("" if c is None else str(c)) for c in r] for r in rows]
    widths = [display_width(h) for h in headers]
    for r in cells:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], display_width(c))
    if max_widths:
        widths = [min(w, m) if m else w for w, m in zip(widths, max_widths)]
    line = lambda r: "  ".join(_fit(c, w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    sep = "  ".join("─" * w for w in widths)
    return "\n".join([line(list(headers)), sep, *(line(r) for r in cells)])
