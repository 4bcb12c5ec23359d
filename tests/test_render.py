"""Offline output: SVG with Chinese text, self-contained HTML, notebook → offline brief.

Real vl-convert, nbclient and nbconvert; the notebook is executed once per module.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import altair as alt
import nbformat
import pandas as pd
import pytest

from wuwei_analysis import render as R
from wuwei_analysis.charts import FONT_FAMILY

NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
TITLE = "婴儿死亡率走势"


def small_chart(title: str = TITLE) -> alt.Chart:
    df = pd.DataFrame({"year": [2020, 2021, 2022], "value": [5.1, 4.8, 4.4]})
    return alt.Chart(df, title=title).mark_line().encode(
        x=alt.X("year:Q", title="年份", axis=alt.Axis(format="d")),
        y=alt.Y("value:Q", title="婴儿死亡率（‰）"))


@pytest.fixture(scope="module")
def svg() -> str:
    return R.chart_to_svg(small_chart())


# --------------------------------------------------------------------------- SVG
def test_svg_keeps_chinese_as_text_with_a_cjk_font_chain(svg):
    assert svg.lstrip().startswith("<svg")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert TITLE in texts and "婴儿死亡率（‰）" in texts and "2020" in texts
    fonts = set(re.findall(r'font-family="([^"]*)"', svg))
    assert fonts == {FONT_FAMILY}
    assert "Noto Sans CJK SC" in FONT_FAMILY and FONT_FAMILY.endswith("sans-serif")


def test_svg_references_no_url_but_xml_namespaces(svg):
    assert set(re.findall(r"https?://[^\s\"'<>)]+", svg)) <= NAMESPACES
    assert R.external_urls(svg) == []


def test_chart_spec_keeps_the_charts_own_config():
    spec = R.chart_spec(small_chart().configure_axis(labelFontSize=20))
    assert spec["config"]["font"] == FONT_FAMILY
    assert spec["config"]["axis"]["labelFontSize"] == 20       # the chart's own setting wins
    assert spec["config"]["axis"]["titleFontSize"] == 12       # the theme fills the rest


def test_chart_to_html_is_self_contained():
    page = R.chart_to_html(small_chart())
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in page
    assert f"<title>{TITLE}</title>" in page and "<svg" in page and "<script" not in page
    assert R.external_urls(page) == []
    assert len(page) < 100_000


def test_notebook_display_object_is_inline_svg_without_vegalite_mimetype(svg):
    bundle = R.ChartSVG(svg, TITLE)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/html"].startswith('<div class="wuwei-chart"')
    assert "<svg" in bundle["text/html"] and TITLE in bundle["text/html"]


# --------------------------------------------------------------------------- URL checks
def test_external_urls_finds_everything_a_browser_would_fetch():
    page = """<html><head>
    <script src="https://cdn.jsdelivr.net/npm/vega@6"></script>
    <script type="text/javascript" src='//cdnjs.cloudflare.com/require.js'></script>
    <link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Noto">
    <style>@import url("https://example.org/a.css"); @import 'http://example.org/b.css';
      @font-face { src: url(https://example.org/font.woff2) }
      .x { background: url('data:image/png;base64,AAAA') }</style>
    <script type="module">import mermaid from "https://cdn.example/mermaid.mjs";</script>
    </head><body>
    <img src="http://example.org/logo.png"><img src="data:image/png;base64,AAAA">
    <svg xmlns="http://www.w3.org/2000/svg"><image href="https://example.org/i.png"/></svg>
    <a href="https://www.gswuwei.gov.cn/">武威市统计局</a><a href="#top">回到顶部</a>
    <script src="local.js"></script>
    </body></html>"""
    assert R.external_urls(page) == [
        "https://cdn.jsdelivr.net/npm/vega@6",
        "//cdnjs.cloudflare.com/require.js",
        "http://example.org/logo.png",
        "https://fonts.googleapis.com/css?family=Noto",
        "https://example.org/i.png",
        "https://example.org/a.css",
        "http://example.org/b.css",
        "https://example.org/font.woff2",
        "https://cdn.example/mermaid.mjs",
    ]
    assert R.link_urls(page) == ["https://www.gswuwei.gov.cn/"]
    assert R.external_urls('<a href="https://x.org">x</a><svg xmlns="http://www.w3.org/2000/svg"/>') == []


@pytest.mark.slow  # vl-convert
def test_interactive_chart_html_inlines_vega_and_fetches_nothing():
    page = R.chart_to_html(small_chart(), interactive=True)
    assert R.external_urls(page) == [] and "<script src" not in page
    assert FONT_FAMILY in page and len(page) > 300_000  # the Vega libraries are inlined


# --------------------------------------------------------------------------- notebook → HTML
CODE_MARKER = "THIS_CODE_MUST_NOT_APPEAR"


def tiny_notebook() -> nbformat.NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        v4.new_markdown_cell("# 凉州区监测简报\n\n数据来源：[武威市统计局](https://www.gswuwei.gov.cn/)"),
        v4.new_code_cell(f"{CODE_MARKER} = 1\nimport warnings\nwarnings.warn('stderr noise')\n"
                         "import altair as alt, pandas as pd\n"
                         "from wuwei_analysis.render import display_chart"),
        v4.new_code_cell(
            "df = pd.DataFrame({'year': [2020, 2021, 2022], 'value': [5.1, 4.8, 4.4]})\n"
            f"display_chart(alt.Chart(df, title='{TITLE}').mark_line()"
            ".encode(x='year:Q', y='value:Q'))"),
        v4.new_code_cell("print('正文输出')"),
    ]
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    from nbclient import NotebookClient

    nb = tiny_notebook()
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    path = tmp_path_factory.mktemp("nb") / "brief.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_notebook_to_html_gives_an_offline_brief(executed, tmp_path):
    out = R.notebook_to_html(executed, tmp_path / "out" / "brief.html", title="凉州区简报")
    page = out.read_text(encoding="utf-8")
    body = page[page.index("<body"):]
    # outputs only: no code, no prompts, no stderr; Markdown and stdout stay
    assert CODE_MARKER not in page and "display_chart(" not in page
    assert "jp-InputPrompt" not in body and "jp-OutputPrompt" not in body
    assert "jp-InputArea-editor" not in body and "In&nbsp;[" not in body
    assert "stderr noise" not in page
    assert "凉州区监测简报" in body and "正文输出" in body
    # the chart is inline SVG with its Chinese title as text
    assert re.search(r"<svg[^>]*>.*" + TITLE + r".*</svg>", body, re.S)
    # nothing is fetched from the internet; plain links are fine
    assert R.external_urls(page) == []
    assert R.link_urls(page) == ["https://www.gswuwei.gov.cn/"]
    low = page.lower()
    assert "require.js" not in low and "mathjax" not in low and "<script src" not in low
    assert "<title>凉州区简报</title>" in page and 'lang="zh-CN"' in page
    assert [p.name for p in out.parent.iterdir()] == ["brief.html"]  # no temp files left


@pytest.mark.slow
def test_notebook_to_html_can_keep_the_code(executed, tmp_path):
    page = R.notebook_to_html(executed, tmp_path / "b.html", hide_code=False).read_text("utf-8")
    assert CODE_MARKER in page and R.external_urls(page) == []


def test_failed_conversion_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "brief.html"
    target.write_text("上一版简报", encoding="utf-8")
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(R.RenderError, match="broken.ipynb"):
        R.notebook_to_html(broken, target)
    assert target.read_text(encoding="utf-8") == "上一版简报"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brief.html", "broken.ipynb"]


def test_a_brief_that_would_fetch_from_the_internet_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell('<img src="https://example.org/logo.png">')]
    src = tmp_path / "online.ipynb"
    nbformat.write(nb, src)
    target = tmp_path / "brief.html"
    target.write_text("上一版简报", encoding="utf-8")
    with pytest.raises(R.RenderError, match="example.org"):
        R.notebook_to_html(src, target)
    assert target.read_text(encoding="utf-8") == "上一版简报"
    R.notebook_to_html(src, target, strict=False)
    assert "example.org/logo.png" in target.read_text(encoding="utf-8")


def test_write_text_atomic_replaces_whole_files(tmp_path):
    p = R.write_text_atomic(tmp_path / "sub" / "a.html", "新内容")
    assert p.read_text(encoding="utf-8") == "新内容"

    with pytest.raises(TypeError):
        R.write_text_atomic(p, 12345)  # type: ignore[arg-type]
    assert p.read_text(encoding="utf-8") == "新内容"
    assert [q.name for q in p.parent.iterdir()] == ["a.html"]


def test_offline_template_extends_lab():
    conf = json.loads((R.TEMPLATE_DIR / R.TEMPLATE_NAME / "conf.json").read_text())
    assert conf["base_template"] == "lab"
    tpl = (R.TEMPLATE_DIR / R.TEMPLATE_NAME / "index.html.j2").read_text(encoding="utf-8")
    for block in ("html_head_js", "jupyter_widgets", "html_head_js_mathjax",
                  "html_head_js_mermaidjs"):
        assert f"block {block}" in tpl


def test_a_brief_drops_what_the_kernel_printed(tmp_path):
    """A brief shows its sections only: a stray kernel message on stdout (e.g. IPython's
    history warning) never reaches the page; the page title is the one given."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout",
                               text="ERROR! Session/line number was not unique in database."),
        nbformat.v4.new_output("display_data", data={"text/html": "<h2>领导摘要</h2>"}),
    ]
    nb.cells = [cell]
    src = tmp_path / ".620622.123.tmp.ipynb"
    nbformat.write(nb, src)
    page = R.notebook_to_html(src, tmp_path / "b.html", title="古浪县2024年妇女儿童发展规划监测报告",
                              keep_stdout=False).read_text(encoding="utf-8")
    assert "领导摘要" in page and "ERROR" not in page
    assert "<title>古浪县2024年妇女儿童发展规划监测报告</title>" in page and ".tmp" not in page
