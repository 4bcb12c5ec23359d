"""``wuwei assess``: status, probability of meeting the target and early warnings per indicator.

    wuwei assess --region 古浪县 --year 2024
    wuwei assess --region 武威市 --kind midterm --format csv -o 中期评估.csv
    wuwei assess --all -o 全部地区.csv                       # every region in the database
    wuwei scale-data --regions 2850 -o synthetic.csv.gz       # a synthetic national table
    wuwei assess --all --input synthetic.csv.gz -o out.csv    # local processes (default)
    wuwei assess --all --input synthetic.csv.gz --scheduler tcp://host:8786 -o out.csv

``--all`` assesses every region at once with the vectorised engine
(:mod:`wuwei_analysis.engine`), the regions split into groups run by
:func:`wuwei_analysis.executors.map_tasks`: local processes by default, a Dask cluster with
``--executor dask`` (a LocalCluster) or ``--scheduler ADDRESS``.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile

from ._table import format_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``wuwei assess`` and ``wuwei scale-data`` to the command line."""
    p = sub.add_parser("assess", help="评估各指标进展：状态、达标概率与预警",
                       description="按地区和年份评估每项指标：最新值、目标、状态（已实现/按期可达/"
                                   "有风险/难以实现/数据不足）、2030年达标概率和预警。"
                                   "判定规则见 docs/status_rules.md。")
    p.add_argument("--region", default="武威市", help="地区名称、简称或代码（默认 武威市）")
    p.add_argument("--year", type=int, help="报告年份：只使用该年及以前的数据（默认最新）")
    p.add_argument("--kind", choices=["annual", "midterm", "final"], default="annual",
                   help="评估类型：annual 年度（默认）、midterm 中期（2025）、final 终期（2030）")
    p.add_argument("--all", action="store_true",
                   help="评估全部地区（数据库或 --input 长表中的每个地区），默认输出 CSV")
    p.add_argument("--show-na", action="store_true",
                   help="表格中也列出不适用的指标（定性目标等）")
    p.add_argument("--input", metavar="LONG_TABLE",
                   help="评估长表文件（csv、csv.gz 或 parquet，如 wuwei scale-data 生成的合成表）"
                        "而不是数据库")
    p.add_argument("--breakdowns", action="store_true",
                   help="同时评估各分组（性别、城乡、年龄组）序列，每组一行")
    p.add_argument("--engine", choices=["auto", "vectorized", "per-series"], default="auto",
                   help="模型引擎：auto（默认，序列多时用向量化引擎）、vectorized、"
                        "per-series（逐序列 statsmodels，结果相同、较慢）")
    p.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="--all 的执行方式：local 本机多进程（默认）、dask（Dask 集群）")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask 调度器地址，如 tcp://10.0.0.5:8786（隐含 --executor dask）")
    p.add_argument("--workers", type=int, default=2,
                   help="本机进程数或 Dask LocalCluster 工作进程数（默认 2）")
    p.add_argument("--format", choices=["table", "csv"], default=None,
                   help="输出格式（默认：单个地区为 table，--all 为 csv）")
    p.add_argument("-o", "--output", help="写入文件（csv 或文本表格），默认打印")
    p.set_defaults(func=run)

    q = sub.add_parser("scale-data", help="生成省级/全国规模的合成长表（仅供性能基准测试）",
                       description="为 N 个合成县级单位生成全部可监测指标 × 分组 × 10 年的长表。"
                                   "每行标记为合成数据（synthetic、illustrative），非真实统计。"
                                   "安装了 pyarrow 时可写 parquet，否则写 csv.gz。")
    q.add_argument("--regions", type=int, default=2850, help="合成地区数（默认 2850，约全国县级单位数）")
    q.add_argument("--seed", type=int, default=None, help="随机种子（默认固定值，结果可重复）")
    q.add_argument("-o", "--output", help="输出文件（.csv.gz 或 .parquet；默认 synthetic_N_regions.*）")
    q.set_defaults(func=run_scale)


def _observations(args):
    """The observations (the ``--input`` long table, or the database) and the region
    look-up that goes with them (a table's own regions besides the YAML's)."""
    if args.input:
        from ..tables import read

        table = read(args.input)
        return table.frame, table.region
    from ..database import observations
    from ..geography import region

    return observations(breakdown="all", db=getattr(args, "db", None)), region


