"""Derived values in the monitoring database: a parent's figure computed from its children.

:func:`derive` fills, for every derivable parent (武威市), indicator with a roll-up rule,
year and breakdown, the keys that have **no reported value** but whose children cover them
(all children, or the rule's declared minimum share). Each derived value is stored as an
observation with ``derived = 1``, ``source`` saying how it was made ("由各县（区）数据汇总
（4/4个县区）"), and a ``derivations`` row naming the method, the children used and missing,
the child observations and the submissions it rests on. Its ``submission_id`` is the latest
submission among its inputs (so ``vintage=<submission>`` shows what followed from the data
as of then).

Re-deriving after a child was revised adds a new derived row; the earlier one is kept as a
revision. A derived value never overrides a reported one (``store`` always prefers a
reported row), and nothing is derived for a key whose parent reported a value.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .. import store
from . import compute
from .hierarchy import Hierarchy, from_regions
from .methods import METHOD_ZH, Rule, rules as all_rules

_BD_ZH = {"": ""}


@dataclass
class DeriveResult:
    """What :func:`derive` did."""

    new: int = 0
    revised: int = 0
    unchanged: int = 0
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)       # every derivable value
    problems: list[dict] = field(default_factory=list)             # {region, year, ..., message}

    @property
    def written(self) -> int:
        return self.new + self.revised

    @property
    def messages(self) -> list[str]:
        return [p["message"] for p in self.problems]

    def summary_zh(self) -> str:
        head = (f"汇总：新增 {self.new} 条，更新 {self.revised} 条（旧值保留），"
                f"未变 {self.unchanged} 条；无法汇总 {len(self.problems)} 处。")
        return "\n".join([head, *(f"  {m}" for m in self.messages[:50])])


def _names() -> dict[str, str]:
    from .. import indicator_catalog as cat
    return {i.id: i.name_zh for i in cat.indicators()}


def breakdown_zh(sex: str, urban_rural: str, age_group: str) -> str:
    """"（农村）" for a breakdown row, "" for the total."""
    parts = [p for p in (sex, urban_rural, age_group) if p]
    return f"（{'、'.join(parts)}）" if parts else ""


def source_label(h: Hierarchy, parent: str, used: int, expected: int,
                 missing: Iterable[str] = ()) -> str:
    """"由各县（区）数据汇总（4/4个县区）" or "…（3/4个县区，缺古浪县）"."""
    long, short = h.child_label(parent)
    miss = [h.name(m) for m in missing]
    gap = f"，缺{'、'.join(miss)}" if miss else ""
    return f"由各{long}数据汇总（{used}/{expected}个{short}{gap}）"


_WHY = {"numerator_denominator": "只有数值、缺分子或分母", "weight": "缺加权人数"}


def problem_message(h: Hierarchy, p: dict, names: dict[str, str]) -> str:
    """A Chinese sentence naming the parent, the year, the indicator and the children."""
    where = (f"{h.name(p['region_code'])} {int(p['year'])}年 "
             f"{names.get(p['indicator'], p['indicator'])}"
             f"{breakdown_zh(p['sex'], p['urban_rural'], p['age_group'])}")
    long, short = h.child_label(p["region_code"])
    if p["reason"] == "units":
        return f"{where}：各{long}数据的单位与目录不一致，未汇总"
    kids = h.children(p["region_code"])
    unusable = p.get("unusable") if isinstance(p.get("unusable"), dict) else {}
    have = set(p.get("children") or []) if isinstance(p.get("children"), list) else set()
    bits = []
    for k in kids:
        if k in unusable:
            bits.append(f"{h.name(k)}{_WHY.get(unusable[k], '数据不可用')}")
        elif k not in have:
            bits.append(f"{h.name(k)}无数据")
    detail = f"（{'；'.join(bits)}）" if bits else ""
    return (f"{where}：只有 {int(p['children_used'])}/{int(p['children_expected'])} 个"
            f"{short}的数据可用{detail}，未由各{long}数据汇总")


def compute_derived(rows: pd.DataFrame, h: Hierarchy, rules: dict[str, Rule], *,
                    min_coverage: float | None = None, keep_inputs: bool = True
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roll ``rows`` (current reported rows) up the hierarchy, deepest parents first.

    A parent key with a reported row is not derived (and its reported row, not a derived
    one, is what its own parent then uses). Returns (derived, problems) of all levels.
    """
    key = ["indicator", "region_code", "year", *compute.BREAKDOWN_KEYS]
    rows = rows.copy()
    rows["partial"] = False
    reported = set(map(tuple, rows[key].astype(str).to_numpy()))
    order = h.order()
    depth: dict[str, int] = {}
    for p in order:
        d, c = 0, p
        while c in h.parent:
            c = h.parent[c]
            d += 1
        depth[p] = d
    out_d, out_p = [], []
    for d in sorted(set(depth.values()), reverse=True):
        batch = [p for p in order if depth[p] == d]
        parent_of = {c: p for p in batch for c in h.children(p)}
        expected = {p: len(h.children(p)) for p in batch}
        der, prob = compute.rollup(rows, parent_of, expected, rules, min_coverage=min_coverage,
                                   keep_inputs=keep_inputs)
        if not der.empty:
            k = list(map(tuple, der[key].astype(str).to_numpy()))
            der = der[[x not in reported for x in k]].reset_index(drop=True)
        if not prob.empty:
            k = list(map(tuple, prob[key].astype(str).to_numpy()))
            prob = prob[[x not in reported for x in k]].reset_index(drop=True)
        out_d.append(der)
        out_p.append(prob)
        if not der.empty:
            up = der.copy()
            up["unit"] = up["indicator"].map({i: r.unit for i, r in rules.items()})
            if "inputs" in up:
                up = up.drop(columns=[c for c in ("inputs", "submissions", "children")
                                      if c in up])
            rows = pd.concat([rows, up], ignore_index=True)
    derived = pd.concat(out_d, ignore_index=True) if out_d else compute._empty_derived()
    problems = pd.concat(out_p, ignore_index=True) if out_p else compute._empty_problems()
    return derived, problems


