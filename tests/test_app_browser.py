"""The forecast app in a real browser: `wuwei app` served by Voila, driven by Playwright.

Debian's chromium (``/usr/bin/chromium``, installed by ``make test``) runs headless with
every external host made unresolvable, so the page must work offline. One server (with a
new temporary database holding the default dataset) and one page serve most tests; the
page's requests and console messages are recorded from the start and checked at the end.
A screenshot is saved to ``test-artifacts/app.png``. Two more servers: one with a 3-second
cull window (a visit after idling longer than that, over a 300 ms link; pages opened at
once), one on 0.0.0.0 behind a password (login, refused routes).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # offline: any host but the app's own cannot be resolved
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One database and one app cache for every server of this module (each server has its
    own WUWEI_HOME, whose cache folder links here): the results are computed once."""
    d = tmp_path_factory.mktemp("wuwei_app_shared")
    (d / "cache").mkdir()
    return d


def start_app(home: Path, shared: Path, *args: str, env_extra: dict | None = None):
    """`wuwei app` on a free port with the shared database and cache; yields its details."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's chromium at {CHROMIUM}: run `make test` "
                    "(it installs chromium and fonts-noto-cjk) or "
                    "`apt-get install chromium fonts-noto-cjk`", pytrace=False)
    port = _free_port()
    if not (home / "cache").exists():
        (home / "cache").symlink_to(shared / "cache", target_is_directory=True)
    env = dict(os.environ, WUWEI_HOME=str(home), WUWEI_DB=str(shared / "wuwei.sqlite"),
               PYTHONUNBUFFERED="1", **(env_extra or {}))
    env.pop("WUWEI_APP_TOKEN", None)
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "wuwei_analysis", "app", "--port", str(port),
                             "--no-browser", *args], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    t0 = time.time()
    while True:
        if proc.poll() is not None:
            pytest.fail(f"wuwei app exited with {proc.returncode}:\n"
                        + (home / "server.log").read_text(), pytrace=False)
        try:
            urllib.request.urlopen(url + "voila/static/voila.js", timeout=2).close()
            break
        except OSError:
            if time.time() - t0 > 120:
                pytest.fail("wuwei app did not answer within 120 s", pytrace=False)
            time.sleep(0.3)
    try:
        yield {"url": url, "port": port, "home": home, "proc": proc}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, shared):
    """`wuwei app` on a free port with a new database in a temporary WUWEI_HOME."""
    yield from start_app(tmp_path_factory.mktemp("wuwei_app_home"), shared, "--pool-size", "2")


@pytest.fixture(scope="module")
def browser(server):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("browser tests need the Playwright package: pip install -e '.[test]'",
                    pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(browser, server):
    """One page on the app, with every request and console message recorded."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN",
                              accept_downloads=True)
    requests: list[str] = []
    console: list[tuple[str, str]] = []
    ctx.on("request", lambda r: requests.append(r.url))
    page = ctx.new_page()
    page.on("console", lambda m: console.append((m.type, m.text)))
    page.on("pageerror", lambda e: console.append(("pageerror", str(e))))
    t0 = time.time()
    page.goto(server["url"], wait_until="commit")
    page.wait_for_selector(".wuwei-chart svg.wuwei-forecast-svg, :text('应用无法启动')",
                           timeout=180_000)
    if page.locator(":text('应用无法启动')").count():
        pytest.fail("the app could not start: " + page.inner_text("body"), pytrace=False)
    page.wait_for_selector(".wuwei-table table", timeout=60_000)
    yield {"page": page, "requests": requests, "console": console, "url": server["url"],
           "first_render_s": time.time() - t0}
    ctx.close()


def chart_key(page) -> tuple[str, str]:
    return tuple(page.eval_on_selector(".wuwei-chart svg.wuwei-forecast-svg",
                                       "s => [s.dataset.region, s.dataset.indicator]"))


def wait_chart(page, region: str, indicator: str, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "([r, i]) => { const s = document.querySelector('.wuwei-chart svg.wuwei-forecast-svg');"
        " return s && s.dataset.region === r && s.dataset.indicator === i; }",
        arg=[region, indicator], timeout=timeout)


