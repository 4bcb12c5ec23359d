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
from .vocab.labels import (CSS_FONT_FAMILY, CURRENT_COLORS, CURRENT_LABELS, MUTED_COLOR,
                           OUTLOOK_LABELS, STATUS_CODES, STATUS_COLORS, STATUS_LABELS,
                           STATUS_TEXT_COLORS)
from .vocab.numbers import format_prob, format_value

if TYPE_CHECKING:
    from .tables import LongTable

KIND_ZH = {"annual": "年度监测报告", "midterm": "中期评估报告", "final": "终期评估报告"}
#: The last words of a brief's title: "<地区><年份>年妇女儿童发展规划监测报告".
KIND_TITLE = {"annual": "监测报告", "midterm": "中期评估报告", "final": "终期评估报告"}
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
    #: last year's assessment of the same region (annual rule), for "change since last year"
    previous: pd.DataFrame | None = None
    #: the long table file read instead of the database (``prepare(data=...)``), if any
    table: str | None = None
    _totals: dict | None = field(default=None, repr=False)
    _goals: dict = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        return brief_title(self.region, self.year, self.kind)

    @property
    def synthetic(self) -> bool:
        """True when the brief rests on the scale generator's synthetic table."""
        return self.obs is not None and "synthetic" in self.obs and \
            bool(self.obs["synthetic"].fillna(False).astype(bool).any())

    @property
    def monitored(self) -> pd.DataFrame:
        return self.assessment[self.assessment.status_code != "not_applicable"]

    def goal_status(self, previous: bool = False) -> pd.DataFrame:
        """:func:`wuwei_analysis.goals.goal_status` of this year's assessment (of last
        year's with ``previous``), computed once per brief (every domain paragraph, the
        summary and the counts use it)."""
        from .goals import goal_status

        if previous not in self._goals:
            self._goals[previous] = goal_status(self.previous if previous else self.assessment)
        return self._goals[previous]

    def counts(self, previous: bool = False) -> dict[str, int]:
        """Headline counts over the plans' 主要目标 (:func:`wuwei_analysis.goals.goal_counts`)."""
        from .goals import goal_counts

        return goal_counts(self.previous if previous else self.assessment,
                           status=self.goal_status(previous))

    @property
    def warned(self) -> pd.DataFrame:
        """Indicators off track, at risk or met but likely to slip, worst first; an
        indicator of both plans (``same_as``) once."""
        from .indicator_catalog import indicator

        a = self.monitored
        out = a[a.status_code.isin(WARNED)].copy()
        out["_rank"] = out.status_code.map({c: i for i, c in enumerate(WARNED)})
        out["_data"] = [indicator(i).data_id for i in out.indicator]
        out = out.sort_values(["_rank", "p_meet"], na_position="last")
        return out.drop_duplicates("_data").drop(columns=["_rank", "_data"])


#: Statuses that get a chart in the appendix, worst first.
WARNED = ("off_track", "at_risk", "may_slip")


def brief_title(region: str, year: int, kind: str = "annual") -> str:
    """The page title of a brief: "古浪县2024年妇女儿童发展规划监测报告"."""
    return f"{region}{int(year)}年妇女儿童发展规划{KIND_TITLE[kind]}"


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
    ctx.table = str(data) if data else None
    ctx.previous = previous_assessment(obs, reg, int(year))
    return ctx


def previous_assessment(obs: pd.DataFrame, reg, year: int) -> pd.DataFrame | None:
    """Last year's brief's assessment (annual rule, data up to ``year - 1``); None when
    there are no data for that year."""
    from .assessment import assess_frame

    prev = obs[obs.year <= year - 1]
    if prev.empty or not (prev.region_code == reg.code).any():
        return None
    return assess_frame(prev, reg, year - 1, kind="annual")


def _assess(obs: pd.DataFrame, reg, year: int, kind: str, engine: str = "vectorized"
            ) -> tuple[pd.DataFrame, dict]:
    """The region's assessment and the forecast table behind every assessed row (one
    engine call: the charts show the forecasts the statuses rest on)."""
    from .assessment import assess_frame

    forecasts: dict = {}
    a = assess_frame(obs, reg, year, kind=kind, forecasts=forecasts, engine=engine)
    return a, forecasts


