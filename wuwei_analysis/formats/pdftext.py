"""The PDF's text layer with ordinary Chinese characters, not radicals.

Why: CJK fonts such as Noto Sans CJK map a Kangxi radical and the ideograph it looks like to
the same glyph (U+2F25 ⼥ and U+5973 女 → one glyph; U+2EDA ⻚ and U+9875 页 likewise).
Chromium's PDF writer (Skia) builds each font's ``/ToUnicode`` map glyph → character by
walking the font's cmap in code-point order and keeping the *first* character of each
glyph: the radical (U+2E80–U+2FDF) comes before the ideograph (U+4E00…), so the text layer
says ⼥ where the page shows 女. Copy-paste, search and text extraction (pypdf, most
indexers) then fail; only readers that honour the ``/ActualText`` spans Skia also writes
(poppler, Acrobat) see 女. No font choice avoids it (every CJK font on a Debian machine
maps the radicals this way) and Chromium has no switch for it.

Fix: after printing, every ``/ToUnicode`` CMap that maps a code to a radical is rewritten to
map it to the ideograph the same glyph stands for in the CJK font the page uses (read from
the font's cmap with fontTools; without it, the radical's Unicode compatibility
decomposition, NFKC). The new CMaps are appended as an incremental update (the printed
bytes are kept as they are; ≈20 ms per brief). The briefs never contain radicals as such,
so nothing true is lost.
"""
from __future__ import annotations

import re
import subprocess
import unicodedata
import zlib
from functools import lru_cache

#: Kangxi radicals and the CJK radicals supplement.
RADICALS = (0x2E80, 0x2FDF)
#: Ideograph blocks preferred as the radical's stand-in (unified, extension A, B–, compat).
_IDEOGRAPHS = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x3FFFF), (0xF900, 0xFAFF))
#: The CJK face Chromium draws the briefs with (first of the page's font chain).
FONT_FAMILY = "Noto Sans CJK SC"

_TOUNICODE = re.compile(rb"/ToUnicode (\d+) 0 R")
_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")


def _is_radical(cp: int) -> bool:
    return RADICALS[0] <= cp <= RADICALS[1]


@lru_cache(maxsize=4)
def radical_map(family: str = FONT_FAMILY) -> dict[int, int]:
    """``{radical code point: ideograph code point}`` for the glyphs ``family`` shares
    between them (NFKC for the Kangxi radicals where the font cannot be read)."""
    out = {}
    for cp in range(RADICALS[0], RADICALS[1] + 1):
        n = unicodedata.normalize("NFKC", chr(cp))
        if len(n) == 1 and n != chr(cp):
            out[cp] = ord(n)
    try:
        from fontTools.ttLib import TTCollection, TTFont

        spec = subprocess.run(["fc-match", "-f", "%{file}:%{index}", family],
                              capture_output=True, text=True, timeout=10).stdout
        path, _, index = spec.rpartition(":")
        if path.lower().endswith((".ttc", ".otc")):
            font = TTCollection(path, lazy=True).fonts[int(index or 0)]
        else:
            font = TTFont(path, lazy=True)
        cmap = font.getBestCmap()
    except Exception:  # noqa: BLE001 — no fontTools / fontconfig / font: NFKC only
        return out
    by_glyph: dict[str, list[int]] = {}
    for cp, glyph in sorted(cmap.items()):
        by_glyph.setdefault(glyph, []).append(cp)
    for cp, glyph in cmap.items():
        if not _is_radical(cp):
            continue
        same = [o for lo, hi in _IDEOGRAPHS for o in by_glyph[glyph] if lo <= o <= hi]
        if same:
            out[cp] = same[0]
    return out


def _utf16(cp: int) -> bytes:
    return chr(cp).encode("utf-16-be").hex().upper().encode()


