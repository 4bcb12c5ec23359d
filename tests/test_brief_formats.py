"""A brief as officials file it: the same stem as HTML, Word (.docx) and PDF; the leaders'
summary on the first page with the illustrative-data notice; counts over the plans'
主要目标 from the one counting function; nothing from the kernel on any page; bad input
refused in one Chinese line with exit code 2."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from wuwei_analysis.briefs import run_briefs

pytestmark = pytest.mark.slow
YEAR = 2024
REGIONS = ["古浪县", "天祝藏族自治县"]
#: What must never reach a page.
FORBIDDEN = re.compile(r"\bnan\b|\bNone\b|ERROR|Traceback|Session/line number|without encryption",
                       re.I)


@pytest.fixture(scope="module")
def batch(workbench, tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs")
    messages: list[str] = []
    results = run_briefs(YEAR, "annual", REGIONS, out=out, jobs=2, progress=messages.append)
    assert all(r.ok for r in results), [(r.region, r.error) for r in results]
    return out, results, messages


def _pdf_pages(path: str) -> list[str]:
    """The text of each page, as copy-paste and search see it (no normalisation: the
    text layer itself must say 女, not the Kangxi radical ⼥)."""
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(path).pages]


def test_each_brief_has_html_docx_and_pdf_with_the_same_stem(batch):
    _, results, _ = batch
    for r in results:
        html = Path(r.html)
        assert Path(r.files["docx"]) == html.with_suffix(".docx")
        assert Path(r.files["pdf"]) == html.with_suffix(".pdf")
        assert html.with_suffix(".docx").stat().st_size > 10_000
        assert html.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


def test_the_page_title_names_region_and_year(batch):
    _, results, _ = batch
    for r in results:
        title = f"{r.region}{YEAR}年妇女儿童发展规划监测报告"
        page = Path(r.html).read_text(encoding="utf-8")
        assert f"<title>{title}</title>" in page
        import docx

        doc = docx.Document(r.files["docx"])
        assert doc.core_properties.title == title
        assert doc.paragraphs[0].text == title
        assert title in _pdf_pages(r.files["pdf"])[0].replace(" ", "").replace("\n", "")


def test_the_pdf_is_at_most_15_a4_pages_and_names_the_region(batch):
    from pypdf import PdfReader

    _, results, _ = batch
    for r in results:
        reader = PdfReader(r.files["pdf"])
        assert 3 <= len(reader.pages) <= 15, (r.region, len(reader.pages))
        box = reader.pages[0].mediabox
        assert abs(float(box.width) - 595) < 3 and abs(float(box.height) - 842) < 3   # A4
        text = "".join(_pdf_pages(r.files["pdf"]))
        assert r.region in text
        assert re.search(r"第\s*2\s*\S\s*/\s*共", text)   # page numbers


def test_the_pdf_text_layer_has_the_ideographs_not_their_radical_twins(batch):
    """Copy-paste and search find 妇女 and 儿童: Chromium maps 女, 儿, 页 … to the Kangxi
    radicals ⼥, ⼉, ⻚ that share their glyphs in Noto CJK; formats.pdftext maps them back."""
    _, results, _ = batch
    for r in results:
        text = "".join(_pdf_pages(r.files["pdf"]))
        assert "妇女" in text and "儿童" in text and "页" in text
        radicals = sorted({c for c in text if 0x2E80 <= ord(c) <= 0x2FDF})
        assert not radicals, (r.region, radicals)


def test_the_leaders_summary_fits_the_first_pdf_page_with_the_notice(batch):
    _, results, _ = batch
    for r in results:
        pages = [re.sub(r"\s+", "", p) for p in _pdf_pages(r.files["pdf"])]
        first, second = pages[0], pages[1]
        assert "示意数据" in first
        for part in ("领导摘要", "最需关注", "与上年相比", "数据缺口（按报送单位）"):
            assert part in first, part
        assert "领导摘要" not in second   # the summary ends on page 1; domains start on page 2


def test_the_summary_counts_are_the_shared_goal_counts(batch):
    from wuwei_analysis import report
    from wuwei_analysis.goals import GOAL_STATUS_ORDER, goal_counts

    _, results, _ = batch
    for r in results:
        ctx = report.prepare(r.region, YEAR)
        counts = goal_counts(ctx.assessment)
        assert counts["total"] == 143
        assert {k: r.headline[k] for k in counts} == counts
        page = Path(r.html).read_text(encoding="utf-8")
        row = re.search(r"<th>2024年</th>(.*?)</tr>", page, re.S).group(1)
        shown = [int(x) for x in re.findall(r"<td class=[\"']n[\"']>(\d+)</td>", row)]
        assert shown == [counts[k] for k in GOAL_STATUS_ORDER]
        assert f"共有主要目标 {counts['total']} 项" in page


def _goal_counts_in(text: str) -> dict[str, int]:
    """The goal counts a line shows with the brief's labels: "有风险 13 项" …, "主要目标 143 项"."""
    from wuwei_analysis.goals import GOAL_STATUS_ORDER, GOAL_STATUS_ZH

    out = {k: int(re.search(re.escape(GOAL_STATUS_ZH[k]) + r"\s*(\d+)\s*项", text).group(1))
           for k in GOAL_STATUS_ORDER}
    out["total"] = int(re.search(r"主要目标\s*(\d+)\s*项", text).group(1))
    return out


