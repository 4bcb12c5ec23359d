"""The app's widgets and callbacks (what ``notebooks/forecast_app.ipynb`` displays).

Layout (all labels Chinese)::

    标题 · 示意数据提示
    [地区 ▾] [领域 ▾] [指标 ▾]
    ┌ 预测图（内嵌 SVG）─────────────┐ ┌ 指标摘要：最新值、目标、2030年预测、
    │ 历史、预测扇形、目标、对照、情景 │ │ 达标概率、状态、达标所需 ─────────────
    └────────────────────────────────┘ │ 情景推演：[每年改善 X% ────●──]
                                       │ → 2030年数值、能否达标、达标所需
                                       │ 下载所示数据：CSV  Excel
    各指标状态一览  [排序 ▾] [升序|降序]
    状态表（状态着色）

Every widget change is answered from :class:`~wuwei_analysis.app.data.AppData`'s caches and
drawn as an SVG string (a few ms); a background :class:`~wuwei_analysis.app.data.Warmer`
fills the caches for the current region first, then for the others.
"""
from __future__ import annotations

import contextlib
import html
import logging
import threading
import time
from typing import Any

import ipywidgets as widgets

from ..vocab.labels import CSS_FONT_FAMILY
from .data import AppData, View, Warmer
from .present import (
    SORT_KEYS, STATUS_ORDER, STATUS_RULE_ZH, chart_svg, download_links, filter_rows,
    goal_counts_html, illustrative_banner, scenario, summary_html, table_html, table_rows,
    whatif_html,
)

log = logging.getLogger(__name__)

RATE_MIN, RATE_MAX, RATE_STEP = -10.0, 30.0, 0.5
TITLE = "武威市妇女儿童发展规划（2021—2030年）监测预测"

