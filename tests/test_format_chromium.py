"""One headless Chromium per process prints every PDF and draws every chart image of a
batch worker; it is started on first use, started again if it died, and gone when closed."""
from __future__ import annotations

import pytest

from wuwei_analysis.formats import chromium
from wuwei_analysis.formats.images import svgs_to_pngs
from wuwei_analysis.formats.pdf import browser, html_to_pdf, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(unavailable() is not None, reason="no Chromium here")]

PAGE = ("<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{t}</title>"
        "<style>@page {{ size: A4; }}</style></head><body><h1>{t}</h1><p>妇女儿童发展规划"
        "监测报告，第 1 页</p></body></html>")
SVG = ("<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 640 340'><rect width='640' "
       "height='340' fill='#fff'/><text x='20' y='40' font-size='24'>{t}</text></svg>")


def test_one_browser_prints_every_pdf_and_comes_back_after_a_crash(tmp_path):
    from pypdf import PdfReader

    try:
        pages = []
        for name in ("古浪县", "天祝藏族自治县"):
            src = tmp_path / f"{name}.html"
            src.write_text(PAGE.format(t=name), encoding="utf-8")
            pages.append(html_to_pdf(src, tmp_path / f"{name}.pdf"))
        first = chromium.shared(browser())
        pngs = svgs_to_pngs([SVG.format(t="婴儿死亡率"), SVG.format(t="孕产妇死亡率")])
        assert chromium.shared(browser()) is first            # the same browser, reused
        assert len(pngs) == 2 and all(p[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
        for name, pdf in zip(("古浪县", "天祝藏族自治县"), pages):
            text = PdfReader(pdf).pages[0].extract_text()
            assert name in text and "妇女儿童" in text
        first.proc.kill()                            # a crashed browser …
        first.proc.wait()
        again = html_to_pdf(tmp_path / "古浪县.html", tmp_path / "again.pdf")
        assert "古浪县" in PdfReader(again).pages[0].extract_text()
        assert chromium.shared(browser()) is not first        # … is replaced on the next use
    finally:
        last = chromium._SHARED.get(__import__("os").getpid())
        chromium.close_shared()
    assert last is None or last.proc.poll() is not None      # closed: no process left
    assert not list(tmp_path.glob(".*.tmp"))          # no temporary files left
