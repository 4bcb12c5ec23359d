"""Time the brief batch: wall time, and where the time goes (kernel start-up, imports,
computation, rendering, HTML conversion, Word, PDF); then check the figures the briefs must
reach, as an official reads them: the leaders' summary on one A4 page, a county brief at
most 15 A4 pages as PDF, no nan / None / ERROR / Traceback on any page, every page title
naming region and year.

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
    cpu0 = _cpu()
    t0 = time.perf_counter()
    results = run_briefs(args.year, args.kind, args.regions, out=out, jobs=args.jobs,
                         data=str(data) if data else None, executor=args.executor,
                         formats=formats)
    wall = time.perf_counter() - t0
    cpu = _cpu() - cpu0
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
          f"wall time {wall:.1f} s; CPU {cpu:.1f} s in this process and its children "
          f"(kernels, Chromium) — on a shared machine, CPU / jobs is the wall time two free "
          f"cores would give, about {cpu / max(args.jobs, 1):.1f} s; load average now "
          f"{os.getloadavg()[0]:.1f}")
    if len(ok) > 2 * args.jobs:
        firsts = sorted(ok, key=lambda r: -r.seconds)[:args.jobs]
        rest = [r for r in ok if r not in firsts]
        print(f"per brief: first on each worker (kernel start, imports, warm-up) "
              f"{sum(r.seconds for r in firsts) / len(firsts):.1f} s; the others "
              f"{sum(r.seconds for r in rest) / len(rest):.2f} s on average")
    print("share of brief time: " + ", ".join(f"{p} {sums[p] / busy:.0%} ({sums[p]:.1f} s)" for p in parts))
    print(f"outputs: {out}/index.html")
    check_pages(ok, args.year)


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (kernels, Chromium)."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


#: What must never be on a page.
FORBIDDEN = re.compile(r"\bnan\b|\bNone\b|ERROR|Traceback|Session/line number", re.I)


def check_pages(results, year: int) -> None:
    """The figures: pages per PDF, summary on page 1, forbidden words, page titles."""
    import unicodedata

    pdfs = [r for r in results if r.files.get("pdf")]
    bad_words, bad_titles, pages, summary_ok = [], [], [], 0
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
        texts = [unicodedata.normalize("NFKC", p.extract_text() or "") for p in reader.pages]
        pages.append(len(reader.pages))
        summary_ok += "领导摘要" in texts[0] and "数据缺口(按报送单位)" in texts[0].replace("\n", "") \
            and "领导摘要" not in texts[1]
        if FORBIDDEN.search("".join(texts)):
            bad_words.append((r.region + " (pdf)", FORBIDDEN.search("".join(texts)).group(0)))
    if pages:
        print(f"PDF pages per brief: min {min(pages)}, max {max(pages)} (target ≤ 15); "
              f"{sum(p <= 15 for p in pages)}/{len(pages)} within")
        print(f"leaders' summary on one A4 page (page 1, domains from page 2): "
              f"{summary_ok}/{len(pages)}")
    print(f"nan/None/ERROR/Traceback on a page: {bad_words or 'none'}")
    print(f"page titles naming region and year: {len(results) - len(bad_titles)}/{len(results)}"
          + (f" (not: {bad_titles})" if bad_titles else ""))


if __name__ == "__main__":
    main()
