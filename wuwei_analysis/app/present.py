"""What the page shows, as HTML strings and file bytes (pure functions of a View).

The chart (:func:`chart_svg`), the summary card, the what-if sentence, the status table
(sortable by any column) and the CSV / Excel download of the shown data. No widgets here,
so everything is unit-tested as plain strings and bytes.
"""
from __future__ import annotations

import base64
import html
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from ..indicator_catalog import indicator as _indicator, indicators as _indicators, units as _units
from .. import svgchart
from ..vocab.numbers import round_for_unit
from ..svgchart import ILLUSTRATIVE_NOTE, ChartData, finite as _finite, fmt_num, render_svg
from ..vocab import labels as _labels
from ..vocab.numbers import format_prob, format_value
from .whatif import TrendWhatIf, WhatIf, required_rate, trend_whatif, whatif

if TYPE_CHECKING:
    import pandas as pd

    from .data import View

#: Status labels, legend order, colours: the one vocabulary (vocab.labels).
STATUS_CODES = _labels.STATUS_CODES
STATUS_ZH = _labels.STATUS_LABELS
STATUS_ORDER = _labels.STATUS_ORDER
STATUS_CODE_COLORS = _labels.STATUS_COLORS
STATUS_COLORS = _labels.STATUS_COLORS_ZH
#: Triage order of the status column: off-track first; statuses without a judgement
#: (数据不足, 不适用, 计算中) have no rank and always come last.
TRIAGE_RANK = {"难以实现": 0, "有风险": 1, "已达标但可能回落": 2, "按期可达": 3, "已实现": 4}
#: Status shown while a row is still being computed.
PENDING = "计算中"

#: How the status follows from the forecast (shown under the table).
STATUS_RULE_ZH = ("状态判定：已实现＝最新值已达到目标且按趋势目标年仍可达标；"
                  "已达标但可能回落＝最新值已达标，但目标年仍达标的概率不高；按期可达＝按趋势预测，目标年达标概率较高；"
                  "有风险＝达标概率居中；难以实现＝达标概率低；数据不足＝数据点太少无法判断。"
                  "方向性目标（逐步提高、持续下降）看趋势方向的把握程度。")

#: Sort keys of the status table: key -> (Chinese label, default descending?).
SORT_KEYS = {
    "status": ("状态（难以实现在前）", False),
    "order": ("规划顺序", False),
    "p_meet": ("达标概率", False),
    "name": ("指标名称", False),
    "latest_year": ("最新年份", True),
    "required": ("达标所需年均改善", True),
}

MODE_VERB = {"down": "下降", "up": "提高", "toward": "向目标值靠拢"}


_BY_ID: dict[str, Any] = {}


def _ind(iid: str):
    """Catalogue entry by id (a dict lookup; ``catalog.indicator`` also resolves names)."""
    if not _BY_ID:
        _BY_ID.update({i.id: i for i in _indicators()})
    hit = _BY_ID.get(iid)
    return hit if hit is not None else _indicator(iid)


def esc(s: Any) -> str:
    return html.escape("" if s is None else str(s), quote=True)


def fmt_value(v: Any, unit: str = "", decimals: int = 2) -> str:
    """:func:`vocab.numbers.format_value` (the unit's decimals; ``decimals`` is ignored)."""
    return format_value(v, unit)


fmt_pct = format_prob


def status_badge(status: str | None) -> str:
    s = status or "数据不足"
    if s == PENDING:
        return f'<span class="ww-badge ww-pending">{PENDING}…</span>'
    color = STATUS_COLORS.get(s, "#9e9e9e")
    fg = "#222" if s == "不适用" else "white"
    return (f'<span class="ww-badge" style="background:{color};color:{fg}">{esc(s)}</span>')


def illustrative_banner() -> str:
    return f'<div class="ww-illustrative" role="note">⚠ {esc(ILLUSTRATIVE_NOTE)}</div>'


