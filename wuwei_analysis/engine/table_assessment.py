"""The assessment — the one implementation: every region × indicator (× breakdown) of a
long table, one row each with status, two-column status, p_meet, forecast, warnings and the
Chinese reason.

``assess_many(obs)`` assesses each region in ``obs`` (or in ``regions``); ``wa.assess`` /
``assessment.assess_frame`` are its one-region case. The thresholds and the status decision
are in :mod:`.rules`, the sentences in :mod:`wuwei_analysis.vocab.messages`; the warning
signals (stale, small numbers, volatile, moving away, outliers) and the mid-term / final
progress rule are computed here, column-wise. Forecasts come from the vectorised models of
:mod:`.vector_models` or (``engine="per-series"``, and ``"auto"`` for few series) from
``models.forecast_series`` one series at a time — the statsmodels reference, equal to 1e-8
(``tests/test_engine.py``). With ``breakdowns=True`` each sex / urban–rural / age-group
series of an indicator is assessed too, against the indicator's target, as a row of its own
(columns ``sex``, ``urban_rural``, ``age_group``; blank = the total).

Regions need not be in ``data/regions.yaml`` (a synthetic province or the whole country):
an unknown region code is taken as a county-level unit named by the ``region`` column, or
by the ``region_level`` / ``region_parent`` columns when the table has them.

``assess_all(obs, executor=…)`` splits the regions into groups (a city's or province's
counties travel with it, for the between-county gap) and runs ``assess_many`` on each with
:func:`wuwei_analysis.executors.map_tasks`; the concatenation is the same table.

Layer: engine — may use models, catalog, regions, vocab; never ``assessment``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..vocab.messages import LEVEL_ZH, percent_int, say, trend_phrase
from ..vocab.numbers import format_change, format_number, format_prob, format_range, format_value
from ..settings import FINAL_YEAR, MIDTERM_YEAR
from .rules import (
    ASSESS_COLUMNS, KINDS, STATUS_RULES, decide, labels, status_for_progress, threshold_status,
    trend_status,
)
from .vector_models import (
    SeriesBatch, Targets, _last, forecast_batch, meets, pack_long, pooled_rates, to_scale,
    trend_confidence, trend_p_values,
)

if TYPE_CHECKING:
    import pandas as pd

BREAKDOWN_COLUMNS = ("sex", "urban_rural", "age_group")
#: Extra columns of ``assess_many`` after ASSESS_COLUMNS.
EXTRA_COLUMNS = ["region_code", "sex", "urban_rural", "age_group"]
_GAP_GROUPS = {"urban_rural": ("urban_rural", ("农村",), ("城镇", "城市")),
               "sex": ("sex", ("女",), ("男",))}
_NUM = ("value", "numerator", "denominator")


# =============================================================================== indicators
_GAP_SUFFIX = re.compile(r"_(urban_rural|sex|region)_gap$")
_ID_IN_TEXT = re.compile(r"\b[wc]_[a-z0-9]+(?:_[a-z0-9]+)*\b")


def resolve_indicators(indicators=None) -> list:
    """Indicator objects for ids / names / Indicator objects (one or several); the whole
    catalogue for None."""
    from ..indicator_catalog import Indicator, indicator as find_indicator, indicators as all_indicators

    if indicators is None:
        return list(all_indicators())
    if isinstance(indicators, (str, Indicator)):
        indicators = [indicators]
    return [i if isinstance(i, Indicator) else find_indicator(i) for i in indicators]


def _gap_base_id(ind, known: set[str]) -> str | None:
    """The indicator whose breakdown gives this gap indicator's gap."""
    if ind.target.reference and ind.target.reference in known:
        return ind.target.reference
    base = _GAP_SUFFIX.sub("", ind.id)
    if base != ind.id and base in known:
        return base
    for text in (ind.notes, ind.definition):
        for cand in _ID_IN_TEXT.findall(text or ""):
            if cand in known and cand != ind.id:
                return cand
    return None


def county_range(series, src: str):
    """The between-county gap of one indicator: for each year with at least two counties'
    values, their range (max − min). ``series``: the counties' Series. Returns (years,
    gaps, note, illustrative), or None when no year has two values."""
    per: dict[int, list[float]] = {}
    ill = False
    for s in series:
        ill |= s.illustrative
        for y, v in zip(s.years, s.values):
            per.setdefault(int(y), []).append(v)
    yrs = sorted(y for y, vs in per.items() if len(vs) >= 2)
    if not yrs:
        return None
    gaps = [max(per[y]) - min(per[y]) for y in yrs]
    return (np.array(yrs, float), np.array(gaps, float), say("gap_county_range", source=src),
            ill)


# =============================================================================== regions
@dataclass
class RegionTable:
    code: list
    name: list
    level: list
    parent: list
    known: list          # in data/regions.yaml


def _region_codes(regions) -> list[str]:
    """Codes for names, aliases or codes; a key the YAML does not know is taken as a code
    of the table (a synthetic or another province's region)."""
    from ..geography import region as find_region

    codes = []
    for r in regions:
        try:
            codes.append(find_region(r).code)
        except Exception:
            codes.append(str(r))
    return codes


def _region_table(obs, regions) -> RegionTable:
    from ..geography import all_regions

    if regions is None:
        codes = list(dict.fromkeys(obs["region_code"].tolist()))
    else:
        codes = _region_codes(regions)
    yaml_regions = {r.code: r for r in all_regions()}
    first = obs.drop_duplicates("region_code").set_index("region_code")
    out = RegionTable([], [], [], [], [])
    for c in codes:
        if c in yaml_regions:
            r = yaml_regions[c]
            out.code.append(c), out.name.append(r.name), out.level.append(r.level)
            out.parent.append(r.parent), out.known.append(True)
            continue
        row = first.loc[c] if c in first.index else None
        name = str(row["region"]) if row is not None and "region" in first and \
            str(row["region"]) else c
        level = str(row["region_level"]) if row is not None and "region_level" in first \
            else "county"
        parent = str(row["region_parent"]) if row is not None and "region_parent" in first \
            else None
        out.code.append(c), out.name.append(name), out.level.append(level)
        out.parent.append(parent), out.known.append(False)
    return out


# =============================================================================== table
def _str_col(col, codes_out: dict | None = None, name: str = ""):
    """A column as stripped strings ("" for missing), fast for categoricals and repeats.
    With ``codes_out``, ``codes_out[name]`` = (codes, sorted values) as :func:`_codes`
    gives them (the sorted values may hold some that no row has)."""
    import pandas as pd

    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    clean = np.array(["" if (v is None or (isinstance(v, float) and math.isnan(v))
                             or v is pd.NA) else str(v).strip() for v in uniq] + [""],
                     dtype=object)
    if codes_out is not None:
        srt, inv = np.unique(clean.astype(str), return_inverse=True)
        codes_out[name] = (inv.reshape(-1)[codes].astype(np.int64), srt.astype(object))
    return clean[codes]


def _normalise(obs):
    """The columns the assessment needs, typed; region codes filled in from names."""
    import pandas as pd

    return pd.DataFrame(_normalise_columns(obs))


def _normalise_columns(obs, regions: bool = True, codes: dict | None = None) -> dict:
    """:func:`_normalise` as a dict of arrays; ``regions=False`` leaves out the region
    name, level and parent (not needed to build the series); ``codes`` (a dict) receives
    the sorted codes of the key columns (for :func:`_index`)."""
    import pandas as pd

    out = {}
    out["indicator"] = _str_col(obs["indicator"], codes, "indicator")
    for c in BREAKDOWN_COLUMNS:
        out[c] = _str_col(obs[c], codes, c) if c in obs else _blank(len(obs), codes, c)
    code_codes = {} if codes is not None else None
    code = _str_col(obs["region_code"], code_codes, "region_code") if "region_code" in obs \
        else np.full(len(obs), "", object)
    blank = code == ""
    if regions or blank.any():
        out["region"] = _str_col(obs["region"]) if "region" in obs else \
            np.full(len(obs), "", object)
    if blank.any():
        from ..geography import region as find_region

        names = {}
        for nm in np.unique(out["region"][code == ""]):
            try:
                names[nm] = find_region(nm).code
            except Exception:
                names[nm] = str(nm)
        code = code.copy()
        code[blank] = [names[v] for v in out["region"][blank]]
    out["region_code"] = code
    if code_codes and not blank.any():      # codes filled in from names: no codes kept
        codes.update(code_codes)
    out["year"] = pd.to_numeric(obs["year"], errors="coerce").to_numpy(float)
    for c in _NUM:
        out[c] = pd.to_numeric(obs[c], errors="coerce").to_numpy(float) if c in obs \
            else np.full(len(obs), np.nan)
    for c in ("illustrative", "low_trust", "provisional"):
        out[c] = obs[c].fillna(False).to_numpy(bool) if c in obs else np.zeros(len(obs), bool)
    out["recorded_at"] = _str_col(obs["recorded_at"], codes, "recorded_at") \
        if "recorded_at" in obs else _blank(len(obs), codes, "recorded_at")
    for c in ("region_level", "region_parent"):
        if c in obs and regions:
            out[c] = _str_col(obs[c])
    return out


