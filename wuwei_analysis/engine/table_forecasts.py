"""Forecasts for every series of a long table at once (the vectorised ``forecast``).

``forecast_many(obs)`` gives, for each series of ``obs`` (indicator × region × breakdown),
what :func:`wuwei_analysis.models.forecast_series` gives for it with the indicator's unit,
target and direction (``model="auto"``, calibrated intervals, horizon 2030): a summary row
per series and, with ``table=True``, the forecast table (every future year: the median — the
point forecast —, 80 % and 95 % intervals; ``mean`` the same numbers, its old name). The series are built as :func:`wuwei_analysis.models.series.to_series`
builds them (one value per year; numerators and denominators used when every denominator
is there). ``engine="per-series"`` computes the same with one ``forecast_series`` call per
series (the statsmodels path: for comparisons and benchmarks).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .table_assessment import _index, _normalise_columns
from .vector_models import SeriesBatch, Targets, forecast_batch, pooled_rates

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_COLUMNS = ["series", "indicator", "region_code", "sex", "urban_rural", "age_group",
                   "n_points", "model", "p_meet", "aarr", "annual_change", "target_year",
                   "forecast_value", "forecast_lo80", "forecast_hi80", "score_primary",
                   "score_naive", "pooled_rate", "pooled_years", "pooled_from",
                   "pooled_events"]


def forecast_many(obs: "pd.DataFrame", *, horizon_year: int = 2030, table: bool = True,
                  engine: str = "vectorized", year: int | None = None
                  ) -> tuple["pd.DataFrame", "pd.DataFrame | None"]:
    """(summary, forecast table) for every series of ``obs`` (see the module docstring).

    ``summary``: SUMMARY_COLUMNS, one row per series (``series`` numbers them);
    ``table``: series, year, median, mean (alias of median), lo80, hi80, lo95, hi95 (None
    if ``table=False``).
    ``year`` limits the data to that year and before.
    """
    import pandas as pd

    from ..indicator_catalog import indicators as all_inds
    from ..models import forecast_series
    from ..models.core import resolve_spec

    by_id = {i.id: i for i in all_inds()}
    codes = {}
    df = _known_rows(_normalise_columns(obs, regions=False, codes=codes), by_id, codes)
    ymax = np.full(len(df["indicator"]), np.inf if year is None else float(year))
    rs_cache = {}

    def rate_scale_of(i):
        if i not in rs_cache:
            rs_cache[i] = resolve_spec(by_id[i].unit).rate_scale
        return rs_cache[i]

    idx = _index(df, ymax, rate_scale_of, codes)
    b = idx.batch
    S = len(b)
    ind_of = idx.keys["indicator"]
    primary = np.empty(S, object)
    scale = np.empty(S, object)
    rs = np.empty(S)
    thr = np.full(S, np.nan)
    base = np.full(S, np.nan)
    M = b.mask
    tg = Targets.none(S)
    for i_id, sel in _groups(ind_of):               # rows of each indicator
        ind = by_id[str(i_id)]
        t = ind.target
        dr = _direction(ind)
        hd_all, us_all = idx.has_den[sel], b.use_counts[sel]
        for hd in (False, True):
            for us in (False, True):
                s2 = sel[(hd_all == hd) & (us_all == us)]
                if not len(s2):
                    continue
                sp = resolve_spec(ind.unit, has_counts=hd, target_kind=t.kind, direction=dr)
                if not us and sp.primary == "poisson":
                    sp = resolve_spec(ind.unit, has_counts=False, target_kind=t.kind,
                                      direction=dr)
                primary[s2], scale[s2], rs[s2] = sp.primary, sp.scale.kind, sp.rate_scale
        if t.kind == "relative_change":
            hit = (b.x[sel] == float(t.base_year)) & M[sel]
            base[sel] = np.where(hit.any(axis=1), np.where(hit, b.y[sel], 0.0).sum(axis=1),
                                 np.nan)
            thr[sel] = base[sel] * (1.0 + float(t.change))
        elif t.kind in ("at_most", "at_least", "around") and t.value is not None:
            thr[sel] = float(t.value)
        tg.kind[sel] = t.kind if t.kind != "qualitative" else ""
        tg.year[sel] = int(t.year)
        tg.tolerance[sel] = np.nan if t.tolerance is None else float(t.tolerance)
        tg.change[sel] = np.nan if t.change is None else float(t.change)
        tg.good[sel] = -1.0 if (t.kind == "gap" or t.direction == "down") else 1.0
    tg.threshold[:] = thr

    def per_series(i):
        ind = by_id[str(ind_of[i])]
        k = int(b.n[i])
        cnt = expo = None
        if idx.has_den[i]:
            expo = idx.den[i, :k]
            cnt = idx.num[i, :k] if idx.has_num[i] else None
        return forecast_series(b.x[i, :k], b.y[i, :k], unit=ind.unit, target=ind.target,
                               counts=cnt, exposures=expo, horizon_year=horizon_year,
                               direction=_direction(ind, own=True),
                               base_value=None if np.isnan(base[i]) else float(base[i]))

    res = forecast_batch(SeriesBatch(b.x, b.y, b.n, b.c, b.e, b.use_counts),
                         primary=primary, scale=scale, rate_scale=rs, targets=tg,
                         horizon_year=horizon_year, table=table, per_series_fn=per_series,
                         engine=engine)
    summary = pd.DataFrame({
        "series": np.arange(S), "indicator": ind_of, "region_code": idx.keys["region_code"],
        "sex": idx.keys["sex"], "urban_rural": idx.keys["urban_rural"],
        "age_group": idx.keys["age_group"], "n_points": b.n, "model": res.model,
        "p_meet": res.p_meet, "aarr": res.aarr, "annual_change": res.annual_change,
        "target_year": tg.year, "forecast_value": res.target_mean,
        "forecast_lo80": res.target_lo80, "forecast_hi80": res.target_hi80,
        "score_primary": res.scores["primary"], "score_naive": res.scores["naive"],
        **pooled_rates(b, rs)},
        columns=SUMMARY_COLUMNS, copy=False)     # the arrays are this frame's own
    return summary, res.table


def series_inputs(obs, *, horizon_year: int = 2030, year: int | None = None) -> list[dict]:
    """The ``forecast_series`` keyword arguments of every series of ``obs``, in the order
    of :func:`forecast_many`'s ``series`` numbers (for running the per-series path
    directly, e.g. in benchmarks)."""
    from ..indicator_catalog import indicators as all_inds
    from ..models.core import resolve_spec

    by_id = {i.id: i for i in all_inds()}
    codes = {}
    df = _known_rows(_normalise_columns(obs, regions=False, codes=codes), by_id, codes)
    ymax = np.full(len(df["indicator"]), np.inf if year is None else float(year))
    idx = _index(df, ymax, lambda i: resolve_spec(by_id[i].unit).rate_scale, codes)
    b = idx.batch
    out = []
    for i in range(len(b)):
        ind = by_id[str(idx.keys["indicator"][i])]
        t = ind.target
        k = int(b.n[i])
        x, y = b.x[i, :k].copy(), b.y[i, :k].copy()
        cnt = expo = None
        if idx.has_den[i]:
            expo = idx.den[i, :k].copy()
            cnt = idx.num[i, :k].copy() if idx.has_num[i] else None
        base = None
        if t.kind == "relative_change":
            hit = np.nonzero(x == t.base_year)[0]
            base = float(y[hit[0]]) if len(hit) else None
        out.append(dict(years=x, values=y, unit=ind.unit, target=t, counts=cnt,
                        exposures=expo, horizon_year=horizon_year,
                        direction=_direction(ind, own=True), base_value=base))
    return out


def _known_rows(cols: dict, by_id: dict, codes: dict) -> dict:
    """The rows of catalogue indicators (columns as arrays; ``codes`` filtered alike)."""
    import pandas as pd

    known = pd.Index(list(by_id)).get_indexer(cols["indicator"]) >= 0
    if known.all():
        return cols
    for c, (cc, uu) in list(codes.items()):
        codes[c] = (cc[known], uu)
    return {c: v[known] for c, v in cols.items()}


def _groups(values: np.ndarray):
    """(value, row numbers) for each distinct value (hashing, one sort of small integers)."""
    import pandas as pd

    codes, uniq = pd.factorize(values)
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=len(uniq)))
    return zip(uniq, np.split(order, ends[:-1]))


def _direction(ind, own: bool = False):
    """The direction ``forecast_series`` resolves for an indicator's target."""
    dr = ind.direction if ind.direction in ("up", "down", "target") else None
    if own:
        return dr
    t = ind.target
    if dr is None and t.lower_is_better is not None:
        dr = "down" if t.lower_is_better else "up"
    return dr
