"""Long observation tables in files: one row per indicator × region × year × breakdown.

    read(path)        -> LongTable(frame, regions)     parquet, csv or csv.gz
    write(df, path)   -> Path                          atomically; parquet or gzip CSV

The columns are the store's observation columns (indicator, region, region_code, year,
sex, urban_rural, age_group, value, numerator, denominator, illustrative, …) plus,
optionally, region_level and region_parent — what ``wuwei scale-data`` writes
(:mod:`wuwei_analysis.synthetic`) and what another province's monitoring system can export.

Reading a table returns its regions: those ``data/regions.yaml`` does not list (another
province's counties, the synthetic table's 合成县…), as :class:`~wuwei_analysis.geography.Region`
with role ``"table"``. Look a region up with ``table.region(key)`` (the YAML's regions, then
the table's); nothing is registered globally.

Layer: above ``geography``; used by briefs (``report.read_table``) and ``wuwei assess --input``.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DataError
from .geography import Region, all_regions, index, region as find_region

if TYPE_CHECKING:
    import pandas as pd

#: dtypes for reading a long table back (strings as categoricals: small and fast).
READ_DTYPES = {"indicator": "category", "region": "category", "region_code": "category",
               "region_level": "category", "region_parent": "category", "year": "int64",
               "sex": "category", "urban_rural": "category", "age_group": "category",
               "value": "float64", "numerator": "float64", "denominator": "float64",
               "illustrative": "bool", "provisional": "bool", "low_trust": "bool",
               "recorded_at": "category", "source": "category", "synthetic": "bool"}

#: Columns every long table has (besides region or region_code).
REQUIRED = ("indicator", "year", "value")


@dataclass(frozen=True)
class LongTable:
    """A long table read from a file, and its regions the YAML does not list."""
    frame: "pd.DataFrame"
    regions: tuple[Region, ...] = ()

    def region(self, key: "str | int | Region") -> Region:
        """A region by name, alias or code: the YAML's regions first, then the table's."""
        return find_region(key, extra=self._index)

    @cached_property
    def _index(self) -> dict[str, Region]:
        return index(self.regions)


def has_parquet() -> bool:
    """True when pyarrow is installed (parquet can be written and read)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def regions_of(df: "pd.DataFrame") -> tuple[Region, ...]:
    """The regions of a long table (columns region, region_code; optional region_level,
    region_parent) that the YAML does not list, with role ``"table"``."""
    cols = [c for c in ("region_code", "region", "region_level", "region_parent") if c in df]
    if "region_code" not in cols or "region" not in cols:
        return ()
    known = {str(k).casefold() for r in all_regions()
             for k in (r.code, r.name, r.name_en, *r.aliases)}
    out = []
    for row in df[cols].drop_duplicates("region_code").itertuples(index=False):
        code, name = str(row.region_code), str(row.region)
        if code.casefold() in known:
            continue
        level = str(getattr(row, "region_level", "") or "county")
        parent = getattr(row, "region_parent", None)
        out.append(Region(code=code, name=name, name_en=code, level=level,
                          parent=None if parent is None or str(parent) in ("", "nan")
                          else str(parent), role="table"))
    return tuple(out)


def read(path: str | os.PathLike) -> LongTable:
    """A long table from parquet, csv or csv.gz (any observations-shaped table), and its
    regions (see :func:`regions_of`)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataError("找不到长表文件", file=str(path))
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            head = pd.read_csv(path, nrows=0)
            dtypes = {k: v for k, v in READ_DTYPES.items() if k in head.columns}
            df = pd.read_csv(path, dtype=dtypes, keep_default_na=False,
                             na_values={c: [""] for c in ("value", "numerator", "denominator")})
    except ImportError as exc:
        raise DataError(f"读取 parquet 需要 pyarrow（{exc}）；请安装 pyarrow 或改用 csv.gz",
                        file=str(path)) from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise DataError(f"无法读取长表文件：{detail}", file=str(path)) from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if "region" not in df.columns and "region_code" not in df.columns:
        missing.append("region 或 region_code")
    if missing:
        raise DataError(f"长表缺少列：{'、'.join(missing)}（应有 indicator、region/region_code、"
                        "year、value 等列，如 wuwei scale-data 的输出）", file=str(path))
    for c in ("sex", "urban_rural", "age_group", "region_code"):
        if c in df and str(df[c].dtype) == "category":
            df[c] = df[c].cat.rename_categories(lambda v: "" if v in ("nan",) else v)
    return LongTable(df, regions_of(df))


def write(df, path: str | os.PathLike) -> Path:
    """Write the table atomically: parquet (``.parquet``, needs pyarrow) or gzip CSV."""
    path = Path(path)
    if path.suffix == ".parquet" and not has_parquet():
        raise DataError("写 parquet 需要 pyarrow；请改用 .csv.gz", file=str(path))
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".table-", suffix=".tmp")
    os.close(fd)
    try:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, compression={"method": "gzip", "compresslevel": 1},
                      float_format="%.10g")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path