def test_the_brief_the_app_and_the_cli_show_the_same_goal_counts(batch, capsys):
    """古浪县 2024: the counts on the brief's first page, in the app's status table and on
    the closing line of ``wuwei status`` are the same numbers under the same labels."""
    from wuwei_analysis.app import build_app
    from wuwei_analysis.cli import main
    from wuwei_analysis.goals import GOAL_STATUS_ORDER

    _, results, _ = batch
    r = next(r for r in results if r.region == "古浪县")
    page = Path(r.html).read_text(encoding="utf-8")
    row = re.search(r"<th>2024年</th>(.*?)</tr>", page, re.S).group(1)
    brief = dict(zip(GOAL_STATUS_ORDER, map(int, re.findall(r"<td class=[\"']n[\"']>(\d+)</td>", row))))
    brief["total"] = int(re.search(r"共有主要目标 (\d+) 项", page).group(1))
    assert brief == {k: r.headline[k] for k in brief}          # and the index's
    assert sum(brief[k] for k in GOAL_STATUS_ORDER) == brief["total"] == 143

    app = build_app(region="古浪县", warm=False, safe=False)   # the same default database
    assert _goal_counts_in(app.table_title.value) == brief

    assert main(["status", "--region", "古浪县", "--year", str(YEAR)]) == 0
    closing = capsys.readouterr().out.strip().splitlines()[-1]
    assert _goal_counts_in(closing) == brief
    assert main(["assess", "--region", "古浪县", "--year", str(YEAR)]) == 0
    assert _goal_counts_in(capsys.readouterr().out.strip().splitlines()[-1]) == brief


