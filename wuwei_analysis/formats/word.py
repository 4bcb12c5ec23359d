"""The brief as a Word document (.docx, python-docx), for offices that edit and file reports
in Word.

Input: the brief's sections as HTML (``report.sections``; in a batch, the text/html
outputs of the executed notebook — the same content as the HTML page). The small set of
elements the sections use maps to Word's own styles: ``h1`` → Title, ``h2`` → Heading 1,
``h3`` → Heading 2, tables → "Table Grid" with a repeated bold header row, lists → List
Bullet / List Number, figure captions → Caption, charts (inline SVG) → PNG images. A4 with
2 cm margins, page numbers in the footer, a table of contents field (Word fills it in when
the document is opened), the leaders' summary on its own page, the chart appendix from a
new page. The CJK font is the first of :data:`~.images.CJK_FONTS` installed here (Word substitutes
its own CJK font where it is missing).
"""
from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

from .images import cjk_font, svg_to_png

#: The appendix's charts per row and their width (cm): three across an A4 page with 2 cm
#: margins, as the PDF prints them (the appendix stays ≈4 pages, not 7).
GRID_COLUMNS = 3
CHART_WIDTH_CM = 5.2
#: Width of a chart shown alone (cm): the text width.
FIGURE_WIDTH_CM = 16.6


# ------------------------------------------------------------------ document set-up
def _new_document():
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(sec, side, Cm(2.0))
    font = cjk_font()
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Caption",
                 "List Bullet", "List Number", "Table Grid"):
        try:
            st = doc.styles[name]
        except KeyError:
            continue
        st.font.name = font
        rpr = st.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attr), font)
    doc.styles["Normal"].font.size = Pt(10.5)
    # single line spacing and 4 pt after a paragraph (not Word's 1.15 and 10 pt), smaller
    # gaps before headings, narrow cell margins: a county brief stays ≤ 15 A4 pages
    normal = doc.styles["Normal"].paragraph_format
    normal.line_spacing, normal.space_after = 1.0, Pt(4)
    doc.styles["Heading 1"].paragraph_format.space_before = Pt(12)
    doc.styles["Heading 2"].paragraph_format.space_before = Pt(8)
    _cell_margins(doc.styles["Table Grid"], Cm(0.08))
    from docx.enum.style import WD_STYLE_TYPE

    for name, base, size in ((TABLE_TEXT, "Normal", 8), (TABLE_NOTE, "Normal", 6.5),
                             (GRID_CAPTION, "Caption", 8)):
        st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.base_style = doc.styles[base]
        st.font.size = Pt(size)
        st.paragraph_format.space_after = Pt(0)
    _page_numbers(sec)
    _update_fields_on_open(doc)
    return doc


def _cell_margins(table_style, margin) -> None:
    """Left and right cell margins of a table style."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tblpr = table_style.element.find(qn("w:tblPr"))
    if tblpr is None:
        return
    mar = tblpr.find(qn("w:tblCellMar"))
    if mar is None:
        mar = OxmlElement("w:tblCellMar")
        tblpr.append(mar)
    for side in ("left", "right"):
        el = mar.find(qn(f"w:{side}"))
        if el is None:
            el = OxmlElement(f"w:{side}")
            mar.append(el)
        el.set(qn("w:w"), str(int(margin.twips if hasattr(margin, "twips") else margin / 635)))
        el.set(qn("w:type"), "dxa")


def _field(paragraph, code: str, placeholder: str = "") -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def el(tag, **attrs):
        e = OxmlElement(tag)
        for k, v in attrs.items():
            e.set(qn(k), v)
        return e

    run = paragraph.add_run()
    run._r.append(el("w:fldChar", **{"w:fldCharType": "begin"}))
    instr = el("w:instrText", **{"xml:space": "preserve"})
    instr.text = f" {code} "
    run._r.append(instr)
    run._r.append(el("w:fldChar", **{"w:fldCharType": "separate"}))
    t = el("w:t")
    t.text = placeholder
    run._r.append(t)
    run._r.append(el("w:fldChar", **{"w:fldCharType": "end"}))


def _page_numbers(section) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run("第 ")
    _field(p, "PAGE", "1")
    p.add_run(" 页 / 共 ")
    _field(p, "NUMPAGES", "1")
    p.add_run(" 页")


def _update_fields_on_open(doc) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    upd = OxmlElement("w:updateFields")
    upd.set(qn("w:val"), "true")
    doc.settings.element.append(upd)


# ------------------------------------------------------------------ HTML → Word
_SKIP_CLASSES = {"back"}
_BLOCKS = {"p", "h1", "h2", "h3", "table", "ul", "ol", "figure", "section", "div", "nav"}


def _classes(el) -> set[str]:
    return set((el.get("class") or "").split())


def _text(el) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def _color(el) -> str | None:
    """A status badge's colour (its background; Word shows it as the text colour)."""
    m = re.search(r"background\s*:\s*(#[0-9a-fA-F]{6})", el.get("style") or "")
    return m.group(1)[1:].upper() if m else None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _run(paragraph, text: str = "", bold: bool = False, color: str | None = None,
         brk: bool = False) -> None:
    """Append one run (``<w:r>``) to ``paragraph``, built directly in its XML: what
    python-docx's add_run / bold / colour do, without their per-element look-ups (a
    brief has ≈2000 runs)."""
    from lxml import etree

    r = etree.SubElement(paragraph._p, _W + "r")
    if bold or color:
        rpr = etree.SubElement(r, _W + "rPr")
        if bold:
            etree.SubElement(rpr, _W + "b")
        if color:
            etree.SubElement(rpr, _W + "color").set(_W + "val", color)
    if brk:
        etree.SubElement(r, _W + "br")
    if text:
        t = etree.SubElement(r, _W + "t")
        t.text = text
        if text != text.strip():
            t.set(_XML_SPACE, "preserve")


