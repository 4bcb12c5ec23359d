"""From tidy observations (the store's columns) to one annual series.

One value per year: where several rows give the same year (sources, vintages), a real value
is preferred to an illustrative one, then the most recently recorded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

BREAKDOWN_COLUMNS = ("sex", "urban_rural", "age_group")


@dataclass
class Series:
    """An annual series of one indicator in one region and breakdown."""

    years: np.ndarray
    values: np.ndarray
    counts: np.ndarray | None = None
    exposures: np.ndarray | None = None
    illustrative: bool = False
    low_trust: bool = False
    provisional: bool = False
    rows: "pd.DataFrame | None" = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.years)

    def value_in(self, year: int) -> float | None:
        hit = np.nonzero(self.years == year)[0]
        return float(self.values[hit[0]]) if len(hit) else None


def _blank(s: "pd.Series") -> "pd.Series":
    return s.isna() | (s.astype("string").fillna("").str.strip() == "")


def parse_breakdown(breakdown) -> dict[str, str]:
    """``None`` → total; a dict {column: value}; or a string "sex=女" / "农村" / "女"."""
    if breakdown is None or breakdown == "" or breakdown == {}:
        return {}
    if isinstance(breakdown, dict):
        return {k: str(v) for k, v in breakdown.items()}
    text = str(breakdown)
    if "=" in text:
        out = {}
        for part in text.replace("，", ",").split(","):
            k, _, v = part.partition("=")
            out[k.strip()] = v.strip()
        return out
    if text in ("女", "男"):
        return {"sex": text}
    if text in ("城镇", "农村", "城市"):
        return {"urban_rural": text}
    return {"age_group": text}


def split_by_indicator(obs: "pd.DataFrame") -> dict[str, "pd.DataFrame"]:
    """``{indicator: its rows}`` — filter once, then select within small frames."""
    if obs is None or len(obs) == 0:
        return {}
    return {str(k): g for k, g in obs.groupby("indicator", sort=False)}


def select_rows(obs: "pd.DataFrame", indicator: str | None = None, region=None,
                breakdown=None, year_max: int | None = None) -> "pd.DataFrame":
    """Rows of ``obs`` for an indicator, a region (name, alias or code) and a breakdown
    (``None`` = the total: every breakdown column blank; ``"all"`` = any)."""
    df = obs
    if indicator is not None and len(df):
        df = df[df["indicator"] == indicator]
    if region is not None and len(df):
        from ..geography import region as find_region

        try:
            r = find_region(region)
            names, code = {r.name, *r.aliases}, r.code
        except Exception:  # an unknown region simply matches nothing else
            names, code = {str(region)}, str(region)
        m = df["region"].astype("string").isin(names)
        if "region_code" in df:
            m = m | (df["region_code"].astype("string") == code)
        df = df[m.fillna(False)]
    want = {} if breakdown == "all" else parse_breakdown(breakdown)
    for col in BREAKDOWN_COLUMNS:
        if breakdown == "all":
            break
        if col not in df:
            continue
        if col in want:
            df = df[df[col].astype("string") == want[col]]
        else:
            df = df[_blank(df[col])]
    if year_max is not None and len(df):
        df = df[df["year"].astype(float) <= year_max]
    return df


def _arrays(rows: "pd.DataFrame") -> dict[str, np.ndarray]:
    """The columns a series needs, as numpy arrays."""
    import pandas as pd

    n = len(rows)

    def col_bool(c: str) -> np.ndarray:
        if c not in rows:
            return np.zeros(n, bool)
        return rows[c].fillna(False).astype(bool).to_numpy()

    def col_num(c: str) -> np.ndarray:
        if c not in rows:
            return np.full(n, np.nan)
        return pd.to_numeric(rows[c], errors="coerce").to_numpy(float)

    rec = rows["recorded_at"].astype("string").fillna("").to_numpy(str) \
        if "recorded_at" in rows else np.full(n, "")
    return {"year": col_num("year"), "value": col_num("value"),
            "numerator": col_num("numerator"), "denominator": col_num("denominator"),
            "illustrative": col_bool("illustrative"), "low_trust": col_bool("low_trust"),
            "provisional": col_bool("provisional"), "recorded_at": rec}


def _from_arrays(a: dict[str, np.ndarray], year_max: int | None = None,
                 rows: "pd.DataFrame | None" = None) -> Series:
    years, values = a["year"], a["value"]
    ok = np.isfinite(values) & np.isfinite(years)
    if year_max is not None:
        ok &= years <= year_max
    idx = np.nonzero(ok)[0]
    if len(idx) == 0:
        return Series(np.array([], float), np.array([], float),
                      rows=None if rows is None else rows.iloc[0:0])
    ill = a["illustrative"]
    # order: year, then illustrative before real, then recording time; keep the last per year
    order = idx[np.lexsort((a["recorded_at"][idx], ~ill[idx], years[idx]))]
    last = np.r_[years[order][1:] != years[order][:-1], True]
    pick = order[last]
    num, den = a["numerator"][pick], a["denominator"][pick]
    return Series(years=years[pick], values=values[pick],
                  counts=num if np.isfinite(num).any() else None,
                  exposures=den if np.isfinite(den).any() else None,
                  illustrative=bool(ill[pick].any()),
                  low_trust=bool(a["low_trust"][pick].any()),
                  provisional=bool(a["provisional"][pick].any()),
                  rows=None if rows is None else rows.iloc[pick])


def to_series(rows: "pd.DataFrame") -> Series:
    """One value per year from observation rows (see module docstring)."""
    if rows is None or len(rows) == 0:
        return Series(np.array([], float), np.array([], float), rows=rows)
    return _from_arrays(_arrays(rows), rows=rows)


def index_series(obs: "pd.DataFrame") -> dict[tuple, dict[str, np.ndarray]]:
    """``{(indicator, region_code, sex, urban_rural, age_group): column arrays}`` for fast
    look-up (breakdown "" = total; region codes filled in from names where missing)."""
    if obs is None or len(obs) == 0:
        return {}
    df = obs.copy()
    df.attrs = {}
    for c in BREAKDOWN_COLUMNS:
        df[c] = df[c].astype("string").fillna("").str.strip() if c in df else ""
    code = df["region_code"].astype("string").fillna("") if "region_code" in df else None
    if code is None or bool((code == "").any()):
        from ..geography import region as find_region

        names = {}
        for name in (df["region"].dropna().unique() if "region" in df else []):
            try:
                names[name] = find_region(name).code
            except Exception:
                names[name] = str(name)
        by_name = df["region"].map(names).astype("string")
        code = by_name if code is None else code.where(code != "", by_name)
    df["region_code"] = code.astype("string")
    arrays = _arrays(df)
    keys = ["indicator", "region_code", *BREAKDOWN_COLUMNS]
    out = {}
    for k, pos in df.groupby(keys, sort=False).indices.items():
        out[tuple(str(v) for v in k)] = {c: v[pos] for c, v in arrays.items()}
    return out


def lookup(index: dict[tuple, dict[str, np.ndarray]], indicator: str, region_code: str,
           breakdown=None, year_max: int | None = None) -> Series:
    """The series of ``index_series`` for one indicator, region code and breakdown."""
    want = parse_breakdown(breakdown)
    key = (indicator, str(region_code), *(want.get(c, "") for c in BREAKDOWN_COLUMNS))
    a = index.get(key)
    if a is None:
        return Series(np.array([], float), np.array([], float))
    return _from_arrays(a, year_max)