def target_text(view: "View") -> str:
    t = view.ind.target
    txt = t.describe_zh(view.ind.unit)
    year = f"（{t.year}年）" if t.kind != "qualitative" else ""
    if t.kind == "relative_change" and view.threshold is not None:
        txt += f"，即≤{fmt_value(view.threshold, view.ind.unit, view.decimals)}" \
            if (t.change or 0) < 0 else \
            f"，即≥{fmt_value(view.threshold, view.ind.unit, view.decimals)}"
    return txt + year


# --------------------------------------------------------------------------- what-if
def modelled_level(view: "View") -> tuple[int | None, float | None]:
    """(latest observed year, the trend model's level in that year): where the what-if
    starts — the model's value, not one noisy observation. The model's fitted value when
    the forecast carries it (``attrs["fitted"]``), else the trend carried back one year
    from the first two forecast years (geometrically on a log-scale model)."""
    y, v = view.latest
    fc = view.forecast
    if y is None or fc is None or not len(fc):
        return y, v
    fitted = (fc.attrs or {}).get("fitted")
    level = None
    try:
        hit = fitted[fitted["year"] == y]["fitted"]
        level = _finite(hit.iloc[-1]) if len(hit) else None
    except (TypeError, KeyError, IndexError, AttributeError):
        level = None
    if level is None:
        by_year = {int(a): _finite(b) for a, b in zip(fc["year"], fc["mean"])}
        m1, m2 = by_year.get(int(y) + 1), by_year.get(int(y) + 2)
        if m1 is not None and m2 is not None:
            if (fc.attrs or {}).get("scale") == "log" and m1 > 0 and m2 > 0:
                level = m1 * m1 / m2
            else:
                level = 2 * m1 - m2
            lo, hi = view.bounds
            if lo is not None:
                level = max(level, lo)
            if hi is not None:
                level = min(level, hi)
    return y, (level if level is not None else v)


def scenario(view: "View", rate: float) -> WhatIf:
    """The what-if for a view at ``rate`` % a year better than the current trend (0 = the
    trend itself), from the modelled level; without a trend model, from the latest value."""
    y, v = modelled_level(view)
    lo, hi = view.bounds
    fc = view.forecast
    ty = int(view.ind.target.year)
    if fc is not None and len(fc) and y is not None and v is not None \
            and ty in set(fc["year"].astype(int)) and view.ind.target.kind != "qualitative":
        at = fc[fc["year"].astype(int) == ty].iloc[0]
        return trend_whatif(view.ind.target, fc["year"].astype(int).tolist(),
                            fc["mean"].astype(float).tolist(), y, v, rate,
                            lo80=_finite(at.get("lo80")), hi80=_finite(at.get("hi80")),
                            direction=view.ind.direction, threshold=view.threshold,
                            base_value=view.base_value, lower=lo, upper=hi)
    y, v = view.latest
    return whatif(view.ind.target, y, v, rate, direction=view.ind.direction,
                  threshold=view.threshold, base_value=view.base_value, lower=lo, upper=hi)


def rate_label(rate: float) -> str:
    """The what-if slider's meaning in words: "按当前趋势（0 %）" at 0."""
    if abs(rate) < 1e-9:
        return "按当前趋势（0 %）"
    if rate > 0:
        return f"比当前趋势每年多改善 {rate:g} %"
    return f"比当前趋势每年差 {abs(rate):g} %（恶化）"


