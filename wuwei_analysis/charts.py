"""Charts (Altair) for briefs and the app: forecasts, county comparisons, status overviews.

Every function takes plain pandas objects and returns an *unconfigured* Altair chart, so
charts can still be layered or concatenated. The Chinese theme (a CJK-capable font chain,
readable sizes) is applied when a chart is rendered by :mod:`wuwei_analysis.render`, or
per chart with :func:`themed`, or for a whole notebook with :func:`use_theme`.

Conventions drawn on every chart:

* history: solid line with points; projections: dashed mean line with shaded 80% / 95%
  prediction fans, continuing from the last observation;
* the plan target: a horizontal rule labelled e.g. "2030年目标 ≤5.0‰" plus a diamond at
  the target year (a light vertical rule marks the target year);
* benchmarks (甘肃省, 全国): thin lines in muted colours, in the legend;
* illustrative rows: the subtitle says :data:`ILLUSTRATIVE_NOTE`.

Offline display: in a notebook kernel every chart — the package's and a researcher's own
``alt.Chart`` — is shown as SVG (+ PNG) rendered locally, with no CDN script: see
:mod:`wuwei_analysis.display`.

Layering: this module imports only catalog / regions / targets / settings.

Input shapes (documented column names):

* history — observations: ``indicator, name_zh, region, region_code, year, value, unit,
  illustrative, source`` (+ breakdown columns ``sex, urban_rural, age_group``, "" = total);
* forecast — ``year, mean, lo80, hi80, lo95, hi95`` with ``attrs`` ``model_zh``,
  ``p_meet``, ``target_year``;
* assessment — ``indicator, name_zh, domain, domain_code, plan, unit, latest_year,
  latest_value, target_text, target_value, target_year, status_code, status, p_meet,
  illustrative``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from .errors import DataError
from .settings import FINAL_YEAR
from .targets import Target
from .vocab.labels import (
    FAN_COLORS, FONT_FAMILY, ILLUSTRATIVE_NOTE, MAIN_COLOR, OTHER_BENCHMARK_COLOR,
    SERIES_COLORS, STATUS_CODES, STATUS_COLORS as _STATUS_COLORS, STATUS_COLORS_ZH,
    STATUS_LABELS, TARGET_COLOR,
)
from .vocab.numbers import format_prob, format_value

__all__ = [
    "FONT_FAMILY", "ILLUSTRATIVE_NOTE", "STATUS_CODES", "STATUS_ZH", "STATUS_ORDER",
    "STATUS_COLORS", "STATUS_CODE_COLORS", "SERIES_COLORS", "TARGET_COLOR", "THEME_NAME",
    "theme_config", "themed", "use_theme", "target_label", "forecast_chart",
    "county_comparison_chart", "status_overview_chart", "domain_small_multiples",
]

# --------------------------------------------------------------------------- constants
# The one vocabulary (vocab.labels): fonts, status labels in legend order, the palette.
STATUS_ZH: dict[str, str] = STATUS_LABELS
#: Chinese status labels in the fixed legend order.
STATUS_ORDER: tuple[str, ...] = tuple(STATUS_ZH[c] for c in STATUS_CODES)
#: Status colours keyed by status code, and by the Chinese label (the legend's domain).
STATUS_CODE_COLORS: dict[str, str] = _STATUS_COLORS
STATUS_COLORS: dict[str, str] = STATUS_COLORS_ZH
FORECAST_LABEL = "预测"
FORECAST_DASH = [6, 4]
BREAKDOWN_COLUMNS = ("sex", "urban_rural", "age_group")
THEME_NAME = "wuwei"


# --------------------------------------------------------------------------- theme
def theme_config() -> dict[str, Any]:
    """The Chinese chart theme as a Vega-Lite ``config`` dict (a fresh copy each call)."""
    return {
        "font": FONT_FAMILY,
        "background": "white",
        "padding": 8,
        "title": {"fontSize": 15, "fontWeight": "bold", "anchor": "start",
                  "subtitleFontSize": 11.5, "subtitleColor": "#555", "offset": 8},
        "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal",
                 "titleColor": "#333", "labelColor": "#333", "gridColor": "#e6e6e6",
                 "domainColor": "#888", "tickColor": "#888"},
        "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom",
                   "direction": "horizontal", "symbolSize": 90, "labelLimit": 260},
        "header": {"labelFontSize": 12, "titleFontSize": 12},
        "text": {"fontSize": 11},
        "view": {"stroke": None, "continuousWidth": 480, "continuousHeight": 260},
    }


def _register_theme() -> None:
    try:
        @alt.theme.register(THEME_NAME, enable=False)
        def _wuwei_theme() -> alt.theme.ThemeConfig:
            return {"config": theme_config()}  # type: ignore[return-value]
    except Exception:  # pragma: no cover - very old / very new Altair: theme is optional
        pass


_register_theme()


def use_theme() -> None:
    """Enable the Chinese theme for every Altair chart of this process (for notebooks)."""
    alt.theme.enable(THEME_NAME)


def themed(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """A copy of ``chart`` with the Chinese theme set as its top-level ``config``.

    A configured chart cannot be layered or concatenated any more; apply this last.
    """
    return chart.configure(**theme_config())


# --------------------------------------------------------------------------- helpers
def _truthy(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "y", "是")
    try:
        if isinstance(v, float) and math.isnan(v):
            return False
        return bool(v)
    except (TypeError, ValueError):
        return False


def _any_illustrative(*frames: pd.DataFrame | None) -> bool:
    for df in frames:
        if df is not None and len(df) and "illustrative" in df.columns:
            if any(_truthy(v) for v in df["illustrative"].tolist()):
                return True
    return False


def _totals(df: pd.DataFrame) -> pd.DataFrame:
    """Rows that are totals (every breakdown column blank)."""
    mask = pd.Series(True, index=df.index)
    for col in BREAKDOWN_COLUMNS:
        if col in df.columns:
            s = df[col]
            mask &= s.isna() | (s.astype(str).str.strip().isin(["", "total", "合计", "nan"]))
    return df[mask]


def _benchmark_names() -> list[str]:
    from .geography import all_regions

    return [r.name for r in all_regions() if r.role == "benchmark"]


def _region_order() -> list[str]:
    from .geography import all_regions

    return [r.name for r in all_regions()]


def _canonical_region(name: str) -> str:
    from .errors import UnknownRegionError
    from .geography import region as lookup

    try:
        return lookup(name).name
    except UnknownRegionError:
        return str(name)


def _first(df: pd.DataFrame | None, col: str) -> str:
    if df is None or col not in df.columns:
        return ""
    vals = [v for v in df[col].tolist() if isinstance(v, str) and v.strip()]
    return vals[0] if vals else ""


def _title(text: str, subtitle: Sequence[str] = ()) -> alt.TitleParams:
    lines = [s for s in subtitle if s]
    if lines:
        return alt.TitleParams(text=text, subtitle=lines)
    return alt.TitleParams(text=text)


def _axis_title(name: str, unit: str) -> str:
    name = name or "数值"
    return f"{name}（{unit}）" if unit else name


def target_label(target: Target, unit: str = "") -> str:
    """Short label for a target rule, e.g. "2030年目标 ≤5.0‰"."""
    text = target.describe_zh(unit)
    return f"{target.year}年目标 {text}".strip()


def _coerce_target(target: Target | float | None) -> Target | None:
    if target is None or isinstance(target, Target):
        return target
    return Target(kind="around", value=float(target), tolerance=0.0, year=FINAL_YEAR,
                  text=f"{float(target):g}")


def _empty_chart(title: alt.TitleParams, width: int, height: int,
                 message: str = "暂无数据") -> alt.Chart:
    return (alt.Chart(pd.DataFrame({"msg": [message]}))
            .mark_text(fontSize=14, color="#888")
            .encode(text="msg:N")
            .properties(title=title, width=width, height=height))


def _x(title: str | None = "年份", domain: list[int] | None = None) -> alt.X:
    scale = alt.Scale(zero=False, nice=False, padding=10, **({"domain": domain} if domain else {}))
    return alt.X("year:Q", title=title, scale=scale,
                 axis=alt.Axis(format="d", tickMinStep=1, labelOverlap=True))


def _prepare_history(history: pd.DataFrame | None, indicator: str | None
                     ) -> pd.DataFrame:
    if history is None or len(history) == 0:
        return pd.DataFrame(columns=["indicator", "name_zh", "region", "year", "value",
                                     "unit", "illustrative", "source"])
    df = history.copy()
    missing = [c for c in ("region", "year", "value") if c not in df.columns]
    if missing:
        raise DataError(f"history 缺少列 {', '.join(missing)}", field=", ".join(missing))
    if indicator is not None and "indicator" in df.columns:
        df = df[(df["indicator"] == indicator) | (df.get("name_zh", "") == indicator)]
    elif "indicator" in df.columns and df["indicator"].nunique() > 1:
        raise DataError("history 含多个指标，请用 indicator= 指定一个",
                        indicator="、".join(map(str, df["indicator"].unique()[:5])))
    df = _totals(df)
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    df["year"] = pd.to_numeric(df["year"], errors="coerce")
    df = df.dropna(subset=["year", "value"])
    df["year"] = df["year"].astype(int)
    df["region"] = df["region"].astype(str)
    for col in ("source", "unit", "name_zh"):
        if col not in df.columns:
            df[col] = ""
        df[col] = df[col].fillna("").astype(str)
    return df.sort_values(["region", "year"]).reset_index(drop=True)


# --------------------------------------------------------------------------- forecast chart
def forecast_chart(
    history: pd.DataFrame | None,
    forecast: pd.DataFrame | None = None,
    *,
    target: Target | float | None = None,
    unit: str = "",
    title: str | None = None,
    benchmarks: pd.DataFrame | bool | None = None,
    region: str | None = None,
    indicator: str | None = None,
    base_value: float | None = None,
    width: int = 480,
    height: int = 260,
    legend: bool = True,
    details: bool = True,
) -> alt.LayerChart | alt.Chart:
    """预测图 — an indicator's history, forecast fan, plan target and benchmarks.

    Args:
        history: observations (see module docstring) for one indicator; may hold the
            monitored region's rows and benchmark rows (region 甘肃省 / 全国). Breakdown
            rows are dropped (totals only).
        forecast: ``year, median (or mean), lo80, hi80, lo95, hi95`` (attrs ``model_zh``,
            ``p_meet``, ``target_year`` are used in the subtitle); None for history only.
        target: the plan target; a number is drawn as a plain target value.
        unit: unit for the axis title and target label (default: the rows' unit).
        title: chart title (default: "<region> · <name_zh>").
        benchmarks: None — draw benchmark rows found in ``history``; a DataFrame — extra
            benchmark rows (same columns); False — draw none.
        region: the monitored region (name, alias or code); needed only when ``history``
            holds several non-benchmark regions.
        indicator: pick one indicator (id or name_zh) when ``history`` holds several.
        base_value: the base-year value for a ``relative_change`` target (default: the
            history value in ``target.base_year``).
        width, height: plot size in pixels.
        legend: show the legend (small multiples turn it off).
        details: add the model / probability line to the subtitle.

    Returns:
        A layered Altair chart (unconfigured; see :func:`themed`). Its data hold the
        history (columns region, year, value, …) and the forecast (year, value = the
        median, lo80, hi80, lo95, hi95). In a notebook it displays offline.
    """
    target = _coerce_target(target)
    df = _prepare_history(history, indicator)
    bench_names = _benchmark_names()
    is_bench = df["region"].isin(bench_names)
    main = df[~is_bench]
    bench = df[is_bench]
    if region is not None:
        region = _canonical_region(region)
        main = main[main["region"].map(_canonical_region) == region]
    elif main["region"].nunique() > 1:
        raise DataError("history 含多个地区，请用 region= 指定一个",
                        region="、".join(main["region"].unique()[:5]))
    if benchmarks is False:
        bench = bench.iloc[0:0]
    elif isinstance(benchmarks, pd.DataFrame) and len(benchmarks):
        extra = _prepare_history(benchmarks, indicator)
        bench = pd.concat([bench, extra], ignore_index=True).drop_duplicates(
            subset=["region", "year"], keep="last")
    region_name = region or (main["region"].iloc[0] if len(main) else "")
    name_zh = _first(main, "name_zh") or _first(bench, "name_zh") or (indicator or "")
    unit = unit or _first(main, "unit") or _first(bench, "unit")

    attrs = dict(getattr(forecast, "attrs", None) or {}) if forecast is not None else {}
    fc = None
    if forecast is not None and len(forecast):
        # a fresh frame without attrs (models put a DataFrame in attrs; concat would fail)
        fc = pd.DataFrame({c: forecast[c].to_numpy() for c in forecast.columns})
        fc["year"] = pd.to_numeric(fc["year"]).astype(int)
        if "median" in fc.columns:      # the point forecast (``mean`` is its old alias)
            fc["mean"] = fc["median"]
        for col in ("mean", "lo80", "hi80", "lo95", "hi95"):
            fc[col] = pd.to_numeric(fc[col], errors="coerce") if col in fc.columns else math.nan
        fc = fc.sort_values("year").reset_index(drop=True)

    # subtitle
    subtitle: list[str] = []
    if _any_illustrative(main, bench) or _truthy(attrs.get("illustrative")):
        subtitle.append(ILLUSTRATIVE_NOTE)
    if details and forecast is not None:
        bits = []
        if attrs.get("model_zh"):
            bits.append(f"预测模型：{attrs['model_zh']}")
        p = attrs.get("p_meet")
        if p is not None and not (isinstance(p, float) and math.isnan(p)):
            ty = attrs.get("target_year") or (target.year if target else FINAL_YEAR)
            bits.append(f"{ty}年达标概率 {format_prob(p)}")
        if bits:
            subtitle.append("；".join(bits))
    if title is None:
        title = " · ".join(x for x in (region_name, name_zh) if x) or "指标走势"
    chart_title = _title(title, subtitle)

    # x domain: first observation .. max(last year, forecast end, target year)
    years = list(main["year"]) + list(bench["year"])
    if fc is not None:
        years += list(fc["year"])
    target_year = None
    if target is not None and target.kind != "qualitative":
        target_year = int(target.year)
    elif fc is not None and attrs.get("target_year"):
        target_year = int(attrs["target_year"])
    if target_year is not None:
        years.append(target_year)
    if not years:
        return _empty_chart(chart_title, width, height)
    x_domain = [int(min(years)), int(max(years))]
    if x_domain[0] == x_domain[1]:
        x_domain = [x_domain[0] - 1, x_domain[1] + 1]
    y_title = _axis_title(name_zh, unit)
    x_enc = _x("年份", x_domain)

    # legend series: main region, forecast, benchmarks (fixed colours)
    series_domain: list[str] = []
    series_range: list[str] = []
    dash_range: list[list[int]] = []
    main_label = region_name or "实际值"
    if len(main):
        series_domain.append(main_label); series_range.append(MAIN_COLOR); dash_range.append([1, 0])
    if fc is not None and fc["mean"].notna().any():
        series_domain.append(FORECAST_LABEL); series_range.append(MAIN_COLOR)
        dash_range.append(FORECAST_DASH)
    bench_regions = [r for r in bench_names if r in set(bench["region"])] + sorted(
        set(bench["region"]) - set(bench_names))
    for r in bench_regions:
        series_domain.append(r)
        series_range.append(SERIES_COLORS.get(r, OTHER_BENCHMARK_COLOR))
        dash_range.append([1, 0])
    leg = alt.Legend(title=None, symbolType="stroke", symbolStrokeWidth=2.5,
                     symbolSize=260) if legend else None
    color = alt.Color("series:N", scale=alt.Scale(domain=series_domain, range=series_range),
                      legend=leg)
    dash = alt.StrokeDash("series:N", scale=alt.Scale(domain=series_domain, range=dash_range),
                          legend=leg)

    layers: list[alt.Chart] = []

    # forecast fans (95% under 80%), anchored at the last observation
    last = main.sort_values("year").iloc[-1] if len(main) else None
    if fc is not None:
        fan = fc.copy()
        if last is not None and fan["year"].min() > last["year"]:
            anchor = {"year": int(last["year"]), "mean": float(last["value"])}
            anchor.update({c: float(last["value"]) for c in ("lo80", "hi80", "lo95", "hi95")})
            fan = pd.concat([pd.DataFrame([anchor]), fan], ignore_index=True)
        fan = fan[["year", "mean", "lo80", "hi80", "lo95", "hi95"]]
        fill_leg = alt.Legend(title=None, symbolType="square", symbolSize=160,
                              symbolOpacity=1) if legend else None
        fill_scale = alt.Scale(domain=list(FAN_COLORS)[::-1], range=list(FAN_COLORS.values())[::-1])
        for lvl, opacity in (("95", 0.75), ("80", 0.75)):
            lo, hi = f"lo{lvl}", f"hi{lvl}"
            band = fan.dropna(subset=[lo, hi])
            if len(band) < 2:
                continue
            layers.append(
                alt.Chart(band, name=f"fan{lvl}")
                .transform_calculate(band=f"'{lvl}%预测区间'")
                .mark_area(opacity=opacity, interpolate="linear")
                .encode(
                    x=x_enc,
                    y=alt.Y(f"{lo}:Q", title=y_title, scale=alt.Scale(zero=False, nice=True)),
                    y2=alt.Y2(f"{hi}:Q"),
                    fill=alt.Fill("band:N", scale=fill_scale, legend=fill_leg),
                    tooltip=[alt.Tooltip("year:Q", title="年份", format="d"),
                             alt.Tooltip(f"{lo}:Q", title=f"{lvl}%区间下限", format=".3~f"),
                             alt.Tooltip(f"{hi}:Q", title=f"{lvl}%区间上限", format=".3~f")],
                )
            )

    # target: band (around), rule, target-year marker and label
    threshold = None
    if target is not None and target.kind != "qualitative":
        if target.kind == "relative_change" and base_value is None and len(main):
            by_year = main.set_index("year")["value"]
            if target.base_year in by_year.index:
                base_value = float(by_year.loc[target.base_year])
        threshold = target.threshold(base_value=base_value)
        if threshold is None and target.kind in ("relative_change", "at_most", "at_least",
                                                 "around"):
            t_attr = attrs.get("threshold")  # the model's threshold (e.g. plan baseline)
            if t_attr is not None and not (isinstance(t_attr, float) and math.isnan(t_attr)):
                threshold = float(t_attr)
        label = target_label(target, unit)
        if threshold is not None and (target.kind == "relative_change" or target.value is None):
            sign = "≤" if target.lower_is_better else "≥" if target.lower_is_better is False else "≈"
            label += f"（{sign}{threshold:.3g}{unit}）"
        tdf = pd.DataFrame([{"year": int(target.year), "target": threshold, "label": label}])
        layers.append(
            alt.Chart(tdf, name="target_year")
            .mark_rule(color="#999", strokeDash=[2, 3], strokeWidth=1)
            .encode(x=x_enc)
        )
        if threshold is not None:
            if target.kind == "around" and target.tolerance:
                tdf["lo"] = threshold - float(target.tolerance)
                tdf["hi"] = threshold + float(target.tolerance)
                layers.append(
                    alt.Chart(tdf, name="target_band")
                    .mark_rect(color=TARGET_COLOR, opacity=0.08)
                    .encode(y=alt.Y("lo:Q", title=y_title), y2="hi:Q")
                )
            layers.append(
                alt.Chart(tdf, name="target_rule")
                .mark_rule(color=TARGET_COLOR, strokeWidth=1.5)
                .encode(y=alt.Y("target:Q", title=y_title),
                        tooltip=[alt.Tooltip("label:N", title="规划目标")])
            )
            layers.append(
                alt.Chart(tdf, name="target_marker")
                .mark_point(shape="diamond", filled=True, size=110, color=TARGET_COLOR,
                            opacity=1)
                .encode(x=x_enc, y=alt.Y("target:Q", title=y_title),
                        tooltip=[alt.Tooltip("label:N", title="规划目标")])
            )
            layers.append(
                alt.Chart(tdf, name="target_label")
                .mark_text(align="right", baseline="bottom", dx=-9, dy=-5,
                           color=TARGET_COLOR, fontSize=11, fontWeight="bold")
                .encode(x=x_enc, y=alt.Y("target:Q", title=y_title), text="label:N")
            )
        else:  # direction / gap / missing base: label the target year only
            layers.append(
                alt.Chart(tdf, name="target_label")
                .mark_text(align="right", baseline="top", dx=-5, y=4,
                           color=TARGET_COLOR, fontSize=11, fontWeight="bold")
                .encode(x=x_enc, text="label:N")
            )

    # lines: benchmarks, history, forecast mean (one layer so the legend shows dashes)
    line_rows = [bench.assign(series=bench["region"])[["year", "value", "series"]]]
    if len(main):
        line_rows.append(main.assign(series=main_label)[["year", "value", "series"]])
    if fc is not None and fc["mean"].notna().any():
        m = fc.dropna(subset=["mean"])[["year", "mean"]].rename(columns={"mean": "value"})
        if last is not None and m["year"].min() > last["year"]:
            m = pd.concat([pd.DataFrame([{"year": int(last["year"]),
                                          "value": float(last["value"])}]), m])
        line_rows.append(m.assign(series=FORECAST_LABEL))
    lines = pd.concat([r for r in line_rows if len(r)], ignore_index=True) \
        if any(len(r) for r in line_rows) else None
    if lines is not None:
        lines["value"] = lines["value"].astype(float)
        lines["year"] = lines["year"].astype(int)
        layers.append(
            alt.Chart(lines, name="lines")
            .mark_line(strokeWidth=2, interpolate="linear")
            .encode(
                x=x_enc,
                y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False, nice=True)),
                color=color,
                strokeDash=dash,
                detail="series:N",
                strokeWidth=alt.condition(
                    alt.FieldOneOfPredicate(field="series", oneOf=bench_regions or ["-"]),
                    alt.value(1.4), alt.value(2.2)),
                tooltip=[alt.Tooltip("series:N", title="系列"),
                         alt.Tooltip("year:Q", title="年份", format="d"),
                         alt.Tooltip("value:Q", title="数值", format=".3~f")],
            )
        )

    # observed points (history and benchmarks), with source in the tooltip
    pts = pd.concat([bench.assign(series=bench["region"]),
                     main.assign(series=main_label)], ignore_index=True)
    if len(pts):
        pts = pts[["year", "value", "series", "source"]]
        layers.append(
            alt.Chart(pts, name="observed")
            .mark_point(filled=True, size=36, opacity=1)
            .encode(
                x=x_enc,
                y=alt.Y("value:Q", title=y_title),
                color=color,
                tooltip=[alt.Tooltip("series:N", title="地区"),
                         alt.Tooltip("year:Q", title="年份", format="d"),
                         alt.Tooltip("value:Q", title=f"数值（{unit}）" if unit else "数值",
                                     format=".3~f"),
                         alt.Tooltip("source:N", title="来源")],
            )
        )

    if not layers:
        return _empty_chart(chart_title, width, height)
    return alt.layer(*layers).properties(title=chart_title, width=width, height=height)


# --------------------------------------------------------------------------- county comparison
def county_comparison_chart(
    latest: pd.DataFrame,
    *,
    unit: str = "",
    target: Target | float | None = None,
    title: str | None = None,
    highlight: str | None = None,
    width: int = 420,
    bar_height: int = 26,
) -> alt.LayerChart | alt.Chart:
    """各县区比较图 — horizontal bars, one per region, for one indicator's latest values.

    Args:
        latest: one row per region with ``region, value`` and optionally ``year,
            name_zh, unit, illustrative``. Regions are ordered as in ``regions.yaml``
            (city, counties, then benchmarks); benchmarks are drawn in grey.
        unit: unit for the axis title (default: the rows' unit).
        target: plan target, drawn as a vertical rule with its label.
        title: chart title (default: "<name_zh>：各县区比较").
        highlight: a region drawn darker (e.g. the county a brief is about).
        width: plot width; the height follows the number of regions.
        bar_height: pixels per bar.

    Returns:
        An Altair chart (unconfigured) whose data have columns region, value, year,
        name_zh, unit, illustrative (as given) plus the bar colour and label.
    """
    target = _coerce_target(target)
    df = latest.copy() if latest is not None else pd.DataFrame(columns=["region", "value"])
    if len(df):
        df = _totals(df)
        df["value"] = pd.to_numeric(df["value"], errors="coerce")
        df = df.dropna(subset=["value"])
        df["region"] = df["region"].astype(str).map(_canonical_region)
    name_zh = _first(df, "name_zh")
    unit = unit or _first(df, "unit")
    subtitle = [ILLUSTRATIVE_NOTE] if _any_illustrative(df) else []
    chart_title = _title(title or (f"{name_zh}：各县区比较" if name_zh else "各县区比较"), subtitle)
    if not len(df):
        return _empty_chart(chart_title, width, 4 * bar_height)

    bench_names = set(_benchmark_names())
    highlight = _canonical_region(highlight) if highlight else None
    order = [r for r in _region_order() if r in set(df["region"])]
    order += [r for r in df["region"].unique() if r not in order]

    def kind(r: str) -> str:
        if r == highlight:
            return "本地区"
        return "对比基准" if r in bench_names else "武威市及各县区"

    df["kind"] = df["region"].map(kind)
    kinds = [k for k in ("本地区", "武威市及各县区", "对比基准") if k in set(df["kind"])]
    kind_colors = {"本地区": "#0b3d91", "武威市及各县区": "#6f9fd8", "对比基准": "#b8b8b8"}
    if "year" in df.columns and df["year"].notna().any():
        df["year"] = pd.to_numeric(df["year"], errors="coerce")
        several_years = df["year"].nunique() > 1
        df["label"] = [f"{v:.4g}" + (f"（{int(y)}年）" if several_years and pd.notna(y) else "")
                       for v, y in zip(df["value"], df["year"])]
        df["year_text"] = [f"{int(y)}" if pd.notna(y) else "—" for y in df["year"]]
    else:
        df["label"] = [f"{v:.4g}" for v in df["value"]]
        df["year_text"] = "—"
    df = df[["region", "value", "kind", "label", "year_text"]]
    x_title = _axis_title(name_zh, unit)
    y = alt.Y("region:N", sort=order, title=None, axis=alt.Axis(labelLimit=200))
    x = alt.X("value:Q", title=x_title, scale=alt.Scale(zero=True, nice=True))
    bars = (alt.Chart(df, name="bars").mark_bar(height={"band": 0.7})
            .encode(x=x, y=y,
                    color=alt.Color("kind:N", scale=alt.Scale(domain=kinds,
                                    range=[kind_colors[k] for k in kinds]),
                                    legend=alt.Legend(title=None) if len(kinds) > 1 else None),
                    tooltip=[alt.Tooltip("region:N", title="地区"),
                             alt.Tooltip("value:Q", title=x_title, format=".3~f"),
                             alt.Tooltip("year_text:N", title="年份")]))
    text = (alt.Chart(df, name="values").mark_text(align="left", dx=4, fontSize=11, color="#333")
            .encode(x=x, y=y, text="label:N"))
    layers: list[alt.Chart] = [bars, text]
    threshold = target.threshold() if target is not None else None
    if threshold is not None:
        tdf = pd.DataFrame([{"target": threshold, "label": target_label(target, unit)}])
        layers.append(alt.Chart(tdf, name="target_rule")
                      .mark_rule(color=TARGET_COLOR, strokeWidth=1.5, strokeDash=[4, 3])
                      .encode(x=alt.X("target:Q", title=x_title),
                              tooltip=[alt.Tooltip("label:N", title="规划目标")]))
        layers.append(alt.Chart(tdf, name="target_label")
                      .mark_text(align="left", baseline="bottom", dx=4, y=-2,
                                 color=TARGET_COLOR, fontSize=11, fontWeight="bold")
                      .encode(x=alt.X("target:Q", title=x_title), text="label:N"))
    return alt.layer(*layers).properties(title=chart_title, width=width,
                                         height=bar_height * len(order))


# --------------------------------------------------------------------------- status overview
def _domain_order() -> list[str]:
    try:
        from .indicator_catalog import domains

        return [str(c) for c in domains()["code"]]
    except Exception:  # catalogue metadata unreadable: fall back to appearance order
        return []


def status_overview_chart(
    assessment: pd.DataFrame,
    *,
    title: str = "规划指标进展状态总览",
    cell: int = 20,
) -> alt.Chart:
    """状态总览图 — one square per indicator, coloured by status, one row per domain.

    Squares are sorted within a domain by status (legend order), so each row reads as a
    small stacked bar. The tooltip gives the indicator, latest value, target and the
    probability of meeting it.

    Args:
        assessment: the assessment table (see module docstring); ``status_code`` decides
            the colour (``status`` is used if the code is missing).
        title: chart title.
        cell: size of one square in pixels.

    Returns:
        An Altair chart (unconfigured) with one mark per row of ``assessment`` (columns
        name_zh, domain_label, status_zh, latest_text, target_show, p_text in its data).
    """
    df = assessment.copy() if assessment is not None else pd.DataFrame()
    subtitle = [ILLUSTRATIVE_NOTE] if _any_illustrative(df) else []
    chart_title = _title(title, subtitle)
    if not len(df):
        return _empty_chart(chart_title, 300, 80)
    if "status_code" in df.columns:
        status = df["status_code"].map(STATUS_ZH)
    else:
        status = pd.Series(pd.NA, index=df.index)
    if "status" in df.columns:
        status = status.fillna(df["status"])
    df["status_zh"] = status.fillna("数据不足").astype(str)
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    df["status_rank"] = df["status_zh"].map(rank).fillna(len(rank)).astype(int)
    code = df["domain_code"].astype(str) if "domain_code" in df.columns else pd.Series("", index=df.index)
    name = df["domain"].fillna("").astype(str) if "domain" in df.columns else code
    df["domain_label"] = [n or c or "未分领域" for n, c in zip(name, code)]
    df["_code"] = code
    dorder = _domain_order()
    codes_seen = list(dict.fromkeys(code))
    code_rank = {c: i for i, c in enumerate(dorder + [c for c in codes_seen if c not in dorder])}
    df["_drank"] = df["_code"].map(code_rank).fillna(len(code_rank)).astype(int)
    df = df.sort_values(["_drank", "status_rank", "name_zh"], kind="stable").reset_index(drop=True)
    df["pos"] = df.groupby("_drank").cumcount()
    domain_order = list(dict.fromkeys(df["domain_label"]))

    unit = df["unit"].fillna("").astype(str) if "unit" in df.columns else pd.Series("", index=df.index)
    lv = df["latest_value"] if "latest_value" in df.columns else pd.Series(math.nan, index=df.index)
    ly = df["latest_year"] if "latest_year" in df.columns else pd.Series(math.nan, index=df.index)
    df["latest_text"] = [
        "—" if pd.isna(v) else format_value(v, u) + (f"（{int(y)}年）" if pd.notna(y) else "")
        for v, u, y in zip(pd.to_numeric(lv, errors="coerce"), unit, pd.to_numeric(ly, errors="coerce"))
    ]
    if "target_text" in df.columns:
        df["target_show"] = df["target_text"].fillna("—").astype(str)
    else:
        df["target_show"] = "—"
    p = pd.to_numeric(df["p_meet"], errors="coerce") if "p_meet" in df.columns \
        else pd.Series(math.nan, index=df.index)
    df["p_text"] = [format_prob(v) for v in p]
    df["name_zh"] = df["name_zh"].fillna("").astype(str) if "name_zh" in df.columns else ""
    data = df[["name_zh", "domain_label", "pos", "status_zh", "latest_text", "target_show",
               "p_text"]]
    ncols = int(df["pos"].max()) + 1
    return (
        alt.Chart(data, name="status")
        .mark_square(size=cell * cell * 0.72, opacity=1)
        .encode(
            x=alt.X("pos:O", title=None, axis=None),
            y=alt.Y("domain_label:N", sort=domain_order, title=None,
                    axis=alt.Axis(labelLimit=220, ticks=False, domain=False, labelPadding=6)),
            color=alt.Color("status_zh:N", title="状态",
                            scale=alt.Scale(domain=list(STATUS_ORDER),
                                            range=[STATUS_COLORS[s] for s in STATUS_ORDER]),
                            legend=alt.Legend(title="状态", orient="bottom",
                                              direction="horizontal", values=list(STATUS_ORDER))),
            tooltip=[alt.Tooltip("name_zh:N", title="指标"),
                     alt.Tooltip("domain_label:N", title="领域"),
                     alt.Tooltip("status_zh:N", title="状态"),
                     alt.Tooltip("latest_text:N", title="最新值"),
                     alt.Tooltip("target_show:N", title="目标"),
                     alt.Tooltip("p_text:N", title="达标概率")],
        )
        .properties(title=chart_title, width=max(ncols, 6) * cell,
                    height=len(domain_order) * cell)
    )


# --------------------------------------------------------------------------- small multiples
def _catalog_entry(key: str) -> Any:
    try:
        from .indicator_catalog import indicator as lookup

        return lookup(key)
    except Exception:  # unknown id or catalogue not available: draw without it
        return None


def domain_small_multiples(
    history: pd.DataFrame,
    forecasts: Mapping[str, pd.DataFrame] | None = None,
    *,
    targets: Mapping[str, Target | None] | None = None,
    indicators: Sequence[str] | None = None,
    domain: str | None = None,
    region: str | None = None,
    title: str | None = None,
    columns: int = 3,
    width: int = 220,
    height: int = 140,
) -> alt.ConcatChart | alt.Chart:
    """分领域小图 — small forecast charts, one per indicator of a domain, in a grid.

    Args:
        history: observations of several indicators (column ``indicator``), for one
            monitored region plus optional benchmark rows.
        forecasts: ``{indicator: forecast frame}``; indicators without one show history.
        targets: ``{indicator: Target}``; missing entries are looked up in the catalogue.
        indicators: which indicators, in order (default: ``domain``'s indicators from the
            catalogue if given, else every indicator in ``history`` in order of appearance).
        domain: domain code or Chinese name, used for the title and the default selection
            (rows of ``history`` with a ``domain_code`` / ``domain`` column also filter).
        region: the monitored region, if ``history`` holds several.
        title: grid title (default: the domain name).
        columns: charts per row.
        width, height: size of each small chart.

    Returns:
        An Altair concatenated chart of :func:`forecast_chart` panels (an empty-message
        chart when no indicator has data).
    """
    forecasts = dict(forecasts or {})
    targets = dict(targets or {})
    df = history if history is not None else pd.DataFrame(columns=["indicator"])
    if domain is not None:
        for col in ("domain_code", "domain"):
            if col in df.columns:
                df = df[df[col] == domain]
                break
    if indicators is None:
        indicators = []
        if domain is not None and "domain_code" not in df.columns and "domain" not in df.columns:
            try:
                from .indicator_catalog import catalog

                cat = catalog(domain=domain)
                present = set(df["indicator"]) if "indicator" in df.columns else set()
                indicators = [i for i in cat["id"] if i in present]
            except Exception:
                indicators = []
        if not indicators and "indicator" in df.columns:
            indicators = list(dict.fromkeys(df["indicator"].tolist()))
    subtitle = [ILLUSTRATIVE_NOTE] if _any_illustrative(df) else []
    key = "实线：实际值；虚线：预测；阴影：80%/95%预测区间；红线与菱形：规划目标"
    if "region" in df.columns:
        present = set(df["region"].astype(str))
        named = {"甘肃省": "棕线：甘肃省", "全国": "灰线：全国"}
        key += "".join(f"；{v}" for k, v in named.items() if k in present)
    subtitle.append(key)
    if title is None:
        title = domain or "分领域指标走势"
        if domain:
            try:
                from .indicator_catalog import domains

                d = domains()
                hit = d[(d["code"] == domain) | (d["zh"] == domain)]
                if len(hit):
                    title = str(hit["zh"].iloc[0])
            except Exception:
                pass
        if region:
            title = f"{_canonical_region(region)} · {title}"
    charts = []
    for ind in indicators:
        rows = df[df["indicator"] == ind] if "indicator" in df.columns else df
        entry = _catalog_entry(ind)
        tgt = targets.get(ind, entry.target if entry is not None else None)
        unit = _first(rows, "unit") or (entry.unit if entry is not None else "")
        name = _first(rows, "name_zh") or (entry.name_zh if entry is not None else str(ind))
        fc = forecasts.get(ind)
        p = (getattr(fc, "attrs", {}) or {}).get("p_meet") if fc is not None else None
        sub = []
        if p is not None and not (isinstance(p, float) and math.isnan(p)):
            sub.append(f"达标概率 {format_prob(p)}")
        c = forecast_chart(rows, fc, target=tgt, unit=unit, region=region, indicator=None,
                           title=name, width=width, height=height, legend=False,
                           details=False)
        c = c.properties(title=alt.TitleParams(text=name, subtitle=sub, fontSize=12.5))
        charts.append(c)
    top_title = _title(title, subtitle)
    if not charts:
        return _empty_chart(top_title, width, height)
    return (alt.concat(*charts, columns=columns, title=top_title)
            .resolve_scale(color="independent", fill="independent", strokeDash="independent"))
