"""The embedded default dataset, loaded into the default database on first use.

Three kinds of built-in submissions, loaded in this order (see the modules for details):

1. ``public`` — real published figures from ``data/public/*.csv`` (全国 and 甘肃省 as
   benchmark series, 武威市 figures where published), mapped to catalogue ids by
   ``data/public/mapping.yaml``; one submission per file.
2. ``baseline`` — the plans' own baselines from the catalogue (武威市, e.g. 2011 and 2020).
3. ``illustrative`` — a made-up, seeded series for the city and the four counties, every
   monitorable indicator, 2015–2024 (``illustrative.py``), passed through the importer like
   a member unit's file, so its planted problems show up as rejections and warnings. Every
   row is flagged ``illustrative``. Keys that have real data (any non-illustrative row)
   get no illustrative row: real figures always win.

Loading is idempotent: a built-in submission whose content hash is already stored is
skipped, and values equal to stored ones add nothing — so ``load_defaults`` can be run
again after the catalogue grows (``wuwei db init --reload-defaults``).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3

from .. import store
from ..ingest.read import RawRow
from . import illustrative, public

ILLUSTRATIVE_FILE = "内置示意数据（illustrative.csv）"


def _real_keys(conn: sqlite3.Connection) -> set[tuple]:
    rows = conn.execute("SELECT DISTINCT indicator, region_code, year, sex, urban_rural, "
                        "age_group FROM observations WHERE illustrative = 0")
    return {tuple(r) for r in rows}


def _load_records(conn: sqlite3.Connection, *, kind: str, file_name: str, sha: str,
                  records: list[dict], rejects: list[dict], unit: str) -> dict:
    if store.find_submission_by_sha(conn, sha, kind) is not None:
        return {"file": file_name, "skipped": True}
    sub = store.add_submission(conn, kind=kind, file_name=file_name, sha256=sha,
                               reporting_unit=unit)
    written = store.write_observations(conn, sub, records)
    store.add_rejections(conn, sub, rejects)
    rejected_rows = len({r["row"] for r in rejects})
    store.finish_submission(conn, sub, rows_read=len(records) + rejected_rows,
                            rows_accepted=len(records), rows_rejected=rejected_rows,
                            rows_new=written["new"], rows_revised=written["revised"],
                            rows_unchanged=written["unchanged"])
    return {"file": file_name, "submission_id": sub, "records": len(records),
            "rejected": rejected_rows, **{k: written[k] for k in ("new", "revised", "unchanged")}}


def load_defaults(conn: sqlite3.Connection) -> dict:
    """Load the default dataset into ``conn`` (in one transaction). Returns a summary."""
    summary: dict[str, object] = {}
    with store.transaction(conn):
        for name in public.FILES:
            records, rejects, sha = public.file_records(name)
            summary[name] = _load_records(conn, kind="public", file_name=f"data/public/{name}",
                                          sha=sha, records=records, rejects=rejects,
                                          unit="公开数据")
        records, sha = public.baseline_records()
        summary["baselines"] = _load_records(
            conn, kind="baseline", file_name=f"规划基线（指标目录 baselines，{public.PLAN_DOCUMENT}）",
            sha=sha, records=records, rejects=[], unit="规划文本")
        summary["illustrative"] = load_illustrative(conn)
    return summary


def illustrative_rows(conn: sqlite3.Connection | None = None) -> tuple[list[dict], list[RawRow]]:
    """The illustrative dataset (dicts) and the same as import rows (RawRow, numbered as
    lines of a csv file), without keys that already have real data in ``conn``."""
    records = illustrative.generate_rows()
    if conn is not None:
        from ..geography import region

        real = _real_keys(conn)
        codes = {name: region(name).code for name in {r["region"] for r in records}}
        records = [r for r in records
                   if (r["indicator_id"], codes[r["region"]], int(r["year"]), r["sex"],
                       r["urban_rural"], r["age_group"]) not in real]
    fields = illustrative.COLUMNS[:-1]  # not "planted"
    rows = [RawRow(i + 2, {f: r[f] for f in fields}) for i, r in enumerate(records)]
    return records, rows


def load_illustrative(conn: sqlite3.Connection) -> dict:
    """Generate and import the illustrative series (skipped if this exact content is stored)."""
    from ..ingest.importer import store_rows

    records, rows = illustrative_rows(conn)
    sha = hashlib.sha256(json.dumps([[r[c] for c in illustrative.COLUMNS] for r in records],
                                    ensure_ascii=False, default=str).encode("utf-8")).hexdigest()
    if store.find_submission_by_sha(conn, sha, "illustrative") is not None:
        return {"file": ILLUSTRATIVE_FILE, "skipped": True}
    res = store_rows(conn, rows, file_name=ILLUSTRATIVE_FILE, kind="illustrative", sha256=sha,
                     reporting_unit="示意数据生成器", illustrative=True,
                     default_source=illustrative.SOURCE)
    return {"file": ILLUSTRATIVE_FILE, "submission_id": res.submission_id,
            "read": res.rows_read, "accepted": res.rows_accepted,
            "rejected": res.rows_rejected, "warnings": len(res.warnings),
            "new": res.rows_new, "revised": res.rows_revised, "unchanged": res.rows_unchanged}


__all__ = ["load_defaults", "load_illustrative", "illustrative_rows", "ILLUSTRATIVE_FILE"]