def required_text(w: WhatIf, unit: str, decimals: int = 2) -> str:
    """"每年下降至少3.2%（约0.15‰/年）" — what it takes to meet the target."""
    if w.mode is None or w.start_value is None:
        return "—"
    if w.threshold is None:
        if w.mode in ("down", "up"):
            return f"保持每年{MODE_VERB[w.mode]}即可（方向性目标）"
        return "—"
    if w.required_rate is None:
        if w.target_year is not None and w.start_year is not None \
                and w.target_year <= w.start_year:
            return "目标年份已过，以实际值评价"
        return "按固定比例无法达到（目标值为0或超出取值范围）"
    verb = MODE_VERB[w.mode]
    if isinstance(w, TrendWhatIf):
        if w.required_rate == 0.0:
            return "按当前趋势即可达标"
        return (f"比当前趋势每年多{verb}至少{w.required_rate:.1f}%"
                if w.mode != "toward" else f"与目标值的差距比趋势每年多缩小{w.required_rate:.1f}%")
    if w.required_rate == 0.0:
        return "已达到目标，保持现有水平即可"
    abs_txt = ""
    if w.required_abs is not None:
        abs_txt = f"（约{fmt_num(abs(w.required_abs), max(decimals, 2))}{unit}/年）"
    return f"每年{verb}至少{w.required_rate:.1f}%{abs_txt}"


def whatif_html(view: "View", w: WhatIf) -> str:
    """The what-if result: the scenario's value (and 80 % range) in the target year and
    whether the target is met. Colours follow the result: green only for a result that
    meets the target and is not worse than the trend; a worse-than-trend result is amber
    or red, never green."""
    unit, dec = view.ind.unit, view.decimals
    if not w.applicable:
        if view.ind.target.kind == "qualitative":
            return '<div class="ww-whatif-result">定性目标，不作情景推演。</div>'
        return '<div class="ww-whatif-result">该地区暂无此指标的数据，无法推演。</div>'
    trend = isinstance(w, TrendWhatIf)
    verb = MODE_VERB.get(w.mode, "改善")
    if trend:
        how = rate_label(w.rate)
        start = f"自{w.start_year}年的模型水平（{fmt_value(w.start_value, unit, dec)}）起{how}"
    else:
        how = (f"每年{verb} {abs(w.rate):.1f}%" if w.rate >= 0 else f"每年恶化 {abs(w.rate):.1f}%")
        start = f"自{w.start_year}年（{fmt_value(w.start_value, unit, dec)}）起{how}"
    worse = w.rate < 0
    if w.meets is True:
        cls = "ww-worse" if worse else "ww-yes"
        verdict = "✔ 可以实现目标" + ("（但比当前趋势差）" if worse else "")
    elif w.meets is False:
        cls, verdict = "ww-no", "✘ 不能实现目标"
    else:
        cls, verdict = "ww-na", "无法判断是否达标"
    chance = getattr(w, "chance_zh", "")
    rng = ""
    if trend and w.lo80 is not None and w.hi80 is not None:
        rng = (f'<span class="ww-muted">（80%区间 {fmt_num(w.lo80, dec)}–{fmt_num(w.hi80, dec)}'
               f'{esc(unit)}）</span>')
    target = esc(target_text(view))
    chance_html = f'<div class="ww-chance">考虑预测的不确定性：<b>{esc(chance)}</b></div>' \
        if chance else ""
    return (
        f'<div class="ww-whatif-result" data-meets="{str(w.meets).lower()}" '
        f'data-worse="{str(worse).lower()}">'
        f'<div class="ww-rate-label">{esc(rate_label(w.rate) if trend else how)}</div>'
        f'<div>{esc(start)}，{w.target_year}年将为 '
        f'<b class="ww-whatif-value {cls}">{fmt_value(w.final_value, unit, dec)}</b>{rng}：'
        f'<span class="{cls}">{verdict}</span>（目标 {target}）。</div>{chance_html}'
        f'<div class="ww-required">达标所需：<b>{esc(required_text(w, unit, dec))}</b></div>'
        '</div>')


