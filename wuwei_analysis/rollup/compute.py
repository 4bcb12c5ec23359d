"""The roll-up itself, vectorised: children's rows of a long table → their parents' rows.

One implementation for the monitoring database (4 counties → 武威市, see ``derive``) and
for a long table at scale (2,850 counties → 31 provinces → the nation, see ``table``).

``rollup(rows, parent_of, expected, rules)`` aggregates one level: every row whose region
has a parent in ``parent_of`` is grouped by (indicator, parent, year, breakdown) and
combined by its indicator's rule. A group is derived only when enough children are usable
(``children_used / children_expected ≥ min_coverage``); a child is unusable when it lacks
what the rule needs (numerator and denominator for ``ratio``; the weight for
``weighted``), and a group whose children give a unit other than the catalogue's is not
derived at all. Groups not derived come back in ``problems`` with the reason.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from .methods import Rule

BREAKDOWN_KEYS = ["sex", "urban_rural", "age_group"]
GROUP_KEYS = ["indicator", "parent", "year", *BREAKDOWN_KEYS]

#: Reasons a parent's value is not derived (codes of ``problems["reason"]``).
REASONS = {
    "coverage": "下级地区数据不全",
    "units": "下级地区数据单位不一致",
}


METHOD_CODES = {"ratio": 0, "sum": 1, "weighted": 2}


def _cat(s: pd.Series) -> pd.Series:
    """A string column as a categorical with "" for missing (cheap when already one)."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return s.fillna("").astype(str).replace({"nan": "", "None": ""}).astype("category")
    cats = s.cat.categories
    if not all(isinstance(c, str) for c in cats):
        s = s.cat.rename_categories([str(c) for c in cats])
    if "nan" in s.cat.categories:
        s = s.cat.rename_categories(["" if c == "nan" else c for c in s.cat.categories]) \
            if "" not in s.cat.categories else s.astype(str).replace({"nan": ""}).astype(
                "category")
    if s.isna().any():
        if "" not in s.cat.categories:
            s = s.cat.add_categories([""])
        s = s.fillna("")
    return s


def _col(rows: pd.DataFrame, name: str) -> np.ndarray:
    return rows[name].to_numpy(float) if name in rows else np.full(len(rows), np.nan)


