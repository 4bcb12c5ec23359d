"""Import reporting files: read, validate every row, store in one transaction per file.

Guarantees
----------
* Every row that has a value, numerator or denominator entered is *read*, and is either
  accepted or rejected with at least one reason: ``rows_read = rows_accepted +
  rows_rejected``, always (also a CHECK constraint in the database). Rows with nothing
  entered (blank template rows, or "—") are counted as ``rows_blank`` and not stored.
* One file = one transaction: a crash, a kill or Ctrl-C leaves the database as it was.
* Importing a file whose content (sha256) was already imported changes nothing.
* Values already stored are never overwritten: a different value becomes a new revision
  (``store.write_observations``); the same value adds nothing.
* Rejections and warnings are stored with the submission and written next to the input
  as ``<name>_导入报告.xlsx`` (``.csv`` for CSV input).

Exit codes (``ImportResult.exit_code``): 0 all rows accepted, 1 some rows rejected,
2 nothing accepted, or the file or the database could not be used (damaged workbook,
sheets that cannot be read, database locked by another program, read-only, disk full).
"""
from __future__ import annotations

import bisect
import functools
import gc
import hashlib
import os
import sqlite3
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from .. import store
from .. import indicator_catalog as catalog
from ..errors import DataError
from ..safecells import neutralise
from .read import RawRow, ReadResult, clean_text, is_missing, read_file
from . import rules
from .rules import Issue

#: Test hook: seconds to sleep inside the write transaction, before COMMIT.
SLOW_ENV = "WUWEI_TEST_SLOW_IMPORT"
REPORT_SUFFIX = "_导入报告"

STATUS_ZH = {"accepted": "全部接收", "partial": "部分接收", "rejected": "全部拒收",
             "failed": "无法导入", "duplicate": "已导入过，未作更改"}