def test_without_chromium_the_pdf_is_skipped_in_one_line(workbench, tmp_path, capsys, monkeypatch):
    """No browser (here: WUWEI_CHROMIUM names one that does not exist): HTML and Word are
    still written, one Chinese line says PDF was skipped and how to install Chromium; exit 0
    with the default formats, 1 when PDF was asked for by name."""
    from wuwei_analysis.cli import main
    from wuwei_analysis.formats.pdf import PdfError, browser

    monkeypatch.setenv("WUWEI_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(PdfError, match="WUWEI_CHROMIUM"):
        browser()
    code = main(["briefs", "--year", str(YEAR), "--regions", "古浪县", "--out", str(tmp_path / "a")])
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert code == 0
    assert len(err) == 1 and "已跳过 PDF" in err[0] and "HTML 和 Word 照常生成" in err[0]
    assert "make system-deps" in err[0] and "chromium" in err[0]
    folder = tmp_path / "a" / f"{YEAR}_annual"
    assert (folder / "620622.html").exists() and (folder / "620622.docx").exists()
    assert not (folder / "620622.pdf").exists()
    assert "620622.pdf" not in (tmp_path / "a" / "index.html").read_text(encoding="utf-8")

    code = main(["briefs", "--year", str(YEAR), "--regions", "古浪县", "--formats", "html,pdf",
                 "--out", str(tmp_path / "b")])
    cap = capsys.readouterr()
    assert code == 1 and "已跳过 PDF" in cap.err and "没有 PDF" in cap.out
    assert (tmp_path / "b" / f"{YEAR}_annual" / "620622.html").exists()


def test_the_word_document_uses_word_styles_a4_page_numbers_and_chart_images(batch):
    import docx
    from docx.shared import Cm

    _, results, _ = batch
    for r in results:
        doc = docx.Document(r.files["docx"])
        sec = doc.sections[0]
        assert abs(sec.page_width - Cm(21)) < Cm(0.1) and abs(sec.page_height - Cm(29.7)) < Cm(0.1)
        styles = {p.style.name for p in doc.paragraphs}
        assert {"Title", "Heading 1", "Heading 2"} <= styles
        assert sum(t.style.name == "Table Grid" for t in doc.tables) >= 10
        assert len(doc.inline_shapes) == r.headline["warned"] > 0   # charts, three to a row
        # page 1 as printed: title, notice, the leaders' summary; then the contents (a TOC
        # field Word fills in) and the domains
        texts = [p.text for p in doc.paragraphs]
        first_break = next(i for i, p in enumerate(doc.paragraphs)
                           if 'w:type="page"' in p._p.xml)
        assert "领导摘要" in texts[:first_break] and "目录" in texts[first_break:]
        assert any("TOC" in (t.text or "") for t in doc.element.body.iter(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}instrText"))
        footer = sec.footer._element.xml
        assert "PAGE" in footer and "NUMPAGES" in footer
        head = "".join(p.text for p in doc.paragraphs[:6])
        assert "示意数据" in head   # the notice on the first page
        fonts = doc.styles["Normal"].element.xml
        assert "eastAsia" in fonts
        # status words are coloured like the badges, never white on the white page
        colours = {str(run.font.color.rgb) for t in doc.tables for row in t.rows
                   for c in row.cells for p in c.paragraphs for run in p.runs
                   if run.font.color is not None and run.font.color.type is not None}
        assert colours and "FFFFFF" not in colours


def test_no_page_shows_nan_none_or_kernel_messages(batch):
    import docx

    _, results, messages = batch
    for r in results:
        page = Path(r.html).read_text(encoding="utf-8")
        body = re.sub(r"<style.*?</style>|<script.*?</script>|<[^>]+>", " ", page, flags=re.S)
        assert not FORBIDDEN.search(body), FORBIDDEN.search(body).group(0)
        doc = docx.Document(r.files["docx"])
        text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
            c.text for t in doc.tables for row in t.rows for c in row.cells)
        assert not FORBIDDEN.search(text)
        assert not FORBIDDEN.search("".join(_pdf_pages(r.files["pdf"])))
    assert all(FORBIDDEN.search(m) is None for m in messages)


def _cli(args: list[str], capsys) -> tuple[int, str]:
    from wuwei_analysis.cli import main

    code = main(["briefs", *args])
    return code, capsys.readouterr().err


def test_bad_kind_year_or_format_is_one_chinese_line_and_exit_2(workbench, tmp_path, capsys):
    for args, word in ((["--kind", "weekly"], "报告类型"), (["--year", "1990"], "1990年没有监测数据"),
                       (["--formats", "html,odt"], "输出格式")):
        code, err = _cli([*args, "--out", str(tmp_path)], capsys)
        lines = [x for x in err.splitlines() if x.strip()]
        assert code == 2 and len(lines) == 1 and word in lines[0], (args, err)
        assert "Traceback" not in err


def test_an_unknown_region_fails_alone_with_exit_2(workbench, tmp_path, capsys):
    code, err = _cli(["--year", str(YEAR), "--regions", "古浪县", "火星县", "--formats", "html",
                      "--out", str(tmp_path)], capsys)
    assert code == 2 and "火星县" in err
    assert (tmp_path / f"{YEAR}_annual" / "620622.html").exists()
    assert not (tmp_path / f"{YEAR}_annual" / "620622.pdf").exists()   # --formats html


def test_the_midterm_brief_has_the_same_structure(workbench, tmp_path):
    res = run_briefs(YEAR, "midterm", ["古浪县"], out=tmp_path, jobs=1, formats=("html",))[0]
    assert res.ok, res.error
    page = Path(res.html).read_text(encoding="utf-8")
    assert f"<title>古浪县{YEAR}年妇女儿童发展规划中期评估报告</title>" in page
    for heading in ("领导摘要", "妇女与健康", "数据缺口", "附录：预警指标图表"):
        assert heading in page
