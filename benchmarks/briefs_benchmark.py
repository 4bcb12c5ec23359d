"""Time the brief batch: wall time, and where the time goes (kernel start-up, imports,
computation, rendering, HTML conversion, Word, PDF) and the CPU seconds of every process
involved (sampled: kernels, workers, each Chromium process); then check the figures the
briefs must reach, as an official reads them: the leaders' summary on one A4 page, a county
brief at most 15 A4 pages as PDF (and the Word document about as long: estimated, no word
processor here), the PDF text layer with 女 not ⼥, no nan / None / ERROR / Traceback on any
page, every page title naming region and year (at most 12 briefs checked, evenly spread).

    python benchmarks/briefs_benchmark.py [--jobs 2] [--regions 古浪县 …] [--out DIR]
    python benchmarks/briefs_benchmark.py --formats html,docx,pdf   (default: all three)
    python benchmarks/briefs_benchmark.py --synthetic 86 [--executor dask]

Default: the five Wuwei briefs from a fresh temporary workbench home (default database)
unless WUWEI_DB is set; the database is created before timing starts (a new user's first
run pays that once). ``--synthetic N``: the briefs of N synthetic county-level units (86 =
Gansu) from a table made by ``wuwei_analysis.synthetic`` (made-up numbers, marked synthetic),
written before timing starts.
"""
from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--regions", nargs="*")
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--kind", default="annual")
    ap.add_argument("--out", default=None)
    ap.add_argument("--synthetic", type=int, metavar="N",
                    help="briefs of N synthetic regions from a wuwei_analysis.synthetic table")
    ap.add_argument("--executor", choices=["local", "dask"], default="local")
    ap.add_argument("--formats", default="html,docx,pdf")
    args = ap.parse_args()
    from wuwei_analysis.formats import parse_formats

    formats = parse_formats(args.formats)
    tmp = tempfile.mkdtemp(prefix="wuwei-bench-")
    if "WUWEI_DB" not in os.environ:
        os.environ["WUWEI_HOME"] = tmp
    from wuwei_analysis.briefs import run_briefs
    from wuwei_analysis.database import open_db

    data = None
    if args.synthetic:
        from wuwei_analysis import synthetic, tables

        data = Path(tmp) / f"synthetic_{args.synthetic}.csv.gz"
        tables.write(synthetic.generate(args.synthetic), data)
        print(f"synthetic table (NOT statistics): {args.synthetic} regions → {data}")
    else:
        open_db().close()
    out = Path(args.out or Path(tmp) / "outputs")
    sampler = TreeCPU()
    t0 = time.perf_counter()
    results = run_briefs(args.year, args.kind, args.regions, out=out, jobs=args.jobs,
                         data=str(data) if data else None, executor=args.executor,
                         formats=formats)
    wall = time.perf_counter() - t0
    cpu = sampler.stop()
    parts = ["kernel", "imports", "compute", "render", "html", "docx", "pdf"]
    print(f"{'地区':<10} {'合计':>6} " + " ".join(f"{p:>8}" for p in parts))
    sums = dict.fromkeys(parts, 0.0)
    quiet = len(results) > 12          # many briefs: list only the failed ones
    for r in results:
        if not r.ok:
            print(f"{r.region:<10} 失败：{r.error}")
            continue
        if not quiet:
            print(f"{r.region:<10} {r.seconds:6.1f} " +
                  " ".join(f"{r.timings.get(p, 0):8.1f}" for p in parts))
        for p in parts:
            sums[p] += r.timings.get(p, 0.0)
    busy = sum(sums.values()) or 1.0
    ok = [r for r in results if r.ok]
    print(f"\nbriefs: {len(ok)}/{len(results)} ok, jobs={args.jobs} ({args.executor}), "
          f"wall time {wall:.1f} s; CPU {cpu:.1f} s in this process, its workers, kernels and "
          f"browsers (every Chromium process; sampled) — on a shared machine, CPU / jobs is "
          f"about the wall time free cores would give: {cpu / max(args.jobs, 1):.1f} s; load "
          f"average now {os.getloadavg()[0]:.1f}")
    if len(ok) > 2 * args.jobs:
        firsts = sorted(ok, key=lambda r: -r.seconds)[:args.jobs]
        rest = [r for r in ok if r not in firsts]
        print(f"per brief: first on each worker (kernel start, imports, warm-up) "
              f"{sum(r.seconds for r in firsts) / len(firsts):.1f} s; the others "
              f"{sum(r.seconds for r in rest) / len(rest):.2f} s on average")
    print("share of brief time: " + ", ".join(f"{p} {sums[p] / busy:.0%} ({sums[p]:.1f} s)" for p in parts))
    print(f"outputs: {out}/index.html")
    check_pages(ok, args.year)


