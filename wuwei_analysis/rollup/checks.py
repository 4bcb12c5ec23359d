"""Consistency checks between levels and breakdowns, as warnings with the numbers.

``parent_children``  a parent's *reported* figure against what its children add up to
                     (only when every child has usable data): numerator and denominator
                     when the parent gave counts, else the value.
``breakdown``        the groups of a breakdown (女 + 男, 城镇 + 农村, the catalogue's age
                     groups) against the total of the same region and year: counts summed
                     (or values, for ``sum`` indicators); for rates given without counts, the
                     total must lie within the groups' range.

A difference counts when ``|reported − sum| > max(absolute, relative × |sum|)``, the
tolerances of ``_meta.yaml`` ``rollup.tolerance`` (counts) and ``value_tolerance``
(values). Each warning row carries the reported number, the sum, the difference and the
tolerance, and a Chinese sentence saying all of it.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from .. import store
from ..vocab.numbers import format_value
from . import compute
from .derived import _load, breakdown_zh
from .hierarchy import Hierarchy, from_regions
from .methods import Rule, rules as all_rules, settings  # noqa: F401 (settings: CLI)

CHECK_COLUMNS = ["kind", "indicator", "name_zh", "region_code", "region", "year", "sex",
                 "urban_rural", "age_group", "part", "reported", "expected", "difference",
                 "tolerance", "message"]
KIND_ZH = {"parent_children": "上下级不一致", "breakdown": "分组与合计不一致"}
PART_ZH = {"numerator": "分子", "denominator": "分母", "value": "数值"}


def _fmt(x: float, decimals: int = 0) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    if decimals == 0 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.{decimals}f}"


def _beyond(reported: float, expected: float, tol: dict) -> tuple[bool, float]:
    limit = max(float(tol["absolute"]), float(tol["relative"]) * abs(expected))
    return abs(reported - expected) > limit + 1e-9, limit


def _tol_text(tol: dict, value: bool = False) -> str:
    return f"容差 ±{tol['relative'] * 100:g}%"


def _count_names(indicator: str) -> dict[str, str]:
    from .. import indicator_catalog as cat
    try:
        counts = cat.indicator(indicator).counts or {}
    except Exception:  # noqa: BLE001 - an id the catalogue no longer has
        counts = {}
    return {k: f"{counts[k]}（{PART_ZH[k]}）" if counts.get(k) else PART_ZH[k]
            for k in ("numerator", "denominator")} | {"value": "数值"}


def _unit_decimals(unit: str) -> int:
    """Decimals to compare values in: one more than the unit shows (4.10‰ vs 4.1‰), so a
    difference just below the display's resolution is still visible."""
    from .. import indicator_catalog as cat
    u = cat.units().get(unit, {})
    return int(u.get("decimals", 2)) + (1 if u.get("kind") in ("rate", "percent",
                                                                 "per_capita") else 0)


def _maybe_beyond(both: pd.DataFrame, rules: dict[str, Rule], cfg: dict) -> np.ndarray:
    """Rows of ``both`` (reported and ``_sum`` columns) where some part may be beyond its
    tolerance: a vectorised superset of what :func:`parent_children` reports, so that only
    these rows go through the exact test and the sentences."""
    if both.empty:
        return np.zeros(0, bool)

    def over(part: str, tols: list[dict]) -> np.ndarray:
        rep = pd.to_numeric(both[part], errors="coerce").to_numpy(float)
        exp = pd.to_numeric(both[f"{part}_sum"], errors="coerce").to_numpy(float)
        limit = np.min([np.maximum(float(t["absolute"]), float(t["relative"]) * np.abs(exp))
                        for t in tols], axis=0)
        with np.errstate(invalid="ignore"):
            return np.abs(rep - exp) > limit + 1e-9

    ratio = both["indicator"].map(lambda i: rules[i].method == "ratio").to_numpy(bool)
    counts = over("numerator", [cfg["tolerance"]]) | over("denominator", [cfg["tolerance"]])
    value = over("value", [cfg["tolerance"], cfg["value_tolerance"]])
    return (ratio & counts) | value


