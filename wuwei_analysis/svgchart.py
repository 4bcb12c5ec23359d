"""The forecast chart as a hand-built inline SVG string (no Vega, no JavaScript).

Used where many forecast charts are drawn: the app (on every widget change and what-if
move) and the briefs (one chart for every warned indicator, 50–60 per county). Why not
``charts.forecast_chart`` + ``render.chart_to_svg`` there: vl-convert and Altair take about
0.4 s per chart and Altair adds ~3 s and ~45 MB to every app kernel. Drawing the same
picture directly takes a few milliseconds. ``charts.forecast_chart`` stays the researcher's
(Altair, composable) version of this chart. The drawing conventions are those of :mod:`charts` (same
colours, labels and note): history solid with points, forecast dashed with 80 % / 95 % fans
anchored at the last observation, the target as a horizontal rule with a diamond at the
target year, benchmarks as thin muted lines; here the what-if path is added as a dotted
green line. Each point carries a native SVG tooltip (``<title>``).
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Sequence

# The one palette and font chain (vocab.labels), without importing Altair into every app kernel.
from .vocab.labels import (  # noqa: E402,F401
    FAN_COLORS, FONT_FAMILY, ILLUSTRATIVE_NOTE, MAIN_COLOR, OTHER_BENCHMARK_COLOR,
    SERIES_COLORS, TARGET_COLOR, WHATIF_COLOR,
)
from .vocab.numbers import format_number, format_prob, format_value  # noqa: E402

Point = tuple[float, float]


@dataclass
class ChartData:
    """Everything drawn on one forecast chart (values in the indicator's unit)."""

    title: str
    unit: str = ""
    subtitle: list[str] = field(default_factory=list)
    region: str = ""
    history: list[Point] = field(default_factory=list)
    history_labels: list[str] = field(default_factory=list)   # tooltip extra per point
    benchmarks: dict[str, list[Point]] = field(default_factory=dict)
    forecast: list[dict] = field(default_factory=list)        # year, median, lo80..hi95
    target_value: float | None = None
    target_year: int | None = None
    target_label: str = ""
    target_band: tuple[float, float] | None = None
    whatif: list[Point] = field(default_factory=list)
    whatif_label: str = ""
    decimals: int = 2
    key: dict[str, str] = field(default_factory=dict)          # data-* attributes


def chart_data(ind, region: str, history, forecast=None, *, benchmarks=None,
               threshold: float | None = None, decimals: int = 2, illustrative: bool = False,
               forecast_error: str = "", key: dict | None = None) -> ChartData:
    """The :class:`ChartData` of one indicator in one region.

    Args:
        ind: the catalogue Indicator (its ``name_zh``, ``unit`` and ``target`` are used).
        region: the region's name (title and legend).
        history: the region's total observations (columns year, value; optional source,
            provisional), sorted by year.
        forecast: ``year, median, lo80, hi80, lo95, hi95`` with attrs ``model_zh`` and
            ``p_meet`` (as ``forecast_series`` returns; ``median`` is the point forecast —
            a frame with only the old name ``mean`` is read too), or None.
        benchmarks: ``{"甘肃省": frame, "全国": frame}`` (columns year, value), drawn from
            the region's first year (from 2015 when the region has no data).
        threshold: the target as a number on the indicator's scale (the assessment's
            ``threshold``), drawn as a rule; None for a direction-only target.
        decimals: digits shown for values.
        illustrative: put the illustrative-data note under the title.
        forecast_error: why there is no forecast (shown when there is none).
    """
    unit = ind.unit
    benchmarks = benchmarks or {}
    subtitle: list[str] = []
    if illustrative:
        subtitle.append(ILLUSTRATIVE_NOTE)
    t = ind.target
    if forecast is not None and len(forecast):
        attrs = forecast.attrs or {}
        bits = []
        if attrs.get("model_zh"):
            bits.append(f"预测模型：{attrs['model_zh']}")
        p = finite(attrs.get("p_meet"))
        if p is not None:
            bits.append(f"{attrs.get('target_year') or t.year}年达标概率 {format_prob(p)}")
        if bits:
            subtitle.append("；".join(bits))
    elif forecast_error and len(history):
        subtitle.append(forecast_error)
    if not len(history):
        subtitle.append(f"{region}暂无此指标的数据" + ("（仅显示对照）" if benchmarks else ""))
    labels = []
    srcs = history["source"].tolist() if "source" in history else [""] * len(history)
    provs = history["provisional"].tolist() if "provisional" in history else [False] * len(history)
    for src, prov in zip(srcs, provs):
        extra = []
        if src and str(src) != "nan":
            extra.append(f"来源：{src}")
        if prov is True:
            extra.append("初步数")
        labels.append(("（" + "；".join(extra) + "）") if extra else "")
    band = None
    if t.kind == "around" and threshold is not None and t.tolerance:
        band = (threshold - float(t.tolerance), threshold + float(t.tolerance))
    tlabel = ""
    if t.kind != "qualitative":
        if threshold is not None:
            sign = {"at_most": "≤", "at_least": "≥", "around": "≈"}.get(t.kind, "")
            if t.kind == "relative_change":
                sign = "≤" if (t.change or 0) < 0 else "≥"
            tlabel = f"{t.year}年目标 {sign}{format_value(threshold, unit)}"
        else:
            tlabel = f"{t.year}年目标：{t.describe_zh(unit)}"
    first_year = int(history["year"].min()) if len(history) else 2015
    rows = []
    if forecast is not None and len(forecast):
        point = "median" if "median" in forecast else "mean"
        cols = {k: forecast[c].tolist() for k, c in (
            ("year", "year"), ("median", point), ("lo80", "lo80"), ("hi80", "hi80"),
            ("lo95", "lo95"), ("hi95", "hi95"))}
        rows = [{k: (int(cols[k][j]) if k == "year" else finite(cols[k][j])) for k in cols}
                for j in range(len(forecast))]
    return ChartData(
        title=f"{region} · {ind.name_zh}", unit=unit, subtitle=subtitle, region=region,
        history=[(float(y), float(v)) for y, v in zip(history["year"], history["value"])],
        history_labels=labels,
        benchmarks={b: [(float(y), float(v)) for y, v in zip(df["year"], df["value"])
                        if y >= first_year] for b, df in benchmarks.items()},
        forecast=rows, target_value=threshold,
        target_year=int(t.year) if t.kind != "qualitative" else None,
        target_label=tlabel, target_band=band, decimals=decimals,
        key=dict(key or {"region": region, "indicator": ind.id}))


def finite(v: object) -> float | None:
    """``v`` as a float, or None when it is missing, NaN or infinite."""
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


#: A plain number with ``decimals`` decimals (axis ticks): :func:`vocab.numbers.format_number`.
fmt_num = format_number


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo < 1e-12:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = mag * 10
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            step = m * mag
            break
    start = math.floor(lo / step + 1e-9) * step
    stop = math.ceil(hi / step - 1e-9) * step
    ticks = []
    v = start
    while v <= stop + step * 1e-6:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _tick_decimals(ticks: Sequence[float]) -> int:
    """The fewest decimals that show every tick exactly (2.5 → 1, 0.25 → 2)."""
    for d in range(0, 5):
        if all(abs(round(t, d) - t) < 1e-9 for t in ticks):
            return d
    return 4


def _path(points: Sequence[Point], sx, sy) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
                    for i, (x, y) in enumerate(points))


