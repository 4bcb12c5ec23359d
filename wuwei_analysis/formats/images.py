"""SVG charts as PNG images for the Word brief.

A county brief has 60–80 charts. vl-convert's resvg draws one in ≈0.1–0.2 s (almost all of
it shaping CJK text); headless Chromium draws them all in one screenshot in ≈1 s: the charts
are laid out in a grid on one page, photographed once and cut apart (Pillow). The browser is
the process's shared one (:func:`~.chromium.shared`: started once per batch worker, also
used to print the PDF). When Chromium or Pillow is missing or fails, each chart goes
through vl-convert instead.
"""
from __future__ import annotations

import io
import math
import re
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

#: CJK fonts tried in order (the first installed is written into the Word styles and used
#: to draw charts without Chromium).
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimSun",
             "WenQuanYi Micro Hei")
#: Fallback when fc-list finds none of them (Word on Windows has it).
DEFAULT_CJK = "Microsoft YaHei"
#: Chart size (CSS px) in the grid, and the screenshot's device scale (1.0 → 640×340 px,
#: ≈310 dpi at the 5.2 cm width of the Word appendix's three columns).
CELL = (640, 340)
SCALE = 1.0
#: Charts per grid row (the screenshot stays well under Chromium's 16384 px limit).
COLUMNS = 4


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The first of CJK_FONTS that fontconfig knows on this machine."""
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return DEFAULT_CJK
    families = {f.strip() for line in out.splitlines() for f in line.split(",")}
    return next((f for f in CJK_FONTS if f in families), DEFAULT_CJK)


def svg_to_png(svg: str, scale: float = 1.5) -> bytes:
    """Rasterise an SVG chart (vl-convert's resvg, with this machine's fonts)."""
    import vl_convert as vlc

    # one concrete face: resvg resolves a long font-family chain slowly
    svg = re.sub(r"font-family:[^;\"]*", f"font-family:{cjk_font()}", svg)
    svg = re.sub(r'font-family="[^"]*"', f'font-family="{cjk_font()}"', svg)
    return vlc.svg_to_png(svg, scale=scale)


def _viewbox(svg: str) -> tuple[float, float]:
    m = re.search(r'viewBox="\s*[-\d.]+\s+[-\d.]+\s+([\d.]+)\s+([\d.]+)"', svg)
    return (float(m.group(1)), float(m.group(2))) if m else CELL


def svgs_to_pngs(svgs: list[str]) -> list[bytes]:
    """PNG bytes of each SVG, in order."""
    if not svgs:
        return []
    try:
        return _chromium_batch(svgs)
    except Exception:  # noqa: BLE001 — fall back to one resvg rendering per chart
        return [svg_to_png(s) for s in svgs]


def _chromium_batch(svgs: list[str]) -> list[bytes]:
    from PIL import Image

    from .chromium import discard_shared, shared
    from .pdf import browser

    w, h = CELL
    cols = min(COLUMNS, len(svgs))
    rows = math.ceil(len(svgs) / cols)
    cells = "".join(
        f"<div style='position:absolute;left:{(i % cols) * w}px;top:{(i // cols) * h}px;"
        f"width:{w}px;height:{h}px;overflow:hidden'>"
        + re.sub(r"<svg\b", f"<svg width='{w}' height='{h}'", s, count=1)
        .replace('width="100%"', "") + "</div>"
        for i, s in enumerate(svgs))
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><style>html,body{margin:0;"
            "background:#fff}svg{max-width:none!important}</style></head><body>"
            f"{cells}</body></html>")
    with tempfile.TemporaryDirectory(prefix="wuwei-charts-") as tmp:
        src = Path(tmp) / "charts.html"
        src.write_text(page, encoding="utf-8")
        try:   # this process's browser (started once per worker, reused for every brief)
            tab = shared(browser()).open(src.as_uri(), cols * w, rows * h, SCALE)
            try:
                shot = tab.screenshot(cols * w, rows * h, SCALE)
            finally:
                tab.done()
        except Exception:
            discard_shared()
            raise
    img = Image.open(io.BytesIO(shot))
    img.load()
    sw, sh = round(w * SCALE), round(h * SCALE)
    if img.width < cols * sw or img.height < rows * sh:
        raise RuntimeError("screenshot smaller than the grid")
    out = []
    for i in range(len(svgs)):
        c, r = i % cols, i // cols
        buf = io.BytesIO()
        img.crop((c * sw, r * sh, (c + 1) * sw, (r + 1) * sh)).convert("RGB").save(
            buf, format="PNG", compress_level=1)
        out.append(buf.getvalue())
    return out
