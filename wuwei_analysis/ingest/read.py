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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..safecells import unescape

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
    sheet: str = ""


@dataclass
class ReadResult:
    """What a file contained: rows, the header, and facts from the template if any."""

    path: Path
    rows: list[RawRow]
    columns: dict[str, str]            # canonical field -> header text as written
    header_row: int
    sheet: str = ""
    template: dict[str, str] = field(default_factory=dict)
    sheets: list[str] = field(default_factory=list)           # every sheet read (xlsx)
    uncached: list[tuple[str, int, str, str]] = field(default_factory=list)  # formulas without a saved value: (sheet, row, field, cell)
    field_cols: dict[int, str] = field(default_factory=dict)   # column index -> field (first sheet)


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


def column_letter(i: int) -> str:
    """0-based column index -> Excel letter (0 -> A, 26 -> AA)."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _sub_header(fields: dict[int, str], below: list[Any], spans: set[int]) -> dict[int, str]:
    """Fields named by a second header row under a merged one ("填报数值" over 数值|分子|分母).

    Returns the extra / replacing fields, or {} if ``below`` is not a sub-header (it must name
    at least one field for a column that is unnamed or lies under a merged header cell, and
    hold no numbers).
    """
    if any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in below):
        return {}
    extra = _header_fields(below)
    useful = {i: f for i, f in extra.items() if i not in fields or i in spans}
    return useful


_NUMERIC_FIELDS = ("value", "numerator", "denominator", "year")


def _numeric_share(rows: list[tuple[int, list[Any]]], col: int) -> tuple[int, int]:
    """(non-empty cells, cells that read as numbers) of a column in data rows."""
    filled = numeric = 0
    for _, cells in rows:
        if col >= len(cells):
            continue
        v = cells[col]
        if is_missing(v):
            continue
        filled += 1
        try:
            parse_number(v)
            numeric += 1
        except NotANumber:
            text = clean_text(v)
            if text[:4].isdigit():  # 2024年, 4.36‰ … still a number column
                numeric += 1
    return filled, numeric


def _digit_share(rows: list[tuple[int, list[Any]]], col: int) -> int:
    """How many filled cells of a column contain a digit at all."""
    n = 0
    for _, cells in rows:
        if col < len(cells) and not is_missing(cells[col]):
            if any(ch.isdigit() for ch in str(cells[col])):
                n += 1
    return n


def _check_shift(fields: dict[int, str], header_cells: list[Any], data: list[tuple[int, list[Any]]],
                 where: dict, spans: set[int]) -> None:
    """Refuse a header whose number columns hold text while a neighbour holds the numbers.

    That is what a merged or shifted header cell does: every value lands one column off
    and every row would be rejected for the wrong reason. The message names the header.
    """
    sample = data[:2000]
    for col, fld in fields.items():
        if fld not in _NUMERIC_FIELDS:
            continue
        filled, numeric = _numeric_share(sample, col)
        if filled and _digit_share(sample, col) >= 0.5 * filled:
            continue  # numbers typed badly ("约5", "12,5%"): each row gets its own reason
        if col in spans:  # a merged header cell: are its numbers in another of its columns?
            beside = [o for o in spans if o not in fields]
            richer = [o for o in beside if _numeric_share(sample, o)[1] >= max(3, numeric + 1)]
            if richer and numeric < 0.5 * max(1, len(sample)):
                header = clean_text(header_cells[col]) if col < len(header_cells) else FIELD_ZH[fld]
                raise DataError(
                    f"表头「{header}」是合并单元格，但数字填在 "
                    + "、".join(f"{column_letter(o)}列" for o in richer)
                    + f" 而不是 {column_letter(col)}列：表头与数据错位，整个文件未导入；请取消合并，"
                    "让每一列数据正上方都有它自己的表头（如「数值」「分子」「分母」）后重新导入", **where)
        if filled < 3 or numeric >= 0.5 * filled:
            continue
        neighbours = []
        for other in (col - 1, col + 1, col + 2):
            if other < 0 or (other in fields and fields[other] not in _NUMERIC_FIELDS):
                continue
            f2, n2 = _numeric_share(sample, other)
            if f2 >= 3 and n2 >= 0.8 * f2:
                neighbours.append(other)
        if not neighbours and col not in spans:
            continue
        header = clean_text(header_cells[col]) if col < len(header_cells) else FIELD_ZH[fld]
        near = ""
        if neighbours:
            near = "，而相邻的 " + "、".join(f"{column_letter(o)}列" for o in neighbours) + " 是数字"
        merged = "（该表头是合并单元格）" if col in spans else ""
        raise DataError(
            f"表头「{header}」{merged}与数据错位：{column_letter(col)}列 {filled} 个已填单元格中只有 "
            f"{numeric} 个是数字{near}。表头可能因合并单元格或插入/删除列而偏移，整个文件未导入；"
            "请取消表头的合并单元格，让每一列数据正上方都有它自己的表头（如「数值」「分子」「分母」）"
            "后重新导入", **where)


def _rows_to_result(path: Path, rows: list[tuple[int, list[Any]]], sheet: str,
                    template: dict[str, str], merged_header: dict[int, set[int]] | None = None
                    ) -> ReadResult | None:
    """The header and data rows of one table. ``merged_header``: row number -> columns
    covered by a merged cell spanning several columns in that row."""
    found = _find_header(rows)
    if found is None:
        return None
    idx, fields = found
    header_row = rows[idx][0]
    where = {"file": path.name, "sheet": sheet or None, "row": header_row}
    spans = (merged_header or {}).get(header_row, set())
    header_cells = list(rows[idx][1])
    first_data = idx + 1
    if first_data < len(rows):
        extra = _sub_header(fields, rows[first_data][1], spans)
        if extra:
            below = rows[first_data][1]
            fields = {i: f for i, f in fields.items()
                      if i not in extra and f not in extra.values()}
            fields.update(extra)
            for i in extra:
                while len(header_cells) <= i:
                    header_cells.append(None)
                header_cells[i] = below[i]
            first_data += 1
    _check_required(fields, where)
    data = rows[first_data:]
    _check_shift(fields, header_cells, data, where, spans)
    columns = {fld: clean_text(header_cells[i]) for i, fld in fields.items()}
    out: list[RawRow] = []
    items = list(fields.items())
    for rownum, cells in data:
        n = len(cells)
        values = {fld: (cells[i] if i < n else None) for i, fld in items}
        for fld, v in values.items():
            if v.__class__ is str and v[:1] == "'":
                values[fld] = unescape(v)
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
            continue  # a wholly empty line is not a row
        out.append(RawRow(rownum, values, sheet))
    return ReadResult(path, out, columns, header_row, sheet, template, field_cols=dict(fields))


# --------------------------------------------------------------------------- xlsx
#: Sheets of the generated template that hold no data (read on purpose, never as data).
TEMPLATE_INFO_SHEETS = ("指标说明", "填报说明")

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')


def _col_index(letters: bytes | str) -> int:
    n = 0
    for ch in letters if isinstance(letters, str) else letters.decode():
        n = n * 26 + ord(ch) - 64
    return n - 1


@dataclass
class _SheetFacts:
    """What openpyxl's fast reader does not give: merged ranges, formulas without results."""

    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2 (1-based rows, 0-based cols)
    uncached: list[tuple[int, int]] = field(default_factory=list)          # (row, col) of formulas without a saved value