@dataclass
class ImportResult:
    """What happened to one file."""

    file: str
    path: Path | None = None
    status: str = "failed"            # accepted / partial / rejected / failed / duplicate
    submission_id: int | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_blank: int = 0
    rows_new: int = 0
    rows_revised: int = 0
    rows_unchanged: int = 0
    issues: list[Issue] = field(default_factory=list)
    report_path: Path | None = None
    message: str = ""
    previous_status: str = ""         # for duplicates: the status of the earlier import
    reporting_unit: str = ""
    report_error: str = ""            # why the report could not be written ("" = fine)
    error: Exception | None = None    # the DataError that made the import fail, if any
    rows_derived: int = 0             # parent values (re-)derived from this file's rows

    @property
    def rejections(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "reject"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warn"]

    @property
    def exit_code(self) -> int:
        status = self.previous_status if self.status == "duplicate" else self.status
        return {"accepted": 0, "partial": 1}.get(status, 2)

    def summary_zh(self, max_issues: int = 20) -> str:
        """A few lines for people: counts, then the first rejections and warnings."""
        lines = []
        if self.status == "failed":
            lines.append(f"✗ {self.file}：无法导入。{self.message}")
            for issue in self.warnings[:max_issues]:
                lines.append(f"  [警告] {issue.message()}")
            return "\n".join(lines)
        if self.status == "duplicate":
            lines.append(f"= {self.file}：{self.message}")
            return "\n".join(lines)
        mark = {"accepted": "✓", "partial": "!", "rejected": "✗"}.get(self.status, "·")
        blank = f"（另有 {self.rows_blank} 行未填数值，视为未报送）" if self.rows_blank else ""
        lines.append(
            f"{mark} {self.file}：读取 {self.rows_read} 行，接收 {self.rows_accepted} 行，"
            f"拒收 {self.rows_rejected} 行{blank}；警告 {len(self.warnings)} 条。"
            f"{STATUS_ZH.get(self.status, self.status)}，提交编号 #{self.submission_id}。")
        if self.rows_accepted:
            lines.append(f"  入库：新增 {self.rows_new} 条，修订 {self.rows_revised} 条"
                         f"（旧值保留），与库中相同 {self.rows_unchanged} 条。")
        if self.rows_derived:
            lines.append(f"  汇总：由下级地区数据汇总得到上级地区数值 {self.rows_derived} 条"
                         "（标为“下级汇总”，不覆盖上报值）。")
        shown = sorted(self.issues, key=lambda i: (i.severity != "reject", i.row or 0))
        for issue in shown[:max_issues]:
            tag = "拒收" if issue.severity == "reject" else "警告"
            lines.append(f"  [{tag}] {issue.message()}")
        if len(shown) > max_issues:
            lines.append(f"  …另有 {len(shown) - max_issues} 条，见报告。")
        if self.report_path is not None:
            lines.append(f"  报告已写入：{self.report_path}")
        elif self.report_error:
            lines.append(f"  报告未能写入：{self.report_error}")
        elif self.issues:
            lines.append("  （未写报告文件）")
        return "\n".join(lines)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def guess_unit(name: str) -> str:
    """The member unit named in a file name ("古浪县卫健委2024.xlsx" → 卫健委), or ""."""
    for unit in sorted(catalog.member_units(), key=len, reverse=True):
        if unit in name:
            return unit
    return ""


# --------------------------------------------------------------------------- validation
@dataclass
class _Candidate:
    row: int
    ind: Any
    region: Any
    year: int
    breakdown: tuple[str, str, str]
    value: float
    number: Any
    numerator: float | None
    denominator: float | None
    provisional: bool
    illustrative: bool
    low_trust: bool
    source: str
    note: str
    raw_value: Any
    flags: list[str] = field(default_factory=list)
    counts_verified: bool = False
    pos: int = 0                      # position in the file's rows (unique across sheets)

    @property
    def data_id(self) -> str:
        """The id the data are stored under (an entry's ``same_as``, else its own id)."""
        return getattr(self.ind, "data_id", self.ind.id)

    @property
    def key(self) -> tuple:
        return (self.data_id, self.region.code, self.year, *self.breakdown)

    @property
    def series(self) -> tuple:
        return (self.data_id, self.region.code, *self.breakdown)


@dataclass
class Context:
    """What the checks need to know beyond the rows: who sent them, for which year."""

    reporting_unit: str = ""          # a member unit: only its own indicators
    member_file: bool = True          # False for built-in datasets (public path, illustrative)
    max_year: int | None = None       # the reporting year; None = the current year
    max_basis: str = ""               # how the message names it (填报年份 / 当前年份)
    accept_outliers: bool = False     # magnitude slips kept as warnings (user confirmed)


def _fresh(x: Any) -> Any:
    """A cached result with its Issues copied (the importer sets row and file on them)."""
    if isinstance(x, Issue):
        return replace(x)
    if isinstance(x, tuple) and any(isinstance(i, Issue) for i in x):
        return tuple(replace(i) if isinstance(i, Issue) else i for i in x)
    return x


class _Memo:
    """Remember a pure check's answer per distinct input within one file.

    Files repeat the same few ids, names, regions, years and flags on every row; asking
    each question once keeps a 50,000-row import fast. ``by_id``: the first argument is an
    indicator, keyed by its id (hashing the whole entry is slow). Issues in an answer are
    copied on every use (the importer sets row and file on them).
    """

    def __init__(self, fn, by_id: bool = False):
        self.fn = fn
        self.by_id = by_id
        self.cache: dict = {}

    def __call__(self, *args):
        key = (args[0].id, *args[1:]) if self.by_id else args
        try:
            out, has_issue = self.cache[key]
        except KeyError:
            out = self.fn(*args)
            has_issue = isinstance(out, Issue) or (
                isinstance(out, tuple) and any(isinstance(i, Issue) for i in out))
            self.cache[key] = (out, has_issue)
        except TypeError:  # unhashable input
            return self.fn(*args)
        return _fresh(out) if has_issue else out


class _Checks:
    """The row checks of ``rules``, memoised for one file."""

    def __init__(self) -> None:
        for name in ("resolve_indicator", "resolve_region", "parse_year", "parse_flag"):
            setattr(self, name, _Memo(getattr(rules, name)))
        for name in ("resolve_breakdown", "check_reporter", "check_unit_column"):
            setattr(self, name, _Memo(getattr(rules, name), by_id=True))


def _validate_row(raw: RawRow, ctx: Context, checks: Any = rules
                  ) -> tuple[_Candidate | None, list[Issue], bool]:
    """Field checks of one row. Returns (candidate or None, issues, blank?)."""
    v = raw.values
    value_raw, num_raw, den_raw = v.get("value"), v.get("numerator"), v.get("denominator")
    if is_missing(value_raw) and is_missing(num_raw) and is_missing(den_raw):
        return None, [], True
    if rules.parse_flag(v.get("derived"), "derived")[0]:
        return None, [], True   # an exported value derived from lower levels: not a report
    issues: list[Issue] = []
    ind, issue = checks.resolve_indicator(v.get("indicator_id"), v.get("indicator_name"))
    if issue:
        issues.append(issue)
    reg, issue = checks.resolve_region(v.get("region"), v.get("region_code"))
    if issue:
        issues.append(issue)
    year, issue = checks.parse_year(v.get("year"), ctx.max_year, ctx.max_basis)
    if issue:
        issues.append(issue)
    number, issue = rules.parse_numeric(value_raw, "value")
    if issue:
        issues.append(issue)
    num, issue = rules.parse_numeric(num_raw, "numerator")
    if issue:
        issues.append(issue)
    den, issue = rules.parse_numeric(den_raw, "denominator")
    if issue:
        issues.append(issue)
    provisional, issue = checks.parse_flag(v.get("provisional"), "provisional")
    if issue:
        issues.append(issue)
    illustrative, issue = checks.parse_flag(v.get("illustrative"), "illustrative")
    if issue:
        issues.append(issue)
    low_trust, issue = checks.parse_flag(v.get("low_trust"), "low_trust")
    if issue:
        issues.append(issue)
    breakdown = ["", "", ""]
    if ind is not None:
        for i, dim in enumerate(("sex", "urban_rural", "age_group")):
            breakdown[i], issue = checks.resolve_breakdown(ind, dim, v.get(dim))
            if issue:
                issues.append(issue)
        for issue in (
            checks.check_reporter(ind, ctx.reporting_unit) if ctx.member_file else None,
            checks.check_unit_column(ind, v.get("unit")),
            rules.check_suffix(ind, number, "value", value_raw),
            rules.check_suffix(ind, num, "numerator", num_raw),
            rules.check_suffix(ind, den, "denominator", den_raw),
            rules.check_range(ind, number.value if number else None, "value", value_raw),
            rules.check_range(ind, num.value if num else None, "numerator", num_raw),
            rules.check_range(ind, den.value if den else None, "denominator", den_raw),
        ):
            if issue:
                issues.append(issue)
    if issues:
        return None, issues, False
    n_val = num.value if num else None
    d_val = den.value if den else None
    flags: list[str] = []
    counts_verified = False
    if n_val is not None and d_val is not None:
        issue = rules.check_counts(ind, number, n_val, d_val, value_raw)
        if issue:
            return None, [issue], False
        computed = rules.counts_value(ind, n_val, d_val)
        counts_verified = computed is not None
        if number is None:
            if computed is None:
                return None, [Issue("missing_value", "value", value_raw,
                                    f"没有填写数值（单位“{ind.unit}”无法由分子、分母计算）")], False
            decimals = rules.unit_info(ind).get("decimals", 2)
            number = rules.Number(round(computed, int(decimals) + 2), "", None)
            flags.append("computed")
    if number is None:
        which = "分子" if n_val is not None else "分母"
        return None, [Issue("missing_value", "value", value_raw,
                            f"没有填写数值（只填了{which}，无法计算）")], False
    source = "" if is_missing(v.get("source")) else clean_text(v.get("source"))
    note = "" if is_missing(v.get("note")) else clean_text(v.get("note"))
    return _Candidate(raw.row, ind, reg, year, tuple(breakdown), number.value, number, n_val,
                      d_val, provisional, illustrative, low_trust, source, note, value_raw, flags,
                      counts_verified), [], False


@dataclass
class Validation:
    """Result of validating a file's rows."""

    accepted: list[_Candidate]
    issues: list[Issue]
    rows_read: int
    rows_rejected: int
    rows_blank: int


def _row_label(raw: RawRow) -> str:
    return f"工作表「{raw.sheet}」第{raw.row}行" if raw.sheet else f"第{raw.row}行"


def _same_as_stored(c: _Candidate, old: dict | None) -> bool:
    """True when the row would change nothing (an exported file imported back)."""
    if old is None:
        return False
    return (store._same(old["value"], c.value) and store._same(old["numerator"], c.numerator)
            and store._same(old["denominator"], c.denominator)
            and bool(old["provisional"]) == c.provisional
            and bool(old["low_trust"]) == c.low_trust
            and bool(old["illustrative"]) == c.illustrative)


def _nearest_years(series: dict[int, tuple], year: int,
                   years_sorted: list[int] | None = None) -> dict[int, tuple]:
    """The series' other years, at most ``history_window`` of them, nearest ``year`` first
    (ties: the later year). ``years_sorted``: the series' years, sorted (saves sorting)."""
    window = rules.THRESHOLDS["history_window"]
    if len(series) <= window + 1:
        return {y: t for y, t in series.items() if y != year}
    ys = years_sorted if years_sorted is not None else sorted(series)
    i = bisect.bisect_left(ys, year)
    lo, hi = i - 1, i + 1 if i < len(ys) and ys[i] == year else i
    out: dict[int, tuple] = {}
    while len(out) < window and (lo >= 0 or hi < len(ys)):
        if hi >= len(ys) or (lo >= 0 and year - ys[lo] < ys[hi] - year):
            out[ys[lo]] = series[ys[lo]]
            lo -= 1
        else:
            out[ys[hi]] = series[ys[hi]]
            hi += 1
    return out


def validate_rows(rows: Sequence[RawRow], conn: sqlite3.Connection | None = None,
                  file_name: str = "", ctx: Context | None = None) -> Validation:
    """Validate rows against the catalogue, the file itself and the stored history.

    Stages, in order (each adds issues by row; a rejected row leaves the later stages):
    1. field checks of each row (:func:`_validate_row`);
    2. checks within the file (duplicates);
    3. checks against the database: who may write the row (benchmark regions), then the
       series' history and the file's peers (magnitude slips, jumps). A row equal to the
       stored value is kept as unchanged without further questions.
    """
    ctx = ctx or Context()
    if ctx.max_year is None:
        from datetime import date

        ctx = Context(**{**ctx.__dict__, "max_year": date.today().year, "max_basis": "当前年份"})
    candidates: list[_Candidate] = []
    issues_by_pos: dict[int, list[Issue]] = defaultdict(list)
    blank = 0
    read_pos: list[int] = []
    checks = _Checks()
    for pos, raw in enumerate(rows):
        cand, issues, is_blank = _validate_row(raw, ctx, checks)
        if is_blank:
            blank += 1
            continue
        read_pos.append(pos)
        if issues:
            issues_by_pos[pos].extend(issues)
        else:
            cand.pos = pos
            candidates.append(cand)
    # 2. duplicates within the file
    multi = any(r.sheet for r in rows)
    labels = {c.pos: _row_label(rows[c.pos]) for c in candidates} if multi else None
    dups = rules.find_duplicates(
        ((c.pos if multi else c.row, c.key, (c.value, c.numerator, c.denominator))
         for c in candidates), labels)
    if dups:
        by_row = {c.row: c.pos for c in candidates}
        for ident, issue in dups.items():
            issues_by_pos[ident if multi else by_row[ident]].append(issue)
        dup_pos = set(dups) if multi else {by_row[r] for r in dups}
        candidates = [c for c in candidates if c.pos not in dup_pos]
    # 3. against the database: current values, history overlaid with this file's years
    current: dict[tuple, dict] = {}
    history: dict[tuple, dict[int, tuple]] = defaultdict(dict)
    if conn is not None and candidates:
        current = store.current_rows(conn, {c.data_id for c in candidates})
        for key, row in current.items():
            series = (key[0], key[1], *key[3:])
            history[series][key[2]] = (row["value"], row["numerator"], row["denominator"])
    for c in candidates:
        history[c.series][c.year] = (c.value, c.numerator, c.denominator)
    peers: dict[tuple, list[float]] = defaultdict(list)
    for c in candidates:
        if c.region.role == "monitored" and c.region.level != "city":
            peers[(c.data_id, c.year, *c.breakdown)].append(c.value)
    kept: list[_Candidate] = []
    sorted_years: dict[tuple, list[int]] = {}
    for c in candidates:
        unchanged = _same_as_stored(c, current.get(c.key))
        if ctx.member_file and c.region.role != "monitored" and not unchanged:
            issues_by_pos[c.pos].append(rules.region_not_allowed(c.region))
            continue
        if unchanged:
            kept.append(c)
            continue
        series = history[c.series]
        if len(series) > rules.THRESHOLDS["history_window"] + 1 and c.series not in sorted_years:
            sorted_years[c.series] = sorted(series)
        hist = _nearest_years(series, c.year, sorted_years.get(c.series))
        own = [] if c.region.level == "city" else [c.value]
        others = list(peers.get((c.data_id, c.year, *c.breakdown), []))
        for v in own:
            if v in others:
                others.remove(v)
        issue = rules.check_unit_slip_history(c.ind, c.value, [t[0] for t in hist.values()],
                                              c.counts_verified, c.raw_value, peers=others)
        if issue and not ctx.accept_outliers:
            issues_by_pos[c.pos].append(issue)
            continue
        if issue:  # confirmed by the user: kept, flagged and noted
            issue.severity = "warn"
            issue.reason += "（已按 --accept-outliers 确认接收）"
            issues_by_pos[c.pos].append(issue)
            c.flags.append("outlier_accepted")
            c.note = (c.note + "；" if c.note else "") + issue.reason
        warn = rules.check_jump(c.ind, c.year, c.value, hist, c.numerator, c.denominator,
                                c.raw_value)
        if warn:
            issues_by_pos[c.pos].append(warn)
            c.flags.append("jump")
            c.note = (c.note + "；" if c.note else "") + warn.reason
        kept.append(c)
    all_issues = []
    for pos in sorted(issues_by_pos):
        for issue in issues_by_pos[pos]:
            issue.row = rows[pos].row
            issue.sheet = rows[pos].sheet
            issue.file = file_name
            all_issues.append(issue)
    rejected = {pos for pos, issues in issues_by_pos.items()
                if any(i.severity == "reject" for i in issues)}
    assert len(read_pos) == len(kept) + len(rejected), "every read row is decided once"
    return Validation(kept, all_issues, len(read_pos), len(rejected), blank)


# --------------------------------------------------------------------------- storing
def _slow_hook() -> None:
    seconds = os.environ.get(SLOW_ENV)
    if seconds:
        print("WUWEI_TEST: in transaction", file=sys.stderr, flush=True)
        time.sleep(float(seconds))


def store_rows(conn: sqlite3.Connection, rows: Sequence[RawRow], *, file_name: str,
               kind: str = "import", file_path: str = "", sha256: str = "",
               reporting_unit: str = "", illustrative: bool = False,
               default_source: str = "", recorded_at: str | None = None,
               ctx: Context | None = None, extra_issues: Sequence[Issue] = ()) -> ImportResult:
    """Validate rows and store them, with their submission and rejections.

    Runs inside the caller's transaction if there is one (as a savepoint), else in its own.
    ``ctx`` defaults to a member unit's file for ``kind="import"`` and to the built-in
    path (any region, any indicator) otherwise. ``extra_issues``: warnings found while
    reading (formula cells without a saved value), reported with the rows' issues.
    """
    result = ImportResult(file=file_name, path=Path(file_path) if file_path else None,
                          reporting_unit=reporting_unit)
    if ctx is None:
        ctx = Context(reporting_unit=reporting_unit, member_file=kind == "import")
    with store.transaction(conn):
        val = validate_rows(rows, conn, file_name, ctx)
        if extra_issues:
            val.issues = sorted([*val.issues, *extra_issues],
                                key=lambda i: (i.sheet, i.row or 0))
        if val.rows_read == 0:
            result.status = "failed"
            result.rows_blank = val.rows_blank
            result.issues = val.issues
            result.message = (f"文件中没有填写任何数值（{val.rows_blank} 行未填），未导入"
                              if val.rows_blank else "文件中没有数据行，未导入")
            return result
        sub = store.add_submission(conn, kind=kind, file_name=file_name, file_path=file_path,
                                   sha256=sha256, reporting_unit=reporting_unit)
        source = default_source or (f"{reporting_unit}报送（{file_name}）" if reporting_unit
                                    else f"导入文件 {file_name}")
        records = [{
            "indicator": c.data_id, "region_code": c.region.code, "year": c.year,
            "sex": c.breakdown[0], "urban_rural": c.breakdown[1], "age_group": c.breakdown[2],
            "value": c.value, "numerator": c.numerator, "denominator": c.denominator,
            "unit": c.ind.unit, "source": c.source or source,
            "illustrative": illustrative or c.illustrative, "provisional": c.provisional,
            "low_trust": c.low_trust,
            "flags": ";".join(c.flags), "note": c.note, "source_row": c.row,
        } for c in val.accepted]
        written = store.write_observations(conn, sub, records, recorded_at=recorded_at)
        derived = 0
        if kind == "import":  # re-derive parents, check levels and breakdowns (issue #16)
            from ..rollup.on_import import after_import

            # only what this file changes: unchanged rows were checked when stored (an
            # exported file imported back changes nothing and warns of nothing)
            changed = [r for r, o in zip(records, written["outcome"]) if o != "unchanged"]
            derived, more = after_import(conn, changed, file_name)
            val.issues.extend(more)
        store.add_rejections(conn, sub, [
            {"row": i.row, "field": (f"{i.sheet}：" if i.sheet else "") + i.field_zh,
             "raw_value": i.raw_text, "rule": i.rule, "reason": i.reason}
            for i in val.issues if i.severity == "reject"])
        accepted = len(val.accepted)
        store.finish_submission(
            conn, sub, rows_read=val.rows_read, rows_accepted=accepted,
            rows_rejected=val.rows_rejected, rows_blank=val.rows_blank,
            rows_new=written["new"], rows_revised=written["revised"],
            rows_unchanged=written["unchanged"],
            warnings=sum(1 for i in val.issues if i.severity == "warn"))
        if kind == "import":
            _slow_hook()
    result.submission_id = sub
    result.rows_read, result.rows_accepted = val.rows_read, accepted
    result.rows_rejected, result.rows_blank = val.rows_rejected, val.rows_blank
    result.rows_new, result.rows_revised = written["new"], written["revised"]
    result.rows_unchanged = written["unchanged"]
    result.rows_derived = derived
    result.issues = val.issues
    result.status = ("accepted" if val.rows_rejected == 0
                     else "rejected" if accepted == 0 else "partial")
    return result


def _gc_paused(fn):
    """Run ``fn`` with Python's cyclic garbage collector paused (restored afterwards).

    A large file makes hundreds of thousands of long-lived objects (cells, rows,
    candidates, records); the collector walking them again and again took about a tenth
    of a 50,000-row import. Nothing of the import is cyclic garbage worth collecting early.
    """
    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was:
                gc.enable()
    return paused


@_gc_paused
def import_file(path: str | os.PathLike, *, db: Any = None, reporting_unit: str | None = None,
                force: bool = False, write_report: bool = True,
                reporting_year: int | None = None, accept_outliers: bool = False
                ) -> ImportResult:
    """Import one .xlsx / .csv reporting file into the database.

    Args:
        path: the file.
        db: database path, connection or None (default database).
        reporting_unit: the member unit that sent it; default: from the template, else
            guessed from the file name. Its file may only hold its own indicators.
        force: validate and store again even if this exact file was imported before
            (values equal to the stored ones still add nothing).
        write_report: write ``<name>_导入报告.xlsx|csv`` next to the file when there are
            rejections or warnings (a stale report from an earlier import is removed).
            Where it went, or why it could not be written, is in ``report_path`` /
            ``report_error`` and in :meth:`ImportResult.summary_zh`.
        reporting_year: years after it are rejected; default: the template's year, else
            the current year.
        accept_outliers: keep magnitude slips (10×, 100×, 1000× off) as warnings: the
            user has checked them.

    Never raises for a problem with the file or the database (damaged workbook, locked,
    read-only or full database): the result has status ``failed`` and a Chinese message.
    """
    p = Path(path)
    result = ImportResult(file=p.name or str(p), path=p)
    try:
        sha = file_sha256(p)
        data: ReadResult = read_file(p)
    except FileNotFoundError:
        result.message = "文件不存在"
        return result
    except IsADirectoryError:
        result.message = "这是文件夹，不是文件（请给出填报文件）"
        return result
    except PermissionError:
        result.message = "没有读取该文件的权限"
        return result
    except DataError as exc:
        result.message = str(exc)
        return result
    unit = reporting_unit or data.template.get("填报单位") or guess_unit(p.name)
    ctx = Context(reporting_unit=unit, member_file=True, accept_outliers=accept_outliers)
    year_text = data.template.get("年份", "")
    if reporting_year is not None:
        ctx.max_year, ctx.max_basis = int(reporting_year), "填报年份"
    elif year_text.isdigit():
        ctx.max_year, ctx.max_basis = int(year_text), "模板填报年份"
    if len(data.sheets) <= 1:
        for r in data.rows:
            r.sheet = ""
    extra = [Issue("formula_no_value", fld, None,
                   f"单元格 {cell} 是公式，但文件中没有保存计算结果，"
                   "按空白处理；请在 Excel 中打开此文件、保存后重新导入",
                   severity="warn", row=row, file=p.name,
                   sheet=sheet if len(data.sheets) > 1 else "")
             for sheet, row, fld, cell in data.uncached]
    try:
        with store.connect(db) as conn:
            with store.transaction(conn):
                prev = None if force else store.find_submission_by_sha(conn, sha)
                if prev is not None:
                    result.status = "duplicate"
                    result.previous_status = prev["status"]
                    result.submission_id = prev["id"]
                    result.rows_read = prev["rows_read"]
                    result.rows_accepted = prev["rows_accepted"]
                    result.rows_rejected = prev["rows_rejected"]
                    result.message = (f"与 {prev['received_at'][:19]} 导入的提交 #{prev['id']} 内容完全相同"
                                      f"（读取 {prev['rows_read']} 行，接收 {prev['rows_accepted']} 行，"
                                      f"拒收 {prev['rows_rejected']} 行），本次未作任何更改。")
                    return result
                stored = store_rows(conn, data.rows, file_name=p.name, kind="import",
                                    file_path=str(p.resolve()), sha256=sha, reporting_unit=unit,
                                    ctx=ctx, extra_issues=extra)
    except DataError as exc:  # locked, read-only, full disk …: nothing was stored
        result.message = str(exc)
        result.error = exc
        return result
    stored.path = p
    if write_report:
        stored.report_path = write_report_file(stored, p)
    return stored


def import_files(paths: Iterable[str | os.PathLike], *, db: Any = None, **kwargs: Any
                 ) -> list[ImportResult]:
    """Import several files, each in its own transaction; see :func:`import_file`."""
    return [import_file(p, db=db, **kwargs) for p in paths]


def overall_exit_code(results: Sequence[ImportResult]) -> int:
    """0 if every file was wholly accepted, 2 if nothing was accepted anywhere, else 1."""
    codes = [r.exit_code for r in results]
    if not codes:
        return 2
    if all(c == 0 for c in codes):
        return 0
    if all(c == 2 for c in codes):
        return 2
    return 1


# --------------------------------------------------------------------------- report
REPORT_COLUMNS = ["文件", "工作表", "行号", "字段", "原始值", "处理", "原因", "规则"]


def report_rows(result: ImportResult) -> list[list]:
    """The report's rows (REPORT_COLUMNS), as read, not yet escaped."""
    return [[i.file or result.file, i.sheet, i.row, i.field_zh, i.raw_text,
             "拒收" if i.severity == "reject" else "警告（已接收）", i.reason,
             rules.RULES.get(i.rule, i.rule)]
            for i in sorted(result.issues, key=lambda i: (i.sheet, i.row or 0,
                                                          i.severity != "reject"))]


def report_frame(result: ImportResult):
    import pandas as pd

    return pd.DataFrame(report_rows(result), columns=REPORT_COLUMNS)


def report_path_for(path: Path) -> Path:
    ext = ".csv" if path.suffix.lower() in (".csv", ".txt", ".tsv") else ".xlsx"
    return path.with_name(f"{path.stem}{REPORT_SUFFIX}{ext}")


def write_report_file(result: ImportResult, path: Path) -> Path | None:
    """Write the rejections and warnings next to the input (atomically); None if none or
    if it could not be written (then ``result.report_error`` says why, in Chinese).

    Every text cell is made spreadsheet-safe (``safecells``): a clerk's ``=HYPERLINK(…)``
    is shown, never run.
    """
    target = report_path_for(path)
    if not result.issues:
        if target.exists():
            try:
                target.unlink()
            except OSError:
                pass
        return None
    rows = [[neutralise(v) for v in r] for r in report_rows(result)]
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if target.suffix == ".csv":
            import csv

            with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(REPORT_COLUMNS)
                w.writerows(rows)
        else:
            _write_report_xlsx(rows, result, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        result.report_error = f"{target}（{store._os_reason(exc)}）"
        return None
    finally:
        try:
            if tmp.exists():
                tmp.unlink()
        except OSError:
            pass
    return target


def _write_report_xlsx(rows: list[list], result: ImportResult, tmp: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "问题明细"
    ws.append(REPORT_COLUMNS)
    for row in rows:
        ws.append(row)
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    widths = {"A": 28, "B": 10, "C": 6, "D": 10, "E": 14, "F": 14, "G": 80, "H": 22}
    for col, w in widths.items():
        ws.column_dimensions[col].width = w
    for row in ws.iter_rows(min_row=2):
        row[6].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    s = wb.create_sheet("汇总")
    for k, v in [("文件", neutralise(result.file)), ("结果", STATUS_ZH.get(result.status, result.status)),
                 ("提交编号", result.submission_id), ("读取行数", result.rows_read),
                 ("接收行数", result.rows_accepted), ("拒收行数", result.rows_rejected),
                 ("未填数值行数", result.rows_blank), ("警告条数", len(result.warnings)),
                 ("新增", result.rows_new), ("修订", result.rows_revised),
                 ("与库中相同", result.rows_unchanged), ("由下级汇总", result.rows_derived)]:
        s.append([k, v])
    s.column_dimensions["A"].width = 14
    s.column_dimensions["B"].width = 40
    wb.save(tmp)


__all__ = ["Context", "ImportResult", "import_file", "import_files", "store_rows", "validate_rows",
           "overall_exit_code", "report_frame", "write_report_file"]