def _legend_layout(d: ChartData, *, has_forecast: bool, x0: float, width: float
                   ) -> tuple[list[tuple[str, str, float, int]], int]:
    """Legend items as (kind, label, x, row), wrapped to the chart's width; and the rows."""
    items: list[tuple[str, str]] = []
    if d.history:
        items.append(("line", d.region or "实际值"))
    if has_forecast:
        items += [("dash", "预测"), ("fan80", "80%预测区间"), ("fan95", "95%预测区间")]
    if d.target_value is not None:
        items.append(("target", "规划目标"))
    items += [(f"bench:{n}", n) for n, pts in d.benchmarks.items() if pts]
    if len(d.whatif) >= 2:
        items.append(("whatif", d.whatif_label or "情景"))
    out: list[tuple[str, str, float, int]] = []
    x, row = x0, 0
    for kind, label in items:
        w = 26 + sum(6.5 if c.isascii() else 11 for c in label) + 16
        if x + w > width - 8 and x > x0:
            x, row = x0, row + 1
        out.append((kind, label, x, row))
        x += w
    return out, (row + 1 if items else 0)


def _point(r: dict):
    """The point forecast of a forecast row: ``median`` (or its old name ``mean``)."""
    v = r.get("median")
    return r.get("mean") if v is None else v


