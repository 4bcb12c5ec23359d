"""``wuwei assess``: status, probability of meeting the target and early warnings per indicator.

    wuwei assess --region 古浪县 --year 2024
    wuwei assess --region 武威市 --kind midterm --format csv -o 中期评估.csv
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile

from ._table import format_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assess", help="评估各指标进展：状态、达标概率与预警",
                       description="按地区和年份评估每项指标：最新值、目标、状态（已实现/按期可达/"
                                   "有风险/难以实现/数据不足）、2030年达标概率和预警。"
                                   "判定规则见 docs/status_rules.md。")
    p.add_argument("--region", default="武威市", help="地区名称、简称或代码（默认 武威市）")
    p.add_argument("--year", type=int, help="报告年份：只使用该年及以前的数据（默认最新）")
    p.add_argument("--kind", choices=["annual", "midterm", "final"], default="annual",
                   help="评估类型：annual 年度（默认）、midterm 中期（2025）、final 终期（2030）")
    p.add_argument("--all", action="store_true", help="表格中也列出不适用的指标（定性目标等）")
    p.add_argument("--format", choices=["table", "csv"], default="table", help="输出格式")
    p.add_argument("-o", "--output", help="写入文件（csv 或文本表格），默认打印")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..assessment import assess

    df = assess(region=args.region, year=args.year, db=getattr(args, "db", None),
                kind=args.kind)
    if args.format == "csv":
        text = df.to_csv(index=False)
        if args.output:
            _write_atomic(args.output, text, bom=True)
            print(f"已写出 {len(df)} 项指标的评估结果：{args.output}")
        else:
            sys.stdout.write(text)
        return 0
    text = render_assessment(df, show_all=args.all)
    if args.output:
        _write_atomic(args.output, text + "\n")
        print(f"已写出评估表：{args.output}")
    else:
        print(text)
    return 0


def _write_atomic(path: str, text: str, *, bom: bool = False) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".assess-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _num(v, unit: str, suffix: bool = True) -> str:
    from ..assessment import _fmt

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return _fmt(float(v), unit, suffix=suffix)


def render_assessment(df, *, show_all: bool = False) -> str:
    """The assessment as a Chinese text table with a status count and a rules footnote."""
    from ..assessment import STATUS_LABELS, STATUS_RULES

    a = df.attrs
    kind_zh = {"annual": "年度监测", "midterm": "中期评估（2025年）",
               "final": "终期评估（2030年）"}.get(a.get("kind", "annual"), "")
    out = [f"{a.get('region', '')} {a.get('year', '')}年 {kind_zh}：{len(df)} 项指标"]
    counts = df["status_code"].value_counts()
    out.append("  ".join(f"{STATUS_LABELS[c][0]} {int(counts.get(c, 0))}" for c in STATUS_LABELS))
    shown = df if show_all else df[df["status_code"] != "not_applicable"]
    rows = []
    for r in shown.itertuples():
        latest = "—" if r.latest_year is None or str(r.latest_year) == "<NA>" else \
            f"{_num(r.latest_value, r.unit)}（{r.latest_year}）"
        fc = "—"
        if r.forecast_value is not None and not math.isnan(r.forecast_value):
            fc = (f"{_num(r.forecast_value, r.unit)} [{_num(r.forecast_lo80, r.unit, False)}–"
                  f"{_num(r.forecast_hi80, r.unit)}]")
        p = "—" if r.p_meet is None or math.isnan(r.p_meet) else f"{r.p_meet * 100:.0f}%"
        name = r.name_zh + ("*" if r.illustrative else "")
        rows.append((r.domain_code, name, latest, r.target_text, r.status, p, fc,
                     r.warnings or ""))
    out.append(format_table(rows, ["领域", "指标", "最新值（年份）", "目标", "状态", "达标概率",
                                   "目标年预测 [80%区间]", "预警"],
                            max_widths=[4, 30, 20, 24, 8, 8, 30, 60]))
    out.append(
        f"\n判定规则：最新值达标为“已实现”；否则按趋势模型估计目标年达标概率，"
        f"≥{STATUS_RULES['on_track_p']:.0%}为“按期可达”，{STATUS_RULES['at_risk_p']:.0%}–"
        f"{STATUS_RULES['on_track_p']:.0%}为“有风险”，低于{STATUS_RULES['at_risk_p']:.0%}为“难以实现”；"
        f"少于{STATUS_RULES['min_points']}个年度数据为“数据不足”。方向性和差距目标按趋势方向的把握判断。"
        "详见 docs/status_rules.md。")
    if bool(df["illustrative"].any()):
        out.append("标 * 的指标含示例数据（非真实统计），仅供演示。")
    return "\n".join(out)