def _runs(paragraph, el, bold: bool = False) -> None:
    """Inline content of ``el`` as runs (bold for b/strong/th, colour for status badges)."""
    if el.text:
        _run(paragraph, re.sub(r"\s+", " ", el.text), bold)
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "br":
            _run(paragraph, brk=True)
        elif tag in ("svg",):
            pass
        elif "badge" in _classes(child):
            _run(paragraph, _text(child), True, _color(child))
        else:
            _runs(paragraph, child, bold=bold or tag in ("b", "strong", "th"))
        if child.tail:
            _run(paragraph, re.sub(r"\s+", " ", child.tail), bold)


#: Paragraph style of table text (8 pt; one style, not a size on every run), and of the
#: status table's notes column (6.5 pt, as printed).
TABLE_TEXT = "Table Text"
TABLE_NOTE = "Table Note"


def _table(doc, el) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rows = el.xpath(".//tr")
    if not rows:
        return
    ncols = max(sum(int(c.get("colspan") or 1) for c in r.xpath("./th|./td")) for r in rows)
    t = doc.add_table(rows=0, cols=ncols)
    t.style = doc.styles["Table Grid"]
    style = doc.styles[TABLE_TEXT].style_id
    note = doc.styles[TABLE_NOTE].style_id
    for i, tr in enumerate(rows):
        cells = tr.xpath("./th|./td")
        row = t.add_row()
        header = bool(tr.xpath("ancestor::thead")) or (i == 0 and all(c.tag == "th" for c in cells))
        if header:
            trpr = row._tr.get_or_add_trPr()
            h = OxmlElement("w:tblHeader")
            h.set(qn("w:val"), "true")
            trpr.append(h)
        row_cells = row.cells     # python-docx walks the row's XML for every .cells
        j = 0
        for c in cells:
            span = int(c.get("colspan") or 1)
            cell = row_cells[j]
            if span > 1:
                cell = cell.merge(row_cells[min(j + span, ncols) - 1])
            p = cell.paragraphs[0]
            # the style id directly (Paragraph.style looks it up each time)
            p._p.style = note if "note" in _classes(c) else style
            _runs(p, c, bold=header or c.tag == "th")
            j += span


def _svg_markup(svg_el) -> str:
    from lxml import etree

    markup = etree.tostring(svg_el, encoding="unicode", method="xml")
    if "xmlns=" not in markup[:200]:
        markup = markup.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    return markup


#: Caption style of the appendix's chart grid (Caption at 8 pt).
GRID_CAPTION = "Chart Caption"

#: PNGs of the document's charts, drawn in one batch before the document is built.
_PNGS: dict[str, bytes] = {}


def _figure(doc, el) -> None:
    from docx.shared import Cm

    cap = el.find(".//figcaption")
    svg = el.xpath(".//*[local-name()='svg']")
    if svg:
        markup = _svg_markup(svg[0])
        try:
            png = _PNGS.get(markup) or svg_to_png(markup)
            doc.add_picture(io.BytesIO(png), width=Cm(FIGURE_WIDTH_CM))
        except Exception:  # noqa: BLE001 — a chart that cannot be drawn is named, not fatal
            doc.add_paragraph("（图表无法转换为图片，请查看 HTML 或 PDF 版）")
    if cap is not None:
        p = doc.add_paragraph(style="Caption")
        _runs(p, cap)


