"""A synthetic long table at province or nation scale — for benchmarks only, NOT statistics.

``generate(regions=2850)`` makes, for N synthetic county-level units (China has about
2,850; Gansu 86), every monitorable catalogue indicator measured at county level (entries
with ``same_as`` share the data of the entry they name; gap indicators are derived from the
breakdowns, as in real data) with its breakdown groups (sex 女/男, urban_rural 城镇/农村),
over 10 years (2015–2024): 130 series and about 1,200 rows per region, 3.4 million rows
for 2,850 regions.

Every row is marked: ``synthetic`` is True, ``illustrative`` is True (so every assessment
built on it carries the 示例数据 warning), region codes start with ``S`` and names with
合成县 (``attrs["source"]`` says 合成数据). The numbers are made up.

How the numbers are made (vectorised, a few seconds for 2,850 regions)
    * A national path per indicator: the illustrative generator's 2020 level and 2030 end
      (:func:`wuwei_analysis.defaults.illustrative._level_and_end`) on the indicator's scale
      (logit for %, log otherwise).
    * Each region: a population (log-uniform 50,000–1,500,000; births from a crude birth
      rate falling 12.2‰ → 8.0‰), an effect on the indicator's scale (sd 0.25), its own
      slope deviation (sd 0.02 a year) and year noise (sd 0.05); quantities that vary little
      (years, hours) ten times less.
    * Indicators with counts: a denominator sized from the population by the denominator's
      name (the illustrative generator's rules) and a numerator drawn Poisson (rates) or
      binomial (percentages); the value is numerator / denominator × scale — so small
      counties have zeros and jumpy rates, as real ones do.
    * Breakdown groups: the denominator split by an urban share (0.2–0.7) or 50/50, the
      worse group (rural; women or men at random) offset by 0.1–0.3 on the scale; the total
      is the sum of the groups' counts (or the share-weighted mean).
    * Missing data: 10 % of series start late (only their last 2–7 years), 3 % of the other
      region-years are missing.

Writing and reading such a table back: :mod:`wuwei_analysis.tables` (parquet if pyarrow
is installed, otherwise gzip-compressed CSV).
"""
from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError

if TYPE_CHECKING:
    import pandas as pd

#: Years of the synthetic table.
YEARS = tuple(range(2015, 2025))
SEED = 20301231
SOURCE = "合成数据（synthetic.generate，非真实统计，仅供性能基准测试）"
CBR = {2015: 12.2, 2016: 11.9, 2017: 11.5, 2018: 11.0, 2019: 10.6, 2020: 10.1, 2021: 9.7,
       2022: 8.5, 2023: 8.2, 2024: 8.0}
POP_RANGE = (50_000, 1_500_000)
SD_REGION, SD_SLOPE, SD_YEAR = 0.25, 0.02, 0.05
P_LATE, P_MISSING = 0.10, 0.03
#: Provinces the synthetic regions are grouped in (``region_parent``).
N_PROVINCES = 31

#: Columns of the table (the store's observation columns that matter, plus the region's
#: level and parent; provisional / low_trust / recorded_at are left out: False / blank).
COLUMNS = ["indicator", "region", "region_code", "region_level", "region_parent", "year",
           "sex", "urban_rural", "age_group", "value", "numerator", "denominator",
           "illustrative", "synthetic"]


def scale_indicators(level: str = "county") -> list:
    """Catalogue indicators the generator makes data for at ``level``."""
    from .indicator_catalog import indicators

    return [i for i in indicators() if i.monitorable and i.same_as is None
            and i.target.kind not in ("qualitative", "gap") and level in i.levels]


def region_codes(n: int) -> list[str]:
    """Codes of ``n`` synthetic regions: S00001, S00002, … (never a real GB/T 2260 code)."""
    return [f"S{k + 1:05d}" for k in range(n)]


def _denominators(name: str, pop: np.ndarray, births: np.ndarray) -> np.ndarray:
    from .defaults.illustrative import denominator_size

    try:
        out = np.asarray(denominator_size(name, pop, births), float)
        if out.shape == pop.shape:
            return out
    except (TypeError, ValueError):
        pass
    f = np.vectorize(lambda p, b: denominator_size(name, float(p), float(b)), otypes=[float])
    return f(pop, births)


