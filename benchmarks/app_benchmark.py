"""Benchmark of the forecast app in a real browser (Playwright driving Debian's chromium).

Prints:

* time to first render: from navigation to the chart and the status table on screen, in a
  fresh browser context (nothing cached), ``--renders`` times (pre-heated kernel pool);
* widget change → updated chart: the median (and p90, max) over ``--changes`` changes of
  the indicator and region pickers, timed in the page (from the ``change`` event to the new
  SVG in the DOM);
* the resident memory (RSS) of each kernel, and of the Voila server;
* kernel culling: how long until the kernel of a closed page is shut down.

Usage::

    python benchmarks/app_benchmark.py                 # temp database with the default data
    python benchmarks/app_benchmark.py --db PATH       # an existing database
    python benchmarks/app_benchmark.py --url http://127.0.0.1:8866/   # a running `wuwei app`
                                                       # (no kernel memory / culling figures)

Starting its own server, the script waits until the server is settled (the pre-heated
kernel has filled its caches and the CPU is idle) before measuring, and reports how long
that took (on a new database the first kernel computes every assessment once; later
kernels load them from the shared disk cache).
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

    def __init__(self, db: str | None, home: str) -> None:
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
             "--no-browser"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def voila_pid(self) -> int | None:
        for pid in children(self.proc.pid):
            if "voila" in cmdline(pid):
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", help="database (default: a temp one with the default dataset)")
    ap.add_argument("--url", help="measure a running app instead of starting one")
    ap.add_argument("--renders", type=int, default=3, help="first-render samples (default 3)")
    ap.add_argument("--changes", type=int, default=20, help="widget changes (default 20)")
    ap.add_argument("--no-cull", action="store_true", help="skip the culling check")
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
            server = Server(args.db, tmp.name)
            t = time.time()
            server.wait_ready()
            voila_pid = server.voila_pid()
            print(f"server up in {time.time() - t:.1f} s ({server.url})")
            settle = wait_settled(voila_pid)
            print(f"pre-heated kernel ready and idle after a further {settle:.1f} s "
                  "(on a new database the first kernel computes every assessment once)")
            url = server.url
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # ---- first render (fresh context each time = nothing cached in the browser)
            renders = []
            used: set[str] = set()
            page = ctx = None
            for k in range(args.renders):
                if ctx is not None:
                    ctx.close()
                    if voila_pid:
                        wait_fresh_kernel(voila_pid, used)
                    else:
                        time.sleep(15)
                dt, ctx, page = first_render(browser, url)
                used.add(page_kernel(page))
                renders.append(dt)
            print(f"time to first render (chart and table on screen, fresh browser context): "
                  f"median {statistics.median(renders):.2f} s  "
                  f"[{', '.join(f'{x:.2f}' for x in renders)}]")
            # a repeat visit: same browser, its HTTP cache holds Voila's JavaScript
            ctx.close()
            if voila_pid:
                wait_fresh_kernel(voila_pid, used)
            else:
                time.sleep(15)
            ctx = browser.new_context(viewport={"width": 1360, "height": 1000})
            warm_page = ctx.new_page()
            warm_page.goto(url)
            warm_page.wait_for_selector(".wuwei-chart svg.wuwei-forecast-svg", timeout=120_000)
            used.add(page_kernel(warm_page))
            warm_page.close()
            if voila_pid:
                wait_fresh_kernel(voila_pid, used)
            else:
                time.sleep(15)
            page = ctx.new_page()
            page.add_init_script(PROBE)
            t0 = time.perf_counter()
            page.goto(url, wait_until="commit")
            page.wait_for_selector(".wuwei-chart svg.wuwei-forecast-svg", timeout=120_000)
            page.wait_for_selector(".wuwei-table table", timeout=120_000)
            used.add(page_kernel(page))
            print(f"time to first render, repeat visit (browser cache warm): "
                  f"{time.perf_counter() - t0:.2f} s")

            # ---- widget change -> updated chart
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
            print("  each (ms): " + ", ".join(f"{k}{v:.0f}" for k, v in lat))

            # ---- memory
            if voila_pid:
                ks = kernels(voila_pid)
                page_kid = page_kernel(page)
                for kid, pid in ks.items():
                    role = "this page" if kid == page_kid else "pool / other page"
                    print(f"kernel {kid[:8]} ({role}): RSS {rss_mb(pid):.0f} MB")
                print(f"voila server: RSS {rss_mb(voila_pid):.0f} MB")

                # ---- culling of a closed page's kernel
                if not args.no_cull:
                    ctx.close()
                    t0 = time.time()
                    while page_kid in kernels(voila_pid) and time.time() - t0 < 180:
                        time.sleep(1)
                    gone = page_kid not in kernels(voila_pid)
                    print(f"closed page's kernel shut down after {time.time() - t0:.0f} s"
                          if gone else "closed page's kernel still running after 180 s")
                    ctx = None
            if ctx is not None:
                ctx.close()
            browser.close()
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