def _blank(n: int, codes: dict | None, name: str) -> np.ndarray:
    """A column of "" (absent from the table), and its codes."""
    if codes is not None:
        codes[name] = (np.zeros(n, np.int64), np.array([""], object))
    return np.full(n, "", object)


def _codes(values):
    import pandas as pd

    codes, uniq = pd.factorize(values, sort=True)
    return codes.astype(np.int64), uniq


_KEYS = ("indicator", "region_code", *BREAKDOWN_COLUMNS)


@dataclass
class SeriesIndex:
    """De-duplicated series (one value per year) with a vectorised look-up by key."""

    batch: SeriesBatch
    uniques: list           # per key column: pandas Index of its values
    kk: np.ndarray          # combined key per series (sorted)
    keys: dict              # per key column: the value of each series
    illustrative: np.ndarray
    low_trust: np.ndarray
    provisional: np.ndarray
    has_num: np.ndarray
    has_den: np.ndarray
    num: np.ndarray         # raw numerators (S × T)
    den: np.ndarray

    def lookup(self, **cols) -> np.ndarray:
        """Series numbers for keys given column-wise (arrays or scalars); −1: none."""
        sizes = [np.size(v) for v in cols.values() if np.ndim(v) > 0]
        n = sizes[0] if sizes else 1
        kk = np.zeros(n, np.int64)
        bad = np.zeros(n, bool)
        for name, uq in zip(_KEYS, self.uniques):
            v = cols.get(name, "")
            v = np.broadcast_to(np.asarray(v, object), (n,))
            c = uq.get_indexer(v)
            bad |= c < 0
            kk = kk * (len(uq) + 1) + np.maximum(c, 0)
        pos = np.searchsorted(self.kk, kk)
        pos = np.minimum(pos, max(len(self.kk) - 1, 0))
        hit = (len(self.kk) > 0) & ~bad
        if len(self.kk):
            hit &= self.kk[pos] == kk
        return np.where(hit, pos, -1)

    def sid(self, key) -> int:
        return int(self.lookup(**dict(zip(_KEYS, key)))[0])


def _index(df, year_max: np.ndarray, rate_scale_of, codes: dict | None = None
           ) -> SeriesIndex:
    """``models.series`` semantics for every series of ``df`` (rows already limited to
    year ≤ their region's report year): one value per year, a real value preferred to an
    illustrative one, then the latest recorded."""
    import pandas as pd

    def whole(c):                           # a DataFrame's column or a dict's array
        return df[c].to_numpy() if hasattr(df, "columns") else np.asarray(df[c])

    ok = np.isfinite(whole("value")) & np.isfinite(whole("year"))
    ok &= whole("year") <= year_max
    keep = None if ok.all() else np.nonzero(ok)[0]
    cache = {}

    def col(c):                             # rows kept
        if c not in cache:
            cache[c] = whole(c) if keep is None else whole(c)[keep]
        return cache[c]

    known = {} if codes is None else codes

    def codes_of(c):                        # sorted codes of the rows kept
        if c in known:
            cc, uu = known[c]
            return (cc if keep is None else cc[keep]), uu
        return _codes(col(c))

    kk = np.zeros(int(ok.sum()), np.int64)
    uniques = []
    for c in _KEYS:
        cc, uu = codes_of(c)
        uniques.append(pd.Index(uu))
        kk = kk * (len(uu) + 1) + cc
    sid, sid_keys = _codes(kk)
    yr = col("year")
    real = ~col("illustrative")
    rec = codes_of("recorded_at")[0]
    order = _order(sid, yr, real, rec)
    s_o, y_o = sid[order], yr[order]
    last = np.r_[(s_o[1:] != s_o[:-1]) | (y_o[1:] != y_o[:-1]), True] if len(order) \
        else np.zeros(0, bool)
    pick = order[last]
    S = len(sid_keys)
    sid_p = sid[pick]
    first_row = np.zeros(S, np.int64)
    first_row[sid_p[::-1]] = pick[::-1]
    keys = {c: col(c)[first_row] for c in _KEYS}
    ind_u, ind_c = np.unique(keys["indicator"], return_inverse=True) if S else ([], [])
    rs = np.array([rate_scale_of(str(i)) for i in ind_u])[ind_c] if S else np.zeros(0)
    val = col("value")[pick]
    num = col("numerator")[pick]
    den = col("denominator")[pick]
    # pick is in order of series, then year
    batch = pack_long(sid_p, yr[pick], val, num, den, rs, n_series=S, presorted=True)
    # raw numerators / denominators as stored (Series.counts / exposures)
    start = np.zeros(S + 1, np.int64)
    np.cumsum(batch.n, out=start[1:])
    pos = np.arange(len(sid_p)) - start[sid_p]
    raw = np.full(batch.x.shape, np.nan)
    rawd = raw.copy()
    raw[sid_p, pos], rawd[sid_p, pos] = num, den

    def any_(c):
        return np.bincount(sid_p, weights=col(c)[pick].astype(float), minlength=S) > 0

    M = batch.mask
    return SeriesIndex(batch=batch, uniques=uniques, kk=np.asarray(sid_keys, np.int64),
                       keys=keys, illustrative=any_("illustrative"),
                       low_trust=any_("low_trust"), provisional=any_("provisional"),
                       has_num=(M & np.isfinite(raw)).any(axis=1),
                       has_den=(M & np.isfinite(rawd)).any(axis=1), num=raw, den=rawd)


def _order(sid, yr, real, rec) -> np.ndarray:
    """``np.lexsort((rec, real, yr, sid))``: one stable sort of a combined key when the
    years are whole numbers and the key fits (it does for any real table)."""
    if len(sid):
        y0 = yr - yr.min()
        ny, nr, ns = float(y0.max()) + 1, float(rec.max()) + 1, float(sid.max()) + 1
        if (y0 == np.floor(y0)).all() and ns * ny * 2 * nr < 2.0 ** 62:
            key = (sid * int(ny) + y0.astype(np.int64)) * 2 + real
            return np.argsort(key * int(nr) + rec, kind="stable")
    return np.lexsort((rec, real, yr, sid))


@dataclass
class Units:
    """One assessment row each: region, indicator, breakdown and the series used."""

    region: np.ndarray      # index into RegionTable
    ind: np.ndarray         # index into the indicator list
    sex: np.ndarray
    urban_rural: np.ndarray
    age_group: np.ndarray
    sid: np.ndarray         # series in the index (−1: none / derived)
    status: np.ndarray      # preset status ("" = to assess)
    reason: np.ndarray
    gap_note: np.ndarray


#: ``engine="auto"``: the vectorised engine from this many series on, the per-series
#: statsmodels path below (the results are the same; this is only about speed: one region,
#: ≈115 series, takes 0.9 s vectorised and 1.4 s per series; one series 0.2 s and 0.12 s).
AUTO_MIN_SERIES = 50


