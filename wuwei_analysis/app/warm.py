"""Fill the app's shared disk cache once, in its own low-priority process.

``wuwei app`` runs ``python -m wuwei_analysis.app.warm`` before the server starts: every
(region, indicator) result is computed here (niced, one process) and stored in the disk
cache that all kernels read. Kernels then load results in milliseconds instead of each
fitting models (which costs CPU while officials' pages load, and memory in every kernel).
Results another process is computing (claimed) are skipped; the process exits when done.
"""
from __future__ import annotations

import os
import sys
import time


def warm(db: str | None = None) -> tuple[int, int]:
    """Compute every missing result into the disk cache; return (computed, total)."""
    from ..database import open_db
    from .data import AppData

    # open (create, or fill with the default dataset) before the cache's fingerprint of
    # the database's content is taken: results must be stored under the content they used
    open_db(db).close()
    data = AppData(db)
    ids = [i.id for i in data.indicators()]
    total = computed = 0
    for region in data.regions():
        for iid in ids:
            total += 1
            if data.has_item(iid, region):
                continue
            name = data._key_name(iid, region)
            if not data.disk.claim(name):
                continue
            try:
                data.item(iid, region, keep=False)
                computed += 1
            finally:
                data.disk.release(name)
    # the headline goal counts too: a page kernel that had to compute them would import
    # the whole engine and scipy (+60 MB) and fit every indicator while its page loads
    for region in data.regions():
        data.goal_counts(region)
    # and the history of every gap indicator without rows of its own, in every region a
    # chart draws (the benchmarks 甘肃省 / 全国 too): computing one imports the engine
    gaps = [i.id for i in data.indicators() if i.target.kind == "gap"]
    for region in data.series_regions():
        for iid in gaps:
            data.series(iid, region)
    return computed, total


def main() -> int:
    try:
        os.nice(10)
    except OSError:
        pass
    t0 = time.perf_counter()
    computed, total = warm(os.environ.get("WUWEI_DB") or None)
    print(f"应用缓存已就绪：计算 {computed} 项，共 {total} 项，用时 "
          f"{time.perf_counter() - t0:.0f} 秒", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
