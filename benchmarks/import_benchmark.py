"""Import benchmark: a 50,000-row reporting file as .xlsx and as .csv.

Prints, for each format, the wall time of ``import_file`` (read, validate every row, store
in one transaction, write the report) into a new empty database, and the peak memory
(maximum resident set size) of the process that ran it. Targets (issue #13): .xlsx under
20 s and 500 MB, .csv under 5 s.

The rows are every monitorable indicator × monitored region × breakdown group of the
catalogue (the series of the built-in illustrative dataset), over as many years as needed
for 50,000 rows, with values following each series' level; about 2 % of the rows carry
typical clerks' mistakes (a region typo, a number with a comma) so the report is written
too. Each import runs in a fresh subprocess so the memory figure is its own.

    python benchmarks/import_benchmark.py [--rows 50000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = ["指标编号", "指标名称", "单位", "地区", "年份", "性别", "城乡", "年龄组", "数值",
          "分子", "分母", "是否初步数", "数据来源", "备注"]


def build_rows(n: int) -> list[list]:
    from wuwei_analysis.indicator_catalog import indicator
    from wuwei_analysis.defaults import illustrative
    from wuwei_analysis.ingest.rules import value_range

    base = illustrative.generate_rows()
    series: dict[tuple, list[float]] = {}
    for r in base:
        try:
            v = float(r["value"])
        except (TypeError, ValueError):
            continue
        series.setdefault((r["indicator_id"], r["region"], r["sex"], r["urban_rural"],
                           r["age_group"]), []).append(v)
    keys = sorted(series)
    years_needed = -(-n // len(keys))
    last = 2025
    years = list(range(last - years_needed + 1, last + 1))
    rows: list[list] = []
    for y in reversed(years):
        for k in keys:
            if len(rows) >= n:
                break
            ind = indicator(k[0])
            level = sorted(series[k])[len(series[k]) // 2]
            value = level * (1 + 0.001 * (y - 2020))
            lo, hi = value_range(ind)
            value = round(min(max(value, lo if lo is not None else value),
                              hi if hi is not None else value), 2)
            rows.append([k[0], ind.name_zh, ind.unit, k[1], y, k[2], k[3], k[4], value, None,
                         None, "否", "基准测试", ""])
    for i in range(0, len(rows), 50):  # ~2 % clerks' mistakes
        if i % 100 == 0:
            rows[i][3] = "古狼县"
        else:
            rows[i][8] = f"约{rows[i][8]}"
    return rows


def write_files(rows: list[list], folder: Path) -> tuple[Path, Path]:
    from openpyxl import Workbook

    csv_path = folder / "基准50000行.csv"
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(["" if v is None else v for v in r] for r in rows)
    xlsx_path = folder / "基准50000行.xlsx"
    wb = Workbook()  # not write_only: like Excel, it records the sheet's size (<dimension>)
    ws = wb.active
    ws.title = "填报数据"
    ws.append(["基准测试填报表"])
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(xlsx_path)
    return xlsx_path, csv_path


_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from wuwei_analysis.ingest.importer import import_file
from wuwei_analysis.database import init_db
db = init_db(sys.argv[2], with_defaults=False)
t1 = time.perf_counter()
c1 = time.process_time()
res = import_file(sys.argv[1], db=db)
t2 = time.perf_counter()
c2 = time.process_time()
print(json.dumps({"seconds": t2 - t1, "cpu": c2 - c1, "startup": t1 - t0, "status": res.status,
                  "read": res.rows_read, "accepted": res.rows_accepted,
                  "rejected": res.rows_rejected, "warnings": len(res.warnings),
                  "report": str(res.report_path),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(path: Path, folder: Path) -> dict:
    db = folder / f"{path.suffix[1:]}.sqlite"
    for old in folder.glob(f"{db.name}*"):  # a new empty database every time
        old.unlink()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(db)], capture_output=True,
                         text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] in ("accepted", "partial"), result
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--keep", help="folder to keep the generated files in")
    args = ap.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="wuwei_import_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rows = build_rows(args.rows)
    xlsx, csv_path = write_files(rows, folder)
    print(f"生成 {len(rows):,} 行测试文件：{time.perf_counter() - t:.1f} 秒（{folder}）")
    targets = {".xlsx": (20, 500), ".csv": (5, None)}
    ok = True
    for path in (xlsx, csv_path):
        r = run(path, folder)
        t_max, mb_max = targets[path.suffix]
        mem_ok = mb_max is None or r["peak_mb"] < mb_max
        good = r["seconds"] < t_max and mem_ok
        cpu_good = r["cpu"] < t_max and mem_ok
        ok &= good
        mem = f"，目标 < {mb_max} MB" if mb_max else ""
        print(f"{path.suffix:5} 导入 {r['read']:,} 行（接收 {r['accepted']:,}，拒收 {r['rejected']:,}，"
              f"警告 {r['warnings']}）：{r['seconds']:.1f} 秒（CPU {r['cpu']:.1f} 秒；目标 < {t_max} 秒），"
              f"峰值内存 {r['peak_mb']:.0f} MB{mem} "
              f"{'✓' if good else '✗（按 CPU 时间达标，机器繁忙）' if cpu_good else '✗'}")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(f"注意：本机负载 {load:.1f}（{os.cpu_count()} 核），墙钟时间偏长；CPU 时间接近空闲机器上的耗时。")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
