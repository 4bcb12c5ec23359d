"""Illustrative (made-up) series so the workbench runs out of the box — NOT statistics.

``generate()`` returns one row per indicator × region × year × breakdown group, shaped like
an import file (the importer validates it like any member unit's file). Every stored row
is flagged ``illustrative`` and its source says "示意数据"; anything built on it must say
so. It is deterministic and fast (well under a second): each indicator draws from its own
generator seeded by ``(SEED, crc32(Chinese name))``, so adding catalogue entries does not
change the others. About 6,400 rows for the current catalogue (118 indicators).

What it makes
-------------
* Every monitorable catalogue indicator (an entry with ``same_as`` shares the data of the
  entry it names, so it gets none of its own), years 2015–2024, for 武威市 and — where the
  indicator's ``levels`` include county — the four counties; plus the breakdown groups the
  catalogue lists (sex 女/男, urban_rural 城镇/农村, age groups).
* Populations (2020, resident): 凉州区 893,000, 民勤县 178,000, 古浪县 254,000,
  天祝藏族自治县 140,000 — summing to the 2020 census total of 武威市 (1,464,955; the
  2022 bulletin puts 凉州 at 61% of the city). Decline 1.5 % a year to 2020 and 0.9 % a
  year after (the census and the 2022–2023 figures). Crude birth rate 12.2‰ (2015)
  falling to 8.0‰ (2024), as Gansu's. Urban shares 2020: 凉州 58 %, 民勤 33 %, 古浪 30 %,
  天祝 34 %, rising 1.1 points a year.
* Level and trend. A city path is drawn on a scale fitting the unit (logit for %, log for
  rates and other positive quantities) through the 2020 level and a 2030 level:
  ``at_most`` / ``at_least`` targets are met by 2030 in the "on track" scenario
  (probability 0.6) and missed otherwise; ``around`` stays within (or drifts out of) the
  tolerance; ``direction`` moves the good way (probability 0.7) or stalls; ``gap``
  indicators narrow (0.6) or not. Levels start from the plan's 2020 baseline when there is
  one (the city's 2020 value then equals it exactly), else from a plausible range for the
  indicator (``data/illustrative_levels.yaml``), else from the target, else from a
  typical level for the unit (``TYPICAL_LEVEL``; shares of women in a group 15–45 %).
  Year noise sd 0.02 (city) on that scale; life expectancy, years of schooling and hours
  vary ten times less (``DAMPING``).
* Counties: the city path shifted by a county effect (``COUNTY_EFFECT``: 凉州 and 民勤
  better, 古浪 and 天祝 worse; in the bad direction of the indicator), an indicator-specific
  random effect (sd 0.08) and year noise (sd 0.04).
* Counts. Indicators with ``counts`` in the catalogue get a denominator sized from the
  county population by the words of the denominator's name (``DENOMINATOR_RULES``: live
  births, children of an age range, women, pupils, villages, …) and a numerator drawn
  Poisson (rates) or binomial (percentages) around the path. The value is numerator ÷
  denominator × scale. So county maternal deaths are 0–3 a year and their rates jump
  about, as real ones do. The city's counts are the sums of the counties'; other city
  values are population-weighted means of the counties (sums for 人/个/所/万人).
* Breakdown groups split the counts (multinomial; group counts sum to the total) or are
  offsets around the total: rural worse than urban, the gap narrowing or not.
* Gaps (target kind ``gap``): the total row is the gap itself (rural − urban, male − female,
  or between counties), the group rows the levels it is the difference of.
* Additive units (人, 个, 所, 万人): a numeric target is read as per region (每县一所), so
  each county is near it and the city is their sum; otherwise counties are population
  shares of a city total.
* Missing data: 15 % of indicators start in 2018 ("newly monitored"), 20 % more start in
  2017 at county level, and 3 % of the other county-years are missing. 2024 values are
  marked provisional (初步数).
* Planted problems (``PLANTED``), so that validation has something real to show: rows the
  importer rejects (古浪县 婴儿死亡率 2019 written "x.xx%", 天祝县 5岁以下儿童死亡率 ~2017
  ten times too large, 凉州区 新生儿死亡率 2016 with a digit dropped from the denominator,
  凉州区 高中阶段毛入学率 2022 duplicated) and one accepted with a "jump" warning (民勤县
  学前教育毛入园率 2021, 15 % fewer children counted). Rejected rows are not stored — they
  appear in the rejections of the illustrative submission (``wuwei db rejections``) and
  leave a gap in their series; the jump row is stored, flagged ``jump``. The importer's
  own jump rule also flags a few dozen ordinary rows (small counts, noisy surveys), as it
  would with real data.
* Where the default dataset has a real figure for the same key (the plans' 2011 and 2020
  baselines, 武威市 figures in ``data/public``), no illustrative row is stored: real
  figures win; the generator still calibrates the city's 2020 counts to the baseline so
  the series runs through it.
"""
from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .. import indicator_catalog as catalog
from .. import geography as regions_mod