_KEY = ["indicator", "region_code", "year", *compute.BREAKDOWN_KEYS]
#: What derivation and the checks read of an observation (not its flags and note).
_COLUMNS = ", ".join(f"o.{c}" for c in [
    "id", *_KEY, "value", "numerator", "denominator", "unit", "source", "illustrative",
    "provisional", "low_trust", "derived", "submission_id", "source_row", "recorded_at"])


def _frame(cur: sqlite3.Cursor) -> pd.DataFrame:
    """The current row of each key and kind (reported / derived) among a query's rows of
    observations, as a DataFrame: numbers as floats (NaN for NULL), in key order.

    The newest row (``recorded_at``, then ``id``) of each key wins, as in
    ``store.current_rows``; picked here rather than by a window function in SQL (which
    sorts every row in SQLite: twice the time).
    """
    cols = [d[0] for d in cur.description]
    df = pd.DataFrame.from_records(cur.fetchall(), columns=cols)
    if df.empty:
        return pd.DataFrame()
    df["region_code"] = df["region_code"].astype(str)
    keys = ["derived", *_KEY]
    if df.duplicated(keys).any():   # revisions: keep the newest of each key
        df = df.sort_values(["recorded_at", "id"], ascending=False, kind="stable")
        df = df.drop_duplicates(keys, keep="first")
    df = df.sort_values(keys, kind="stable")
    for c in ("numerator", "denominator", "value"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df.reset_index(drop=True)


def _load(conn: sqlite3.Connection, indicators: Iterable[str] | None,
          years: Iterable[int] | None, derived: bool = False) -> pd.DataFrame:
    """The current reported (or ``derived``) rows of some indicators and years."""
    where, params = [f"o.derived = {int(bool(derived))}"], []
    if indicators is not None:
        inds = sorted(set(indicators))
        if not inds:
            return pd.DataFrame()
        where.append(f"o.indicator IN ({','.join('?' * len(inds))})")
        params += inds
    if years is not None:
        yrs = sorted({int(y) for y in years})
        if not yrs:
            return pd.DataFrame()
        where.append(f"o.year IN ({','.join('?' * len(yrs))})")
        params += yrs
    sql = f"SELECT {_COLUMNS} FROM observations o WHERE {' AND '.join(where)}"
    return _frame(conn.execute(sql, params))


def load_pairs(conn: sqlite3.Connection, pairs: Iterable[tuple[str, int]]
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reported, derived) current rows of the given (indicator, year) pairs only, in one
    query: the pairs go into a temporary table joined to the observations."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS rollup_pairs (indicator TEXT NOT NULL, "
                 "year INTEGER NOT NULL, PRIMARY KEY (indicator, year)) WITHOUT ROWID")
    conn.execute("DELETE FROM temp.rollup_pairs")
    try:
        conn.executemany("INSERT OR IGNORE INTO temp.rollup_pairs VALUES (?, ?)",
                         [(str(i), int(y)) for i, y in pairs])
        df = _frame(conn.execute(
            f"SELECT {_COLUMNS} FROM observations o JOIN temp.rollup_pairs p "
            "ON o.indicator = p.indicator AND o.year = p.year"))
    finally:
        conn.execute("DELETE FROM temp.rollup_pairs")
    if df.empty:
        return df, df
    is_derived = df["derived"].astype(bool).to_numpy()
    return (df[~is_derived].reset_index(drop=True), df[is_derived].reset_index(drop=True))