CSS = """<style>
.wuwei-app{max-width:1280px;margin:0 auto;color:#222;
  font-family:__FONT__}
.wuwei-app .ww-title{font-size:22px;font-weight:bold;margin:6px 0 2px 0;color:#1f3b63}
.wuwei-app .ww-sub{color:#555;font-size:13px;margin-bottom:4px}
.wuwei-app .ww-illustrative{background:#fff4d6;border:1px solid #f0b429;color:#7a4b00;
  padding:7px 12px;font-weight:bold;border-radius:4px;margin:6px 0;font-size:14px}
.wuwei-app .ww-pending{background:#eceff3;color:#666}
.wuwei-app .ww-badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;
  white-space:nowrap;line-height:18px}
.wuwei-app .ww-card{border:1px solid #dde3ea;border-radius:6px;padding:10px 14px;background:#fbfcfe}
.wuwei-app .ww-card-title{font-size:16px;font-weight:bold;margin-bottom:6px}
.wuwei-app .ww-kv th{text-align:left;color:#555;font-weight:normal;padding:3px 12px 3px 0;
  white-space:nowrap;vertical-align:top}
.wuwei-app .ww-kv td{padding:3px 0}
.wuwei-app .ww-muted{color:#777}
.wuwei-app .ww-small{font-size:12px;margin-top:4px}
.wuwei-app .ww-warn{color:#9a3412;background:#fff1e6;padding:4px 8px;border-radius:4px;
  margin-top:6px;font-size:13px}
.wuwei-app .ww-box{border:1px solid #dde3ea;border-radius:6px;padding:8px 14px;margin-top:10px}
.wuwei-app .ww-box-title{font-weight:bold;font-size:15px;margin-bottom:2px}
.wuwei-app .ww-whatif-result{font-size:14px;line-height:1.6}
.wuwei-app .ww-whatif-value{font-size:17px}
.wuwei-app .ww-yes{color:#2e7d32;font-weight:bold}
.wuwei-app .ww-no{color:#d62728;font-weight:bold}
.wuwei-app .ww-worse{color:#b45309;font-weight:bold}
.wuwei-app .ww-na{color:#555}
.wuwei-app .ww-rate-label{font-weight:bold;color:#1f3b63;margin-bottom:2px}
.wuwei-app .ww-table th.ww-sortable{cursor:pointer;text-decoration:underline dotted #8aa}
.wuwei-app .ww-table th.ww-sortable:hover{background:#e4edf8}
.wuwei-app .ww-table tbody tr{cursor:pointer}
.wuwei-app .ww-table tbody tr:hover td{background:#f5f9ff}
.wuwei-app .ww-required{color:#333}
.wuwei-app .ww-downloads{margin-top:10px;font-size:14px}
.wuwei-app .ww-dl{display:inline-block;margin-left:10px;padding:3px 12px;border:1px solid #1f5fa8;
  border-radius:4px;color:#1f5fa8;text-decoration:none;background:white}
.wuwei-app .ww-dl:hover{background:#eef5ff}
.wuwei-app .ww-section{font-size:17px;font-weight:bold;margin:16px 0 4px 0;color:#1f3b63}
.wuwei-app .ww-status-summary{margin:4px 0 8px 0;font-size:13px}
.wuwei-app .ww-goal-counts{margin:2px 0 6px 0;font-size:13px;color:#24292f}
.wuwei-app .ww-table-wrap{max-height:560px;overflow-y:auto;border:1px solid #e3e7ee;border-radius:4px}
.wuwei-app .ww-table{border-collapse:collapse;width:100%;font-size:13px}
.wuwei-app .ww-table th{background:#f1f4f8;text-align:left;padding:6px;border-bottom:2px solid #cfd6e0;
  position:sticky;top:0;white-space:nowrap}
.wuwei-app .ww-table th.ww-sorted{background:#dde9f7}
.wuwei-app .ww-table td{padding:5px 6px;border-bottom:1px solid #eef0f3;vertical-align:top}
.wuwei-app .ww-table tr.ww-selected td{background:#eef5ff}
.wuwei-app .ww-num{text-align:right;white-space:nowrap}
.wuwei-app .ww-nowrap{white-space:nowrap}
.wuwei-app .ww-footer{color:#666;font-size:12px;margin:10px 0 20px 0;line-height:1.6}
.wuwei-app .wuwei-chart svg{display:block}
.wuwei-app .ww-row > *{margin-right:12px}
.wuwei-snapshot{font-size:14px;line-height:1.6}
.wuwei-snapshot .ww-snap-row{display:flex;flex-flow:row wrap;align-items:center;margin:4px 0}
.wuwei-snapshot .ww-snap-row > *{margin:2px 12px 2px 0}
.wuwei-snapshot label{font-size:13px;white-space:nowrap}
.wuwei-snapshot select,.wuwei-snapshot button{font:inherit;font-size:13px;margin-left:6px;
  height:28px;max-width:100%}
.wuwei-snapshot .ww-snap-main{display:flex;flex-flow:row wrap}
.wuwei-snapshot .ww-snap-left{flex:2 1 600px;min-width:480px;margin-right:12px}
.wuwei-snapshot .ww-snap-right{flex:1 1 360px;min-width:320px}
.wuwei-snapshot .ww-snap-wait{color:#1f5fa8;font-size:13px}
.wuwei-snapshot .ww-snap-wait::before{content:"";display:inline-block;width:10px;height:10px;
  margin-right:6px;border:2px solid #d5deea;border-top-color:#1f5fa8;border-radius:50%;
  animation:wwspin 1s linear infinite;vertical-align:-1px}
@keyframes wwspin{to{transform:rotate(360deg)}}
</style>""".replace("__FONT__", CSS_FONT_FAMILY)


#: The mimetype under which the app's output carries :meth:`ForecastApp.snapshot_html`
#: (the page template shows it as plain HTML until the widgets are live).
SNAPSHOT_MIME = "application/vnd.wuwei.snapshot+html"


