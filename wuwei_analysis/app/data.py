"""What the app shows, computed once and cached: observations, assessments, forecasts.

:class:`AppData` reads the monitoring database once (every current observation, one
query) and computes, per (region, indicator), one :class:`Item`: the assessment row (status,
p_meet, warnings …, exactly as ``assessment.assess`` makes it) and the forecast drawn on the
chart (the forecast the assessment returned, so chart and table agree). Items are
kept in memory and in a :class:`~wuwei_analysis.app.cache.DiskCache` shared by all kernels.
A background :class:`Warmer` computes the items the user is likely to ask for next: the
current domain of the current region first, then the rest of the region, then the other
regions. Nothing here touches a widget.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..indicator_catalog import Indicator
from ..indicator_catalog import indicator as _indicator
from ..indicator_catalog import indicators as _indicators
from ..indicator_catalog import units as _units
from ..geography import all_regions, monitored
from ..geography import region as _region
from ..svgchart import finite as _finite
from .cache import DiskCache
from .whatif import observed_rate, scenario_mode

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: The indicator shown first, if it has data (else the first monitorable one that has).
DEFAULT_INDICATOR = "c_infant_mortality"


def _clean(v: Any) -> Any:
    """NaN / NA / NaT -> None; numpy scalars -> Python scalars."""
    if v is None:
        return None
    try:
        import pandas as pd

        if pd.isna(v) is True:
            return None
    except (TypeError, ValueError):
        return v
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    return v


@dataclass
class Item:
    """The computed result for one (region, indicator)."""

    row: dict                                 # the assessment row (ASSESS_COLUMNS)
    forecast: "pd.DataFrame | None" = None    # year, mean, lo80, hi80, lo95, hi95 (+ attrs)
    error: str = ""                           # why there is no forecast


@dataclass
class View:
    """One indicator in one region: everything the chart, summary and what-if need."""

    region: str
    ind: Indicator
    history: "pd.DataFrame"                  # year, value, source, illustrative, provisional
    benchmarks: dict[str, "pd.DataFrame"]    # 甘肃省 / 全国 -> same columns
    forecast: "pd.DataFrame | None"
    forecast_error: str = ""
    status: dict = field(default_factory=dict)   # the assessment row
    threshold: float | None = None
    base_value: float | None = None
    bounds: tuple[float | None, float | None] = (None, None)
    decimals: int = 2

    @property
    def illustrative(self) -> bool:
        h = self.history
        return bool(len(h) and h["illustrative"].astype(bool).any()) or \
            bool(self.status.get("illustrative") is True)

    @property
    def latest(self) -> tuple[int | None, float | None]:
        if not len(self.history):
            return None, None
        row = self.history.iloc[-1]
        return int(row["year"]), float(row["value"])

    @property
    def mode(self) -> str | None:
        return scenario_mode(self.ind.target, self.ind.direction)

    def observed_rate(self) -> float | None:
        h = self.history
        return observed_rate(h["year"].tolist(), h["value"].tolist(), mode=self.mode,
                             toward=self.threshold if self.mode == "toward" else None)


class AppData:
    """Cached access to the data the app shows (thread-safe; see module docstring).

    Args:
        db: a database path, or None for ``$WUWEI_DB`` / the default database.
        disk_cache: share results between kernels on disk (default True).
    """

    def __init__(self, db: "str | os.PathLike | None" = None, *, disk_cache: bool = True
                 ) -> None:
        from ..settings import default_db_path

        self.db = str(Path(db).expanduser()) if db is not None else str(default_db_path())
        self._lock = threading.RLock()
        self._obs: "pd.DataFrame | None" = None
        self._totals: dict[tuple[str, str], "pd.DataFrame"] = {}
        self._series: dict[tuple[str, str], tuple["pd.DataFrame", str]] = {}
        self._items: dict[tuple[str, str], Item] = {}
        self._views: dict[tuple[str, str], View] = {}
        self._goal_counts: dict[str, dict[str, int]] = {}
        self.disk = DiskCache.for_db(self.db) if disk_cache else DiskCache(None)
        self.timings: dict[str, float] = {}
        self.computed = 0   # items computed by this process (not loaded)

    # ------------------------------------------------------------------ catalogue
    @staticmethod
    def regions() -> list[str]:
        return [r.name for r in monitored()]

    @staticmethod
    def benchmark_regions() -> list[str]:
        return [r.name for r in all_regions() if r.role == "benchmark"]

    @staticmethod
    def indicators(domain: str | None = None) -> list[Indicator]:
        """Monitorable indicators (those data can judge), optionally of one domain."""
        return [i for i in _indicators()
                if i.monitorable and i.target.kind != "qualitative"
                and (not domain or i.domain == domain)]

    @staticmethod
    def domains() -> list[tuple[str, str]]:
        """(code, Chinese name) of the domains that have monitorable indicators."""
        seen: dict[str, str] = {}
        for i in AppData.indicators():
            seen.setdefault(i.domain, i.domain_zh)
        return list(seen.items())

    def default_indicator(self, region: str) -> str:
        ids = [i.id for i in self.indicators()]
        if DEFAULT_INDICATOR in ids and self.has_data(DEFAULT_INDICATOR, region):
            return DEFAULT_INDICATOR
        return next((i for i in ids if self.has_data(i, region)),
                    DEFAULT_INDICATOR if DEFAULT_INDICATOR in ids else ids[0])

    # ------------------------------------------------------------------ observations
    def observations(self) -> "pd.DataFrame":
        """Every current observation (all breakdowns), read once (or loaded from disk)."""
        with self._lock:
            if self._obs is None:
                t = time.perf_counter()
                obs = self.disk.get("observations")
                if obs is None:
                    from ..database import observations

                    obs = observations(breakdown="all", db=self.db)
                    self.disk.put("observations", obs)
                self._obs = obs
                tot = obs[(obs["sex"] == "") & (obs["urban_rural"] == "")
                          & (obs["age_group"] == "")]
                self._totals = {k: g for k, g in tot.groupby(["indicator", "region"], sort=False)}
                self.timings["observations"] = time.perf_counter() - t
            return self._obs

    def _total_rows(self, indicator: str, region: str) -> "pd.DataFrame | None":
        self.observations()
        return self._totals.get((indicator, region))

    def has_data(self, indicator: str, region: str) -> bool:
        return len(self.series(indicator, region)[0]) > 0

    def series(self, indicator: str, region: str) -> tuple["pd.DataFrame", str]:
        """The region's annual series as assess uses it: (history rows, note).

        History columns: year, value, source, illustrative, provisional. A gap indicator
        without rows of its own gets its gap computed from breakdown rows, as assess does.
        """
        key = (indicator, region)
        hit = self._series.get(key)
        if hit is None:
            hit = self._make_series(indicator, region)
            self._series[key] = hit
        return hit

    def _make_series(self, indicator: str, region: str) -> tuple["pd.DataFrame", str]:
        import pandas as pd

        from ..models.series import to_series

        ind = _indicator(indicator)
        cols = ["year", "value", "source", "illustrative", "provisional"]
        rows = self._total_rows(ind.id, region)
        if rows is not None:
            s = to_series(rows)
            if s.rows is not None and len(s.rows):
                h = s.rows[[c for c in cols if c in s.rows]].copy()
                h["year"] = h["year"].astype(int)
                h["value"] = h["value"].astype(float)
                return h.sort_values("year").reset_index(drop=True), ""
        if ind.target.kind == "gap":
            # no rows of its own: the gap the assessment computed (from breakdowns or
            # counties), from the disk cache (warm.py fills it for every region, the
            # benchmarks included): a page kernel never imports the engine for it
            name = self._gap_key_name(ind.id, region)
            h = self.disk.get(name)
            if h is None:
                h = self._compute_gap_series(ind.id, region)
                self.disk.put(name, h)
            if len(h):
                return h, ""
        empty = pd.DataFrame({"year": pd.Series(dtype="int64"),
                              "value": pd.Series(dtype="float64"),
                              "source": pd.Series(dtype=object),
                              "illustrative": pd.Series(dtype=bool),
                              "provisional": pd.Series(dtype=bool)})
        return empty, ""

    @staticmethod
    def _gap_key_name(indicator: str, region: str) -> str:
        return f"gapseries-{_region(region).code}-{indicator}"

    def _compute_gap_series(self, indicator: str, region: str) -> "pd.DataFrame":
        """The history of a gap indicator without rows of its own, as the assessment
        computes it (empty if it cannot)."""
        import pandas as pd

        from .. import assessment

        fcs: dict = {}
        try:
            assessment.assess_frame(self.observations(), region, indicators=[indicator],
                                    forecasts=fcs)
        except Exception:  # pragma: no cover - defensive: show "no data"
            log.exception("gap series of %s in %s failed", indicator, region)
        fc = fcs.get(indicator)
        hist = (fc.attrs.get("history") if fc is not None else None) or {}
        h = pd.DataFrame({"year": list(hist.get("year") or []),
                          "value": list(hist.get("value") or [])})
        h["year"] = h["year"].astype("int64")
        h["value"] = h["value"].astype(float)
        h["source"] = ""
        h["illustrative"] = bool(fc.attrs.get("illustrative")) if fc is not None else False
        h["provisional"] = False
        return h

    def series_regions(self) -> list[str]:
        """Every region a page can draw: the monitored ones and the benchmarks."""
        return self.regions() + [b for b in self.benchmark_regions() if b not in self.regions()]

    def illustrative(self, region: str) -> bool:
        """True if any observation of the region is illustrative (made-up example data)."""
        obs = self.observations()
        sub = obs[obs["region"] == region]
        return bool(len(sub) and sub["illustrative"].astype(bool).any())

    # ------------------------------------------------------------------ items
    @staticmethod
    def _key_name(indicator: str, region: str) -> str:
        return f"item-{_region(region).code}-{indicator}"

    def cached_item(self, indicator: str, region: str) -> Item | None:
        """The item if it is in memory or on disk (never computes)."""
        key = (indicator, region)
        it = self._items.get(key)
        if it is None:
            it = self.disk.get(self._key_name(indicator, region))
            if it is not None:
                with self._lock:
                    it = self._items.setdefault(key, it)
        return it

    def has_item(self, indicator: str, region: str) -> bool:
        return (indicator, region) in self._items or \
            self.disk.has(self._key_name(indicator, region))

    def item(self, indicator: str, region: str, *, keep: bool = True) -> Item:
        """The assessment row and forecast of an indicator in a region (cached; with
        ``keep=False`` a newly computed item goes to the disk cache only, not to memory)."""
        it = self.cached_item(indicator, region)
        if it is not None:
            return it
        it = self._compute_item(indicator, region)
        self.computed += 1
        self.disk.put(self._key_name(indicator, region), it)
        if not keep:
            return it
        with self._lock:
            return self._items.setdefault((indicator, region), it)

    def _compute_item(self, indicator: str, region: str) -> Item:
        ind = _indicator(indicator)
        t = ind.target
        forecasts: dict = {}
        try:
            from .. import assessment

            df = assessment.assess_frame(self.observations(), region, indicators=[ind.id],
                                         forecasts=forecasts)
            row = {k: _clean(v) for k, v in df.iloc[0].to_dict().items()}
        except Exception as exc:
            log.exception("assessing %s in %s failed", ind.id, region)
            return Item(row={"indicator": ind.id, "status": "数据不足",
                             "status_code": "insufficient", "reason": f"评估失败：{exc}"},
                        error=f"评估失败：{exc}")
        hist, _ = self.series(ind.id, region)
        if t.kind == "qualitative":
            return Item(row=row, error="定性目标，不作预测")
        if not len(hist):
            return Item(row=row, error="该地区暂无此指标的数据")
        fc = forecasts.get(ind.id)     # the forecast the status rests on (no second fit)
        if fc is None:
            from ..engine.rules import STATUS_RULES
            from ..vocab.messages import say

            n = int(row.get("n_points") or 0)
            few = n < STATUS_RULES["min_points"]
            return Item(row=row, error=say("no_forecast", n=n, min_points=STATUS_RULES[
                "min_points"]) if few else str(row.get("reason") or ""))
        return Item(row=row, forecast=fc)

    def status_row(self, indicator: str, region: str) -> dict:
        return self.item(indicator, region).row

    def forecast(self, indicator: str, region: str) -> tuple["pd.DataFrame | None", str]:
        it = self.item(indicator, region)
        return it.forecast, it.error

    def rows(self, region: str, indicators: Iterable[str] | None = None, *,
             compute: bool = True) -> list[dict]:
        """Assessment rows of a region (by default all monitorable indicators); with
        ``compute=False`` only those already cached."""
        ids = list(indicators) if indicators is not None else [i.id for i in self.indicators()]
        out = []
        for iid in ids:
            it = self.item(iid, region) if compute else self.cached_item(iid, region)
            if it is not None:
                out.append(it.row)
        return out

    def assessment(self, region: str) -> "pd.DataFrame":
        """The region's assessment of all monitorable indicators (computed as needed)."""
        import pandas as pd

        return pd.DataFrame(self.rows(region))

    def goal_counts(self, region: str) -> dict[str, int]:
        """The region's counts over the plans' 主要目标 (:func:`wuwei_analysis.goals.goal_counts`
        of one assessment of every indicator: the brief's and the CLI's numbers); cached."""
        key = f"goals-{_region(region).code}"
        with self._lock:
            c = self._goal_counts.get(key)
        if c is None:
            c = self.disk.get(key)
            if c is None:
                from .. import assessment
                from ..goals import goal_counts

                c = goal_counts(assessment.assess_frame(self.observations(), region))
                self.disk.put(key, c)
            with self._lock:
                c = self._goal_counts.setdefault(key, c)
        return c

    # ------------------------------------------------------------------ views
    def view(self, indicator: str, region: str) -> View:
        """Everything about one indicator in one region (cached)."""
        key = (indicator, region)
        v = self._views.get(key)
        if v is not None:
            return v
        ind = _indicator(indicator)
        hist, _note = self.series(ind.id, region)
        bench = {}
        for b in self.benchmark_regions():
            bh, _ = self.series(ind.id, b)
            if len(bh):
                bench[b] = bh
        it = self.item(ind.id, region)
        threshold, base_value = _threshold(ind, it.forecast, it.row)
        u = _units().get(ind.unit, {})
        v = View(region=region, ind=ind, history=hist, benchmarks=bench, forecast=it.forecast,
                 forecast_error=it.error, status=it.row, threshold=threshold,
                 base_value=base_value, bounds=(_finite(u.get("min")), _finite(u.get("max"))),
                 decimals=int(u.get("decimals", 2)))
        with self._lock:
            return self._views.setdefault(key, v)


