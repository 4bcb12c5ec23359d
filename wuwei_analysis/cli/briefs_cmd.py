"""``wuwei briefs``: run the yearly brief notebook for each region and publish it as offline
HTML, Word and PDF."""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("briefs", help="为市及各县（区）生成监测简报（papermill → 离线 HTML、Word、PDF）",
                       description="逐地区运行 notebooks/county_brief.ipynb，转为不含代码的离线 HTML，"
                                   "并在同一目录写出同名的 Word（.docx）和 PDF；生成汇总页 index.html。"
                                   "某一地区失败不影响其他地区。",
                       epilog="退出码：0 全部生成；1 有地区生成失败，或明确要求了 PDF（--formats 含 pdf）"
                              "而本机没有 Chromium；2 输入有误（未知地区、无数据的年份、未知报告类型或格式）。"
                              "未找到 Chromium 时跳过 PDF，HTML 和 Word 照常生成，并用一行提示安装方法"
                              "（make system-deps）；默认格式下此时退出码仍为 0。")
    p.add_argument("--year", type=int, default=None, help="报告年份（默认：数据库中最新的数据年份）")
    # checked by the command (one Chinese line, exit 2), not by argparse's English message
    p.add_argument("--kind", default="annual", metavar="{annual,midterm,final}",
                   help="报告类型：annual 年度监测、midterm 中期评估（2025）、final 终期评估（2030）")
    p.add_argument("--regions", nargs="+", metavar="地区", help="只生成这些地区（名称、简称或代码）")
    p.add_argument("--out", default="outputs", help="输出目录（默认 outputs/）")
    p.add_argument("--formats", default=None, metavar="html,docx,pdf",
                   help="输出格式，逗号分隔（默认三种都生成；HTML 总会生成，PDF 由它打印；"
                        "没有 Chromium 时默认跳过 PDF）")
    p.add_argument("--jobs", type=int, default=2,
                   help="并行进程数（默认 2；每个进程保留一个预热的内核，依次生成多份简报）")
    p.add_argument("--data", metavar="文件",
                   help="从长表数据文件（parquet、csv、csv.gz，如 wuwei scale-data 生成的合成数据）"
                        "读取，而不读数据库；不给 --regions 时为表中每个地区生成简报")
    p.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="local：本机多进程（默认）；dask：Dask 集群（无 --scheduler 时在本机启动）")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask 调度器地址，如 tcp://10.0.0.5:8786（隐含 --executor dask；"
                        "各节点需能读到输出目录和数据文件）")
    p.set_defaults(func=run)


def _progress(msg: str) -> None:
    """Progress on stdout; an error about the input (e.g. an unknown region) and a notice
    (e.g. PDF skipped: no Chromium) on stderr."""
    print(msg, file=sys.stderr if msg.startswith(("错误：", "注意：")) else sys.stdout, flush=True)


def _fail(msg: str) -> int:
    print(f"错误：{msg}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from ..briefs import KINDS, check_year, run_briefs
    from ..formats import parse_formats

    if args.kind not in KINDS:
        return _fail(f"未知的报告类型 {args.kind!r}，应为 annual（年度）、midterm（中期）或 final（终期）")
    try:
        formats = parse_formats(args.formats)
    except ValueError as exc:
        return _fail(str(exc))
    year = args.year
    if year is None and args.data:
        from ..report import read_table

        year = int(read_table(args.data).frame["year"].max())
    elif year is None:
        from ..database import latest_year

        year = latest_year(db=args.db)
    check_year(year, db=args.db, data=args.data)   # BriefError → one line, exit 2
    executor = "dask" if args.scheduler else args.executor
    results = run_briefs(year, args.kind, args.regions, out=args.out, db=args.db,
                         data=args.data, jobs=args.jobs, executor=executor,
                         address=args.scheduler, formats=formats,
                         progress=_progress)
    failed = [r for r in results if not r.ok]
    print(f"汇总页：{args.out}/index.html")
    # PDF asked for by name (not just the default) but not printed: no browser here
    pdf_missing = bool(args.formats) and "pdf" in formats and \
        any(r.ok and "pdf" not in r.files for r in results)
    if failed:
        unknown = [r for r in failed if not r.code]   # bad input: no such region (said already)
        others = [r for r in failed if r.code]
        if others:
            print(f"{len(others)} 个地区失败：{'、'.join(r.region for r in others)}", file=sys.stderr)
        return 2 if unknown else 1
    if pdf_missing:
        print(f"{len(results)} 份简报已生成，但没有 PDF。")
        return 1
    print(f"全部 {len(results)} 份简报已生成。")
    return 0
