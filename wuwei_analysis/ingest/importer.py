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
2 nothing accepted or the file could not be used.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .. import store
from .. import indicator_catalog as catalog
from ..errors import DataError
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
            lines.append(f"  报告：{self.report_path}")
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


def _validate_row(raw: RawRow) -> tuple[_Candidate | None, list[Issue], bool]:
    """Field checks of one row. Returns (candidate or None, issues, blank?)."""
    v = raw.values
    value_raw, num_raw, den_raw = v.get("value"), v.get("numerator"), v.get("denominator")
    if is_missing(value_raw) and is_missing(num_raw) and is_missing(den_raw):
        return None, [], True
    if rules.parse_flag(v.get("derived"), "derived")[0]:
        return None, [], True   # an exported value derived from lower levels: not a report
    issues: list[Issue] = []
    ind, issue = rules.resolve_indicator(v.get("indicator_id"), v.get("indicator_name"))
    if issue:
        issues.append(issue)
    reg, issue = rules.resolve_region(v.get("region"), v.get("region_code"))
    if issue:
        issues.append(issue)
    year, issue = rules.parse_year(v.get("year"))
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
    provisional, issue = rules.parse_flag(v.get("provisional"), "provisional")
    if issue:
        issues.append(issue)
    illustrative, issue = rules.parse_flag(v.get("illustrative"), "illustrative")
    if issue:
        issues.append(issue)
    low_trust, issue = rules.parse_flag(v.get("low_trust"), "low_trust")
    if issue:
        issues.append(issue)
    breakdown = ["", "", ""]
    if ind is not None:
        for i, dim in enumerate(("sex", "urban_rural", "age_group")):
            breakdown[i], issue = rules.resolve_breakdown(ind, dim, v.get(dim))
            if issue:
                issues.append(issue)
        for issue in (
            rules.check_unit_column(ind, v.get("unit")),
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


def validate_rows(rows: Sequence[RawRow], conn: sqlite3.Connection | None = None,
                  file_name: str = "") -> Validation:
    """Validate rows against the catalogue, the file itself and the stored history."""
    candidates: list[_Candidate] = []
    issues_by_row: dict[int, list[Issue]] = defaultdict(list)
    blank = 0
    read_rows: list[int] = []
    for raw in rows:
        cand, issues, is_blank = _validate_row(raw)
        if is_blank:
            blank += 1
            continue
        read_rows.append(raw.row)
        if issues:
            issues_by_row[raw.row].extend(issues)
        else:
            candidates.append(cand)
    # duplicates within the file
    dups = rules.find_duplicates(
        (c.row, c.key, (c.value, c.numerator, c.denominator)) for c in candidates)
    for row, issue in dups.items():
        issues_by_row[row].append(issue)
    candidates = [c for c in candidates if c.row not in dups]
    # history: stored current values, overlaid with this file's other years
    history: dict[tuple, dict[int, tuple]] = defaultdict(dict)
    if conn is not None and candidates:
        current = store.current_rows(conn, {c.data_id for c in candidates})
        for key, row in current.items():
            series = (key[0], key[1], *key[3:])
            history[series][key[2]] = (row["value"], row["numerator"], row["denominator"])
    for c in candidates:
        history[c.series][c.year] = (c.value, c.numerator, c.denominator)
    kept: list[_Candidate] = []
    for c in candidates:
        hist = {y: t for y, t in history[c.series].items() if y != c.year}
        issue = rules.check_unit_slip_history(c.ind, c.value, [t[0] for t in hist.values()],
                                              c.counts_verified, c.raw_value)
        if issue:
            issues_by_row[c.row].append(issue)
            continue
        warn = rules.check_jump(c.ind, c.year, c.value, hist, c.numerator, c.denominator,
                                c.raw_value)
        if warn:
            issues_by_row[c.row].append(warn)
            c.flags.append("jump")
            c.note = (c.note + "；" if c.note else "") + warn.reason
        kept.append(c)
    all_issues = []
    for row in sorted(issues_by_row):
        for issue in issues_by_row[row]:
            issue.row = row
            issue.file = file_name
            all_issues.append(issue)
    rejected_rows = {i.row for i in all_issues if i.severity == "reject"}
    assert len(read_rows) == len(kept) + len(rejected_rows), "every read row is decided once"
    return Validation(kept, all_issues, len(read_rows), len(rejected_rows), blank)


# --------------------------------------------------------------------------- storing
def _slow_hook() -> None:
    seconds = os.environ.get(SLOW_ENV)
    if seconds:
        print("WUWEI_TEST: in transaction", file=sys.stderr, flush=True)
        time.sleep(float(seconds))


def store_rows(conn: sqlite3.Connection, rows: Sequence[RawRow], *, file_name: str,
               kind: str = "import", file_path: str = "", sha256: str = "",
               reporting_unit: str = "", illustrative: bool = False,
               default_source: str = "", recorded_at: str | None = None) -> ImportResult:
    """Validate rows and store them, with their submission and rejections.

    Runs inside the caller's transaction if there is one (as a savepoint), else in its own.
    """
    result = ImportResult(file=file_name, path=Path(file_path) if file_path else None,
                          reporting_unit=reporting_unit)
    with store.transaction(conn):
        val = validate_rows(rows, conn, file_name)
        if val.rows_read == 0:
            result.status = "failed"
            result.rows_blank = val.rows_blank
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

            derived, more = after_import(conn, records, file_name)
            val.issues.extend(more)
        store.add_rejections(conn, sub, [
            {"row": i.row, "field": i.field_zh, "raw_value": i.raw_text, "rule": i.rule,
             "reason": i.reason} for i in val.issues if i.severity == "reject"])
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


def import_file(path: str | os.PathLike, *, db: Any = None, reporting_unit: str | None = None,
                force: bool = False, write_report: bool = True) -> ImportResult:
    """Import one .xlsx / .csv reporting file into the database.

    Args:
        path: the file.
        db: database path, connection or None (default database).
        reporting_unit: the member unit that sent it; default: from the template, else
            guessed from the file name.
        force: validate and store again even if this exact file was imported before
            (values equal to the stored ones still add nothing).
        write_report: write ``<name>_导入报告.xlsx|csv`` next to the file when there are
            rejections or warnings (a stale report from an earlier import is removed).
    """
    p = Path(path)
    result = ImportResult(file=p.name, path=p)
    try:
        sha = file_sha256(p)
        data: ReadResult = read_file(p)
    except FileNotFoundError:
        result.message = "文件不存在"
        return result
    except DataError as exc:
        result.message = str(exc)
        return result
    unit = reporting_unit or data.template.get("填报单位") or guess_unit(p.name)
    with store.connect(db) as conn:
        with store.transaction(conn):
            prev = None if force else store.find_submission_by_sha(conn, sha)
            if prev is not None:
                result.status = "duplicate"
                result.previous_status = prev["status"]
                result.submission_id = prev["id"]
                result.rows_read, result.rows_accepted = prev["rows_read"], prev["rows_accepted"]
                result.rows_rejected = prev["rows_rejected"]
                result.message = (f"与 {prev['received_at'][:19]} 导入的提交 #{prev['id']} 内容完全相同"
                                  f"（读取 {prev['rows_read']} 行，接收 {prev['rows_accepted']} 行，"
                                  f"拒收 {prev['rows_rejected']} 行），本次未作任何更改。")
                return result
            stored = store_rows(conn, data.rows, file_name=p.name, kind="import",
                                file_path=str(p.resolve()), sha256=sha, reporting_unit=unit)
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
REPORT_COLUMNS = ["文件", "行号", "字段", "原始值", "处理", "原因", "规则"]


def report_frame(result: ImportResult):
    import pandas as pd

    rows = [{
        "文件": i.file or result.file, "行号": i.row, "字段": i.field_zh, "原始值": i.raw_text,
        "处理": "拒收" if i.severity == "reject" else "警告（已接收）", "原因": i.reason,
        "规则": rules.RULES.get(i.rule, i.rule),
    } for i in sorted(result.issues, key=lambda i: (i.row or 0, i.severity != "reject"))]
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def report_path_for(path: Path) -> Path:
    ext = ".csv" if path.suffix.lower() in (".csv", ".txt", ".tsv") else ".xlsx"
    return path.with_name(f"{path.stem}{REPORT_SUFFIX}{ext}")


def write_report_file(result: ImportResult, path: Path) -> Path | None:
    """Write the rejections and warnings next to the input (atomically); None if none."""
    target = report_path_for(path)
    if not result.issues:
        if target.exists():
            try:
                target.unlink()
            except OSError:
                pass
        return None
    df = report_frame(result)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if target.suffix == ".csv":
            df.to_csv(tmp, index=False, encoding="utf-8-sig")
        else:
            _write_report_xlsx(df, result, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        result.message = f"无法写入导入报告：{exc}"
        return None
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _write_report_xlsx(df, result: ImportResult, tmp: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "问题明细"
    ws.append(REPORT_COLUMNS)
    for row in df.itertuples(index=False):
        ws.append(list(row))
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    widths = {"A": 28, "B": 6, "C": 10, "D": 14, "E": 14, "F": 80, "G": 22}
    for col, w in widths.items():
        ws.column_dimensions[col].width = w
    for row in ws.iter_rows(min_row=2):
        row[5].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    s = wb.create_sheet("汇总")
    for k, v in [("文件", result.file), ("结果", STATUS_ZH.get(result.status, result.status)),
                 ("提交编号", result.submission_id), ("读取行数", result.rows_read),
                 ("接收行数", result.rows_accepted), ("拒收行数", result.rows_rejected),
                 ("未填数值行数", result.rows_blank), ("警告条数", len(result.warnings)),
                 ("新增", result.rows_new), ("修订", result.rows_revised),
                 ("与库中相同", result.rows_unchanged), ("由下级汇总", result.rows_derived)]:
        s.append([k, v])
    s.column_dimensions["A"].width = 14
    s.column_dimensions["B"].width = 40
    wb.save(tmp)


__all__ = ["ImportResult", "import_file", "import_files", "store_rows", "validate_rows",
           "overall_exit_code", "report_frame", "write_report_file"]
