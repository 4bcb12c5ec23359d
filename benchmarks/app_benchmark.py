"""Benchmark of the forecast app in a real browser (Playwright driving Debian's chromium).

Prints (issue 12's figures):

* **officials opening the app at the same moment**: ``--concurrent`` pages (default 10, each
  in its own fresh browser context: nothing cached) navigated within a few milliseconds of
  each other; for each, the time from its navigation to the chart *and* the status table on
  screen (recorded in the page: both visible, no loading screen over them; the page's first
  paint is the app's snapshot, see ``templates/voila/templates/wuwei_app``), median and max;
  then the time until the live widgets replaced it (the pickers work), and the bytes each
  page received;
* **widget change → updated chart**: median (p90, max) over ``--changes`` changes of the
  indicator and region pickers, timed in the page (``change`` event → new SVG in the DOM);
* the resident memory (RSS) of each kernel and of the server;
* **a visit after the server has idled** ``--idle`` seconds (default 120, longer than the
  app's cull window in the benchmark: ``--cull-idle 60``): the page must render, over a
  normal link and over a ``--latency`` ms link (default 300, Chrome DevTools network
  emulation); a page that needed the retry says so.

Usage::

    python benchmarks/app_benchmark.py                 # temp database with the default data
    python benchmarks/app_benchmark.py --db PATH       # an existing database
    python benchmarks/app_benchmark.py --idle 20 --concurrent 4   # a quick run

Starting its own server (``wuwei app --pool-size`` = ``--pool-size``, default 10), the
script waits until the server is settled (the pool is filled and every kernel is idle;
on a new database the first kernel computes every assessment once, later kernels load
them from the shared disk cache) and reports how long that took.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
CLK_TCK = os.sysconf("SC_CLK_TCK")

# In-page probe: records when the chart's SVG changes (MutationObserver), and a helper that
# changes a <select> the way a user does and notes the time of the change event.
PROBE = """
window.__chartLog = [];
new MutationObserver(() => {
  const svg = document.querySelector('.wuwei-chart svg.wuwei-forecast-svg');
  if (!svg) return;
  const key = svg.dataset.region + '|' + svg.dataset.indicator + '|' + svg.dataset.whatif;
  const log = window.__chartLog;
  if (!log.length || log[log.length - 1].key !== key)
    log.push({key: key, t: performance.now()});
}).observe(document, {subtree: true, childList: true, characterData: true});
// On screen: a chart and a status table the user can see (not display:none, not hidden,
// not under the loading screen), whether the page's first paint (the snapshot) or the live
// widgets. Live: the widgets' own chart and table drawn and the snapshot gone.
const __seen = (sel) => Array.from(document.querySelectorAll(sel)).some(e =>
  e.checkVisibility({visibilityProperty: true, opacityProperty: true}) &&
  e.getBoundingClientRect().width > 0);
window.__ready = null;
window.__live = null;
new MutationObserver(() => {
  const now = performance.now();   // ms since this page's navigation started
  if (window.__ready === null && __seen('svg.wuwei-forecast-svg') && __seen('table.ww-table')
      && !__seen('#ww-loading'))
    window.__ready = now;
  if (window.__live === null && !document.querySelector('.wuwei-snapshot')
      && __seen('.wuwei-app .wuwei-chart svg.wuwei-forecast-svg')
      && __seen('.wuwei-app .wuwei-table table'))
    window.__live = now;
}).observe(document, {subtree: true, childList: true, attributes: true});
window.__change = (cls, index) => {
  const sel = document.querySelector('.' + cls + ' select');
  sel.selectedIndex = index;
  const t0 = performance.now();
  sel.dispatchEvent(new Event('change', {bubbles: true}));
  return t0;
};
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- /proc helpers
def children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(p.name))
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_ticks(pid: int) -> int:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    except (OSError, IndexError, ValueError):
        return 0


def kernels(voila_pid: int) -> dict[str, int]:
    """kernel id -> pid, for the kernels of a Voila server."""
    out = {}
    for pid in children(voila_pid):
        cl = cmdline(pid)
        if "ipykernel" in cl and "kernel-" in cl:
            kid = cl.split("kernel-", 1)[1].split(".json", 1)[0]
            out[kid] = pid
    return out