def assess_many(obs: "pd.DataFrame", regions=None, year: int | None = None, *,
                kind: str = "annual", indicators=None, breakdowns: bool = False,
                texts: bool = True, engine: str = "auto", forecasts: dict | None = None
                ) -> "pd.DataFrame":
    """Assess every region of ``obs`` (or ``regions``) against every catalogue indicator.

    Args:
        obs: observations in the store's columns (indicator, region, region_code, year,
            sex, urban_rural, age_group, value, numerator, denominator, illustrative,
            provisional, low_trust, recorded_at); missing optional columns are taken as
            blank / NaN / False.
        regions: names or codes to assess (default: every region code in ``obs``).
        year: report year for all regions. Default as ``assess_frame``: each region's
            latest year with data (annual), 2025 (midterm), 2030 (final).
        kind: "annual", "midterm" or "final".
        indicators: ids / Indicator objects (default: the whole catalogue).
        breakdowns: also assess each breakdown series (one row each).
        texts: build the Chinese ``reason`` and ``warnings`` texts (False: leave them
            blank, codes only — faster).
        engine: "vectorized", "per-series" (every series by ``forecast_series``) or "auto"
            (vectorised from AUTO_MIN_SERIES series on).
        forecasts: if a dict is given, the forecast table behind each assessed total row
            is put in it — ``{indicator id: DataFrame year, median, mean, lo80 … hi95}``
            for one region, ``{(region code, indicator id): …}`` for several (``median``
            is the point forecast, ``mean`` its old name) — with attrs
            ``model``, ``model_zh``, ``p_meet``, ``target_year``, ``threshold``,
            ``illustrative`` (and, from the per-series path, everything
            ``forecast_series`` puts there), so a chart shows exactly the forecast the
            status rests on, without fitting again.

    Returns:
        ASSESS_COLUMNS plus region_code, sex, urban_rural, age_group; one row per region ×
        indicator (× breakdown), regions in order, indicators in catalogue order, the
        total before its breakdowns. ``attrs``: kind, rules, years (region code → report
        year), engine (counts of rows, modelled series, series handed to the per-series
        path).
    """
    import pandas as pd

    from ..indicator_catalog import indicators as all_inds
    from ..errors import DataError
    from ..models.core import resolve_spec
    from ..models.fit import ForecastError

    if kind not in KINDS:
        raise DataError(say("bad_kind", kinds=", ".join(KINDS), kind=repr(kind)))
    df = _normalise(obs)
    regs = _region_table(df, regions)
    R = len(regs.code)
    inds = resolve_indicators(indicators)
    known = {i.id for i in all_inds()}
    by_id = {i.id: i for i in all_inds()}

    # ---- report year per region; rows limited to it (rows of regions not assessed, kept
    # for between-county gaps, up to the latest year asked)
    years = _report_years(df, regs, year, kind)
    region_pos = pd.Index(regs.code)
    row_region = region_pos.get_indexer(df["region_code"].to_numpy())
    yarr = np.asarray(list(years) + [max(years) if years else FINAL_YEAR], float)
    ymax = yarr[np.where(row_region < 0, len(years), row_region)]
    unit_rs = {}

    def rate_scale_of(ind_id: str) -> float:
        if ind_id not in unit_rs:
            ind = by_id.get(ind_id)
            try:
                unit_rs[ind_id] = resolve_spec(ind.unit).rate_scale if ind else 1.0
            except Exception:
                unit_rs[ind_id] = 1.0
        return unit_rs[ind_id]

    idx = _index(df, ymax, rate_scale_of)

    # ---- units and their series
    units, derived = _units(inds, regs, idx, known, by_id, breakdowns, df, years)
    U = len(units.region)
    T = max(idx.batch.x.shape[1], max((len(d[0]) for d in derived.values()), default=1), 1)
    x = np.full((U, T), np.nan)
    y, c, e = x.copy(), x.copy(), x.copy()
    num, den = x.copy(), x.copy()
    n = np.zeros(U, np.int64)
    use = np.zeros(U, bool)
    ill = np.zeros(U, bool)
    lt = np.zeros(U, bool)
    prov = np.zeros(U, bool)
    has_num = np.zeros(U, bool)
    has_den = np.zeros(U, bool)
    have = units.sid >= 0
    s = units.sid[have]
    b = idx.batch
    tb = b.x.shape[1]
    x[have, :tb], y[have, :tb], c[have, :tb], e[have, :tb] = b.x[s], b.y[s], b.c[s], b.e[s]
    num[have, :tb], den[have, :tb] = idx.num[s], idx.den[s]
    n[have], use[have] = b.n[s], b.use_counts[s]
    ill[have], lt[have], prov[have] = idx.illustrative[s], idx.low_trust[s], idx.provisional[s]
    has_num[have], has_den[have] = idx.has_num[s], idx.has_den[s]
    for u, (gx, gy, gill) in derived.items():
        k = len(gx)
        x[u, :k], y[u, :k], n[u], ill[u] = gx, gy, k, gill
    batch = SeriesBatch(x, y, n, c, e, use)
    M = batch.mask
    num_last = _last(num, M)
    den_last = _last(den, M)

    # ---- per-indicator facts, spread to units
    I = units.ind
    K = len(inds)
    ind_kind = np.array([i.target.kind for i in inds], object)
    tkind = ind_kind[I]
    latest_year = np.where(n > 0, _last(x, M), np.nan)
    latest = np.where(n > 0, _last(y, M), np.nan)
    reg_level = np.asarray(regs.level, object)[units.region]
    active = units.status == ""

    # ---- thresholds: base value (relative change) and reference value
    base = np.full(U, np.nan)
    ref = np.full(U, np.nan)
    for k, ind in enumerate(inds):
        t = ind.target
        if t.kind != "relative_change" and not t.reference:
            continue
        sel = np.nonzero((I == k) & active)[0]
        if not len(sel):
            continue
        if t.kind == "relative_change":
            hit = (x[sel] == float(t.base_year)) & M[sel]
            bv = np.where(hit.any(axis=1), np.where(hit, y[sel], 0.0).sum(axis=1), np.nan)
            bl = ind.baseline(int(t.base_year))
            if bl is not None:
                bv = np.where(np.isnan(bv) & (reg_level[sel] == "city"), bl, bv)
            base[sel] = bv
        if t.reference:
            rid = _data_id(t.reference, by_id)
            rs_ = idx.lookup(indicator=rid,
                             region_code=np.asarray(regs.code, object)[units.region[sel]])
            okr = rs_ >= 0
            rs2 = rs_[okr]
            ref[sel[okr]] = np.where(b.n[rs2] > 0, _last(b.y[rs2], b.mask[rs2]), np.nan)
    thr = np.full(U, np.nan)
    per_ind = {name: np.full(K, np.nan) for name in ("value", "tol", "chg", "year", "good")}
    for k, ind in enumerate(inds):
        t = ind.target
        per_ind["year"][k] = int(t.year)
        per_ind["tol"][k] = np.nan if t.tolerance is None else float(t.tolerance)
        per_ind["chg"][k] = np.nan if t.change is None else float(t.change)
        per_ind["good"][k] = -1.0 if (t.kind == "gap" or t.direction == "down") else 1.0
        sel = I == k
        if t.reference is not None and t.value is None:
            thr[sel] = ref[sel]
        elif t.kind in ("at_most", "at_least", "around"):
            thr[sel] = float(t.value)
        elif t.kind == "relative_change":
            thr[sel] = base[sel] * (1.0 + float(t.change))
    tyear = per_ind["year"][I].astype(np.int64)
    targets = Targets(tkind.copy(), thr, tyear, per_ind["tol"][I], per_ind["chg"][I],
                      per_ind["good"][I])

    # ---- specs (few distinct combinations)
    primary = np.full(U, "linear", object)
    scale = np.full(U, "identity", object)
    rs = np.ones(U)
    combo = I * 4 + has_den * 2 + use
    for cval in np.unique(combo[active]):
        k, hd, us = int(cval // 4), bool((cval // 2) % 2), bool(cval % 2)
        ind = inds[k]
        t = ind.target
        dr = ind.direction if ind.direction in ("up", "down", "target") else None
        if dr is None and t.lower_is_better is not None:
            dr = "down" if t.lower_is_better else "up"
        sp = resolve_spec(ind.unit, has_counts=hd, target_kind=t.kind, direction=dr)
        if not us and sp.primary == "poisson":
            sp = resolve_spec(ind.unit, has_counts=False, target_kind=t.kind, direction=dr)
        sel = combo == cval
        primary[sel], scale[sel], rs[sel] = sp.primary, sp.scale.kind, sp.rate_scale

    # ---- forecasts
    todo = np.nonzero(active & (n > 0))[0]
    hz_ind = np.array([max(FINAL_YEAR, int(i.target.year), MIDTERM_YEAR) for i in inds],
                      np.int64)
    horizon = hz_ind[I[todo]] if len(todo) else np.zeros(0, np.int64)
    eval_year = {"midterm": MIDTERM_YEAR, "final": FINAL_YEAR}.get(kind)
    sub = SeriesBatch(x[todo], y[todo], n[todo], c[todo], e[todo], use[todo])

    def per_series(i):
        from ..models import forecast_series

        u = todo[i]
        ind = inds[I[u]]
        xs, ys = x[u, :n[u]], y[u, :n[u]]
        cnt = expo = None
        if has_den[u]:          # Series.exposures / counts as assess_frame passes them
            expo = den[u, :n[u]]
            cnt = num[u, :n[u]] if has_num[u] else None
        try:
            fc = forecast_series(
                xs, ys, unit=ind.unit, target=ind.target, counts=cnt, exposures=expo,
                horizon_year=int(horizon[i]),
                direction=ind.direction if ind.direction in ("up", "down", "target") else None,
                base_value=None if np.isnan(base[u]) else float(base[u]),
                reference_value=None if np.isnan(ref[u]) else float(ref[u]))
        except ForecastError as exc:        # e.g. a negative value on a log scale
            ps_error[int(i)] = exc.message
            from ..models.forecasting import _empty

            fc = _empty([], int(n[u]), int(ind.target.year), None)
        if forecasts is not None:
            ps_attrs[int(i)] = {k: v for k, v in fc.attrs.items() if not hasattr(v, "shape")}
        return fc

    tg = Targets(targets.kind[todo], targets.threshold[todo], targets.year[todo],
                 targets.tolerance[todo], targets.change[todo], targets.good[todo])
    if engine == "auto":
        engine = "vectorized" if len(todo) >= AUTO_MIN_SERIES else "per-series"
    ps_attrs: dict = {}
    ps_error: dict = {}
    fcb = forecast_batch(sub, primary=primary[todo], scale=scale[todo], rate_scale=rs[todo],
                         targets=tg, horizon_year=horizon, eval_year=eval_year,
                         per_series_fn=per_series, engine=engine,
                         table=forecasts is not None)

    def spread(arr, fill=np.nan, dtype=float):
        out = np.full(U, fill, dtype=dtype)
        out[todo] = arr
        return out

    F = dict(model=spread(fcb.model, "none", object), p_meet=spread(fcb.p_meet),
             f_val=spread(fcb.target_mean), f_lo=spread(fcb.target_lo80),
             f_hi=spread(fcb.target_hi80), ann=spread(fcb.annual_change),
             aarr=spread(fcb.aarr), slope_dir=spread(fcb.slope_direction),
             eval_mean=spread(fcb.eval_mean) if fcb.eval_mean is not None
             else np.full(U, np.nan), error=np.full(U, "", object))
    F["trend_p"] = spread(trend_p_values(fcb))
    for i, msg in ps_error.items():
        F["error"][todo[i]] = msg
    # small counts: the pooled rate of the last pool_years calendar years (现状 rests on it)
    pool = pooled_rates(batch, rs, min_events=STATUS_RULES["small_events"],
                        years=STATUS_RULES["pool_years"])
    pool["last_events"] = _last(batch.c, M)     # the events of the latest year
    fscale = np.where(F["model"] == "none", scale, spread(fcb.scale, "", object))

    # ---- required change
    with np.errstate(all="ignore"):
        dt = tyear - latest_year
        req = np.where(np.isfinite(thr) & (tyear > latest_year) & (tkind != "around"),
                       (thr - latest) / np.where(dt > 0, dt, 1), np.nan)
        req_aarr = np.where(np.isfinite(req) & (fscale == "log") & (latest > 0) & (thr > 0),
                            1.0 - (thr / latest) ** (1.0 / np.where(dt > 0, dt, 1)), np.nan)
    F.update(req=req, req_aarr=req_aarr)

    # ---- warnings (numbers)
    wscale_ind = np.array([_warning_scale_kind(i) for i in inds], object)
    W = _warning_numbers(x, y, M, n, wscale_ind[I], tkind, targets, thr, inds, I, units,
                         num_last, den_last, has_num, has_den)

    out = _frame(inds, I, regs, units, years, kind, n, latest_year, latest, thr, base, ref,
                 F, W, ill, lt, prov, x, y, M, texts, wscale_ind, pool)
    out.attrs.update(kind=kind, rules=dict(STATUS_RULES),
                     years={regs.code[k]: int(years[k]) for k in range(R)},
                     engine={"rows": int(U), "modelled": int(len(todo)),
                             "per_series": int(fcb.per_series.sum()), "engine": engine})
    if forecasts is not None:
        _keep_forecasts(forecasts, fcb, todo, ps_attrs, units, inds, regs, thr, ill, out,
                        (x, y, n))
    return out


def _keep_forecasts(forecasts, fcb, todo, ps_attrs, units, inds, regs, thr, ill, out,
                    observed):
    """Split the long forecast table into one frame per assessed total row; each keeps the
    series it was fitted on in ``attrs["history"]`` (years and values: the observations,
    or the gap computed from breakdowns or counties for a gap indicator)."""
    ox, oy, on = observed
    from ..models import MODEL_LABELS_ZH

    table = fcb.table
    if table is None or not len(todo):
        return
    by_series = {int(k): g for k, g in table.groupby("series", sort=False)}
    one = len(regs.code) == 1
    cols = ["year", "median", "mean", "lo80", "hi80", "lo95", "hi95"]
    for i, u in enumerate(todo):
        if units.sex[u] or units.urban_rural[u] or units.age_group[u]:
            continue
        g = by_series.get(i)
        if g is None:
            continue
        ind = inds[units.ind[u]]
        fc = g[cols].reset_index(drop=True)
        model = str(out["model"].iat[u])
        attrs = dict(ps_attrs.get(i, {}))
        attrs.update(model=model, model_zh=MODEL_LABELS_ZH.get(model, model),
                     p_meet=None if np.isnan(out["p_meet"].iat[u]) else
                     float(out["p_meet"].iat[u]),
                     threshold=None if np.isnan(thr[u]) else float(thr[u]),
                     target_year=int(ind.target.year), illustrative=bool(ill[u]),
                     unit=ind.unit,
                     history={"year": [int(v) for v in ox[u, :on[u]]],
                              "value": [float(v) for v in oy[u, :on[u]]]})
        fc.attrs = attrs
        forecasts[ind.id if one else (regs.code[units.region[u]], ind.id)] = fc


def _data_id(ind, by_id) -> str:
    if isinstance(ind, str):
        ind = by_id.get(ind)
        if ind is None:
            return ""
    return getattr(ind, "data_id", None) or ind.id


def _report_years(df, regs: RegionTable, year, kind) -> list:
    if year is not None:
        return [int(year)] * len(regs.code)
    if kind == "midterm":
        return [MIDTERM_YEAR] * len(regs.code)
    if kind == "final":
        return [FINAL_YEAR] * len(regs.code)
    by_code = df.groupby("region_code")["year"].max()
    by_name = df.groupby("region")["year"].max()
    overall = float(df["year"].max()) if len(df) else float(FINAL_YEAR)
    out = []
    for code, name in zip(regs.code, regs.name):
        vals = [v for v in (by_code.get(code), by_name.get(name)) if v is not None
                and np.isfinite(v)]
        out.append(int(max(vals)) if vals else int(overall))
    return out


def _units(inds, regs: RegionTable, idx: SeriesIndex, known, by_id, breakdowns, df,
           years):
    """Assessment units (sorted: region, indicator, total then breakdowns) and the derived
    gap series ``{unit: (years, values, illustrative)}``."""
    R = len(regs.code)
    level = np.asarray(regs.level, object)
    codes = np.asarray(regs.code, object)
    parts = []     # (region, ind, sex, ur, age, sid, status, reason, note, bdrank)
    derived_tmp = {}
    rr = np.arange(R)
    empty = np.full(R, "", object)
    for k, ind in enumerate(inds):
        t = ind.target
        if t.kind == "qualitative":
            parts.append((rr, k, empty, empty, empty, np.full(R, -1),
                          np.full(R, "not_applicable", object),
                          np.full(R, say("qualitative"), object), empty,
                          np.zeros(R)))
            continue
        na = np.array([lv in ("city", "county", "township") and lv not in ind.levels
                       for lv in level], bool)
        status = np.where(na, "not_applicable", "").astype(object)
        reason = np.array([say("not_monitored_at_level", level=LEVEL_ZH.get(lv, lv)) if a else ""
                           for lv, a in zip(level, na)], object)
        did = _data_id(ind, by_id)
        if t.kind == "gap":
            note = empty.copy()
            sid = np.full(R, -1)
            for r, (gx, gy, gn, gill) in _gaps(idx, ind, regs, np.nonzero(~na)[0], known,
                                                by_id, df, years).items():
                note[r] = gn
                if len(gx):
                    derived_tmp[(int(r), k)] = (gx, gy, gill)
            parts.append((rr, k, empty, empty, empty, sid, status, reason, note, np.zeros(R)))
            continue
        sid = np.where(na, -1, idx.lookup(indicator=did, region_code=codes))
        parts.append((rr, k, empty, empty, empty, sid, status, reason, empty, np.zeros(R)))
        if breakdowns and len(idx.kk):
            kk = idx.keys
            bd = (kk["sex"] != "") | (kk["urban_rural"] != "") | (kk["age_group"] != "")
            sel = np.nonzero(bd & (kk["indicator"] == did))[0]
            if len(sel):
                reg_of = np.asarray(
                    __import__("pandas").Index(regs.code).get_indexer(kk["region_code"][sel]))
                okr = reg_of >= 0
                okr &= ~na[np.maximum(reg_of, 0)]
                sel, reg_of = sel[okr], reg_of[okr]
                label = np.array([f"{a}\x00{b}\x00{c}" for a, b, c in zip(
                    kk["sex"][sel], kk["urban_rural"][sel], kk["age_group"][sel])], object)
                rank = np.unique(label, return_inverse=True)[1] + 1 if len(sel) else []
                m = len(sel)
                parts.append((reg_of, k, kk["sex"][sel], kk["urban_rural"][sel],
                              kk["age_group"][sel], sel, np.full(m, "", object),
                              np.full(m, "", object), np.full(m, "", object),
                              np.asarray(rank, float)))
    cat = lambda i: np.concatenate([np.broadcast_to(np.asarray(p[i]), (len(p[0]),))  # noqa
                                    for p in parts]) if parts else np.zeros(0)
    region = cat(0).astype(np.int64)
    ind_i = cat(1).astype(np.int64)
    rank = cat(9)
    order = np.lexsort((rank, ind_i, region))
    units = Units(region[order], ind_i[order], cat(2).astype(object)[order],
                  cat(3).astype(object)[order], cat(4).astype(object)[order],
                  cat(5).astype(np.int64)[order], cat(6).astype(object)[order],
                  cat(7).astype(object)[order], cat(8).astype(object)[order])
    derived = {}
    if derived_tmp:
        pos = {(int(r), int(k)): u for u, (r, k, rk) in
               enumerate(zip(units.region, units.ind, rank[order])) if rk == 0
               and (int(r), int(k)) in derived_tmp}
        for key, val in derived_tmp.items():
            derived[pos[key]] = val
    return units, derived


def _series_arrays(idx: SeriesIndex, sid: int):
    if sid < 0:
        return np.array([]), np.array([]), False
    k = int(idx.batch.n[sid])
    return idx.batch.x[sid, :k], idx.batch.y[sid, :k], bool(idx.illustrative[sid])


def _gaps(idx, ind, regs, rows, known, by_id, df, years) -> dict:
    """``assessment._gap_series`` for the regions ``rows``: {region: (years, gap values,
    note, illustrative)} (look-ups vectorised over the regions)."""
    codes = np.asarray(regs.code, object)[rows]
    did = _data_id(ind, by_id)
    b = idx.batch
    out = {}

    def present(sids):
        return (sids >= 0) & (b.n[np.maximum(sids, 0)] > 0) if len(b.n) else sids >= 0

    own = idx.lookup(indicator=did, region_code=codes)
    has_own = present(own)
    for r, s_ in zip(rows[has_own], own[has_own]):
        out[int(r)] = (*_series_arrays(idx, int(s_))[:2], "", bool(idx.illustrative[s_]))
    rest = ~has_own
    kind = ind.target.gap
    sources = [did]
    base = _gap_base_id(ind, known)
    if base:
        sources.append(_data_id(base, by_id))
    if kind == "region":
        for r in rows[rest]:
            out[int(r)] = _region_gap(ind, regs, int(r), sources, df, years[int(r)])
        return out
    if kind not in _GAP_GROUPS:
        return out
    col, a_vals, b_vals = _GAP_GROUPS[kind]

    def first_present(src, vals):
        got = np.full(len(rows), -1)
        for v in vals:
            sids = idx.lookup(indicator=src, region_code=codes, **{col: v})
            take = (got < 0) & present(sids)
            got = np.where(take, sids, got)
        return got

    name = say("group_" + kind)
    for src in sources:
        if not rest.any():
            break
        sa, sb = first_present(src, a_vals), first_present(src, b_vals)
        for i in np.nonzero(rest & (sa >= 0) & (sb >= 0))[0]:
            ax, ay, aill = _series_arrays(idx, int(sa[i]))
            bx, by_, bill = _series_arrays(idx, int(sb[i]))
            common = np.intersect1d(ax, bx)
            if len(common):
                va = ay[np.searchsorted(ax, common)]
                vb = by_[np.searchsorted(bx, common)]
                out[int(rows[i])] = (common, va - vb, say("gap_from_groups", source=src, groups=name),
                                     aill or bill)
                rest[i] = False
    return out


def _region_gap(ind, regs, r, sources, df, year):
    """Between-county range (the counties of ``data/regions.yaml`` for a known region, the
    region's children otherwise), each county's series up to this region's year."""
    from ..models.series import _arrays, _from_arrays
    from ..geography import all_regions

    if regs.known[r]:
        counties = [x.code for x in all_regions() if x.level == "county"]
    else:
        counties = [regs.code[k] for k in range(len(regs.code))
                    if regs.level[k] == "county" and regs.parent[k] == regs.code[r]]
    tot = (df["sex"] == "") & (df["urban_rural"] == "") & (df["age_group"] == "")
    for src in sources:
        found = county_range(
            [_from_arrays(_arrays(df[tot & (df["indicator"] == src) & (df["region_code"] == cc)]),
                          year) for cc in counties], src)
        if found is not None:
            return found
    return np.array([]), np.array([]), "", False


# =============================================================================== warnings
def _warning_scale_kind(ind) -> str:
    from ..models.core import resolve_spec

    t = ind.target
    if t.kind == "qualitative":
        return "identity"
    kind = resolve_spec(ind.unit, target_kind=t.kind, direction=t.direction).scale.kind
    return "log" if kind == "log" else "identity"


def _unit_info(unit: str) -> dict:
    from ..indicator_catalog import units

    return units().get(unit, {})


def _line(x, z, Mk):
    """``assessment._line`` per row on the points in Mk: (a, b) of z = a + b·x."""
    n = Mk.sum(axis=1)
    with np.errstate(all="ignore"):
        xm = np.where(Mk, x, 0.0).sum(axis=1) / n
        zm = np.where(Mk, z, 0.0).sum(axis=1) / n
        xc = np.where(Mk, x - xm[:, None], 0.0)
        sxx = (xc * xc).sum(axis=1)
        b = np.where(sxx > 0, (xc * np.where(Mk, z - zm[:, None], 0.0)).sum(axis=1)
                     / np.where(sxx > 0, sxx, 1.0), 0.0)
    return zm - b * xm, b


def _masked_median(v, Mk):
    """Median of v over Mk per row (as numpy's median: mean of the two middle values)."""
    s = np.sort(np.where(Mk, v, np.inf), axis=1)
    k = Mk.sum(axis=1)
    r = np.arange(len(v))
    lo = s[r, np.maximum((k - 1) // 2, 0)]
    hi = s[r, np.maximum(k // 2, 0)]
    return (lo + hi) / 2.0


def _warning_numbers(x, y, M, n, wscale, tkind, targets, thr, inds, I, units, num_last,
                     den_last, has_num, has_den) -> dict:
    """Volatility, outliers, moving-away and small numbers for every unit."""
    R = STATUS_RULES

    U, T = x.shape
    W = {}
    # z on the warning scale: log (to_model_scale, falling back to the values) or identity
    z = np.where(M, y, np.nan)
    lg = wscale == "log"
    if lg.any():
        zl, fail = to_scale("log", y[lg], M[lg])
        z[lg] = np.where(fail[:, None], np.where(M[lg], y[lg], np.nan), zl)
    level = np.where(M, np.abs(y), 0.0).sum(axis=1) / np.maximum(n, 1)
    # ---- small numbers (latest events)
    ev = np.full(U, np.nan)
    for k, ind in enumerate(inds):
        sel = (I == k) & (tkind != "gap")
        if not sel.any():
            continue
        u = _unit_info(ind.unit)
        kind = u.get("kind")
        if kind not in ("rate", "percent"):
            continue
        num = np.where(np.isfinite(num_last[sel]), num_last[sel], np.nan)
        den = den_last[sel]
        if u.get("scale"):
            last_v = _last(y[sel], M[sel])
            num = np.where(np.isnan(num) & np.isfinite(den), last_v * den / float(u["scale"]),
                           num)
        if kind == "rate":
            ev[sel] = num
        else:
            lib = ind.target.lower_is_better
            e = np.where(np.isfinite(den) & (den < R["small_events"]), den,
                         num if lib else np.nan)
            ev[sel] = e
    ev = np.where(n > 0, ev, np.nan)
    small = np.isfinite(ev) & (ev < R["small_events"])
    W["events"], W["small"] = ev, small
    # ---- volatility
    vol = np.full(U, np.nan)
    ok = (n >= 4) & ~small
    if ok.any():
        a, b = _line(x[ok], z[ok], M[ok])
        with np.errstate(all="ignore"):
            r = np.where(M[ok], z[ok] - a[:, None] - b[:, None] * x[ok], 0.0)
            sd = np.sqrt((r * r).sum(axis=1) / (n[ok] - 2))
        idn = wscale[ok] == "identity"
        lev = level[ok]
        sd = np.where(idn, np.where(lev > 0, sd / np.where(lev > 0, lev, 1.0), np.nan), sd)
        vol[ok] = sd
    W["vol"] = vol
    W["level"] = level
    # ---- moving away (last recent_window points)
    win = R["recent_window"]
    pos = np.arange(T)[None, :]
    Wm = M & (pos >= (n - win)[:, None])
    yy = y.copy()
    bad = np.full(U, np.nan)
    lib = np.array([inds[i].target.lower_is_better for i in I], object)
    ar = tkind == "around"
    yy[ar] = np.abs(y[ar] - thr[ar][:, None])
    bad[ar & np.isfinite(thr)] = 1.0
    gp = tkind == "gap"
    yy[gp] = np.abs(y[gp])
    bad[gp] = 1.0
    other = ~ar & ~gp
    bad[other & (lib == True)] = 1.0     # noqa: E712
    bad[other & (lib == False)] = -1.0   # noqa: E712
    ok = np.isfinite(bad) & (np.minimum(n, win) >= R["min_points"])
    away = np.zeros(U, bool)
    if ok.any():
        p, _ = trend_confidence(x[ok], yy[ok], Wm[ok], bad[ok])
        away[ok] = p >= R["moving_away_confidence"]
    W["away"] = away
    # ---- outliers (leave one out; median / MAD of the others' residuals)
    out_mask = np.zeros((U, T), bool)
    out_lo = np.full((U, T), np.nan)
    out_hi = np.full((U, T), np.nan)
    ok = (n >= R["outlier_min_points"]) & ~small
    if ok.any():
        k_ = R["outlier_mad_k"]
        xo, zo, Mo = x[ok], z[ok], M[ok]
        floor = np.where(wscale[ok] == "log", R["outlier_mad_floor"],
                         R["outlier_mad_floor_identity"] * np.maximum(level[ok], 1e-9))
        for i in range(T):
            has = Mo[:, i]
            if not has.any():
                continue
            keep = Mo.copy()
            keep[:, i] = False
            a, b = _line(xo, zo, keep)
            base = np.where(keep, zo - a[:, None] - b[:, None] * xo, np.nan)
            med = _masked_median(base, keep)
            mad = _masked_median(np.abs(base - med[:, None]), keep)
            rsd = np.maximum(1.4826 * mad, floor)
            rr = zo[:, i] - a - b * xo[:, i]
            score = np.abs(rr - med) / rsd
            hit = has & (score > k_)
            centre = a + b * xo[:, i] + med
            rows = np.nonzero(ok)[0]
            out_mask[rows, i] = hit
            lo, hi = centre - k_ * rsd, centre + k_ * rsd
            lgk = wscale[ok] == "log"
            with np.errstate(over="ignore"):
                out_lo[rows, i] = np.where(lgk, np.exp(np.clip(lo, -700, 700)), lo)
                out_hi[rows, i] = np.where(lgk, np.exp(np.clip(hi, -700, 700)), hi)
    W["out"], W["out_lo"], W["out_hi"] = out_mask, out_lo, out_hi
    return W


# =============================================================================== rows
def _frame(inds, I, regs, units, years, kind, n, latest_year, latest, thr, base, ref, F, W,
           ill, lt, prov, x, y, M, texts, wscale_ind, pool):
    """The output table: ASSESS_COLUMNS (+ region code, breakdowns), statuses by the rules
    of ``assessment._assess_one`` computed column-wise, texts row by row."""
    import pandas as pd

    from ..indicator_catalog import units as unit_table

    R_ = STATUS_RULES
    U = len(I)
    final = kind == "final"
    eval_year = {"midterm": MIDTERM_YEAR, "final": FINAL_YEAR}.get(kind)

    def per_ind(fn):
        return np.array([fn(i) for i in inds] + [None], object)[I if U else np.zeros(0, int)]

    t_of = [i.target for i in inds]
    cols = {
        "indicator": per_ind(lambda i: i.id), "name_zh": per_ind(lambda i: i.name_zh),
        "domain": per_ind(lambda i: i.domain_zh), "domain_code": per_ind(lambda i: i.domain),
        "plan": per_ind(lambda i: i.plan), "unit": per_ind(lambda i: i.unit),
        "region": np.asarray(regs.name, object)[units.region],
    }
    tkind = per_ind(lambda i: i.target.kind)
    ty = np.array([int(t.year) for t in t_of] + [0], np.int64)[I if U else np.zeros(0, int)]
    preset = units.status != ""
    has = ~preset & (n > 0)
    none0 = ~preset & (n == 0)
    monit = np.array([i.monitorable for i in inds] + [True], bool)[I if U else
                                                                  np.zeros(0, int)]
    ryear = np.asarray(years, float)[units.region] if U else np.zeros(0)
    stale = ryear - latest_year

    # ---------- statuses
    status = np.full(U, "insufficient", object)
    status[preset] = units.status[preset]
    status[none0] = np.where(monit[none0], "insufficient", "not_applicable")
    p = np.where(has, F["p_meet"], np.nan)
    is_dir = has & np.isin(tkind, ("direction", "gap"))
    is_thr = has & ~is_dir
    ukind = per_ind(lambda i: unit_table().get(i.unit, {}).get("kind"))
    tdir = per_ind(lambda i: i.target.direction)
    with np.errstate(invalid="ignore"):
        at_bound = (tkind == "direction") & (
            ((tdir == "up") & (ukind == "percent") & (latest >= R_["ceiling_percent"]))
            | ((tdir == "down") & np.isin(ukind, ("rate", "percent")) & (latest <= 0)))
        old = stale > R_["max_age_years"]
    trend = trend_status(p, final=final)
    status[is_dir] = np.where(at_bound, "achieved", np.where(old, "insufficient",
                                                             trend))[is_dir]
    tol = per_ind(lambda i: np.nan if i.target.tolerance is None else
                  float(i.target.tolerance)).astype(float)
    chg = per_ind(lambda i: np.nan if i.target.change is None else
                  float(i.target.change)).astype(float)
    no_thr = np.isnan(thr)
    # a rate on few events: 现状 from the pooled rate of its last years (≥ 2 of them).
    # Event rates only (‰, 1/10万…, and shares of adverse events such as 母婴传播率); a
    # coverage or service share (治疗率, 开通比例) or a per-capita stock is a state, judged
    # on its latest year.
    lib = per_ind(lambda i: i.target.lower_is_better is True).astype(bool)
    events_kind = (ukind == "rate") | ((ukind == "percent") & lib)
    pooled = is_thr & ~no_thr & events_kind & np.isfinite(pool["pooled_rate"]) \
        & (pool["pooled_years"] >= 2)
    meets_now = np.where(pooled, meets(tkind, pool["pooled_rate"], thr, tol, chg),
                         meets(tkind, latest, thr, tol, chg))
    st_thr = threshold_status(meets_now, n, p)
    branch = np.where(no_thr, 0, np.where(old & ~meets_now, 1, 2))
    status[is_thr] = np.where(branch == 2, st_thr, "insufficient")[is_thr]
    progress = is_thr & (branch == 2) & (kind in ("midterm", "final")) \
        & (status != "achieved") & (tkind != "around")

    # ---------- warnings (flags)
    with np.errstate(invalid="ignore"):
        may_slip = is_thr & (branch == 2) & meets_now & np.isfinite(p) \
            & (p < R_["on_track_p"]) & (n >= R_["min_points"]) & (ty > latest_year)
        w_stale = has & (stale >= R_["stale_years"])
        small = has & W["small"]
        wlog = wscale_ind[I] == "log" if U else np.zeros(0, bool)
        pct = ukind == "percent"
        vol = np.where(~wlog & pct, W["vol"] * W["level"], W["vol"])
        lim = np.where(wlog, R_["volatile_sd"], np.where(pct, R_["volatile_pp"],
                                                         R_["volatile_cv"]))
        volatile = has & ~small & np.isfinite(vol) & (vol >= lim)
    away = has & W["away"]
    outl = has & ~small & W["out"].any(axis=1)
    flags = [("stale", w_stale), ("small_numbers", small), ("volatile", volatile),
             ("moving_away", away), ("outlier", outl), ("low_trust", has & lt),
             ("provisional", has & prov), ("illustrative", has & ill)]

    # ---------- numbers
    def col(v, mask):
        return np.where(mask, v, np.nan)

    cols.update(
        latest_year=pd.array(np.where(has, latest_year, np.nan), dtype="Float64").astype(
            "Int64"),
        latest_value=col(latest, has),
        target_kind=tkind,
        target_value=per_ind(lambda i: i.target.value).astype(float),
        target_year=ty,
        target_text=per_ind(lambda i: i.describe_target()),
        status_code=status,
        # a direction target at its bound is achieved whatever the trend's sign: its
        # trend confidence is no probability of meeting it (never 已实现 beside a low one)
        p_meet=col(p, has & ~(is_dir & at_bound)),
        forecast_value=col(F["f_val"], has), forecast_lo80=col(F["f_lo"], has),
        forecast_hi80=col(F["f_hi"], has),
        required_annual_change=col(F["req"], has),
        observed_annual_change=col(F["ann"], has),
        required_aarr=col(F["req_aarr"], has), observed_aarr=col(F["aarr"], has),
        model=np.where(has, F["model"], "none"),
        illustrative=np.where(preset, False, ill),
        n_points=np.where(preset, 0, n),
        threshold=col(thr, has), base_value=col(base, has),
        path_value=np.full(U, np.nan), progress_ratio=np.full(U, np.nan),
        pooled_value=col(pool["pooled_rate"], pooled),
        pooled_years=_year_spans(pool["pooled_from"], latest_year, pooled),
        pooled_events=col(pool["pooled_events"], pooled),
        trend_p=col(F["trend_p"], has),
    )
    reason = np.full(U, "", object)
    reason[preset] = units.reason[preset]
    warnings = np.full(U, "", object)
    codes = np.full(U, "", object)

    # ---------- row by row: texts (the message catalogue), the mid-term / final progress rule
    rows = np.nonzero(none0 | has)[0]
    names = cols["name_zh"]
    ttext = cols["target_text"]
    for u in rows:
        ind = inds[I[u]]
        unit = ind.unit
        name = names[u]
        if none0[u]:
            if texts:
                why = say("no_source") if not ind.monitorable else \
                    say("no_data", region=cols["region"][u])
                gn = units.gap_note[u]
                reason[u] = why + (say("note", note=gn) if gn else "")
            continue
        t = ind.target
        ly, lv, nn = int(latest_year[u]), float(latest[u]), int(n[u])
        pm = None if math.isnan(p[u]) else float(p[u])
        st = status[u]
        txt = ""
        if F["error"][u]:
            status[u] = "insufficient"
            reason[u] = say("no_model", message=F["error"][u]) if texts else ""
            continue
        if is_dir[u]:
            if not texts:
                pass
            elif at_bound[u]:
                txt = say("at_bound", year=ly, name=name, value=format_value(lv, unit),
                          target=ttext[u])
            elif old[u]:
                txt = say("too_old_for_trend", year=ly, max_age=R_["max_age_years"])
            elif pm is None:
                txt = say("too_few_for_trend", n=nn, min_points=R_["min_points"])
            else:
                slope = float(F["slope_dir"][u])
                what = say("gap_what", name=name) if t.kind == "gap" else name
                txt = say("trend", what=what, trend=trend_phrase(slope, unit),
                          target=ttext[u], p=format_prob(pm))
                gn = units.gap_note[u]
                if gn:
                    txt += say("note", note=gn)
        else:
            b_ = branch[u]
            if b_ == 0:
                txt = say("no_base", base_year=t.base_year) if t.kind == "relative_change" \
                    else say("no_reference")
            elif b_ == 1:
                txt = say("too_old", year=ly, max_age=R_["max_age_years"])
            else:
                if texts:
                    basis = _pool_basis(pool, u, cols["pooled_years"][u], name, unit,
                                        ttext[u], ly, lv, meets_now[u]) if pooled[u] else ""
                    txt = _threshold_text(st, name, unit, ttext[u], ly, lv, nn, int(ty[u]),
                                          pm, F, u, basis)
                if progress[u]:
                    rv = None if math.isnan(ref[u]) else float(ref[u])
                    bv = None if math.isnan(base[u]) else float(base[u])

                    def meets_fn(v, t=t, bv=bv, rv=rv):
                        return t.meets(v, base_value=bv, reference_value=rv)

                    row = {"target_text": ttext[u]}
                    st, txt = _progress(row, ind, x[u][M[u]], y[u][M[u]],
                                        F["eval_mean"][u], st, txt, eval_year,
                                        R_["baseline_year"], float(thr[u]), kind,
                                        regs.level[units.region[u]], meets_fn)
                    status[u] = st
                    if "path_value" in row:
                        cols["path_value"][u] = row["path_value"]
                        cols["progress_ratio"][u] = row["progress_ratio"]
        reason[u] = txt if texts else ""
        # warnings
        wl = []
        if may_slip[u]:
            wl.append(("may_slip", say("w_may_slip", year=int(ty[u]), p=format_prob(pm))
                       if texts else ""))
        if not texts:
            wl += [(c, "") for c, f in flags if f[u]]
        else:
            if w_stale[u]:
                wl.append(("stale", say("w_stale", year=ly, years=int(stale[u]))))
            if small[u]:
                wl.append(("small_numbers", say(
                    "w_small_numbers", year=ly, events=format_number(W["events"][u], 0),
                    min_events=R_["small_events"])))
            if volatile[u]:
                v = float(vol[u])
                if wlog[u]:
                    text = say("w_volatile_log", pct=percent_int(v))
                elif pct[u]:
                    text = say("w_volatile_pp", pp=format_number(v, 1))
                else:
                    text = say("w_volatile_cv", pct=percent_int(v))
                wl.append(("volatile", say("w_volatile", detail=text)))
            if away[u]:
                wl.append(("moving_away", say("w_moving_away")))
            if outl[u]:
                for i in np.nonzero(W["out"][u])[0]:
                    wl.append(("outlier", say(
                        "w_outlier", year=int(x[u, i]), value=format_value(float(y[u, i]), unit),
                        range=format_range(float(W["out_lo"][u, i]),
                                           float(W["out_hi"][u, i]), unit))))
            if lt[u]:
                wl.append(("low_trust", say("w_low_trust")))
            if prov[u]:
                wl.append(("provisional", say("w_provisional")))
            if ill[u]:
                wl.append(("illustrative", say("w_illustrative")))
        warnings[u] = say("join_warnings").join(w[1] for w in wl) if texts else ""
        codes[u] = ",".join(dict.fromkeys(w[0] for w in wl))
    cols.update(status_code=status, reason=reason, warnings=warnings, warning_codes=codes,
                eval_year=pd.array(np.where(has, eval_year if eval_year else np.nan, np.nan),
                                   dtype="Float64").astype("Int64"))
    with np.errstate(invalid="ignore"):
        after = ty > latest_year
    current, outlook, status = decide(
        status, qualitative=tkind == "qualitative", has_data=has, is_direction=is_dir,
        at_bound=at_bound & is_dir, has_threshold=~no_thr, meets_now=meets_now & ~no_thr,
        p=p, n=n, target_after_latest=after)
    cols["current_code"], cols["outlook_code"], cols["status_code"] = current, outlook, status
    cols["current"], cols["outlook"], cols["status"] = labels(current, outlook, status)
    out = pd.DataFrame({c: cols[c] for c in ASSESS_COLUMNS})
    out["region_code"] = np.asarray(regs.code, object)[units.region]
    out["sex"], out["urban_rural"], out["age_group"] = (units.sex, units.urban_rural,
                                                        units.age_group)
    for c in ("n_points", "target_year"):
        out[c] = out[c].astype("Int64")
    for c in ("latest_value", "target_value", "p_meet", "forecast_value", "forecast_lo80",
              "forecast_hi80", "required_annual_change", "observed_annual_change",
              "required_aarr", "observed_aarr", "threshold", "base_value", "path_value",
              "progress_ratio", "pooled_value", "pooled_events", "trend_p"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out["illustrative"] = out["illustrative"].astype(bool)
    return out


def _year_spans(first, last, mask) -> np.ndarray:
    """"2022—2024" where ``mask``, "" elsewhere."""
    out = np.full(len(mask), "", object)
    rows = np.nonzero(mask)[0]
    out[rows] = [f"{int(a)}—{int(b)}" for a, b in zip(first[rows], last[rows])]
    return out


def _pool_basis(pool, u, years, name, unit, tt, latest_year, latest, met) -> str:
    """The 现状 sentence of a rate judged on its pooled years (few events)."""
    return say("pooled", year=latest_year, name=name, value=format_value(latest, unit),
               events=format_number(float(pool["last_events"][u]), 0),
               min_events=STATUS_RULES["small_events"],
               years=years, pooled=format_value(float(pool["pooled_rate"][u]), unit),
               k=int(pool["pooled_years"][u]),
               total=format_number(float(pool["pooled_events"][u]), 0),
               verdict=say("pooled_met" if met else "pooled_not_met", target=tt))


def _threshold_text(status, name, unit, tt, latest_year, latest, n, ty, p_meet, F, u,
                    basis: str = ""):
    """The reason of a threshold target (met / too few values / the forecast); ``basis``
    (a small-count rate): the pooled-rate sentence, which then says whether it is met."""
    if status == "achieved":
        return basis or say("met", year=latest_year, name=name,
                            value=format_value(latest, unit), target=tt)
    if status == "insufficient":
        if basis:
            return basis + say("pooled_too_few", n=n)
        return say("too_few", n=n, year=latest_year, value=format_value(latest, unit),
                   target=tt)
    text = say("forecast", year=ty, name=name, value=format_value(F["f_val"][u], unit),
               range=format_range(F["f_lo"][u], F["f_hi"][u], unit), target=tt,
               p=format_prob(p_meet))
    req, ann = F["req"][u], F["ann"][u]
    if not math.isnan(req) and not math.isnan(ann):
        text += say("required_change", required=format_change(float(req), unit, extra=1),
                    observed=format_change(float(ann), unit, extra=1))
    tp = F["trend_p"][u]
    if np.isfinite(tp) and tp >= STATUS_RULES["flat_trend_p"]:
        text += say("flat_trend", p=format_number(float(tp), 2))
    return basis + say("then", text=text) if basis else text


def _progress(row, ind, xs, ys, eval_mean, status, reason, eval_year, baseline_year,
              threshold, kind, level, meets_fn):
    """``assessment._progress`` on arrays (the series' years and values; the forecast's
    mean in the evaluation year)."""

    def value_in(yr):
        hit = np.nonzero(xs == yr)[0]
        return float(ys[hit[0]]) if len(hit) else None

    base = value_in(baseline_year)
    if base is None and level == "city":
        base = ind.baseline(baseline_year)
    if base is None:
        near = [(abs(yy - baseline_year), v) for yy, v in zip(xs, ys)
                if abs(yy - baseline_year) <= 1]
        base = min(near)[1] if near else None
    observed_v = value_in(eval_year)
    if observed_v is not None:
        v = observed_v
    else:
        if eval_mean is None or math.isnan(eval_mean):
            return status, reason
        v = float(eval_mean)
    return progress_rule(row, ind, v, observed_v is not None, base, threshold,
                         eval_year, baseline_year, kind, status, reason, meets_fn)


def progress_rule(row: dict, ind, v: float, observed: bool, base: float | None,
                  threshold: float, eval_year: int, baseline_year: int, kind: str,
                  status: str, reason: str, meets) -> tuple[str, str]:
    """The mid-term / final rule once the evaluation-year value ``v`` (observed, or the
    forecast mean) and the baseline ``base`` are known: progress against the straight path
    from the baseline to the target. Returns (status, reason); puts ``path_value`` and
    ``progress_ratio`` in ``row``."""
    t, unit, name = ind.target, ind.unit, ind.name_zh
    tt = row["target_text"]
    if kind == "final" and observed:
        key = "final_met" if meets(v) else "final_not_met"
        return ("achieved" if key == "final_met" else "off_track",
                say(key, year=eval_year, name=name, value=format_value(v, unit), target=tt))
    if base is None:
        return status, reason + say("no_baseline", year=baseline_year)
    if meets(base):
        return status, reason + say("baseline_met", year=baseline_year)
    ty = int(t.year)
    path = base + (threshold - base) * (eval_year - baseline_year) / (ty - baseline_year)
    if abs(path - base) < 1e-12:
        return status, reason
    ratio = (v - base) / (path - base)
    row.update(path_value=path, progress_ratio=ratio)
    new = "achieved" if meets(v) else status_for_progress(ratio)
    text = say("progress", year=eval_year, name=name,
               verb=say("observed_verb" if observed else "forecast_verb"),
               value=format_value(v, unit), base_year=baseline_year,
               base=format_value(base, unit), target_year=ty,
               threshold=format_value(threshold, unit), path=format_value(path, unit),
               ratio=percent_int(ratio))
    return new, text


# =============================================================================== partitioned
def partition(obs: "pd.DataFrame", regions=None, chunks: int = 8
              ) -> list[tuple[list, "pd.DataFrame"]]:
    """Split ``obs`` into ``chunks`` groups of regions: [(region codes, their rows)], each
    group's rows including what its regions need (a city's or province's counties, for the
    between-county gap)."""
    import pandas as pd

    from ..geography import all_regions

    col = obs["region_code"] if "region_code" in obs else obs["region"]
    inv, uniq = pd.factorize(col)              # in order of appearance
    codes_u = np.array([str(v) for v in uniq], object)
    wanted = list(codes_u) if regions is None else _region_codes(regions)
    known = {r.code: r for r in all_regions()}
    yaml_counties = [r.code for r in all_regions() if r.level == "county"]
    children = {}
    if "region_parent" in obs:
        pinv, puniq = pd.factorize(obs["region_parent"])
        key = np.unique((pinv.astype(np.int64) + 1) * (len(codes_u) + 1) + inv)
        for p_, c_ in zip(key // (len(codes_u) + 1) - 1, key % (len(codes_u) + 1)):
            pc, cc = str(puniq[p_]) if p_ >= 0 else "", codes_u[c_]
            if pc != cc:
                children.setdefault(pc, []).append(cc)
    chunks = max(1, min(int(chunks), len(wanted)))
    groups = [list(g) for g in np.array_split(np.array(wanted, object), chunks)]
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(codes_u) + 1))
    rows_of = {c: order[bounds[i]:bounds[i + 1]] for i, c in enumerate(codes_u)}
    out = []
    for g in groups:
        need = list(g)
        for c in g:
            r = known.get(c)
            if r is not None and r.level != "county":
                need += yaml_counties
            elif r is None:
                need += children.get(c, [])
        need = list(dict.fromkeys(need))
        idx = np.concatenate([rows_of.get(c, np.zeros(0, np.int64)) for c in need]) \
            if need else np.zeros(0, np.int64)
        out.append((g, obs.iloc[np.sort(idx)]))
    return out


def _warm() -> None:
    import scipy.optimize  # noqa: F401
    import scipy.special  # noqa: F401
    import scipy.stats  # noqa: F401
    from statsmodels.genmod.generalized_linear_model import GLM  # noqa: F401
    from statsmodels.regression.linear_model import OLS  # noqa: F401


def _assess_task(task: dict):
    """One partition (module level, so process pools and Dask can pickle it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return assess_many(task["obs"], regions=task["regions"], year=task["year"],
                           kind=task["kind"], breakdowns=task["breakdowns"],
                           texts=task["texts"], engine=task["engine"],
                           indicators=task.get("indicators"))


#: ``assess_all`` puts at most this many regions in one task by default, so a worker's
#: memory does not grow with the number of regions (2,850 regions → 19 tasks).
MAX_REGIONS_PER_CHUNK = 150


def assess_all(obs: "pd.DataFrame", regions=None, year: int | None = None, *,
               kind: str = "annual", breakdowns: bool = False, texts: bool = True,
               engine: str = "auto", executor: str = "local", address: str | None = None,
               workers: int = 2, chunks: int | None = None, client=None, indicators=None
               ) -> "pd.DataFrame":
    """:func:`assess_many` for every region, the regions split into ``chunks`` groups run
    by :func:`wuwei_analysis.executors.map_tasks` (local processes, or Dask with
    ``executor="dask"`` / ``address`` / ``client``). The result is the same as one
    ``assess_many`` call; ``attrs["engine"]`` adds executor, workers, chunks. Default
    ``chunks``: 4 per worker (1 with ``workers=1`` locally), more when needed to keep
    each at most MAX_REGIONS_PER_CHUNK regions. ``engine="auto"`` means the vectorised engine here (a run over all regions has many
    series); ``"per-series"`` runs every series through ``forecast_series``."""
    import pandas as pd

    from ..executors import map_tasks

    n_reg = len(regions) if regions is not None else \
        obs["region_code"].nunique() if "region_code" in obs else obs["region"].nunique()
    if chunks is None:
        parallel = not (executor == "local" and workers <= 1 and client is None
                        and not address)
        # a few tasks per worker (balance), and none so large that a worker's memory
        # grows with the size of the country
        chunks = max(4 * max(workers, 1) if parallel else 1,
                     -(-n_reg // MAX_REGIONS_PER_CHUNK))
    chunks = max(1, min(int(chunks), max(n_reg, 1)))
    if engine == "auto":      # decided for the whole run, not per (small) partition
        engine = "vectorized"
    parts = partition(obs, regions, chunks)
    _warm()     # forked workers inherit these imports instead of each paying for them
    tasks = [dict(obs=rows, regions=codes, year=year, kind=kind, breakdowns=breakdowns,
                  texts=texts, engine=engine, indicators=indicators) for codes, rows in parts]
    results = map_tasks(_assess_task, tasks, executor=executor, address=address,
                        workers=workers, client=client)
    years, eng = {}, {"rows": 0, "modelled": 0, "per_series": 0}
    for r in results:
        years.update(r.attrs.get("years", {}))
        for k in eng:
            eng[k] += int(r.attrs.get("engine", {}).get(k, 0))
    engines = sorted({r.attrs.get("engine", {}).get("engine", "") for r in results} - {""})
    for r in results:
        r.attrs = {}
    out = pd.concat(results, ignore_index=True) if results else \
        assess_many(obs.iloc[0:0], regions=[])
    eng.update(engine=",".join(engines), executor="dask" if (address or client is not None)
               else executor, workers=workers, chunks=len(tasks))
    out.attrs.update(kind=kind, rules=dict(STATUS_RULES), years=years, engine=eng)
    return out
