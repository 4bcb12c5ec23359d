"""A brief in other formats beside its offline HTML (same stem): ``.pdf`` and ``.docx``.

* :func:`~wuwei_analysis.formats.pdf.html_to_pdf` prints the offline HTML with headless
  Chromium (Debian's ``chromium``, installed by ``make system-deps``): the page officials
  see in a browser, on A4, with page numbers.
* :func:`~wuwei_analysis.formats.word.sections_to_docx` writes a Word document from the
  brief's sections (python-docx): A4, Word heading and table styles, page numbers, charts
  as PNG images, a CJK font of this machine.

:data:`FORMATS` lists what ``wuwei briefs --formats`` accepts.
"""
from __future__ import annotations

FORMATS = ("html", "docx", "pdf")

__all__ = ["FORMATS", "parse_formats"]


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``"html,docx,pdf"`` → ("html", "docx", "pdf"); HTML is always made (the PDF is
    printed from it). Raises ValueError (Chinese message) on an unknown format."""
    if not text:
        return FORMATS
    asked = [t.strip().lower().lstrip(".") for t in str(text).split(",") if t.strip()]
    bad = [t for t in asked if t not in FORMATS]
    if bad:
        raise ValueError(f"未知的输出格式 {'、'.join(bad)}，可选 {','.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in asked or f == "html")