# ----------------------------------------------------------------------- sections
# Every number goes through wuwei_analysis.vocab.numbers; every label and colour comes
# from wuwei_analysis.vocab.labels.

#: Labels and colours of the two status columns and of goal statuses: vocab.labels.
CURRENT_ZH = CURRENT_LABELS
OUTLOOK_ZH = OUTLOOK_LABELS
COLORS = {**CURRENT_COLORS, **STATUS_COLORS, "not_assessed": STATUS_COLORS["not_applicable"]}
#: Link from a brief back to the batch's index page (briefs sit in outputs/<year>_<kind>/).
INDEX_LINK = "../index.html"


def _esc(x: object) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))


_fmt = format_value
_pct = format_prob


def _badge(code: str, label: str | None = None) -> str:
    from .goals import GOAL_STATUS_ZH

    text = label or GOAL_STATUS_ZH.get(code) or OUTLOOK_ZH.get(code) or CURRENT_ZH.get(code, code)
    fg = "#333333" if code in ("not_applicable", "not_assessed", "no_target") else "#ffffff"
    return (f"<span class='badge' style='color:{fg};background:{COLORS.get(code, MUTED_COLOR)}'>"
            f"{_esc(text)}</span>")


def _anchor(ind_id: str) -> str:
    return f"ind-{ind_id}"


def _fig_anchor(data_id: str) -> str:
    return f"fig-{data_id}"


def title_html(ctx: BriefContext) -> str:
    """Title, the data notice (first page of every format), the way back to the index and
    the table of contents."""
    note = (f"<p class='notice'>{SYNTHETIC_NOTE if ctx.synthetic else ILLUSTRATIVE_NOTE}</p>"
            if ctx.illustrative or ctx.synthetic else "")
    toc = "".join(f"<li><a href='#{a}'>{_esc(t)}</a></li>" for a, t in toc_entries(ctx))
    return (f"<p class='back'><a href='{INDEX_LINK}'>← 返回简报汇总</a></p>"
            f"<h1 id='top'>{_esc(ctx.title)}</h1>"
            f"<p class='subtitle'>{_esc(ctx.region)}妇女儿童发展规划（2021—2030年）"
            f"{ctx.year}年{KIND_ZH[ctx.kind]}</p>{note}"
            f"<nav class='toc'><b>目录</b><ol>{toc}</ol></nav>")


def _domains(ctx: BriefContext) -> list[tuple[str, str, str, pd.DataFrame]]:
    """(plan, domain code, domain name, rows) of every domain, in catalogue order."""
    a = ctx.assessment
    return [(plan, code, str(g.domain.iloc[0]), g)
            for (plan, code), g in a.groupby(["plan", "domain_code"], sort=False)]


def toc_entries(ctx: BriefContext) -> list[tuple[str, str]]:
    out = [("summary", "领导摘要")]
    out += [(f"dom-{code}", f"{_plan_short(plan)}·{name}") for plan, code, name, _ in _domains(ctx)]
    out.append(("quality", "数据质量与数据缺口"))
    if not compared(ctx).empty:
        out.append(("comparison", "与其他地区比较"))
    out.append(("appendix", "附录：预警指标图表"))
    return out


def _plan_short(plan: str) -> str:
    return {"women": "妇女", "children": "儿童"}.get(plan, str(plan))


def _gap(row) -> float | None:
    """How far the latest value is from the target's threshold, in the value's unit
    (0 when met); None without a threshold or value."""
    if pd.isna(row.latest_value) or pd.isna(row.threshold):
        return None
    v, t = float(row.latest_value), float(row.threshold)
    if row.target_kind in ("at_most", "relative_change"):
        return max(v - t, 0.0)
    if row.target_kind == "at_least":
        return max(t - v, 0.0)
    if row.target_kind == "around":
        tol = 0.0
        return max(abs(v - t) - tol, 0.0)
    return None


def _rel_gap(row) -> float:
    g = _gap(row)
    if g is None or pd.isna(row.threshold) or float(row.threshold) == 0:
        return 0.0
    return g / abs(float(row.threshold))


