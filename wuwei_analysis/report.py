"""The content of one brief (年度监测报告 / 中期评估 / 终期评估) for one region.

``notebooks/county_brief.ipynb`` is thin: it calls :func:`prepare` once and then displays
the sections built here. Each section is plain HTML (charts as inline SVG), so the brief
converts to an offline HTML page with no script, stylesheet or font from the internet.
"""
from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .errors import DataError
from .geography import all_regions, monitored, region as find_region
from .vocab.labels import CSS_FONT_FAMILY, MUTED_COLOR, STATUS_CODES, STATUS_COLORS, STATUS_LABELS, STATUS_TEXT_COLORS
from .vocab.numbers import format_prob, format_value

if TYPE_CHECKING:
    from .tables import LongTable

KIND_ZH = {"annual": "年度监测报告", "midterm": "中期评估报告", "final": "终期评估报告"}
STATUS_ORDER = [c for c in STATUS_CODES if c != "not_applicable"]
STATUS_ZH = STATUS_LABELS
STATUS_CSS = STATUS_COLORS
SYNTHETIC_NOTE = ("合成数据：本简报的数据由 wuwei scale-data 按固定随机种子批量生成，仅用于检验工作台在"
                  "全省、全国规模下的速度，不是统计数据，不反映任何真实地区的情况。")
ILLUSTRATIVE_NOTE = ("示意数据：本简报中标注为示意的数据由程序按固定随机种子生成，仅用于演示工作台功能，"
                     "并非官方统计数据；全国、甘肃省对照数据为公开发布数据，出处见数据表。")
#: Benchmarks drawn on every forecast chart (when the database has them).
BENCHMARKS = ("甘肃省", "全国")
#: Size (viewBox, px) of a warned indicator's chart; it scales down to its column.
CHART_SIZE = (640, 340)


@dataclass
class BriefContext:
    """Everything one brief shows, computed once."""

    region: str
    region_code: str
    year: int
    kind: str
    db: str | None
    assessment: pd.DataFrame       # one row per indicator (see wuwei_analysis.assessment)
    latest: pd.DataFrame           # latest total value per indicator × monitored region
    illustrative: bool
    #: every observation up to the report year (all regions, totals and breakdowns)
    obs: pd.DataFrame | None = None
    #: the forecast table behind each assessed indicator (``assess_frame(forecasts=...)``)
    forecasts: dict = field(default_factory=dict)
    #: the regions the comparison section compares with (this region included)
    peers: list = field(default_factory=list)
    _totals: dict | None = field(default=None, repr=False)

    @property
    def synthetic(self) -> bool:
        """True when the brief rests on the scale generator's synthetic table."""
        return self.obs is not None and "synthetic" in self.obs and \
            bool(self.obs["synthetic"].fillna(False).astype(bool).any())

    @property
    def monitored(self) -> pd.DataFrame:
        return self.assessment[self.assessment.status_code != "not_applicable"]

    def counts(self) -> dict[str, int]:
        c = self.monitored.status_code.value_counts()
        return {k: int(c.get(k, 0)) for k in STATUS_ORDER}

    @property
    def warned(self) -> pd.DataFrame:
        """Indicators at risk or off track, and those with data warnings, worst first."""
        a = self.monitored
        mask = a.status_code.isin(["at_risk", "off_track", "may_slip"])
        rank = {"off_track": 0, "at_risk": 1, "may_slip": 2}
        out = a[mask].copy()
        out["_rank"] = out.status_code.map(rank)
        out = out.sort_values(["_rank", "p_meet"], na_position="last")
        return out.drop(columns="_rank")


def load_dependencies() -> None:
    """Import the modules a brief needs up front (so a run's timings separate imports from
    computation)."""
    from . import assessment, charts, models, render, store  # noqa: F401


