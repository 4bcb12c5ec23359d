"""The yearly briefs: papermill runs for every region, offline HTML, a batch that survives
a broken region, and a brief drawn in a real headless browser with the network off."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from wuwei_analysis.briefs import NOTEBOOK, BriefError, check_parameters, run_briefs
from wuwei_analysis.geography import monitored
from wuwei_analysis.render import external_urls

pytestmark = pytest.mark.slow
YEAR = 2024


@pytest.fixture(scope="module")
def batch(workbench, tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    messages: list[str] = []
    results = run_briefs(YEAR, "annual", out=out, jobs=2, progress=messages.append)
    return out, results, messages


def test_every_monitored_region_gets_a_brief(batch):
    out, results, _ = batch
    assert [r.region for r in results] == [r.name for r in monitored()]
    failed = [(r.region, r.error) for r in results if not r.ok]
    assert not failed, failed
    for r in results:
        assert Path(r.html).exists() and Path(r.notebook).exists()


def test_the_index_links_every_brief_with_its_headline_counts(batch):
    out, results, _ = batch
    index = (out / "index.html").read_text(encoding="utf-8")
    for r in results:
        assert r.region in index
        assert Path(r.html).relative_to(out).as_posix() in index
        assert set(r.headline) >= {"achieved", "may_slip", "on_track", "at_risk", "off_track",
                                   "insufficient", "not_assessed", "total"}
        for f in r.files.values():   # the PDF and Word beside the HTML are linked too
            assert Path(f).relative_to(out).as_posix() in index
    assert "示意数据" in index
    meta = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert len(meta["results"]) == len(results)


def test_progress_is_reported_per_region(batch):
    _, results, messages = batch
    for r in results:
        assert any(r.region in m and "完成" in m for m in messages)


def test_a_brief_has_summary_domains_comparison_quality_and_a_chart_appendix(batch):
    _, results, _ = batch
    page = Path(results[2].html).read_text(encoding="utf-8")
    for heading in ["目录", "领导摘要", "妇女与健康", "儿童与健康", "数据缺口", "附录：预警指标图表"]:
        assert heading in page
    assert page.index("领导摘要") < page.index("妇女与健康") < page.index("附录：预警指标图表")
    assert "示意数据" in page  # the default dataset is illustrative and the page says so
    assert "../index.html" in page   # the way back to the index
    # every warned indicator has one chart in the appendix, linked from its table row
    warned = results[2].headline["warned"]
    assert warned > 0
    assert len(re.findall(r"class=[\"']warned-item[\"']", page)) == warned
    assert len(re.findall(r"class=[\"']wuwei-forecast-svg[\"']", page)) == warned
    for fig in re.findall(r"href=[\"']#(fig-[\w]+)[\"']", page):
        assert f"id='{fig}'" in page or f'id="{fig}"' in page
    # the statistics office's sentences, with the two status columns
    assert "比上年" in page and ("已实现规划目标" in page or "距目标" in page)
    assert "现状" in page and "2030年展望" in page


def test_a_brief_contains_no_code_and_no_external_url(batch):
    _, results, _ = batch
    for r in results:
        page = Path(r.html).read_text(encoding="utf-8")
        assert external_urls(page) == [], r.region
        assert "report.prepare" not in page and "import " not in page


def test_the_executed_notebooks_are_kept_for_audit(batch):
    _, results, _ = batch
    nb = nbformat.read(results[0].notebook, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    params: dict = {}
    exec(injected[0].source, params)  # the injected cell is plain assignments
    assert params["region"] == "武威市" and params["year"] == YEAR


def test_the_kept_notebooks_open_trusted(batch):
    from nbformat.sign import NotebookNotary

    _, results, _ = batch
    notary = NotebookNotary()
    for r in results:
        assert notary.check_signature(nbformat.read(r.notebook, as_version=4)), r.region


def test_unknown_parameters_are_rejected():
    with pytest.raises(BriefError, match="colour"):
        check_parameters({"region": "古浪县", "colour": "red"})


def test_a_batch_with_one_broken_region_finishes_the_others(workbench, tmp_path):
    # the same notebook, made to fail for one county
    broken = tmp_path / "nb" / "county_brief.ipynb"
    broken.parent.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(
        'if region == "民勤县":\n    raise RuntimeError("模拟的数据故障")'))
    nbformat.write(nb, broken)
    out = tmp_path / "out"
    # a good brief for 民勤县 already exists and must survive the failed run
    folder = out / f"{YEAR}_annual"
    folder.mkdir(parents=True)
    (folder / "620621.html").write_text("上一次的完好简报", encoding="utf-8")
    results = run_briefs(YEAR, "annual", ["民勤县", "古浪县", "火星县"], out=out, jobs=2,
                         notebook=broken)
    status = {r.region: r.ok for r in results}
    assert status == {"民勤县": False, "古浪县": True, "火星县": False}
    failed = {r.region: r.error for r in results if not r.ok}
    assert "模拟的数据故障" in failed["民勤县"]
    assert "火星县" in failed["火星县"]
    assert (folder / "620621.html").read_text(encoding="utf-8") == "上一次的完好简报"
    assert (folder / "620621.failed.ipynb").exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "生成失败" in index and "古浪县" in index
    assert not list(folder.glob(".*tmp*"))


def test_the_cli_exits_2_for_an_unknown_region(workbench, tmp_path, capsys):
    from wuwei_analysis.cli import main

    code = main(["briefs", "--year", str(YEAR), "--regions", "火星县", "--out", str(tmp_path)])
    assert code == 2
    assert "火星县" in capsys.readouterr().err


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("需要 Debian 的 chromium（make test 会安装）")
    return path


@pytest.mark.browser
def test_a_brief_opened_offline_in_a_browser_draws_every_chart(batch):
    from playwright.sync_api import sync_playwright

    _, results, _ = batch
    brief = Path(results[3].html)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.on("request", lambda req: requests.append(req.url))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(brief.as_uri())
        page.wait_for_load_state("load")
        svgs = page.locator("svg.marks, svg[class*='marks'], .jp-OutputArea svg, svg")
        n = svgs.count()
        assert n >= 2
        drawn = page.evaluate("""() => Array.from(document.querySelectorAll('svg'))
              .filter(s => s.getBoundingClientRect().width > 100)
              .map(s => [s.getBoundingClientRect().width, s.querySelectorAll('path,rect,line,circle').length,
                         (s.textContent || '')])""")
        charts = [d for d in drawn if d[1] > 3]
        assert len(charts) >= 2
        # one drawn forecast chart per warned indicator (history line, fan, axes)
        per_item = page.evaluate("""() => Array.from(document.querySelectorAll('.warned-item'))
              .map(s => { const g = s.querySelector('svg');
                          return g ? [g.getBoundingClientRect().width,
                                      g.querySelectorAll('path,polygon,line,circle').length] : [0, 0]; })""")
        assert len(per_item) == results[3].headline["warned"] > 0
        assert all(w > 200 and marks > 10 for w, marks in per_item), per_item
        assert all(re.search(r"[\u4e00-\u9fff]", d[2]) for d in charts), "图表中应有中文文字"
        Path("test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path="test-artifacts/brief.png", full_page=True)
        browser.close()
    external = [u for u in requests if not u.startswith(("file:", "data:", "about:"))]
    assert not external, external
    assert not errors, errors


def test_every_notebook_in_notebooks_executes(workbench, tmp_path):
    import papermill as pm

    nbdir = Path(__file__).resolve().parents[1] / "notebooks"
    for path in sorted(nbdir.glob("*.ipynb")):
        params = {"region": "古浪县", "year": YEAR} if path.name == "county_brief.ipynb" else {}
        pm.execute_notebook(str(path), str(tmp_path / path.name), parameters=params,
                            kernel_name="python3", progress_bar=False, execution_timeout=300,
                            cwd=str(nbdir))


@pytest.mark.parametrize("region,kind", [("武威市", "annual"), ("古浪县", "midterm")])
def test_the_brief_is_the_same_whichever_engine_computes_it(workbench, region, kind):
    """The vectorised engine (the default) and the per-series statsmodels path give the
    same brief: every table and sentence, and every chart's numbers to 1e-6."""
    from wuwei_analysis import report

    vec = report.prepare(region, YEAR, kind, engine="vectorized")
    per = report.prepare(region, YEAR, kind, engine="per-series")
    for section in (report.summary_html, report.domains_html, report.comparison_html,
                    report.gaps_html):
        assert section(vec) == section(per), section.__name__
    wv, wp = report.warned_html(vec), report.warned_html(per)
    number = r"-?\d+\.\d+"
    assert re.sub(number, "#", wv) == re.sub(number, "#", wp)
    pairs = list(zip(re.findall(number, wv), re.findall(number, wp)))
    assert len(pairs) > 1000
    assert all(abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a))) for a, b in pairs)
