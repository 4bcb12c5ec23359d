"""``wuwei template | import | export | db``: reporting templates, imports, the database.

Examples::

    wuwei template --unit 卫健委 --year 2024 --region 古浪县 -o 古浪县卫健委2024.xlsx
    wuwei import 古浪县卫健委2024.xlsx 民勤县教育局2024.csv
    wuwei export -o 监测数据.xlsx --indicator 婴儿死亡率 --region 古浪县
    wuwei db info | init | submissions | rejections
    wuwei db check [--year 2025] [--indicator 婴儿死亡率] [-o 一致性检查.xlsx]
    wuwei db derive [--year 2025]
"""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("template", help="生成成员单位数据填报模板（Excel）",
                       description="为一个成员单位生成当年的数据填报模板（.xlsx）。")
    p.add_argument("--unit", required=True, help="成员单位，如 卫健委、教育局")
    p.add_argument("--year", required=True, type=int, help="填报年份，如 2024")
    p.add_argument("--region", help="只列一个地区（如 古浪县）；默认武威市及各县区")
    p.add_argument("-o", "--output", help="输出文件（.xlsx）；默认按单位、地区、年份命名")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("import", help="导入填报文件（.xlsx / .csv），校验后入库",
                       description="校验并导入填报文件。每个文件一个事务；拒收原因写入同目录的"
                                   "“…_导入报告.xlsx/.csv”。退出码：0 全部接收，1 部分接收，2 未接收或失败"
                                   "（文件无法读取、数据库被占用/只读/磁盘已满等）。")
    p.add_argument("files", nargs="+", metavar="FILE", help="填报文件")
    p.add_argument("--unit", help="报送单位（默认取自模板或文件名）；只接收该单位负责的指标")
    p.add_argument("--year", type=int,
                   help="填报年份：晚于它的年份被拒收（默认取自模板，否则为当前年份）")
    p.add_argument("--accept-outliers", action="store_true",
                   help="确认接收疑似数量级错误（约 10、100、1000 倍）的数值（作为警告保留并标记）")
    p.add_argument("--force", action="store_true", help="即使同一文件已导入过，也重新校验入库")
    p.add_argument("--no-report", action="store_true", help="不写导入报告文件")
    p.add_argument("-q", "--quiet", action="store_true", help="只输出每个文件的一行结果")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="导出监测数据（.csv / .xlsx）",
                       description="把监测数据库中的当前值（或某一版本）导出为 .csv 或 .xlsx。")
    p.add_argument("-o", "--output", required=True, help="输出文件（.csv 或 .xlsx）")
    p.add_argument("--indicator", action="append", help="指标编号或名称（可多次）")
    p.add_argument("--region", action="append", help="地区（可多次）")
    p.add_argument("--breakdown", default="all",
                   help="分组：all（默认，全部）、total（只要合计）、sex、urban_rural、age_group")
    p.add_argument("--vintage", help="版本：提交编号或时间（如 2024-06-30），导出当时的数值")
    p.add_argument("--no-benchmarks", action="store_true", help="不含甘肃省、全国对比数据")
    p.add_argument("--english-headers", action="store_true", help="列名用英文字段名")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("db", help="监测数据库：信息、初始化、提交记录、拒收记录、一致性检查、汇总",
                       description="查看或初始化监测数据库。")
    p.add_argument("action", nargs="?", default="info",
                   choices=["info", "init", "submissions", "rejections", "check", "derive"],
                   help="info（默认）| init | submissions | rejections | check（上下级、分组"
                        "与合计的一致性检查，有警告时退出码为 1）| derive（由各县区数据汇总市级数值）")
    p.add_argument("--no-defaults", action="store_true", help="init：不载入内置默认数据")
    p.add_argument("--reload-defaults", action="store_true",
                   help="init：重新载入内置默认数据（只补充新增或变化的部分）")
    p.add_argument("--submission", type=int, help="rejections：只看某次提交")
    p.add_argument("--year", type=int, action="append", help="check / derive：只看某年（可多次）")
    p.add_argument("--indicator", action="append", help="check / derive：指标编号或名称（可多次）")
    p.add_argument("-o", "--output", help="check：把警告写入 .csv 或 .xlsx")
    p.set_defaults(func=cmd_db)


