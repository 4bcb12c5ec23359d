"""One headless Chromium per process, driven over the DevTools protocol on a pipe.

A batch prints a PDF and draws the Word charts for every brief. Starting Chromium costs
≈0.5–1 s of CPU each time; a worker process therefore starts it once (on first use) and
reuses it for every brief: :func:`shared` returns this process's browser, started if
needed, and it is closed when the process exits (pool workers included).

The protocol runs over ``--remote-debugging-pipe`` (file descriptors 3 and 4, messages
are JSON separated by NUL bytes): no port is opened, nothing to install beyond Debian's
``chromium``. Only the few commands the briefs need are wrapped: open a page, wait for
it to load, print it to PDF, take a screenshot.
"""
from __future__ import annotations

import atexit
import base64
import fcntl
import json
import multiprocessing.util
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time

from ..errors import WuweiError

#: Seconds a protocol command may take (a 15-page brief prints in ≈1–2 s).
TIMEOUT = 120
#: Chromium switches (headless, no sandbox as root in containers, no first-run chores).
SWITCHES = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
            "--disable-background-networking", "--disable-sync", "--disable-default-apps",
            "--remote-debugging-pipe")


class BrowserError(WuweiError):
    """The browser did not answer, quit or could not open a page."""


class Chromium:
    """A headless Chromium (the program ``executable``) and its DevTools pipe (use
    :func:`shared`)."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="wuwei-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds() -> None:   # in the child: the pipe ends on fds 3 (read) and 4 (write)
            r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)     # out of the way of 3 and 4
            w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.close(r)
            os.close(w)

        # close_fds=False: the two fds made in ``fds`` must survive into Chromium (Python's
        # own descriptors are not inheritable, so nothing else leaks)
        self.proc = subprocess.Popen(
            [executable, *SWITCHES, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self._events: list[dict] = []
        self._tab: Page | None = None
        self._lock = threading.Lock()
        self.call("Browser.getVersion", timeout=30)   # ready

    # ---------------------------------------------------------------- protocol
    def _send(self, msg: dict) -> None:
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._to_child, data)
            data = data[n:]

    def _recv(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium 无响应（超时）")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium 意外退出")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = TIMEOUT) -> dict:
        """Send one command and return its result (events met meanwhile are kept)."""
        with self._lock:
            self._id += 1
            msg = {"id": self._id, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            self._send(msg)
            deadline = time.monotonic() + timeout
            while True:
                reply = self._recv(deadline)
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise BrowserError(f"Chromium 出错：{reply['error'].get('message', reply['error'])}")
                    return reply.get("result", {})
                if "method" in reply:
                    self._events.append(reply)

    def wait_event(self, method: str, session: str | None, timeout: float = TIMEOUT) -> dict:
        """Wait for the event ``method`` of ``session`` (one received earlier counts)."""
        with self._lock:
            deadline = time.monotonic() + timeout
            while True:
                for i, ev in enumerate(self._events):
                    if ev["method"] == method and ev.get("sessionId") == session:
                        return self._events.pop(i)
                self._events.append(self._recv(deadline))

    # ---------------------------------------------------------------- pages
    def open(self, url: str, width: int = 1280, height: int = 900, scale: float = 1.0,
             timeout: float = TIMEOUT) -> "Page":
        """The browser's tab showing ``url`` (loaded: its ``load`` event has fired). One tab
        is kept and navigated for every page: its renderer process stays up from one brief
        to the next (a new tab would start a new one)."""
        if self._tab is None:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}
                                )["sessionId"]
            self._tab = Page(self, target, session)
            self.call("Page.enable", session=session)
        page = self._tab
        try:
            self.call("Emulation.setDeviceMetricsOverride",
                      {"width": int(width), "height": int(height), "deviceScaleFactor": scale,
                       "mobile": False}, session=page.session)
            self._events = [e for e in self._events if e.get("sessionId") != page.session]
            nav = self.call("Page.navigate", {"url": url}, session=page.session, timeout=timeout)
            if nav.get("errorText"):
                raise BrowserError(f"Chromium 无法打开页面：{nav['errorText']}")
            self.wait_event("Page.loadEventFired", page.session, timeout)
        except BaseException:
            self._tab = None
            page.close()
            raise
        return page

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Quit the browser and remove its profile folder."""
        try:
            if self.alive():
                try:
                    self.call("Browser.close", timeout=5)
                except Exception:  # noqa: BLE001 — it is being closed anyway
                    pass
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        finally:
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self._profile, ignore_errors=True)


class Page:
    """One tab of a :class:`Chromium`."""

    def __init__(self, browser_: Chromium, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser_, target, session

    def call(self, method: str, params: dict | None = None, timeout: float = TIMEOUT) -> dict:
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def pdf(self, timeout: float = TIMEOUT, tagged: bool = False) -> bytes:
        """The page printed as the browser's "Save as PDF" does: the page's own ``@page``
        size and margins, backgrounds (status badges), no browser header or footer.
        ``tagged``: with the structure tree (tagged PDF; ≈20 % more printing time — a
        county brief's 2.4 CPU-s become 1.9 without it; the text layer is the same)."""
        res = self.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True,
                                            "displayHeaderFooter": False,
                                            "generateTaggedPDF": tagged}, timeout=timeout)
        return base64.b64decode(res["data"])

    def screenshot(self, width: int, height: int, scale: float, timeout: float = TIMEOUT,
                   fmt: str = "png") -> bytes:
        """The top-left ``width`` × ``height`` CSS px of the page, at ``scale``."""
        res = self.call("Page.captureScreenshot", {
            "format": fmt, "captureBeyondViewport": True, "optimizeForSpeed": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}},
            timeout=timeout)
        return base64.b64decode(res["data"])

    def done(self) -> None:
        """The caller is done with the page (the tab stays for the next one)."""

    def close(self) -> None:
        """Close the tab (after a failure: the next page gets a new one)."""
        try:
            self.browser.call("Target.closeTarget", {"targetId": self.target}, timeout=10)
        except Exception:  # noqa: BLE001 — the browser may be gone
            pass


# ------------------------------------------------------------------ one per process
_SHARED: dict[int, Chromium] = {}
_SHARED_LOCK = threading.Lock()
_FINALIZERS: set[int] = set()


def shared(executable: str) -> Chromium:
    """This process's browser (the program ``executable``, see
    :func:`wuwei_analysis.formats.pdf.browser`), started on first use and again if it
    died; closed when the process exits."""
    with _SHARED_LOCK:
        pid = os.getpid()
        b = _SHARED.get(pid)
        if b is not None and not b.alive():
            b.close()
            b = None
        if b is None:
            for other in list(_SHARED):   # a forked child does not own its parent's browser
                if other != pid:
                    _SHARED.pop(other)
            b = _SHARED[pid] = Chromium(executable)
            if pid not in _FINALIZERS:
                # pool workers leave through multiprocessing's exit path (no atexit)
                multiprocessing.util.Finalize(None, close_shared, exitpriority=10)
                atexit.register(close_shared)
                _FINALIZERS.add(pid)
        return b


def close_shared() -> None:
    """Close this process's browser, if it started one."""
    with _SHARED_LOCK:
        b = _SHARED.pop(os.getpid(), None)
    if b is not None:
        b.close()


def discard_shared() -> None:
    """Forget this process's browser after a failure (closed; the next use starts anew)."""
    close_shared()
