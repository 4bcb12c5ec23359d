"""The PDF text layer says 女, not the Kangxi radical ⼥ Chromium writes for it: the
``/ToUnicode`` maps are corrected in an incremental update any PDF reader follows."""
from __future__ import annotations

import io
import zlib

from wuwei_analysis.formats.pdftext import fix_text_layer, radical_map

#: A one-page PDF whose font's ToUnicode maps code 1 to ⼥ (U+2F25), codes 2–3 by a range
#: to ⼉⼊ (U+2F09–U+2F0A), code 4 to 童, as Chromium writes them.
CMAP = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<00> <FF>
endcodespacerange
2 beginbfchar
<01> <2F25>
<04> <7AE5>
endbfchar
1 beginbfrange
<02> <03> <2F09>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


def _pdf(cmap: bytes = CMAP) -> bytes:
    content = b"BT /F1 12 Tf 10 10 Td <01020304> Tj ET"
    cmap = zlib.compress(cmap)
    objs = [
        b"<</Type /Catalog /Pages 2 0 R>>",
        b"<</Type /Pages /Kids [3 0 R] /Count 1>>",
        b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R "
        b"/Resources <</Font <</F1 5 0 R>>>>>>",
        b"<</Length %d>> stream\n" % len(content) + content + b"\nendstream",
        b"<</Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [1 0 0 1 0 0] "
        b"/CharProcs <<>> /Encoding <</Type /Encoding /Differences [1 /a /b /c /d]>> "
        b"/FirstChar 1 /LastChar 4 /Widths [1 1 1 1] /ToUnicode 6 0 R>>",
        b"<</Filter /FlateDecode\n/Length %d>> stream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d\n/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def _to_unicode(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf), strict=True)
    font = reader.pages[0]["/Resources"]["/Font"]["/F1"].get_object()
    return font["/ToUnicode"].get_object().get_data().decode("latin1")


def test_radicals_in_the_tounicode_map_become_the_ideographs_the_glyphs_draw():
    before = _pdf()
    assert "<2F25>" in _to_unicode(before)
    after = fix_text_layer(before, {0x2F25: 0x5973, 0x2F09: 0x513F, 0x2F0A: 0x5165})
    assert after.startswith(before)                 # an incremental update: printed bytes kept
    cmap = _to_unicode(after)
    assert "<01> <5973>" in cmap                    # 女
    assert "<02> <513F>" in cmap and "<03> <5165>" in cmap   # the range, split: 儿 入
    assert "<04> <7AE5>" in cmap                    # 童 unchanged
    assert "2F" not in cmap.split("endcodespacerange")[1]


def test_a_pdf_without_radicals_is_returned_unchanged():
    plain = _pdf(CMAP.replace(b"<2F25>", b"<5973>").replace(b"<2F09>", b"<513F>"))
    assert fix_text_layer(plain, {0x2F25: 0x5973}) == plain
    assert fix_text_layer(_pdf(), {}) == _pdf()      # no ideograph known: left alone


def test_the_map_comes_from_the_cjk_font_of_this_machine():
    m = radical_map()
    assert m[0x2F25] == 0x5973          # ⼥ → 女 (NFKC agrees)
    assert m[0x2F09] == 0x513F          # ⼉ → 儿
    if 0x2EDA in m:                     # from the font (fontTools + Noto CJK): ⻚ → 页
        assert m[0x2EDA] == 0x9875