def _scan_sheet_xml(xml: bytes) -> _SheetFacts:
    facts = _SheetFacts()
    if b"mergeCell " in xml:
        for c1, r1, c2, r2 in _MERGE.findall(xml):
            facts.merged.append((int(r1), _col_index(c1), int(r2), _col_index(c2)))
    if b"<f" in xml or b":f>" in xml or b":f " in xml:
        for attrs, body in _CELL.findall(xml):
            if not body or b"<f" not in body and b":f" not in body:
                continue
            has_value = re.search(rb"<(?:\w+:)?v>[^<]", body) or b"<is>" in body
            if not has_value:
                ref = _REF.search(attrs)
                if ref:
                    facts.uncached.append((int(ref.group(2)), _col_index(ref.group(1))))
    return facts


def _sheet_rows(ws, facts: _SheetFacts) -> list[tuple[int, list[Any]]]:
    """Rows of a (read-only) worksheet; a merged cell's value fills every cell it covers."""
    by_row: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for rng in facts.merged:
        for r in range(rng[0], rng[2] + 1):
            by_row[r].append(rng)
    top: dict[tuple[int, int], Any] = {}
    rows = []
    for r_idx, row in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = list(row)
        for r1, c1, r2, c2 in by_row.get(r_idx, ()):
            if r_idx == r1:
                top[(r1, c1)] = cells[c1] if c1 < len(cells) else None
            value = top.get((r1, c1))
            if len(cells) <= c2:
                cells.extend([None] * (c2 + 1 - len(cells)))
            for c in range(c1, c2 + 1):
                cells[c] = value
        rows.append((r_idx, cells))
    while rows and not any(v is not None for v in rows[-1][1]):
        rows.pop()
    return rows


def _looks_like_data(rows: list[tuple[int, list[Any]]]) -> bool:
    """A sheet without a recognisable header that still holds numbers in 3 or more rows."""
    n = 0
    for _, cells in rows:
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in cells):
            n += 1
            if n >= 3:
                return True
    return False


def _open_xlsx(path: Path):
    import zipfile

    from openpyxl import load_workbook

    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError("不是有效的 Excel（.xlsx）文件：文件已损坏，或是改了扩展名的其他格式文件"
                        "（请在 Excel 中打开后另存为 .xlsx）", file=path.name) from None
    except OSError as exc:
        raise DataError(f"无法读取文件：{exc.strerror or exc}", file=path.name) from None
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises anything on a damaged package
        zf.close()
        raise DataError("Excel 文件已损坏，无法读取（内部 XML 有误）；请在 Excel 中打开、修复并另存为 .xlsx 后"
                        "重新导入", file=path.name) from None
    return zf, wb


