"""Real published figures: ``data/public/*.csv`` and the plan's own baselines.

Public figures
--------------
Each csv row (indicator_zh, region, year, value, unit, source_title, note) is mapped to
catalogue ids by ``data/public/mapping.yaml`` (an entry with ``same_as`` is stored under the
id it names) (explicit, one line per published name;
unlisted names and ids missing from the catalogue are skipped). Rows keep their source;
their ``recorded_at`` is the publication date read from the source title (e.g.
"国家统计局，2021年12月21日" → 2021-12-21; none found → 1 July of the next year), so
when two publications give different values for one year (a revised baseline) both are
kept as vintages and the later publication is current. Flags:

* ``low_trust``: the note says "low trust" (an unofficial relay);
* ``unit_slip_fixed``: the note records a printing slip in the source (e.g. "15.6%" printed
  for 15.6‰) — the csv already carries the correct unit;
* ``repeated_value``: the same value is published for two or more years of one series
  (e.g. Gansu maternal mortality 15.07/10万 for both 2015 and 2020).

A row whose unit is not the catalogue's unit (and not declared equivalent with
``unit_as``) is not stored; it is recorded as a rejection of that file's submission.

Plan baselines
--------------
Catalogue ``baselines`` (the figures in the plans' prefaces, e.g. 婴儿死亡率 8.87‰ in 2011
and 4.36‰ in 2020) are stored for 武威市, source "… 武政发〔2022〕15号", recorded at the
plan's issue date (2022-01-30).
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import CatalogError, UnknownRegionError
from ..settings import PUBLIC_DIR
from ..ingest.rules import _unit_norm

from .. import indicator_catalog as catalog
from .. import geography as regions

FILES = ("national_china.csv", "gansu.csv", "wuwei.csv")
MAPPING_FILE = PUBLIC_DIR / "mapping.yaml"
PLAN_ISSUED = "2022-01-30T00:00:00.000000"
PLAN_DOCUMENT = "武政发〔2022〕15号"
BREAKDOWN_KEYS = ("sex", "urban_rural", "age_group")


@lru_cache(maxsize=1)
def mapping() -> dict[str, list[dict]]:
    """``indicator_zh`` → list of ``{id, sex, urban_rural, age_group, unit_as}``."""
    with open(MAPPING_FILE, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    out: dict[str, list[dict]] = {}
    for name, entry in (doc.get("mappings") or {}).items():
        entries = entry if isinstance(entry, list) else [entry]
        targets = []
        for e in entries:
            spec = {"id": e} if isinstance(e, str) else dict(e)
            if "id" not in spec:
                raise CatalogError("映射缺少 id", file=MAPPING_FILE.name, indicator=name)
            targets.append({"id": spec["id"], "unit_as": spec.get("unit_as"),
                            **{k: str(spec.get(k) or "") for k in BREAKDOWN_KEYS}})
        out[str(name)] = targets
    return out


_DATE_PATTERNS = [
    (re.compile(r"(20\d{2})-(\d{1,2})-(\d{1,2})"), 3),
    (re.compile(r"(20\d{2})年(\d{1,2})月(\d{1,2})日"), 3),
    (re.compile(r"(20\d{2})年(\d{1,2})月"), 2),
    (re.compile(r"(20\d{2})-(\d{1,2})(?!\d)"), 2),
    (re.compile(r"[（(](20\d{2})[）)]"), 1),
]


def publication_date(title: str, year: int) -> str:
    """The earliest date in a source title (ISO, as stored), else 1 July of year + 1."""
    found = []
    for pattern, parts in _DATE_PATTERNS:
        for m in pattern.finditer(title or ""):
            y = int(m.group(1))
            mo = int(m.group(2)) if parts >= 2 else 7
            d = int(m.group(3)) if parts >= 3 else 1
            if 1 <= mo <= 12 and 1 <= d <= 31 and y >= year:
                found.append(f"{y:04d}-{mo:02d}-{d:02d}")
    day = min(found) if found else f"{year + 1:04d}-07-01"
    return f"{day}T00:00:00.000000"


def _flags_from_note(note: str) -> list[str]:
    return ["unit_slip_fixed"] if re.search(r"typo|印作|误作|实为", note or "") else []


def file_records(name: str) -> tuple[list[dict], list[dict], str]:
    """Records, rejections and content hash of one public csv file.

    Records are sorted by publication date (so later publications become current).
    """
    path = Path(PUBLIC_DIR) / name
    raw = path.read_bytes()
    known = {i.id: i for i in catalog.indicators()}
    table = mapping()
    records: list[dict] = []
    rejects: list[dict] = []
    text = raw.decode("utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    for line, row in enumerate(reader, start=2):
        targets = [t for t in table.get(row["indicator_zh"].strip(), []) if t["id"] in known]
        seen_ids: set[str] = set()
        for t in targets:
            ind = known[t["id"]]
            data_id = getattr(ind, "data_id", ind.id)  # same_as: stored once, under that id
            if data_id in seen_ids:
                continue
            seen_ids.add(data_id)
            ind = known.get(data_id, ind)
            unit = row["unit"].strip()
            ok_unit = _unit_norm(unit) == _unit_norm(ind.unit) or (
                t["unit_as"] is not None and _unit_norm(t["unit_as"]) == _unit_norm(ind.unit))
            try:
                reg = regions.region(row["region"])
            except UnknownRegionError:
                rejects.append({"row": line, "field": "地区", "raw_value": row["region"],
                                "rule": "unknown_region", "reason": f"未知地区‘{row['region']}’"})
                continue
            if not ok_unit:
                rejects.append({"row": line, "field": "单位", "raw_value": unit,
                                "rule": "unit_slip",
                                "reason": f"单位“{unit}”与目录单位“{ind.unit}”不同，未导入"})
                continue
            note = (row.get("note") or "").strip()
            records.append({
                "indicator": ind.id, "region_code": reg.code, "year": int(row["year"]),
                "sex": t["sex"], "urban_rural": t["urban_rural"], "age_group": t["age_group"],
                "value": float(row["value"]), "numerator": None, "denominator": None,
                "unit": ind.unit, "source": row["source_title"].strip(),
                "low_trust": "low trust" in note.lower(), "flags": _flags_from_note(note),
                "note": note, "source_row": line,
                "recorded_at": publication_date(row["source_title"], int(row["year"])),
            })
    # the same value for two or more years of one series
    years_by_value: dict[tuple, set] = {}
    for r in records:
        k = (r["indicator"], r["region_code"], r["sex"], r["urban_rural"], r["age_group"],
             r["value"])
        years_by_value.setdefault(k, set()).add(r["year"])
    for r in records:
        k = (r["indicator"], r["region_code"], r["sex"], r["urban_rural"], r["age_group"],
             r["value"])
        if len(years_by_value[k]) > 1 and not r["value"] >= 99.5:
            r["flags"].append("repeated_value")
    for r in records:
        r["flags"] = ";".join(dict.fromkeys(r["flags"]))
    records.sort(key=lambda r: r["recorded_at"])
    h = hashlib.sha256(raw)
    h.update(MAPPING_FILE.read_bytes())
    h.update(",".join(sorted({r["indicator"] for r in records})).encode())
    return records, rejects, h.hexdigest()


def baseline_records() -> tuple[list[dict], str]:
    """The catalogue's baselines as records for 武威市, and their content hash."""
    city = next(r for r in regions.monitored() if r.level == "city")
    records = []
    for ind in catalog.indicators():
        if getattr(ind, "same_as", None):
            continue  # its data (and baselines) are those of the entry it names
        for b in ind.baselines:
            code = regions.region(b["region"]).code if b.get("region") else city.code
            note = str(b.get("note") or "")
            source = str(b.get("source") or "规划前言")
            records.append({
                "indicator": ind.id, "region_code": code, "year": int(b["year"]),
                "sex": "", "urban_rural": "", "age_group": "", "value": float(b["value"]),
                "numerator": None, "denominator": None, "unit": ind.unit,
                "source": f"{source}（{PLAN_DOCUMENT}）", "low_trust": False,
                "flags": ";".join(_flags_from_note(note)), "note": note,
                "recorded_at": PLAN_ISSUED,
            })
    digest = hashlib.sha256(json.dumps(records, ensure_ascii=False, sort_keys=True).encode())
    return records, digest.hexdigest()