# --------------------------------------------------------------------------- chart
def chart_data(view: "View", w: WhatIf | None = None) -> ChartData:
    """The view's chart, with the what-if path when one is given."""
    d = svgchart.chart_data(
        view.ind, view.region, view.history, view.forecast, benchmarks=view.benchmarks,
        threshold=view.threshold, decimals=view.decimals, illustrative=view.illustrative,
        forecast_error=view.forecast_error,
        key={"region": view.region, "indicator": view.ind.id,
             "whatif": "" if w is None else f"{w.rate:g}"})
    if w is not None and w.applicable and len(w.years) >= 2:
        d.whatif = [(float(y), float(v)) for y, v in zip(w.years, w.values)]
        d.whatif_label = "情景：" + (rate_label(w.rate) if isinstance(w, TrendWhatIf)
                                      else f"每年改善{w.rate:g}%")
    return d


def chart_svg(view: "View", w: WhatIf | None = None) -> str:
    return render_svg(chart_data(view, w))


# --------------------------------------------------------------------------- summary card
def summary_html(view: "View", w: WhatIf | None = None) -> str:
    ind, unit, dec = view.ind, view.ind.unit, view.decimals
    st = view.status
    y, v = view.latest
    fc = view.forecast
    rows: list[tuple[str, str]] = []
    rows.append(("最新值", f"{fmt_value(v, unit, dec)}（{y}年）" if y else "暂无数据"))
    rows.append(("规划目标", esc(target_text(view))))
    ty = ind.target.year
    if fc is not None and len(fc):
        at = fc[fc["year"] == ty]
        if len(at):
            r = at.iloc[0]
            rows.append((f"{ty}年预测", f"{fmt_value(r['mean'], unit, dec)}"
                         f"<span class='ww-muted'>（80%区间 {fmt_num(_finite(r['lo80']), dec)}"
                         f"–{fmt_num(_finite(r['hi80']), dec)}）</span>"))
    p = st.get("p_meet") if st else None
    if _finite(p) is None and fc is not None:
        p = (fc.attrs or {}).get("p_meet")
    rows.append(("达标概率", fmt_pct(p)))
    rows.append(("状态", status_badge(st.get("status")) if st else status_badge("数据不足")))
    if w is not None:
        rows.append(("达标所需", esc(required_text(w, unit, dec))))
    model = st.get("model") if st else None
    if fc is not None and (fc.attrs or {}).get("model_zh"):
        model = fc.attrs["model_zh"]
    if model:
        rows.append(("预测模型", esc(model)))
    body = "".join(f"<tr><th>{k}</th><td>{val}</td></tr>" for k, val in rows)
    warn = st.get("warnings") if st else None
    warn_html = ""
    if isinstance(warn, (list, tuple)):
        warn = "；".join(str(x) for x in warn if x)
    if warn and str(warn) not in ("nan", "None"):
        warn_html = f'<div class="ww-warn">预警：{esc(warn)}</div>'
    reason = st.get("reason") if st else None
    reason_html = f'<div class="ww-muted ww-small">{esc(reason)}</div>' \
        if reason and str(reason) not in ("nan", "None") else ""
    src = f"{ind.plan_zh}·{ind.domain_zh}·{ind.source_section}{ind.source_number}"
    return (f'<div class="ww-card"><div class="ww-card-title">{esc(ind.name_zh)}'
            f'<span class="ww-muted">（{esc(unit) or "无单位"}）</span></div>'
            f'<table class="ww-kv">{body}</table>{warn_html}{reason_html}'
            f'<div class="ww-muted ww-small">出处：{esc(src)}</div></div>')