def parent_children(rows: pd.DataFrame, h: Hierarchy, rules: dict[str, Rule]) -> list[dict]:
    """Reported parent rows against the sum of all their children's reported rows."""
    out: list[dict] = []
    cfg = settings()
    batch = h.order()
    if rows.empty or not batch:
        return out
    parent_of = {c: p for p in batch for c in h.children(p)}
    expected = {p: len(h.children(p)) for p in batch}
    sums, _ = compute.rollup(rows, parent_of, expected, rules, min_coverage=1.0)
    if sums.empty:
        return out
    key = ["indicator", "region_code", "year", *compute.BREAKDOWN_KEYS]
    rep = rows[rows["region_code"].isin(batch)]
    both = sums.merge(rep[key + ["value", "numerator", "denominator", "source_row"]
                          if "source_row" in rep else key + ["value", "numerator",
                                                             "denominator"]],
                      on=key, suffixes=("_sum", ""))
    both = both[_maybe_beyond(both, rules, cfg)]
    for r in both.to_dict("records"):
        rule = rules[r["indicator"]]
        long, _ = h.child_label(r["region_code"])
        parts = []
        if rule.method == "ratio" and np.isfinite(r["numerator"]) and np.isfinite(
                r["denominator"]):
            for part in ("numerator", "denominator"):
                parts.append((part, r[part], r[f"{part}_sum"], cfg["tolerance"], 0))
        elif rule.method == "sum":
            parts.append(("value", r["value"], r["value_sum"], cfg["tolerance"],
                          _unit_decimals(rule.unit)))
        else:
            parts.append(("value", r["value"], r["value_sum"], cfg["value_tolerance"],
                          _unit_decimals(rule.unit)))
        bad = []
        for part, reported, expect, tol, dec in parts:
            beyond, _ = _beyond(float(reported), float(expect), tol)
            if beyond:
                bad.append((part, float(reported), float(expect), tol, dec))
        if not bad:
            continue
        names = _count_names(r["indicator"])
        where = (f"{h.name(r['region_code'])} {int(r['year'])}年 {{name}}"
                 f"{breakdown_zh(r['sex'], r['urban_rural'], r['age_group'])}")
        bits = []
        for part, reported, expect, tol, dec in bad:
            diff = reported - expect
            rel = f"，{diff / expect * 100:+.1f}%" if expect else ""
            if part == "value" and rule.method != "sum":   # a rate or mean: no "合计"
                bits.append(f"上报 {reported:.{dec}f}{rule.unit}，由各{long}数据汇总为 "
                            f"{expect:.{dec}f}{rule.unit}，相差 {diff:+.{dec}f}{rel}"
                            f"（{_tol_text(tol)}）")
                continue
            bits.append(f"上报{names[part]}{_fmt(reported, dec)}，各{long}合计 "
                        f"{_fmt(expect, dec)}，相差 {diff:+,.{dec}f}{rel}"
                        f"（{_tol_text(tol, part == 'value')}）")
        tail = ""
        if rule.method == "ratio" and bad[0][0] != "value":
            d = _unit_decimals(rule.unit)
            tail = (f"；按各{long}分子、分母汇总应为 {r['value_sum']:.{d}f}{rule.unit}，"
                    f"上报 {r['value']:.{d}f}{rule.unit}")
        text = "；".join(bits) + tail
        for part, reported, expect, tol, _ in bad:
            out.append({"kind": "parent_children", "indicator": r["indicator"],
                        "region_code": r["region_code"], "year": int(r["year"]),
                        "sex": r["sex"], "urban_rural": r["urban_rural"],
                        "age_group": r["age_group"], "part": part, "reported": reported,
                        "expected": expect, "difference": reported - expect,
                        "tolerance": _tol_text(tol, part == "value"),
                        "where": where, "text": text,
                        "source_row": r.get("source_row")})
    return out