def wait_settled(voila_pid: int, *, timeout: float = 900, idle_share: float = 0.10,
                 window: float = 3.0) -> float:
    """Wait until the kernel pool is filled and every kernel is idle; return seconds waited."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        ks = list(kernels(voila_pid).values())
        if ks:
            before = sum(cpu_ticks(p) for p in ks)
            time.sleep(window)
            used = (sum(cpu_ticks(p) for p in ks) - before) / CLK_TCK
            if used / window < idle_share and kernels(voila_pid):
                return time.time() - t0
        else:
            time.sleep(0.5)
    raise TimeoutError("the app did not settle")


def wait_fresh_kernel(voila_pid: int, used: set[str], timeout: float = 300) -> float:
    """Wait until a kernel no page has used yet (the refilled pool) exists and all kernels
    are idle; return seconds waited."""
    t0 = time.time()
    while not (set(kernels(voila_pid)) - used):
        if time.time() - t0 > timeout:
            raise TimeoutError("the kernel pool was not refilled")
        time.sleep(0.5)
    wait_settled(voila_pid)
    return time.time() - t0


def page_kernel(page) -> str:
    return page.evaluate("JSON.parse(document.getElementById('jupyter-config-data')"
                         ".textContent).kernelId")


# --------------------------------------------------------------------------- server
class Server:
    """``wuwei app`` on a free port (new process group; stopped with SIGTERM)."""

    def __init__(self, db: str | None, home: str, *, pool_size: int = 10,
                 cull_idle: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(os.environ, WUWEI_HOME=home)
        if db:
            env["WUWEI_DB"] = db
        else:
            env["WUWEI_DB"] = str(Path(home) / "wuwei.sqlite")
        self.log = open(Path(home) / "server.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wuwei_analysis", "app", "--port", str(self.port),
             "--no-browser", "--pool-size", str(pool_size)]
            + (["--cull-idle", str(cull_idle)] if cull_idle else []), env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def voila_pid(self) -> int | None:
        for pid in children(self.proc.pid):
            if "wuwei_analysis.app.server" in cmdline(pid) or "voila" in cmdline(pid):
                return pid
        return None

    def wait_ready(self, timeout: float = 300) -> None:
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wuwei app exited: see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "voila/static/voila.js", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("wuwei app did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# --------------------------------------------------------------------------- measurements
def first_render(browser, url: str) -> tuple[float, object, object]:
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = ctx.new_page()
    page.add_init_script(PROBE)
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(".wuwei-chart svg.wuwei-forecast-svg, :text('应用无法启动')",
                           timeout=120_000)
    if page.locator(":text('应用无法启动')").count():
        raise RuntimeError("the app could not start: " + page.inner_text("body"))
    page.wait_for_selector(".wuwei-table table", timeout=120_000)
    return time.perf_counter() - t0, ctx, page


def options(page, cls: str) -> list[str]:
    """The option labels of a picker (ipywidgets selects by index)."""
    return page.eval_on_selector(f".{cls} select",
                                 "s => Array.from(s.options).map(o => o.textContent)")


def change_latency(page, cls: str, index: int, expect_region: str, timeout: float = 30
                   ) -> tuple[float, str]:
    """(ms from the change event to a new chart for ``expect_region``, the new chart key)."""
    before = page.evaluate("window.__chartLog.length ? "
                           "window.__chartLog[window.__chartLog.length - 1].key : ''")
    t0 = page.evaluate("([c, i]) => window.__change(c, i)", [cls, index])
    cond = ("([t0, before, reg]) => window.__chartLog.find(e => e.t >= t0 && e.key !== before"
            " && e.key.startsWith(reg + '|'))")
    page.wait_for_function(f"(a) => !!({cond})(a)", arg=[t0, before, expect_region],
                           timeout=timeout * 1000, polling="raf")
    hit = page.evaluate(f"(a) => ({cond})(a)", [t0, before, expect_region])
    return hit["t"] - t0, hit["key"]


def current_key(page) -> tuple[str, str]:
    d = page.eval_on_selector(".wuwei-chart svg.wuwei-forecast-svg",
                              "s => [s.dataset.region, s.dataset.indicator]")
    return d[0], d[1]


def page_bytes(page) -> int:
    """Bytes this page received (the document and every resource, as transferred)."""
    return int(page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType("
        "'resource')).reduce((s, e) => s + (e.transferSize || 0), 0)"))


def open_at_once(browser, url: str, n: int, timeout: float = 120
                 ) -> tuple[list, list, list]:
    """Open ``n`` pages (fresh contexts) within milliseconds; return ([seconds to chart and
    table on screen for each page], [seconds until the widgets are live], [(ctx, page)])."""
    pages = []
    for _ in range(n):
        ctx = browser.new_context(viewport={"width": 1360, "height": 1000})
        page = ctx.new_page()
        page.add_init_script(PROBE)
        page.on("console", lambda m: m.text.startswith("wuwei-app:") and print("  " + m.text))
        pages.append((ctx, page))
    for _, page in pages:               # "commit" returns as soon as the response starts
        page.goto(url, wait_until="commit", timeout=timeout * 1000)
    times, live = [], []
    t0 = time.perf_counter()
    for _, page in pages:
        page.wait_for_function("() => window.__ready !== null", timeout=timeout * 1000)
        times.append(page.evaluate("window.__ready") / 1000)
    for _, page in pages:
        page.wait_for_function("() => window.__live !== null", timeout=timeout * 1000)
        retried = page.evaluate("sessionStorage.getItem('wuwei-app-retried')")
        # after a retry (a reload) the times count from the reload: count from the start
        live.append(time.perf_counter() - t0 if retried else
                    page.evaluate("window.__live") / 1000)
        if retried:
            print(f"  a page needed {retried} retry(ies)")
    return times, live, pages


def visit(browser, url: str, *, latency_ms: int = 0, timeout: float = 180
          ) -> tuple[float, float, int]:
    """One visit (fresh context), optionally over a slow link: (seconds until the chart and
    table are on screen, until the live widgets show them, retries the page needed)."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = ctx.new_page()
    page.add_init_script(PROBE)
    if latency_ms:
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": latency_ms,
            "downloadThroughput": -1, "uploadThroughput": -1})
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=timeout * 1000)
    page.wait_for_function("() => window.__live !== null", timeout=timeout * 1000)
    dt = time.perf_counter() - t0
    retries = int(page.evaluate("sessionStorage.getItem('wuwei-app-retried') || 0") or 0)
    shown = page.evaluate("window.__ready") / 1000 if not retries else dt
    ctx.close()
    return shown, dt, retries


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", help="database (default: a temp one with the default dataset)")
    ap.add_argument("--url", help="measure a running app instead of starting one")
    ap.add_argument("--pool-size", type=int, default=10, help="wuwei app --pool-size")
    ap.add_argument("--cull-idle", type=int, default=60, help="wuwei app --cull-idle")
    ap.add_argument("--concurrent", type=int, default=10, help="pages opened at once")
    ap.add_argument("--changes", type=int, default=20, help="widget changes (default 20)")
    ap.add_argument("--idle", type=int, default=120, help="idle seconds before the last visits")
    ap.add_argument("--latency", type=int, default=300, help="slow link latency (ms)")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"需要 Debian 的 chromium（{CHROMIUM}）：apt-get install chromium", file=sys.stderr)
        return 2
    tmp = tempfile.TemporaryDirectory(prefix="wuwei_bench_")
    server = None
    voila_pid = None
    try:
        if args.url:
            url = args.url
        else:
            server = Server(args.db, tmp.name, pool_size=args.pool_size,
                            cull_idle=args.cull_idle)
            t = time.time()
            server.wait_ready()
            voila_pid = server.voila_pid()
            print(f"server up in {time.time() - t:.1f} s ({server.url}, pool {args.pool_size},"
                  f" cull window {args.cull_idle} s)")
            t = time.time()
            while len(kernels(voila_pid)) < args.pool_size and time.time() - t < 600:
                time.sleep(1)
            settle = wait_settled(voila_pid)
            print(f"pool of {len(kernels(voila_pid))} pre-heated kernels ready and idle after "
                  f"a further {time.time() - t:.1f} s (settle {settle:.1f} s)")
            url = server.url
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # ---- N officials at the same moment
            def server_ticks() -> int:
                if not voila_pid:
                    return 0
                return cpu_ticks(voila_pid) + sum(cpu_ticks(p) for p in kernels(voila_pid).values())

            ticks0, wall0 = server_ticks(), time.perf_counter()
            load0 = os.getloadavg()[0]
            times, live, pages = open_at_once(browser, url, args.concurrent)
            if voila_pid:
                print(f"  server and kernels used {(server_ticks() - ticks0) / CLK_TCK:.1f} CPU-s "
                      f"in those {time.perf_counter() - wall0:.1f} s (the browsers, on the same "
                      f"2 cores, the rest); machine load average {load0:.1f} before")
            print(f"{args.concurrent} pages opened at the same moment: chart and table on "
                  f"screen: median {statistics.median(times):.2f} s, max {max(times):.2f} s  "
                  f"[{', '.join(f'{x:.1f}' for x in sorted(times))}]")
            print(f"  widgets live (pickers work; the snapshot replaced): median "
                  f"{statistics.median(live):.2f} s, max {max(live):.2f} s  "
                  f"[{', '.join(f'{x:.1f}' for x in sorted(live))}]")
            sizes = [page_bytes(p) for _, p in pages]
            print(f"  bytes received per page: median {statistics.median(sizes) / 1e6:.2f} MB "
                  f"(the HTML alone: {len(urllib.request.urlopen(url).read()) / 1e3:.0f} kB)")

            # ---- widget change -> updated chart (on the first of those pages)
            page = pages[0][1]
            page.wait_for_timeout(1000)
            regions = options(page, "wuwei-region")
            n_inds = len(options(page, "wuwei-indicator"))
            region, _ = current_key(page)
            r_idx = regions.index(region)
            i_idx = page.eval_on_selector(".wuwei-indicator select", "s => s.selectedIndex")
            lat: list[tuple[str, float]] = []
            for k in range(args.changes):
                if k % 4 == 3:   # every 4th change: the region, else the indicator
                    r_idx = (r_idx + 1) % len(regions)
                    region = regions[r_idx]
                    ms, _ = change_latency(page, "wuwei-region", r_idx, region)
                    lat.append(("地区", ms))
                else:
                    i_idx = (i_idx + 1) % n_inds
                    ms, _ = change_latency(page, "wuwei-indicator", i_idx, region)
                    lat.append(("指标", ms))
                page.wait_for_timeout(300)
            ms = [x for _, x in lat]
            ms_sorted = sorted(ms)
            p90 = ms_sorted[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
            print(f"widget change -> updated chart ({len(ms)} changes: indicator and region "
                  f"pickers): median {statistics.median(ms):.0f} ms, p90 {p90:.0f} ms, "
                  f"max {max(ms):.0f} ms")

            # ---- memory
            if voila_pid:
                rss = {kid: rss_mb(pid) for kid, pid in kernels(voila_pid).items()}
                shown = {page_kernel(p) for _, p in pages}
                for label, group in (("with a page", [v for k, v in rss.items() if k in shown]),
                                     ("pool / closed", [v for k, v in rss.items()
                                                        if k not in shown])):
                    group = [v for v in group if v is not None]
                    if group:
                        print(f"kernels {label}: {len(group)}, RSS median "
                              f"{statistics.median(group):.0f} MB, max {max(group):.0f} MB")
                print(f"server RSS {rss_mb(voila_pid):.0f} MB")
            for ctx, _ in pages:
                ctx.close()

            # ---- after idling longer than the cull window
            print(f"idling {args.idle} s (cull window {args.cull_idle} s) …", flush=True)
            time.sleep(args.idle)
            shown, dt, tries = visit(browser, url, latency_ms=args.latency)
            print(f"visit after {args.idle} s idle over a {args.latency} ms link: chart and "
                  f"table on screen in {shown:.2f} s, live in {dt:.2f} s" + (f" (after {tries} retries)" if tries else ""))
            shown, dt, tries = visit(browser, url)
            print(f"next visit, normal link: on screen {shown:.2f} s, live {dt:.2f} s"
                  + (f" (after {tries} retries)" if tries else ""))
            if server is not None:
                log = Path(tmp.name, "server.log").read_text(errors="replace")
                print(f"server log: {log.count('Culling')} kernels culled, "
                      f"{log.count('Using pre-heated kernel')} pre-heated kernels handed out")
            browser.close()
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
