"""Offline output: charts as inline SVG, self-contained HTML, notebooks → offline HTML briefs.

Everything here produces files that open on a machine with no internet: no
``<script src>``, stylesheet or font is fetched at view time.

* :func:`chart_to_svg` renders with vl-convert; Chinese stays text (``<text>``) with the
  CJK font chain of :data:`wuwei_analysis.charts.FONT_FAMILY`, drawn by the viewer's fonts.
* :func:`display_chart` shows a chart in a notebook as inline SVG (``text/html``), never
  the vega-lite mimetype (Altair 6's fails notebook validation in papermill / Voila).
* :func:`notebook_to_html` converts an executed notebook with the ``offline`` nbconvert
  template (``lab`` without require.js / MathJax / Mermaid / widget CDN blocks), checks the
  result with :func:`external_urls` and writes it atomically.
"""
from __future__ import annotations

import functools
import html as _html
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from .errors import WuweiError
from .settings import PACKAGE_DIR

__all__ = [
    "RenderError", "TEMPLATE_DIR", "TEMPLATE_NAME", "chart_spec", "chart_to_svg",
    "chart_to_html", "ChartSVG", "display_chart", "notebook_to_html", "external_urls",
    "link_urls", "write_text_atomic",
]

#: Base folder of the package's nbconvert templates, and the offline template's name.
TEMPLATE_DIR = PACKAGE_DIR / "templates" / "nbconvert"
TEMPLATE_NAME = "offline"


class RenderError(WuweiError):
    """A chart or a notebook could not be rendered to offline output."""


