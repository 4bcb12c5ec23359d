"""``wuwei status``: the assessment table of one region, in Chinese (short for ``assess``)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="打印一个地区的指标状态表（已实现/按期可达/有风险/难以实现/数据不足）",
                       description="打印一个地区各项可监测指标的状态、达标概率和预警；"
                                   "规则见 docs/status_rules.md。更多选项见 wuwei assess。")
    p.add_argument("--region", default="武威市", help="地区名称、简称或代码（默认 武威市）")
    p.add_argument("--year", type=int, help="报告年份：只使用该年及以前的数据（默认最新）")
    p.add_argument("--kind", choices=["annual", "midterm", "final"], default="annual",
                   help="annual 年度（默认）、midterm 中期（2025）、final 终期（2030）")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..assessment import assess
    from .assess_cmd import render_assessment

    df = assess(region=args.region, year=args.year, db=getattr(args, "db", None), kind=args.kind)
    print(render_assessment(df))
    return 0