def latest_values(obs: pd.DataFrame, year: int, codes: set[str] | None = None) -> pd.DataFrame:
    """The latest total (no breakdown) value up to ``year`` of every indicator in every
    region of ``codes`` (default: the monitored regions): columns indicator, region_code,
    year, value, illustrative."""
    codes = codes if codes is not None else {r.code for r in monitored()}
    tot = obs[(obs.sex == "") & (obs.urban_rural == "") & (obs.age_group == "")
              & obs.region_code.isin(codes) & (obs.year <= year)]
    tot = tot.sort_values("year").groupby(["indicator", "region_code"], as_index=False,
                                           observed=True).last()
    return tot[["indicator", "region_code", "year", "value", "illustrative"]]


#: The long table a batch reads from a file, kept for the life of the kernel (a warm brief
#: kernel reads it once for all its briefs): (path, mtime, size) -> LongTable.
_TABLES: dict[tuple, "LongTable"] = {}


def read_table(path: str | Path) -> "LongTable":
    """A long observation table from a file (``wuwei scale-data`` output or any table with
    the store's columns: parquet, csv or csv.gz), in the store's column types, with its
    regions that ``data/regions.yaml`` does not list (``.region(key)`` looks both up)."""
    from .tables import LongTable, read

    p = Path(path).resolve()
    try:
        st = p.stat()
    except OSError:
        raise DataError("找不到长表文件", file=str(path)) from None
    key = (str(p), st.st_mtime_ns, st.st_size)
    if key not in _TABLES:
        table = read(p)
        df = table.frame
        for c in ("sex", "urban_rural", "age_group"):
            df[c] = df[c].astype("string").fillna("").astype(str) if c in df else ""
        for c in ("indicator", "region", "region_code"):
            df[c] = df[c].astype(str)
        for c, default in (("illustrative", False), ("provisional", False),
                           ("low_trust", False), ("source", "")):
            if c not in df:
                df[c] = default
        _TABLES.clear()
        _TABLES[key] = LongTable(df, table.regions)
    return _TABLES[key]


def table_regions(path: str | Path) -> list:
    """The regions of a long table file that get a brief (benchmarks left out), in the
    table's order."""
    table = read_table(path)
    out = []
    for code in pd.unique(table.frame["region_code"].astype(str)):
        r = table.region(code)
        if r.role != "benchmark":
            out.append(r)
    return out


def peers(reg, obs: pd.DataFrame, lookup=find_region) -> list:
    """The regions a brief compares with: the city and its counties for a monitored region;
    otherwise every region of the table at the same level (``lookup``: a table's
    ``LongTable.region``)."""
    if reg.role == "monitored":
        return monitored()
    level = obs.get("region_level")
    codes = obs.loc[level.astype(str) == reg.level, "region_code"] if level is not None \
        else obs["region_code"]
    out = []
    for code in pd.unique(codes.astype(str)):
        try:
            out.append(lookup(code))
        except Exception:  # noqa: BLE001 — a code with no region entry is left out
            continue
    return out


def prepare(region: str, year: int, kind: str = "annual", db: str | None = None,
            data: str | None = None, engine: str = "vectorized") -> BriefContext:
    """Assess ``region`` for ``year`` and collect the other regions' latest values for the
    comparison. Observations are read once: from the database ``db`` (default database when
    None), or from the long table file ``data`` when given.

    ``engine``: how the assessment engine fits the trends — "vectorized" (default, all
    series at once) or "per-series" (one statsmodels fit per series, the reference); the
    rules, sentences and forecasts are the same engine's, so both give the same brief.
    """
    from .database import observations

    dbp = db or None
    if data:
        table = read_table(data)
        lookup = table.region
        reg = lookup(region)
        bench = {r.code for r in all_regions() if r.role == "benchmark"}
        obs_all = table.frame[table.frame.year <= int(year)]
        # the assessment needs this region's rows and the benchmarks only
        obs = obs_all[obs_all.region_code.isin(bench | {reg.code})]
    else:
        lookup = find_region
        reg = lookup(region)
        obs_all = observations(breakdown="all", db=dbp)
        obs_all = obs = obs_all[obs_all.year <= int(year)]
    if engine not in ("vectorized", "per-series"):
        raise ValueError(f"engine must be 'vectorized' or 'per-series', not {engine!r}")
    a, forecasts = _assess(obs, reg, int(year), kind, engine)
    illustrative = bool(a["illustrative"].fillna(False).any())
    group = peers(reg, obs_all, lookup)
    ctx = BriefContext(reg.name, reg.code, int(year), kind, dbp, a,
                       latest_values(obs_all, int(year), {r.code for r in group}),
                       illustrative, obs, forecasts)
    ctx.peers = group
    return ctx


