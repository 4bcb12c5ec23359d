"""The monitoring database: one SQLite file, WAL mode, revisions kept.

Where it lives
--------------
``settings.default_db_path()``: ``$WUWEI_DB`` if set, else ``<WUWEI_HOME>/wuwei.sqlite``
(``~/.local/share/wuwei_analysis/wuwei.sqlite`` by default). The ``wuwei`` command takes
``--db PATH``; every function here takes ``db=`` (a path, an open connection, or None for
the default). This module is storage only and imports nothing above it: a new database
starts empty. Filling the default database with the embedded default dataset on first use
is done above it, by ``wuwei_analysis.database`` (which passes ``on_create`` to
:func:`open_db`); readers of the default database open it there.

Tables (schema version ``SCHEMA_VERSION``, kept in ``PRAGMA user_version`` and ``meta``)
--------------------------------------------------------------------------------------
``submissions``   one row per stored batch: an imported file (name, sha256, reporting
                  unit, received time, rows read / accepted / rejected / blank, rows
                  new / revised / unchanged, status) or a built-in dataset (kind
                  ``public`` / ``baseline`` / ``illustrative``). A CHECK constraint keeps
                  ``rows_read = rows_accepted + rows_rejected``.
``observations``  append-only: indicator, region_code, year, sex, urban_rural, age_group
                  ("" = total), value, numerator, denominator, unit, source, flags
                  (illustrative, provisional, low_trust, and a text ``flags`` such as
                  ``jump;revised``), note, submission_id, source_row, recorded_at.
``rejections``    row, field, raw value, rule and reason of every rejected input row
                  (a row may have several reasons), with its submission.
``meta``          key/value: schema version, creation time, defaults loaded.
``derivations``   (version 2) provenance of each derived observation (``derived = 1``, a
                  parent region's value computed from its children by
                  ``wuwei_analysis.rollup``): method, children used / expected, the
                  missing children, the child observation ids and submissions it rests on.

Derived values
--------------
A derived row never overrides a reported one: the current value of a key is its latest
*reported* row, and only a key with no reported row shows its latest derived row.

Revisions
---------
Observations are never updated or deleted. Importing a value for an existing key (indicator,
region, year, breakdown) that differs from the current one adds a row; the old row stays
with its submission. The current value of a key is its row with the latest
``recorded_at`` (ties: the latest id). ``recorded_at`` is the import time for imported
files and the publication date for published figures (so two published vintages of one
figure are both kept, the later publication current). ``vintage=`` in :func:`observations`
answers "what did the database say then": a submission id (rows of that submission and
earlier ones) or an ISO date/time (rows recorded up to then; a bare date means the end of
that day).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from . import settings
from .errors import DataError, UnknownIndicatorError, WuweiError

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 2

log = logging.getLogger(__name__)

#: Seconds to wait for another program's write lock before giving up (env overrides).
LOCK_WAIT_ENV = "WUWEI_LOCK_TIMEOUT"
DEFAULT_LOCK_WAIT = 30.0

#: Breakdown dimensions, in key order; "" in a column means the total.
BREAKDOWNS = ("sex", "urban_rural", "age_group")
BREAKDOWN_ZH = {"sex": "性别", "urban_rural": "城乡", "age_group": "年龄组"}
KEY_COLUMNS = ("indicator", "region_code", "year", *BREAKDOWNS)

#: Columns of :func:`observations`, in order.
OBSERVATION_COLUMNS = [
    "indicator", "name_zh", "region", "region_code", "year", "sex", "urban_rural",
    "age_group", "value", "numerator", "denominator", "unit", "source", "illustrative",
    "provisional", "low_trust", "derived", "flags", "submission_id", "recorded_at",
]

#: Codes that may appear in the ``flags`` column, with their Chinese meaning.
FLAG_LABELS = {
    "jump": "与历史序列相比变化异常，请核实",
    "revised": "已修订（旧值保留在历史版本中）",
    "computed": "数值由分子、分母计算",
    "unit_slip_fixed": "原文单位印刷有误，已按正确单位记录",
    "outlier_accepted": "疑似数量级错误，经导入者确认（--accept-outliers）后接收",
    "repeated_value": "同一数值见于多个年份，请核实",
    "derived": "由下级地区数据汇总计算，非上报值",
    "partial_coverage": "汇总时部分下级地区缺数据（按目录规定的最低覆盖比例汇总）",
}

#: Chinese headers for exported tables (``export``), in OBSERVATION_COLUMNS order.
COLUMN_ZH = {
    "indicator": "指标编号", "name_zh": "指标名称", "region": "地区", "region_code": "地区代码",
    "year": "年份", "sex": "性别", "urban_rural": "城乡", "age_group": "年龄组",
    "value": "数值", "numerator": "分子", "denominator": "分母", "unit": "单位",
    "source": "数据来源", "illustrative": "示意数据", "provisional": "初步数",
    "low_trust": "低可信度", "derived": "下级汇总", "flags": "标记", "submission_id": "提交编号",
    "recorded_at": "记录时间", "note": "备注",
}

SUBMISSION_KINDS = ("import", "public", "baseline", "illustrative")

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE submissions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL CHECK (kind IN ('import','public','baseline','illustrative')),
    file_name      TEXT NOT NULL,
    file_path      TEXT NOT NULL DEFAULT '',
    sha256         TEXT NOT NULL DEFAULT '',
    reporting_unit TEXT NOT NULL DEFAULT '',
    received_at    TEXT NOT NULL,
    rows_read      INTEGER NOT NULL DEFAULT 0,
    rows_accepted  INTEGER NOT NULL DEFAULT 0,
    rows_rejected  INTEGER NOT NULL DEFAULT 0,
    rows_blank     INTEGER NOT NULL DEFAULT 0,
    rows_new       INTEGER NOT NULL DEFAULT 0,
    rows_revised   INTEGER NOT NULL DEFAULT 0,
    rows_unchanged INTEGER NOT NULL DEFAULT 0,
    warnings       INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'open',
    note           TEXT NOT NULL DEFAULT '',
    CHECK (rows_read = rows_accepted + rows_rejected)
);
CREATE INDEX submissions_sha ON submissions(sha256);
CREATE TABLE observations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    indicator     TEXT NOT NULL,
    region_code   TEXT NOT NULL,
    year          INTEGER NOT NULL,
    sex           TEXT NOT NULL DEFAULT '',
    urban_rural   TEXT NOT NULL DEFAULT '',
    age_group     TEXT NOT NULL DEFAULT '',
    value         REAL NOT NULL,
    numerator     REAL,
    denominator   REAL,
    unit          TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',
    illustrative  INTEGER NOT NULL DEFAULT 0 CHECK (illustrative IN (0, 1)),
    provisional   INTEGER NOT NULL DEFAULT 0 CHECK (provisional IN (0, 1)),
    low_trust     INTEGER NOT NULL DEFAULT 0 CHECK (low_trust IN (0, 1)),
    flags         TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    source_row    INTEGER,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX observations_key
    ON observations(indicator, region_code, sex, urban_rural, age_group, year, recorded_at);
CREATE INDEX observations_submission ON observations(submission_id);
CREATE TABLE rejections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    row           INTEGER,
    field         TEXT NOT NULL DEFAULT '',
    raw_value     TEXT NOT NULL DEFAULT '',
    rule          TEXT NOT NULL,
    reason        TEXT NOT NULL
);
CREATE INDEX rejections_submission ON rejections(submission_id);
"""