def _read_xlsx(path: Path) -> ReadResult:
    zf, wb = _open_xlsx(path)
    try:
        return _read_workbook(path, zf, wb)
    except DataError:
        raise
    except Exception:  # damaged XML inside a sheet shows up while reading it
        raise DataError("Excel 文件已损坏，无法读取（内部 XML 有误）；请在 Excel 中打开、修复并另存为 .xlsx 后"
                        "重新导入", file=path.name) from None
    finally:
        wb.close()
        zf.close()


def _read_workbook(path: Path, zf, wb) -> ReadResult:
    template: dict[str, str] = {}
    if META_SHEET in wb.sheetnames:
        for key, value, *_ in wb[META_SHEET].iter_rows(values_only=True):
            if key is not None:
                template[str(key)] = "" if value is None else str(value)
    candidates = [n for n in wb.sheetnames if n != META_SHEET]
    nonempty = False
    results: list[ReadResult] = []
    refused: list[tuple[str, DataError]] = []   # a data table badly made
    unreadable: list[str] = []                  # numbers, but no header we know
    warnings: list[tuple[str, int, int]] = []
    for name in candidates:
        ws = wb[name]
        xml_path = getattr(ws, "_worksheet_path", None)
        facts = _scan_sheet_xml(zf.read(xml_path)) if xml_path else _SheetFacts()
        rows = _sheet_rows(ws, facts)
        if not rows:
            continue
        nonempty = True
        merged_header: dict[int, set[int]] = defaultdict(set)
        for r1, c1, r2, c2 in facts.merged:
            if c2 > c1:
                for r in range(r1, r2 + 1):
                    merged_header[r].update(range(c1, c2 + 1))
        try:
            res = _rows_to_result(path, rows, name, template, merged_header)
        except DataError as exc:
            # a table with a 数值 column is a data sheet, badly made; one without (e.g. a
            # copy of 指标说明) is a reference table
            found = _find_header(rows)
            if found and "value" in found[1].values() or "错位" in exc.message:
                refused.append((name, exc))
            continue
        if res is None:
            if name not in TEMPLATE_INFO_SHEETS and _looks_like_data(rows):
                unreadable.append(name)
            continue
        results.append(res)
        for r, c in facts.uncached:
            if r > res.header_row and c in res.field_cols:
                warnings.append((name, r, res.field_cols[c], f"{column_letter(c)}{r}"))
    shown = "、".join(f"「{n}」" for n in candidates)
    if refused and not results and not unreadable and len(refused) == 1:
        raise refused[0][1]
    if refused or unreadable:
        parts = []
        for name, exc in refused:
            parts.append(f"工作表「{name}」：{exc.message}")
        if unreadable:
            parts.append("工作表 " + "、".join(f"「{n}」" for n in unreadable)
                         + " 中有数字，但找不到可识别的表头（需要「指标编号」或「指标名称」、「地区」、「年份」、"
                         "「数值」列）")
        ok = "、".join(f"「{r.sheet}」" for r in results)
        lead = (f"工作簿中工作表 {ok} 可以读取，但" if results else "")
        raise DataError(f"{lead}以下工作表无法读取，为避免漏掉数据，整个文件未导入：" + "；".join(parts),
                        file=path.name)
    if not results:
        if not nonempty:
            raise DataError("文件是空的，没有任何数据", file=path.name)
        raise DataError(f"找不到填报数据表：工作表 {shown} 中都没有可识别的表头（需要「指标编号」或"
                        f"「指标名称」、「地区」、「年份」、「数值」列；模板的数据表名为「{DATA_SHEET}」）",
                        file=path.name)
    first = results[0]
    rows_all = [r for res in results for r in res.rows]
    out = ReadResult(path, rows_all, first.columns, first.header_row, first.sheet, template,
                     sheets=[r.sheet for r in results], uncached=warnings,
                     field_cols=first.field_cols)
    return out


# --------------------------------------------------------------------------- csv
def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode 文本" (UTF-16, tabs)
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError("无法识别文件编码（应为 UTF-8 或 GBK）", file=name)


def _read_csv(path: Path) -> ReadResult:
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        raise DataError("这是一个 Excel 工作簿，不是 CSV 文本文件：请把扩展名改为 .xlsx 后再导入",
                        file=path.name)
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError("不是文本文件（含有二进制内容），无法作为 CSV 读取；请在 Excel 中另存为"
                        " .xlsx 或 CSV（UTF-8）后再导入", file=path.name)
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
    except csv.Error:
        raise DataError("CSV 格式有误（引号不成对或含有无法识别的字符）；请在 Excel 中打开后另存为"
                        " CSV（UTF-8）再导入", file=path.name, row=start) from None
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