def _by_key(df: pd.DataFrame) -> dict[tuple, dict]:
    """Rows keyed by ``store.KEY_COLUMNS`` (as ``store.current_rows``)."""
    if df.empty:
        return {}
    recs = df.to_dict("records")
    for r in recs:   # NULL numbers as None, as sqlite gives them
        for c in ("numerator", "denominator"):
            if r[c] != r[c]:
                r[c] = None
    return {(r["indicator"], r["region_code"], int(r["year"]), r["sex"], r["urban_rural"],
             r["age_group"]): r for r in recs}


def derive(db: Any = None, *, indicators: Iterable[str] | None = None,
           years: Iterable[int] | None = None, regions: Iterable | None = None,
           rules: dict[str, Rule] | None = None, write: bool = True) -> DeriveResult:
    """Derive every parent value the children's current data support, and store it.

    Args:
        db: a database path, an open connection, or None (default database).
        indicators: stored indicator ids to consider (default: all with a rule).
        years: years to consider (default: all).
        regions: Region objects making the hierarchy (default: ``data/regions.yaml``);
            a cycle or a missing parent raises DataError naming the region.
        rules: indicator id -> Rule (default: the catalogue's).
        write: False computes without storing.

    Runs in one transaction (a savepoint inside the caller's).
    """
    h = from_regions(regions)
    rules = all_rules() if rules is None else rules
    wanted = [i for i in (indicators if indicators is not None else rules)
              if i in rules and rules[i].aggregable]
    with store.connect(db) as conn:
        rows = _load(conn, wanted, years)
        if rows.empty or not wanted:
            return DeriveResult()
        stale = _load(conn, wanted, years, derived=True)
        return derive_rows(conn, rows, stale, h, rules, write=write)