def run(args: argparse.Namespace) -> int:
    """``wuwei assess``: one region (a table or CSV), or every region with ``--all``."""
    if args.all:
        return run_all(args)
    region = args.region
    fmt = args.format or "table"
    synthetic = False
    if args.input or args.engine == "vectorized" or args.breakdowns:
        from ..engine.table_assessment import assess_many

        obs, lookup = _observations(args)
        synthetic = is_synthetic(obs)
        df = assess_many(obs, regions=[lookup(region).code], year=args.year,
                         kind=args.kind, breakdowns=args.breakdowns, engine=args.engine)
        if synthetic:
            df.insert(0, "synthetic", True)
        df.attrs.update(region=df["region"].iloc[0] if len(df) else region,
                        year=df.attrs["years"].get(df["region_code"].iloc[0])
                        if len(df) else args.year)
    else:
        from ..assessment import assess

        df = assess(region=region, year=args.year, db=getattr(args, "db", None),
                    kind=args.kind)
    if fmt == "csv":
        text = df.to_csv(index=False)
        if args.output:
            _write_atomic(args.output, text, bom=True)
            print(f"已写出 {len(df)} 项指标的评估结果：{args.output}")
        else:
            sys.stdout.write(text)
        return 0
    text = render_assessment(df, show_all=args.show_na)
    if synthetic:
        text = SYNTHETIC_NOTE + "\n" + text
    _emit(text, args.output, "评估表")
    return 0


def _emit(text: str, output: str | None, what: str) -> None:
    """Print ``text``, or write it to ``output`` (atomically) and say so."""
    if output:
        _write_atomic(output, text + "\n")
        print(f"已写出{what}：{output}")
    else:
        print(text)


ENGINE_ZH = {"vectorized": "向量化引擎", "per-series": "逐序列 statsmodels"}
EXECUTOR_ZH = {"local": "本机进程", "dask": "Dask 集群"}
SYNTHETIC_NOTE = "注意：输入为合成数据（wuwei scale-data 生成，非真实统计，仅供性能基准测试）"


def is_synthetic(obs) -> bool:
    """True when a long table is (partly) synthetic: a ``synthetic`` column with a True."""
    if obs.attrs.get("synthetic"):
        return True
    return "synthetic" in obs and bool(obs["synthetic"].fillna(False).astype(bool).any())


def run_all(args: argparse.Namespace) -> int:
    """``--all``: every region, vectorised, partitioned over local processes or Dask."""
    import time

    from ..engine.table_assessment import assess_all
    from ..vocab.labels import STATUS_LABELS

    t0 = time.perf_counter()
    obs, _ = _observations(args)     # the engine takes the regions' names from the table
    synthetic = is_synthetic(obs)
    t1 = time.perf_counter()
    executor = "dask" if args.scheduler else args.executor
    df = assess_all(obs, year=args.year, kind=args.kind, breakdowns=args.breakdowns,
                    engine=args.engine, executor=executor, address=args.scheduler,
                    workers=args.workers)
    t2 = time.perf_counter()
    if synthetic:       # every row says so, also in the file
        df.insert(0, "synthetic", True)
    eng = df.attrs.get("engine", {})
    n_reg = df["region_code"].nunique()
    counts = df["status_code"].value_counts()
    summary = "  ".join(f"{v} {int(counts.get(c, 0))}" for c, v in STATUS_LABELS.items())
    where = EXECUTOR_ZH.get(eng.get("executor", ""), eng.get("executor", ""))
    if args.scheduler:
        where += f" {args.scheduler}"
    else:
        where += f" × {eng.get('workers', '')}"
    engines = "、".join(ENGINE_ZH.get(e, e) for e in str(eng.get("engine", "")).split(",") if e)
    note = (f"{n_reg} 个地区、{len(df)} 行（建模序列 {eng.get('modelled', 0)} 个，{engines}，"
            f"{where}，分 {eng.get('chunks', '')} 组）：读取 {t1 - t0:.1f} 秒，"
            f"评估 {t2 - t1:.1f} 秒。{summary}")
    if synthetic:
        note = SYNTHETIC_NOTE + "\n" + note
    if (args.format or "csv") == "csv":
        if args.output:
            _write_csv_atomic(args.output, df)
            print(f"{note}\n已写出：{args.output}")
        else:
            df.to_csv(sys.stdout, index=False)
            print(note, file=sys.stderr)
        return 0
    rows = []
    for code, g in df.groupby("region_code", sort=False):
        c = g["status_code"].value_counts()
        rows.append((code, g["region"].iloc[0], *[str(int(c.get(k, 0))) for k in STATUS_LABELS]))
    text = format_table(rows, ["代码", "地区", *STATUS_LABELS.values()])
    text = note + "\n" + text
    _emit(text, args.output, "评估汇总")
    return 0


