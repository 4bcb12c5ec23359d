"""Reading reporting files (.xlsx, .csv) into raw rows, and normalising what people type.

A reporting file is a table with a header row. The header may sit below a title (the
template has one), may have merged cells (a merged cell's text counts for every cell it
covers) and may use any of the header names in ``HEADER_ALIASES``; text in brackets is
ignored ("数值（‰）" is "数值"). Required columns: 指标编号 or 指标名称, 地区, 年份, 数值.

Rows are numbered as the user sees them: the Excel row number, or the line number in a CSV
file (header = line 1). Values stay raw here; :func:`parse_number` and the rules in
``rules.py`` interpret them. What people type is normalised first: full-width characters
(１２．５, ％, ，) become ordinary ones (NFKC), thousands separators ("12,345") and spaces
between digits are removed, and "—", "-", "/", "无", "NA" and the like mean "no value".
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import DataError

#: Name of the data sheet in the template, and of the hidden sheet with template facts.
DATA_SHEET = "填报数据"
META_SHEET = "_模板信息"

#: Canonical field -> the Chinese header the template uses (and messages name).
FIELD_ZH = {
    "indicator_id": "指标编号",
    "indicator_name": "指标名称",
    "unit": "单位",
    "region": "地区",
    "region_code": "地区代码",
    "year": "年份",
    "sex": "性别",
    "urban_rural": "城乡",
    "age_group": "年龄组",
    "value": "数值",
    "numerator": "分子",
    "denominator": "分母",
    "provisional": "是否初步数",
    "illustrative": "示意数据",
    "low_trust": "低可信度",
    "derived": "下级汇总",
    "source": "数据来源",
    "note": "备注",
}

#: Header text (normalised: no spaces, no bracketed part, lower case) -> canonical field.
HEADER_ALIASES = {
    "指标编号": "indicator_id", "指标代码": "indicator_id", "指标id": "indicator_id",
    "编号": "indicator_id", "id": "indicator_id", "indicator": "indicator_id",
    "indicator_id": "indicator_id",
    "指标名称": "indicator_name", "指标": "indicator_name", "name_zh": "indicator_name",
    "单位": "unit", "计量单位": "unit", "unit": "unit",
    "地区": "region", "地区名称": "region", "区县": "region", "县区": "region",
    "行政区": "region", "region": "region",
    "地区代码": "region_code", "区划代码": "region_code", "行政区划代码": "region_code",
    "region_code": "region_code",
    "年份": "year", "年度": "year", "统计年度": "year", "year": "year",
    "性别": "sex", "sex": "sex",
    "城乡": "urban_rural", "urban_rural": "urban_rural",
    "年龄组": "age_group", "年龄段": "age_group", "age_group": "age_group",
    "数值": "value", "指标值": "value", "值": "value", "数据": "value", "value": "value",
    "分子": "numerator", "numerator": "numerator",
    "分母": "denominator", "denominator": "denominator",
    "是否初步数": "provisional", "初步数": "provisional", "provisional": "provisional",
    "示意数据": "illustrative", "illustrative": "illustrative",
    "低可信度": "low_trust", "low_trust": "low_trust",
    "下级汇总": "derived", "derived": "derived",
    "数据来源": "source", "来源": "source", "source": "source",
    "备注": "note", "note": "note",
}

REQUIRED_FIELDS = (("indicator_id", "indicator_name"), ("region", "region_code"), ("year",),
                   ("value",))

#: Typed text that means "no value".
MISSING_MARKERS = frozenset({
    "", "-", "--", "---", "—", "——", "–", "−", "/", "\\", "...", "…", "无", "空", "缺",
    "暂无", "不详", "未统计", "na", "n/a", "#n/a", "null", "none", "nan", "x",
})

#: Unit marks people type after a number, normalised.
_SUFFIXES = (
    ("/100000", "1/10万"), ("/10万", "1/10万"), ("/十万", "1/10万"), ("/万", "1/万"),
    ("‱", "‱"), ("‰", "‰"), ("%", "%"),
)

_PLAIN = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")


@dataclass
class RawRow:
    """One data row of a file: the row number the user sees and its raw cells by field."""

    row: int
    values: dict[str, Any]


@dataclass
class ReadResult:
    """What a file contained: rows, the header, and facts from the template if any."""

    path: Path
    rows: list[RawRow]
    columns: dict[str, str]            # canonical field -> header text as written
    header_row: int
    sheet: str = ""
    template: dict[str, str] = field(default_factory=dict)


class NotANumber(ValueError):
    """Raised by :func:`parse_number`; the message is the Chinese reason."""


def clean_text(x: Any) -> str:
    """Text as compared: NFKC (full-width to ordinary), trimmed, inner spaces collapsed."""
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    s = str(x)
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s)
    return " ".join(s.split())


def is_missing(x: Any) -> bool:
    """True for empty cells and typed "no value" marks such as "—", "-", "无", "NA"."""
    if x is None:
        return True
    if isinstance(x, float) and x != x:
        return True
    if isinstance(x, str):
        return clean_text(x).lower() in MISSING_MARKERS
    return False


@dataclass(frozen=True)
class Number:
    """A parsed number: its value, the unit mark typed after it, and typed decimals."""

    value: float
    suffix: str = ""
    decimals: int | None = None


def parse_number(raw: Any) -> Number | None:
    """Parse a typed number; None if the cell means "no value".

    Accepts numbers, full-width digits, thousands separators ("12,345", "1 234"), a leading
    "+", and a unit mark after the number (%, ‰, ‱, /10万), which is returned in
    ``suffix`` for the unit checks. Raises NotANumber with a Chinese reason otherwise
    (e.g. "12,5%": a comma that is not a thousands separator).
    """
    if is_missing(raw):
        return None
    if isinstance(raw, bool):
        raise NotANumber(f"‘{raw}’ 不是数字")
    if isinstance(raw, (int, float)):
        value = float(raw)
        text = repr(value)
        decimals = None
        if "e" not in text and "." in text:
            frac = text.split(".")[1]
            decimals = 0 if frac == "0" else len(frac)
        return Number(value, "", decimals)
    if isinstance(raw, (datetime, date)):
        raise NotANumber(f"‘{raw}’ 是日期，不是数字（单元格格式可能被设成了日期）")
    original = str(raw).strip()
    s = clean_text(raw).replace("−", "-")
    s = re.sub(r"(?<=\d)\s+(?=\d)", "", s).replace(" ", "")
    suffix = ""
    for mark, unit in _SUFFIXES:
        if s.endswith(mark):
            s, suffix = s[: -len(mark)], unit
            break
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if not _PLAIN.match(s):
        if "," in s:
            raise NotANumber(f"‘{original}’ 不是数字（逗号只能用作千位分隔符，小数点请用“.”）")
        raise NotANumber(f"‘{original}’ 不是数字")
    value = float(s)
    decimals = len(s.split(".")[1]) if "." in s and "e" not in s.lower() else 0
    return Number(value, suffix, decimals)


def normalise_header(text: Any) -> str:
    s = clean_text(text)
    s = re.sub(r"[（(【\[].*?[）)】\]]", "", s)   # 数值（‰） -> 数值
    s = s.replace("*", "").replace("：", "").replace(":", "").replace(" ", "")
    return s.lower()


def _header_fields(cells: list[Any]) -> dict[int, str]:
    """Column index -> canonical field for a candidate header row (first occurrence wins)."""
    out: dict[int, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        fld = HEADER_ALIASES.get(normalise_header(cell)) if cell is not None else None
        if fld and fld not in seen:
            out[i] = fld
            seen.add(fld)
    return out


def _find_header(rows: list[tuple[int, list[Any]]], scan: int = 25
                 ) -> tuple[int, dict[int, str]] | None:
    best = None
    for idx, (_, cells) in enumerate(rows[:scan]):
        fields = _header_fields(cells)
        names = set(fields.values())
        if len(names) >= 3 and ({"value", "indicator_id", "indicator_name"} & names):
            score = len(names)
            if best is None or score > best[2]:
                best = (idx, fields, score)
            if {"value", "year"} <= names:
                break
    return None if best is None else (best[0], best[1])


def _check_required(fields: dict[int, str], where: dict) -> None:
    names = set(fields.values())
    for options in REQUIRED_FIELDS:
        if not names & set(options):
            label = "或".join(f"「{FIELD_ZH[o]}」" for o in options)
            raise DataError(f"表头缺少必需的列 {label}（必需：指标编号或指标名称、地区、年份、数值）",
                            **where)


def _rows_to_result(path: Path, rows: list[tuple[int, list[Any]]], sheet: str,
                    template: dict[str, str]) -> ReadResult | None:
    found = _find_header(rows)
    if found is None:
        return None
    idx, fields = found
    header_row = rows[idx][0]
    _check_required(fields, {"file": path.name, "sheet": sheet or None, "row": header_row})
    header_cells = rows[idx][1]
    columns = {fld: clean_text(header_cells[i]) for i, fld in fields.items()}
    out: list[RawRow] = []
    for rownum, cells in rows[idx + 1:]:
        values = {fld: (cells[i] if i < len(cells) else None) for i, fld in fields.items()}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
            continue  # a wholly empty line is not a row
        out.append(RawRow(rownum, values))
    return ReadResult(path, out, columns, header_row, sheet, template)


# --------------------------------------------------------------------------- xlsx
def _sheet_rows(ws) -> list[tuple[int, list[Any]]]:
    merged: dict[tuple[int, int], Any] = {}
    for rng in ws.merged_cells.ranges:
        top = ws.cell(rng.min_row, rng.min_col).value
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                merged[(r, c)] = top
    rows = []
    for r_idx, row in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = list(row)
        for c_idx in range(len(cells)):
            if (r_idx, c_idx + 1) in merged:
                cells[c_idx] = merged[(r_idx, c_idx + 1)]
        rows.append((r_idx, cells))
    return rows


def _read_xlsx(path: Path) -> ReadResult:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataError(f"无法作为 Excel（.xlsx）文件读取：{exc}", file=path.name) from None
    template: dict[str, str] = {}
    if META_SHEET in wb.sheetnames:
        for key, value, *_ in wb[META_SHEET].iter_rows(values_only=True):
            if key is not None:
                template[str(key)] = "" if value is None else str(value)
    candidates = [n for n in wb.sheetnames if n != META_SHEET]
    if DATA_SHEET in candidates:
        candidates.remove(DATA_SHEET)
        candidates.insert(0, DATA_SHEET)
    nonempty = False
    data_like_error: DataError | None = None
    for name in candidates:
        ws = wb[name]
        rows = _sheet_rows(ws)
        if any(any(v is not None for v in cells) for _, cells in rows):
            nonempty = True
        try:
            res = _rows_to_result(path, rows, name, template)
        except DataError as exc:
            # a table with a 数值 column but a required column missing is the data sheet,
            # badly made; a table without 数值 (e.g. 指标说明) is just another sheet
            found = _find_header(rows)
            if found and "value" in found[1].values() and data_like_error is None:
                data_like_error = exc
            continue
        if res is not None:
            return res
    if data_like_error is not None:
        raise data_like_error
    if not nonempty:
        raise DataError("文件是空的，没有任何数据", file=path.name)
    shown = "、".join(f"「{n}」" for n in candidates)
    raise DataError(f"找不到填报数据表：工作表 {shown} 中都没有可识别的表头（需要「指标编号」或"
                    f"「指标名称」、「地区」、「年份」、「数值」列；模板的数据表名为「{DATA_SHEET}」）",
                    file=path.name)


# --------------------------------------------------------------------------- csv
def _decode(data: bytes, name: str) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError("无法识别文件编码（应为 UTF-8 或 GBK）", file=name)


def _read_csv(path: Path) -> ReadResult:
    data = path.read_bytes()
    text = _decode(data, path.name)
    if not text.strip():
        raise DataError("文件是空的，没有任何数据", file=path.name)
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = "\t" if "\t" in first else ("," if "," in first else (";" if ";" in first else ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[Any]]] = []
    start = 1
    try:
        for rec in reader:
            rows.append((start, [c if c != "" else None for c in rec]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"CSV 格式有误：{exc}", file=path.name, row=start) from None
    res = _rows_to_result(path, rows, "", {})
    if res is None:
        raise DataError("找不到表头：需要「指标编号」或「指标名称」、「地区」、「年份」、「数值」列",
                        file=path.name)
    return res


def read_file(path: str | Path) -> ReadResult:
    """Read a reporting file (.xlsx or .csv) into raw rows.

    Raises DataError (naming the file) when the file cannot be used at all: missing,
    empty, not a workbook, no recognisable header, a required column missing.
    """
    p = Path(path)
    if not p.exists():
        raise DataError("文件不存在", file=str(p))
    suffix = p.suffix.lower()
    if suffix == ".xlsx" or suffix == ".xlsm":
        return _read_xlsx(p)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(p)
    if suffix == ".xls":
        raise DataError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再导入", file=p.name)
    raise DataError(f"不支持的文件类型 {p.suffix or '（无扩展名）'}，请使用 .xlsx 或 .csv",
                    file=p.name)