def derive_rows(conn: sqlite3.Connection, rows: pd.DataFrame, stale: pd.DataFrame,
                h: Hierarchy, rules: dict[str, Rule], *, write: bool = True) -> DeriveResult:
    """:func:`derive` on rows already loaded: ``rows`` the current reported rows (of the
    indicators with a rule), ``stale`` the current derived rows of the same keys."""
    result = DeriveResult()
    if rows.empty:
        return result
    derived, problems = compute_derived(rows, h, rules)
    names = _names()
    old = _by_key(stale)
    result.problems = []
    for p in problems.to_dict("records"):
        msg = problem_message(h, p, names)
        old_row = old.get((p["indicator"], p["region_code"], int(p["year"]), p["sex"],
                           p["urban_rural"], p["age_group"]))
        if old_row is not None:   # derived earlier, no longer supported: say so
            msg += f"；库中此前的汇总值 {old_row['value']:g} 依据的数据已有变化，请核实"
        result.problems.append({**p, "message": msg})
    if derived.empty:
        result.rows = derived
        return result
    kids = {p: h.children(p) for p in set(derived["region_code"])}
    derived["source"] = [
        source_label(h, r.region_code, int(r.children_used), int(r.children_expected),
                     [k for k in kids[r.region_code] if k not in set(r.children)])
        for r in derived.itertuples(index=False)]
    result.rows = derived
    if not write:
        return result
    latest_sub: list[int] = []
    with store.transaction(conn):
        for r in derived.to_dict("records"):
            k = (r["indicator"], r["region_code"], int(r["year"]), r["sex"],
                 r["urban_rural"], r["age_group"])
            prev = old.get(k)
            num = None if not np.isfinite(r["numerator"]) else float(r["numerator"])
            den = None if not np.isfinite(r["denominator"]) else float(r["denominator"])
            if prev is not None and store._same(prev["value"], r["value"]) and \
                    store._same(prev["numerator"], num) and \
                    store._same(prev["denominator"], den) and \
                    prev["source"] == r["source"] and \
                    bool(prev["illustrative"]) == bool(r["illustrative"]):
                result.unchanged += 1
                continue
            flags = ["derived"] + (["partial_coverage"] if r["partial"] else []) + \
                (["revised"] if prev is not None else [])
            subs = r.get("submissions") or []
            if not subs and not latest_sub:
                latest_sub.append(int(conn.execute(
                    "SELECT MAX(id) FROM submissions").fetchone()[0]))
            sub = max(subs) if subs else latest_sub[0]
            cur = conn.execute(
                "INSERT INTO observations(indicator, region_code, year, sex, urban_rural, "
                "age_group, value, numerator, denominator, unit, source, illustrative, "
                "provisional, low_trust, derived, flags, note, submission_id, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (*k, float(r["value"]), num, den, rules[k[0]].unit, r["source"],
                 int(bool(r["illustrative"])), int(bool(r["provisional"])),
                 int(bool(r["low_trust"])), ";".join(flags),
                 f"汇总方法：{METHOD_ZH[r['method']]}", sub, store.now_iso()))
            used = set(r.get("children") or [])
            missing = [c for c in kids[k[1]] if c not in used]
            conn.execute(
                "INSERT INTO derivations(observation_id, method, children_used, "
                "children_expected, missing, inputs, submissions, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cur.lastrowid, r["method"], int(r["children_used"]),
                 int(r["children_expected"]), ",".join(missing),
                 ",".join(map(str, r.get("inputs") or [])), ",".join(map(str, subs)),
                 r["source"]))
            if prev is None:
                result.new += 1
            else:
                result.revised += 1
    return result


def derivations(db: Any = None) -> pd.DataFrame:
    """Provenance of every stored derived value: the observation with its derivation row."""
    with store.connect(db) as conn:
        return pd.read_sql_query(
            "SELECT o.id AS observation_id, o.indicator, o.region_code, o.year, o.sex, "
            "o.urban_rural, o.age_group, o.value, o.numerator, o.denominator, o.recorded_at, "
            "o.submission_id, d.method, d.children_used, d.children_expected, d.missing, "
            "d.inputs, d.submissions, d.note FROM derivations d "
            "JOIN observations o ON o.id = d.observation_id ORDER BY o.id", conn)
