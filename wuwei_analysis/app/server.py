"""The server behind ``wuwei app``: Voila, with what officials on an intranet need.

``python -m wuwei_analysis.app.server NOTEBOOK [voila options]`` runs :class:`WuweiVoila`,
Voila's own application with four additions (everything else is Voila and Jupyter Server):

* **No page is lost to culling.** Voila's pre-heated kernels have already run the notebook;
  when one is handed to a visitor its ``last_activity`` is hours old if the server has been
  idle, and Jupyter Server's culler (``cull_connected=False``: only kernels without a browser
  connection) used to shut it down before the visitor's browser had connected. The kernel
  manager here renews a kernel's activity when it is handed out and never culls a handed-out
  kernel that no browser has connected to yet, until ``connect_grace`` seconds have passed
  (then the page was abandoned). Kernels in the pool are not culled (Voila's rule).
* **Login on the network.** Jupyter Server's ``PasswordIdentityProvider`` (a hashed password
  read from ``--WuweiVoila.auth_file``, or a token from ``$WUWEI_APP_TOKEN``) protects every
  page, kernel and file; on an address other than loopback the server refuses to start
  without one. TLS from ``--WuweiVoila.certfile`` / ``keyfile``.
* **Briefs from the same address.** ``/briefs/`` serves the ``outputs/`` folder read-only
  (GET / HEAD only, behind the same login).
* **Nothing else.** ``/tree``, ``/lab``, ``/api/contents``, ``/terminals``, ``/notebooks``,
  ``/files``, ``/edit``, ``/api/sessions``, ``/api/kernels`` (the list) answer 404, logged in
  or not; error and login pages are Chinese (``templates/pages``).
"""
from __future__ import annotations

import ipaddress
import json
import os
import socket
import ssl
import sys
import time
from pathlib import Path

import tornado.web
from jinja2 import ChoiceLoader, FileSystemLoader
from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyter_server.base.handlers import AuthenticatedFileHandler
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import url_path_join
from jupyter_server._tz import utcnow
from traitlets import Float, Unicode

from voila.app import Voila

from ..settings import PACKAGE_DIR

#: Chinese login and error pages (``login.html``, ``error.html``, ``404.html`` …).
PAGES_DIR = PACKAGE_DIR / "templates" / "pages"
#: Paths that never answer anything but 404 (no notebook, terminal, file tree or contents).
REFUSED = (r"/(tree|lab|notebooks|edit|files|terminals|view|consoles|doc)(/.*)?",
           r"/api/(contents|terminals|sessions|nbconvert|config|kernelspecs)(/.*)?",
           r"/api/kernels/?", r"/voila/(tree|render|api/contents)(/.*)?")
TOKEN_ENV = "WUWEI_APP_TOKEN"
#: Seconds between the starts of kernels that refill the pool after several hand-outs.
REFILL_STAGGER_S = 2.0


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1, localhost (the only addresses that may run without login)."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback
                       for a in socket.getaddrinfo(host, None))
        except OSError:
            return False


class WuweiKernelManager(AsyncMappingKernelManager):
    """Jupyter Server's kernel manager, aware of kernels handed to a page still loading."""

    connect_grace = Float(
        180.0, config=True,
        help="Seconds a kernel handed to a page may wait for the page's browser to connect "
             "before the culler may take it (at least cull_idle_timeout).")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._handed_out: dict[str, float] = {}
        self._ever_connected: set[str] = set()

    def note_handout(self, kernel_id: str) -> None:
        """A pre-heated kernel was given to a visitor: its idle time starts now."""
        self._handed_out[kernel_id] = time.monotonic()
        kernel = self._kernels.get(kernel_id)
        if kernel is not None:
            kernel.last_activity = utcnow()

    def notify_connect(self, kernel_id):
        self._ever_connected.add(kernel_id)
        return super().notify_connect(kernel_id)

    def waiting_for_page(self, kernel_id: str) -> bool:
        """True while a handed-out kernel waits (within the grace) for its page to connect."""
        t = self._handed_out.get(kernel_id)
        if t is None or kernel_id in self._ever_connected:
            return False
        return time.monotonic() - t < max(self.connect_grace, float(self.cull_idle_timeout))

    async def cull_kernel_if_idle(self, kernel_id):
        if kernel_id not in self._kernels or self.waiting_for_page(kernel_id):
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self._handed_out.pop(kernel_id, None)
        self._ever_connected.discard(kernel_id)
        return await super().shutdown_kernel(kernel_id, *args, **kwargs)


class RefusedHandler(tornado.web.RequestHandler):
    """404 for every method (the Chinese page), whoever asks: no login is looked at, so a
    logged-in official and a stranger get the same answer."""

    def _refuse(self, *args, **kwargs):
        raise tornado.web.HTTPError(404)

    get = post = put = delete = patch = head = options = _refuse

    def check_xsrf_cookie(self):
        return None

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        tpl = self.settings["jinja2_env"].get_template("404.html")
        self.finish(tpl.render(status_code=status_code,
                               base_url=self.settings.get("base_url", "/")))