def _assess(obs: pd.DataFrame, reg, year: int, kind: str, engine: str = "vectorized"
            ) -> tuple[pd.DataFrame, dict]:
    """The region's assessment and the forecast table behind every assessed row (one
    engine call: the charts show the forecasts the statuses rest on)."""
    from .assessment import assess_frame

    forecasts: dict = {}
    a = assess_frame(obs, reg, year, kind=kind, forecasts=forecasts, engine=engine)
    return a, forecasts


# ----------------------------------------------------------------------- sections

def _esc(x: object) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))


_fmt = format_value
_pct = format_prob


def _badge(code: str) -> str:
    return (f"<span style='color:{STATUS_TEXT_COLORS.get(code, '#fff')};"
            f"background:{STATUS_CSS.get(code, MUTED_COLOR)};"
            f"padding:0 .4em;border-radius:3px;white-space:nowrap'>{STATUS_ZH.get(code, code)}</span>")


def title_html(ctx: BriefContext) -> str:
    note = (f"<p style='background:#fff8c5;border:1px solid #d4a72c;padding:.6em 1em'>"
            f"{SYNTHETIC_NOTE if ctx.synthetic else ILLUSTRATIVE_NOTE}</p>") \
        if ctx.illustrative or ctx.synthetic else ""
    return (f"<h1>{_esc(ctx.region)}妇女儿童发展规划（2021—2030年）{ctx.year}年{KIND_ZH[ctx.kind]}</h1>"
            f"{note}")


def headline_html(ctx: BriefContext) -> str:
    """How many indicators are achieved / on track / at risk / off track, and which are off track."""
    c = ctx.counts()
    total = sum(c.values())
    cells = "".join(
        f"<td style='text-align:center;padding:.4em 1em'><div style='font-size:1.8em;"
        f"color:{STATUS_CSS[k]}'>{c[k]}</div>{STATUS_ZH[k]}</td>" for k in STATUS_ORDER)
    off = ctx.monitored[ctx.monitored.status_code == "off_track"]
    off_list = "、".join(off.name_zh) if len(off) else "无"
    qual = int((ctx.assessment.status_code == "not_applicable").sum())
    mode = {"annual": "按当前趋势判断能否在目标年实现",
            "midterm": "按2025年应达到的进度（2020年基期到目标值的线性路径）判断",
            "final": "按2030年终期目标判断"}[ctx.kind]
    return (f"<h2>总体情况</h2><p>{_esc(ctx.region)}共监测 {total} 项可量化指标（另有定性目标 {qual} 项），"
            f"{mode}：</p><table><tr>{cells}</tr></table>"
            f"<p><b>难以实现的指标：</b>{_esc(off_list)}</p>")


def overview_html(ctx: BriefContext) -> str:
    from .charts import status_overview_chart
    from .render import chart_to_svg

    return "<h2>各领域指标状态一览</h2>" + chart_to_svg(status_overview_chart(ctx.monitored))


def common_notes(ctx: BriefContext) -> list[str]:
    """Data notes every indicator with data carries (e.g. 含示例数据): said once per
    section instead of on every row."""
    rows = [w for w, n in zip(ctx.monitored.warnings, ctx.monitored.n_points)
            if not pd.isna(n) and n > 0]
    if not rows:
        return []
    sets = [set(str(w).split("；")) if w else set() for w in rows]
    common = set.intersection(*sets)
    return [f for f in str(rows[0]).split("；") if f in common]