# --------------------------------------------------------------------------- charts
def _merge(base: dict, override: dict) -> dict:
    """``override`` wins; nested dicts merge."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def chart_spec(chart: Any) -> dict:
    """The Vega-Lite spec of ``chart`` (Altair chart or spec dict) with the Chinese theme.

    The theme is merged under the chart's own ``config`` (the chart's settings win), so
    every rendered chart names the CJK font chain.
    """
    from .charts import theme_config

    # the chart functions' specs are checked by tests; skipping Altair's JSON-schema
    # validation here saves ~0.3 s per chart
    spec = chart.to_dict(validate=False) if hasattr(chart, "to_dict") else dict(chart)
    spec["config"] = _merge(theme_config(), spec.get("config") or {})
    return spec


#: The face vl-convert measures text with (see :func:`chart_to_svg`).
MEASURE_FONT = "sans-serif"


def _vl_version() -> str | None:
    try:
        from altair import SCHEMA_VERSION

        return "_".join(SCHEMA_VERSION.split(".")[:2])
    except Exception:  # pragma: no cover
        return None


def chart_to_svg(chart: Any) -> str:
    """Render a chart to an SVG string with vl-convert.

    Text stays text (with the CJK font chain in ``font-family``); no external data is
    fetched (``allowed_base_urls=[]``). The only URLs in the result are XML namespaces.

    Raises:
        RenderError: vl-convert could not render the spec.
    """
    import vl_convert as vlc

    spec = chart_spec(chart)
    chain = spec["config"].get("font")
    if chain:
        # Measure text with the generic face and write the CJK chain into the SVG: vl-convert
        # measures with Noto Sans CJK ≈ 0.2 s slower per chart, and the layout is the same
        # (CJK glyphs are full-width in every CJK font; Latin digits differ < 0.1 px).
        spec["config"] = {**spec["config"], "font": MEASURE_FONT}
    try:
        try:
            svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version(), allowed_base_urls=[])
        except ValueError as exc:
            if "version" not in str(exc).lower():
                raise
            svg = vlc.vegalite_to_svg(spec, allowed_base_urls=[])
    except Exception as exc:
        raise RenderError(f"图表无法渲染为 SVG：{exc}") from exc
    if chain:
        svg = svg.replace(f'font-family="{MEASURE_FONT}"',
                          f'font-family="{_html.escape(chain, quote=True)}"')
    return svg


def _svg_body(svg: str) -> str:
    """SVG markup fit for inlining in HTML (no XML declaration or DOCTYPE)."""
    svg = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", svg)
    return re.sub(r"^\s*<!DOCTYPE[^>]*>\s*", "", svg)


_CHART_CSS = (".wuwei-chart{max-width:100%;overflow-x:auto;margin:0.5em 0}"
              ".wuwei-chart svg{max-width:100%;height:auto}")


class ChartSVG:
    """A rendered chart for notebooks: inline SVG as ``text/html`` plus a text fallback."""

    def __init__(self, svg: str, title: str = "") -> None:
        self.svg = _svg_body(svg)
        self.title = title

    def _repr_html_(self) -> str:
        label = f' aria-label="{_html.escape(self.title)}"' if self.title else ""
        return f'<div class="wuwei-chart" role="img"{label}>{self.svg}</div>'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self._repr_html_(),
                "text/plain": f"<图表：{self.title or '未命名'}>"}

    def __len__(self) -> int:
        return len(self.svg)


def _chart_title(chart: Any) -> str:
    try:
        spec = chart if isinstance(chart, dict) else chart_spec(chart)
        t = spec.get("title")
    except Exception:
        return ""
    if isinstance(t, dict):
        t = t.get("text", "")
    if isinstance(t, list):
        t = " ".join(map(str, t))
    return str(t or "")


def display_chart(chart: Any) -> None:
    """以内嵌 SVG 显示图表 — display a chart in a notebook / Voila as inline SVG (no JS).

    Args:
        chart: an Altair chart (or a Vega-Lite spec dict).

    The output survives papermill, nbconvert and Voila, and an offline HTML brief shows it
    with its Chinese text (no vega-lite mimetype, no script).

    Returns:
        None (so a trailing call does not display twice).
    """
    from IPython.display import display

    spec = chart_spec(chart)
    display(ChartSVG(chart_to_svg(spec), _chart_title(spec)))


_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:{font};margin:1.5em;color:#222;background:#fff}}
{css}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def chart_to_html(chart: Any, *, title: str | None = None, interactive: bool = False) -> str:
    """A self-contained HTML page for one chart.

    Args:
        chart: an Altair chart (or Vega-Lite spec dict).
        title: the page title (default: the chart's title).
        interactive: False (default) — a small page with the chart as inline SVG, no
            script at all; True — Vega / Vega-Lite / vega-embed inlined in the page
            (about 0.9 MB) so tooltips work, still without any CDN reference.
    """
    from .charts import FONT_FAMILY

    spec = chart_spec(chart)
    title = title if title is not None else _chart_title(spec)
    if interactive:
        import altair as alt
        from altair.utils import spec_to_html

        page = spec_to_html(
            spec, mode="vega-lite", vega_version=alt.VEGA_VERSION,
            vegaembed_version=alt.VEGAEMBED_VERSION, vegalite_version=alt.VEGALITE_VERSION,
            template="inline", embed_options={"actions": False})
        return page.replace("<head>", '<head>\n<meta charset="utf-8">', 1) \
            if "charset" not in page[:1000].lower() else page
    body = ChartSVG(chart_to_svg(spec), title)._repr_html_()
    return _PAGE.format(title=_html.escape(title or "图表"), font=FONT_FAMILY, css=_CHART_CSS,
                        body=body)


# --------------------------------------------------------------------------- URL checks
_EXT = r"""((?:https?:)?//[^\s"'<>)]+)"""
_Q = r"""\s*=\s*["']?\s*"""
_EXTERNAL_PATTERNS = [
    # elements that load what src / srcset / poster / data points at
    re.compile(r"<(?:script|img|iframe|frame|source|audio|video|embed|track|input)\b[^>]*?"
               r"\b(?:src|srcset|poster)" + _Q + _EXT, re.I),
    re.compile(r"<object\b[^>]*?\bdata" + _Q + _EXT, re.I),
    # stylesheets, icons, preloads, manifests
    re.compile(r"<link\b[^>]*?\bhref" + _Q + _EXT, re.I),
    # SVG elements that fetch (image, use, feImage)
    re.compile(r"<(?:image|use|feImage)\b[^>]*?\b(?:xlink:)?href" + _Q + _EXT, re.I),
    # CSS
    re.compile(r"@import\s+(?:url\(\s*)?[\"']?\s*" + _EXT, re.I),
    re.compile(r"url\(\s*[\"']?\s*" + _EXT, re.I),
    # ES module imports from a URL (e.g. nbconvert's Mermaid block)
    re.compile(r"""\bimport\s*(?:[\w${}*\s,]+\s+from\s*|\(\s*)["'](https?://[^"']+)["']"""),
]
_LINK_PATTERN = re.compile(r"<a\b[^>]*?\bhref" + _Q + r"(https?://[^\s\"'<>]+)", re.I)


def external_urls(html: str) -> list[str]:
    """URLs the page would fetch when opened: script/img/iframe ``src``, ``<link href>``,
    SVG ``<image href>``, CSS ``@import`` / ``url(...)``, JS module imports.

    ``data:`` URIs, XML namespaces and plain ``<a href>`` links are not fetched and are
    not listed (see :func:`link_urls`). An offline brief must give ``[]``.
    """
    found: list[str] = []
    for pat in _EXTERNAL_PATTERNS:
        for m in pat.finditer(html):
            url = m.group(1)
            if url not in found:
                found.append(url)
    return found


def link_urls(html: str) -> list[str]:
    """Targets of plain ``<a href="http…">`` links (allowed offline: nothing is fetched)."""
    return list(dict.fromkeys(m.group(1) for m in _LINK_PATTERN.finditer(html)))


# --------------------------------------------------------------------------- files
def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    Readers see the old file or the new one, never a partial one; on failure the old file
    is left as it was and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


#: An input or output area's opening tag (made focusable, as nbconvert's HTML exporter does).
_FOCUSABLE = re.compile(r'<div class="([^"]*\b(?:jp-OutputArea-output|jp-Cell-inputWrapper)\b'
                        r'[^"]*)"(?![^>]*tabindex)')
#: A numeric character reference to a non-ASCII character (Markdown headings come out as
#: "&#20937;&#24030;…"; written as the characters, as nbconvert's own final pass does).
_CHAR_REF = re.compile(r"&#(?:(\d+)|[xX]([0-9a-fA-F]+));")


def _char(m: re.Match) -> str:
    cp = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
    return chr(cp) if 127 < cp < 0x110000 and not 0xD800 <= cp < 0xE000 else m.group(0)


@functools.lru_cache(maxsize=1)
def _exporter_class() -> type:
    """nbconvert's HTMLExporter without its final BeautifulSoup pass over the whole page
    (≈0.6 s of a 1 MB brief): that pass only adds alt text to ``<img>`` (briefs have
    none: charts are inline SVG), ``tabindex`` to input and output areas and writes
    character references as characters (both done here by patterns on the exporter's own
    markup)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class OfflineHTMLExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html = _FOCUSABLE.sub(r'<div class="\1" tabindex="0"', html)
            return _CHAR_REF.sub(_char, html), resources

    return OfflineHTMLExporter


@functools.lru_cache(maxsize=2)
def _exporter(hide_code: bool) -> Any:
    """The offline HTML exporter (built once per process: loading its templates costs
    ≈0.5 s; conversions do not change its state)."""
    from traitlets.config import Config

    HTMLExporter = _exporter_class()

    c = Config()
    c.HTMLExporter.exclude_input = hide_code
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove_cell", "remove-cell"}
    c.TagRemovePreprocessor.remove_input_tags = {"remove_input", "remove-input", "hide-input"}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {"remove_output", "remove-output"}
    exporter = HTMLExporter(config=c, template_name=TEMPLATE_NAME,
                            extra_template_basedirs=[str(TEMPLATE_DIR)])
    # Belt and braces: the offline template drops these blocks anyway.
    exporter.mathjax_url = ""
    exporter.require_js_url = ""
    exporter.language_code = "zh-CN"
    return exporter


def _strip_outputs(nb: Any, keep_stderr: bool, keep_stdout: bool = True) -> None:
    widget_mime = "application/vnd.jupyter.widget-view+json"
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and (
                    (not keep_stderr and out.get("name") == "stderr")
                    or (not keep_stdout and out.get("name") == "stdout")):
                continue
            data = out.get("data")
            if data and widget_mime in data:  # widget views cannot render offline
                data.pop(widget_mime)
                if not data:
                    continue
            kept.append(out)
        cell["outputs"] = kept
    nb.metadata.pop("widgets", None)


def notebook_to_html(
    ipynb_path: str | os.PathLike,
    html_path: str | os.PathLike,
    *,
    hide_code: bool = True,
    title: str | None = None,
    keep_stderr: bool = False,
    keep_stdout: bool = True,
    strict: bool = True,
) -> Path:
    """Convert an executed notebook to an offline HTML brief, written atomically.

    Args:
        ipynb_path: the executed notebook (e.g. papermill's output).
        html_path: where to write the HTML (its folder is created).
        hide_code: drop input cells (the brief shows outputs and Markdown only). Prompts
            are always dropped. Cells tagged ``remove_cell`` are removed, ``remove_input``
            lose their input, ``remove_output`` their outputs.
        title: the page ``<title>`` (default: notebook metadata ``title`` or file name).
        keep_stderr: keep stderr streams (warnings); dropped by default in briefs.
        keep_stdout: keep stdout streams (briefs drop them: a brief shows its sections
            only, never what the kernel printed).
        strict: raise if the page would still fetch anything from the internet.

    Returns:
        The path written.

    Raises:
        RenderError: the notebook cannot be read or converted, or (``strict``) the HTML
            references external resources. The previous ``html_path`` is left intact.
    """
    import nbformat

    src = Path(ipynb_path)
    try:
        nb = nbformat.read(src, as_version=4)
    except Exception as exc:
        raise RenderError(f"无法读取笔记本：{exc}", file=str(src)) from exc
    _strip_outputs(nb, keep_stderr, keep_stdout)
    if title:
        nb.metadata["title"] = title
    try:
        body, _resources = _exporter(hide_code).from_notebook_node(
            nb, resources={"metadata": {"name": src.stem}})
    except Exception as exc:
        raise RenderError(f"笔记本无法转换为 HTML：{exc}", file=str(src)) from exc
    if strict:
        urls = external_urls(body)
        if urls:
            raise RenderError("HTML 仍引用外部资源，离线无法打开：" + "、".join(urls[:5]),
                              file=str(src))
    return write_text_atomic(html_path, body)