def top_risks(ctx: BriefContext, n: int = 10) -> pd.DataFrame:
    """The ``n`` goals most at risk: goals off track, at risk or likely to slip, by the
    probability of meeting the target (lowest first), then by the relative gap to it; one
    row per goal (its worst indicator), an indicator shared by two goals once."""
    from .indicator_catalog import indicator

    g = ctx.goal_status()
    g = g[g.status_code.isin(WARNED) & g.worst.notna()]
    a = ctx.assessment.set_index("indicator")
    rows = a.loc[list(g.worst)].reset_index()
    rows["goal_key"] = list(g.key)
    rows["goal_status"] = list(g.status_code)
    rows["_p"] = rows.p_meet.astype(float).fillna(0.5)
    rows["_gap"] = [-_rel_gap(r) for r in rows.itertuples()]
    rows["_data"] = [indicator(i).data_id for i in rows.indicator]
    rows = rows.sort_values(["_p", "_gap"]).drop_duplicates("_data")
    return rows.head(n).drop(columns=["_p", "_gap", "_data"])


def moved(ctx: BriefContext) -> list[tuple[str, str, str, str]]:
    """Goals whose status changed since last year's brief: (goal key, name, before, now)
    status codes, worse first."""
    from .goals import GOAL_STATUS_ORDER

    if ctx.previous is None:
        return []
    now = ctx.goal_status().set_index("key")
    before = ctx.goal_status(previous=True).set_index("key")
    names = ctx.assessment.set_index("indicator").name_zh
    out = []
    for key, r in now.iterrows():
        b = before.status_code.get(key)
        if b is None or b == r.status_code or "not_assessed" in (b, r.status_code):
            continue
        out.append((key, _goal_name(key, r.worst, names), b, r.status_code))
    rank = {c: i for i, c in enumerate(GOAL_STATUS_ORDER)}
    return sorted(out, key=lambda t: rank[t[2]] - rank[t[3]])


def _goal_name(key: str, worst: object, names: pd.Series) -> str:
    if isinstance(worst, str) and worst in names.index:
        return str(names[worst])
    return key


def data_gaps(ctx: BriefContext) -> dict[str, list[str]]:
    """Assessed indicators with no usable data, by reporting member unit (most first)."""
    from .indicator_catalog import indicator

    a = ctx.monitored
    gaps = a[(a.current_code == "no_data") | (a.outlook_code == "insufficient")]
    by_unit: dict[str, list[str]] = {}
    seen = set()
    for r in gaps.itertuples():
        ind = indicator(r.indicator)
        if ind.data_id in seen:
            continue
        seen.add(ind.data_id)
        by_unit.setdefault(ind.reporter, []).append(r.name_zh)
    return dict(sorted(by_unit.items(), key=lambda kv: -len(kv[1])))