class TreeCPU:
    """CPU seconds of this process and everything it starts, sampled every 0.2 s.

    ``getrusage(RUSAGE_CHILDREN)`` misses Chromium's renderer processes (nobody waits for
    them when the browser quits), so every process descending from this one (workers,
    kernels, browsers, their zygotes, renderers and GPU processes) or carrying the
    environment tag set here is sampled. A process's last sample counts after it exits
    (≤ 0.2 s of each one is missed)."""

    def __init__(self, interval: float = 0.2) -> None:
        import threading
        import uuid

        import psutil

        self.tag = uuid.uuid4().hex
        os.environ["WUWEI_BENCH_TAG"] = self.tag
        self.me = os.getpid()
        self.seen: dict[tuple[int, float], float] = {}
        self.member: dict[tuple[int, float], bool] = {}
        self.pids: set[int] = {self.me}
        self.base = self._total(psutil)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(psutil, interval), daemon=True)
        self._thread.start()

    def _total(self, psutil) -> float:
        for p in psutil.process_iter(["pid", "ppid", "create_time", "cpu_times"]):
            key = (p.info["pid"], p.info["create_time"])
            if key not in self.member:
                ok = p.info["pid"] == self.me or p.info["ppid"] in self.pids
                if not ok:
                    try:
                        ok = p.environ().get("WUWEI_BENCH_TAG") == self.tag
                    except (psutil.Error, OSError):
                        ok = False
                self.member[key] = ok
                if ok:
                    self.pids.add(p.info["pid"])
            if self.member[key] and p.info["cpu_times"]:
                t = p.info["cpu_times"]
                self.seen[key] = t.user + t.system
        return sum(self.seen.values())

    def _run(self, psutil, interval: float) -> None:
        while not self._done.wait(interval):
            self._total(psutil)

    def stop(self) -> float:
        import psutil

        self._done.set()
        self._thread.join()
        return self._total(psutil) - self.base


#: What must never be on a page.
FORBIDDEN = re.compile(r"\bnan\b|\bNone\b|ERROR|Traceback|Session/line number", re.I)


#: Briefs whose pages are checked at most (evenly spread; reading a 14-page PDF's text
#: takes pypdf seconds — all 86 synthetic ones took ten minutes on a busy machine).
CHECKED = 12


def check_pages(results, year: int) -> None:
    """The figures: pages per PDF, summary on page 1, forbidden words, page titles."""
    import unicodedata

    if len(results) > CHECKED:
        step = -(-len(results) // CHECKED)
        print(f"checking {len(results[::step])} of {len(results)} briefs (every {step}th)")
        results = results[::step]

    pdfs = [r for r in results if r.files.get("pdf")]
    bad_words, bad_titles, pages, summary_ok, radicals = [], [], [], 0, 0
    for r in results:
        page = Path(r.html).read_text(encoding="utf-8")
        body = re.sub(r"<style.*?</style>|<script.*?</script>|<[^>]+>", " ", page, flags=re.S)
        if FORBIDDEN.search(body):
            bad_words.append((r.region, FORBIDDEN.search(body).group(0)))
        title = re.search(r"<title>(.*?)</title>", page)
        if not title or r.region not in title.group(1) or f"{year}年" not in title.group(1):
            bad_titles.append(r.region)
        if r.files.get("docx"):
            import docx

            doc = docx.Document(r.files["docx"])
            text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
                c.text for t in doc.tables for row in t.rows for c in row.cells)
            if FORBIDDEN.search(text):
                bad_words.append((r.region + " (docx)", FORBIDDEN.search(text).group(0)))
    for r in pdfs:
        from pypdf import PdfReader

        reader = PdfReader(r.files["pdf"])
        raw = [p.extract_text() or "" for p in reader.pages]
        radicals += sum(0x2E80 <= ord(c) <= 0x2FDF for t in raw for c in t)
        texts = [unicodedata.normalize("NFKC", t) for t in raw]
        pages.append(len(reader.pages))
        summary_ok += "领导摘要" in texts[0] and "数据缺口(按报送单位)" in texts[0].replace("\n", "") \
            and "领导摘要" not in texts[1]
        if FORBIDDEN.search("".join(texts)):
            bad_words.append((r.region + " (pdf)", FORBIDDEN.search("".join(texts)).group(0)))
    if pages:
        print(f"PDF pages per brief: min {min(pages)}, max {max(pages)} (target ≤ 15); "
              f"{sum(p <= 15 for p in pages)}/{len(pages)} within")
    words = [docx_pages_estimate(r.files["docx"]) for r in results if r.files.get("docx")]
    if words:
        print(f"Word pages per brief (estimated: laid out here, no word processor; ±15 %): "
              f"min {min(words):.1f}, max {max(words):.1f} (target ≤ 15, as the PDF)")
        print(f"leaders' summary on one A4 page (page 1, domains from page 2): "
              f"{summary_ok}/{len(pages)}")
        print(f"radicals (U+2E80–U+2FDF) in the PDF text layer instead of 女, 儿, 页 …: {radicals}")
    print(f"nan/None/ERROR/Traceback on a page: {bad_words or 'none'}")
    print(f"page titles naming region and year: {len(results) - len(bad_titles)}/{len(results)}"
          + (f" (not: {bad_titles})" if bad_titles else ""))


