"""Regions (武威市, its four county-level units, and the 甘肃省 / 全国 benchmarks), from YAML."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

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


#: Regions a data table brought in this process (see :func:`register`).
_EXTRA: dict[str, Region] = {}


@lru_cache(maxsize=1)
def _yaml_table() -> dict[str, Region]:
    table: dict[str, Region] = {}
    for r in all_regions():
        for key in (r.code, r.name, r.name_en, *r.aliases):
            table[str(key).casefold()] = r
    return table


def _table() -> dict[str, Region]:
    if not _EXTRA:
        return _yaml_table()
    return {**_EXTRA, **_yaml_table()}      # the YAML's regions win


def register(extra: Iterable[Region]) -> None:
    """Make regions known to :func:`region` for this process — the regions a long data
    table brings that ``data/regions.yaml`` does not list (another province's counties, the
    synthetic scale table's 合成县…). A code or name the YAML has keeps the YAML's region."""
    for r in extra:
        for key in (r.code, r.name):
            _EXTRA.setdefault(str(key).casefold(), r)


def from_table(df: "pd.DataFrame") -> list[Region]:
    """The regions of a long table (columns region, region_code; optional region_level,
    region_parent) that the YAML does not list, with role ``"table"``."""
    cols = [c for c in ("region_code", "region", "region_level", "region_parent") if c in df]
    if "region_code" not in cols or "region" not in cols:
        return []
    known = _yaml_table()
    out = []
    for row in df[cols].drop_duplicates("region_code").itertuples(index=False):
        code, name = str(row.region_code), str(row.region)
        if code.casefold() in known:
            continue
        level = str(getattr(row, "region_level", "") or "county")
        parent = getattr(row, "region_parent", None)
        out.append(Region(code=code, name=name, name_en=code, level=level,
                          parent=None if parent is None or str(parent) in ("", "nan") else str(parent),
                          role="table"))
    return out


def region(key: str | int) -> Region:
    """查找地区 — a region by name, alias, English name or code ("天祝县", "Tianzhu", 620623).

    Args:
        key: the name, alias, English name or GB/T 2260 code.

    Returns:
        A Region (code, name, name_en, level, parent, role, aliases); raises
        UnknownRegionError naming the known regions when nothing fits.
    """
    k = str(key).strip().casefold()
    table = _table()
    if k in table:
        return table[k]
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