def _groups(indicator: str, dim: str) -> list[str] | None:
    from .. import indicator_catalog as cat
    if dim == "age_group":
        try:
            groups = list(cat.indicator(indicator).age_groups)
        except Exception:  # noqa: BLE001
            groups = []
        return groups or None
    return list(cat._meta()["breakdowns"][dim]["values"])


def _segments(gid: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, starts): rows stably sorted by group id, and where each group begins."""
    order = np.argsort(gid, kind="stable")
    counts = np.bincount(gid, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return order, starts


def _reduce(ufunc: np.ufunc, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``ufunc`` over each group's values, in row order (as ``Series.sum`` of the group)."""
    if not len(values):
        return np.zeros(len(starts))
    return ufunc.reduceat(values, starts)


def breakdowns(rows: pd.DataFrame, rules: dict[str, Rule], names: dict[str, str],
               groups: dict[str, list[str]] | None = None) -> list[dict]:
    """Each complete breakdown (all groups present) against the total of its region-year.

    ``groups``: dimension -> its groups, overriding the catalogue's (``_meta.yaml`` for sex
    and urban_rural, an entry's ``age_groups`` for age).

    Vectorised: the groups of every (indicator, region, year) are summed at once; only the
    findings are turned into sentences.
    """
    out: list[dict] = []
    if rows.empty:
        return out
    cfg = settings()
    from ..geography import region as find_region

    bd = compute.BREAKDOWN_KEYS
    key3 = ["indicator", "region_code", "year"]
    blank = {c: (rows[c] == "").to_numpy() for c in bd}
    is_total = blank["sex"] & blank["urban_rural"] & blank["age_group"]
    tcols = key3 + ["value", "numerator", "denominator"] + (
        ["source_row"] if "source_row" in rows else [])
    totals = rows.loc[is_total, tcols].drop_duplicates(key3, keep="first")
    totals = totals.rename(columns={c: f"t_{c}" for c in tcols if c not in key3})
    num_all = pd.to_numeric(rows["numerator"], errors="coerce").to_numpy(float)
    den_all = pd.to_numeric(rows["denominator"], errors="coerce").to_numpy(float)
    val_all = pd.to_numeric(rows["value"], errors="coerce").to_numpy(float)
    keyed = rows[key3].notna().all(axis=1).to_numpy()
    region_names: dict[str, str] = {}
    count_names: dict[str, dict[str, str]] = {}
    for dim in bd:
        others = [d for d in bd if d != dim]
        mask = ~blank[dim] & blank[others[0]] & blank[others[1]]
        mask &= keyed   # as groupby: no NaN keys
        if not mask.any():
            continue
        sel = rows.loc[mask, key3 + [dim]].reset_index(drop=True)
        num, den, val = num_all[mask], den_all[mask], val_all[mask]
        # the groups each indicator must have, and whether each row is one of them
        want_of: dict[str, list[str]] = {}
        icode, inds = pd.factorize(sel["indicator"])
        member = np.zeros(len(sel), bool)
        dim_vals = sel[dim].to_numpy(object)
        for k, iid in enumerate(inds):
            rule = rules.get(iid)
            if rule is None or not rule.aggregable:
                continue
            want = (groups or {}).get(dim) or _groups(iid, dim)
            if not want:
                continue
            want_of[iid] = list(want)
            at = icode == k
            member[at] = np.isin(dim_vals[at].astype(str), np.asarray(want, dtype=str))
        if not want_of:
            continue
        gid = sel.groupby(key3, sort=True).ngroup().to_numpy()
        n_groups = int(gid.max()) + 1
        order, starts = _segments(gid, n_groups)
        n = np.bincount(gid, minlength=n_groups)
        n_in = np.bincount(gid, weights=member.astype(float), minlength=n_groups)
        distinct = pd.DataFrame({"g": gid, "v": dim_vals}).drop_duplicates()
        n_distinct = np.bincount(distinct["g"].to_numpy(), minlength=n_groups)
        first = order[starts]
        g = sel.loc[first, key3].reset_index(drop=True)
        want_n = np.array([len(want_of.get(i, ())) for i in g["indicator"]])
        want_set_n = np.array([len(set(want_of.get(i, ()))) for i in g["indicator"]])
        complete = (want_n > 0) & (n == want_n) & (n_in == n) & (n_distinct == want_set_n)
        g["num_ok"] = np.bincount(gid, weights=np.isfinite(num).astype(float),
                                  minlength=n_groups) == n
        g["den_ok"] = np.bincount(gid, weights=np.isfinite(den).astype(float),
                                  minlength=n_groups) == n
        g["num_sum"] = _reduce(np.add, num[order], starts)
        g["den_sum"] = _reduce(np.add, den[order], starts)
        v = val[order]
        g["v_sum"] = _reduce(np.add, np.nan_to_num(v, nan=0.0), starts)
        g["v_min"] = _reduce(np.fmin, v, starts)
        g["v_max"] = _reduce(np.fmax, v, starts)
        g = g[complete].merge(totals, on=key3, how="inner", sort=False)
        if g.empty:
            continue
        for r in g.to_dict("records"):
            iid, code, year = r["indicator"], r["region_code"], r["year"]
            rule = rules[iid]
            want = want_of[iid]
            label = "+".join(want)
            dec = _unit_decimals(rule.unit)
            parts = []
            t_num, t_den = float(r["t_numerator"]), float(r["t_denominator"])
            counts_ok = r["num_ok"] and r["den_ok"] and np.isfinite(t_num) and \
                np.isfinite(t_den)
            if rule.method == "ratio" and counts_ok:
                for part, tot, s in (("numerator", t_num, r["num_sum"]),
                                     ("denominator", t_den, r["den_sum"])):
                    parts.append((part, tot, float(s), cfg["tolerance"], 0, "sum"))
            elif rule.method == "sum":
                parts.append(("value", float(r["t_value"]), float(r["v_sum"]),
                              cfg["tolerance"], dec, "sum"))
            else:
                lo, hi = float(r["v_min"]), float(r["v_max"])
                v = float(r["t_value"])
                tol = cfg["value_tolerance"]
                edge = lo if v < lo else hi if v > hi else v
                if abs(v - edge) > max(tol["absolute"], tol["relative"] * abs(edge)) + 1e-9:
                    parts.append(("value", v, edge, tol, dec, "range"))
            parts = [p for p in parts if p[5] == "range" or _beyond(p[1], p[2], p[3])[0]]
            if not parts:
                continue
            if code not in region_names:
                try:
                    region_names[code] = find_region(code).name
                except Exception:  # noqa: BLE001
                    region_names[code] = code
            where = f"{region_names[code]} {int(year)}年 {names.get(iid, iid)}"
            if iid not in count_names:
                count_names[iid] = _count_names(iid)
            cn = count_names[iid]
            for part, reported, expect, tol, d, how in parts:
                diff = reported - expect
                if how == "sum":
                    rel = f"，{diff / expect * 100:+.1f}%" if expect else ""
                    text = (f"合计{cn[part]}{_fmt(reported, d)} 与{label}之和 "
                            f"{_fmt(expect, d)} 不一致，相差 {diff:+,.{d}f}{rel}"
                            f"（{_tol_text(tol, part == 'value')}）")
                else:
                    text = (f"合计 {reported:.{d}f}{rule.unit} 不在{label}各组数值 "
                            f"{lo:.{d}f}—{hi:.{d}f}{rule.unit} 之间（相差 {diff:+.{d}f}，"
                            f"{_tol_text(tol, True)}）")
                out.append({"kind": "breakdown", "indicator": iid, "region_code": code,
                            "year": int(year), "sex": "", "urban_rural": "",
                            "age_group": "", "part": part, "reported": reported,
                            "expected": expect, "difference": diff,
                            "tolerance": _tol_text(tol, part == "value"),
                            "where": where, "text": text, "dimension": dim,
                            "source_row": r.get("t_source_row")})
    return out