def row_notes(warnings: object, common: list[str]) -> str:
    """A row's data notes without the ones every row has."""
    if not warnings or (isinstance(warnings, float) and pd.isna(warnings)):
        return ""
    return "；".join(f for f in str(warnings).split("；") if f not in common)


def _common_line(common: list[str]) -> str:
    return (f"<p class='data-note'>各项共同的数据提示：{_esc('；'.join(common))}。</p>"
            if common else "")


def status_table_html(ctx: BriefContext) -> str:
    """Status by domain: one table row per monitorable indicator."""
    common = common_notes(ctx)
    parts = ["<h2>分领域监测状态</h2>", _common_line(common)]
    for (plan, dom), g in ctx.monitored.groupby(["plan", "domain"], sort=False):
        rows = "".join(
            f"<tr><td>{_esc(r.name_zh)}</td><td>{_fmt(r.latest_value, r.unit)}</td>"
            f"<td>{_esc('' if pd.isna(r.latest_year) else int(r.latest_year))}</td>"
            f"<td>{_esc(r.target_text)}</td><td>{_badge(r.status_code)}</td>"
            f"<td>{_pct(r.p_meet)}</td><td>{_esc(row_notes(r.warnings, common))}</td></tr>"
            for r in g.itertuples())
        parts.append(
            f"<h3>{_esc(dom)}</h3><table class='status'><thead><tr><th>指标</th><th>最新值</th>"
            f"<th>年份</th><th>目标</th><th>状态</th><th>实现概率</th><th>提示</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")
    return "".join(parts)


def _history(ctx: BriefContext, data_id: str) -> pd.DataFrame:
    """Total (no breakdown) observations of one indicator up to the report year."""
    if ctx.obs is None:
        from .database import observations

        obs = observations(indicator=data_id, db=ctx.db)
        obs = obs[obs.year <= ctx.year]
        for col in ("sex", "urban_rural", "age_group"):
            if col in obs.columns:
                obs = obs[obs[col].fillna("") == ""]
        return obs
    if ctx._totals is None:   # grouped once per brief (not filtered once per chart)
        obs = ctx.obs
        mask = obs.year <= ctx.year
        for col in ("sex", "urban_rural", "age_group"):
            if col in obs.columns:
                mask &= obs[col].fillna("") == ""
        tot = obs[mask]
        tot.attrs = {}        # attrs are deep-copied by every pandas operation
        ctx._totals = dict(tuple(tot.groupby("indicator", sort=False, observed=True)))
    return ctx._totals.get(data_id, ctx.obs.iloc[0:0])


def _threshold(ind, row) -> float | None:
    """The target as a number in this region (the assessment's ``threshold``), for the
    chart's target rule; None for direction-only targets."""
    if ind.target.kind not in ("at_most", "at_least", "around", "relative_change"):
        return None
    v = row.threshold
    return None if v is None or pd.isna(v) else float(v)


def warned_chart(ctx: BriefContext, row) -> str:
    """The forecast chart (inline SVG) of one assessed indicator (a row of
    ``ctx.assessment``): history, the forecast the status rests on with its 80 %/95 % fans,
    the target, and the 甘肃省 / 全国 benchmarks."""
    from .indicator_catalog import indicator, units
    from .svgchart import chart_data, render_svg

    ind = indicator(row.indicator)
    hist = _history(ctx, ind.data_id)
    own = hist[hist.region_code == ctx.region_code].sort_values("year")
    bench = {b: g.sort_values("year") for b in BENCHMARKS
             if len(g := hist[hist.region == b])}
    illustrative = bool(own["illustrative"].fillna(False).astype(bool).any()) if len(own) else False
    d = chart_data(ind, ctx.region, own, ctx.forecasts.get(ind.id), benchmarks=bench,
                   threshold=_threshold(ind, row), illustrative=illustrative,
                   decimals=int(units().get(ind.unit, {}).get("decimals", 2)))
    return render_svg(d, width=CHART_SIZE[0], height=CHART_SIZE[1])


