"""The member-unit reporting template (Excel, openpyxl).

``write_template(path, unit="卫健委", year=2024, region="古浪县")`` writes a workbook with:

* 「填报数据」: a title row, then the header (row 2) and one row per indicator × region ×
  breakdown group of that unit's monitorable indicators. The key columns (指标编号, 指标名称,
  单位, 性别, 城乡, 年龄组, 分子名称, 分母名称) are locked; 地区 has a dropdown of the
  monitored regions, 年份 accepts 2000 to the template's year, 是否初步数 has 是/否. The sheet is protected
  without a password (inserting rows and resizing columns stay allowed); the importer
  validates everything anyway.
* 「指标说明」: each indicator's unit, definition, numerator and denominator, target and the
  plan clause it comes from.
* 「填报说明」: how to fill it in.
* 「_模板信息」 (hidden): template version, reporting unit, year, region — read back on
  import.
"""
from __future__ import annotations

import difflib
import os
import uuid
from datetime import datetime
from pathlib import Path

from .. import indicator_catalog as catalog
from .. import geography as regions
from ..errors import DataError
from .read import DATA_SHEET, META_SHEET
from ..safecells import neutralise
from .rules import YEAR_MAX, value_range

#: Earliest year the template's 年份 cells accept (back-reporting); the latest is the
#: template's own year (the importer rejects later years too).
TEMPLATE_YEAR_MIN = 2000

TEMPLATE_VERSION = "1"

#: Columns of the data sheet: (header, field, width, locked).
COLUMNS = [
    ("指标编号", "indicator_id", 30, True),
    ("指标名称", "indicator_name", 36, True),
    ("单位", "unit", 10, True),
    ("地区", "region", 16, False),
    ("年份", "year", 8, False),
    ("性别", "sex", 7, True),
    ("城乡", "urban_rural", 7, True),
    ("年龄组", "age_group", 10, True),
    ("数值", "value", 12, False),
    ("分子名称", None, 16, True),
    ("分子", "numerator", 12, False),
    ("分母名称", None, 16, True),
    ("分母", "denominator", 12, False),
    ("是否初步数", "provisional", 10, False),
    ("数据来源", "source", 24, False),
    ("备注", "note", 30, False),
]
HEADER_ROW = 2
FIRST_DATA_ROW = 3
#: Extra empty rows (unlocked) after the pre-filled ones, for rows a unit wants to add.
SPARE_ROWS = 20

INSTRUCTIONS = [
    "填报说明",
    "1. 只在白色单元格中填写：数值（必填）、分子和分母（有计数的指标请填写）、是否初步数、数据来源、备注；灰色列为指标信息，已锁定。",
    "2. 数值只填数字，按“单位”列的单位填写，不要带单位符号（例如婴儿死亡率 4.36‰ 填 4.36，不要填 4.36% 或 0.436%）。",
    "3. 有分子、分母的指标（如婴儿死亡数/活产数），请同时填写分子和分母，系统会核对三者是否一致。",
    "4. 没有数据的行请留空或填“—”，不要填 0；0 表示确实为零（如当年无孕产妇死亡）。",
    "5. “地区”请从下拉列表中选择；“年份”默认为本次填报年份，补报以前年份时可修改。",
    "6. 性别、城乡、年龄组为空的行是合计；分组行请分别填写。",
    "7. 需要补充行时，可在表格末尾的空白行填写（指标编号须与“指标说明”一致）。",
    "8. 导入后系统会在同一文件夹生成“…_导入报告.xlsx”，列出每一行未被接收的原因（第几行、哪个字段）。",
    "9. 已入库的数据不会被覆盖：再次报送不同数值时，旧值作为历史版本保留。",
]


def unit_indicators(unit: str) -> list[catalog.Indicator]:
    """The monitorable indicators a member unit reports (catalogue order; entries with
    ``same_as`` are left out, their data being reported under the entry they name)."""
    units = catalog.member_units()
    if unit not in units:
        close = difflib.get_close_matches(unit, units, n=3, cutoff=0.3)
        hint = f"，是否是：{'、'.join(close)}" if close else ""
        raise DataError(f"未知成员单位‘{unit}’{hint}（可用：{'、'.join(units)}）")
    # an entry with ``same_as`` is reported once, under the entry it names
    return [i for i in catalog.indicators()
            if i.reporter == unit and i.monitorable and not getattr(i, "same_as", None)]


def _regions_for(ind: catalog.Indicator, region: regions.Region | None) -> list[regions.Region]:
    if region is not None:
        return [region]
    out = []
    for r in regions.monitored():
        level = "city" if r.level == "city" else "county"
        if level in ind.levels:
            out.append(r)
    return out


