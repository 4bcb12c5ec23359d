"""Time the brief batch: wall time, and where the time goes (kernel start-up, imports,
computation, rendering, HTML conversion).

    python benchmarks/briefs_benchmark.py [--jobs 2] [--regions 古浪县 …] [--out DIR]

Uses a fresh temporary workbench home (default database) unless WUWEI_DB is set. The
database is created before timing starts (a new user's first run pays that once).
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
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="wuwei-bench-")
    if "WUWEI_DB" not in os.environ:
        os.environ["WUWEI_HOME"] = tmp
    from wuwei_analysis.briefs import run_briefs
    from wuwei_analysis.store import open_db

    open_db().close()
    out = Path(args.out or Path(tmp) / "outputs")
    t0 = time.perf_counter()
    results = run_briefs(args.year, args.kind, args.regions, out=out, jobs=args.jobs)
    wall = time.perf_counter() - t0
    parts = ["kernel", "imports", "compute", "render", "html"]
    print(f"{'地区':<10} {'合计':>6} " + " ".join(f"{p:>8}" for p in parts))
    sums = dict.fromkeys(parts, 0.0)
    for r in results:
        if not r.ok:
            print(f"{r.region:<10} 失败：{r.error}")
            continue
        print(f"{r.region:<10} {r.seconds:6.1f} " + " ".join(f"{r.timings.get(p, 0):8.1f}" for p in parts))
        for p in parts:
            sums[p] += r.timings.get(p, 0.0)
    busy = sum(sums.values()) or 1.0
    print(f"\nbriefs: {sum(r.ok for r in results)}/{len(results)} ok, jobs={args.jobs}, "
          f"wall time {wall:.1f} s")
    print("share of brief time: " + ", ".join(f"{p} {sums[p] / busy:.0%} ({sums[p]:.1f} s)" for p in parts))
    print(f"outputs: {out}/index.html")


if __name__ == "__main__":
    main()
