"""``wuwei app``: serve the forecast app (one Voila page) to officials on 127.0.0.1.

Voila runs as a subprocess with settings fit for people who never open a notebook:

* only ``forecast_app.ipynb`` is served (single-notebook mode, from a private folder that
  holds nothing else), so there is no file tree, no contents API, no notebook editor and no
  terminal; sources are stripped and tracebacks are not sent to the page;
* kernels are pre-heated (the page is on screen in about 3 s, not 8) and culled when a page has
  been closed (``--cull-idle`` seconds, default 40, checked every 10 s: within a minute);
* everything the page loads comes from the local server (Voila's own JS, widgets, the chart
  as inline SVG): it works on an intranet with no internet;
* the database path reaches the kernel through ``$WUWEI_DB``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

NOTEBOOK_NAME = "forecast_app.ipynb"
#: The Voila template (``templates/voila/templates/wuwei_app``): Voila's ``lab`` without CDN links.
TEMPLATE_NAME = "wuwei_app"
#: Seconds before a used pre-heated kernel is replaced.
FILL_DELAY_S = 8
#: The only JupyterLab extensions the page loads.
WIDGET_EXTENSIONS = ("@voila-dashboards/widgets-manager8", "@jupyter-widgets/jupyterlab-manager")
DEFAULT_PORT = 8866


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="启动面向领导和成员单位的预测应用（Voila 网页，仅本机 127.0.0.1）",
                       description="启动 Voila 网页应用：选择地区、领域和指标，查看现状、预测、"
                                   "2030年目标能否实现及情景推演。只监听 127.0.0.1，不显示代码，"
                                   "无法访问笔记本、终端或文件列表，离线可用。")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"端口（默认 {DEFAULT_PORT}）")
    p.add_argument("--db", default=argparse.SUPPRESS,
                   help="监测数据库路径（也可写在 app 之前：wuwei --db PATH app）")
    p.add_argument("--no-browser", action="store_true", help="不自动打开浏览器")
    p.add_argument("--pool-size", type=int, default=1,
                   help="预热内核数（默认 1；并发访问多时可设为 2）")
    p.add_argument("--cull-idle", type=int, default=40,
                   help="页面关闭后多少秒关闭其内核（默认 40；每 10 秒检查一次）")
    p.add_argument("--print-command", action="store_true", help="只打印 Voila 命令，不启动")
    p.set_defaults(func=run)


def find_notebook() -> Path | None:
    """The app notebook of a source checkout (``notebooks/forecast_app.ipynb``), if present."""
    here = Path(__file__).resolve()
    for base in (here.parents[2], here.parents[1]):  # repo root; or packaged in the package
        nb = base / "notebooks" / NOTEBOOK_NAME
        if nb.exists():
            return nb
    return None


def prepare_root(root: Path) -> Path:
    """Put the app notebook alone in ``root`` and return its path.

    Voila serves images from the notebook's folder; a private folder holding only this
    notebook means nothing else can be reached.
    """
    from ..app import notebook_json

    root.mkdir(parents=True, exist_ok=True)
    dest = root / NOTEBOOK_NAME
    src = find_notebook()
    if src is not None:
        shutil.copyfile(src, dest)
    else:  # installed from a wheel: write the same two-line notebook
        dest.write_text(notebook_json(), encoding="utf-8")
    return dest


def voila_command(notebook: Path, *, port: int, pool_size: int = 1, cull_idle: int = 40,
                  open_browser: bool = False) -> list[str]:
    """The Voila command line (settings explained in the module docstring)."""
    cmd = [
        sys.executable, "-m", "voila", str(notebook),
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--theme=light",
        f"--template={TEMPLATE_NAME}",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.file_allowlist=^$",  # serve no file from the folder
        # only the widget managers: other JupyterLab extensions are useless on this page
        # (and some of them fail in Voila, with errors in the browser console)
        *(f"--VoilaConfiguration.extension_allowlist={name}" for name in WIDGET_EXTENSIONS),
        f"--preheat_kernel={pool_size > 0}",
        f"--pool_size={max(pool_size, 0)}",
        # refill the pool once the page that took a kernel has loaded (starting a kernel
        # while the browser parses Voila's JavaScript slows the page down on 2 cores)
        f"--VoilaKernelManager.fill_delay={FILL_DELAY_S}",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        "--MappingKernelManager.cull_interval=10",
        "--MappingKernelManager.cull_connected=False",
        "--VoilaExecutor.timeout=120",
    ]
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def app_env(db: str | None) -> dict[str, str]:
    """Environment for Voila and its kernels: the database path, and no telemetry or CDNs."""
    from ..settings import PACKAGE_DIR, default_db_path

    env = dict(os.environ)
    env["WUWEI_DB"] = str(Path(db).expanduser().resolve()) if db else str(default_db_path())
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Voila finds the app template under <JUPYTER_PATH>/voila/templates/.
    tpl_root = str(PACKAGE_DIR / "templates")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (tpl_root, env.get("JUPYTER_PATH")) if p)
    return env


def run(args: argparse.Namespace) -> int:
    env = app_env(getattr(args, "db", None))
    root = Path(tempfile.mkdtemp(prefix="wuwei_app_"))
    try:
        notebook = prepare_root(root)
        cmd = voila_command(notebook, port=args.port, pool_size=args.pool_size,
                            cull_idle=args.cull_idle, open_browser=not args.no_browser)
        if args.print_command:
            print(" ".join(cmd))
            return 0
        # Create the database (with its embedded default dataset, for the default path)
        # before any kernel asks for it, so two pre-heated kernels never race to create it.
        from ..database import open_db

        open_db(env["WUWEI_DB"]).close()
        print(f"武威市妇女儿童发展规划监测预测应用：http://127.0.0.1:{args.port}/", flush=True)
        print(f"数据库：{env['WUWEI_DB']}（按 Ctrl+C 停止）", flush=True)
        proc = subprocess.Popen(cmd, cwd=str(root), env=env)

        def _forward(signum, _frame):
            proc.send_signal(signum)

        signal.signal(signal.SIGTERM, _forward)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            return 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