def _groups(ind: catalog.Indicator) -> list[tuple[str, str, str]]:
    meta = catalog._meta()["breakdowns"]
    groups = [("", "", "")]
    for dim in ind.breakdowns:
        values = ind.age_groups if dim == "age_group" else (meta[dim].get("values") or [])
        for v in values:
            g = ["", "", ""]
            g[("sex", "urban_rural", "age_group").index(dim)] = v
            groups.append(tuple(g))
    return groups


def template_rows(unit: str, year: int, region: str | None = None) -> list[dict]:
    """The pre-filled rows of a unit's template (one dict per row, by field)."""
    reg = regions.region(region) if region else None
    if reg is not None and reg.role != "monitored":
        raise DataError(f"模板只用于武威市及所辖县区，‘{region}’ 是对比地区")
    inds = unit_indicators(unit)
    rows = []
    for ind in inds:
        counts = ind.counts or {}
        for r in _regions_for(ind, reg):
            for sex, ur, ag in _groups(ind):
                rows.append({
                    "indicator_id": ind.id, "indicator_name": ind.name_zh, "unit": ind.unit,
                    "region": r.name, "year": int(year), "sex": sex, "urban_rural": ur,
                    "age_group": ag, "numerator_name": counts.get("numerator", ""),
                    "denominator_name": counts.get("denominator", ""), "_ind": ind,
                })
    return rows


def default_file_name(unit: str, year: int, region: str | None = None) -> str:
    where = regions.region(region).name if region else "武威市"
    return f"{where}{unit}{year}年妇女儿童规划监测数据填报表.xlsx"