SEED = 20220130
YEARS = tuple(range(2015, 2025))
PROVISIONAL_YEAR = 2024
SOURCE = "示意数据（内置生成器，种子 20220130）——非真实统计，仅供演示"

CITY = "620600"
COUNTIES = ("620602", "620621", "620622", "620623")
POP_2020 = {"620602": 893_000, "620621": 178_000, "620622": 254_000, "620623": 140_000}
POP_GROWTH_TO_2020, POP_GROWTH_AFTER = -0.015, -0.009
CBR = {2015: 12.2, 2016: 11.9, 2017: 11.5, 2018: 11.0, 2019: 10.6, 2020: 10.1, 2021: 9.7,
       2022: 8.5, 2023: 8.2, 2024: 8.0}
URBAN_2020 = {"620602": 0.58, "620621": 0.33, "620622": 0.30, "620623": 0.34}
URBAN_GAIN = 0.011
#: County effect on the model scale, positive = worse (applied in the indicator's bad direction).
COUNTY_EFFECT = {"620602": -0.10, "620621": -0.05, "620622": 0.15, "620623": 0.20}
P_ON_TRACK, P_GOOD_DIRECTION, P_GAP_NARROWS = 0.6, 0.7, 0.6
SD_CITY, SD_COUNTY, SD_COUNTY_EFFECT = 0.02, 0.04, 0.08
P_NEW_INDICATOR, P_COUNTY_LATE, P_MISSING_COUNTY_YEAR = 0.15, 0.20, 0.03
#: Quantities that vary little in relative terms (life expectancy, years of schooling,
#: hours) get trends, noise and county effects scaled down by this factor.
DAMPING = {"years": 0.1}

#: Typical level by unit for indicators without a target value: (low, high) for a
#: "bad is high" indicator, and for a "good is high" one.
TYPICAL_LEVEL = {
    "%": ((5, 30), (60, 92)), "‰": ((3, 12), (3, 12)), "1/10万": ((10, 30), (10, 30)),
    "1/万": ((10, 100), (10, 100)), "小时": ((1, 2), (1, 2)), "万人": ((3, 15), (3, 15)),
    "个": ((300, 3000), (300, 3000)), "所": ((3, 8), (3, 8)), "人/所": ((1, 2.5), (1, 2.5)),
    "元/人·月": ((900, 1500), (900, 1500)), "岁": ((76, 79), (76, 79)),
    "年": ((8.5, 10.5), (8.5, 10.5)), "名/千名儿童": ((0.6, 1.2), (0.6, 1.2)),
    "张/千名儿童": ((2, 3.5), (2, 3.5)),
}
#: Shares of women among a group (name has 女 and 比例/比重) start lower: 15–45 %.
WOMEN_SHARE_LEVEL = (15, 45)
#: Typical gap levels (total row of ``gap`` indicators) by unit.
TYPICAL_GAP = {"%": (2, 8), "‰": (1, 4), "1/10万": (8, 30), "1/万": (5, 30)}
#: Units whose city value is the sum of the counties'.
ADDITIVE_UNITS = {"人", "万人", "个", "所"}


def _births(pop: float, year: int) -> float:
    return pop * CBR[year] / 1000


