"""Regions (武威市, its four county-level units, and the 甘肃省 / 全国 benchmarks), from YAML."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Mapping

import yaml

from .errors import UnknownRegionError
from .settings import DATA_DIR

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    name_en: str
    level: str          # nation / province / city / county
    parent: str | None
    role: str           # monitored / benchmark
    aliases: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def all_regions() -> tuple[Region, ...]:
    """Every region in ``data/regions.yaml``, in file order."""
    with open(DATA_DIR / "regions.yaml", encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    return tuple(
        Region(code=str(r["code"]), name=r["name"], name_en=r["name_en"], level=r["level"],
               parent=None if r.get("parent") is None else str(r["parent"]), role=r["role"],
               aliases=tuple(r.get("aliases", ())))
        for r in doc["regions"]
    )


@lru_cache(maxsize=1)
def _yaml_table() -> dict[str, Region]:
    table: dict[str, Region] = {}
    for r in all_regions():
        for key in (r.code, r.name, r.name_en, *r.aliases):
            table[str(key).casefold()] = r
    return table


def index(regions: Iterable[Region]) -> dict[str, Region]:
    """Regions by casefolded code and name (what :func:`region` takes as ``extra``)."""
    return {str(x).casefold(): r for r in regions for x in (r.code, r.name)}


def region(key: "str | int | Region",
           extra: "Iterable[Region] | Mapping[str, Region]" = ()) -> Region:
    """查找地区 — a region by name, alias, English name or code ("天祝县", "Tianzhu", 620623).

    Args:
        key: the name, alias, English name or GB/T 2260 code (or a Region).
        extra: see below.

    Returns:
        A Region (code, name, name_en, level, parent, role, aliases); raises
        UnknownRegionError naming the closest regions when nothing fits.

    ``extra``: regions known besides the YAML's (a long table's, see
    :class:`wuwei_analysis.tables.LongTable`), or their :func:`index`; a code or name the
    YAML has keeps the YAML's region. A Region is returned as it is.
    """
    if isinstance(key, Region):
        return key
    k = str(key).strip().casefold()
    yaml_table = _yaml_table()
    if k in yaml_table:
        return yaml_table[k]
    more = extra if isinstance(extra, Mapping) else index(extra)
    if k in more:
        return more[k]
    table = {**more, **yaml_table}
    close = difflib.get_close_matches(k, list(table), n=3, cutoff=0.5)
    hint = f"，是否是：{'、'.join(table[c].name for c in close)}" if close else ""
    raise UnknownRegionError(f"找不到地区 {key!r}{hint}", region=str(key))


def monitored() -> list[Region]:
    """The city and its counties: the regions that get a brief."""
    return [r for r in all_regions() if r.role == "monitored"]


def counties() -> list[Region]:
    """The four county-level units of 武威市."""
    return [r for r in all_regions() if r.level == "county"]


def regions() -> "pd.DataFrame":
    """地区列表 — 武威市, its four counties and the benchmarks 甘肃省 and 全国.

    Returns:
        One row per region, columns code, name, name_en, level, parent, role, aliases.
    """
    import pandas as pd

    return pd.DataFrame([
        {"code": r.code, "name": r.name, "name_en": r.name_en, "level": r.level,
         "parent": r.parent, "role": r.role, "aliases": "、".join(r.aliases)}
        for r in all_regions()
    ])
