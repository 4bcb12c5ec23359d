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

from .rules import Rule

BREAKDOWN_KEYS = ["sex", "urban_rural", "age_group"]
GROUP_KEYS = ["indicator", "parent", "year", *BREAKDOWN_KEYS]

#: Reasons a parent's value is not derived (codes of ``problems["reason"]``).
REASONS = {
    "coverage": "下级地区数据不全",
    "units": "下级地区数据单位不一致",
}


def _as_str(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s
    return s.astype(str)


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
            (child codes used) to the result (small tables only).

    Returns:
        (derived, problems). ``derived``: indicator, region_code (the parent), year,
        breakdown, value, numerator, denominator, method, children_used,
        children_expected, coverage, partial, illustrative, provisional, low_trust.
        ``problems``: indicator, region_code, year, breakdown, reason (see REASONS),
        children_used, children_expected, and with ``keep_inputs`` ``children`` (usable
        child codes) and ``unusable`` (child code -> what is missing).
    """
    parent_map = pd.Series(parent_of, dtype=object) if not isinstance(parent_of, pd.Series) \
        else parent_of
    exp_map = pd.Series(expected, dtype="int64") if not isinstance(expected, pd.Series) \
        else expected
    aggregable = {k: r for k, r in rules.items() if r.aggregable}
    ind = rows["indicator"].astype(str) if not isinstance(rows["indicator"].dtype,
                                                          pd.CategoricalDtype) \
        else rows["indicator"]
    keep = ind.isin(list(aggregable)).to_numpy()
    codes = rows["region_code"]
    parent = codes.astype(str).map(parent_map) if not isinstance(
        codes.dtype, pd.CategoricalDtype) else codes.map(parent_map).astype(object)
    keep &= parent.notna().to_numpy()
    df = rows.loc[keep].copy()
    if df.empty:
        return _empty_derived(), _empty_problems()
    df["parent"] = parent[keep].astype(str).to_numpy()
    df["indicator"] = df["indicator"].astype(str)
    for c in BREAKDOWN_KEYS:
        df[c] = df[c].astype(str).replace({"nan": ""})
    method = df["indicator"].map({k: r.method for k, r in aggregable.items()})
    value = df["value"].to_numpy(float)
    num = df["numerator"].to_numpy(float) if "numerator" in df else np.full(len(df), np.nan)
    den = df["denominator"].to_numpy(float) if "denominator" in df else np.full(len(df), np.nan)
    m = method.to_numpy()
    weight = np.full(len(df), np.nan)
    is_w_den = np.zeros(len(df), bool)
    for iid, rule in aggregable.items():
        if rule.method != "weighted":
            continue
        sel = (df["indicator"] == iid).to_numpy()
        if not sel.any():
            continue
        if rule.weight == "denominator":
            weight[sel] = den[sel]
            is_w_den |= sel
        else:
            w = rows.loc[(rows["indicator"].astype(str) == rule.weight).to_numpy()]
            w = w[(w["sex"].astype(str).isin(["", "nan"])) & (w["urban_rural"].astype(str)
                  .isin(["", "nan"])) & (w["age_group"].astype(str).isin(["", "nan"]))]
            wmap = pd.Series(w["value"].to_numpy(float),
                             index=pd.MultiIndex.from_arrays(
                                 [w["region_code"].astype(str), w["year"].astype(int)]))
            wmap = wmap[~wmap.index.duplicated()]
            idx = pd.MultiIndex.from_arrays([df.loc[sel, "region_code"].astype(str),
                                             df.loc[sel, "year"].astype(int)])
            weight[sel] = wmap.reindex(idx).to_numpy(float)
    usable = np.where(m == "ratio", np.isfinite(num) & np.isfinite(den) & (den > 0),
                      np.where(m == "weighted", np.isfinite(value) & np.isfinite(weight)
                               & (weight > 0), np.isfinite(value)))
    df["_use"] = usable
    df["_num"] = np.where(usable & (m == "ratio"), num, 0.0)
    df["_den"] = np.where(usable & (m == "ratio"), den, 0.0)
    df["_v"] = np.where(usable & (m == "sum"), value, 0.0)
    df["_wv"] = np.where(usable & (m == "weighted"), value * np.nan_to_num(weight), 0.0)
    df["_w"] = np.where(usable & (m == "weighted"), np.nan_to_num(weight), 0.0)
    rule_unit = df["indicator"].map({k: r.unit for k, r in aggregable.items()})
    if "unit" in df:
        unit = df["unit"].astype(str).replace({"nan": ""})
        df["_badunit"] = ((unit != "") & (unit != rule_unit)).to_numpy()
    else:
        df["_badunit"] = False
    for c in ("illustrative", "provisional", "low_trust", "partial"):
        df[f"_{c}"] = df[c].astype(bool).to_numpy() if c in df else False
    g = df.groupby(GROUP_KEYS, sort=False, observed=True)
    agg = g.agg(children_used=("_use", "sum"), numerator=("_num", "sum"),
                denominator=("_den", "sum"), _v=("_v", "sum"), _wv=("_wv", "sum"),
                _w=("_w", "sum"), _badunit=("_badunit", "any"),
                illustrative=("_illustrative", "any"), provisional=("_provisional", "any"),
                low_trust=("_low_trust", "any"), _partial_in=("_partial", "any"))
    if keep_inputs:
        used = df[df["_use"]]
        gu = used.groupby(GROUP_KEYS, sort=False, observed=True)
        extra = pd.DataFrame({"children": gu["region_code"].agg(lambda s: sorted(map(str, s)))})
        if "id" in used:
            extra["inputs"] = gu["id"].agg(lambda s: sorted(int(x) for x in s))
        if "submission_id" in used:
            extra["submissions"] = gu["submission_id"].agg(lambda s: sorted({int(x) for x in s}))
        bad = df[~df["_use"]]
        if not bad.empty:
            why = np.where(bad["indicator"].map({k: r.method for k, r in aggregable.items()})
                           == "ratio", "numerator_denominator", "weight")
            bad = bad.assign(_why=why)
            extra = extra.join(bad.groupby(GROUP_KEYS, sort=False, observed=True).apply(
                lambda s: dict(zip(s["region_code"].astype(str), s["_why"]))).rename("unusable"),
                how="outer")
        agg = agg.join(extra, how="left")
    agg = agg.reset_index()
    agg["method"] = agg["indicator"].map({k: r.method for k, r in aggregable.items()})
    agg["children_expected"] = agg["parent"].map(exp_map).fillna(0).astype("int64")
    agg["children_used"] = agg["children_used"].astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        agg["coverage"] = agg["children_used"] / agg["children_expected"].where(
            agg["children_expected"] > 0)
        mc = (pd.Series(min_coverage, index=agg.index) if min_coverage is not None
              else agg["indicator"].map({k: r.min_coverage for k, r in aggregable.items()}))
        scale = agg["indicator"].map({k: r.scale for k, r in aggregable.items()}).to_numpy()
        meth = agg["method"].to_numpy()
        val = np.where(meth == "ratio", agg["numerator"] / agg["denominator"] * scale,
                       np.where(meth == "sum", agg["_v"], agg["_wv"] / agg["_w"]))
    dec = agg["indicator"].map({k: int(_decimals(r.unit)) + 2 for k, r in aggregable.items()})
    agg["value"] = _round(np.asarray(val, float), dec.to_numpy())
    w_den = agg["indicator"].map({k: r.weight == "denominator" for k, r in aggregable.items()})
    agg["denominator"] = np.where(meth == "ratio", agg["denominator"],
                                  np.where((meth == "weighted") & w_den.to_numpy(bool),
                                           agg["_w"], np.nan))
    agg["numerator"] = np.where(meth == "ratio", agg["numerator"], np.nan)
    ok_cov = (agg["coverage"] >= mc - 1e-12) & (agg["children_used"] > 0)
    ok = ok_cov & ~agg["_badunit"] & np.isfinite(agg["value"])
    agg["partial"] = (agg["coverage"] < 1 - 1e-12) | agg["_partial_in"]
    agg = agg.rename(columns={"parent": "region_code"})
    problems = agg.loc[~ok].copy()
    problems["reason"] = np.where(problems["_badunit"], "units", "coverage")
    derived = agg.loc[ok].drop(columns=[c for c in agg.columns if c.startswith("_")])
    derived = derived.drop(columns=[c for c in ("unusable",) if c in derived])
    derived["derived"] = True
    pcols = ["indicator", "region_code", "year", *BREAKDOWN_KEYS, "reason", "children_used",
             "children_expected"] + [c for c in ("children", "unusable") if c in problems]
    return derived.reset_index(drop=True), problems[pcols].reset_index(drop=True)


def _decimals(unit: str) -> int:
    from ..catalog import units

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