def _threshold(ind: Indicator, fc: "pd.DataFrame | None", row: dict
               ) -> tuple[float | None, float | None]:
    """The target's number in this region and the base value of a relative target, as
    assess computed them (its ``threshold`` / ``base_value`` columns)."""
    t = ind.target
    if t.kind not in ("at_most", "at_least", "around", "relative_change"):
        return None, None
    thr = _finite(row.get("threshold"))
    base_value = _finite(row.get("base_value"))
    if thr is None and fc is not None:
        thr = _finite((fc.attrs or {}).get("threshold"))
    if thr is None and t.kind != "relative_change":
        thr = _finite(t.threshold())
    return thr, base_value


class Warmer(threading.Thread):
    """Computes (or loads) items in the background, most useful first.

    ``plan(region, first)`` restarts the queue: the ``first`` indicators of ``region``, the
    rest of ``region``, then the other regions in the same order. The thread pauses while a
    user callback runs (``busy`` is set), skips items another kernel is computing (their
    result is picked up from disk later), and calls ``on_progress(region, indicator)`` after
    each item so the page can fill in its status table.
    """

    def __init__(self, data: AppData, *, on_progress: Callable[[str, str], None] | None = None,
                 pause: float = 0.001) -> None:
        super().__init__(name="wuwei-app-warmer", daemon=True)
        self.data = data
        self.on_progress = on_progress
        self.pause = pause
        self.busy = threading.Event()       # set while a callback runs
        self.done = threading.Event()
        self._stop_event = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._queue: list[tuple[str, str]] = []   # (indicator, region)
        self._deferred: list[tuple[str, str]] = []
        self._region: str | None = None

    def plan(self, region: str, first: Iterable[str] = ()) -> None:
        """Queue every (indicator, region), the given region and indicators first."""
        inds = [i.id for i in self.data.indicators()]
        first = [i for i in first if i in inds]
        rest = [i for i in inds if i not in first]
        regions = [region] + [r for r in self.data.regions() if r != region]
        q = [(i, r) for r in regions for i in first + rest]
        with self._lock:
            self._queue = q
            self._deferred = []
            self._region = region
        self.done.clear()
        self._wake.set()

    def stop(self) -> None:
        self._stop_event.set()
        self._wake.set()

    def _next(self) -> tuple[str, str] | None:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            if self._deferred:   # claimed by another kernel: wait a little, then look again
                item = self._deferred.pop(0)
                return item
            return None

    def run(self) -> None:
        try:   # Linux: this thread only runs when the page and other kernels do not
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while not self._stop_event.is_set():
            item = self._next()
            if item is None:
                self.done.set()
                self._wake.wait()
                self._wake.clear()
                continue
            while self.busy.is_set() and not self._stop_event.is_set():
                time.sleep(0.005)
            ind, region = item
            try:
                # other regions: only make sure the shared disk cache has them (a kernel
                # keeps in memory what its page shows, not every region: < 200 MB)
                if region != self._region:
                    if not self.data.has_item(ind, region):
                        name = self.data._key_name(ind, region)
                        if self.data.disk.claim(name):
                            try:
                                self.data.item(ind, region, keep=False)
                            finally:
                                self.data.disk.release(name)
                    continue
                if self.data.cached_item(ind, region) is None:
                    name = self.data._key_name(ind, region)
                    if not self.data.disk.claim(name):
                        with self._lock:
                            self._deferred.append(item)
                        time.sleep(0.05)
                        continue
                    try:
                        self.data.item(ind, region)
                    finally:
                        self.data.disk.release(name)
                if self.on_progress is not None:
                    self.on_progress(region, ind)
            except Exception:
                log.exception("warming %s in %s failed", ind, region)
            time.sleep(self.pause)