def summary_html(ctx: BriefContext) -> str:
    """领导摘要: one A4 page — goal counts with last year's, the 10 goals most at risk
    (linked to their rows), what moved between statuses, data gaps by member unit."""
    from .goals import GOAL_STATUS_ORDER, GOAL_STATUS_ZH

    c = ctx.counts()
    p = ctx.counts(previous=True) if ctx.previous is not None else None
    head = "".join(f"<th style='color:{COLORS[k]}'>{GOAL_STATUS_ZH[k]}</th>"
                   for k in GOAL_STATUS_ORDER)
    now = "".join(f"<td class='n'>{c[k]}</td>" for k in GOAL_STATUS_ORDER)
    rows = f"<tr><th>{ctx.year}年</th>{now}</tr>"
    if p is not None:
        rows += "<tr><th>上年</th>" + "".join(f"<td class='n'>{p[k]}</td>"
                                             for k in GOAL_STATUS_ORDER) + "</tr>"
        rows += "<tr><th>增减</th>" + "".join(
            f"<td class='n'>{_signed(c[k] - p[k])}</td>" for k in GOAL_STATUS_ORDER) + "</tr>"
    judged = c["total"] - c["not_assessed"]
    mode = {"annual": f"按当前趋势判断到目标年能否实现",
            "midterm": "按2025年应达到的进度（2020年基期到目标值的线性路径）判断",
            "final": "按2030年终期目标判断"}[ctx.kind]
    parts = "，".join(f"{GOAL_STATUS_ZH[k]} {c[k]} 项" for k in GOAL_STATUS_ORDER
                     if k != "not_assessed")
    lead = (f"<p>两个规划共有主要目标 {c['total']} 项（同时列入两个规划的目标计一次），"
            f"其中 {judged} 项有可监测指标，{mode}：{parts}。"
            f"一个目标含多项指标时取其中最差的状态（规则见 docs/status_rules.md）。</p>")
    risks = top_risks(ctx)
    if risks.empty:
        risk_html = "<p>本期没有有风险或难以实现的目标。</p>"
    else:
        items = "".join(
            f"<tr><td><a href='#{_anchor(r.indicator)}'>{_esc(r.name_zh)}</a>"
            f"<span class='muted'>（{_esc(r.goal_key)}）</span></td>"
            f"<td>{_fmt(r.latest_value, r.unit)}</td><td>{_esc(r.target_text)}</td>"
            f"<td>{_badge(r.goal_status)}</td><td class='n'>{_pct(r.p_meet)}</td></tr>"
            for r in risks.itertuples())
        risk_html = ("<table class='status compact'><thead><tr><th>目标（指标）</th><th>最新值</th>"
                     "<th>目标值</th><th>状态</th><th>实现概率</th></tr></thead>"
                     f"<tbody>{items}</tbody></table>")
    mv = moved(ctx)
    if ctx.previous is None:
        moved_html = "<p>无上年数据，不比较。</p>"
    elif not mv:
        moved_html = "<p>与上年相比，没有目标的状态发生变化。</p>"
    else:
        worse = [t for t in mv if GOAL_STATUS_ORDER.index(t[3]) > GOAL_STATUS_ORDER.index(t[2])]
        better = [t for t in mv if t not in worse]

        def line(ts):
            return "；".join(f"{_esc(n)}（{GOAL_STATUS_ZH[b]}→{GOAL_STATUS_ZH[a]}）"
                            for _, n, b, a in ts[:6]) + (f"等 {len(ts)} 项" if len(ts) > 6 else "")
        moved_html = (f"<p><b>变差 {len(worse)} 项：</b>{line(worse) if worse else '无'}。"
                      f"<br><b>好转 {len(better)} 项：</b>{line(better) if better else '无'}。</p>")
    gaps = data_gaps(ctx)
    gap_html = ("<p>各项可监测指标均有数据。</p>" if not gaps else
                "<p>" + "；".join(f"{_esc(u)} {len(v)} 项" for u, v in gaps.items())
                + f"（详见<a href='#quality'>数据缺口</a>）。</p>")
    return (f"<section class='summary' id='summary'><h2>领导摘要</h2>{lead}"
            f"<table class='counts'><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody>"
            f"</table><h3>最需关注的 {len(risks)} 项目标</h3>{risk_html}"
            f"<h3>与上年相比</h3>{moved_html}<h3>数据缺口（按报送单位）</h3>{gap_html}</section>")


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else ("0" if n == 0 else f"−{-n}")


# ------------------------------------------------------------------ domain paragraphs
def _previous_value(ctx: BriefContext, row) -> tuple[float | None, int | None]:
    """The value of the year before the latest one (None when not observed)."""
    from .indicator_catalog import indicator

    if pd.isna(row.latest_year):
        return None, None
    hist = _history(ctx, indicator(row.indicator).data_id)
    own = hist[(hist.region_code == ctx.region_code) & (hist.year == int(row.latest_year) - 1)]
    if own.empty:
        return None, None
    return float(own.value.iloc[-1]), int(row.latest_year) - 1