def warned_html(ctx: BriefContext) -> str:
    """For each indicator at risk or off track (worst first): a plain-Chinese sentence and
    its chart."""
    w = ctx.warned
    if w.empty:
        return "<h2>预警指标</h2><p>本期没有有风险或难以实现的指标。</p>"
    n_off = int((w.status_code == "off_track").sum())
    parts = [f"<h2>预警指标（{len(w)} 项）</h2>"
             f"<p>难以实现 {n_off} 项、有风险 {len(w) - n_off} 项，按严重程度排列。图中实线为实际值，"
             "虚线为按当前趋势的预测，深浅阴影为 80%、95% 预测区间，橙色横线为规划目标，"
             "菱形标出目标年；甘肃省、全国为对照。</p>"]
    common = common_notes(ctx)
    parts += [_common_line(common), "<div class='warned'>"]
    for r in w.itertuples():
        notes = row_notes(r.warnings, common)
        note = f"<p class='data-note'>数据提示：{_esc(notes)}</p>" if notes else ""
        parts.append(f"<section class='warned-item'><h3>{_esc(r.name_zh)} {_badge(r.status_code)}"
                     f"</h3><p>{_esc(r.reason)}</p>{note}{warned_chart(ctx, r)}</section>")
    parts.append("</div>")
    return "".join(parts)


def _fixed_threshold(ind) -> bool:
    """A target every region's value can be checked against alone (not one set relative to
    a base year or to another indicator of the same region)."""
    return ind.target.kind in ("at_most", "at_least", "around") and not ind.target.reference


#: Up to this many regions, the comparison shows one column per region; beyond it, where
#: the region stands among them (rank, median, best quarter).
WIDE_COMPARISON = 8


