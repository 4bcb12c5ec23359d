"""The region hierarchy used for roll-up: children of each parent, checked for cycles.

Which parents are derived: a region whose children the region table lists completely.
In ``data/regions.yaml`` that is 武威市 (its four county-level units). 甘肃省 and 全国 are
benchmarks whose children the table lists only in part (武威市 alone): they are never
derived from our data and never checked against it. A long data table (the synthetic
nation) brings its own complete hierarchy through its ``region_parent`` column.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ..errors import DataError

#: How children of a level are named on the page ("由各县（区）数据汇总").
CHILD_ZH = {"county": "县（区）", "city": "市（州）", "province": "省（区、市）"}
#: The short form in a coverage count ("4/4个县区").
CHILD_SHORT = {"county": "县区", "city": "市州", "province": "省份"}


@dataclass
class Hierarchy:
    """Parents and children of a set of regions (codes), with names and levels."""

    parent: dict[str, str]                      # child code -> parent code
    names: dict[str, str] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    derivable: set[str] = field(default_factory=set)   # parents whose value may be derived

    def children(self, code: str) -> list[str]:
        return sorted(c for c, p in self.parent.items() if p == code)

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def order(self) -> list[str]:
        """Derivable parents, deepest first (counties' parents before their parents)."""
        def depth(code: str) -> int:
            d = 0
            while code in self.parent:
                code = self.parent[code]
                d += 1
            return d
        return sorted(self.derivable, key=lambda c: (-depth(c), c))

    def child_label(self, code: str) -> tuple[str, str]:
        """("县（区）", "县区") for a parent whose children are counties."""
        kids = self.children(code)
        level = self.levels.get(kids[0], "county") if kids else "county"
        return CHILD_ZH.get(level, "下级地区"), CHILD_SHORT.get(level, "个下级地区")


def check_tree(parent: Mapping[str, str | None], names: Mapping[str, str] | None = None,
               known: Iterable[str] | None = None) -> None:
    """Raise DataError naming the region when a parent is missing or the parents form a cycle.

    Args:
        parent: child code -> parent code (None or "" for a top region).
        names: code -> name, for messages.
        known: the codes that exist (default: the keys of ``parent``).
    """
    names = dict(names or {})
    nm = lambda c: f"{names.get(c, c)}（{c}）" if names.get(c, c) != c else str(c)  # noqa: E731
    exists = set(parent) if known is None else set(known)
    for child, par in parent.items():
        if par and par not in exists:
            raise DataError(f"地区表有误：{nm(child)} 的上级地区 {par} 不在地区表中，无法汇总",
                            region=names.get(child, child))
    for start in parent:
        seen = [start]
        code = parent.get(start)
        while code:
            if code in seen:
                path = " → ".join(nm(c) for c in seen[seen.index(code):] + [code])
                raise DataError(f"地区表有误：上级关系成环（{path}），无法汇总",
                                region=names.get(start, start))
            seen.append(code)
            code = parent.get(code)


def from_regions(regions: Iterable | None = None) -> Hierarchy:
    """The hierarchy of ``data/regions.yaml`` (or of the given Region objects), checked.

    Derivable parents: regions with role ``monitored`` or ``table`` that have children.
    """
    if regions is None:
        from ..geography import all_regions

        regions = all_regions()
    regions = list(regions)
    parent = {r.code: r.parent for r in regions}
    names = {r.code: r.name for r in regions}
    check_tree(parent, names)
    tree = {c: p for c, p in parent.items() if p}
    h = Hierarchy(tree, names, {r.code: r.level for r in regions})
    with_children = set(tree.values())
    h.derivable = {r.code for r in regions if r.role in ("monitored", "table")
                   and r.code in with_children}
    return h
