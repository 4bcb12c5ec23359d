"""Province / nation scale: the vectorised engine against the per-series statsmodels path,
and the whole synthetic country assessed at once.

    python benchmarks/scale_benchmark.py                    # ≈ 2 minutes on 2 cores
    python benchmarks/scale_benchmark.py --series 2000 --regions 300   # quicker
    python benchmarks/scale_benchmark.py --dask             # also on a Dask LocalCluster
    python benchmarks/scale_benchmark.py --skip-country     # part 1 only (≈ 1 minute)

What it does, in one run on the same synthetic data (``wuwei_analysis.synthetic``: made-up
numbers, every row marked synthetic):

1. The first ``--series`` (10,000) series of the table — indicator × region × breakdown, 10
   years, the same series for both — forecast to 2030 with ``model="auto"``:
   * per-series: one ``forecast_series`` call each (statsmodels OLS / GLM, the auto rule's
     rolling origins, calibrated intervals, p_meet) — the workbench's own path;
   * vectorised: ``engine.forecast_many`` on the long table (grouping, de-duplication,
     packing included), once with the assessment's outputs only (model, p_meet, AARR,
     change, target-year forecast and 80 % interval) and once with the full forecast
     tables (every year 2025–2030, 80 % and 95 % intervals) like the per-series frames.
   It prints series per second for each, the ratios (of wall times; of CPU times in
   brackets, which a busy machine disturbs less), and how far the results differ (model
   names must agree; numbers within 1e-8 relative).
2. Every region (``--regions``, default 2,850) × indicator × breakdown assessed by
   ``engine.assess_all`` (``wuwei assess --all --breakdowns``) with ``--workers`` local
   processes: wall time, and peak memory — the sum of the resident memory of this process
   and its workers (sampled every 50 ms; proportional memory, PSS, every second) — plus
   ru_maxrss.
3. With ``--file`` / ``--dask``: the time to read the table back from csv.gz, and the same
   assessment on a Dask LocalCluster of ``--workers`` processes.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class PeakMemory:
    """Peak of the summed memory of this process and its children (worker processes).

    RSS (cheap to read) is sampled every ``interval`` seconds; PSS, which splits pages
    shared between processes (forked workers share the parent's) and so does not count
    them twice, needs /proc/PID/smaps — slow enough on big processes to steal CPU from the
    workers being measured — and is sampled every ``pss_interval`` seconds. The RSS sum is
    an upper bound of the memory used.
    """

    def __init__(self, interval: float = 0.05, pss_interval: float = 1.0):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.pss_every = max(int(round(pss_interval / interval)), 1)
        self.peak_rss = self.peak_pss = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _procs(self):
        try:
            return [self.proc] + self.proc.children(recursive=True)
        except Exception:
            return [self.proc]

    def _sample(self, pss: bool = False):
        rss = pss_sum = 0
        for p in self._procs():
            try:
                if pss:
                    mi = p.memory_full_info()
                    rss += mi.rss
                    pss_sum += getattr(mi, "pss", mi.rss)
                else:
                    rss += p.memory_info().rss
            except Exception:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        if pss:
            self.peak_pss = max(self.peak_pss, pss_sum)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            self._sample(pss=i % self.pss_every == 0)
            i += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self._sample(pss=True)
        return False


def gib(b: float) -> str:
    return f"{b / 2 ** 30:.2f} GiB"


def first_series(df, n: int):
    """The rows of the first ``n`` series (region × indicator × breakdown) of the first
    regions: every kind of indicator in its usual share."""
    d = df.sort_values("region_code", kind="stable")
    keys = d[["region_code", "indicator", "sex", "urban_rural", "age_group"]].astype(str)
    sid = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    return d[sid < n]


def compare(summary_v, table_v, summary_p, table_p) -> dict:
    """Model names that differ, and numbers outside 1e-8 relative (plus 1e-12 of the series'
    level, so that a change of exactly 0 against a rounding-noise 1e-14 is not counted);
    ``max_rel_diff`` is the largest relative difference among values larger than 1e-9 of
    their series' level."""
    out = {"series": len(summary_v)}
    out["model_differs"] = int((summary_v["model"].to_numpy() != summary_p["model"].to_numpy()
                                ).sum())
    level = np.maximum(np.nan_to_num(np.abs(summary_p["forecast_value"].to_numpy(float)),
                                     nan=1.0), 1.0)
    worst, outside, nan_mismatch = 0.0, 0, 0

    def check(a, b, lev):
        nonlocal worst, outside, nan_mismatch
        nan_mismatch += int((np.isnan(a) != np.isnan(b)).sum())
        ok = ~np.isnan(a) & ~np.isnan(b)
        a, b, lev = a[ok], b[ok], lev[ok]
        big = np.maximum(np.abs(a), np.abs(b))
        outside += int((np.abs(a - b) > 1e-12 * lev + 1e-8 * big).sum())
        sel = big > 1e-9 * lev
        if sel.any():
            worst = max(worst, float((np.abs(a - b)[sel] / big[sel]).max()))

    for c in ("p_meet", "aarr", "annual_change", "forecast_value", "forecast_lo80",
              "forecast_hi80"):
        check(summary_v[c].to_numpy(float), summary_p[c].to_numpy(float), level)
    if table_v is not None and table_p is not None:
        tv = table_v.sort_values(["series", "year"]).reset_index(drop=True)
        tp = table_p.sort_values(["series", "year"]).reset_index(drop=True)
        out["table_rows"] = (len(tv), len(tp))
        if len(tv) == len(tp):
            lev = level[tp["series"].to_numpy()]
            for c in ("mean", "lo80", "hi80", "lo95", "hi95"):
                check(tv[c].to_numpy(float), tp[c].to_numpy(float), lev)
    out.update(max_rel_diff=worst, outside_tolerance=outside, nan_mismatch=nan_mismatch)
    return out


def per_series_run(df):
    """forecast_series for every series (the statsmodels path), frames as the engine's."""
    import pandas as pd

    from wuwei_analysis.engine.table_forecasts import SUMMARY_COLUMNS, series_inputs
    from wuwei_analysis.models import forecast_series

    inputs = series_inputs(df)
    t0, c0 = time.perf_counter(), time.process_time()
    frames = [forecast_series(**kw) for kw in inputs]
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows, tabs = [], []
    for i, (kw, fc) in enumerate(zip(inputs, frames)):
        a = fc.attrs
        ty = int(kw["target"].year)
        hit = fc[fc["year"] == ty]
        get = (lambda c: float(hit[c].iloc[0])) if len(hit) else (lambda c: np.nan)
        nan = lambda v: np.nan if v is None else v  # noqa: E731
        rows.append({"series": i, "model": a["model"], "p_meet": nan(a["p_meet"]),
                     "aarr": nan(a["aarr"]), "annual_change": nan(a["annual_change"]),
                     "forecast_value": get("mean"), "forecast_lo80": get("lo80"),
                     "forecast_hi80": get("hi80")})
        fc.attrs = {}
        if len(fc):
            tabs.append(fc.assign(series=i))
    summary = pd.DataFrame(rows).reindex(columns=[c for c in SUMMARY_COLUMNS
                                                  if c in rows[0]])
    return (secs, cpu), summary, pd.concat(tabs, ignore_index=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regions", type=int, default=2850)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-breakdowns", action="store_true",
                    help="assess only the totals (default: every breakdown series too)")
    ap.add_argument("--file", action="store_true", help="also write and read back csv.gz")
    ap.add_argument("--dask", action="store_true", help="also run on a Dask LocalCluster")
    ap.add_argument("--skip-per-series", action="store_true")
    ap.add_argument("--skip-country", action="store_true",
                    help="only part 1 (the same series both ways), not the whole country")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    from wuwei_analysis import synthetic, tables
    from wuwei_analysis.engine.table_assessment import _warm, assess_all
    from wuwei_analysis.engine.table_forecasts import forecast_many

    print(f"机器 / machine: {os.cpu_count()} CPU, python {sys.version.split()[0]}, "
          f"numpy {np.__version__}")
    t0 = time.perf_counter()
    df = synthetic.generate(args.regions)
    n_series = df.groupby(["region_code", "indicator", "sex", "urban_rural"],
                          observed=True).ngroups
    print(f"合成数据 / synthetic table: {args.regions} regions, {n_series:,} series, "
          f"{len(df):,} rows, generated in {time.perf_counter() - t0:.1f} s "
          "(NOT statistics; every row marked synthetic)")
    _warm()

    # ---------------------------------------------------------------- 1. same series
    sub = first_series(df, args.series)
    forecast_many(first_series(df, 300))                      # warm up both paths once
    t0, c0 = time.perf_counter(), time.process_time()
    sv, _ = forecast_many(sub, table=False)
    t_vec, c_vec = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    sv_t, tv = forecast_many(sub, table=True)
    t_vec_t, c_vec_t = time.perf_counter() - t0, time.process_time() - c0
    n = len(sv)
    print(f"\n[1] the same {n:,} series, model='auto', forecasts to 2030 with p_meet "
          "(wall time; CPU time of this process in brackets)")
    print(f"  vectorised, assessment outputs : {t_vec:8.2f} s  {n / t_vec:10,.0f} series/s"
          f"  [{c_vec:.2f} s]")
    print(f"  vectorised, full forecast tables: {t_vec_t:7.2f} s  {n / t_vec_t:10,.0f} series/s"
          f"  [{c_vec_t:.2f} s]")
    if not args.skip_per_series:
        (t_ps, c_ps), sp, tp = per_series_run(sub)
        print(f"  per-series statsmodels path    : {t_ps:8.2f} s  {n / t_ps:10,.0f} series/s"
              f"  [{c_ps:.2f} s]")
        print(f"  ratio (assessment outputs)     : {t_ps / t_vec:8.0f} ×  "
              f"[CPU {c_ps / c_vec:.0f} ×]")
        print(f"  ratio (full forecast tables)   : {t_ps / t_vec_t:8.0f} ×  "
              f"[CPU {c_ps / c_vec_t:.0f} ×]")
        cmp = compare(sv_t, tv, sp, tp)
        print(f"  identical results: model names differ in {cmp['model_differs']} of "
              f"{cmp['series']:,}; {cmp['outside_tolerance']} numbers outside 1e-8 relative, "
              f"{cmp['nan_mismatch']} missing in one only; largest relative difference "
              f"{cmp['max_rel_diff']:.1e} (p_meet, AARR, change, target-year forecast, and "
              f"every year's mean and 80/95 % interval ends: "
              f"{cmp.get('table_rows', ('?',))[0]:,} table rows)")
        same = (sv[["model", "p_meet"]].fillna(-1).to_numpy() ==
                sv_t[["model", "p_meet"]].fillna(-1).to_numpy()).all()
        print(f"  the two vectorised runs agree: {bool(same)}")

    # ---------------------------------------------------------------- 2. the whole country
    if args.skip_country:
        return 0
    bd = not args.no_breakdowns
    print(f"\n[2] all {args.regions} regions × indicators"
          f"{' × breakdowns' if bd else ''}: assess_all, local processes × {args.workers}")
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        out = assess_all(df, breakdowns=bd, workers=args.workers)
        t_all = time.perf_counter() - t0
    eng = out.attrs["engine"]
    print(f"  wall time {t_all:.1f} s for {len(out):,} rows ({eng['modelled']:,} series "
          f"modelled, {eng['per_series']} by the per-series path, {eng['chunks']} chunks)")
    print(f"  peak memory, this process + workers: RSS sum {gib(mem.peak_rss)} (sampled "
          f"every 50 ms; an upper bound), PSS {gib(mem.peak_pss)} (sampled every 1 s)")
    self_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    kids_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"  ru_maxrss: this process {gib(self_max)}, largest worker {gib(kids_max)}")
    counts = out["status_code"].value_counts().to_dict()
    print(f"  statuses: {counts}")

    if args.file:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / synthetic.default_name(args.regions)
            t0 = time.perf_counter()
            tables.write(df, path)
            t_w = time.perf_counter() - t0
            t0 = time.perf_counter()
            back = tables.read(path).frame
            t_r = time.perf_counter() - t0
            print(f"\n[3] {path.suffix} file: written in {t_w:.1f} s "
                  f"({path.stat().st_size / 1e6:.0f} MB), read back in {t_r:.1f} s "
                  f"({len(back):,} rows)")
    if args.dask:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1",
                          dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            out_d = assess_all(df, breakdowns=bd, client=client)
            t_d = time.perf_counter() - t0
        same = out_d["status_code"].equals(out["status_code"])
        print(f"\n[4] Dask LocalCluster × {args.workers} processes: {t_d:.1f} s, "
              f"same statuses as the local run: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