#: Denominator sizes: (pattern in the denominator's name, size as a function of the
#: region's population and births, description). First match wins.
DENOMINATOR_RULES: list[tuple[str, Any, str]] = [
    (r"感染孕产妇|感染的孕产妇", lambda p, b: b * 0.002, "感染孕产妇 ≈ 活产 × 0.2%"),
    (r"乙肝表面抗原阳性孕产妇", lambda p, b: b * 0.04, "乙肝阳性孕产妇 ≈ 活产 × 4%"),
    (r"宫颈癌患者", lambda p, b: p * 0.00015, "宫颈癌患者 ≈ 人口 × 0.015%"),
    (r"活产|围产儿|产妇数|新生儿", lambda p, b: b, "活产数 ≈ 出生率 × 人口"),
    (r"6个月内婴儿", lambda p, b: b * 0.05, "调查的6个月内婴儿 ≈ 活产 × 5%"),
    (r"残疾儿童", lambda p, b: b * 18 * 0.008, "残疾儿童 ≈ 18个年龄组 × 0.8%"),
    (r"县级以上人民政府", lambda p, b: 1 if p < 1_000_000 else 5, "县级以上人民政府数：县 1，市 5"),
    (r"城市社区", lambda p, b: p * 0.5 / 5000, "城市社区 ≈ 城镇人口 / 5000"),
    (r"农村社区|村）总数|农村总户数|农户", lambda p, b: p * 0.5 / 1500, "村 ≈ 农村人口 / 1500"),
    (r"社区（村）|城乡社区", lambda p, b: p / 2000, "城乡社区（村）≈ 人口 / 2000"),
    (r"农村人口", lambda p, b: p * 0.5, "农村人口 ≈ 人口 × 50%"),
    (r"水源", lambda p, b: max(3, p / 60000), "水源地 ≈ 人口 / 6万"),
    (r"批次", lambda p, b: max(20, p / 5000), "抽检批次 ≈ 人口 / 5000"),
    (r"村委会|村党组织", lambda p, b: p * 0.5 / 1500 * 5, "村两委成员 ≈ 村数 × 5"),
    (r"居委会|社区党组织", lambda p, b: p * 0.5 / 5000 * 6, "社区两委成员 ≈ 社区数 × 6"),
    (r"书记|主任|正职", lambda p, b: max(10, p / 1500), "书记、主任、正职 ≈ 人口 / 1500"),
    (r"常委", lambda p, b: 35, "常委会组成人员 ≈ 35"),
    (r"代表|委员", lambda p, b: 250, "代表、委员 ≈ 250"),
    (r"领导班子|干部", lambda p, b: max(60, p / 3000), "领导班子成员 ≈ 人口 / 3000"),
    (r"董事|监事|高级管理", lambda p, b: max(40, p / 2500), "企业董监高 ≈ 人口 / 2500"),
    (r"党员", lambda p, b: p * 0.06, "党员 ≈ 人口 × 6%"),
    (r"高级专业技术", lambda p, b: p * 0.004, "高级职称人员 ≈ 人口 × 0.4%"),
    (r"就业人员", lambda p, b: p * 0.5, "就业人员 ≈ 人口 × 50%"),
    (r"职工", lambda p, b: p * 0.08, "职工 ≈ 人口 × 8%"),
    (r"职业院校|专业.*在校生", lambda p, b: p * 0.01, "在校生 ≈ 人口 × 1%"),
    (r"小学生|小学", lambda p, b: b * 6 * 1.2, "小学生 ≈ 6个年龄组"),
    (r"初中", lambda p, b: b * 3 * 1.25, "初中生 ≈ 3个年龄组"),
    (r"高中", lambda p, b: b * 3 * 1.3, "高中生 ≈ 3个年龄组"),
    (r"中小学生|学生", lambda p, b: b * 12 * 1.2, "中小学生 ≈ 12个年龄组"),
    (r"(\d+)[—\-~～至](\d+)岁", None, "该年龄段人口（儿童按出生队列，成人按人口比例）"),
    (r"(\d+)岁以下", None, "该年龄以下儿童 ≈ 出生队列之和"),
    (r"18岁以下|未成年人|儿童人口|儿童数", lambda p, b: b * 18 * 1.2, "儿童 ≈ 18个年龄组"),
    (r"女性|妇女", lambda p, b: p * 0.495 * 0.8, "成年女性 ≈ 人口 × 40%"),
    (r"被调查|调查|监测", lambda p, b: max(200, p * 0.002), "调查样本 ≈ 人口 × 0.2%"),
]


@lru_cache(maxsize=None)
def _rule_for(name: str):
    for pattern, fn, _ in DENOMINATOR_RULES:
        m = re.search(pattern, name)
        if m:
            return m, fn
    return None, None


def denominator_size(name: str, pop: float, births: float) -> float:
    """Size of a count denominator from its Chinese name (see DENOMINATOR_RULES)."""
    m, fn = _rule_for(name)
    if m is not None:
        if fn is not None:
            return float(fn(pop, births))
        if len(m.groups()) == 2:
            a, b = int(m.group(1)), int(m.group(2))
            if b <= 18:
                size = births * (b - a + 1) * 1.2
            else:
                size = pop * (b - a + 1) / 78
                if re.search(r"女|妇", name):
                    size *= 0.495
            if re.search(r"检测|检查|筛查|调查|测试", name):
                size *= 0.8 if "调查" not in name else 0.05
            return size
        n = int(m.group(1))
        return births * n * 1.1 * (0.85 if re.search(r"检测|检查", name) else 1.0)
    return pop * 0.05


# --------------------------------------------------------------------------- populations
def population(code: str, year: int) -> float:
    if code == CITY:
        return sum(population(c, year) for c in COUNTIES)
    base = POP_2020[code]
    if year <= 2020:
        return base * (1 + POP_GROWTH_TO_2020) ** (year - 2020)
    return base * (1 + POP_GROWTH_AFTER) ** (year - 2020)


