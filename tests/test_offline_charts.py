"""Charts display offline: after ``import wuwei_analysis`` a notebook executed by nbclient
(a real kernel) shows a plain ``alt.Chart`` and every chart function as SVG + PNG, and no
output references an http(s) URL (the SVG XML namespace aside, which is never fetched)."""
from __future__ import annotations

import base64
import re

import nbformat
import pytest
from nbclient import NotebookClient

from wuwei_analysis import display as C

pytestmark = pytest.mark.slow

CELLS = [
    "import sys\nimport wuwei_analysis as wa\n"
    "assert 'altair' not in sys.modules, 'import wuwei_analysis must not load Altair'\n"
    "import altair as alt\nimport pandas as pd",
    # a researcher's own chart, as the last expression of a cell
    "alt.Chart(pd.DataFrame({'年份': [2020, 2021, 2022], '值': [5.1, 4.8, 4.6]}))"
    ".mark_line(point=True).encode(x='年份:O', y='值:Q').properties(title='婴儿死亡率（自绘）')",
    "obs = wa.observations('c_infant_mortality', ['天祝县', '甘肃省', '全国'])\n"
    "fc = wa.forecast('c_infant_mortality', '天祝县')\n"
    "wa.forecast_chart(obs, fc, target=wa.indicator('c_infant_mortality').target, "
    "region='天祝县')",
    "latest = wa.observations('c_infant_mortality').sort_values('year')"
    ".groupby('region').tail(1)\nwa.county_comparison_chart(latest)",
    "a = wa.assess(region='古浪县', year=2024)\nwa.status_overview_chart(a)",
    "h = wa.observations(['c_infant_mortality', 'c_under5_mortality'], ['古浪县', '全国'])\n"
    "wa.domain_small_multiples(h, {'c_infant_mortality': wa.forecast('c_infant_mortality', "
    "'古浪县')}, region='古浪县', columns=2)",
]
XMLNS = re.compile(r'\bxmlns(?::\w+)?="[^"]*"')


def output_text(outputs) -> str:
    """Every string of the outputs (mime data, stream text, errors), namespaces removed."""
    parts = []
    for o in outputs:
        parts += [str(v) for v in (o.get("data") or {}).values()]
        parts += [str(o.get(k, "")) for k in ("text", "evalue", "traceback")]
    return XMLNS.sub("", "\n".join(parts))


def _run(tmp_path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.validate(nb)
    return nb


def test_every_chart_displays_offline_in_an_executed_notebook(tmp_path):
    nb = _run(tmp_path)
    displayed = 0
    for cell in nb.cells[1:]:
        outs = [o for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, errors
        assert len(outs) == 1, (cell.source, cell.outputs)
        data = outs[0].data
        # a picture JupyterLab draws itself: SVG when trusted, PNG otherwise; no script
        assert set(data) == {"image/svg+xml", "image/png", "text/plain"}, set(data)
        svg = data["image/svg+xml"]
        assert svg.lstrip().startswith("<svg") and "<text" in svg
        assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
        displayed += 1
    assert displayed == len(CELLS) - 1
    # no output references an http(s) URL (the SVG namespace declaration is not a fetch)
    text = output_text([o for c in nb.cells for o in c.outputs])
    urls = re.findall(r"https?://[^\s\"'<>]{0,60}", text)
    assert not urls, urls
    # Chinese stays text, in the CJK font chain
    own = nb.cells[1].outputs[0].data["image/svg+xml"]
    assert "婴儿死亡率（自绘）" in own and "Noto Sans CJK SC" in own


def test_offline_mimebundle_without_png_and_renderer_switch():
    import altair as alt
    import pandas as pd

    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_bar().encode(x="x:O", y="y")
    bundle = C.offline_mimebundle(chart.to_dict(), png=False)
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    old = alt.renderers.active
    try:
        assert C.enable_offline_renderer(png=False)
        assert alt.renderers.active == C.OFFLINE_RENDERER
        assert set(chart._repr_mimebundle_()) == {"image/svg+xml", "text/plain"}
        alt.renderers.enable("svg")
        assert not C.enable_offline_renderer(force=False)   # a chosen renderer is kept
    finally:
        alt.renderers.enable(old)


def test_an_executed_notebook_can_be_trusted(tmp_path, monkeypatch):
    from nbformat.sign import NotebookNotary

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1")]
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": "<svg></svg>", "text/plain": "x"})]
    path = tmp_path / "brief.ipynb"
    nbformat.write(nb, str(path))
    assert not NotebookNotary().check_signature(nbformat.read(str(path), as_version=4))
    assert C.trust_notebook(path)
    assert NotebookNotary().check_signature(nbformat.read(str(path), as_version=4))


def test_the_explore_tour_runs_and_shows_its_charts_offline(tmp_path):
    """notebooks/explore.ipynb: data, a model and its summary, a backtest, charts, an
    assessment and two counties compared — executed as committed (without outputs)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code"), "commit explore.ipynb without outputs"
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outs if o.output_type == "error"]
    charts = [o for o in outs if "image/svg+xml" in o.get("data", {})]
    assert len(charts) == 3                       # forecast, status overview, comparison
    summary = [o for o in outs if "模型选择" in o.get("data", {}).get("text/html", "")
               or "slope" in o.get("data", {}).get("text/html", "")]
    assert summary, "the model summary is shown"
    urls = re.findall(r"https?://[^\s\"'<>]{0,60}", output_text(outs))
    assert not urls, urls