def test_page_loads_with_chart_table_and_chinese_labels(session):
    page = session["page"]
    assert chart_key(page) == ("武威市", "c_infant_mortality")
    assert page.title() == "武威市妇女儿童发展规划监测预测"
    body = page.inner_text("body")
    for text in ("武威市妇女儿童发展规划（2021—2030年）监测预测", "地区", "领域", "指标",
                 "情景推演", "各指标状态一览", "达标概率", "最新值", "规划目标"):
        assert text in body, text
    assert "示意数据：基于演示用模拟数据，非官方统计" in page.inner_text(".wuwei-banner")
    svg_text = page.inner_text(".wuwei-chart")
    assert "武威市 · 婴儿死亡率" in svg_text and "2030年目标" in svg_text
    assert page.locator(".wuwei-chart svg .fan80").count() == 1       # the forecast fan
    assert page.locator(".wuwei-chart svg .target").count() == 1      # the target line
    assert page.locator(".wuwei-chart svg .benchmark").count() >= 1   # 甘肃省 / 全国
    rows = page.locator(".wuwei-table tbody tr")
    assert rows.count() >= 10
    assert page.locator(".wuwei-table .ww-badge").count() >= rows.count()
    assert "from wuwei_analysis" not in page.content()                 # sources stripped
    page.wait_for_function("() => !document.querySelector('.wuwei-table .ww-pending')",
                           timeout=120_000)
    ARTIFACTS.mkdir(exist_ok=True)
    # Voila scrolls inside the page: a tall viewport shows the whole app in one picture
    height = page.evaluate("document.querySelector('.wuwei-app').getBoundingClientRect()"
                           ".bottom + 40")
    page.set_viewport_size({"width": 1360, "height": int(min(max(height, 1000), 6000))})
    page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
    page.set_viewport_size({"width": 1360, "height": 1000})
    assert (ARTIFACTS / "app.png").stat().st_size > 50_000


def test_changing_indicator_and_region_updates_chart_and_table(session):
    page = session["page"]
    page.select_option(".wuwei-indicator select", label="5岁以下儿童死亡率（‰）")
    wait_chart(page, "武威市", "c_under5_mortality")
    page.wait_for_selector('.wuwei-table tr.ww-selected[data-indicator="c_under5_mortality"]')
    page.wait_for_function(
        "() => document.querySelector('.wuwei-summary').innerText.includes('5岁以下儿童死亡率')")
    table_before = page.inner_html(".wuwei-table")

    page.select_option(".wuwei-region select", label="古浪县")
    wait_chart(page, "古浪县", "c_under5_mortality")
    page.wait_for_function(
        "() => document.querySelector('.wuwei-table').innerText.includes('古浪县')"
        " || document.body.innerText.includes('各指标状态一览：古浪县')")
    assert "古浪县 · 5岁以下儿童死亡率" in page.inner_text(".wuwei-chart")
    assert "各指标状态一览：古浪县" in page.inner_text("body")
    page.wait_for_function("(before) => document.querySelector('.wuwei-table').innerHTML "
                           "!== before", arg=table_before)


def test_domain_picker_narrows_the_indicators(session):
    page = session["page"]
    page.select_option(".wuwei-domain select", label="妇女与健康")
    page.wait_for_function(
        "() => document.querySelector('.wuwei-chart svg').dataset.indicator.startsWith('w_')",
        timeout=60_000)
    labels = page.eval_on_selector(".wuwei-indicator select",
                                   "s => Array.from(s.options).map(o => o.textContent)")
    assert "孕产妇死亡率（1/10万）" in labels and "婴儿死亡率（‰）" not in labels
    page.select_option(".wuwei-domain select", label="儿童与健康")
    page.select_option(".wuwei-indicator select", label="婴儿死亡率（‰）")
    wait_chart(page, "古浪县", "c_infant_mortality")