# ------------------------------------------------------------------ Word page estimate
#: Line height of Noto Sans CJK (win ascent + descent, em) — Word's "single" line.
_LINE_EM = 1.448
_EMU_PT = 12700


def _text_width(text: str, size: float) -> float:
    """Width (pt) of ``text`` on one line: CJK full width, the rest about half."""
    return sum(size if ord(c) > 0x2E7F else 0.55 * size for c in text)


def docx_pages_estimate(path: str) -> float:
    """The .docx's length in A4 pages, estimated by laying its paragraphs, tables and
    images out in its page's text area (no word processor on this machine: an estimate,
    about ±15 %). Styles' font sizes, spacing and line spacing as Word applies them;
    explicit page breaks honoured; table columns sized to their content."""
    import docx
    from docx.oxml.ns import qn

    doc = docx.Document(path)
    sec = doc.sections[0]
    width = (sec.page_width - sec.left_margin - sec.right_margin) / _EMU_PT
    height = (sec.page_height - sec.top_margin - sec.bottom_margin) / _EMU_PT

    def style_attr(style, name):
        while style is not None:
            v = getattr(style.paragraph_format, name, None) if name != "size" else style.font.size
            if v is not None:
                return v
            style = style.base_style
        return None

    def para_height(p, avail: float, in_table: bool = False) -> tuple[float, bool]:
        st = p.style
        size = (style_attr(st, "size") or docx.shared.Pt(11)).pt
        sizes = [r.font.size.pt for r in p.runs if r.font.size]
        size = max(sizes) if sizes else size
        spacing = style_attr(st, "line_spacing")
        factor = 1.0 if in_table else (float(spacing) if isinstance(spacing, float) else 1.15)
        after = style_attr(st, "space_after")
        before = style_attr(st, "space_before")
        after = 0 if in_table else (after.pt if after is not None else 10.0)
        before = 0 if in_table else (before.pt if before is not None else 0.0)
        h = 0.0
        for pic in p._p.iter(qn("wp:extent")):
            h += int(pic.get("cy")) / _EMU_PT
        text = p.text
        lines = max(1, -(-_text_width(text, size) // max(avail, 1))) if text or not h else 0
        brk = any(b.get(qn("w:type")) == "page" for b in p._p.iter(qn("w:br")))
        return before + lines * size * _LINE_EM * factor + h + after, brk

    def table_rows(t) -> list[float]:
        rows = t.rows
        ncols = len(t.columns)
        natural = [0.0] * ncols
        for r in rows:
            for j, c in enumerate(r.cells[:ncols]):
                for p in c.paragraphs:
                    size = (style_attr(p.style, "size") or docx.shared.Pt(11)).pt
                    natural[j] = max(natural[j], _text_width(p.text, size) + 11)
        pics = any(True for _ in t._tbl.iter(qn("wp:extent")))
        if pics or sum(natural) <= width:
            widths = [width / ncols] * ncols if pics else natural
        else:
            floor = 30.0
            extra = width - floor * ncols
            widths = [floor + extra * n / sum(natural) for n in natural]
        out = []
        for r in rows:
            seen, h = set(), 0.0
            for j, c in enumerate(r.cells[:ncols]):
                if id(c._tc) in seen:
                    continue
                seen.add(id(c._tc))
                h = max(h, sum(para_height(p, widths[j] - 11, True)[0] for p in c.paragraphs))
            out.append(h + 2)
        return out

    # the table of contents Word fills in on opening: a line per Heading 1 / 2
    toc_lines = sum(p.style.name in ("Heading 1", "Heading 2") for p in doc.paragraphs)
    pages, y = 1, 0.0

    def place(h: float) -> None:
        nonlocal pages, y
        if y + h > height and y > 0:
            pages += 1
            y = 0.0
        y += h

    for block in doc.element.body.iterchildren():
        if block.tag == qn("w:p"):
            h, brk = para_height(docx.text.paragraph.Paragraph(block, doc), width)
            if any("TOC" in (t.text or "") for t in block.iter(qn("w:instrText"))):
                h += toc_lines * 10.5 * _LINE_EM
            place(h)
            if brk:
                pages, y = pages + 1, 0.0
        elif block.tag == qn("w:tbl"):
            for h in table_rows(docx.table.Table(block, doc)):
                place(h)
    return pages - 1 + y / height


if __name__ == "__main__":
    main()