def write_template(path: str | os.PathLike | None, unit: str, year: int,
                   region: str | None = None) -> Path:
    """Write a unit's reporting workbook to ``path`` (atomically) and return the path.

    Raises DataError for an unknown unit or region, a year outside 2000–2035, or a unit
    with no monitorable indicators.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    year = int(year)
    if not TEMPLATE_YEAR_MIN <= year <= YEAR_MAX:
        raise DataError(f"年份 {year} 超出范围（{TEMPLATE_YEAR_MIN}—{YEAR_MAX}）")
    rows = template_rows(unit, year, region)
    if not rows:
        raise DataError(f"成员单位「{unit}」在指标目录中没有需要按数值填报的指标")
    p = Path(path) if path else Path(default_file_name(unit, year, region))
    if p.suffix.lower() != ".xlsx":
        raise DataError("模板文件须以 .xlsx 结尾", file=str(p))

    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    where = regions.region(region).name if region else "武威市及各县区"
    title = f"武威市妇女儿童发展规划（2021—2030年）监测数据填报表 — {where} {unit} {year}年"
    ws.cell(1, 1, title).font = Font(bold=True, size=13)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    ws.row_dimensions[1].height = 24

    thin = Side(style="thin", color="BFBFBF")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    locked_fill = PatternFill("solid", fgColor="F2F2F2")
    for c, (header, fld, width, locked) in enumerate(COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, c, header)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.cell(HEADER_ROW, 9).comment = Comment("按“单位”列的单位填写数字，不带单位符号。", "wuwei")
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 4)

    col = {fld or header: i for i, (header, fld, _, _) in enumerate(COLUMNS, start=1)}
    last = FIRST_DATA_ROW + len(rows) + SPARE_ROWS - 1
    for r_idx, row in enumerate(rows, start=FIRST_DATA_ROW):
        values = {
            "indicator_id": row["indicator_id"], "indicator_name": row["indicator_name"],
            "unit": row["unit"], "region": row["region"], "year": row["year"],
            "sex": row["sex"] or None, "urban_rural": row["urban_rural"] or None,
            "age_group": row["age_group"] or None,
            "分子名称": row["numerator_name"] or None, "分母名称": row["denominator_name"] or None,
        }
        for key, v in values.items():
            ws.cell(r_idx, col[key], neutralise(v))
    for r_idx in range(FIRST_DATA_ROW, last + 1):
        prefilled = r_idx < FIRST_DATA_ROW + len(rows)
        for c, (header, fld, _, locked) in enumerate(COLUMNS, start=1):
            cell = ws.cell(r_idx, c)
            cell.border = border
            is_locked = locked and prefilled
            cell.protection = Protection(locked=is_locked)
            if is_locked:
                cell.fill = locked_fill
        if prefilled:
            counts = rows[r_idx - FIRST_DATA_ROW]["numerator_name"]
            if not counts:  # no counts for this indicator: grey the count cells out
                for key in ("numerator", "denominator"):
                    ws.cell(r_idx, col[key]).fill = locked_fill

    region_names = [r.name for r in regions.monitored()]
    dv_region = DataValidation(type="list", formula1='"' + ",".join(region_names) + '"',
                               allow_blank=True, showErrorMessage=True,
                               errorTitle="地区", error="请从下拉列表中选择地区")
    dv_year = DataValidation(type="whole", operator="between", formula1=str(TEMPLATE_YEAR_MIN),
                             formula2=str(year), allow_blank=True, showErrorMessage=True,
                             errorTitle="年份",
                             error=f"年份应为 {TEMPLATE_YEAR_MIN}—{year} 的整数（不能填报未来年份）")
    dv_flag = DataValidation(type="list", formula1='"是,否"', allow_blank=True,
                             showErrorMessage=True, errorTitle="是否初步数", error="请选择“是”或“否”")
    dv_count = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                              allow_blank=True, showErrorMessage=True, errorTitle="分子/分母",
                              error="请填写不小于 0 的数字")
    for dv in (dv_region, dv_year, dv_flag, dv_count):
        ws.add_data_validation(dv)
    letter = {k: get_column_letter(v) for k, v in col.items()}
    dv_region.add(f"{letter['region']}{FIRST_DATA_ROW}:{letter['region']}{last}")
    dv_year.add(f"{letter['year']}{FIRST_DATA_ROW}:{letter['year']}{last}")
    dv_flag.add(f"{letter['provisional']}{FIRST_DATA_ROW}:{letter['provisional']}{last}")
    dv_count.add(f"{letter['numerator']}{FIRST_DATA_ROW}:{letter['numerator']}{last}")
    dv_count.add(f"{letter['denominator']}{FIRST_DATA_ROW}:{letter['denominator']}{last}")
    # value: the unit's possible range, row by row (indicators differ in units)
    ranges: dict[tuple, list[int]] = {}
    for r_idx, row in enumerate(rows, start=FIRST_DATA_ROW):
        lo, hi = value_range(row["_ind"])
        if lo is not None and hi is not None:
            ranges.setdefault((lo, hi, row["unit"]), []).append(r_idx)
    for (lo, hi, unit_sym), r_list in ranges.items():
        dv = DataValidation(type="decimal", operator="between", formula1=str(lo),
                            formula2=str(hi), allow_blank=True, showErrorMessage=True,
                            errorTitle="数值", error=f"数值应在 {lo:g}—{hi:g}（单位 {unit_sym}）之间；"
                            "只填数字，不带单位")
        ws.add_data_validation(dv)
        for r_idx in r_list:
            dv.add(f"{letter['value']}{r_idx}")
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.insertRows = False
    ws.protection.autoFilter = False
    ws.protection.selectLockedCells = False
    ws.protection.selectUnlockedCells = False

    # ---- 指标说明
    info = wb.create_sheet("指标说明")
    headers = ["指标编号", "指标名称", "单位", "单位说明", "定义", "分子", "分母", "目标",
               "目标年份", "分组", "填报层级", "规划", "规划条款", "好的方向"]
    info.append(headers)
    units = catalog.units()
    meta = catalog._meta()
    direction_zh = {"up": "越高越好", "down": "越低越好", "target": "保持在目标附近", "none": "—"}
    seen = set()
    for row in rows:
        ind = row["_ind"]
        if ind.id in seen:
            continue
        seen.add(ind.id)
        counts = ind.counts or {}
        info.append([neutralise(v) for v in [
            ind.id, ind.name_zh, ind.unit, units.get(ind.unit, {}).get("zh", ""),
            ind.definition or "（目录未给出定义）", counts.get("numerator", ""),
            counts.get("denominator", ""), ind.describe_target(), ind.target.year,
            "、".join(meta["breakdowns"][b]["zh"] for b in ind.breakdowns) or "—",
            "、".join(meta["levels"][lv] for lv in ind.levels),
            ind.plan_zh, f"{ind.domain_zh} {ind.source_section}第{ind.source_number}条：{ind.source_text}",
            direction_zh.get(ind.direction, ind.direction),
        ]])
    for c, w in enumerate([30, 30, 10, 12, 50, 16, 16, 16, 8, 10, 16, 30, 60, 12], start=1):
        info.column_dimensions[get_column_letter(c)].width = w
    for cell in info[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
    for row in info.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    info.freeze_panes = "C2"
    info.protection.sheet = True
    info.protection.formatColumns = False

    # ---- 填报说明
    how = wb.create_sheet("填报说明")
    for line in INSTRUCTIONS:
        how.append([neutralise(line)])
    how["A1"].font = Font(bold=True, size=13)
    how.column_dimensions["A"].width = 120
    for row in how.iter_rows(min_row=2):
        row[0].alignment = Alignment(wrap_text=True)

    # ---- hidden facts, read back on import
    meta_ws = wb.create_sheet(META_SHEET)
    from .. import __version__

    for k, v in [("模板版本", TEMPLATE_VERSION), ("填报单位", unit), ("年份", year),
                 ("地区", regions.region(region).name if region else ""),
                 ("生成时间", datetime.now().isoformat(timespec="seconds")),
                 ("软件版本", __version__), ("指标数", len(seen))]:
        meta_ws.append([k, neutralise(v)])
    meta_ws.sheet_state = "hidden"

    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