# --------------------------------------------------------------------------- status table
def table_rows(rows: Iterable[dict], indicators: Iterable[str]) -> list[dict]:
    """Status table rows for the given indicator ids, in plan order.

    ``rows`` are assessment rows (dicts with ASSESS_COLUMNS); an indicator without one yet
    gets a placeholder row with status "计算中" (the page fills it in when it is ready).
    """
    ids = list(indicators)
    order = {iid: k for k, iid in enumerate(ids)}
    by_id = {r.get("indicator"): r for r in rows if r.get("indicator") in order}
    out = []
    for iid in ids:
        ind = _ind(iid)
        units = _units().get(ind.unit, {})
        dec = int(units.get("decimals", 2))
        rec = by_id.get(iid)
        if rec is None:
            out.append({
                "indicator": iid, "order": order[iid], "name": ind.name_zh,
                "domain": ind.domain_zh, "unit": ind.unit, "decimals": dec,
                "latest_year": None, "latest_value": None,
                "target_text": ind.describe_target(), "forecast_value": None,
                "forecast_lo80": None, "forecast_hi80": None, "p_meet": None,
                "status": PENDING, "status_rank": 100, "required": None,
                "required_text": "", "illustrative": False, "pending": True,
                "triage_rank": None, "reporter": ind.reporter})
            continue
        req_rate, req_txt = _row_required(ind, rec, units)
        status = rec.get("status") or "数据不足"
        out.append({
            "indicator": ind.id, "order": order[ind.id], "name": ind.name_zh,
            "domain": ind.domain_zh, "unit": ind.unit, "decimals": dec,
            "latest_year": _finite(rec.get("latest_year")),
            "latest_value": _finite(rec.get("latest_value")),
            "target_text": rec.get("target_text") or ind.describe_target(),
            "forecast_value": _finite(rec.get("forecast_value")),
            "forecast_lo80": _finite(rec.get("forecast_lo80")),
            "forecast_hi80": _finite(rec.get("forecast_hi80")),
            "p_meet": _finite(rec.get("p_meet")), "status": status,
            "status_rank": STATUS_ORDER.index(status) if status in STATUS_ORDER else 99,
            "required": req_rate, "required_text": req_txt,
            "illustrative": bool(rec.get("illustrative")), "pending": False,
            "triage_rank": TRIAGE_RANK.get(status), "reporter": ind.reporter,
        })
    return out


def _row_required(ind, rec: dict, units: dict) -> tuple[float | None, str]:
    """(required improvement % per year, text) for one assessment row."""
    t = ind.target
    from .whatif import scenario_mode

    mode = scenario_mode(t, ind.direction)
    lv, ly = _finite(rec.get("latest_value")), _finite(rec.get("latest_year"))
    if mode is None or lv is None or ly is None:
        return None, "—"
    if t.kind in ("direction", "gap"):
        return None, f"保持每年{MODE_VERB.get(mode, '改善')}"
    thr = _finite(rec.get("threshold"))
    if thr is None and t.kind != "relative_change":
        thr = _finite(rec.get("target_value"))
        if thr is None:
            thr = t.threshold()
    if thr is None:
        return None, "—"
    n = int(t.year) - int(ly)
    req = required_rate(lv, thr, n, mode=mode, tolerance=t.tolerance,
                        upper=_finite(units.get("max")))
    if req is None:
        return None, "目标年份已过" if n <= 0 else "无法按固定比例达到"
    if req == 0.0:
        return 0.0, "已达标"
    return req, f"每年{MODE_VERB[mode]}{req:.1f}%"


def sort_rows(rows: list[dict], key: str = "order", descending: bool = False) -> list[dict]:
    """Rows sorted by a SORT_KEYS key; missing values always last."""
    field = {"status": "triage_rank", "name": "name"}.get(key, key)
    present = [r for r in rows if r.get(field) is not None]
    missing = [r for r in rows if r.get(field) is None]
    present.sort(key=lambda r: (r[field], r["order"]), reverse=descending)
    return present + sorted(missing, key=lambda r: r["order"])


SORT_TITLE = ' title="点击排序"'
TABLE_HEADERS = [
    ("order", "领域"), ("name", "指标"), ("latest_year", "最新值（年份）"), (None, "规划目标"),
    (None, "2030年预测（80%区间）"), ("p_meet", "达标概率"), ("status", "状态"),
    ("required", "达标所需年均改善"),
]