def rollup(rows: pd.DataFrame, parent_of: Mapping[str, str] | pd.Series,
           expected: Mapping[str, int] | pd.Series, rules: Mapping[str, Rule], *,
           min_coverage: float | None = None, keep_inputs: bool = False
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregate one level of children into their parents.

    Args:
        rows: long rows with indicator, region_code, year, sex, urban_rural, age_group,
            value, numerator, denominator; optional unit, illustrative, provisional,
            low_trust, partial, id, submission_id (kept as provenance with
            ``keep_inputs``).
        parent_of: child region code -> parent code (rows of other regions are ignored).
        expected: parent code -> how many children it has.
        rules: indicator id -> Rule (indicators without one, or ``none``, are skipped).
        min_coverage: overrides every rule's ``min_coverage`` when given.
        keep_inputs: add ``inputs`` (child row ids), ``submissions`` and ``children``
            (child codes used) to the result, and ``unusable`` to the problems (small
            tables only).

    Returns:
        (derived, problems). ``derived``: indicator, region_code (the parent), year,
        breakdown, value, numerator, denominator, method, children_used,
        children_expected, coverage, partial, illustrative, provisional, low_trust.
        ``problems``: indicator, region_code, year, breakdown, reason (see REASONS),
        children_used, children_expected, and with ``keep_inputs`` ``children`` (usable
        child codes) and ``unusable`` (child code -> what is missing).

    Vectorised: the group of each row is one integer made of the category codes of its
    key columns, and the sums are ``np.bincount`` — a few seconds for millions of rows.
    """
    parent_map = dict(parent_of)
    exp_map = dict(expected)
    aggregable = {k: r for k, r in rules.items() if r.aggregable}
    if rows.empty or not aggregable:
        return _empty_derived(), _empty_problems()
    ind = _cat(rows["indicator"])
    icats = [str(c) for c in ind.cat.categories]
    mcode_by = np.array([METHOD_CODES[aggregable[c].method] if c in aggregable else -1
                         for c in icats] + [-1])
    ic = ind.cat.codes.to_numpy()
    reg = _cat(rows["region_code"])
    parents = sorted(set(parent_map.values()))
    pidx = {p: k for k, p in enumerate(parents)}
    pc_by = np.array([pidx.get(parent_map.get(str(c)), -1) for c in reg.cat.categories] + [-1])
    pc = pc_by[reg.cat.codes.to_numpy()]
    m = mcode_by[ic]
    keep = (m >= 0) & (pc >= 0)
    if not keep.any():
        return _empty_derived(), _empty_problems()
    sub = rows.loc[keep] if not keep.all() else rows
    ic, pc, m = ic[keep], pc[keep], m[keep]
    yc, years = pd.factorize(sub["year"].to_numpy(np.int64))   # hashing: no sort
    bd = [_cat(sub[c]) if c in sub else pd.Series(pd.Categorical([""] * len(sub)))
          for c in BREAKDOWN_KEYS]
    bcodes = [b.cat.codes.to_numpy().astype(np.int64) for b in bd]
    bcats = [np.asarray([str(c) for c in b.cat.categories], object) for b in bd]
    # one integer per group key
    key = ic.astype(np.int64)
    for codes, size in ((pc, len(parents)), (yc, len(years)),
                        *((c, len(cs)) for c, cs in zip(bcodes, bcats))):
        key = key * max(size, 1) + codes
    inv, gkey = pd.factorize(key)
    G = len(gkey)
    value, num, den = _col(sub, "value"), _col(sub, "numerator"), _col(sub, "denominator")
    weight = np.full(len(sub), np.nan)
    w_den_by = np.zeros(len(icats) + 1, bool)
    for k, c in enumerate(icats):
        rule = aggregable.get(c)
        if rule is None or rule.method != "weighted":
            continue
        sel = ic == k
        if rule.weight == "denominator":
            weight[sel] = den[sel]
            w_den_by[k] = True
        elif sel.any():
            w = rows[(rows["indicator"].astype(str) == rule.weight).to_numpy()]
            for b in BREAKDOWN_KEYS:
                if b in w:
                    w = w[w[b].fillna("").astype(str).isin(["", "nan"]).to_numpy()]
            wmap = dict(zip(zip(w["region_code"].astype(str), w["year"].astype(int)),
                            w["value"].astype(float)))
            codes = sub["region_code"].astype(str).to_numpy()[sel]
            yrs = sub["year"].to_numpy(np.int64)[sel]
            weight[sel] = [wmap.get((c2, int(y)), np.nan) for c2, y in zip(codes, yrs)]
    usable = np.where(m == 0, np.isfinite(num) & np.isfinite(den) & (den > 0),
                      np.where(m == 2, np.isfinite(value) & np.isfinite(weight) & (weight > 0),
                               np.isfinite(value)))
    bc = lambda w: np.bincount(inv, weights=w, minlength=G)  # noqa: E731
    used_n = np.bincount(inv, weights=usable.astype(float), minlength=G).astype(np.int64)
    s_num = bc(np.where(usable & (m == 0), num, 0.0))
    s_den = bc(np.where(usable & (m == 0), den, 0.0))
    s_v = bc(np.where(usable & (m == 1), value, 0.0))
    s_wv = bc(np.where(usable & (m == 2), value * np.nan_to_num(weight), 0.0))
    s_w = bc(np.where(usable & (m == 2), np.nan_to_num(weight), 0.0))
    any_ = lambda col: bc(sub[col].to_numpy(bool).astype(float)) > 0 if col in sub \
        else np.zeros(G, bool)  # noqa: E731
    bad_unit = np.zeros(G, bool)
    if "unit" in sub:
        unit = _cat(sub["unit"])
        ucats = [str(c) for c in unit.cat.categories]
        pair = ic.astype(np.int64) * (len(ucats) + 1) + unit.cat.codes.to_numpy()
        uinv, upairs = pd.factorize(pair)
        bad_pair = np.array([(ucats[q % (len(ucats) + 1)] not in ("", aggregable[
            icats[q // (len(ucats) + 1)]].unit)) for q in upairs], bool)
        bad_unit = bc(bad_pair[uinv].astype(float)) > 0
    # decode the group keys
    rest = gkey.copy()
    dec = []
    for size in [len(c) for c in reversed(bcats)] + [len(years), len(parents)]:
        dec.append(rest % max(size, 1))
        rest //= max(size, 1)
    a_c, u_c, s_c, y_c, p_c = dec
    g_ic = rest
    ind_names = np.asarray(icats, object)[g_ic]
    g_m = mcode_by[g_ic]
    scale = np.array([aggregable[c].scale if c in aggregable else 1.0 for c in icats])[g_ic]
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(g_m == 0, s_num / s_den * scale,
                       np.where(g_m == 1, s_v, s_wv / s_w))
    decs = np.array([_decimals(aggregable[c].unit) + 2 if c in aggregable else 4
                     for c in icats])[g_ic]
    val = _round(val, decs)
    par = np.asarray(parents, object)[p_c]
    n_exp = np.array([int(exp_map.get(p, 0)) for p in parents], np.int64)[p_c]
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(n_exp > 0, used_n / np.maximum(n_exp, 1), np.nan)
    mc = np.full(G, float(min_coverage)) if min_coverage is not None else np.array(
        [aggregable[c].min_coverage if c in aggregable else 1.0 for c in icats])[g_ic]
    w_den = w_den_by[g_ic]
    out = pd.DataFrame({
        "indicator": ind_names, "region_code": par, "year": years[y_c],
        "sex": bcats[0][s_c], "urban_rural": bcats[1][u_c], "age_group": bcats[2][a_c],
        "value": val,
        "numerator": np.where(g_m == 0, s_num, np.nan),
        "denominator": np.where(g_m == 0, s_den, np.where((g_m == 2) & w_den, s_w, np.nan)),
        "method": np.array(["ratio", "sum", "weighted"], object)[g_m],
        "children_used": used_n, "children_expected": n_exp, "coverage": coverage,
        "partial": (coverage < 1 - 1e-12) | any_("partial"),
        "illustrative": any_("illustrative"), "provisional": any_("provisional"),
        "low_trust": any_("low_trust"),
    })
    ok = (coverage >= mc - 1e-12) & (used_n > 0) & ~bad_unit & np.isfinite(val)
    if keep_inputs:   # provenance, per group (small tables only)
        codes = sub["region_code"].astype(str).to_numpy()
        ids = sub["id"].to_numpy() if "id" in sub else None
        subs = sub["submission_id"].to_numpy() if "submission_id" in sub else None
        children: list[list] = [[] for _ in range(G)]
        inputs: list[list] = [[] for _ in range(G)]
        subm: list[set] = [set() for _ in range(G)]
        unusable: list[dict] = [{} for _ in range(G)]
        for k in range(len(sub)):
            g = inv[k]
            if usable[k]:
                children[g].append(codes[k])
                if ids is not None and pd.notna(ids[k]):     # a derived child has no id
                    inputs[g].append(int(ids[k]))
                if subs is not None and pd.notna(subs[k]):
                    subm[g].add(int(subs[k]))
            else:
                unusable[g][codes[k]] = "numerator_denominator" if m[k] == 0 else "weight"
        out["children"] = [sorted(c) for c in children]
        if ids is not None:
            out["inputs"] = [sorted(i) for i in inputs]
        if subs is not None:
            out["submissions"] = [sorted(x) for x in subm]
        out["unusable"] = unusable
    problems = out.loc[~ok].copy()
    problems["reason"] = np.where(bad_unit[~ok], "units", "coverage")
    derived = out.loc[ok].drop(columns=[c for c in ("unusable",) if c in out])
    derived["derived"] = True
    pcols = ["indicator", "region_code", "year", *BREAKDOWN_KEYS, "reason", "children_used",
             "children_expected"] + [c for c in ("children", "unusable") if c in problems]
    return derived.reset_index(drop=True), problems[pcols].reset_index(drop=True)


def _decimals(unit: str) -> int:
    from ..indicator_catalog import units

    return int(units().get(unit, {}).get("decimals", 2))


def _round(values: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """Round each value to its own number of decimals (as the importer stores computed
    values: the unit's decimals + 2)."""
    out = values.copy()
    for d in np.unique(decimals):
        sel = decimals == d
        out[sel] = np.round(values[sel], int(d))
    return out


DERIVED_COLUMNS = ["indicator", "region_code", "year", *BREAKDOWN_KEYS, "value", "numerator",
                   "denominator", "method", "children_used", "children_expected", "coverage",
                   "partial", "illustrative", "provisional", "low_trust", "derived"]


def _empty_derived() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in DERIVED_COLUMNS})


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in ["indicator", "region_code", "year", *BREAKDOWN_KEYS,
                                         "reason", "children_used", "children_expected"]})