def generate(regions: int | list = 2850, *, years=YEARS, seed: int = SEED,
             p_late: float = P_LATE, p_missing: float = P_MISSING) -> "pd.DataFrame":
    """The synthetic long table (a DataFrame with COLUMNS; strings as categoricals).

    Args:
        regions: how many synthetic county-level units (codes S00001…), or a list of
            (code, name, level) for regions of one's own (e.g. the real 武威 codes in tests).
        years: the years (default 2015–2024).
        seed: the random seed (same arguments, same table).
        p_late, p_missing: share of series starting late, of region-years missing.
    """
    import pandas as pd

    from .defaults.illustrative import DAMPING, _fwd, _inv, _kind, _level_and_end

    if not (regions > 0 if isinstance(regions, int) else len(regions) > 0):
        raise DataError(f"合成地区数须为正整数，而不是 {regions!r}")
    if isinstance(regions, int):
        codes = region_codes(regions)
        names = [f"合成县{k + 1:05d}" for k in range(regions)]
        levels = ["county"] * regions
        parents = [f"SP{(k % N_PROVINCES) + 1:02d}" for k in range(regions)]
    else:
        codes = [str(r[0]) for r in regions]
        names = [str(r[1]) for r in regions]
        levels = [str(r[2]) if len(r) > 2 else "county" for r in regions]
        parents = [str(r[3]) if len(r) > 3 else "" for r in regions]
    R = len(codes)
    yrs = np.asarray(list(years), float)
    Y = len(yrs)
    rng = np.random.default_rng(seed)
    pop20 = np.exp(rng.uniform(np.log(POP_RANGE[0]), np.log(POP_RANGE[1]), R))
    pop = pop20[:, None] * (1 - 0.01) ** (yrs[None, :] - 2020)
    cbr = np.array([CBR.get(int(y), 8.0) for y in yrs])
    births = pop * cbr[None, :] / 1000
    urban = np.clip(rng.uniform(0.2, 0.7, R)[:, None] + 0.01 * (yrs[None, :] - 2020), 0.05,
                    0.95)
    level_arr = np.array(levels, object)
    frames = []
    wanted = {lv: {i.id for i in scale_indicators(lv)} for lv in set(levels)}
    for ind in scale_indicators("county") + [i for lv in set(levels) if lv != "county"
                                              for i in scale_indicators(lv)]:
        in_level = np.array([ind.id in wanted[lv] for lv in levels])
        if not in_level.any() or any(f[0] == ind.id for f in frames):
            continue
        irng = np.random.default_rng([seed, zlib.crc32(ind.id.encode())])
        unit = ind.unit
        kind = _kind(unit)
        L, end, _ = _level_and_end(ind, np.random.default_rng([seed, 7,
                                                             zlib.crc32(ind.id.encode())]))
        damp = DAMPING.get(kind, 1.0)
        z20, z30 = float(_fwd(L, unit)), float(_fwd(end, unit))
        slope = (z30 - z20) / 10.0
        z = (z20 + irng.normal(0, SD_REGION * damp, R)[:, None]
             + (slope + irng.normal(0, SD_SLOPE * damp, R))[:, None] * (yrs[None, :] - 2020)
             + irng.normal(0, SD_YEAR * damp, (R, Y)))
        groups = _groups(ind)
        from .indicator_catalog import units as unit_table

        u = unit_table().get(unit, {})
        scale = float(u.get("scale") or 1.0)
        dec = int(u.get("decimals", 2))
        dec = max(dec, 2) if kind in ("percent", "rate") else dec
        counts = bool(ind.counts) and kind in ("rate", "percent", "per_capita")
        if counts:
            den_total = np.maximum(np.round(_denominators(
                str(ind.counts.get("denominator", "")), pop, births)), 1.0)
        cells = []      # (sex, urban_rural, value, num, den)
        if groups:
            dim, vals = groups
            share = urban if dim == "urban_rural" else np.full((R, Y), 0.5)
            worse = 1 if dim == "urban_rural" else int(irng.integers(0, 2))
            off = irng.uniform(0.1, 0.3, R)[:, None] * (1 if ind.direction == "down" else -1)
            parts = []
            for gi, g in enumerate(vals):
                sh = share if (dim == "urban_rural" and g == "城镇") or \
                    (dim == "sex" and gi == 0) else 1 - share
                zg = z + (off if gi == worse else -off) * 0.5
                p = _inv(zg, unit)
                if counts:
                    dg = np.maximum(np.round(den_total * sh), 1.0)
                    ng = _draw(irng, kind, dg, p, scale)
                    parts.append((g, ng, dg))
                else:
                    parts.append((g, p, sh))
            if counts:
                num = sum(pp[1] for pp in parts)
                den = sum(pp[2] for pp in parts)
                cells.append(("", "", num / den * scale, num, den))
                for g, ng, dg in parts:
                    cells.append((g, dim, ng / dg * scale, ng, dg))
            else:
                tot = sum(pp[1] * pp[2] for pp in parts)
                cells.append(("", "", tot, None, None))
                for g, pg, _ in parts:
                    cells.append((g, dim, pg, None, None))
        else:
            p = _inv(z, unit)
            if kind == "percent":
                p = np.clip(p, 0.0, 100.0)
            if counts:
                num = _draw(irng, kind, den_total, p, scale)
                cells.append(("", "", num / den_total * scale, num, den_total))
            else:
                cells.append(("", "", p, None, None))
        for g, dim, val, num, den in cells:
            keep = np.ones((R, Y), bool)
            late = irng.random(R) < p_late
            start = irng.integers(Y - 7, Y - 1, R)
            keep &= ~(late[:, None] & (np.arange(Y)[None, :] < start[:, None]))
            keep &= irng.random((R, Y)) >= p_missing
            keep &= in_level[:, None]
            ri, yi = np.nonzero(keep)
            v = np.round(np.asarray(val, float)[ri, yi], dec)
            frames.append((ind.id, pd.DataFrame({
                "indicator": ind.id, "ri": ri.astype(np.int32),
                "year": yrs[yi].astype(np.int16),
                "sex": g if dim == "sex" else "", "urban_rural": g if dim == "urban_rural"
                else "", "value": v,
                "numerator": np.nan if num is None else np.asarray(num, float)[ri, yi],
                "denominator": np.nan if den is None else np.asarray(den, float)[ri, yi]})))
    df = pd.concat([f[1] for f in frames], ignore_index=True)
    ri = df.pop("ri").to_numpy()
    cat = lambda vals: pd.Categorical(vals)  # noqa: E731
    df.insert(1, "region", pd.Categorical.from_codes(ri, categories=pd.Index(names)))
    df.insert(2, "region_code", pd.Categorical.from_codes(ri, categories=pd.Index(codes)))
    df.insert(3, "region_level", cat(level_arr[ri]))
    df.insert(4, "region_parent", cat(np.array(parents, object)[ri]))
    for c in ("indicator", "sex", "urban_rural"):
        df[c] = df[c].astype("category")
    df.insert(8, "age_group", pd.Categorical([""] * len(df)) if len(df) else "")
    df["illustrative"] = True
    df["synthetic"] = True
    df["year"] = df["year"].astype(np.int64)
    df.attrs.update(synthetic=True, source=SOURCE)
    return df[COLUMNS]


def _groups(ind):
    from .indicator_catalog import _meta

    for dim in ("urban_rural", "sex"):
        if dim in ind.breakdowns:
            vals = _meta()["breakdowns"][dim]["values"]
            return dim, list(vals)
    return None


def _draw(rng, kind, den, value, scale):
    """Numerators: binomial for a percentage, Poisson for a rate."""
    if kind == "percent":
        p = np.clip(value / 100.0, 0.0, 1.0)
        return rng.binomial(den.astype(np.int64), p).astype(float)
    lam = np.clip(den * value / scale, 0, 1e9)
    return rng.poisson(lam).astype(float)


# --------------------------------------------------------------------------- files
def default_name(regions: int) -> str:
    """File name for a table of ``regions`` regions: synthetic_N_regions.parquet / .csv.gz."""
    from .tables import has_parquet

    return f"synthetic_{regions}_regions" + (".parquet" if has_parquet() else ".csv.gz")
