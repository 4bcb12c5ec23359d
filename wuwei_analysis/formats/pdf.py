"""PDF by printing the offline HTML brief with headless Chromium.

Why Chromium (not WeasyPrint or LaTeX): the PDF is then the very page officials see in a
browser — the same CSS (grid of charts, ``@media print`` rules), the same inline SVG
charts and the same CJK font fallback — with no second layout engine to keep in step.
Debian's ``chromium`` is already a system dependency (``make system-deps``, used by the
browser tests), and since version 131 it prints CSS ``@page`` margin boxes, which give
the page numbers ("第 3 页 / 共 14 页"). A batch worker keeps one browser for all its
briefs (:mod:`.chromium`); a print then takes ≈1.5–2 s. The text layer is then corrected
(:mod:`.pdftext`: Chinese characters, not the Kangxi radicals Chromium writes for them).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import WuweiError

#: Browsers tried in order (Debian's package first).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 120


class PdfError(WuweiError):
    """The PDF could not be printed."""


#: How to install the browser (and the CJK fonts the PDF needs), said when it is missing.
INSTALL_HINT = "安装方法：make system-deps（即 apt-get install chromium fonts-noto-cjk）"


def browser() -> str:
    """Path of the headless browser used to print: ``$WUWEI_CHROMIUM`` if set (a path or a
    command name), else the first of :data:`BROWSERS` on the PATH. Raises PdfError (one
    Chinese line) when there is none."""
    env = os.environ.get("WUWEI_CHROMIUM")
    if env:
        found = shutil.which(env)
        if not found:
            raise PdfError(f"环境变量 WUWEI_CHROMIUM 指定的浏览器 {env} 不存在或不可执行")
        return found
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError("未找到 Chromium 浏览器")


def unavailable() -> str | None:
    """Why no PDF can be printed here (one Chinese line with how to fix it), or None."""
    try:
        browser()
    except PdfError as exc:
        return f"{exc.message}，已跳过 PDF（HTML 和 Word 照常生成）；{INSTALL_HINT}"
    return None


def html_to_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike,
                timeout: float = TIMEOUT) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4, the page's own ``@page`` rules, no browser
    header or footer); written atomically. Raises PdfError.

    Printed by this process's shared browser (:func:`~.chromium.shared`, started once per
    batch worker); if that fails, by a Chromium started for this one print."""
    from .chromium import discard_shared, shared
    from .pdftext import fix_text_layer

    src = Path(html_path).resolve()
    out = Path(pdf_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        tab = shared(browser()).open(src.as_uri(), timeout=timeout)
        try:
            data = tab.pdf(timeout=timeout)
        finally:
            tab.done()
        data = fix_text_layer(data)   # 女, not the radical ⼥, in the text layer
        Path(tmp).write_bytes(data)
    except Exception:  # noqa: BLE001 — print again with a browser of its own
        discard_shared()
        return _print_once(src, out, tmp, timeout)
    if len(data) < 100:
        os.unlink(tmp)
        raise PdfError("Chromium 未能打印 PDF：输出为空", file=str(src))
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return out


def _print_once(src: Path, out: Path, tmp: str, timeout: float) -> Path:
    """Print with a Chromium started for this one page (``--print-to-pdf``)."""
    with tempfile.TemporaryDirectory(prefix="wuwei-chromium-") as profile:
        cmd = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--disable-extensions", "--mute-audio",
               f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={tmp}", src.as_uri()]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            os.unlink(tmp)
            raise PdfError(f"Chromium 打印 PDF 超时（{timeout:.0f} 秒）", file=str(src)) from None
    if proc.returncode != 0 or os.path.getsize(tmp) < 100:
        os.unlink(tmp)
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise PdfError(f"Chromium 未能打印 PDF：{tail[0]}", file=str(src))
    from .pdftext import fix_text_layer

    Path(tmp).write_bytes(fix_text_layer(Path(tmp).read_bytes()))
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return out