def _show_store_messages() -> None:
    """Print the store's messages (e.g. waiting for another program's lock) to stderr."""
    import logging

    logger = logging.getLogger("wuwei_analysis.store")
    if not any(getattr(h, "_wuwei", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._wuwei = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def cmd_template(args: argparse.Namespace) -> int:
    from ..ingest.template import template_rows, write_template

    path = write_template(args.output, args.unit, args.year, args.region)
    n_rows = len(template_rows(args.unit, args.year, args.region))
    print(f"已生成填报模板：{path}（{n_rows} 行待填）")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .. import database
    from ..ingest.importer import import_file, overall_exit_code

    from pathlib import Path

    from ..errors import DataError

    for f in args.files:  # a folder is a mistake on the command line, not a bad file
        if Path(f).is_dir():
            raise DataError("这是文件夹，不是文件（请给出填报文件）", file=f)
    _show_store_messages()
    try:
        database.open_db(args.db).close()  # a new default database gets the default dataset first
    except DataError as exc:  # locked, read-only, damaged …: no file can be imported
        for f in args.files:
            print(f"✗ {f}：无法导入。{exc}", flush=True)
        return 2
    results = []
    for f in args.files:
        res = import_file(f, db=args.db, reporting_unit=args.unit, force=args.force,
                          write_report=not args.no_report, reporting_year=args.year,
                          accept_outliers=args.accept_outliers)
        results.append(res)
        text = res.summary_zh(max_issues=0 if args.quiet else 20)
        if args.quiet:  # one line, and where the report went (or why it did not)
            lines = text.splitlines()
            text = "\n".join([lines[0], *[ln for ln in lines[1:] if ln.strip().startswith("报告")]])
        print(text, flush=True)
    code = overall_exit_code(results)
    if len(results) > 1:
        ok = sum(r.exit_code == 0 for r in results)
        print(f"共 {len(results)} 个文件：{ok} 个全部接收，"
              f"{sum(r.exit_code == 1 for r in results)} 个部分接收，"
              f"{sum(r.exit_code == 2 for r in results)} 个未接收或失败。")
    return code


def cmd_export(args: argparse.Namespace) -> int:
    from .. import database, store

    _show_store_messages()
    breakdown = None if args.breakdown in ("total", "合计") else args.breakdown
    df = database.observations(args.indicator, args.region, breakdown, db=args.db,
                               vintage=args.vintage, include_benchmarks=not args.no_benchmarks,
                               notes=True)
    path = store.write_table(store.to_export_frame(df, chinese=not args.english_headers),
                             args.output)
    n_illus = int(df["illustrative"].sum())
    note = f"，其中 {n_illus} 行为示意数据（非真实统计）" if n_illus else ""
    print(f"已导出 {len(df)} 行到 {path}{note}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from .. import database

    if args.action in ("check", "derive"):
        return _cmd_rollup(args)

    _show_store_messages()
    if args.action == "init":
        if args.reload_defaults:
            conn = database.open_db(args.db)
            try:
                database.load_default_dataset(conn)
            finally:
                conn.close()
        else:
            database.init_db(args.db, with_defaults=not args.no_defaults)
        args.action = "info"
    if args.action == "info":
        info = database.db_info(args.db)
        labels = {"path": "路径", "schema_version": "结构版本", "created_at": "创建时间",
                  "defaults_loaded": "默认数据载入时间", "observations": "观测值（含历史版本）",
                  "illustrative_observations": "其中示意数据", "submissions": "提交次数",
                  "rejections": "拒收记录", "journal_mode": "日志模式"}
        for k, v in info.items():
            print(f"{labels.get(k, k)}：{v if v != '' else '—'}")
        return 0
    if args.action == "submissions":
        df = database.submissions(args.db)
        cols = ["id", "kind", "file_name", "reporting_unit", "received_at", "rows_read",
                "rows_accepted", "rows_rejected", "rows_new", "rows_revised", "status"]
        zh = ["编号", "类型", "文件", "报送单位", "接收时间", "读取", "接收", "拒收", "新增", "修订", "状态"]
        print(df[cols].rename(columns=dict(zip(cols, zh))).to_string(index=False))
        return 0
    df = database.rejections(args.submission, db=args.db)
    if df.empty:
        print("没有拒收记录。")
        return 0
    for r in df.itertuples(index=False):
        print(f"#{r.submission_id} {r.file_name} 第{r.row}行 字段「{r.field}」：{r.reason}")
    return 0


def _cmd_rollup(args: argparse.Namespace) -> int:
    """``wuwei db check`` and ``wuwei db derive`` (wuwei_analysis.rollup)."""
    from .. import database, store
    from ..indicator_catalog import indicator
    from ..rollup import checks
    from ..rollup import derived as derive_mod

    database.open_db(args.db).close()  # a new default database gets the default dataset first

    inds = None if not args.indicator else [indicator(i).data_id for i in args.indicator]
    if args.action == "derive":
        res = derive_mod.derive(args.db, indicators=inds, years=args.year)
        print(res.summary_zh())
        return 0
    found = checks.check(args.db, indicators=inds, years=args.year)
    cfg = checks.settings()
    tol = (f"计数容差 ±{cfg['tolerance']['relative'] * 100:g}%（至少 ±{cfg['tolerance']['absolute']:g}），"
           f"数值容差 ±{cfg['value_tolerance']['relative'] * 100:g}%")
    if found.empty:
        print(f"一致性检查：未发现上下级或分组与合计不一致（{tol}）。")
        return 0
    msgs = found.drop_duplicates("message")
    print(f"一致性检查：{len(msgs)} 条警告（{tol}）。")
    for r in msgs.itertuples():
        print(f"  [{checks.KIND_ZH[r.kind]}] {r.message}")
    if args.output:
        out = found.rename(columns={
            "kind": "类别", "indicator": "指标编号", "name_zh": "指标名称", "region_code": "地区代码",
            "region": "地区", "year": "年份", "sex": "性别", "urban_rural": "城乡",
            "age_group": "年龄组", "part": "项目", "reported": "上报数", "expected": "合计",
            "difference": "差值", "tolerance": "容差", "message": "说明"})
        out["类别"] = out["类别"].map(checks.KIND_ZH)
        out["项目"] = out["项目"].map(checks.PART_ZH)
        print(f"已写入 {store.write_table(out, args.output, sheet_name='一致性检查')}")
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
