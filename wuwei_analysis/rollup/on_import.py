"""After an import: re-derive the parents of what came in, and check it for consistency.

Called by ``ingest.importer.store_rows`` inside the import's transaction, so the derived
values and the import stand or fall together. Returns the number of derived values written
and warnings (``ingest.rules.Issue``, severity ``warn``) for the import report:

* ``consistency``  a reported parent row disagreeing with its children's sum, or a
                   breakdown disagreeing with its total — for the regions of this file and
                   their parents;
* ``rollup``       a parent that could not be derived because a child of this file gave a
                   value without the numerator / denominator (or weight) the rule needs
                   while the children present would otherwise cover it, or a child in
                   another unit. (A parent waiting for other counties' files is no warning:
                   it is derived when they arrive.)
"""
from __future__ import annotations

import sqlite3
from typing import Any, Mapping, Sequence

from .checks import run_checks
from .derived import derive_rows, load_pairs
from .hierarchy import from_regions
from .methods import rules as all_rules


def after_import(conn: sqlite3.Connection, records: Sequence[Mapping[str, Any]],
                 file_name: str = "") -> tuple[int, list]:
    """(derived values written, warnings) for the stored ``records`` of one import.

    Only the (indicator, year) pairs of the records are read back from the database, in
    one query; the same rows serve the derivation and the checks (derivation writes only
    derived rows, which the checks do not read).
    """
    from ..ingest.rules import Issue

    if not records:
        return 0, []
    rules = all_rules()
    pairs = {(r["indicator"], int(r["year"])) for r in records if r["indicator"] in rules}
    if not pairs:
        return 0, []
    h = from_regions()
    here = {str(r["region_code"]) for r in records}
    touched = set(here)
    for code in here:
        while code in h.parent:
            code = h.parent[code]
            touched.add(code)
    reported, stale = load_pairs(conn, sorted(pairs))
    aggregable = {i for i, r in rules.items() if r.aggregable}
    if reported.empty:
        return 0, []
    mine = reported["indicator"].isin(aggregable).to_numpy()
    res = derive_rows(conn, reported[mine].reset_index(drop=True), stale, h, rules)
    issues: list = []
    for p in res.problems:
        unusable = p.get("unusable") or {}
        # only when this file's child is what blocks it: with counts (or the weight) the
        # children present would cover the parent
        present = (int(p["children_used"]) + len(unusable)) / max(int(p["children_expected"]), 1)
        bad_here = p["reason"] == "units" or (
            any(c in here for c in unusable)
            and present >= rules[p["indicator"]].min_coverage - 1e-12)
        if bad_here and p["region_code"] in touched:
            issues.append(Issue("rollup", "value", None, p["message"], severity="warn",
                                file=file_name))
    found = run_checks(reported, h, rules)
    if not found.empty:
        found = found[found["region_code"].isin(touched)]
    if not found.empty:
        rows_of = {(r["indicator"], str(r["region_code"]), int(r["year"]),
                    r.get("sex") or "", r.get("urban_rural") or "", r.get("age_group") or ""):
                   r.get("source_row") for r in records}
        for msg, g in found.groupby("message", sort=False):
            r = g.iloc[0]
            key = (r["indicator"], r["region_code"], int(r["year"]), r["sex"],
                   r["urban_rural"], r["age_group"])
            issues.append(Issue("consistency", str(r["part"]), r["reported"], str(msg),
                                severity="warn", row=rows_of.get(key), file=file_name))
    return res.written, issues