def urban_share(code: str, year: int) -> float:
    if code == CITY:
        tot = sum(population(c, year) for c in COUNTIES)
        return sum(population(c, year) * urban_share(c, year) for c in COUNTIES) / tot
    return min(0.95, URBAN_2020[code] + URBAN_GAIN * (year - 2020))


# --------------------------------------------------------------------------- scales
def _kind(unit: str) -> str:
    return catalog.units().get(unit, {}).get("kind", "")


def _fwd(x: np.ndarray | float, unit: str):
    x = np.asarray(x, dtype=float)
    if _kind(unit) == "percent":
        p = np.clip(x / 100.0, 0.0005, 0.9995)
        return np.log(p / (1 - p))
    return np.log(np.maximum(x, 1e-6))


def _inv(z: np.ndarray | float, unit: str):
    z = np.asarray(z, dtype=float)
    if _kind(unit) == "percent":
        return 100.0 / (1.0 + np.exp(-z))
    return np.exp(z)


def _decimals(unit: str) -> int:
    d = int(catalog.units().get(unit, {}).get("decimals", 2))
    return max(d, 2) if _kind(unit) in ("percent", "rate") else d


def _rng(ind) -> np.random.Generator:
    """The indicator's own generator, seeded by its Chinese name (stable across catalogue
    changes that add or reorder entries)."""
    return np.random.default_rng([SEED, zlib.crc32(ind.name_zh.encode("utf-8"))])


@lru_cache(maxsize=1)
def plausible_levels() -> dict[str, tuple[float, float]]:
    """Per-indicator ranges for the 2020 level (``data/illustrative_levels.yaml``)."""
    import yaml

    from ..settings import DATA_DIR

    with open(DATA_DIR / "illustrative_levels.yaml", encoding="utf-8") as fh:
        return {k: (float(v[0]), float(v[1])) for k, v in (yaml.safe_load(fh) or {}).items()}


def _baseline_2020(ind) -> float | None:
    """The plan's 2020 baseline of this indicator."""
    return ind.baseline(2020)


# --------------------------------------------------------------------------- city path
def _level_and_end(ind, rng) -> tuple[float, float, bool]:
    """(2020 level, 2030 level, on track?) on the natural scale."""
    unit, t = ind.unit, ind.target
    kind = _kind(unit)
    hi_cap = 99.5 if kind == "percent" else math.inf
    base = _baseline_2020(ind)
    bad_high = ind.direction == "down"
    lo_hi = TYPICAL_LEVEL.get(unit, ((1, 10), (1, 10)))[0 if bad_high else 1]
    if unit == "%" and re.search(r"女", ind.name_zh) and re.search(r"比例|比重", ind.name_zh):
        lo_hi = WOMEN_SHARE_LEVEL
    typical = float(rng.uniform(*lo_hi))
    if base is None and ind.id in plausible_levels():
        base = float(rng.uniform(*plausible_levels()[ind.id]))
    target_value = t.value
    if t.kind == "relative_change" and t.change is not None:
        base_level = base if base is not None else typical
        target_value = base_level * (1 + float(t.change))
        base = base_level
    on = bool(rng.random() < P_ON_TRACK)
    if t.kind in ("at_most", "relative_change") and target_value:
        T = float(target_value)
        if base is not None:
            L = float(base)
        else:
            L = T * float(rng.uniform(0.85, 1.5) if on else rng.uniform(1.3, 2.0))
        if on:
            end = min(L, T) * float(rng.uniform(0.75, 0.95))
        else:
            end = T * float(rng.uniform(1.1, 1.5)) if L > T else T * float(rng.uniform(1.05, 1.3))
            if kind == "percent":  # a share near 100 % does not run off to 100 %
                end = min(end, L + (100 - L) * 0.2)
        return L, end, on
    if t.kind == "at_least" and target_value:
        T = float(target_value)
        if base is not None:
            L = float(base)
        else:
            L = min(hi_cap, T * float(rng.uniform(0.9, 1.02) if on else rng.uniform(0.8, 0.95)))
        if on:
            end = min(hi_cap, max(T * float(rng.uniform(1.0, 1.05)), L * 1.002))
        else:
            end = min(T * float(rng.uniform(0.9, 0.98)), max(L, T * 0.85))
        return L, end, on
    if t.kind == "around" and target_value:
        T, tol = float(target_value), float(t.tolerance or 2)
        L = float(base) if base is not None else T + float(rng.uniform(-0.6, 0.6)) * tol
        if on:
            end = T + float(rng.uniform(-0.5, 0.5)) * tol
        else:
            end = T + float(rng.choice([-1, 1]) * rng.uniform(1.5, 2.5)) * tol
        return L, end, on
    # direction, gap, reference targets, around without value: a typical level and a trend
    L = float(base) if base is not None else typical
    on = bool(rng.random() < P_GOOD_DIRECTION)
    good = -1.0 if bad_high else 1.0
    rate = float(rng.uniform(0.01, 0.04)) if on else float(rng.uniform(-0.01, 0.005))
    if ind.direction in ("target", "none"):
        rate = float(rng.uniform(-0.01, 0.01))
    rate *= DAMPING.get(kind, 1.0)
    end_z = _fwd(L, unit) + good * rate * 10
    return L, float(_inv(end_z, unit)), on