def indicator_sentence(ctx: BriefContext, row) -> str:
    """One clause in the statistics office's style: "婴儿死亡率为4.4‰，比上年下降0.3个千分点，
    已实现规划目标" (+ distance to the target and the outlook)."""
    from .vocab.numbers import format_change, round_for_unit

    if pd.isna(row.latest_value):
        return ""
    v = float(row.latest_value)
    s = f"{row.name_zh}为{_fmt(v, row.unit)}"
    if int(row.latest_year) != ctx.year:
        s = f"{row.name_zh}（{int(row.latest_year)}年）为{_fmt(v, row.unit)}"
    pv, _ = _previous_value(ctx, row)
    if pv is not None:
        d = v - pv
        ch = format_change(d, row.unit, signed=False)
        if not round_for_unit(d, row.unit):
            s += "，与上年持平"
        else:
            s += f"，比上年{'上升' if d > 0 else '下降'}{ch}"
    cur, out = row.current_code, row.outlook_code
    p = _pct(row.p_meet)
    ty = int(row.target_year) if not pd.isna(row.target_year) else 2030
    if cur == "met" and out in ("on_track", "not_applicable", "insufficient"):
        s += f"，已实现规划目标（{row.target_text}）"
    elif cur == "met":
        s += f"，已实现规划目标（{row.target_text}），但按当前趋势{ty}年保持达标的概率为{p}，可能回落"
    else:
        gap = _gap(row)
        if cur == "not_met" and gap:
            s += f"，距目标（{row.target_text}）还差{format_change(gap, row.unit, signed=False)}"
        elif row.target_text:
            s += f"，目标为{row.target_text}"
        if out == "on_track":
            s += "，按当前趋势可按期实现"
        elif out == "at_risk":
            s += f"，按期实现存在风险（实现概率{p}）"
        elif out == "off_track":
            s += f"，按当前趋势难以按期实现（实现概率{p}）"
        elif out == "insufficient":
            s += "，数据年份不足，暂不判断趋势"
    return s


#: Indicators a domain's opening paragraph speaks of (the rest are in its table).
LEAD_CLAUSES = 5


def domain_paragraph(ctx: BriefContext, rows: pd.DataFrame) -> str:
    """The opening paragraph of a domain, generated from its numbers."""
    from .goals import GOAL_STATUS_ORDER, GOAL_STATUS_ZH

    gs = ctx.goal_status()
    code = rows.domain_code.iloc[0]
    mine = gs[[code in d for d in gs.domains]]
    judged = mine[mine.status_code != "not_assessed"]
    counts = judged.status_code.value_counts()
    parts = "、".join(f"{GOAL_STATUS_ZH[k]}{int(counts[k])}项" for k in GOAL_STATUS_ORDER
                     if k in counts and k != "not_assessed")
    lead = f"本领域主要目标{len(mine)}项"
    lead += f"，可量化监测的{len(judged)}项中{parts}" if len(judged) else "，均为定性目标"
    lead += "。"
    assessed = rows[(rows.status_code != "not_applicable") & rows.latest_value.notna()]
    # the goal-bearing indicators with a numeric target first, then the rest
    quant = assessed.target_kind.isin(["at_most", "at_least", "around", "relative_change"])
    ordered = pd.concat([assessed[quant], assessed[~quant]])
    clauses = [c for c in (indicator_sentence(ctx, r) for r in ordered.head(LEAD_CLAUSES).itertuples()) if c]
    more = len(ordered) - LEAD_CLAUSES
    body = "；".join(clauses)
    text = f"{ctx.year}年，{ctx.region}{body}。" if body else ""
    if more > 0:
        text += f"其余 {more} 项指标见下表。"
    return f"<p class='lead'>{_esc(lead)}{_esc(text)}</p>"


def domain_html(ctx: BriefContext, plan: str, code: str, name: str, rows: pd.DataFrame,
                figures: dict[str, int]) -> str:
    """One domain: its paragraph, the two-column status table and its qualitative goals."""
    from .indicator_catalog import indicator

    common = common_notes(ctx)
    shown = rows[rows.status_code != "not_applicable"]
    body = []
    for r in shown.itertuples():
        data_id = indicator(r.indicator).data_id
        fig = figures.get(data_id)
        link = f" <a class='fig' href='#{_fig_anchor(data_id)}'>图{fig}</a>" if fig else ""
        year = "" if pd.isna(r.latest_year) else f"<span class='muted'>（{int(r.latest_year)}）</span>"
        notes = row_notes(r.warnings, common)
        body.append(
            f"<tr id='{_anchor(r.indicator)}'><td>{_esc(r.name_zh)}{link}</td>"
            f"<td>{_fmt(r.latest_value, r.unit)}{year}</td><td>{_esc(r.target_text)}</td>"
            f"<td>{_badge(r.current_code, CURRENT_ZH.get(r.current_code))}</td>"
            f"<td>{_badge(r.outlook_code, OUTLOOK_ZH.get(r.outlook_code))}</td>"
            f"<td class='n'>{_pct(r.p_meet)}</td><td class='note'>{_esc(notes)}</td></tr>")
    table = ("<table class='status'><thead><tr><th>指标</th><th>最新值</th><th>目标</th>"
             "<th>现状</th><th>2030年展望</th><th>实现概率</th><th>提示</th></tr></thead>"
             f"<tbody>{''.join(body)}</tbody></table>") if body else ""
    qual = rows[rows.status_code == "not_applicable"]
    qual_goals = sorted({indicator(i).goal for i in qual.indicator if indicator(i).goal},
                        key=lambda g: int(g.split(".")[1]))
    qual_line = (f"<p class='muted'>不作量化评估的目标（定性目标或本级不监测）{len(qual_goals)} 项："
                 f"{'、'.join('目标' + g.split('.')[1] for g in qual_goals)}。</p>") if qual_goals else ""
    return (f"<section class='domain' id='dom-{code}'><h2>{_plan_short(plan)}·{_esc(name)}</h2>"
            f"{domain_paragraph(ctx, rows)}{table}{qual_line}</section>")