def _chart_grid(doc, el) -> None:
    """The appendix's charts three to a row (a borderless table), each with its caption."""
    from docx.shared import Cm

    figures = el.xpath("./figure")
    n = GRID_COLUMNS
    table = doc.add_table(rows=0, cols=n)
    for i in range(0, len(figures), n):
        row = table.add_row()
        for cell, fig in zip(row.cells, figures[i:i + n]):
            cap = fig.find(".//figcaption")
            p = cell.paragraphs[0]
            p.style = doc.styles[GRID_CAPTION]
            if cap is not None:
                _runs(p, cap)
            svg = fig.xpath(".//*[local-name()='svg']")
            if svg:
                markup = _svg_markup(svg[0])
                try:
                    png = _PNGS.get(markup) or svg_to_png(markup)
                    cell.add_paragraph().add_run().add_picture(io.BytesIO(png),
                                                               width=Cm(CHART_WIDTH_CM))
                except Exception:  # noqa: BLE001 — named, not fatal
                    cell.add_paragraph("（图表无法转换为图片，请查看 HTML 或 PDF 版）")


#: Documents whose table of contents waits for the end of the leaders' summary.
_PENDING_TOC: set[int] = set()


def _toc(doc) -> None:
    p = doc.add_paragraph()
    p.add_run("目录").bold = True
    _field(doc.add_paragraph(), 'TOC \\o "1-2" \\h \\z \\u', "（打开文档时更新目录；或右键→更新域）")


def _block(doc, el) -> None:
    from docx.enum.text import WD_BREAK
    from docx.shared import RGBColor

    tag = el.tag if isinstance(el.tag, str) else ""
    cls = _classes(el)
    if not tag or tag in ("style", "script") or cls & _SKIP_CLASSES:
        return
    if tag == "nav":   # after the leaders' summary (page 1 is the summary, as printed)
        _PENDING_TOC.add(id(doc))
        return
    if tag == "h1":
        doc.add_heading(_text(el), level=0)
    elif tag == "h2":
        if "appendix" in _classes(el.getparent()) or el.get("id") == "appendix":
            pass
        doc.add_heading(_text(el), level=1)
    elif tag == "h3":
        doc.add_heading(_text(el), level=2)
    elif tag == "p":
        p = doc.add_paragraph()
        _runs(p, el)
        if "notice" in cls:
            for r in p.runs:
                r.bold = True
                r.font.color.rgb = RGBColor(0x7D, 0x4E, 0x00)
    elif tag in ("ul", "ol"):
        style = "List Bullet" if tag == "ul" else "List Number"
        for li in el.findall("li"):
            _runs(doc.add_paragraph(style=style), li)
    elif tag == "table":
        _table(doc, el)
    elif tag == "figure":
        _figure(doc, el)
    elif tag == "div" and "warned" in cls:
        _chart_grid(doc, el)
    elif tag in ("section", "div"):
        if "appendix" in cls:   # the chart appendix from a new page
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        if el.text and el.text.strip():
            doc.add_paragraph(el.text.strip())
        for child in el:
            _block(doc, child)
        if "summary" in cls:   # page 1: title, notice and the leaders' summary; then
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)   # the contents
            if id(doc) in _PENDING_TOC:
                _PENDING_TOC.discard(id(doc))
                _toc(doc)
    else:
        text = _text(el)
        if text:
            doc.add_paragraph(text)


def sections_to_docx(sections: Iterable[str], docx_path: str | os.PathLike,
                     title: str = "") -> Path:
    """Write the brief's HTML ``sections`` as a .docx at ``docx_path`` (atomically)."""
    import lxml.html

    from .images import svgs_to_pngs

    doc = _new_document()
    if title:
        doc.core_properties.title = title
    roots = []
    for html in sections:
        html = re.sub(r"<style\b.*?</style>", "", html, flags=re.S)
        if html.strip():
            roots.append(lxml.html.fragment_fromstring(html, create_parent="div"))
    charts = [_svg_markup(svg) for root in roots
              for svg in root.xpath(".//figure//*[local-name()='svg']")]
    _PNGS.clear()
    _PNGS.update(zip(charts, svgs_to_pngs(charts)))
    try:
        for root in roots:
            if root.text and root.text.strip():
                doc.add_paragraph(root.text.strip())
            for child in root:
                _block(doc, child)
    finally:
        _PNGS.clear()
        if id(doc) in _PENDING_TOC:   # no summary: the contents go after everything else
            _PENDING_TOC.discard(id(doc))
            _toc(doc)
    out = Path(docx_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        doc.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def notebook_sections(ipynb_path: str | os.PathLike) -> list[str]:
    """The text/html outputs of an executed brief notebook, in order (its sections)."""
    import nbformat

    nb = nbformat.read(str(ipynb_path), as_version=4)
    out = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for o in cell.get("outputs", []):
            html = (o.get("data") or {}).get("text/html")
            if html:
                out.append(html if isinstance(html, str) else "".join(html))
    return out


def notebook_to_docx(ipynb_path: str | os.PathLike, docx_path: str | os.PathLike,
                     title: str = "") -> Path:
    """The executed brief notebook as Word (see :func:`sections_to_docx`)."""
    return sections_to_docx(notebook_sections(ipynb_path), docx_path, title=title)
