"""Roll-up of a long table with a parent column: counties → provinces → nation, at scale.

``rollup_table(df)`` takes an observations-shaped long table (indicator, region_code,
region_parent, year, sex, urban_rural, age_group, value, numerator, denominator — the
synthetic nation of ``wuwei_analysis.scale`` has them) and returns the parents' rows
derived level by level with the catalogue's rules (:mod:`.compute`, the same code the
database uses). The hierarchy comes from the table's ``region_parent`` column plus
``parents=`` for regions the table has no rows of (the synthetic provinces → ``top``).

Work can be split by indicator over processes or a Dask cluster
(``executor="local" | "dask"``, :mod:`wuwei_analysis.executors`); every indicator rolls up
independently, so the result is the same either way.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError
from .compute import rollup
from .hierarchy import check_tree
from .methods import Rule, rules as all_rules

#: The synthetic nation's top region (parent of the synthetic provinces SP01…).
SYNTHETIC_TOP = ("SN000", "合成全国")

OUT_COLUMNS = ["indicator", "region_code", "region_level", "region_parent", "year", "sex",
               "urban_rural", "age_group", "value", "numerator", "denominator", "method",
               "children_used", "children_expected", "coverage", "partial", "illustrative",
               "derived"]


def hierarchy_of(df: pd.DataFrame, parents: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    """child code -> parent code from the table's region_code / region_parent columns
    (plus ``parents``), checked: a cycle raises DataError naming the region."""
    if "region_parent" not in df:
        raise DataError("汇总需要“上级地区”列（region_parent）")
    rc, rp = df["region_code"], df["region_parent"]
    if isinstance(rc.dtype, pd.CategoricalDtype) and isinstance(rp.dtype, pd.CategoricalDtype):
        # distinct (code, parent) pairs from the category codes: no string work per row
        pair = rc.cat.codes.to_numpy(np.int64) * (len(rp.cat.categories) + 1) \
            + rp.cat.codes.to_numpy(np.int64) + 1
        u = pd.unique(pair)
        ccat = np.append(np.asarray(rc.cat.categories, object), "")
        pcat = np.append(np.asarray(rp.cat.categories, object), "")
        codes = ccat[u // (len(rp.cat.categories) + 1)]
        pars = pcat[u % (len(rp.cat.categories) + 1) - 1]
    else:
        pairs = df[["region_code", "region_parent"]].drop_duplicates()
        codes, pars = pairs["region_code"].to_numpy(), pairs["region_parent"].to_numpy()
    tree: dict[str, str] = {}
    for code, par in zip(map(str, codes), map(str, pars)):
        if par in ("", "nan", "None"):
            continue
        if tree.get(code, par) != par:
            raise DataError(f"地区 {code} 在表中有两个上级地区（{tree[code]}、{par}），无法汇总",
                            region=code)
        tree[code] = par
    for code, par in (parents or {}).items():
        if par:
            tree[str(code)] = str(par)
    known = set(tree) | set(tree.values())
    check_tree(tree, known=known)
    return tree


def _levels(tree: dict[str, str]) -> list[list[str]]:
    """Parents grouped by height: first those whose children are leaves, then up."""
    kids: dict[str, list[str]] = {}
    for c, p in tree.items():
        kids.setdefault(p, []).append(c)
    height: dict[str, int] = {}

    def h(code: str) -> int:
        if code not in kids:
            return 0
        if code not in height:
            height[code] = 1 + max(h(c) for c in kids[code])
        return height[code]

    out: dict[int, list[str]] = {}
    for p in kids:
        out.setdefault(h(p), []).append(p)
    return [sorted(out[k]) for k in sorted(out)]


def _rollup_chunk(task: tuple) -> pd.DataFrame:
    """One chunk (some indicators, all levels); module level so it pickles for Dask."""
    df, tree, rules, min_coverage = task
    return _rollup_levels(df, tree, rules, min_coverage)


def _rollup_levels(df: pd.DataFrame, tree: dict[str, str], rules: Mapping[str, Rule],
                   min_coverage: float | None) -> pd.DataFrame:
    kids: dict[str, int] = {}
    for p in tree.values():
        kids[p] = kids.get(p, 0) + 1
    rows = df
    out = []
    rc = df["region_code"]
    present = set(map(str, rc.cat.categories if isinstance(rc.dtype, pd.CategoricalDtype)
                      else pd.unique(rc.astype(str))))
    levels = _levels(tree)
    for level, batch in enumerate(levels, start=1):
        parent_of = {c: p for c, p in tree.items() if p in set(batch)}
        expected = {p: kids[p] for p in batch}
        der, _ = rollup(rows, parent_of, expected, rules, min_coverage=min_coverage)
        der["region_level"] = level
        out.append(der)
        if level == len(levels):
            break
        # the next level rolls up this one, and any of the table's own regions that sit
        # directly under one of its parents (a county under the nation)
        nxt = set(levels[level])
        leaves = {c for c, p in tree.items() if p in nxt} & present
        rows = der if not leaves else pd.concat(
            [der, df[df["region_code"].astype(str).isin(leaves).to_numpy()]],
            ignore_index=True)
    out = [o for o in out if not o.empty]
    if not out:
        return pd.DataFrame(columns=OUT_COLUMNS)
    res = pd.concat(out, ignore_index=True)
    res["region_parent"] = res["region_code"].map(tree).fillna("")
    return res


def rollup_table(df: pd.DataFrame, *, parents: Mapping[str, str] | None = None,
                 top: tuple[str, str] | None = None, rules: Mapping[str, Rule] | None = None,
                 min_coverage: float | None = None, executor: str = "local",
                 workers: int = 1, address: str | None = None, client: Any = None,
                 chunks: int | None = None) -> pd.DataFrame:
    """Every parent's rows derived from the table, level by level.

    Args:
        df: the long table (children's rows; it may hold only the lowest level).
        parents: extra child -> parent pairs (for parents the table has no rows of).
        top: (code, name) of a region above every parent without a parent of its own
            (the synthetic provinces → ``SYNTHETIC_TOP``); None: none.
        rules: indicator id -> Rule (default: the catalogue's).
        min_coverage: share of children needed (overrides the rules'; the default is
            each rule's, from the catalogue).
        executor, workers, address, client: where to run (``workers=1``, local: in this
            process, vectorised); the table is split by indicator into ``chunks`` tasks
            (default: one per worker). For a table that fits one machine the local,
            single-process run is the fastest (the roll-up is a few passes of bincount;
            shipping the rows to workers costs more): Dask is for tables held elsewhere.

    Returns:
        OUT_COLUMNS: the parents' rows (region_level 1 = parents of the table's regions,
        2 = their parents, …), with children used / expected, coverage and ``partial``
        (fewer than all children, here or below).
    """
    rules = dict(all_rules() if rules is None else rules)
    tree = hierarchy_of(df, parents)
    if top is not None:
        roots = {p for p in tree.values() if p not in tree}
        for r in roots:
            if r != top[0]:
                tree[r] = top[0]
    cols = [c for c in ("indicator", "region_code", "year", "sex", "urban_rural", "age_group",
                        "value", "numerator", "denominator", "unit", "illustrative",
                        "provisional", "low_trust") if c in df]
    data = df[cols]
    if workers <= 1 and executor == "local" and address is None and client is None:
        res = _rollup_levels(data, tree, rules, min_coverage)
    else:
        from ..executors import map_tasks

        inds = [i for i in pd.unique(data["indicator"].astype(str)) if i in rules
                and rules[i].aggregable]
        n = max(1, min(len(inds), chunks or max(workers, 1)))
        groups = [inds[k::n] for k in range(n)]
        tasks = [(data[data["indicator"].isin(g).to_numpy()], tree, {i: rules[i] for i in g},
                  min_coverage) for g in groups]
        parts = map_tasks(_rollup_chunk, tasks, executor=executor, address=address,
                          workers=workers, client=client)
        res = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(
            not p.empty for p in parts) else pd.DataFrame(columns=OUT_COLUMNS)
    res = res.reindex(columns=OUT_COLUMNS)
    return res.sort_values(["region_level", "indicator", "region_code", "sex", "urban_rural",
                            "age_group", "year"], kind="stable").reset_index(drop=True)