def _city_path(ind, rng) -> tuple[np.ndarray, bool]:
    """Latent city values (model scale) for YEARS, anchored at the 2020 level."""
    L, end, on = _level_and_end(ind, rng)
    z20, z30 = float(_fwd(L, ind.unit)), float(_fwd(end, ind.unit))
    slope = (z30 - z20) / 10.0
    years = np.array(YEARS, dtype=float)
    damp = DAMPING.get(_kind(ind.unit), 1.0)
    z = z20 + slope * (years - 2020) + rng.normal(0, SD_CITY * damp, len(years))
    if _baseline_2020(ind) is not None:
        z[YEARS.index(2020)] = z20
    return z, on


# --------------------------------------------------------------------------- per indicator
@dataclass
class _Cell:
    value: float
    numerator: float | None = None
    denominator: float | None = None


def _groups_for(ind) -> list[tuple[str, list[str]]]:
    meta = catalog._meta()["breakdowns"]
    out = []
    for dim in ind.breakdowns:
        values = list(ind.age_groups) if dim == "age_group" else list(meta[dim].get("values") or [])
        if values:
            out.append((dim, values))
    return out


def _group_shares(dim: str, values: list[str], code: str, year: int) -> np.ndarray:
    if dim == "urban_rural":
        u = urban_share(code, year)
        return np.array([u if v == "城镇" else 1 - u for v in values])
    if dim == "sex":
        return np.array([0.49 if v == "女" else 0.51 for v in values])
    return np.full(len(values), 1.0 / len(values))


def _group_offsets(dim: str, values: list[str], ind, rng, year: int, narrows: bool) -> np.ndarray:
    """Offsets on the model scale, positive = worse, for each group."""
    bad = 1.0 if ind.direction == "down" else -1.0   # rural is worse: higher if down is good
    if dim == "urban_rural":
        g0 = 0.25
        g = g0 * (1 - 0.05 * (year - 2015)) if narrows else g0 * (1 + 0.01 * (year - 2015))
        return np.array([(-g / 2 if v == "城镇" else g / 2) * bad for v in values])
    if dim == "sex":
        return np.array([0.04 if v == "女" else -0.04 for v in values])
    return np.linspace(-0.15, 0.15, len(values))


def _split_counts(rng, num: int, dens: np.ndarray, rates: np.ndarray, percent: bool) -> np.ndarray:
    w = dens * rates
    if w.sum() <= 0:
        w = dens.astype(float)
    nums = rng.multinomial(num, w / w.sum())
    if percent:  # keep each group's numerator within its denominator
        for _ in range(3):
            over = np.maximum(nums - dens, 0)
            if over.sum() == 0:
                break
            nums = nums - over
            room = dens - nums
            give = np.minimum(room, over.sum() * room / max(room.sum(), 1)).astype(int)
            nums = nums + give
    return nums


def _calibrate_counts(b: float, nums: dict, dens: dict, scale: float, dec: int,
                      percent: bool) -> None:
    """Adjust the 2020 county counts so the city's value rounds to the baseline b exactly."""
    total_den = sum(dens.values())
    if percent and b >= 100:
        for c in nums:
            nums[c] = dens[c]
        return
    target_num = max(1, round(b * total_den / scale))
    weights = {c: max(nums[c], 0.5) for c in nums}
    wsum = sum(weights.values())
    new = {c: int(math.floor(target_num * weights[c] / wsum)) for c in nums}
    rest = target_num - sum(new.values())
    for c in sorted(nums, key=lambda c: -(target_num * weights[c] / wsum - new[c]))[:rest]:
        new[c] += 1
    if percent:
        for c in new:
            new[c] = min(new[c], dens[c])
    nums.update(new)
    biggest = max(dens, key=dens.get)
    n = sum(nums.values())
    for delta in sorted(range(-400, 401), key=abs):
        d = total_den + delta
        if d > 0 and round(n / d * scale, dec) == round(b, dec) and dens[biggest] + delta > 0 \
                and (not percent or nums[biggest] <= dens[biggest] + delta):
            dens[biggest] += delta
            return
    # could not hit the baseline exactly within ±400 births: leave the nearest (rare)


