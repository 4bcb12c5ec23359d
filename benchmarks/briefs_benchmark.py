"""Time the brief batch: wall time, and where the time goes (kernel start-up, imports,
computation, rendering, HTML conversion).

    python benchmarks/briefs_benchmark.py [--jobs 2] [--regions 古浪县 …] [--out DIR]
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
    args = ap.parse_args()
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
    t0 = time.perf_counter()
    results = run_briefs(args.year, args.kind, args.regions, out=out, jobs=args.jobs,
                         data=str(data) if data else None, executor=args.executor)
    wall = time.perf_counter() - t0
    parts = ["kernel", "imports", "compute", "render", "html"]
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
          f"wall time {wall:.1f} s")
    if len(ok) > 2 * args.jobs:
        firsts = sorted(ok, key=lambda r: -r.seconds)[:args.jobs]
        rest = [r for r in ok if r not in firsts]
        print(f"per brief: first on each worker (kernel start, imports, warm-up) "
              f"{sum(r.seconds for r in firsts) / len(firsts):.1f} s; the others "
              f"{sum(r.seconds for r in rest) / len(rest):.2f} s on average")
    print("share of brief time: " + ", ".join(f"{p} {sums[p] / busy:.0%} ({sums[p]:.1f} s)" for p in parts))
    print(f"outputs: {out}/index.html")


if __name__ == "__main__":
    main()