def domains_html(ctx: BriefContext) -> str:
    figures = figure_numbers(ctx)
    common = common_notes(ctx)
    return (_common_line(common) + "".join(domain_html(ctx, plan, code, name, rows, figures)
                                           for plan, code, name, rows in _domains(ctx)))


def figure_numbers(ctx: BriefContext) -> dict[str, int]:
    """Appendix figure number of each charted indicator's data id."""
    from .indicator_catalog import indicator

    return {indicator(i).data_id: n for n, i in enumerate(ctx.warned.indicator, start=1)}


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
    """Every domain with its paragraph and two-column status table (kept name)."""
    return domains_html(ctx)


def headline_html(ctx: BriefContext) -> str:
    """The leaders' summary (kept name)."""
    return summary_html(ctx)


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
    """附录: the chart of every indicator off track, at risk or likely to slip (worst first),
    numbered, each with its sentence and a link back to its row."""
    w = ctx.warned
    if w.empty:
        return ("<section class='appendix' id='appendix'><h2>附录：预警指标图表</h2>"
                "<p>本期没有有风险、难以实现或可能回落的指标。</p></section>")
    from .indicator_catalog import indicator

    n_off = int((w.status_code == "off_track").sum())
    n_risk = int((w.status_code == "at_risk").sum())
    parts = [f"<section class='appendix' id='appendix'><h2>附录：预警指标图表（{len(w)} 项）</h2>"
             f"<p>难以实现 {n_off} 项、有风险 {n_risk} 项、已达标但可能回落 "
             f"{len(w) - n_off - n_risk} 项，按严重程度排列。实线为实际值，虚线为按当前趋势的预测，"
             "深浅阴影为 80%、95% 预测区间，橙色横线为规划目标，菱形标出目标年；甘肃省、全国为对照。</p>"
             "<div class='warned'>"]
    for n, r in enumerate(w.itertuples(), start=1):
        data_id = indicator(r.indicator).data_id
        parts.append(
            f"<figure class='warned-item' id='{_fig_anchor(data_id)}'>"
            f"<figcaption>图{n} <a href='#{_anchor(r.indicator)}'>{_esc(r.name_zh)}</a> "
            f"{_badge(r.status_code)}</figcaption>{warned_chart(ctx, r)}</figure>")
    parts.append("</div></section>")
    return "".join(parts)


def _fixed_threshold(ind) -> bool:
    """A target every region's value can be checked against alone (not one set relative to
    a base year or to another indicator of the same region)."""
    return ind.target.kind in ("at_most", "at_least", "around") and not ind.target.reference


#: Up to this many regions, the comparison shows one column per region; beyond it, where
#: the region stands among them (rank, median, best quarter).
WIDE_COMPARISON = 8


def compared(ctx: BriefContext) -> pd.DataFrame:
    """The indicators the comparison shows: those off track (难以实现), worst first."""
    w = ctx.warned
    return w[w.status_code == "off_track"]