def _series_for(ind) -> list[dict]:
    """All rows (as dicts) for one indicator."""
    rng = _rng(ind)
    unit = ind.unit
    kind = _kind(unit)
    scale = float(catalog.units().get(unit, {}).get("scale") or 1)
    dec = _decimals(unit)
    has_counts = bool(ind.counts) and kind in ("rate", "percent", "per_capita")
    is_gap = ind.target.kind == "gap"
    additive = unit in ADDITIVE_UNITS
    bad = 1.0 if ind.direction == "down" else (-1.0 if ind.direction == "up" else 0.0)
    z_city, on = _city_path(ind, rng)
    narrows = bool(rng.random() < P_GAP_NARROWS)
    damp = DAMPING.get(kind, 1.0)
    county_re = {c: float(rng.normal(0, SD_COUNTY_EFFECT)) for c in COUNTIES}
    regions_here = [CITY] if "city" in ind.levels else []
    do_counties = "county" in ind.levels
    groups = _groups_for(ind)
    baseline = _baseline_2020(ind)
    rows: list[dict] = []

    # ---- county values, total
    cells: dict[tuple[str, int], _Cell] = {}
    z_county = {c: z_city + (bad * COUNTY_EFFECT[c] + county_re[c]) * damp
                + rng.normal(0, SD_COUNTY * damp, len(YEARS)) for c in COUNTIES}
    if is_gap:
        g_lo, g_hi = TYPICAL_GAP.get(unit, (1, 5))
        g0 = float(rng.uniform(g_lo, g_hi))
        trend = -float(rng.uniform(0.04, 0.10)) if narrows else float(rng.uniform(0.0, 0.03))
        for code in (CITY, *COUNTIES):
            eff = 1.0 if code == CITY else math.exp(0.5 * COUNTY_EFFECT[code] + county_re[code])
            for i, y in enumerate(YEARS):
                gap = g0 * eff * math.exp(trend * (y - 2015) + rng.normal(0, 0.08))
                level = float(_inv(z_city[i] if code == CITY else z_county[code][i], unit))
                cells[(code, y)] = _Cell(round(gap, dec))
                cells[(code, y, "level")] = _Cell(level)  # type: ignore[index]
    elif has_counts:
        den_name = str((ind.counts or {}).get("denominator", ""))
        for i, y in enumerate(YEARS):
            nums, dens, exp_rates = {}, {}, {}
            for c in COUNTIES:
                pop = population(c, y)
                d = max(1, int(round(denominator_size(den_name, pop, _births(pop, y)))))
                r = float(_inv(z_county[c][i], unit))
                lam = r * d / scale
                if kind == "percent":
                    n = int(rng.binomial(d, min(max(r / 100.0, 0.0), 1.0)))
                else:
                    n = int(rng.poisson(max(lam, 0.0)))
                nums[c], dens[c], exp_rates[c] = n, d, r
            if baseline is not None and y == 2020:
                _calibrate_counts(baseline, nums, dens, scale, dec, kind == "percent")
            for c in COUNTIES:
                cells[(c, y)] = _Cell(round(nums[c] / dens[c] * scale, dec), nums[c], dens[c])
            tn, td = sum(nums.values()), sum(dens.values())
            cells[(CITY, y)] = _Cell(round(tn / td * scale, dec), tn, td)
    else:
        for i, y in enumerate(YEARS):
            vals = {}
            for c in COUNTIES:
                if additive:  # a target is per region (每县一所); a trend is for the city
                    share = (1.0 if ind.target.value else
                             population(c, y) / population(CITY, y))
                    vals[c] = float(_inv(z_city[i], unit)) * share * math.exp(
                        county_re[c] + rng.normal(0, SD_COUNTY))
                else:
                    vals[c] = float(_inv(z_county[c][i], unit))
            if additive:
                dec_c = _decimals(unit)
                for c in COUNTIES:
                    cells[(c, y)] = _Cell(round(vals[c], dec_c) if dec_c else float(round(vals[c])))
                cells[(CITY, y)] = _Cell(round(sum(cells[(c, y)].value for c in COUNTIES), dec_c))
            else:
                if baseline is not None and y == 2020:
                    vals = _shift_to_mean(vals, baseline, unit, y)
                w = {c: population(c, y) for c in COUNTIES}
                city = sum(vals[c] * w[c] for c in COUNTIES) / sum(w.values())
                for c in COUNTIES:
                    cells[(c, y)] = _Cell(round(vals[c], dec))
                cells[(CITY, y)] = _Cell(round(baseline if baseline is not None and y == 2020
                                               else city, dec))

    codes = regions_here + (list(COUNTIES) if do_counties else [])
    for code in codes:
        for y in YEARS:
            cell = cells[(code, y)]
            rows.append(_row(ind, code, y, cell))
    # ---- breakdown groups
    for dim, values in groups:
        for y in YEARS:
            i = YEARS.index(y)
            offsets = _group_offsets(dim, values, ind, rng, y, narrows)
            city_nums = np.zeros(len(values))
            city_dens = np.zeros(len(values))
            city_vals: dict[str, list[tuple[float, float]]] = {v: [] for v in values}
            if is_gap:  # group levels whose difference is each region's gap
                for code in codes:
                    level = cells[(code, y, "level")].value  # type: ignore[index]
                    gvals = _gap_groups(dim, values, level, cells[(code, y)].value, ind)
                    for v, gv in zip(values, gvals):
                        rows.append(_row(ind, code, y, _Cell(round(gv, dec)), dim, v))
                continue
            for c in COUNTIES:
                shares = _group_shares(dim, values, c, y)
                total = cells[(c, y)]
                if has_counts and total.denominator:
                    dens = np.floor(total.denominator * shares).astype(int)
                    dens[-1] = int(total.denominator) - dens[:-1].sum()
                    rates = np.exp(offsets * (1 if kind != "percent" else 0.5))
                    nums = _split_counts(rng, int(total.numerator), dens, rates, kind == "percent")
                    city_nums += nums
                    city_dens += dens
                    if do_counties:
                        for v, n, d in zip(values, nums, dens):
                            if d > 0:
                                rows.append(_row(ind, c, y, _Cell(round(n / d * scale, dec), int(n),
                                                                  int(d)), dim, v))
                    continue
                zc = float(_fwd(total.value, unit))
                centred = offsets - float(np.dot(shares, offsets))
                gvals = _inv(zc + centred, unit) if not additive else total.value * shares
                for v, gv, s in zip(values, np.atleast_1d(gvals), shares):
                    city_vals[v].append((float(gv), population(c, y) * s))
                    if do_counties:
                        rows.append(_row(ind, c, y, _Cell(round(float(gv), dec)), dim, v))
            if CITY in codes:
                for j, v in enumerate(values):
                    if has_counts:
                        if city_dens[j] > 0:
                            rows.append(_row(ind, CITY, y, _Cell(
                                round(city_nums[j] / city_dens[j] * scale, dec), int(city_nums[j]),
                                int(city_dens[j])), dim, v))
                    elif city_vals[v]:
                        if additive:
                            gv = sum(a for a, _ in city_vals[v])
                        else:
                            gv = sum(a * w for a, w in city_vals[v]) / sum(w for _, w in city_vals[v])
                        rows.append(_row(ind, CITY, y, _Cell(round(gv, dec)), dim, v))
    return rows