def test_whatif_control_changes_the_projected_value(session):
    page = session["page"]

    def set_rate(value: str) -> float:
        """Type a rate into the slider's readout; wait for chart and sentence; return the
        projected 2030 value."""
        readout = page.locator(".wuwei-rate .widget-readout")
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
        page.keyboard.press("Enter")
        page.wait_for_selector(f'.wuwei-chart svg[data-whatif="{value}"]', timeout=30_000)
        label = "按当前趋势（0 %）" if float(value) == 0 else f"比当前趋势每年多改善 {value} %"
        page.wait_for_function(
            "(v) => document.querySelector('.wuwei-whatif').innerText.includes(v)",
            arg=label, timeout=30_000)
        text = page.inner_text(".wuwei-whatif .ww-whatif-value")
        return float(re.sub(r"[^\d.]", "", text))

    assert "按当前趋势（0 %）" in page.inner_text(".wuwei-whatif")   # where it starts
    flat = set_rate("0")
    better = set_rate("12")
    assert better < flat
    text = page.inner_text(".wuwei-whatif")
    assert "2030年将为" in text and "达标所需" in text and "80%区间" in text
    assert page.locator(".wuwei-chart svg .whatif").count() == 1
    set_rate("0")


def test_status_table_sorts_by_a_chosen_column(session):
    page = session["page"]
    page.select_option(".wuwei-sort-key select", label="达标概率")
    page.wait_for_selector('.wuwei-table table[data-sort-key="p_meet"]')
    pct = [int(x) for x in re.findall(r"(\d+)%", " ".join(
        page.locator(".wuwei-table tbody tr td.ww-num:nth-last-child(3)").all_inner_texts()))]
    assert pct == sorted(pct)                                   # ascending by default
    page.select_option(".wuwei-sort-key select", label="规划顺序")
    page.wait_for_selector('.wuwei-table table[data-sort-key="order"]')


def test_table_header_click_sorts_and_row_click_opens_its_chart(session):
    page = session["page"]
    page.click(".wuwei-table th[data-sort='status']")
    page.wait_for_selector('.wuwei-table table[data-sort-key="status"]', timeout=30_000)
    statuses = page.locator(".wuwei-table tbody tr .ww-badge").all_inner_texts()
    from wuwei_analysis.app.present import TRIAGE_RANK as rank
    ranks = [rank.get(s, 9) for s in statuses]
    assert ranks == sorted(ranks)                               # off-track first
    page.click(".wuwei-table th[data-sort='status']")           # again: reversed
    page.wait_for_selector('.wuwei-table table[data-descending="true"]', timeout=30_000)
    row = page.locator(".wuwei-table tbody tr[data-indicator]").nth(2)
    iid = row.get_attribute("data-indicator")
    row.click()
    page.wait_for_function(
        "(i) => document.querySelector('.wuwei-chart svg').dataset.indicator === i",
        arg=iid, timeout=30_000)
    page.select_option(".wuwei-status-filter select", label="难以实现")
    page.wait_for_function("() => Array.from(document.querySelectorAll("
                           "'.wuwei-table tbody tr .ww-badge')).every("
                           "b => b.innerText === '难以实现')", timeout=30_000)
    page.select_option(".wuwei-status-filter select", label="全部状态")


def test_the_page_and_its_error_pages_are_chinese(session):
    page = session["page"]
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    body = page.inner_text("body")
    assert "Executing" not in body and "Loading widget" not in body and "Running" not in body
    base = session["url"].rstrip("/")
    for path, title in (("/tree", "页面不存在"), ("/lab", "页面不存在")):
        try:
            urllib.request.urlopen(base + path, timeout=10)
            raise AssertionError(path)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8")
            assert exc.code == 404 and title in body and 'lang="zh-CN"' in body


def test_shown_data_downloads_as_csv_and_xlsx(session, tmp_path):
    page = session["page"]
    page.select_option(".wuwei-indicator select", label="婴儿死亡率（‰）")
    wait_chart(page, "古浪县", "c_infant_mortality")
    page.wait_for_selector(".wuwei-downloads a.ww-dl-csv", timeout=30_000)
    with page.expect_download() as info:
        page.click(".wuwei-downloads a.ww-dl-csv")
    dl = info.value
    assert dl.suggested_filename == "古浪县_婴儿死亡率.csv"
    path = tmp_path / dl.suggested_filename
    dl.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert text.startswith("指标编号,指标,单位,系列,地区,年份,数值") and "古浪县" in text
    import pandas as pd

    df = pd.read_csv(path, encoding="utf-8-sig")             # no comment line to skip
    assert set(df["示意数据"]) <= {"是", "否"} and (df["示意数据"] == "是").any()
    with page.expect_download() as info:
        page.click(".wuwei-downloads a.ww-dl-xlsx")
    xlsx = tmp_path / info.value.suggested_filename
    info.value.save_as(xlsx)
    assert xlsx.suffix == ".xlsx" and xlsx.read_bytes()[:2] == b"PK"