def _fix_cmap(cmap: bytes, mapping: dict[int, int]) -> bytes | None:
    """The CMap with radical targets replaced (None when it has none)."""
    pairs: list[tuple[bytes, str]] = []     # (source code hex, target text)
    body = re.search(rb"endcodespacerange(.*?)endcmap", cmap, re.S)
    if not body:
        return None
    changed = False
    for m in re.finditer(rb"begin(bf(?:char|range))(.*?)end\1", body.group(1), re.S):
        kind, vals = m.group(1), _HEX.findall(m.group(2))
        if kind == b"bfchar":
            items = [(vals[i], bytes.fromhex(vals[i + 1].decode()).decode("utf-16-be"))
                     for i in range(0, len(vals) - 1, 2)]
        else:
            items = []
            for i in range(0, len(vals) - 2, 3):
                lo, hi, dst = int(vals[i], 16), int(vals[i + 1], 16), vals[i + 2]
                text = bytes.fromhex(dst.decode()).decode("utf-16-be")
                width = len(vals[i])
                for k in range(hi - lo + 1):
                    items.append((f"{lo + k:0{width}X}".encode(),
                                  text[:-1] + chr(ord(text[-1]) + k)))
        for code, text in items:
            fixed = "".join(chr(mapping.get(ord(c), ord(c))) if _is_radical(ord(c)) else c
                            for c in text)
            changed |= fixed != text
            pairs.append((code, fixed))
    if not changed:
        return None
    blocks = []
    for i in range(0, len(pairs), 100):
        chunk = pairs[i:i + 100]
        lines = b"\n".join(b"<" + c + b"> <" + b"".join(_utf16(ord(ch)) for ch in t) + b">"
                           for c, t in chunk)
        blocks.append(b"%d beginbfchar\n%s\nendbfchar\n" % (len(chunk), lines))
    return (cmap[:body.start(1)] + b"\n" + b"".join(blocks) + cmap[body.end(1):])


_OBJ = re.compile(rb"(?<![0-9])(\d+) 0 obj\s*<<")


def _object(pdf: bytes, at: int) -> bytes | None:
    """The decoded data of the stream object starting at offset ``at`` (None when it is
    not a plain or Flate stream with a direct length)."""
    m = re.compile(rb"\d+ 0 obj\s*<<(.*?)>>\s*stream\r?\n", re.S).match(pdf, at)
    if m is None:
        return None
    head = m.group(1)
    length = re.search(rb"/Length (\d+)(?!\s+\d+\s+R)", head)
    if not length:
        return None
    raw = pdf[m.end():m.end() + int(length.group(1))]
    if b"/FlateDecode" in head:
        return zlib.decompress(raw)
    return None if b"/Filter" in head else raw


def fix_text_layer(pdf: bytes, mapping: dict[int, int] | None = None) -> bytes:
    """``pdf`` with every radical in its ``/ToUnicode`` maps replaced by the ideograph
    (appended as an incremental update); unchanged when there is nothing to fix or the
    file is not a plain classic-xref PDF such as Chromium writes."""
    mapping = radical_map() if mapping is None else mapping
    trailer = pdf.rfind(b"trailer")
    startxref = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf[-200:])
    if trailer < 0 or not startxref:
        return pdf
    where = {int(m.group(1)): m.start() for m in _OBJ.finditer(pdf)}   # last one wins
    fixed: dict[int, bytes] = {}
    for num in sorted({int(n) for n in _TOUNICODE.findall(pdf)}):
        data = _object(pdf, where[num]) if num in where else None
        if data is None:
            continue
        new = _fix_cmap(data, mapping)
        if new is not None:
            fixed[num] = new
    if not fixed:
        return pdf
    tdict = pdf[trailer:]
    size = re.search(rb"/Size (\d+)", tdict)
    root = re.search(rb"/Root (\d+ \d+ R)", tdict)
    info = re.search(rb"/Info (\d+ \d+ R)", tdict)
    if not size or not root:
        return pdf
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets = {}
    for num, data in fixed.items():
        packed = zlib.compress(data)
        offsets[num] = len(out)
        out += b"%d 0 obj\n<</Filter /FlateDecode\n/Length %d>> stream\n" % (num, len(packed))
        out += packed + b"\nendstream\nendobj\n"
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    out += b"trailer\n<</Size " + size.group(1) + b"\n/Root " + root.group(1)
    if info:
        out += b"\n/Info " + info.group(1)
    out += b"\n/Prev " + startxref.group(1) + b">>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
