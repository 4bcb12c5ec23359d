"""The yearly briefs: run ``notebooks/county_brief.ipynb`` with papermill for each region,
convert each to offline HTML, and write an ``index.html`` linking them.

One region failing does not stop the others. Outputs are written atomically: a brief is
first written to a temporary file and only renamed over the previous one when both the
executed notebook and its HTML are complete. Executed notebooks are kept beside the HTML
for audit, signed for this user so JupyterLab opens them trusted (a failed run's notebook is
kept as ``<code>.failed.ipynb``).
"""
from __future__ import annotations

import html
import json
import os
import socket
import time
import traceback
from functools import lru_cache
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from .errors import WuweiError
from .formats import FORMATS
from .geography import monitored, region as find_region
from .settings import PACKAGE_DIR

#: The brief notebook (thin: it calls ``wuwei_analysis.brief``).
NOTEBOOK = PACKAGE_DIR.parent / "notebooks" / "county_brief.ipynb"
KINDS = {"annual": "年度监测报告", "midterm": "中期评估报告", "final": "终期评估报告"}
#: Seconds a single notebook cell may run before the brief is abandoned (never hang).
CELL_TIMEOUT = 300


class BriefError(WuweiError):
    """A brief could not be produced."""


@dataclass
class BriefResult:
    """What happened to one region's brief."""

    region: str
    code: str
    ok: bool
    seconds: float
    html: str | None = None
    notebook: str | None = None
    #: the other formats written beside the HTML: {"pdf": path, "docx": path}
    files: dict = field(default_factory=dict)
    error: str | None = None
    headline: dict = field(default_factory=dict)
    #: seconds spent in: kernel (start-up and papermill overhead), imports, compute
    #: (assessment), render (charts and tables), html (conversion)
    timings: dict = field(default_factory=dict)
    #: the process that produced it ("host:pid"; a Dask worker's when run on Dask)
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def check_year(year: int, *, db: str | None = None, data: str | None = None) -> None:
    """Raise BriefError (one Chinese line) when no region has data for ``year``."""
    if data:
        from .report import read_table

        years = read_table(data).frame["year"]
        lo, hi, has = int(years.min()), int(years.max()), bool((years == int(year)).any())
    else:
        from .store import connect

        with connect(db) as conn:
            lo, hi = conn.execute("SELECT MIN(year), MAX(year) FROM observations").fetchone()
            has = conn.execute("SELECT 1 FROM observations WHERE year = ? LIMIT 1",
                               (int(year),)).fetchone() is not None
    if not has:
        span = f"{lo}—{hi}年" if lo is not None else "无"
        raise BriefError(f"{year}年没有监测数据（已有数据的年份：{span}），无法生成简报")


def brief_dir(out: Path, year: int, kind: str) -> Path:
    return Path(out) / f"{year}_{kind}"


def notebook_parameters(path: Path = NOTEBOOK) -> dict:
    """The brief notebook's declared parameters ``{name: {default, type, help}}``."""
    p = Path(path).resolve()
    st = p.stat()
    return dict(_parameters(str(p), st.st_mtime_ns, st.st_size))


@lru_cache(maxsize=8)
def _parameters(path: str, mtime_ns: int, size: int) -> dict:
    import papermill as pm

    return pm.inspect_notebook(path)


def check_parameters(params: dict, path: Path = NOTEBOOK) -> None:
    """Reject parameters the notebook does not declare (papermill would silently add them)."""
    known = notebook_parameters(path)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise BriefError(f"简报笔记本没有参数 {unknown}；可用参数：{sorted(known)}", file=str(path))


#: This process's warm-up thread (by pid: a forked worker starts its own).
_WARMING: dict[int, object] = {}


def _warm_up(formats: tuple[str, ...]) -> None:
    """Ready this process's converters while its kernel runs the first notebook (the
    process only waits then): the HTML exporter's templates, python-docx, the browser and
    the PDF text fix's font map. Once per process, in a background thread that
    :func:`_warmed` waits for before converting (importing nbconvert's pygments lexers in
    two threads at once fails); never raises."""
    import threading

    if os.getpid() in _WARMING:
        return
    # pygments loads its lexers lazily and not thread-safely ("cannot import name
    # 'PythonLexer'" in whichever thread loses): load the Python ones, which IPython's and
    # nbconvert's highlighting import, here in the calling thread before any thread starts.
    from pygments.lexers import PythonLexer  # noqa: F401

    def work() -> None:
        try:
            from .render import _exporter

            _exporter(True)
            if "docx" in formats:
                import docx  # noqa: F401
            if "docx" in formats or "pdf" in formats:
                from .formats.chromium import shared
                from .formats.pdf import browser

                shared(browser())
            if "pdf" in formats:
                from .formats.pdftext import radical_map

                radical_map()
        except Exception:  # noqa: BLE001 — the brief itself will report any real failure
            pass

    thread = threading.Thread(target=work, name="wuwei-warm-up", daemon=True)
    _WARMING[os.getpid()] = thread
    thread.start()