def test_no_notebook_tree_terminal_or_file_is_reachable(server):
    base = server["url"].rstrip("/")
    for path in ("/tree", "/tree/", "/api/contents", "/api/contents/forecast_app.ipynb",
                 "/terminals/1", "/api/terminals", "/notebooks/forecast_app.ipynb", "/lab",
                 "/voila/tree", "/voila/render/forecast_app.ipynb", "/api/sessions",
                 "/voila/files/forecast_app.ipynb", "/files/forecast_app.ipynb",
                 "/api/kernels"):
        try:
            with urllib.request.urlopen(base + path, timeout=10) as r:
                status, body = r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, ""
        assert status in (403, 404, 405), (path, status)
        assert "build_app" not in body and '"cells"' not in body, path


def test_no_request_leaves_127_0_0_1(session):
    host = session["url"].rstrip("/")
    ws = host.replace("http://", "ws://")
    outside = [u for u in session["requests"]
               if not (u.startswith(host) or u.startswith(ws) or u.startswith("data:")
                       or u.startswith("blob:"))]
    assert session["requests"] and not outside, outside


def test_no_errors_in_the_browser_console(session):
    errors = [(t, m) for t, m in session["console"] if t in ("error", "pageerror")]
    assert not errors, errors


VISIBLE = ("(sel) => Array.from(document.querySelectorAll(sel)).some(e => "
           "e.checkVisibility({visibilityProperty: true}) && e.getBoundingClientRect().width > 0)")


def test_chart_and_table_are_on_screen_before_voilas_javascript_runs(browser, server):
    """The page arrives with the chart and the status table as plain HTML (the app's
    snapshot): on screen even if Voila's JavaScript never runs, the loading screen gone,
    the pickers showing their choice but disabled, with a note that they are coming."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    page.route("**/voila/static/voila.js", lambda route: route.abort())
    try:
        page.goto(server["url"], wait_until="domcontentloaded")
        assert page.evaluate(VISIBLE, "svg.wuwei-forecast-svg")
        assert page.evaluate(VISIBLE, "table.ww-table tbody tr")
        assert not page.evaluate(VISIBLE, "#ww-loading")
        snap = page.locator(".wuwei-snapshot")
        assert snap.count() == 1
        assert page.eval_on_selector(".wuwei-snapshot svg.wuwei-forecast-svg",
                                     "s => [s.dataset.region, s.dataset.indicator]") == [
            "武威市", "c_infant_mortality"]
        assert "武威市 · 婴儿死亡率" in snap.inner_text()
        assert snap.locator("select:disabled").count() >= 3
        assert "正在连接" in snap.inner_text()
        assert page.locator(".wuwei-snapshot table.ww-table tbody tr").count() >= 10
    finally:
        ctx.close()


def test_a_click_on_the_snapshot_is_passed_on_once_the_widgets_are_live(browser, server):
    """A row clicked before the widgets are live opens its chart when they are."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    held = []
    page.route("**/voila/static/voila.js", lambda route: held.append(route))
    try:
        page.goto(server["url"], wait_until="commit")
        page.wait_for_selector(".wuwei-snapshot table.ww-table tbody tr", timeout=120_000)
        row = page.locator(".wuwei-snapshot tbody tr[data-indicator]").nth(3)
        target = row.get_attribute("data-indicator")
        assert target != "c_infant_mortality"
        row.click()
        assert page.locator(".wuwei-snapshot").count() == 1   # nothing live yet
        t0 = time.time()
        while not held and time.time() - t0 < 30:
            page.wait_for_timeout(100)
        for route in held:                                   # now let Voila's script load
            route.continue_()
        page.unroute("**/voila/static/voila.js")
        page.wait_for_function(
            "(i) => !document.querySelector('.wuwei-snapshot') && (s => s && s.dataset.indicator"
            " === i)(document.querySelector('.wuwei-chart svg.wuwei-forecast-svg'))",
            arg=target, timeout=120_000)
    finally:
        ctx.close()