def run_scale(args: argparse.Namespace) -> int:
    """``wuwei scale-data``: write the synthetic long table (marked synthetic)."""
    import time

    from ..synthetic import default_name, generate
    from ..tables import write

    t0 = time.perf_counter()
    kw = {} if args.seed is None else {"seed": args.seed}
    df = generate(args.regions, **kw)
    path = args.output or default_name(args.regions)
    write(df, path)
    print(f"已写出合成长表（非真实统计，仅供基准测试）：{path}，{args.regions} 个地区、"
          f"{df.groupby(['indicator', 'sex', 'urban_rural'], observed=True).ngroups} 类序列、"
          f"{len(df)} 行，用时 {time.perf_counter() - t0:.1f} 秒")
    return 0


def _write_csv_atomic(path: str, df) -> None:
    """A large table straight to a temporary file (UTF-8 with BOM, for Excel), renamed."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".assess-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            df.to_csv(fh, index=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
    from ..vocab.numbers import format_value

    return format_value(v, unit, with_unit=suffix)


def render_assessment(df, *, show_all: bool = False) -> str:
    """The assessment as a Chinese text table with a status count and a rules footnote."""
    from ..engine.rules import STATUS_RULES
    from ..vocab.labels import STATUS_LABELS
    from ..vocab.numbers import format_prob, format_range

    a = df.attrs
    kind_zh = {"annual": "年度监测", "midterm": "中期评估（2025年）",
               "final": "终期评估（2030年）"}.get(a.get("kind", "annual"), "")
    out = [f"{a.get('region', '')} {a.get('year', '')}年 {kind_zh}：{len(df)} 项指标"]
    counts = df["status_code"].value_counts()
    out.append("  ".join(f"{v} {int(counts.get(c, 0))}" for c, v in STATUS_LABELS.items()))
    shown = df if show_all else df[df["status_code"] != "not_applicable"]
    rows = []
    for r in shown.itertuples():
        latest = "—" if r.latest_year is None or str(r.latest_year) == "<NA>" else \
            f"{_num(r.latest_value, r.unit)}（{r.latest_year}）"
        fc = "—"
        if r.forecast_value is not None and not math.isnan(r.forecast_value):
            fc = (f"{_num(r.forecast_value, r.unit)} "
                  f"[{format_range(r.forecast_lo80, r.forecast_hi80, r.unit)}]")
        p = format_prob(r.p_meet)
        name = r.name_zh + ("*" if r.illustrative else "")
        rows.append((r.domain_code, name, latest, r.target_text, r.current, r.outlook, p,
                     r.status, fc, r.warnings or ""))
    out.append(format_table(rows, ["领域", "指标", "最新值（年份）", "目标", "现状", "2030年展望",
                                   "达标概率", "状态", "目标年预测 [80%区间]", "预警"],
                            max_widths=[4, 30, 20, 24, 10, 8, 8, 16, 30, 60]))
    out.append(
        f"\n判定规则：现状看最新值是否达标；2030年展望看按趋势模型估计的目标年达标概率，"
        f"≥{STATUS_RULES['on_track_p']:.0%}为“按期可达”，{STATUS_RULES['at_risk_p']:.0%}–"
        f"{STATUS_RULES['on_track_p']:.0%}为“有风险”，低于{STATUS_RULES['at_risk_p']:.0%}为“难以实现”；"
        f"少于{STATUS_RULES['min_points']}个年度数据为“数据不足”。方向性和差距目标按趋势方向的把握判断。"
        f"状态：已达标且展望按期可达为“已实现”，已达标但展望有风险或难以实现为“已达标但可能回落”。"
        "详见 docs/status_rules.md。")
    if bool(df["illustrative"].any()):
        out.append("标 * 的指标含示例数据（非真实统计），仅供演示。")
    goals = goal_counts_line(df)
    if goals:
        out.append(goals)
    return "\n".join(out)


def goal_counts_line(df) -> str:
    """The closing line: counts over the plans' 主要目标 (:func:`wuwei_analysis.goals.goal_counts`,
    the brief's and the app's numbers and labels); "" for a table without the two status columns."""
    from ..goals import counts_sentence, goal_counts

    tot = df
    for col in ("sex", "urban_rural", "age_group"):   # --breakdowns: the totals only
        if col in tot:
            tot = tot[tot[col].fillna("") == ""]
    try:
        return counts_sentence(goal_counts(tot))
    except (ValueError, KeyError):
        return ""