def _warmed() -> None:
    """Wait for this process's warm-up (started by :func:`_warm_up`) to finish."""
    thread = _WARMING.get(os.getpid())
    if thread is not None:
        thread.join()


def run_brief(region: str, year: int, kind: str = "annual", *, out: str | Path = "outputs",
              db: str | None = None, data: str | None = None, notebook: str | Path = NOTEBOOK,
              timeout: int = CELL_TIMEOUT, formats: Iterable[str] = FORMATS) -> BriefResult:
    """Execute the brief for one region and convert it to HTML, and to the other
    ``formats`` ("docx", "pdf") beside it with the same stem. Never raises: failures are
    returned in the result. ``data``: a long table file read instead of the database."""
    started = time.perf_counter()
    try:
        if data:
            from .report import read_table

            reg = read_table(data).region(region)   # the YAML's regions, then the table's
        else:
            reg = find_region(region)
    except WuweiError as exc:
        return BriefResult(str(region), "", False, 0.0, error=str(exc))
    folder = brief_dir(Path(out), year, kind)
    folder.mkdir(parents=True, exist_ok=True)
    final_nb, final_html = folder / f"{reg.code}.ipynb", folder / f"{reg.code}.html"
    tmp_nb = folder / f".{reg.code}.{os.getpid()}.tmp.ipynb"
    tmp_html = folder / f".{reg.code}.{os.getpid()}.tmp.html"
    summary = folder / f".{reg.code}.{os.getpid()}.summary.json"
    params = {"region": reg.name, "year": int(year), "kind": kind, "db": str(db or ""),
              "data": str(Path(data).resolve()) if data else "", "summary_path": str(summary)}
    try:
        import papermill as pm

        from .render import notebook_to_html
        from .report import brief_title
        from .runner import ENGINE_NAME

        check_parameters(params, Path(notebook))
        _warm_up(tuple(formats))
        t0 = time.perf_counter()
        pm.execute_notebook(str(notebook), str(tmp_nb), parameters=params, kernel_name="python3",
                            progress_bar=False, execution_timeout=timeout,
                            cwd=str(Path(notebook).parent), engine_name=ENGINE_NAME,
                            # written once at the end (the brief is renamed into place only
                            # when complete anyway): saves rewriting it after every cell
                            request_save_on_cell_execute=False)
        _warmed()   # (it had the whole notebook run to finish)
        t1 = time.perf_counter()
        title = brief_title(reg.name, year, kind)
        notebook_to_html(tmp_nb, tmp_html, hide_code=True, title=title, keep_stdout=False)
        timings = {**cell_timings(tmp_nb, t1 - t0), "html": time.perf_counter() - t1}
        headline = json.loads(summary.read_text(encoding="utf-8")) if summary.exists() else {}
        files = {}
        if "docx" in formats:
            from .formats.word import notebook_to_docx

            t2 = time.perf_counter()
            files["docx"] = str(notebook_to_docx(tmp_nb, folder / f"{reg.code}.docx", title))
            timings["docx"] = time.perf_counter() - t2
        from .display import trust_notebook

        trust_notebook(tmp_nb)   # opens trusted in JupyterLab (charts as SVG); never raises
        os.replace(tmp_nb, final_nb)
        os.replace(tmp_html, final_html)
        if "pdf" in formats:   # printed from the HTML in place (its links resolve there)
            from .formats.pdf import html_to_pdf

            t2 = time.perf_counter()
            files["pdf"] = str(html_to_pdf(final_html, folder / f"{reg.code}.pdf"))
            timings["pdf"] = time.perf_counter() - t2
        (folder / f"{reg.code}.failed.ipynb").unlink(missing_ok=True)
        return BriefResult(reg.name, reg.code, True, time.perf_counter() - started,
                           html=str(final_html), notebook=str(final_nb), headline=headline,
                           timings=timings, files=files)
    except Exception as exc:  # noqa: BLE001 — one region's failure is reported, not raised
        if tmp_nb.exists():
            os.replace(tmp_nb, folder / f"{reg.code}.failed.ipynb")
        return BriefResult(reg.name, reg.code, False, time.perf_counter() - started,
                           error=_short_error(exc))
    finally:
        for p in (tmp_html, summary):
            p.unlink(missing_ok=True)