def comparison_html(ctx: BriefContext) -> str:
    """The off-track indicators' latest values in the other regions, marked when they
    already meet the target."""
    w = compared(ctx)
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
    return (f"<h2 id='comparison'>{title}</h2><p>本地区难以实现的指标在各地区的最新值（括号内为年份；✓ 表示已达到目标值）。</p>"
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
    return (f"<h2 id='comparison'>与其他地区比较</h2><p>本地区难以实现的指标在同级 {len(regions)} 个地区中的位置"
            "（最新值；排名第1为最好；“最好的四分之一”为排名前25%地区的界值）。</p>"
            "<table class='status'><thead><tr><th>指标</th><th>目标</th><th>本地区</th>"
            "<th>排名</th><th>中位数</th><th>最好的四分之一</th><th>已达标地区数</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def gaps_html(ctx: BriefContext) -> str:
    """数据质量与数据缺口: the roll-up's consistency warnings about this region (up to the
    report year: the values the trends rest on), the values that were derived from the
    counties' data rather than reported, and the indicators without usable data, by
    reporting member unit."""
    rows = data_quality_rows(ctx)
    if rows is None:
        why = "（数据取自长表文件，不是监测数据库）" if ctx.table else ""
        dq = f"<p class='muted'>本期未运行数据一致性检查{why}。</p>"
    else:
        warn = [r for r in rows if r.get("类别") != DERIVED_KIND]
        derived = [r for r in rows if r.get("类别") == DERIVED_KIND]
        if warn:
            items = "".join(f"<li><b>{_esc(r.get('类别', ''))}</b>：{_esc(_dq_text(r))}</li>"
                            for r in warn)
            dq = (f"<p>上下级、分组与合计的一致性检查发现 {len(warn)} 处需核实（请报送单位核对后"
                  f"重新报送）：</p><ul>{items}</ul>")
        else:
            dq = "<p>上下级、分组与合计的一致性检查未发现问题。</p>"
        if derived:
            by_ind: dict[str, list[int]] = {}
            for r in derived:
                by_ind.setdefault(str(r.get("指标", "")), []).append(int(r.get("年份", 0)))
            items = "".join(f"<li>{_esc(n)}：{'、'.join(str(y) for y in sorted(set(ys)))}年</li>"
                            for n, ys in by_ind.items())
            dq += (f"<p>以下 {len(derived)} 个数值不是上报数，由各县（区）数据汇总"
                   f"（按分子、分母或加权合计，规则见指标目录）：</p><ul>{items}</ul>")
        else:
            dq += "<p>本地区的数值均为上报数（没有由各县（区）数据汇总的数值）。</p>"
    gaps = data_gaps(ctx)
    if not gaps:
        gap = "<p>所有可监测指标均有数据。</p>"
    else:
        n = sum(len(v) for v in gaps.values())
        items = "".join(f"<li><b>{_esc(u)}</b>（{len(v)} 项）：{_esc('、'.join(v))}</li>"
                        for u, v in gaps.items())
        gap = (f"<p>{n} 项可监测指标本地区暂无数据或数据年份不足（少于3年），按报送单位列出：</p>"
               f"<ul>{items}</ul>")
    return (f"<section id='quality'><h2>数据质量与数据缺口</h2><h3>数据一致性</h3>{dq}"
            f"<h3>数据缺口</h3>{gap}</section>")


#: The 类别 of a data-quality row that is a derived (not reported) value.
DERIVED_KIND = "汇总数（非上报）"


def rollup_quality(region_code: str, year: int, db: str | None = None) -> list[dict]:
    """The data-quality rows of a region up to ``year`` (:func:`wuwei_analysis.rollup.data_quality`
    on the brief's database): consistency warnings and derived values, columns 类别 / 指标 /
    年份 / 说明; the latest year first."""
    from .database import connect
    from .rollup import data_quality

    with connect(db or None) as conn:     # a new default database gets its default data
        dq = data_quality(region_code, None, db=conn)
    dq = dq[dq["年份"] <= int(year)]
    dq = dq.sort_values("年份", ascending=False, kind="stable")
    return dq.to_dict("records")


#: The data-quality rows of a brief: ``(region_code, year, db) -> list[dict | str]``
#: (default: the roll-up's checks, :func:`rollup_quality`); None to leave them out.
DATA_QUALITY = rollup_quality


def data_quality_rows(ctx: BriefContext) -> list | None:
    """Data-quality rows for the brief's region and year, or None when not checked (no
    checker, or a brief from a long table file: the checks read the database)."""
    if DATA_QUALITY is None or ctx.table:
        return None
    try:
        return list(DATA_QUALITY(ctx.region_code, ctx.year, ctx.db))
    except Exception:  # noqa: BLE001 — a failed check must not sink the brief (nor print)
        return None


def _dq_text(row) -> str:
    if isinstance(row, dict):
        return str(row.get("说明") or row.get("message") or row.get("text")
                   or "；".join(f"{k}：{v}" for k, v in row.items()))
    return str(row)


def write_summary(ctx: BriefContext, path: str | Path | None) -> None:
    """Write the headline counts (over 主要目标) as JSON for the batch's index page (atomic)."""
    if not path:
        return
    path = Path(path)
    data = {**ctx.counts(), "region": ctx.region, "year": ctx.year, "kind": ctx.kind,
            "title": ctx.title, "illustrative": ctx.illustrative, "synthetic": ctx.synthetic,
            "warned": int(len(ctx.warned))}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


STYLE = """<style>
body, .jp-RenderedHTMLCommon { font-family: __FONT__; }
.jp-RenderedHTMLCommon h1 { font-size: 1.7em; margin: .2em 0; }
p.subtitle { color: #57606a; margin: 0 0 .5em; }
p.back { margin: 0; font-size: .9em; }
p.notice { background: #fff8c5; border: 1px solid #d4a72c; padding: .4em .8em; }
nav.toc ol { columns: 2; margin: .3em 0; }
.badge { color: #fff; padding: 0 .35em; border-radius: 3px; white-space: nowrap; font-size: .92em; }
.muted { color: #6e7781; }
td.n, th.n { text-align: right !important; font-variant-numeric: tabular-nums; }
table.counts { border-collapse: collapse; margin: .4em 0; }
table.counts th, table.counts td { border: 1px solid #d0d7de; padding: .2em .5em; font-size: .92em; }
.jp-RenderedHTMLCommon table.status { border-collapse: collapse; width: 100%; margin-bottom: .8em; table-layout: auto; }
.jp-RenderedHTMLCommon table.status th, .jp-RenderedHTMLCommon table.status td {
  border-bottom: 1px solid #ddd; padding: .2em .4em; text-align: left; vertical-align: top; }
table.status td:first-child { min-width: 10em; }
table.status td.note { color: #57606a; font-size: .85em; }
p.lead { text-indent: 2em; line-height: 1.7; }
p.data-note { color: #6e7781; font-size: .9em; }
a.fig { font-size: .85em; }
div.warned { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .6em 1.2em; }
figure.warned-item { margin: 0; break-inside: avoid; }
figure.warned-item svg { width: 100%; height: auto; }
figcaption { font-weight: bold; margin: .2em 0; }
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-center { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-size: 9pt; color: #57606a; } }
@media print {
  body { font-size: 9.5pt; }
  body.jp-Notebook { padding: 0 !important; max-width: none !important; }
  .jp-Cell, .jp-OutputArea-output, .jp-RenderedHTMLCommon { padding: 0 !important; margin: 0 !important; }
  section.summary { break-after: page; font-size: 9pt; }
  section.summary h2 { margin-top: 0; }
  section.summary h3 { margin: .5em 0 .2em; font-size: 1.05em; }
  section.summary p { margin: .2em 0; }
  .jp-RenderedHTMLCommon table.status td, .jp-RenderedHTMLCommon table.status th {
    padding: .05em .25em !important; font-size: 8pt; line-height: 1.3; }
  .jp-RenderedHTMLCommon table.status td.note { font-size: 6.5pt; color: #57606a; }
  .jp-RenderedHTMLCommon p.lead { font-size: 9pt; line-height: 1.5; margin: .2em 0; }
  .jp-RenderedHTMLCommon h2 { font-size: 12pt; margin: .6em 0 .2em; }
  section.appendix { break-before: page; }
  div.warned { grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0 .6em; }
  figure.warned-item svg { max-height: 44mm; }
  figcaption { font-size: 8.5pt; }
  p.back, nav.toc { display: none; }
  a { color: inherit; text-decoration: none; }
}
</style>""".replace("__FONT__", CSS_FONT_FAMILY)


def sections(ctx: BriefContext) -> list[str]:
    """All sections of the brief, in order, as HTML strings: title and contents, the
    leaders' summary, the domains, data quality, the comparison, the chart appendix."""
    return [STYLE + title_html(ctx), summary_html(ctx), domains_html(ctx), gaps_html(ctx),
            comparison_html(ctx), warned_html(ctx)]
