"""Benchmark: roll-up of the synthetic nation, counties → provinces → nation (issue #16).

The synthetic long table of ``wuwei_analysis.synthetic`` (2,850 county-level units in 31
provinces, every monitorable indicator, 10 years, breakdown groups: about 3.4 million rows)
is rolled up with the catalogue's rules by ``wuwei_analysis.rollup.rollup_table``: every
indicator with a roll-up rule (counts summed and divided, levels summed, averages
weighted), county → province → nation.

Prints, for each run: wall time of the roll-up (the table is generated beforehand and not
counted), rows in and out, and peak memory — the largest sum of the resident memory of
this process and its children (Dask scheduler and workers), sampled every 50 ms, and this
process's ru_maxrss (which includes generating the table).

Usage::

    python benchmarks/rollup_benchmark.py                     # local (vectorised, 1 process)
    python benchmarks/rollup_benchmark.py --executor dask     # also on a 2-worker LocalCluster
    python benchmarks/rollup_benchmark.py --regions 500 --min-coverage 1

Targets: < 10 s and < 2 GiB on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _cpu_seconds() -> float:
    """CPU time (user + system) of the calling process; run on Dask workers too."""
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


class PeakRSS:
    """Samples the summed RSS of this process and its descendants in a thread."""

    def __init__(self, interval: float = 0.05):
        import psutil

        self.proc = psutil.Process(os.getpid())
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # noqa: BLE001 - a child that just exited
                pass
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regions", type=int, default=2850)
    ap.add_argument("--min-coverage", type=float, default=0.8,
                    help="share of children a parent needs (the synthetic table has 3%% of "
                         "region-years missing and 10%% of series starting late, so 1.0 "
                         "derives few provinces); default 0.8")
    ap.add_argument("--executor", choices=["local", "dask"], default="local")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    from wuwei_analysis import synthetic
    from wuwei_analysis.rollup.table import SYNTHETIC_TOP, rollup_table

    t0 = time.perf_counter()
    df = synthetic.generate(args.regions)
    t_gen = time.perf_counter() - t0
    print(f"合成表：{args.regions} 个县级单位，{len(df):,} 行，"
          f"{df['indicator'].nunique()} 个指标，生成 {t_gen:.1f} s"
          f"（表占内存 {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB）")
    runs = [("local", 1)] + ([("dask", args.workers)] if args.executor == "dask" else [])
    for executor, workers in runs:
        with PeakRSS() as mem:
            client = None
            if executor == "dask":   # the cluster's start is timed apart from the roll-up
                import warnings

                from wuwei_analysis.executors import dask_client

                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                ctx = dask_client(workers=workers)
                client = ctx.__enter__()
                print(f"[dask] 启动 LocalCluster（{workers} 个单线程工作进程）"
                      f"{time.perf_counter() - t0:.1f} s")
            w0 = client.run(_cpu_seconds) if client is not None else {}
            c0 = _cpu_seconds()
            t0 = time.perf_counter()
            out = rollup_table(df, top=SYNTHETIC_TOP, min_coverage=args.min_coverage,
                               executor=executor, workers=workers, client=client)
            dt = time.perf_counter() - t0
            cpu = _cpu_seconds() - c0
            if client is not None:
                w1 = client.run(_cpu_seconds)
                cpu += sum(w1[k] - w0.get(k, 0.0) for k in w1)
            if client is not None:
                ctx.__exit__(None, None, None)
        prov = out[out["region_level"] == 1]
        nation = out[out["region_level"] == 2]
        print(f"[{executor}, {workers} 进程] 汇总 {dt:.2f} s（CPU 时间合计 {cpu:.2f} s，"
              f"1 分钟平均负载 {os.getloadavg()[0]:.1f}）；输入 {len(df):,} 行 → 省级 "
              f"{len(prov):,} 行（{prov['region_code'].nunique()} 个省，"
              f"{prov['indicator'].nunique()} 个指标），全国 {len(nation):,} 行；"
              f"方法 { {k: int(v) for k, v in out['method'].value_counts().items()} }；"
              f"峰值内存（本进程及子进程 RSS 之和）{mem.peak / 2**30:.2f} GiB")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"本进程 ru_maxrss（含生成合成表）：{maxrss:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