class BriefsHandler(AuthenticatedFileHandler):
    """The briefs folder, read-only, behind the login (``/briefs/`` opens its index)."""

    @property
    def content_security_policy(self) -> str:
        # briefs are self-contained HTML: allow their inline styles, no scripts from outside
        return "frame-ancestors 'self'; default-src 'self' 'unsafe-inline' data: blob:"

    def check_xsrf_cookie(self):
        # GET / HEAD only (read-only): a link or the address bar has no XSRF cookie
        return None

    def validate_absolute_path(self, root: str, absolute_path: str):
        rel = os.path.relpath(absolute_path, root)
        if any(part.startswith(".") for part in Path(rel).parts):
            raise tornado.web.HTTPError(404)   # no hidden files (and nothing above root)
        return tornado.web.StaticFileHandler.validate_absolute_path(self, root, absolute_path)


class WuweiVoila(Voila):
    """Voila for ``wuwei app`` (see module docstring)."""

    name = "wuwei-app"
    auth_file = Unicode("", config=True, help="JSON file with the app's hashed_password")
    certfile = Unicode("", config=True, help="TLS certificate (PEM)")
    keyfile = Unicode("", config=True, help="TLS private key (PEM)")
    outputs_dir = Unicode("", config=True, help="Folder served read-only at /briefs/")

    def initialize(self, argv=None):
        super().initialize(argv)
        self.voila_configuration.multi_kernel_manager_class = WuweiKernelManager
        token = os.environ.get(TOKEN_ENV, "").strip()
        if token:
            self.token = token
        if self.auth_file and Path(self.auth_file).exists():
            conf = json.loads(Path(self.auth_file).read_text(encoding="utf-8"))
            if conf.get("hashed_password"):
                self.config.PasswordIdentityProvider.hashed_password = conf["hashed_password"]
        self.config.PasswordIdentityProvider.allow_password_change = False
        self.authorizer_class = AllowAllAuthorizer

    @property
    def protocol(self) -> str:
        return "https" if self.certfile else "http"

    def _url(self, ip):
        return "%s://%s:%i%s" % (self.protocol, ip, self.port, self.base_url)

    def init_settings(self):
        settings = super().init_settings()
        if not is_loopback(self.ip) and not self.identity_provider.auth_enabled:
            self.log.critical("在非本机地址 %s 上提供服务必须先设置登录密码或令牌"
                              "（wuwei app --set-password）", self.ip)
            sys.exit(2)
        km = self.kernel_manager
        original = km.get_rendered_notebook

        async def get_rendered_notebook(*args, **kwargs):
            render_task, rendered, kernel_id = await original(*args, **kwargs)
            km.note_handout(kernel_id)
            return render_task, rendered, kernel_id

        km.get_rendered_notebook = get_rendered_notebook
        # Refills after hand-outs start REFILL_STAGGER_S apart, not all at once: ten
        # officials arriving together do not find ten kernels starting on their 2 cores
        # while their pages load.
        original_fill = km.fill_if_needed
        state = {"last": 0.0, "n": 0}

        def fill_if_needed(delay=None, notebook_name=None, **kwargs):
            if delay is None:
                now = time.monotonic()
                if now - state["last"] > km.fill_delay:
                    state["n"] = 0
                state["last"] = now
                delay = km.fill_delay + REFILL_STAGGER_S * state["n"]
                state["n"] += 1
            return original_fill(delay=delay, notebook_name=notebook_name, **kwargs)

        km.fill_if_needed = fill_if_needed
        # Chinese login and error pages first, for Voila's and Jupyter Server's handlers
        pages = FileSystemLoader(str(PAGES_DIR))
        for key in ("voila_jinja2_env", "jinja2_env"):
            env = settings[key]
            env.loader = ChoiceLoader([pages, env.loader])
        return settings

    def init_handlers(self):
        handlers = [(url_path_join(self.server_url, pat), RefusedHandler) for pat in REFUSED]
        if self.outputs_dir:
            prefix = url_path_join(self.server_url, "briefs")
            handlers.append((prefix, tornado.web.RedirectHandler, {"url": prefix + "/"}))
            handlers.append((prefix + "/(.*)", BriefsHandler,
                             {"path": self.outputs_dir, "default_filename": "index.html"}))
        return handlers + super().init_handlers()

    def listen(self):
        ssl_options = None
        if self.certfile:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.certfile, self.keyfile or None)
            ssl_options = ctx
        try:
            self.app.listen(self.port, self.ip, ssl_options=ssl_options)
        except OSError as exc:
            self.log.critical("无法监听 %s:%s：%s", self.ip, self.port, exc)
            self.exit(1)
        self.log.info("Voilà is running at:\n%s", self.display_url)
        import tornado.ioloop

        self.ioloop = tornado.ioloop.IOLoop.current()
        try:
            self.ioloop.start()
        except KeyboardInterrupt:
            self.log.info("Stopping...")
        finally:
            self.stop()


main = WuweiVoila.launch_instance

if __name__ == "__main__":
    main()