def cell_timings(executed: Path, wall: float) -> dict[str, float]:
    """Seconds per tagged cell group (imports / compute / render) of an executed brief, from
    papermill's per-cell durations; what the cells do not account for is kernel start-up
    and papermill's own overhead."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    out = {"imports": 0.0, "compute": 0.0, "render": 0.0}
    total = 0.0
    for cell in nb.cells:
        d = float(cell.metadata.get("papermill", {}).get("duration") or 0.0)
        total += d
        for tag in cell.metadata.get("tags", []):
            if tag in out:
                out[tag] += d
    out["kernel"] = max(wall - total, 0.0)
    return out


def _short_error(exc: Exception) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def run_briefs(year: int, kind: str = "annual", regions: Iterable[str] | None = None, *,
               out: str | Path = "outputs", db: str | None = None, data: str | None = None,
               jobs: int = 2, executor: str = "local", address: str | None = None,
               client=None, notebook: str | Path = NOTEBOOK, timeout: int = CELL_TIMEOUT,
               formats: Iterable[str] = FORMATS,
               progress: Callable[[str], None] | None = None) -> list[BriefResult]:
    """Run the briefs for ``regions`` in parallel, then write ``out/index.html``.

    Args:
        regions: names, aliases or codes; default: the city and its four counties, or with
            ``data`` every region of the table.
        db / data: the database, or a long table file (``wuwei scale-data`` output).
        jobs: worker processes (each keeps one warm kernel for all its briefs).
        executor: "local" (processes on this machine) or "dask" (a Dask cluster: the one at
            ``address``, the given ``client``, or a LocalCluster of ``jobs`` workers).
        formats: which of "html", "docx", "pdf" to write (HTML always; default all three).
            Without a headless Chromium the PDF is skipped (one "注意：" line to
            ``progress`` says so and how to install it); the results then have no "pdf" file.
    Returns:
        One result per region, in the order asked for. A region that fails is reported in
        its result (and in the index); the others still run.
    """
    from functools import partial

    from .executors import as_completed_tasks

    if kind not in KINDS:
        raise BriefError(f"未知的报告类型 {kind!r}，应为 {', '.join(KINDS)}")
    say = progress or (lambda msg: None)
    out = Path(out).resolve()          # workers (Dask) may run elsewhere
    if data:
        data = str(Path(data).resolve())
    if regions is None:
        if data:
            from .report import table_regions

            regions = [r.name for r in table_regions(data)]
        else:
            regions = [r.name for r in monitored()]
    lookup = find_region
    if data:
        from .report import read_table

        lookup = read_table(data).region   # the YAML's regions, then the table's
    results: list[BriefResult] = []
    names: list[str] = []
    order: dict[str, int] = {}  # results are listed in the order asked for
    for i, key in enumerate(regions):
        try:
            names.append(lookup(key).name)
            order[names[-1]] = i
        except WuweiError as exc:  # an unknown region fails alone; the others still run
            results.append(BriefResult(str(key), "", False, 0.0, error=str(exc)))
            order[str(key)] = i
            say(f"错误：{exc}")
    where = "Dask 集群" if executor == "dask" or address or client is not None else "本机"
    say(f"生成 {year} 年{KINDS[kind]}：{len(names)} 个地区，{where} {jobs} 个并行进程")
    formats = tuple(formats)
    if "pdf" in formats:   # no browser: the HTML and Word briefs still, and one line why not PDF
        from .formats.pdf import unavailable

        why = unavailable()
        if why:
            formats = tuple(f for f in formats if f != "pdf")
            say(f"注意：{why}")
    task = partial(run_brief, year=year, kind=kind, out=out, db=db, data=data,
                   notebook=notebook, timeout=timeout, formats=formats)
    done = 0
    try:
        for _, res in as_completed_tasks(task, names, executor=executor, address=address,
                                         workers=jobs, client=client):
            done += 1
            results.append(res)
            say(_progress_line(res, done, len(names)))
    finally:
        from .formats.chromium import close_shared
        from .runner import shutdown_kernels

        shutdown_kernels()   # a kernel started in this process belongs to this batch
        close_shared()       # so does a browser (workers close theirs when they exit)
    results.sort(key=lambda r: order.get(r.region, len(order)))
    write_index(results, out, year, kind)
    return results


def _progress_line(res: BriefResult, i: int, n: int) -> str:
    if res.ok:
        more = "".join(f"、.{k}" for k in res.files)
        return f"[{i}/{n}] {res.region} 完成（{res.seconds:.1f} 秒）→ {res.html}{more}"
    return f"[{i}/{n}] {res.region} 失败（{res.seconds:.1f} 秒）：{res.error}"


def _status_keys() -> list[tuple[str, str]]:
    """The index's columns: the goal statuses of :func:`wuwei_analysis.goals.goal_counts`."""
    from .goals import GOAL_STATUS_ORDER, GOAL_STATUS_ZH

    return [(k, GOAL_STATUS_ZH[k]) for k in GOAL_STATUS_ORDER]