def render_svg(d: ChartData, *, width: int = 760, height: int = 400) -> str:
    """The chart as an ``<svg>`` element (scales to its container's width)."""
    ml, mr = 62, 118
    fc = [{**r, "median": _point(r)} for r in d.forecast]
    fc = [r for r in fc if r["median"] is not None and math.isfinite(r["median"])]
    last = d.history[-1] if d.history else None
    legend, legend_rows = _legend_layout(d, has_forecast=len(fc) >= 1, x0=ml, width=width)
    mt = 30 + 16 * len(d.subtitle) + 10
    mb = 54 + 17 * legend_rows
    pw, ph = width - ml - mr, height - mt - mb

    # fans and median anchored at the last observation
    if fc and last is not None and fc[0]["year"] > last[0]:
        anchor = {"year": last[0], "median": last[1], "lo80": last[1], "hi80": last[1],
                  "lo95": last[1], "hi95": last[1]}
        fc = [anchor, *fc]

    xs: list[float] = [p[0] for p in d.history] + [r["year"] for r in fc] + \
        [p[0] for p in d.whatif]
    for pts in d.benchmarks.values():
        xs += [p[0] for p in pts]
    if d.target_year:
        xs.append(d.target_year)
    ys: list[float] = [p[1] for p in d.history] + [p[1] for p in d.whatif]
    for pts in d.benchmarks.values():
        ys += [p[1] for p in pts]
    for r in fc:
        ys += [v for k in ("median", "lo80", "hi80", "lo95", "hi95")
               if (v := r.get(k)) is not None and math.isfinite(v)]
    if d.target_value is not None:
        ys.append(d.target_value)
    if d.target_band:
        ys += list(d.target_band)

    parts: list[str] = []
    key_attrs = "".join(f' data-{_esc(k)}="{_esc(v)}"' for k, v in d.key.items())
    parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wuwei-forecast-svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'style="max-width:{width}px;font-family:{_esc(FONT_FAMILY)}"{key_attrs}>')
    parts.append(f"<title>{_esc(d.title)}</title>")
    parts.append(f'<rect width="{width}" height="{height}" fill="white"/>')
    parts.append(f'<text x="8" y="22" font-size="15" font-weight="bold" fill="#222">'
                 f'{_esc(d.title)}</text>')
    for i, line in enumerate(d.subtitle):
        color = "#b45309" if line == ILLUSTRATIVE_NOTE else "#555"
        parts.append(f'<text x="8" y="{40 + 16 * i}" font-size="11.5" fill="{color}">'
                     f'{_esc(line)}</text>')

    if not xs or not ys:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                     f'font-size="14" fill="#888">该地区暂无此指标的数据</text></svg>')
        return "".join(parts)

    x0, x1 = min(xs), max(xs)
    if x1 - x0 < 2:
        x0, x1 = x0 - 1, x1 + 1
    ticks = nice_ticks(min(ys), max(ys))
    y0, y1 = ticks[0], ticks[-1]
    if y1 - y0 < 1e-12:
        y0, y1 = y0 - 1, y1 + 1

    def sx(x: float) -> float:
        return ml + 8 + (x - x0) / (x1 - x0) * (pw - 16)

    def sy(y: float) -> float:
        return mt + ph - (y - y0) / (y1 - y0) * ph

    tdec = _tick_decimals(ticks)
    # grid and y axis
    for t in ticks:
        y = sy(t)
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e6e6e6"/>')
        parts.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#333">{fmt_num(t, tdec)}</text>')
    axis_title = f"数值（{d.unit}）" if d.unit else "数值"
    parts.append(f'<text transform="translate(14,{mt + ph / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle" font-size="12" fill="#333">{_esc(axis_title)}</text>')
    # x axis
    span = int(x1 - x0)
    step = 1 if span <= 16 else 2 if span <= 32 else 5
    parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" '
                 f'stroke="#888"/>')
    for yr in range(int(math.ceil(x0)), int(x1) + 1):
        if (yr - int(math.ceil(x0))) % step:
            continue
        x = sx(yr)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" '
                     f'stroke="#888"/>')
        parts.append(f'<text x="{x:.1f}" y="{mt + ph + 17}" text-anchor="middle" '
                     f'font-size="11" fill="#333">{yr}</text>')
    parts.append(f'<text x="{ml + pw / 2:.1f}" y="{mt + ph + 33}" text-anchor="middle" '
                 f'font-size="12" fill="#333">年份</text>')

    # forecast period shading and target year
    if fc and last is not None:
        parts.append(f'<rect x="{sx(last[0]):.1f}" y="{mt}" width="{sx(x1) - sx(last[0]):.1f}" '
                     f'height="{ph}" fill="#f5f7fa"/>')
    if d.target_year:
        tx = sx(d.target_year)
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{mt}" y2="{mt + ph}" '
                     f'stroke="#999" stroke-dasharray="2,3"/>')

    # fans
    for lvl in ("95", "80"):
        band = [r for r in fc if all(r.get(k) is not None and math.isfinite(r[k])
                                     for k in (f"lo{lvl}", f"hi{lvl}"))]
        if len(band) >= 2:
            upper = [(r["year"], r[f"hi{lvl}"]) for r in band]
            lower = [(r["year"], r[f"lo{lvl}"]) for r in reversed(band)]
            pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in upper + lower)
            color = FAN_COLORS[f"{lvl}%预测区间"]
            parts.append(f'<polygon class="fan{lvl}" points="{pts}" fill="{color}" '
                         f'fill-opacity="0.75"><title>{lvl}%预测区间</title></polygon>')

    # target
    if d.target_band:
        a, b = d.target_band
        parts.append(f'<rect x="{ml}" y="{sy(max(a, b)):.1f}" width="{pw}" '
                     f'height="{abs(sy(a) - sy(b)):.1f}" fill="{TARGET_COLOR}" '
                     f'fill-opacity="0.08"/>')
    if d.target_value is not None:
        ty = sy(d.target_value)
        parts.append(f'<line class="target" x1="{ml}" x2="{ml + pw}" y1="{ty:.1f}" '
                     f'y2="{ty:.1f}" stroke="{TARGET_COLOR}" stroke-width="1.5">'
                     f'<title>{_esc(d.target_label)}</title></line>')
        if d.target_year:
            tx = sx(d.target_year)
            parts.append(f'<path d="M{tx:.1f},{ty - 7:.1f} L{tx + 6:.1f},{ty:.1f} '
                         f'L{tx:.1f},{ty + 7:.1f} L{tx - 6:.1f},{ty:.1f} Z" '
                         f'fill="{TARGET_COLOR}"><title>{_esc(d.target_label)}</title></path>')
        parts.append(f'<text x="{ml + pw + 4}" y="{ty + 4:.1f}" font-size="11" '
                     f'font-weight="bold" fill="{TARGET_COLOR}">{_esc(d.target_label)}</text>')
    elif d.target_label and d.target_year:
        parts.append(f'<text x="{sx(d.target_year) - 4:.1f}" y="{mt + 13}" text-anchor="end" '
                     f'font-size="11" font-weight="bold" fill="{TARGET_COLOR}">'
                     f'{_esc(d.target_label)}</text>')

    # benchmarks (end labels pushed apart so they never overlap)
    unit = d.unit
    label_pos: list[tuple[float, float, str, str]] = []   # (y, x, name, color)
    for name, pts in d.benchmarks.items():
        if not pts:
            continue
        color = SERIES_COLORS.get(name, OTHER_BENCHMARK_COLOR)
        if len(pts) > 1:
            parts.append(f'<path class="benchmark" d="{_path(pts, sx, sy)}" fill="none" '
                         f'stroke="{color}" stroke-width="1.4"/>')
        for x, y in pts:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.6" fill="{color}">'
                         f'<title>{_esc(name)} {int(x)}年：{_esc(format_value(y, unit))}'
                         f'</title></circle>')
        lx, ly = pts[-1]
        label_pos.append((sy(ly) + 4, sx(lx) + 5, name, color))
    label_pos.sort()
    for k in range(1, len(label_pos)):
        if label_pos[k][0] - label_pos[k - 1][0] < 12:
            y, x, n, c = label_pos[k]
            label_pos[k] = (label_pos[k - 1][0] + 12, x, n, c)
    for y, x, name, color in label_pos:
        parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="10.5" fill="{color}">'
                     f'{_esc(name)}</text>')

    # forecast (the median: the point forecast)
    if len(fc) >= 2:
        parts.append(f'<path class="forecast" d="{_path([(r["year"], r["median"]) for r in fc], sx, sy)}" '
                     f'fill="none" stroke="{MAIN_COLOR}" stroke-width="2.2" '
                     f'stroke-dasharray="6,4"/>')
        end = fc[-1]
        parts.append(f'<circle cx="{sx(end["year"]):.1f}" cy="{sy(end["median"]):.1f}" r="3" '
                     f'fill="white" stroke="{MAIN_COLOR}" stroke-width="1.5"><title>预测 '
                     f'{int(end["year"])}年：{_esc(format_value(end["median"], unit))}'
                     f'</title></circle>')

    # what-if path
    if len(d.whatif) >= 2:
        parts.append(f'<path class="whatif" d="{_path(d.whatif, sx, sy)}" fill="none" '
                     f'stroke="{WHATIF_COLOR}" stroke-width="2.2" stroke-dasharray="1.5,3.5" '
                     f'stroke-linecap="round"/>')
        ex, ey = d.whatif[-1]
        parts.append(f'<circle class="whatif-end" cx="{sx(ex):.1f}" cy="{sy(ey):.1f}" r="4" '
                     f'fill="{WHATIF_COLOR}"><title>{_esc(d.whatif_label)}：'
                     f'{_esc(format_value(ey, unit))}</title></circle>')

    # history
    if len(d.history) > 1:
        parts.append(f'<path class="history" d="{_path(d.history, sx, sy)}" fill="none" '
                     f'stroke="{MAIN_COLOR}" stroke-width="2.2"/>')
    for i, (x, y) in enumerate(d.history):
        extra = d.history_labels[i] if i < len(d.history_labels) else ""
        parts.append(f'<circle class="obs" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.6" '
                     f'fill="{MAIN_COLOR}"><title>{_esc(d.region)} {int(x)}年：'
                     f'{_esc(format_value(y, unit))}{_esc(extra)}</title></circle>')

    # legend (laid out in rows that fit the width)
    for kind, label, lx, ly in legend:
        ly = height - 14 - 17 * (legend_rows - 1 - ly)
        if kind == "line":
            sym = (f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{MAIN_COLOR}" stroke-width="2.5"/>')
        elif kind == "dash":
            sym = (f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{MAIN_COLOR}" stroke-width="2.5" stroke-dasharray="6,4"/>')
        elif kind in ("fan80", "fan95"):
            c = FAN_COLORS["80%预测区间" if kind == "fan80" else "95%预测区间"]
            sym = f'<rect x="{lx + 4}" y="{ly - 10}" width="14" height="12" fill="{c}"/>'
        elif kind == "target":
            sym = (f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{TARGET_COLOR}" stroke-width="2"/>')
        elif kind == "whatif":
            sym = (f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{WHATIF_COLOR}" stroke-width="2.5" stroke-dasharray="1.5,3.5" '
                   f'stroke-linecap="round"/>')
        else:
            c = SERIES_COLORS.get(label, OTHER_BENCHMARK_COLOR)
            sym = (f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{c}" stroke-width="1.6"/>')
        parts.append(sym)
        parts.append(f'<text x="{lx + 26}" y="{ly}" font-size="11" fill="#333">'
                     f'{_esc(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