def run_checks(rows: pd.DataFrame, h: Hierarchy | None = None,
               rules: dict[str, Rule] | None = None) -> pd.DataFrame:
    """Both checks on current reported rows; a DataFrame with CHECK_COLUMNS."""
    h = from_regions() if h is None else h
    rules = all_rules() if rules is None else rules
    from .. import indicator_catalog as cat
    names = {i.id: i.name_zh for i in cat.indicators()}
    if rows.empty:
        return pd.DataFrame(columns=CHECK_COLUMNS + ["source_row"])
    for c in compute.BREAKDOWN_KEYS:
        rows[c] = rows[c].fillna("").astype(str)
    found = parent_children(rows, h, rules) + breakdowns(rows, rules, names)
    recs = []
    for f in found:
        where = f.pop("where").replace("{name}", names.get(f["indicator"], f["indicator"]))
        text = f.pop("text")
        f.pop("dimension", None)
        f["message"] = f"{where}：{text}"
        f["name_zh"] = names.get(f["indicator"], f["indicator"])
        f["region"] = h.name(f["region_code"]) if f["region_code"] in h.names else \
            where.split(" ")[0]
        recs.append(f)
    df = pd.DataFrame(recs, columns=CHECK_COLUMNS + ["source_row"])
    # one sentence per finding: parts of one key share their message
    return df.reset_index(drop=True)