def comparison_html(ctx: BriefContext) -> str:
    """The warned indicators' latest values in the other regions, marked when they already
    meet the target."""
    w = ctx.warned
    if w.empty:
        return ""
    regions = ctx.peers or monitored()
    if len(regions) > WIDE_COMPARISON:
        return _comparison_ranked(ctx, w, regions)
    from .indicator_catalog import indicator

    latest = ctx.latest.set_index(["indicator", "region_code"])
    head = "".join(f"<th>{_esc(r.name)}</th>" for r in regions)
    rows = []
    for r in w.itertuples():
        ind = indicator(r.indicator)
        cells = []
        for reg in regions:
            key = (ind.data_id, reg.code)
            if key not in latest.index:
                cells.append("<td>—</td>")
                continue
            v = latest.loc[key]
            met = ind.target.meets(float(v.value)) if _fixed_threshold(ind) else None
            mark = " ✓" if met else ""
            style = " style='font-weight:bold'" if reg.code == ctx.region_code else ""
            cells.append(f"<td{style}>{_fmt(v.value, ind.unit)}{mark}"
                         f"<span style='color:#6e7781'>（{int(v.year)}）</span></td>")
        rows.append(f"<tr><td>{_esc(r.name_zh)}</td><td>{_esc(r.target_text)}</td>{''.join(cells)}</tr>")
    title = "与其他县（区）比较" if ctx.region in {x.name for x in monitored()} else "与其他地区比较"
    return (f"<h2>{title}</h2><p>本地区预警指标在各地区的最新值（括号内为年份；✓ 表示已达到目标值）。</p>"
            f"<table class='status'><thead><tr><th>指标</th><th>目标</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _comparison_ranked(ctx: BriefContext, w: pd.DataFrame, regions: list) -> str:
    """Where the region stands among many: its value, rank (1 = best), the median and the
    best quarter's threshold, and how many regions already meet the target."""
    from .indicator_catalog import indicator

    lat = ctx.latest.copy()
    lat.attrs = {}
    by_ind = {k: g.set_index("region_code")["value"].astype(float)
              for k, g in lat.groupby("indicator", sort=False, observed=True)}
    rows = []
    for r in w.itertuples():
        ind = indicator(r.indicator)
        v = by_ind.get(ind.data_id)
        if v is None or v.empty:
            continue
        own = v.get(ctx.region_code)
        lower_better = ind.target.lower_is_better
        if lower_better is None and ind.direction in ("up", "down"):
            lower_better = ind.direction == "down"
        rank = best_q = None
        if lower_better is not None:   # no "better" for an "around" target: no rank
            ranked = v.sort_values(ascending=bool(lower_better))
            if own is not None:
                rank = int(list(ranked.index).index(ctx.region_code)) + 1
            best_q = float(ranked.quantile(0.25 if lower_better else 0.75))
        met = ""
        if _fixed_threshold(ind):
            met = str(int(sum(bool(ind.target.meets(float(x))) for x in v)))
        rows.append(
            f"<tr><td>{_esc(r.name_zh)}</td><td>{_esc(r.target_text)}</td>"
            f"<td style='font-weight:bold'>{_fmt(own, ind.unit)}</td>"
            f"<td>{'—' if rank is None else f'{rank}/{len(v)}'}</td>"
            f"<td>{_fmt(float(v.median()), ind.unit)}</td><td>{_fmt(best_q, ind.unit)}</td>"
            f"<td>{met or '—'}</td></tr>")
    return (f"<h2>与其他地区比较</h2><p>本地区预警指标在同级 {len(regions)} 个地区中的位置"
            "（最新值；排名第1为最好；“最好的四分之一”为排名前25%地区的界值）。</p>"
            "<table class='status'><thead><tr><th>指标</th><th>目标</th><th>本地区</th>"
            "<th>排名</th><th>中位数</th><th>最好的四分之一</th><th>已达标地区数</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def gaps_html(ctx: BriefContext) -> str:
    """Monitorable indicators with no data for this region, by reporting unit."""
    from .indicator_catalog import indicator

    a = ctx.monitored
    gaps = a[a.status_code == "insufficient"]
    if gaps.empty:
        return "<h2>数据缺口</h2><p>所有可监测指标均有数据。</p>"
    by_unit: dict[str, list[str]] = {}
    for r in gaps.itertuples():
        by_unit.setdefault(indicator(r.indicator).reporter, []).append(r.name_zh)
    items = "".join(f"<li><b>{_esc(u)}</b>（{len(v)} 项）：{_esc('、'.join(v))}</li>"
                    for u, v in sorted(by_unit.items(), key=lambda kv: -len(kv[1])))
    return (f"<h2>数据缺口</h2><p>{len(gaps)} 项可监测指标本地区数据不足（少于3年或缺失），"
            f"按报送单位列出：</p><ul>{items}</ul>")


def write_summary(ctx: BriefContext, path: str | Path | None) -> None:
    """Write the headline counts as JSON for the batch's index page (atomic)."""
    if not path:
        return
    path = Path(path)
    data = {**ctx.counts(), "region": ctx.region, "year": ctx.year, "kind": ctx.kind,
            "illustrative": ctx.illustrative, "synthetic": ctx.synthetic,
            "warned": int(len(ctx.warned))}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


STYLE = """<style>
table.status { border-collapse: collapse; width: 100%; margin-bottom: 1em; table-layout: auto; }
table.status th, table.status td { border-bottom: 1px solid #ddd; padding: .3em .5em;
  text-align: left !important; vertical-align: top; }
table.status td:first-child { min-width: 11em; }
table.status td:last-child { color: #57606a; font-size: .9em; }
div.warned { display: grid; grid-template-columns: repeat(auto-fill, minmax(30em, 1fr));
  gap: 1.2em 2em; }
section.warned-item h3 { margin: .6em 0 .3em; }
section.warned-item p { margin: .3em 0; }
p.data-note { color: #6e7781; font-size: .9em; }
body, .jp-RenderedHTMLCommon { font-family: __FONT__; }
</style>""".replace("__FONT__", CSS_FONT_FAMILY)


def sections(ctx: BriefContext) -> list[str]:
    """All sections of the brief, in order, as HTML strings."""
    return [STYLE + title_html(ctx), headline_html(ctx), overview_html(ctx),
            status_table_html(ctx), warned_html(ctx), comparison_html(ctx), gaps_html(ctx)]
