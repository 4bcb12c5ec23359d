"""``wuwei catalog``: the indicator catalogue as a Chinese table, grouped by plan and domain."""
from __future__ import annotations

import argparse
import sys

from ._table import format_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="列出两个规划的全部监测指标（按规划、领域分组）",
                       description="列出指标目录：按规划和领域分组，并统计各目标类型的数量。")
    p.add_argument("--plan", choices=["women", "children", "妇女", "儿童"], help="只列一个规划")
    p.add_argument("--domain", help="只列一个领域（编码如 C1，或中文名如 儿童与健康）")
    p.add_argument("--format", choices=["table", "csv"], default="table", help="输出格式")
    p.add_argument("-o", "--output", help="写入文件（csv），默认打印")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..indicator_catalog import _meta, catalog
    from ..targets import TARGET_KIND_ZH

    df = catalog(plan=args.plan, domain=args.domain)
    if args.format == "csv" or args.output:
        text = df.to_csv(index=False)
        if args.output:
            with open(args.output, "w", encoding="utf-8-sig") as fh:
                fh.write(text)
            print(f"已写出 {len(df)} 项指标：{args.output}")
        else:
            sys.stdout.write(text)
        return 0
    print(render_catalog(df, _meta(), TARGET_KIND_ZH))
    return 0


def render_catalog(df, meta: dict, kind_zh: dict) -> str:
    """The catalogue as text: one table per domain, then counts by target kind."""
    out: list[str] = []
    numerals = "一二三四五六七八九十"
    for plan, pdf in df.groupby("plan", sort=False):
        out.append(f"\n{'═' * 4} {meta['plans'][plan]['zh']}：{len(pdf)} 项指标 {'═' * 4}")
        for code, ddf in pdf.groupby("domain_code", sort=False):
            dom = meta["domains"][code]
            out.append(f"\n（{numerals[dom['number'] - 1]}）{dom['zh']}  [{code}]  {len(ddf)} 项")
            rows = [
                (r.id, r.name_zh, r.unit or "—", r.target_text, kind_zh[r.target_kind],
                 f"{'目标' if r.source_section == '主要目标' else '措施'}{r.source_number}",
                 r.reporter + ("*" if r.reporter_inferred else ""))
                for r in ddf.itertuples()
            ]
            out.append(format_table(rows, ["编号", "指标", "单位", "目标", "类型", "出处", "报送单位"],
                                    max_widths=[40, 36, 12, 28, 14, 8, 18]))
    out.append("\n按目标类型统计：")
    counts = df.groupby(["plan", "target_kind"]).size().unstack(fill_value=0)
    rows = []
    for kind in kind_zh:
        if kind in counts.columns:
            per_plan = [int(counts.loc[p, kind]) if p in counts.index else 0
                        for p in ("women", "children")]
            rows.append((kind_zh[kind], kind, *per_plan, sum(per_plan)))
    rows.append(("合计", "", int((df.plan == "women").sum()), int((df.plan == "children").sum()),
                 len(df)))
    out.append(format_table(rows, ["目标类型", "kind", "妇女规划", "儿童规划", "合计"]))
    monit = int(df["monitorable"].sum())
    qual = int((df["target_kind"] == "qualitative").sum())
    out.append(f"\n可由数据监测的指标 {monit} 项；暂不能由常规数据监测的 {len(df) - monit} 项"
               f"（其中定性目标 {qual} 项）。"
               "报送单位后的 * 表示规划未明确、按领域推定。")
    return "\n".join(out)