def check(db: Any = None, *, indicators: Iterable[str] | None = None,
          years: Iterable[int] | None = None, regions: Iterable | None = None
          ) -> pd.DataFrame:
    """All consistency warnings on the current reported values of the database.

    Returns a DataFrame with CHECK_COLUMNS: kind (parent_children / breakdown),
    indicator, name_zh, region_code, region, year, breakdown, part (numerator /
    denominator / value), reported, expected (the sum or range edge), difference,
    tolerance (text), message (Chinese, with all the numbers). One row per part.
    """
    h = from_regions(regions)
    rules = all_rules()
    wanted = [i for i in (indicators if indicators is not None else rules) if i in rules]
    with store.connect(db) as conn:
        rows = _load(conn, wanted, years)
    return run_checks(rows, h, rules).drop(columns=["source_row"])


def data_quality(region: Any, year: int | None = None, *, db: Any = None) -> pd.DataFrame:
    """The data-quality rows a brief shows for one region (and year): consistency warnings
    about the region itself, as parent or as the region whose breakdowns disagree, and the
    region's values that are derived rather than reported.

    Returns columns 类别, 指标, 年份, 说明 (Chinese, ready to show), one row per finding.
    """
    from ..geography import region as find_region

    code = find_region(region).code
    years = None if year is None else [int(year)]
    found = check(db, years=years)
    found = found[found["region_code"] == code]
    rows = [{"类别": KIND_ZH[r.kind], "指标": r.name_zh, "年份": int(r.year),
             "说明": r.message} for r in found.drop_duplicates("message").itertuples()]
    obs = store.observations(region=code, db=db, year=years, breakdown="all")
    if "derived" in obs:
        for r in obs[obs["derived"]].itertuples():
            rows.append({"类别": "汇总数（非上报）", "指标": r.name_zh, "年份": int(r.year),
                         "说明": f"{r.region} {r.year}年 {r.name_zh}"
                                 f"{breakdown_zh(r.sex, r.urban_rural, r.age_group)}"
                                 f" {format_value(r.value, r.unit)}：{r.source}"})
    return pd.DataFrame(rows, columns=["类别", "指标", "年份", "说明"])