def _static_select(dd: widgets.Dropdown, width: str) -> str:
    """A picker as plain HTML, showing its current choice (disabled until live)."""
    label = html.escape(dd.label or "")
    return (f'<label>{html.escape(dd.description)}<select disabled style="width:{width}">'
            f'<option selected>{label}</option></select></label>')


def _dropdown(label: str, options: Any, value: Any, width: str) -> widgets.Dropdown:
    return widgets.Dropdown(options=options, value=value, description=label,
                            style={"description_width": "initial"},
                            layout=widgets.Layout(width=width))


class ForecastApp(widgets.VBox):
    """The whole page as one widget. Pickers: ``region``, ``domain``, ``indicator``;
    what-if: ``rate``; table sorting: ``sort_key``, ``sort_order``.

    Args:
        data: an :class:`AppData` (one per kernel).
        region, indicator: what to show first (default: 武威市, 婴儿死亡率).
        warm: start the background cache warmer.
    """

    def __init__(self, data: AppData, *, region: str | None = None,
                 indicator: str | None = None, warm: bool = True) -> None:
        t0 = time.perf_counter()
        self.data = data
        regions = data.regions()
        region = region or regions[0]
        indicator = indicator or data.default_indicator(region)
        from ..indicator_catalog import indicator as find_indicator

        ind = find_indicator(indicator)
        self._updating = False
        self._render_lock = threading.RLock()
        self._table_rendered_at = 0.0
        self._dl_timer: threading.Timer | None = None
        self._dl_token = 0
        self._xlsx_n = 0
        self.download_delay = 0.3   # s: build the files once the user pauses
        self.timings: dict[str, float] = {}
        self.warmer: Warmer | None = None

        self.region = _dropdown("地区", regions, region, "230px")
        doms = [("全部领域", "")] + [(f"{zh}", code) for code, zh in data.domains()]
        self.domain = _dropdown("领域", doms, ind.domain, "260px")
        self.indicator = _dropdown("指标", self._indicator_options(ind.domain), ind.id, "460px")
        self.rate = widgets.FloatSlider(
            value=0.0, min=RATE_MIN, max=RATE_MAX, step=RATE_STEP,
            description="比当前趋势每年多改善（%）",
            continuous_update=False, readout_format=".1f", style={"description_width": "initial"},
            layout=widgets.Layout(width="100%"))
        self.sort_key = _dropdown("排序", [(v[0], k) for k, v in SORT_KEYS.items()], "status",
                                  "260px")
        self.status_filter = _dropdown(
            "状态", [("全部状态", ""), ("待关注（难以实现、有风险）", "待关注")]
            + [(s, s) for s in STATUS_ORDER], "", "260px")
        reporters = sorted({i.reporter for i in data.indicators() if i.reporter})
        self.reporter_filter = _dropdown("成员单位", [("全部成员单位", "")]
                                         + [(r, r) for r in reporters], "", "300px")
        # clicks on the table (a header sorts, a row opens its chart) arrive here from the
        # page's script (templates/voila/templates/wuwei_app): "sort:KEY" / "open:ID"
        self.command = widgets.Text(value="", layout=widgets.Layout(display="none"),
                                    continuous_update=True)
        self.sort_order = widgets.ToggleButtons(options=[("升序", False), ("降序", True)],
                                                value=False, style={"button_width": "56px"})
        self.banner = widgets.HTML()
        self.chart = widgets.HTML()
        self.summary = widgets.HTML()
        self.whatif_result = widgets.HTML()
        self.downloads = widgets.HTML()
        self.table = widgets.HTML()
        self.table_title = widgets.HTML()
        self.chart.add_class("wuwei-chart")
        self.summary.add_class("wuwei-summary")
        self.whatif_result.add_class("wuwei-whatif")
        self.downloads.add_class("wuwei-downloads")
        self.table.add_class("wuwei-table")
        self.banner.add_class("wuwei-banner")
        for w in (self.region, self.domain, self.indicator, self.rate, self.sort_key,
                  self.sort_order, self.status_filter, self.reporter_filter, self.command):
            w.add_class(f"wuwei-{_name_of(self, w)}")

        self._header_html = (
            f'{CSS}<div class="ww-title">{html.escape(TITLE)}</div>'
            '<div class="ww-sub">选择地区、领域和指标：查看现状、到2030年的走势、规划目标能否实现，'
            '以及要实现目标每年需要改善多少。</div>')
        header = widgets.HTML(self._header_html)
        controls = widgets.HBox([self.region, self.domain, self.indicator],
                                layout=widgets.Layout(flex_flow="row wrap"))
        controls.add_class("ww-row")
        self._whatif_intro = (
            '<div class="ww-box-title">情景推演</div>'
            '<div class="ww-muted ww-small">0 % 即按当前趋势（预测）；正值为比趋势'
            '每年多改善（下降类指标多下降，提高类指标多提高），负值为比趋势差。'
            '从模型估计的最新水平起算，并给出80%区间。</div>')
        whatif_box = widgets.VBox([widgets.HTML(self._whatif_intro),
                                   self.rate, self.whatif_result],
                                  layout=widgets.Layout(width="100%"))
        whatif_box.add_class("ww-box")
        right = widgets.VBox([self.summary, self.downloads],
                             layout=widgets.Layout(flex="1 1 360px", min_width="320px"))
        left = widgets.VBox([self.chart, whatif_box],
                            layout=widgets.Layout(flex="2 1 600px", min_width="480px"))
        main = widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap"))
        main.add_class("ww-row")
        sort_bar = widgets.HBox([self.status_filter, self.reporter_filter, self.sort_key,
                                 self.sort_order, self.command],
                                layout=widgets.Layout(align_items="center",
                                                      flex_flow="row wrap"))
        sort_bar.add_class("ww-row")
        self._footer_html = (
            f'<div class="ww-footer">{html.escape(STATUS_RULE_ZH)}<br>'
            '预测为趋势外推，80%区间表示约有80%的把握实际值落在其中；情景推演在趋势预测的基础上'
            '每年按固定比例多改善（或恶化），0 % 即趋势本身。点击表头排序，点击一行查看其图表。'
            '甘肃省、全国为对照。</div>')
        footer = widgets.HTML(self._footer_html)
        super().__init__([header, self.banner, controls, main, self.table_title, sort_bar,
                          self.table, footer])
        self.add_class("wuwei-app")

        self.region.observe(self._on_region, names="value")
        self.domain.observe(self._on_domain, names="value")
        self.indicator.observe(self._on_indicator, names="value")
        self.rate.observe(self._on_rate, names="value")
        self.sort_key.observe(self._on_sort, names="value")
        self.sort_order.observe(self._on_sort, names="value")
        self.status_filter.observe(self._on_filter, names="value")
        self.reporter_filter.observe(self._on_filter, names="value")
        self.command.observe(self._on_command, names="value")

        # the first screen complete: the chart and the status of the default domain
        data.rows(region, self._domain_ids(ind.domain))
        self.refresh(reset_rate=True)
        self.timings["build"] = time.perf_counter() - t0
        if warm:
            self.warmer = Warmer(data, on_progress=self._on_progress)
            self.warmer.plan(region, self._domain_ids(ind.domain))
            self.warmer.start()

    # ------------------------------------------------------------------ first paint
    def snapshot_html(self) -> str:
        """The page as it is now, as plain HTML: the same chart SVG, summary, what-if
        result and status table the widgets show, the pickers as disabled selects.

        Voila sends a pre-heated kernel's page already executed; the app template
        (``templates/voila/templates/wuwei_app``) shows this right away, while the
        browser loads Voila's JavaScript and builds the widgets (seconds when many pages
        open at once), and swaps in the live widgets once their chart and table are drawn.
        """
        rate = f"{self.rate.value:.1f}"
        sort_btns = "".join(
            f'<button disabled{" class=ww-sorted" if v == self.sort_order.value else ""}>'
            f'{html.escape(lbl)}</button>' for lbl, v in self.sort_order.options)
        return (
            '<div class="wuwei-app wuwei-snapshot" aria-busy="true">'
            + self._header_html
            + f'<div class="ww-snap-banner">{self.banner.value}</div>'
            + '<div class="ww-snap-row">'
            + _static_select(self.region, "170px") + _static_select(self.domain, "200px")
            + _static_select(self.indicator, "400px")
            + '<span class="ww-snap-wait">正在连接，稍候即可切换和推演…</span></div>'
            + '<div class="ww-snap-main"><div class="ww-snap-left">'
            + f'<div class="ww-snap-chart">{self.chart.value}</div>'
            + f'<div class="ww-box">{self._whatif_intro}'
            + f'<div class="ww-small">{html.escape(self.rate.description)}：{rate}</div>'
            + f'<div class="ww-snap-whatif">{self.whatif_result.value}</div></div></div>'
            + f'<div class="ww-snap-right"><div class="ww-snap-summary">{self.summary.value}'
            + '</div></div></div>'
            + self.table_title.value
            + '<div class="ww-snap-row">' + _static_select(self.status_filter, "200px")
            + _static_select(self.reporter_filter, "230px")
            + _static_select(self.sort_key, "200px") + f'<span>{sort_btns}</span></div>'
            + f'<div class="ww-snap-table">{self.table.value}</div>'
            + self._footer_html + '</div>')

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            try:
                bundle[SNAPSHOT_MIME] = self.snapshot_html()
            except Exception:  # the live widgets still come
                log.exception("the page snapshot failed")
        return bundle

    # ------------------------------------------------------------------ helpers
    def _indicator_options(self, domain: str) -> list[tuple[str, str]]:
        return [(f"{i.name_zh}（{i.unit}）" if i.unit else i.name_zh, i.id)
                for i in self.data.indicators(domain or None)]

    @contextlib.contextmanager
    def _quiet(self):
        """Change widgets without their callbacks running."""
        old = self._updating
        self._updating = True
        try:
            yield
        finally:
            self._updating = old

    @contextlib.contextmanager
    def _busy(self):
        if self.warmer is not None:
            self.warmer.busy.set()
        try:
            yield
        finally:
            if self.warmer is not None:
                self.warmer.busy.clear()

    def current_view(self) -> View:
        return self.data.view(self.indicator.value, self.region.value)

    def _domain_ids(self, domain: str | None) -> list[str]:
        return [i.id for i in self.data.indicators(domain or None)]

    def shown_rows(self) -> list[dict]:
        """Status table rows of the current region and domain (placeholders where a row
        is still being computed)."""
        ids = self._domain_ids(self.domain.value)
        region = self.region.value
        return table_rows(self.data.rows(region, ids, compute=False), ids)

    def default_rate(self, view: View) -> float:
        """Where the what-if starts: 0 %, the current trend (for every indicator)."""
        return 0.0

    # ------------------------------------------------------------------ drawing
    def refresh(self, *, reset_rate: bool = False, table: bool = True) -> None:
        """Redraw for the current pickers (chart first: it is what the user waits for)."""
        t0 = time.perf_counter()
        view = self.current_view()
        if reset_rate:
            with self._quiet():
                self.rate.value = self.default_rate(view)
        w = scenario(view, self.rate.value)
        self.chart.value = f'<div class="wuwei-chart-inner">{chart_svg(view, w)}</div>'
        t1 = time.perf_counter()
        self.summary.value = summary_html(view, w)
        self.whatif_result.value = whatif_html(view, w)
        illustrative = view.illustrative or self.data.illustrative(view.region)
        self.banner.value = illustrative_banner() if illustrative else ""
        if table:
            self.render_table()
        self.schedule_downloads()
        self.timings.update(chart=t1 - t0, refresh=time.perf_counter() - t0)

    # ------------------------------------------------------------------ downloads
    def schedule_downloads(self) -> None:
        """Build the download links in the background once the user pauses (never on the
        path from a widget change to the new chart); the xlsx waits for its click
        (:meth:`request_xlsx`)."""
        self._dl_token += 1
        token = self._dl_token
        if self._dl_timer is not None:
            self._dl_timer.cancel()
        self.downloads.value = '<div class="ww-downloads ww-muted">正在准备下载文件…</div>'
        if self.download_delay is None:
            self.build_downloads(token)
            return
        self._dl_timer = threading.Timer(self.download_delay, self.build_downloads, (token,))
        self._dl_timer.daemon = True
        self._dl_timer.start()

    def build_downloads(self, token: int | None = None, *, xlsx: bool = False) -> None:
        """Set the download links for the current view (now); with ``xlsx`` the Excel
        file too, as a link the page clicks once (the download starts)."""
        try:
            view = self.current_view()
            w = scenario(view, self.rate.value)
            if xlsx:
                self._xlsx_n += 1
                value = download_links(view, w, self.shown_rows(), xlsx=True,
                                       autoclick=self._xlsx_n)
            else:
                value = download_links(view, w)
        except Exception:
            log.exception("building downloads failed")
            value = '<div class="ww-downloads ww-warn">下载文件生成失败</div>'
        if token is None or token == self._dl_token:
            self.downloads.value = value

    def request_xlsx(self) -> None:
        """The Excel link was clicked: build the workbook of the shown data now."""
        self._dl_token += 1
        if self._dl_timer is not None:
            self._dl_timer.cancel()
        with self._busy():
            self.build_downloads(xlsx=True)

    def flush_downloads(self) -> None:
        """Build the pending download links at once (tests, notebooks)."""
        if self._dl_timer is not None:
            self._dl_timer.cancel()
        self.build_downloads()

    def render_table(self) -> None:
        with self._render_lock:
            region, dom = self.region.value, self.domain.value
            dom_zh = dict(self.data.domains()).get(dom, "全部领域") if dom else "全部领域"
            title = (f'<div class="ww-section">各指标状态一览：{html.escape(region)}'
                     f' · {html.escape(dom_zh)}</div>'
                     + self._goal_counts_html(region))
            if self.table_title.value != title:
                self.table_title.value = title
            value = ('<div class="ww-table-wrap">'
                     + table_html(filter_rows(self.shown_rows(),
                                              status=self.status_filter.value,
                                              reporter=self.reporter_filter.value),
                                  sort_key=self.sort_key.value,
                                  descending=self.sort_order.value,
                                  selected=self.indicator.value, region=region,
                                  show_domain=not dom)
                     + "</div>")
            if self.table.value != value:
                self.table.value = value
            self._table_rendered_at = time.monotonic()

    def _goal_counts_html(self, region: str) -> str:
        try:
            return goal_counts_html(region, self.data.goal_counts(region))
        except Exception:  # noqa: BLE001 — the indicator table still shows
            log.exception("goal counts of %s failed", region)
            return ""

    def _on_progress(self, region: str, indicator: str) -> None:
        """From the warmer thread: fill in the status table as its rows become ready."""
        if region != self.region.value or self._updating:
            return
        ids = self._domain_ids(self.domain.value)
        if indicator not in ids:
            return
        pending = any(self.data.cached_item(i, region) is None for i in ids)
        if not pending or time.monotonic() - self._table_rendered_at > 0.5:
            try:
                self.render_table()
            except Exception:  # never let the warmer die on a rendering problem
                log.exception("table refresh failed")

    # ------------------------------------------------------------------ callbacks
    def _on_region(self, change: dict) -> None:
        if self._updating:
            return
        with self._busy():
            self.refresh(reset_rate=True)
        if self.warmer is not None:
            self.warmer.plan(change["new"], self._domain_ids(self.domain.value))

    def _on_domain(self, change: dict) -> None:
        if self._updating:
            return
        with self._busy():
            dom = change["new"]
            opts = self._indicator_options(dom)
            ids = [v for _, v in opts]
            current = self.indicator.value
            with self._quiet():
                if current in ids:
                    self.indicator.options = opts
                    self.indicator.value = current
                else:
                    region = self.region.value
                    pick = next((i for i in ids if self.data.has_data(i, region)), ids[0])
                    self.indicator.options = opts
                    self.indicator.value = pick
            if self.indicator.value != current:
                self.refresh(reset_rate=True)
            else:
                self.render_table()
        if self.warmer is not None:
            self.warmer.plan(self.region.value, self._domain_ids(dom))

    def _on_indicator(self, change: dict) -> None:
        if self._updating or change["new"] is None:
            return
        with self._busy():
            self.refresh(reset_rate=True)

    def _on_rate(self, change: dict) -> None:
        if self._updating:
            return
        with self._busy():
            self.refresh(table=False)

    def _on_sort(self, change: dict) -> None:
        if self._updating:
            return
        if change["owner"] is self.sort_key:
            with self._quiet():
                self.sort_order.value = SORT_KEYS[change["new"]][1]
        with self._busy():
            self.render_table()

    def _on_filter(self, change: dict) -> None:
        if self._updating:
            return
        with self._busy():
            self.render_table()

    def _on_command(self, change: dict) -> None:
        """A click on the page: "sort:KEY" (a table header) sorts (again: reverses),
        "open:ID" (a row) opens its chart, "xlsx:" (the Excel link) builds the workbook."""
        cmd = (change["new"] or "").split("|")[0]
        if self._updating or ":" not in cmd:
            return
        verb, arg = cmd.split(":", 1)
        if verb == "sort" and arg in SORT_KEYS:
            self.sort_by(arg)
        elif verb == "open" and arg in [v for _, v in self.indicator.options]:
            self.indicator.value = arg
        elif verb == "xlsx":
            self.request_xlsx()

    def sort_by(self, key: str) -> None:
        """Sort the table by a column, as a click on its header does (a second click on
        the sorted column reverses the order)."""
        if self.sort_key.value == key:
            self.sort_order.value = not self.sort_order.value
        else:
            self.sort_key.value = key

    # ------------------------------------------------------------------ testing aids
    def select(self, *, region: str | None = None, domain: str | None = None,
               indicator: str | None = None, rate: float | None = None) -> "ForecastApp":
        """Set pickers as a user would (each change runs its callback)."""
        if region is not None:
            self.region.value = region
        if domain is not None:
            self.domain.value = domain
        if indicator is not None:
            from ..indicator_catalog import indicator as find_indicator

            iid = find_indicator(indicator).id
            if iid not in [v for _, v in self.indicator.options]:
                self.domain.value = ""
            self.indicator.value = iid
        if rate is not None:
            self.rate.value = rate
        return self


def _name_of(app: ForecastApp, w: widgets.Widget) -> str:
    for name in ("region", "domain", "indicator", "rate", "sort_key", "sort_order",
                 "status_filter", "reporter_filter", "command"):
        if getattr(app, name, None) is w:
            return name.replace("_", "-")
    return "widget"


def build_app(db: Any = None, *, region: str | None = None, indicator: str | None = None,
              warm: bool = True, safe: bool = True) -> widgets.Widget:
    """The forecast app as one widget (display it, or let Voila show it).

    Args:
        db: database path (default ``$WUWEI_DB`` / the default database).
        region, indicator: the first view (default 武威市 · 婴儿死亡率).
        warm: fill caches in a background thread (set False in tests that time nothing).
        safe: on any error show a Chinese message instead of raising (for the page).
    """
    try:
        return ForecastApp(AppData(db), region=region, indicator=indicator, warm=warm)
    except Exception as exc:
        if not safe:
            raise
        log.exception("the forecast app could not start")
        return widgets.HTML(f'<div style="color:#b91c1c;font-size:16px;padding:20px">'
                            f'应用无法启动：{html.escape(str(exc))}<br>'
                            f'请联系管理员检查监测数据库。</div>')


__all__ = ["ForecastApp", "build_app"]