def test_the_live_widgets_replace_the_snapshot(session):
    page = session["page"]
    page.wait_for_function("() => !document.querySelector('.wuwei-snapshot')", timeout=60_000)
    assert page.locator("svg.wuwei-forecast-svg").count() == 1      # one chart, the live one
    assert page.locator("table.ww-table").count() == 1
    assert page.evaluate(VISIBLE, ".wuwei-chart svg.wuwei-forecast-svg")
    assert page.evaluate(VISIBLE, ".wuwei-region select")


# --------------------------------------------------------------------------- idle, then visit
CULL_S = 3


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory, shared):
    """A server whose cull window (3 s, checked every second) is far shorter than a page
    takes to load over a slow link: the race between pool and culler shows at once."""
    yield from start_app(tmp_path_factory.mktemp("wuwei_app_idle"), shared, "--pool-size", "2",
                         "--cull-idle", str(CULL_S))


def wait_pool(server, n_handed: int = 0, timeout: float = 240) -> None:
    """Wait until the pool is filled (Voila logs it) after ``n_handed`` hand-outs."""
    log = server["home"] / "server.log"
    t0 = time.time()
    while time.time() - t0 < timeout:
        text = log.read_text(errors="replace")
        if text.count("Kernel pool of forecast_app.ipynb is filled") > n_handed:
            return
        time.sleep(0.5)
    pytest.fail("the kernel pool was not filled:\n" + log.read_text(errors="replace")[-3000:])


def open_page(browser, url: str, *, latency_ms: int = 0):
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    if latency_ms:
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": latency_ms,
            "downloadThroughput": -1, "uploadThroughput": -1})
    page.goto(url, wait_until="commit")
    return ctx, page


def wait_rendered(page, timeout: float = 120_000) -> None:
    page.wait_for_selector(".wuwei-chart svg.wuwei-forecast-svg", timeout=timeout)
    page.wait_for_selector(".wuwei-table table", timeout=timeout)
    page.wait_for_function("() => !document.getElementById('ww-loading')", timeout=timeout)


def test_a_page_opened_after_idling_past_the_cull_window_renders_over_a_slow_link(
        idle_server, browser):
    wait_pool(idle_server)
    time.sleep(3 * CULL_S)                 # the pooled kernels are now "idle" for 9 s
    ctx, page = open_page(browser, idle_server["url"], latency_ms=300)
    try:
        wait_rendered(page)
        kid = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data')"
                            ".textContent).kernelId")
        # the page got its kernel at the first try (no retry) and the culler left it alone
        assert page.evaluate("sessionStorage.getItem('wuwei-app-retried')") is None
        time.sleep(2 * CULL_S)             # connected: never culled, however idle
        page.select_option(".wuwei-region select", label="古浪县")
        wait_chart(page, "古浪县", chart_key(page)[1], timeout=30_000)
        log = (idle_server["home"] / "server.log").read_text(errors="replace")
        assert f"Using pre-heated kernel: {kid}" in log
        assert not [ln for ln in log.splitlines() if "Culling" in ln and kid in ln]
    finally:
        ctx.close()
    # once the page is closed, its kernel is culled after the window
    t0 = time.time()
    while time.time() - t0 < 60:
        log = (idle_server["home"] / "server.log").read_text(errors="replace")
        if [ln for ln in log.splitlines() if "Culling" in ln and kid in ln]:
            break
        time.sleep(1)
    else:
        pytest.fail("the closed page's kernel was never culled")