def write_index(results: list[BriefResult], out: Path, year: int, kind: str) -> Path:
    """Write ``out/index.html`` (self-contained, offline) linking every brief (HTML, and
    its PDF / Word beside it) with its headline counts over the plans' 主要目标, and
    ``out/index.json`` with the same facts. Atomic."""
    status_keys = _status_keys()
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in results:
        if r.ok:
            rel = os.path.relpath(r.html, out)
            counts = "".join(f"<td class='n {k}'>{r.headline.get(k, '–')}</td>" for k, _ in status_keys)
            total = f"<td class='n'>{r.headline.get('total', '–')}</td>"
            other = " ".join(f"<a href='{html.escape(os.path.relpath(f, out))}'>{label}</a>"
                             for fmt, label in (("pdf", "PDF"), ("docx", "Word"))
                             if (f := r.files.get(fmt)))
            note = ("合成数据" if r.headline.get("synthetic")
                    else "示意数据" if r.headline.get("illustrative") else "")
            rows.append(f"<tr><td><a href='{html.escape(rel)}'>{html.escape(r.region)}</a></td>"
                        f"{total}{counts}<td>{other}</td><td>{note}</td></tr>")
        else:
            rows.append(f"<tr class='failed'><td>{html.escape(r.region)}</td>"
                        f"<td colspan='{len(status_keys) + 3}'>生成失败：{html.escape(r.error or '')}"
                        "</td></tr>")
    any_illustrative = any(r.headline.get("illustrative") for r in results if r.ok)
    any_synthetic = any(r.headline.get("synthetic") for r in results if r.ok)
    banner = ("<p class='illustrative'>注意：本批简报基于合成数据（wuwei scale-data 按固定随机种子生成，"
              "仅用于性能测试），不是统计数据。</p>") if any_synthetic else (
        "<p class='illustrative'>注意：本批简报基于演示用的示意数据（由程序按固定随机种子生成），"
        "并非官方统计数据。</p>") if any_illustrative else ""
    wuwei = {r.name for r in monitored()}
    owner = "武威市" if all(r.region in wuwei for r in results) else ""
    head = "<th>主要目标</th>" + "".join(f"<th>{zh}</th>" for _, zh in status_keys)
    from .vocab.labels import CSS_FONT_FAMILY, STATUS_COLORS

    status_css = " ".join(f"td.{k} {{ color: {c}; }}" for k, c in STATUS_COLORS.items())
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{owner}妇女儿童发展规划 {year}年{KINDS[kind]}</title>
<style>
body {{ font-family: {CSS_FONT_FAMILY};
       margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .5em .7em; text-align: left; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
{status_css}
tr.failed td {{ color: {STATUS_COLORS["off_track"]}; }}
.illustrative {{ background: #fff8c5; border: 1px solid #d4a72c; padding: .6em 1em; }}
</style></head>
<body>
<h1>{owner}妇女儿童发展规划（2021—2030年）{year}年{KINDS[kind]}</h1>
{banner}
<p>各地区两个规划的主要目标（同时列入两个规划的目标计一次），按状态计数；一个目标含多项指标时取其中最差的状态。</p>
<table><thead><tr><th>地区</th>{head}<th>其他格式</th><th>备注</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<p>生成时间：{datetime.now().strftime('%Y-%m-%d %H:%M')}。
成功 {sum(r.ok for r in results)} 个，失败 {sum(not r.ok for r in results)} 个。</p>
</body></html>
"""
    target = out / "index.html"
    tmp = out / f".index.{os.getpid()}.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    tmpj = out / f".index.{os.getpid()}.json.tmp"
    tmpj.write_text(json.dumps({"year": year, "kind": kind,
                                "results": [asdict(r) for r in results]},
                               ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmpj, out / "index.json")
    return target