_SCHEMA_V2 = """
ALTER TABLE observations ADD COLUMN derived INTEGER NOT NULL DEFAULT 0
    CHECK (derived IN (0, 1));
CREATE TABLE derivations (
    observation_id    INTEGER PRIMARY KEY REFERENCES observations(id),
    method            TEXT NOT NULL,
    children_used     INTEGER NOT NULL,
    children_expected INTEGER NOT NULL,
    missing           TEXT NOT NULL DEFAULT '',
    inputs            TEXT NOT NULL DEFAULT '',
    submissions       TEXT NOT NULL DEFAULT '',
    note              TEXT NOT NULL DEFAULT ''
);
"""

#: version -> SQL that migrates from version-1 to version.
_MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2}


# --------------------------------------------------------------------------- connecting
def now_iso() -> str:
    """The current local time as an ISO string with microseconds (how times are stored)."""
    return datetime.now().isoformat(timespec="microseconds")


def normalise_timestamp(value: str) -> str:
    """An ISO date or date-time as stored (a bare date means the end of that day)."""
    text = str(value).strip()
    try:
        if len(text) == 10:  # YYYY-MM-DD
            dt = datetime.fromisoformat(text).replace(hour=23, minute=59, second=59,
                                                      microsecond=999999)
        else:
            dt = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"无法识别的时间 {value!r}，应为 ISO 格式，如 2024-06-30 或 "
                        "2024-06-30T12:00") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone().replace(tzinfo=None)
    return dt.isoformat(timespec="microseconds")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def open_db(path: str | os.PathLike | None = None, *,
            on_create: "Callable[[sqlite3.Connection], object] | None" = None
            ) -> sqlite3.Connection:
    """打开监测数据库 — open the monitoring database, creating and migrating it if needed.

    Args:
        path: the SQLite file; None means ``settings.default_db_path()``. Its folder is
            created if missing.
        on_create: called with the connection when the database is created here, inside
            the creating transaction (so two processes never both fill a new database);
            ``wuwei_analysis.database`` passes the default-dataset loader.

    Returns:
        A connection in autocommit mode (transactions are explicit, see
        :func:`transaction`), WAL journal, foreign keys on, 30 s busy timeout. Close it
        when done.
    """
    p = Path(path).expanduser() if path is not None else settings.default_db_path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"无法创建监测数据库所在的文件夹：{_os_reason(exc)}", file=str(p.parent)
                        ) from None
    try:
        conn = sqlite3.connect(str(p), timeout=lock_wait(), isolation_level=None)
    except sqlite3.Error as exc:
        raise database_error(exc, p) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(lock_wait() * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        _migrate(conn, p, on_create)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise database_error(exc, p) from None
    except BaseException:
        conn.close()
        raise
    return conn


def lock_wait() -> float:
    """Seconds to wait for another program's write lock (``$WUWEI_LOCK_TIMEOUT``, else 30)."""
    try:
        return max(0.0, float(os.environ.get(LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT)))
    except ValueError:
        return DEFAULT_LOCK_WAIT


class DatabaseLockedError(DataError):
    """Another program held the database's write lock for longer than we waited."""


class DatabaseWriteError(DataError):
    """The database cannot be written: read-only file or folder, full disk, I/O error."""


def _os_reason(exc: OSError) -> str:
    import errno

    reasons = {errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.EROFS: "只读文件系统",
               errno.ENOSPC: "磁盘已满", errno.EDQUOT: "超出磁盘配额", errno.ENOENT: "路径不存在"}
    return reasons.get(exc.errno, exc.strerror or str(exc))


def _db_path(conn: sqlite3.Connection) -> str:
    try:
        return conn.execute("PRAGMA database_list").fetchone()[2] or ""
    except sqlite3.Error:
        return ""


def database_error(exc: BaseException, path: "str | os.PathLike | None" = None) -> DataError:
    """A SQLite error as a Chinese DataError saying what happened and what to do.

    Locked (another program writes), read-only file or folder, full disk, I/O error,
    damaged or foreign file; anything else keeps SQLite's own words after a Chinese lead.
    """
    text = str(exc)
    low = text.lower()
    p = Path(path) if path else None
    where = {"file": str(p)} if p else {}
    if "locked" in low or "busy" in low:
        return DatabaseLockedError(
            f"监测数据库正被另一个程序写入，等待 {lock_wait():g} 秒后仍未释放；本次未作任何更改。"
            "请等其他导入完成或关闭占用数据库的程序后重试", **where)
    folder_ro = p is not None and p.parent.exists() and not _writable(p.parent)
    if "readonly" in low or "read-only" in low or "read only" in low:
        if folder_ro:
            return DatabaseWriteError("监测数据库所在的文件夹是只读的（无写入权限），无法写入；"
                                      "本次未作任何更改。请检查文件夹权限", **where)
        return DatabaseWriteError("监测数据库文件是只读的（无写入权限），无法写入；本次未作任何更改。"
                                  "请检查文件权限", **where)
    if "full" in low:
        return DatabaseWriteError("磁盘已满（或数据库已达到大小上限），写入失败；本次写入已全部撤销，"
                                  f"数据库保持原样。请腾出磁盘空间后重试（SQLite：{text}）", **where)
    if "unable to open" in low or "cannot open" in low:
        if folder_ro or (p is not None and p.parent.exists() and not p.exists()):
            return DatabaseWriteError("无法在该文件夹中创建或打开监测数据库：文件夹是只读的或没有写入权限",
                                      **where)
        return DatabaseWriteError(f"无法打开监测数据库文件（{text}）；请检查路径和权限", **where)
    if "disk i/o" in low:
        return DatabaseWriteError(f"读写监测数据库时发生磁盘错误（{text}）；本次未作任何更改。"
                                  "请检查磁盘空间和文件权限", **where)
    if "not a database" in low or "malformed" in low or "file is encrypted" in low:
        return DataError(f"监测数据库无法使用（文件损坏或不是 SQLite 数据库）：{text}", **where)
    return DataError(f"监测数据库出错：{text}", **where)


def _writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed: root ignores modes)."""
    probe = folder / f".wuwei_probe_{uuid.uuid4().hex[:8]}"
    try:
        probe.touch()
        probe.unlink()
        return True
    except OSError:
        return False


def _migrate(conn: sqlite3.Connection, path: Path, on_create) -> None:
    version = schema_version(conn)
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise DataError(f"数据库结构版本为 {version}，本软件只支持到 {SCHEMA_VERSION}，请升级软件",
                        file=str(path))
    with transaction(conn):
        version = schema_version(conn)  # another process may have migrated meanwhile
        if version >= SCHEMA_VERSION:
            return
        created = version == 0
        for v in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _split_sql(_MIGRATIONS[v]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        set_meta(conn, "schema_version", str(SCHEMA_VERSION))
        if created:
            set_meta(conn, "created_at", now_iso())
            set_meta(conn, "defaults_loaded", "")
            if on_create is not None:
                on_create(conn)


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else row[0]


@contextmanager
def connect(db: "str | os.PathLike | sqlite3.Connection | None" = None, *,
            opener: "Callable[[Any], sqlite3.Connection] | None" = None
            ) -> Iterator[sqlite3.Connection]:
    """Yield a connection for ``db`` (a path, a Connection, or None = default path).

    A connection passed in is used as is and left open; one opened here (with ``opener``,
    default :func:`open_db`) is closed. A new database opened by ``open_db`` is left empty:
    ``wuwei_analysis.database.connect`` passes its own opener, which fills a new default one.
    """
    if isinstance(db, sqlite3.Connection):
        yield db
        return
    conn = (opener or open_db)(db)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``); nested use is a savepoint.

    Any exception — including KeyboardInterrupt — rolls everything back, so the database is
    as it was before. When another program holds the write lock, waits up to
    :func:`lock_wait` seconds (logging a message once), then raises
    :class:`DatabaseLockedError`. SQLite errors of the outer transaction (read-only file,
    full disk, …) are raised as Chinese :class:`DataError` s (:func:`database_error`);
    a rollback that fails because SQLite already rolled back (as on a full disk) never
    hides the original cause.
    """
    if conn.in_transaction:
        name = f"sp_{uuid.uuid4().hex[:12]}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                except sqlite3.Error:
                    pass  # SQLite already rolled the whole transaction back (e.g. disk full)
            raise
        conn.execute(f"RELEASE {name}")
        return
    _begin_immediate(conn)
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(
                exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
            raise database_error(exc, _db_path(conn)) from exc
        raise


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another writer with one message, then a clear error."""
    total = lock_wait()
    first = min(1.0, total)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(first * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                raise database_error(exc, _db_path(conn)) from exc
        rest = max(0.0, total - first)
        log.warning("监测数据库正被另一个程序写入，正在等待其完成（最多 %g 秒）…", total)
        t0 = time.monotonic()
        conn.execute(f"PRAGMA busy_timeout = {int(rest * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise database_error(exc, _db_path(conn)) from exc
        log.info("数据库已可写入（等待 %.1f 秒）。", time.monotonic() - t0)
    finally:
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(total * 1000)}")
        except sqlite3.Error:
            pass


# --------------------------------------------------------------------------- writing
def add_submission(conn: sqlite3.Connection, *, kind: str, file_name: str, file_path: str = "",
                   sha256: str = "", reporting_unit: str = "", received_at: str | None = None,
                   note: str = "") -> int:
    """Insert a submission (status ``open``, counts zero) and return its id."""
    if kind not in SUBMISSION_KINDS:
        raise ValueError(f"unknown submission kind {kind!r}")
    cur = conn.execute(
        "INSERT INTO submissions(kind, file_name, file_path, sha256, reporting_unit, "
        "received_at, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, file_name, file_path, sha256, reporting_unit or "", received_at or now_iso(),
         note),
    )
    return int(cur.lastrowid)


def finish_submission(conn: sqlite3.Connection, submission_id: int, *, rows_read: int,
                      rows_accepted: int, rows_rejected: int, rows_blank: int = 0,
                      rows_new: int = 0, rows_revised: int = 0, rows_unchanged: int = 0,
                      warnings: int = 0, status: str | None = None) -> None:
    """Record a submission's counts and status (accepted / partial / rejected)."""
    if rows_read != rows_accepted + rows_rejected:
        raise WuweiError(f"内部错误：读取行数 {rows_read} ≠ 接收 {rows_accepted} + 拒收 "
                         f"{rows_rejected}")
    if status is None:
        status = ("accepted" if rows_rejected == 0 and rows_read > 0
                  else "rejected" if rows_accepted == 0 else "partial")
    conn.execute(
        "UPDATE submissions SET rows_read=?, rows_accepted=?, rows_rejected=?, rows_blank=?, "
        "rows_new=?, rows_revised=?, rows_unchanged=?, warnings=?, status=? WHERE id=?",
        (rows_read, rows_accepted, rows_rejected, rows_blank, rows_new, rows_revised,
         rows_unchanged, warnings, status, submission_id),
    )


def find_submission_by_sha(conn: sqlite3.Connection, sha256: str, kind: str = "import"
                           ) -> dict | None:
    """The latest submission of ``kind`` with this content hash, as a dict, or None."""
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    row = cur.execute("SELECT * FROM submissions WHERE sha256 = ? AND kind = ? "
                      "ORDER BY id DESC LIMIT 1", (sha256, kind)).fetchone()
    return dict(row) if row is not None else None


def add_rejections(conn: sqlite3.Connection, submission_id: int,
                   rejections: Iterable[Mapping[str, Any]]) -> int:
    """Store rejections: dicts with row, field, raw_value, rule, reason."""
    rows = [(submission_id, r.get("row"), r.get("field", "") or "",
             "" if r.get("raw_value") is None else str(r.get("raw_value")),
             r["rule"], r["reason"]) for r in rejections]
    conn.executemany("INSERT INTO rejections(submission_id, row, field, raw_value, rule, "
                     "reason) VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if a != a or b != b:  # NaN
        return a != a and b != b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _none_if_nan(x: Any) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def current_rows(conn: sqlite3.Connection, indicators: Iterable[str] | None = None, *,
                 derived: bool = False) -> dict[tuple, dict]:
    """The current row of every key (optionally for some indicators), keyed by KEY_COLUMNS.

    Reported rows only; ``derived=True``: the current *derived* row of each key instead.
    """
    inds = sorted(set(indicators)) if indicators is not None else None
    sql = ("SELECT * FROM (SELECT o.*, ROW_NUMBER() OVER (PARTITION BY indicator, region_code, "
           "year, sex, urban_rural, age_group ORDER BY recorded_at DESC, id DESC) AS rn "
           "FROM observations o {where}) WHERE rn = 1")
    params: list[Any] = []
    where = f"WHERE derived = {int(bool(derived))}"
    if inds is not None:
        if not inds:
            return {}
        where += f" AND indicator IN ({','.join('?' * len(inds))})"
        params = list(inds)
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    rows = cur.execute(sql.format(where=where), params).fetchall()
    return {tuple(r[k] for k in KEY_COLUMNS): dict(r) for r in rows}


def write_observations(conn: sqlite3.Connection, submission_id: int,
                       records: Sequence[Mapping[str, Any]], *, recorded_at: str | None = None,
                       current: dict[tuple, dict] | None = None) -> dict[str, Any]:
    """Write observations of one submission, keeping revisions.

    Each record has the KEY_COLUMNS plus value, and optionally numerator, denominator,
    unit, source, illustrative, provisional, low_trust, flags, note, source_row,
    recorded_at. A record equal to the key's current row (same value, numerator,
    denominator, illustrative and provisional flags) adds nothing ("unchanged"); a
    different one is added as a new revision (flag ``revised``), the old row kept.

    Returns counts ``{"new", "revised", "unchanged"}`` and ``"outcome"``: one of
    new / revised / unchanged per record, in order.
    """
    if current is None:
        current = current_rows(conn, {r["indicator"] for r in records})
    stamp = recorded_at or now_iso()
    out = {"new": 0, "revised": 0, "unchanged": 0, "outcome": []}
    batch = []
    for rec in records:
        key = (rec["indicator"], str(rec["region_code"]), int(rec["year"]),
               rec.get("sex") or "", rec.get("urban_rural") or "", rec.get("age_group") or "")
        value = float(rec["value"])
        num, den = _none_if_nan(rec.get("numerator")), _none_if_nan(rec.get("denominator"))
        illus, prov = int(bool(rec.get("illustrative"))), int(bool(rec.get("provisional")))
        flags = [f for f in str(rec.get("flags") or "").split(";") if f]
        old = current.get(key)
        trust = int(bool(rec.get("low_trust")))
        if old is not None and _same(old["value"], value) and _same(old["numerator"], num) \
                and _same(old["denominator"], den) and old["illustrative"] == illus \
                and old["provisional"] == prov and old["low_trust"] == trust:
            out["unchanged"] += 1
            out["outcome"].append("unchanged")
            continue
        if old is not None:
            if "revised" not in flags:
                flags.append("revised")
            out["revised"] += 1
            out["outcome"].append("revised")
        else:
            out["new"] += 1
            out["outcome"].append("new")
        row = {
            "indicator": key[0], "region_code": key[1], "year": key[2], "sex": key[3],
            "urban_rural": key[4], "age_group": key[5], "value": value, "numerator": num,
            "denominator": den, "unit": rec.get("unit") or "", "source": rec.get("source") or "",
            "illustrative": illus, "provisional": prov,
            "low_trust": trust, "flags": ";".join(flags),
            "note": rec.get("note") or "", "submission_id": submission_id,
            "source_row": rec.get("source_row"),
            "recorded_at": rec.get("recorded_at") or stamp,
        }
        current[key] = {**row, "id": None}
        batch.append(row)
    if batch:
        cols = list(batch[0])
        conn.executemany(
            f"INSERT INTO observations({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
            [tuple(r[c] for c in cols) for r in batch],
        )
    return out


# --------------------------------------------------------------------------- reading
def _as_list(x: Any) -> list:
    if x is None:
        return []
    if isinstance(x, (str, int)):
        return [x]
    return list(x)


def _indicator_ids(conn: sqlite3.Connection, keys: Any) -> list[tuple[str, str]] | None:
    """(requested id, id the data are stored under) for each key; None for all."""
    if keys is None:
        return None
    from . import indicator_catalog as catalog

    ids: list[tuple[str, str]] = []
    stored: set[str] | None = None
    for key in _as_list(keys):
        try:
            ind = catalog.indicator(str(key))
            data_id = getattr(ind, "data_id", ind.id)
            pair = (ind.id, data_id)
        except UnknownIndicatorError:
            if stored is None:
                stored = {r[0] for r in conn.execute("SELECT DISTINCT indicator FROM observations")}
            if str(key) in stored:  # stored under an id the catalogue no longer has
                pair = (str(key), str(key))
            else:
                raise
        if pair not in ids:
            ids.append(pair)
    return ids


def _region_codes(keys: Any) -> list[str] | None:
    if keys is None:
        return None
    from .geography import region

    return [region(k).code for k in _as_list(keys)]


def _breakdown_sql(breakdown: Any) -> tuple[str, list]:
    """SQL condition for the ``breakdown`` argument of :func:`observations`."""
    alias = {"性别": "sex", "城乡": "urban_rural", "年龄组": "age_group", "年龄": "age_group"}
    if breakdown is None or breakdown == "total" or breakdown == "总计":
        return "sex = '' AND urban_rural = '' AND age_group = ''", []
    if breakdown == "all" or breakdown == "全部":
        return "1", []
    if isinstance(breakdown, str):
        dim = alias.get(breakdown, breakdown)
        if dim not in BREAKDOWNS:
            raise DataError(f"未知分组 {breakdown!r}，应为 None、'all'、'sex'、'urban_rural'、"
                            "'age_group' 或形如 {'sex': '女'} 的字典")
        others = [d for d in BREAKDOWNS if d != dim]
        return f"{dim} <> '' AND " + " AND ".join(f"{d} = ''" for d in others), []
    if isinstance(breakdown, Mapping):
        conds, params = [], []
        given = {alias.get(k, k): v for k, v in breakdown.items()}
        for dim in given:
            if dim not in BREAKDOWNS:
                raise DataError(f"未知分组 {dim!r}")
        for dim in BREAKDOWNS:
            if dim in given and given[dim] not in (None, "*"):
                conds.append(f"{dim} = ?")
                params.append(str(given[dim]))
            elif dim in given:
                conds.append(f"{dim} <> ''")
            else:
                conds.append(f"{dim} = ''")
        return " AND ".join(conds), params
    raise DataError(f"无法识别的分组参数 {breakdown!r}")


def _vintage_sql(vintage: Any) -> tuple[str, list]:
    if vintage is None:
        return "1", []
    if isinstance(vintage, int) or (isinstance(vintage, str) and vintage.strip().isdigit()):
        return "submission_id <= ?", [int(vintage)]
    if isinstance(vintage, datetime):
        return "recorded_at <= ?", [normalise_timestamp(vintage.isoformat())]
    return "recorded_at <= ?", [normalise_timestamp(str(vintage))]


def _empty_frame() -> "pd.DataFrame":
    import pandas as pd

    return _typed(pd.DataFrame({c: [] for c in OBSERVATION_COLUMNS}))


def _typed(df: "pd.DataFrame") -> "pd.DataFrame":
    df = df[OBSERVATION_COLUMNS].copy()
    for c in ("indicator", "name_zh", "region", "region_code", "sex", "urban_rural",
              "age_group", "unit", "source", "flags", "recorded_at"):
        df[c] = df[c].fillna("").astype(str)
    df["year"] = df["year"].astype("int64")
    for c in ("value", "numerator", "denominator"):
        df[c] = df[c].astype("float64")
    for c in ("illustrative", "provisional", "low_trust", "derived"):
        df[c] = df[c].astype(bool)
    df["submission_id"] = df["submission_id"].astype("int64")
    return df


def _query(conn: sqlite3.Connection, indicator: Any, region: Any, breakdown: Any,
           vintage: Any, include_benchmarks: bool, latest: bool,
           year: Any = None) -> "pd.DataFrame":
    import pandas as pd

    from . import indicator_catalog as catalog
    from .geography import all_regions

    conds, params = [], []
    pairs = _indicator_ids(conn, indicator)
    if pairs is not None:
        data_ids = sorted({d for _, d in pairs})
        conds.append(f"indicator IN ({','.join('?' * len(data_ids))})")
        params += data_ids
    codes = _region_codes(region)
    if codes is not None:
        conds.append(f"region_code IN ({','.join('?' * len(codes))})")
        params += codes
    if not include_benchmarks:
        bench = [r.code for r in all_regions() if r.role == "benchmark"]
        conds.append(f"region_code NOT IN ({','.join('?' * len(bench))})")
        params += bench
    if year is not None:
        years = [int(y) for y in _as_list(year)]
        conds.append(f"year IN ({','.join('?' * len(years))})")
        params += years
    bsql, bparams = _breakdown_sql(breakdown)
    vsql, vparams = _vintage_sql(vintage)
    conds += [f"({bsql})", f"({vsql})"]
    params += bparams + vparams
    where = " AND ".join(conds) if conds else "1"
    cols = ("o.id, indicator, region_code, year, sex, urban_rural, age_group, value, numerator, "
            "denominator, unit, source, illustrative, provisional, low_trust, derived, flags, "
            "note, submission_id, recorded_at")
    if latest:
        sql = (f"SELECT * FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY indicator, "
               "region_code, year, sex, urban_rural, age_group ORDER BY derived, recorded_at DESC, "
               f"o.id DESC) AS rn FROM observations o WHERE {where}) WHERE rn = 1")
    else:
        sql = (f"SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY indicator, region_code, year, "
               "sex, urban_rural, age_group ORDER BY derived, recorded_at DESC, o.id DESC) "
               f"AS rn FROM observations o WHERE {where}")
    df = pd.read_sql_query(sql, conn, params=params)
    if df.empty:
        return df
    if pairs is not None and any(r != d for r, d in pairs):
        # an entry with ``same_as`` shares the data of that entry: label them as asked
        df = pd.concat([df[df["indicator"] == d].assign(indicator=r) for r, d in pairs],
                       ignore_index=True)
    try:
        names = {i.id: i.name_zh for i in catalog.indicators()}
    except WuweiError:
        names = {}
    regions = {r.code: r.name for r in all_regions()}
    df["name_zh"] = df["indicator"].map(names).fillna("")
    df["region"] = df["region_code"].map(regions).fillna(df["region_code"])
    return df


def observations(indicator: Any = None, region: Any = None, breakdown: Any = None, *,
                 db: "str | os.PathLike | sqlite3.Connection | None" = None,
                 vintage: "int | str | None" = None, include_benchmarks: bool = True,
                 year: Any = None, notes: bool = False) -> "pd.DataFrame":
    """监测数据（长表） — the current value of each (indicator, region, year, breakdown).

    Args:
        indicator: an id, Chinese name or alias, or a list of them; None = all. An entry
            with ``same_as`` (a goal of both plans) gets the data stored under that entry,
            labelled with the id asked for.
        region: a region name, alias or code (``"天祝县"``, ``620623``) or a list; None = all.
        breakdown: None = totals only (sex, urban_rural and age_group all ""); ``"all"`` =
            every row; ``"sex"`` / ``"urban_rural"`` / ``"age_group"`` = rows broken down by
            that dimension only; a dict such as ``{"sex": "女"}`` = those values (other
            dimensions total; a value of ``"*"`` means any group of that dimension).
        db: a database path, an open connection, or None for the default database (created
            with the default dataset on first use).
        vintage: a submission id, or an ISO date / date-time: the values as they stood then.
        include_benchmarks: False leaves out 甘肃省 and 全国.
        year: optionally one year or a list of years.
        notes: also return the ``note`` column (备注 typed by the unit, warnings noted on
            import) after the others.

    Returns:
        A DataFrame with columns ``OBSERVATION_COLUMNS``: indicator, name_zh, region,
        region_code, year (int), sex, urban_rural, age_group ("" = total), value,
        numerator, denominator (float, NaN if unknown), unit, source, illustrative,
        provisional, low_trust (bool), flags (";"-separated codes, see FLAG_LABELS),
        submission_id, recorded_at — sorted by indicator, region_code, breakdown, year.
        Rows flagged ``illustrative`` are made-up example data, not statistics.
    """
    with connect(db) as conn:
        df = _query(conn, indicator, region, breakdown, vintage, include_benchmarks,
                    latest=True, year=year)
    if df.empty:
        out = _empty_frame()
        if notes:
            out["note"] = pd_bool_empty().astype(str)
        return out
    note = df["note"].fillna("").astype(str).to_numpy()
    df = _typed(df)
    if notes:
        df["note"] = note
    df = df.sort_values(["indicator", "region_code", "sex", "urban_rural", "age_group",
                         "year"], kind="stable")
    return df.reset_index(drop=True)


def latest_year(db: "str | os.PathLike | sqlite3.Connection | None" = None) -> int:
    """The latest year with data for a monitored region (the default report year)."""
    from .geography import monitored

    codes = [r.code for r in monitored()]
    with connect(db) as conn:
        row = conn.execute(
            f"SELECT MAX(year) FROM observations WHERE region_code IN ({','.join('?' * len(codes))})",
            codes).fetchone()
    if not row or row[0] is None:
        raise DataError("数据库中没有市、县（区）的监测数据，无法确定报告年份；请用 --year 指定")
    return int(row[0])


def revisions(indicator: Any = None, region: Any = None, breakdown: Any = "all", *,
              db: "str | os.PathLike | sqlite3.Connection | None" = None,
              year: Any = None) -> "pd.DataFrame":
    """Every stored version (not only the current one) of the matching observations.

    Same columns as :func:`observations` plus ``current`` (bool) and ``note``; sorted by
    key, then oldest version first.
    """
    with connect(db) as conn:
        df = _query(conn, indicator, region, breakdown, None, True, latest=False, year=year)
    if df.empty:
        out = _empty_frame()
        out["current"] = pd_bool_empty()
        out["note"] = ""
        return out
    current = df["rn"] == 1
    note = df["note"].fillna("").astype(str)
    df = _typed(df)
    df["current"] = current.to_numpy()
    df["note"] = note.to_numpy()
    df = df.sort_values(["indicator", "region_code", "sex", "urban_rural", "age_group", "year",
                         "recorded_at"], kind="stable")
    return df.reset_index(drop=True)


def pd_bool_empty():
    import pandas as pd

    return pd.Series([], dtype=bool)


def submissions(db: "str | os.PathLike | sqlite3.Connection | None" = None) -> "pd.DataFrame":
    """All submissions, newest first."""
    import pandas as pd

    with connect(db) as conn:
        return pd.read_sql_query("SELECT * FROM submissions ORDER BY id DESC", conn)


def rejections(submission: int | None = None, *,
               db: "str | os.PathLike | sqlite3.Connection | None" = None) -> "pd.DataFrame":
    """Rejected rows with their reasons (optionally of one submission), with the file name."""
    import pandas as pd

    sql = ("SELECT r.submission_id, s.file_name, r.row, r.field, r.raw_value, r.rule, r.reason "
           "FROM rejections r JOIN submissions s ON s.id = r.submission_id")
    params: list = []
    if submission is not None:
        sql += " WHERE r.submission_id = ?"
        params.append(int(submission))
    sql += " ORDER BY r.submission_id, r.row, r.id"
    with connect(db) as conn:
        return pd.read_sql_query(sql, conn, params=params)


def db_info(db: "str | os.PathLike | sqlite3.Connection | None" = None) -> dict:
    """Path, schema version, counts and the built-in datasets of a database."""
    with connect(db) as conn:
        path = conn.execute("PRAGMA database_list").fetchone()[2]
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("observations", "submissions", "rejections")}
        illus = conn.execute("SELECT COUNT(*) FROM observations WHERE illustrative = 1"
                             ).fetchone()[0]
        return {
            "path": path,
            "schema_version": schema_version(conn),
            "created_at": get_meta(conn, "created_at", ""),
            "defaults_loaded": get_meta(conn, "defaults_loaded", ""),
            "observations": counts["observations"],
            "illustrative_observations": illus,
            "submissions": counts["submissions"],
            "rejections": counts["rejections"],
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
        }


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Row counts of the data tables (handy for checking that nothing changed)."""
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("observations", "submissions", "rejections")}


# --------------------------------------------------------------------------- export
def to_export_frame(df: "pd.DataFrame", *, chinese: bool = True) -> "pd.DataFrame":
    """An observations frame made ready to write: booleans as 是/否, Chinese headers."""
    out = df.copy()
    if chinese:
        for c in ("illustrative", "provisional", "low_trust", "derived"):
            if c in out:
                out[c] = out[c].map({True: "是", False: "否"})
        out = out.rename(columns=COLUMN_ZH)
    return out


def write_table(df: "pd.DataFrame", path: str | os.PathLike, *, sheet_name: str = "监测数据"
                ) -> Path:
    """Write a frame to .csv (UTF-8 with BOM, opens in Excel) or .xlsx, atomically.

    Text that a spreadsheet could run as a formula (``=…``, ``+…``, ``-…``, ``@…``) is
    written with a leading quote (``safecells``); numbers stay numbers. A folder that
    cannot be written or a full disk raises a Chinese DataError; no partial file is left.
    """
    from .safecells import neutralise_frame

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise DataError("导出文件须为 .csv 或 .xlsx", file=str(p))
    df = neutralise_frame(df)
    tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        _write_table_to(df, tmp, suffix, sheet_name)
        os.replace(tmp, p)
    except OSError as exc:
        raise DataError(f"无法写入导出文件：{_os_reason(exc)}", file=str(p)) from None
    finally:
        try:
            if tmp.exists():
                tmp.unlink()
        except OSError:
            pass
    return p


def _write_table_to(df: "pd.DataFrame", tmp: Path, suffix: str, sheet_name: str) -> None:
    if suffix == ".csv":
        df.to_csv(tmp, index=False, encoding="utf-8-sig")
        return
    with __import__("pandas").ExcelWriter(tmp, engine="openpyxl") as xw:
        df.to_excel(xw, index=False, sheet_name=sheet_name)
        ws = xw.sheets[sheet_name]
        ws.freeze_panes = "A2"
        for col in ws.columns:
            width = max(len(str(c.value or "")) for c in list(col)[:200])
            ws.column_dimensions[col[0].column_letter].width = min(40, max(8, width * 1.6))


def export(path: str | os.PathLike, indicator: Any = None, region: Any = None,
           breakdown: Any = "all", *, db: "str | os.PathLike | sqlite3.Connection | None" = None,
           vintage: Any = None, include_benchmarks: bool = True, chinese: bool = True) -> Path:
    """Write :func:`observations` to a .csv or .xlsx file (Chinese headers by default).

    The file keeps the 示意数据 (illustrative) column and the notes (备注), and an exported
    file can be imported again (``wuwei import``) with no rejection and no change.
    """
    df = observations(indicator, region, breakdown, db=db, vintage=vintage,
                      include_benchmarks=include_benchmarks, notes=True)
    return write_table(to_export_frame(df, chinese=chinese), path)