def test_pages_opened_at_the_same_moment_all_render(idle_server, browser):
    """More pages than pre-heated kernels at once: every one renders (none stuck)."""
    wait_pool(idle_server, n_handed=1)
    pages = [open_page(browser, idle_server["url"]) for _ in range(3)]
    try:
        t0 = time.time()
        for _, page in pages:
            wait_rendered(page, timeout=180_000)
        kids = {page.evaluate("JSON.parse(document.getElementById('jupyter-config-data')"
                              ".textContent).kernelId") for _, page in pages}
        assert len(kids) == 3                          # one kernel each
        assert time.time() - t0 < 180
    finally:
        for ctx, _ in pages:
            ctx.close()


# --------------------------------------------------------------------------- login
PASSWORD = "武威监测2030-test"


def test_a_network_address_is_refused_without_a_password(tmp_path):
    env = dict(os.environ, WUWEI_HOME=str(tmp_path), WUWEI_DB=str(tmp_path / "x.sqlite"))
    env.pop("WUWEI_APP_TOKEN", None)
    r = subprocess.run([sys.executable, "-m", "wuwei_analysis", "app", "--host", "0.0.0.0",
                        "--port", str(_free_port()), "--no-browser"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "拒绝启动" in r.stderr and "--set-password" in r.stderr


@pytest.fixture(scope="module")
def login_server(tmp_path_factory, shared):
    home = tmp_path_factory.mktemp("wuwei_app_login")
    out = home / "outputs"
    out.mkdir()
    (out / "index.html").write_text('<html lang="zh-CN"><body>监测简报汇总</body></html>',
                                    encoding="utf-8")
    env = dict(os.environ, WUWEI_HOME=str(home))
    r = subprocess.run([sys.executable, "-m", "wuwei_analysis", "app", "--set-password",
                        "--password-stdin"], input=PASSWORD + "\n", env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert PASSWORD not in (home / "app_auth.json").read_text()
    yield from start_app(home, shared, "--host", "0.0.0.0", "--pool-size", "1",
                         "--outputs", str(out))


REFUSED_PATHS = ("/tree", "/tree/", "/lab", "/lab/tree/x.ipynb", "/api/contents",
                 "/api/contents/forecast_app.ipynb", "/terminals/1", "/api/terminals",
                 "/notebooks/forecast_app.ipynb", "/files/forecast_app.ipynb",
                 "/api/sessions", "/api/kernels", "/voila/tree", "/edit/x")


def _get(url: str, opener=None) -> tuple[int, str, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    op = opener or urllib.request.build_opener(NoRedirect)
    try:
        with op.open(url, timeout=15) as r:
            return r.status, r.headers.get("Location") or "", r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location") or "", exc.read().decode("utf-8",
                                                                              "replace")


def test_refused_routes_without_login(login_server):
    base = login_server["url"].rstrip("/")
    for path in REFUSED_PATHS:
        status, _, body = _get(base + path)
        assert status == 404, (path, status)
        assert "build_app" not in body and '"cells"' not in body, path
    for path in ("/", "/briefs/", "/briefs/index.html"):
        status, location, body = _get(base + path)
        assert status == 302 and "/login" in location, (path, status)
        assert "监测简报汇总" not in body


def test_login_is_required_and_then_gives_the_app_and_the_briefs(login_server, browser):
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    try:
        page.goto(login_server["url"])
        assert "/login" in page.url
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert "密码" in page.inner_text("body") and "登录" in page.inner_text("body")
        page.fill("#password_input", "wrong-password")
        page.click("#login_submit")
        page.wait_for_selector(":text('密码错误')", timeout=30_000)
        page.fill("#password_input", PASSWORD)
        page.click("#login_submit")
        wait_rendered(page, timeout=180_000)
        # logged in: the briefs, read-only; still no notebook, tree, terminal or contents
        briefs = ctx.request.get(login_server["url"] + "briefs/")
        assert briefs.status == 200 and "监测简报汇总" in briefs.text()
        assert ctx.request.post(login_server["url"] + "briefs/index.html").status in (403, 404,
                                                                                      405)
        for path in REFUSED_PATHS:
            r = ctx.request.get(login_server["url"].rstrip("/") + path, max_redirects=0)
            assert r.status == 404, (path, r.status)
            assert "build_app" not in r.text() and '"cells"' not in r.text()
    finally:
        ctx.close()