def filter_rows(rows: list[dict], *, status: str = "", reporter: str = "") -> list[dict]:
    """Rows of one status (or "待关注": 难以实现 and 有风险) and one member unit ("" = all)."""
    out = rows
    if status == "待关注":
        out = [r for r in out if r["status"] in ("难以实现", "有风险")]
    elif status:
        out = [r for r in out if r["status"] == status]
    if reporter:
        out = [r for r in out if reporter in (r.get("reporter") or "")]
    return out


def table_html(rows: list[dict], *, sort_key: str = "status", descending: bool = False,
               selected: str | None = None, region: str = "", show_domain: bool = True
               ) -> str:
    """The status table as HTML (status coloured; the sorted column marked)."""
    if not rows:
        return '<div class="ww-muted">暂无评估结果。</div>'
    arrow = "▼" if descending else "▲"
    headers = TABLE_HEADERS if show_domain else \
        [(k if k != "order" else None, lab) for k, lab in TABLE_HEADERS[1:]]
    if not show_domain and sort_key == "order":
        headers = [("order", headers[0][1])] + headers[1:]
    head = "".join(
        f'<th class="{"ww-sorted" if k == sort_key else ""}{" ww-sortable" if k else ""}" '
        f'data-sort="{k or ""}"{SORT_TITLE if k else ""}>'
        f'{esc(label)}{" " + arrow if k == sort_key else ""}</th>'
        for k, label in headers)
    body = []
    for r in sort_rows(rows, sort_key, descending):
        dec, unit = r["decimals"], r["unit"]
        latest = "暂无数据" if r["latest_value"] is None else \
            f'{fmt_value(r["latest_value"], unit, dec)}（{int(r["latest_year"])}）'
        if r["forecast_value"] is None:
            fc = "—"
        else:
            fc = fmt_value(r["forecast_value"], unit, dec)
            if r["forecast_lo80"] is not None and r["forecast_hi80"] is not None:
                fc += (f'<span class="ww-muted">（{fmt_num(r["forecast_lo80"], dec)}–'
                       f'{fmt_num(r["forecast_hi80"], dec)}）</span>')
        cls = ' class="ww-selected"' if r["indicator"] == selected else ""
        body.append(
            f'<tr{cls} data-indicator="{esc(r["indicator"])}" title="点击查看此指标的图表">'
            + (f'<td class="ww-muted ww-nowrap">{esc(r["domain"])}</td>' if show_domain else "")
            + f'<td>{esc(r["name"])}</td>'
            f'<td class="ww-num">{latest}</td><td>{esc(r["target_text"])}</td>'
            f'<td class="ww-num">{fc}</td><td class="ww-num">{fmt_pct(r["p_meet"])}</td>'
            f'<td>{status_badge(r["status"])}</td><td>{esc(r["required_text"])}</td></tr>')
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = "　".join(f'{status_badge(s)} {counts[s]}项' for s in (*STATUS_ORDER, PENDING)
                       if s in counts)
    return (f'<div class="ww-status-summary">{esc(region)}共{len(rows)}项可监测指标：{summary}</div>'
            f'<table class="ww-table" data-sort-key="{esc(sort_key)}" '
            f'data-descending="{str(descending).lower()}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def goal_counts_html(region: str, counts: dict[str, int]) -> str:
    """The region's counts over the plans' 主要目标, in the brief's and the CLI's words
    (:func:`wuwei_analysis.goals.counts_sentence`)."""
    from ..goals import counts_sentence

    return (f'<div class="ww-goal-counts">{esc(region)}：{esc(counts_sentence(counts))}'
            '；一个目标含多项指标时取其中最差的状态。</div>')


# --------------------------------------------------------------------------- downloads
def chart_frame(view: "View", w: WhatIf | None = None) -> "pd.DataFrame":
    """The shown chart's data, long form with Chinese headers."""
    import pandas as pd

    ind = view.ind
    ill = "是" if view.illustrative else "否"

    def observed(df: "pd.DataFrame", series: str, region: str) -> "pd.DataFrame":
        return pd.DataFrame({
            "系列": series, "地区": region, "年份": df["year"].astype(int).to_numpy(),
            "数值": df["value"].astype(float).to_numpy(),
            "来源": df["source"].fillna("").astype(str).to_numpy() if "source" in df else "",
            "示意数据": df["illustrative"].astype(bool).map({True: "是", False: "否"}).to_numpy()
            if "illustrative" in df else "否"})

    parts = [observed(view.history, "实际值", view.region)]
    parts += [observed(df, "对比", b) for b, df in view.benchmarks.items()]
    fc = view.forecast
    if fc is not None and len(fc):
        model = (fc.attrs or {}).get("model_zh", "")
        parts.append(pd.DataFrame({
            "系列": "预测", "地区": view.region, "年份": fc["year"].astype(int).to_numpy(),
            "预测或情景值": fc["mean"].to_numpy(float), "80%下限": fc["lo80"].to_numpy(float),
            "80%上限": fc["hi80"].to_numpy(float), "95%下限": fc["lo95"].to_numpy(float),
            "95%上限": fc["hi95"].to_numpy(float), "来源": f"模型：{model}", "示意数据": ill}))
    if w is not None and w.applicable and len(w.years) > 1:
        parts.append(pd.DataFrame({
            "系列": f"情景（{rate_label(w.rate)}）" if isinstance(w, TrendWhatIf)
            else f"情景（每年改善{w.rate:g}%）", "地区": view.region,
            "年份": list(w.years[1:]), "预测或情景值": list(w.values[1:]), "来源": "情景推演",
            "示意数据": ill}))
    # observed values in 数值 (what `wuwei import` reads); forecasts and scenarios in their
    # own column, so importing the file back never stores a forecast as an observation
    cols = ["指标编号", "指标", "单位", "系列", "地区", "年份", "数值", "预测或情景值", "80%下限",
            "80%上限", "95%下限", "95%上限", "规划目标", "来源", "示意数据"]
    df = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else pd.DataFrame(columns=cols)
    df["指标编号"] = ind.id
    df["指标"] = ind.name_zh
    df["单位"] = ind.unit
    df["规划目标"] = target_text(view)
    for c in cols:
        if c not in df:
            df[c] = None
    for c in ("数值", "预测或情景值", "80%下限", "80%上限", "95%下限", "95%上限"):
        if c in df:   # rounded as the page prints them (vocab.numbers)
            df[c] = [round_for_unit(x, ind.unit) for x in df[c]]
    return df[cols]


def table_frame(rows: list[dict]) -> "pd.DataFrame":
    import pandas as pd

    rows = [r for r in rows if not r.get("pending")]
    return pd.DataFrame([{
        "指标编号": r["indicator"], "领域": r["domain"], "指标": r["name"], "单位": r["unit"],
        "最新年份": None if r["latest_year"] is None else int(r["latest_year"]),
        "最新值": round_for_unit(r["latest_value"], r["unit"]), "规划目标": r["target_text"],
        "2030年预测": round_for_unit(r["forecast_value"], r["unit"]),
        "80%下限": round_for_unit(r["forecast_lo80"], r["unit"]),
        "80%上限": round_for_unit(r["forecast_hi80"], r["unit"]),
        "达标概率": None if r["p_meet"] is None else round(float(r["p_meet"]), 2),
        "状态": r["status"],
        "达标所需年均改善": r["required_text"], "示意数据": "是" if r["illustrative"] else "否",
    } for r in rows])


def export_csv(view: "View", w: WhatIf | None = None) -> bytes:
    """The chart data as CSV (UTF-8 with BOM, so Excel opens the Chinese correctly): one
    header line, values rounded as printed, the illustrative flag in the 示意数据 column (no
    comment line: ``pd.read_csv`` and ``wuwei import`` read it as it is); no typed source
    text becomes a spreadsheet formula."""
    from ..safecells import neutralise_frame

    text = neutralise_frame(chart_frame(view, w)).to_csv(index=False, lineterminator="\n")
    return ("\ufeff" + text).encode("utf-8")


def export_xlsx(view: "View", w: WhatIf | None = None, rows: list[dict] | None = None) -> bytes:
    """An Excel workbook: 图表数据, 状态一览 (the region's table), 说明."""
    import pandas as pd

    buf = io.BytesIO()
    notes = [("地区", view.region), ("指标", f"{view.ind.name_zh}（{view.ind.id}）"),
             ("单位", view.ind.unit), ("规划目标", target_text(view))]
    if w is not None and w.applicable:
        notes.append(("情景", f"自{w.start_year}年起每年改善{w.rate:g}%，{w.target_year}年为"
                             f"{fmt_num(w.final_value, view.decimals)}{view.ind.unit}"))
        notes.append(("达标所需", required_text(w, view.ind.unit, view.decimals)))
    if view.forecast is not None:
        notes.append(("预测模型", (view.forecast.attrs or {}).get("model_zh", "")))
    notes.append(("导出时间", datetime.now().strftime("%Y-%m-%d %H:%M")))
    if view.illustrative:
        notes.insert(0, ("注意", ILLUSTRATIVE_NOTE))
    from ..safecells import neutralise_frame  # no typed source becomes a formula

    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        neutralise_frame(chart_frame(view, w)).to_excel(xw, index=False, sheet_name="图表数据")
        if rows:
            neutralise_frame(table_frame(rows)).to_excel(xw, index=False, sheet_name="状态一览")
        neutralise_frame(pd.DataFrame(notes, columns=["项目", "内容"])).to_excel(
            xw, index=False, sheet_name="说明")
        for ws in xw.sheets.values():
            ws.freeze_panes = "A2"
            for col in ws.columns:
                width = max(len(str(c.value or "")) for c in list(col)[:100])
                ws.column_dimensions[col[0].column_letter].width = min(40, max(8, width * 1.8))
    return buf.getvalue()


def download_links(view: "View", w: WhatIf | None = None, rows: list[dict] | None = None,
                   *, xlsx: bool = False, autoclick: int | None = None) -> str:
    """Links that download the shown data (data: URIs: no server route, works offline).

    The CSV is built at once. The Excel workbook only when asked (``xlsx=True``): openpyxl
    costs a kernel ~13 MB and an xlsx ~0.1 s, for a file few visitors want. Until then its
    link is a button whose click the page sends to the app (``data-command="xlsx"``, see
    ``templates/voila/templates/wuwei_app``); the app then sets the real link, marked
    ``data-autoclick`` so that the page clicks it once (the download starts by itself).
    """
    base = f"{view.region}_{view.ind.name_zh}"
    base = "".join(c for c in base if c not in '\\/:*?"<>|').replace(" ", "")
    csv = base64.b64encode(export_csv(view, w)).decode("ascii")
    if xlsx:
        data = base64.b64encode(export_xlsx(view, w, rows)).decode("ascii")
        xmime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        auto = f' data-autoclick="{int(autoclick)}"' if autoclick is not None else ""
        xlink = (f'<a class="ww-dl ww-dl-xlsx" download="{esc(base)}.xlsx"{auto} '
                 f'href="data:{xmime};base64,{data}">Excel（xlsx）</a>')
    else:
        xlink = ('<a class="ww-dl ww-dl-xlsx" href="#" role="button" data-command="xlsx" '
                 'title="生成并下载 Excel 文件">Excel（xlsx）</a>')
    return (f'<div class="ww-downloads">下载所示数据：'
            f'<a class="ww-dl ww-dl-csv" download="{esc(base)}.csv" '
            f'href="data:text/csv;charset=utf-8;base64,{csv}">CSV</a>{xlink}</div>')