def _gap_groups(dim: str, values: list[str], level: float, gap: float, ind) -> list[float]:
    """Group levels whose difference is the gap: rural − urban, male − female."""
    out = []
    for v in values:
        if dim == "urban_rural":
            out.append(level + gap / 2 if v == "农村" else max(level - gap / 2, 0.0))
        elif dim == "sex":
            out.append(level + gap / 2 if v == "男" else max(level - gap / 2, 0.0))
        else:
            out.append(level)
    if _kind(ind.unit) == "percent":
        out = [min(max(x, 0.0), 100.0) for x in out]
    return out


def _shift_to_mean(vals: dict, target: float, unit: str, year: int) -> dict:
    """Shift county values on the model scale so their weighted mean equals ``target``."""
    kind = _kind(unit)
    if kind == "percent" and target >= 100:
        return {c: 100.0 for c in vals}
    w = {c: population(c, year) for c in vals}
    wsum = sum(w.values())
    z = {c: float(_fwd(v, unit)) for c, v in vals.items()}
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        mean = sum(float(_inv(z[c] + mid, unit)) * w[c] for c in z) / wsum
        if mean < target:
            lo = mid
        else:
            hi = mid
    return {c: float(_inv(z[c] + (lo + hi) / 2, unit)) for c in z}


def _row(ind, code: str, year: int, cell: _Cell, dim: str | None = None, group: str = "") -> dict:
    bd = {"sex": "", "urban_rural": "", "age_group": ""}
    if dim:
        bd[dim] = group
    return {
        "indicator_id": ind.id, "region": _REGION_NAMES[code], "year": year, **bd,
        "value": cell.value, "numerator": cell.numerator, "denominator": cell.denominator,
        "provisional": "是" if year == PROVISIONAL_YEAR else "否", "planted": "",
    }


_REGION_NAMES = {r.code: r.name for r in regions_mod.all_regions()}


# --------------------------------------------------------------------------- missing data
def _drop_missing(ind, rows: list[dict]) -> list[dict]:
    rng = np.random.default_rng([SEED, zlib.crc32(ind.name_zh.encode("utf-8")), 7])
    start_all = 2018 if rng.random() < P_NEW_INDICATOR else YEARS[0]
    start_county = max(start_all, 2017 if rng.random() < P_COUNTY_LATE else YEARS[0])
    gaps = {(c, y) for c in COUNTIES for y in YEARS
            if y not in (2020, PROVISIONAL_YEAR) and rng.random() < P_MISSING_COUNTY_YEAR}
    city_name = _REGION_NAMES[CITY]
    out = []
    for r in rows:
        code = CITY if r["region"] == city_name else _CODES[r["region"]]
        if r["year"] < start_all:
            continue
        if code != CITY and (r["year"] < start_county or (code, r["year"]) in gaps):
            continue
        out.append(r)
    return out


_CODES = {name: code for code, name in _REGION_NAMES.items()}


# --------------------------------------------------------------------------- planted problems
#: Deliberate problems: (code, indicator, region, preferred year, what is done, expected).
PLANTED = [
    ("unit_slip_percent", "c_infant_mortality", "620622", 2019,
     "数值写成带“%”（‰ 误作 %）", "拒收：疑似单位错误"),
    ("tenfold", "c_under5_mortality", "620623", 2017,
     "数值放大 10 倍，未填分子分母", "拒收：约为历史水平的 10 倍，疑似单位错误"),
    ("denominator_digit_dropped", "c_neonatal_mortality", "620602", 2016,
     "分母少了一位数字", "拒收：分子分母与数值不一致"),
    ("jump", "c_preschool_gross_enrolment", "620621", 2021,
     "在园幼儿数少报约 15%（分子、数值一致）", "接收，标记“jump”警告"),
    ("duplicate", "c_high_school_gross_enrolment", "620602", 2022,
     "同一行重复出现", "第二行拒收：重复行"),
]


def _plant(rows: list[dict]) -> list[dict]:
    index: dict[tuple, int] = {}
    for i, r in enumerate(rows):
        if not (r["sex"] or r["urban_rural"] or r["age_group"]):
            index[(r["indicator_id"], _CODES[r["region"]], r["year"])] = i
    extra: list[tuple[int, dict]] = []
    for code, ind_id, region, year, _, _ in PLANTED:
        years = sorted(YEARS, key=lambda y: (abs(y - year), y))
        target = None
        for y in years:
            i = index.get((ind_id, region, y))
            if i is None:
                continue
            r = rows[i]
            if code == "denominator_digit_dropped" and not (r["numerator"] or 0) > 0:
                continue
            target = i
            break
        if target is None:
            continue
        r = rows[target]
        r["planted"] = code
        if code == "unit_slip_percent":
            r["value"] = f"{r['value']}%"
        elif code == "tenfold":
            r["value"] = round(float(r["value"]) * 10, 2)
            r["numerator"] = r["denominator"] = None
        elif code == "denominator_digit_dropped":
            r["denominator"] = int(r["denominator"]) // 10
        elif code == "jump":
            n = int(round(r["numerator"] * 0.85))
            r["numerator"] = n
            r["value"] = round(n / r["denominator"] * 100, 2)
        elif code == "duplicate":
            extra.append((target, dict(r)))
    for pos, dup in sorted(extra, key=lambda t: -t[0]):
        rows.insert(pos + 1, dup)
    return rows


# --------------------------------------------------------------------------- public
COLUMNS = ["indicator_id", "region", "year", "sex", "urban_rural", "age_group", "value",
           "numerator", "denominator", "provisional", "planted"]


def generate_rows(indicators: Any = None) -> list[dict]:
    """The illustrative dataset as a list of dicts (the columns of :func:`generate`)."""
    inds = [i for i in (indicators or catalog.indicators())
            if i.monitorable and i.unit and not getattr(i, "same_as", None)]
    rows: list[dict] = []
    for ind in inds:
        rows.extend(_drop_missing(ind, _series_for(ind)))
    return _plant(rows)


def generate(indicators: Any = None):
    """The illustrative dataset as a DataFrame shaped like an import file.

    Columns: indicator_id, region (Chinese name), year, sex, urban_rural, age_group, value
    (float, or text for a planted problem), numerator, denominator, provisional (是/否),
    planted (problem code or ""). Row order is stable; deterministic for a given catalogue.
    """
    import pandas as pd

    return pd.DataFrame(generate_rows(indicators), columns=COLUMNS)
