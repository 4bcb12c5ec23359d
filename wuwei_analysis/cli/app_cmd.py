"""``wuwei app``: serve the forecast app (one Voila page) to officials.

Voila (:mod:`wuwei_analysis.app.server`, Voila's application with a login, the briefs
folder and a kernel manager that never culls a kernel a page is still loading) runs as a
subprocess with settings fit for people who never open a notebook:

* on 127.0.0.1 by default; ``--host 0.0.0.0`` (any address but loopback) only with a login:
  a password the administrator set with ``wuwei app --set-password`` (stored hashed by
  Jupyter Server's ``passwd`` in ``<WUWEI_HOME>/app_auth.json``) or a token in
  ``$WUWEI_APP_TOKEN``; TLS with ``--certfile`` / ``--keyfile``;
* the briefs (``outputs/``, ``--outputs``) read-only at ``/briefs/`` from the same address;
* a pool of ``--pool-size`` pre-heated kernels (default 10: ten officials opening the page
  at once each get a kernel that has already run the app), refilled as they are used;

* only ``forecast_app.ipynb`` is served (single-notebook mode, from a private folder that
  holds nothing else), so there is no file tree, no contents API, no notebook editor and no
  terminal; sources are stripped and tracebacks are not sent to the page;
* a kernel is culled ``--cull-idle`` seconds (default 120) after its page was closed, never
  while a page is connected or still loading;
* everything the page loads comes from the local server (Voila's own JS, widgets, the chart
  as inline SVG): it works on an intranet with no internet;
* the database path reaches the kernel through ``$WUWEI_DB``.
"""
from __future__ import annotations

import argparse
import json
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
FILL_DELAY_S = 30
#: The only JupyterLab extensions the page loads.
WIDGET_EXTENSIONS = ("@voila-dashboards/widgets-manager8", "@jupyter-widgets/jupyterlab-manager")
DEFAULT_PORT = 8866
DEFAULT_POOL_SIZE = 10
DEFAULT_CULL_IDLE = 120
AUTH_FILE = "app_auth.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="启动面向领导和成员单位的预测应用（Voila 网页）",
                       description="启动 Voila 网页应用：选择地区、领域和指标，查看现状、预测、"
                                   "2030年目标能否实现及情景推演；同一地址在 /briefs/ 提供监测简报。"
                                   "默认只监听本机 127.0.0.1；在内网地址上提供服务（--host 0.0.0.0）"
                                   "必须先由管理员设置登录密码（--set-password）或令牌"
                                   "（环境变量 WUWEI_APP_TOKEN）。不显示代码，无法访问笔记本、"
                                   "终端或文件列表，离线可用。")
    p.add_argument("--host", default="127.0.0.1",
                   help="监听地址（默认 127.0.0.1 仅本机；0.0.0.0 为所有网卡，须先设置密码）")
    p.add_argument("--set-password", action="store_true",
                   help="设置登录密码（以哈希形式保存，不启动服务）；密码从终端输入，"
                        "或用 --password-stdin 从标准输入读取")
    p.add_argument("--password-stdin", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--certfile", help="TLS 证书文件（PEM），与 --keyfile 一起启用 https")
    p.add_argument("--keyfile", help="TLS 私钥文件（PEM）")
    p.add_argument("--outputs", default="outputs",
                   help="在 /briefs/ 只读提供的简报目录（默认 outputs/）")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"端口（默认 {DEFAULT_PORT}）")
    p.add_argument("--db", default=argparse.SUPPRESS,
                   help="监测数据库路径（也可写在 app 之前：wuwei --db PATH app）")
    p.add_argument("--no-browser", action="store_true", help="不自动打开浏览器")
    p.add_argument("--pool-size", type=int, default=DEFAULT_POOL_SIZE,
                   help=f"预热内核数：可同时打开页面而无需等待的人数（默认 {DEFAULT_POOL_SIZE}；"
                        "每个内核约 130 MB 内存）")
    p.add_argument("--cull-idle", type=int, default=DEFAULT_CULL_IDLE,
                   help=f"页面关闭后多少秒关闭其内核（默认 {DEFAULT_CULL_IDLE}；"
                        "页面打开或加载期间从不关闭）")
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


def auth_path() -> Path:
    """Where ``--set-password`` stores the hashed password."""
    from ..settings import home

    return home() / AUTH_FILE


def set_password(password: str, path: Path | None = None) -> Path:
    """Store ``password`` hashed (Jupyter Server's argon2 ``passwd``), readable by the owner."""
    from jupyter_server.auth import passwd

    if len(password) < 8:
        raise ValueError("密码至少 8 个字符")
    path = path or auth_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"hashed_password": passwd(password)}, fh)
    os.replace(tmp, path)
    return path


def has_login(path: Path | None = None) -> bool:
    """True if a password was set or a token is given in ``$WUWEI_APP_TOKEN``."""
    from ..app.server import TOKEN_ENV

    path = path or auth_path()
    if os.environ.get(TOKEN_ENV, "").strip():
        return True
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("hashed_password"))
    except (OSError, ValueError):
        return False


def voila_command(notebook: Path, *, port: int, pool_size: int = DEFAULT_POOL_SIZE,
                  cull_idle: int = DEFAULT_CULL_IDLE, open_browser: bool = False,
                  host: str = "127.0.0.1", auth_file: Path | None = None,
                  outputs: Path | None = None, certfile: str | None = None,
                  keyfile: str | None = None) -> list[str]:
    """The server's command line (settings explained in the module docstring)."""
    cmd = [
        sys.executable, "-m", "wuwei_analysis.app.server", str(notebook),
        f"--port={port}",
        f"--Voila.ip={host}",
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
        f"--MappingKernelManager.cull_interval={max(1, min(10, cull_idle // 4 or 1))}",
        "--MappingKernelManager.cull_connected=False",
        "--VoilaExecutor.timeout=120",
    ]
    if auth_file is not None:
        cmd.append(f"--WuweiVoila.auth_file={auth_file}")
    if outputs is not None:
        cmd.append(f"--WuweiVoila.outputs_dir={outputs}")
    if certfile:
        cmd.append(f"--WuweiVoila.certfile={certfile}")
    if keyfile:
        cmd.append(f"--WuweiVoila.keyfile={keyfile}")
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


def _set_password(args: argparse.Namespace) -> int:
    import getpass

    if args.password_stdin:
        pw = sys.stdin.readline().rstrip("\n")
    else:
        pw = getpass.getpass("新密码（至少 8 个字符）：")
        if getpass.getpass("再输入一次：") != pw:
            print("两次输入的密码不一致，未保存。", file=sys.stderr)
            return 2
    try:
        path = set_password(pw)
    except ValueError as exc:
        print(f"{exc}，未保存。", file=sys.stderr)
        return 2
    print(f"已保存登录密码（哈希）：{path}")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..app.server import is_loopback

    if args.set_password:
        return _set_password(args)
    host = args.host
    if not is_loopback(host) and not has_login():
        print(f"拒绝启动：在 {host} 上提供服务会让网络上的任何人看到未公开的统计数据。\n"
              "请先设置登录密码：wuwei app --set-password（或设置环境变量 WUWEI_APP_TOKEN），"
              "再启动。", file=sys.stderr)
        return 2
    if bool(args.certfile) != bool(args.keyfile) and not args.certfile:
        print("只给了 --keyfile：启用 https 需要 --certfile。", file=sys.stderr)
        return 2
    outputs = Path(args.outputs).expanduser().resolve() if args.outputs else None
    if outputs is not None and not outputs.is_dir():
        outputs = None
    env = app_env(getattr(args, "db", None))
    root = Path(tempfile.mkdtemp(prefix="wuwei_app_"))
    warmer = None
    try:
        notebook = prepare_root(root)
        cmd = voila_command(notebook, port=args.port, pool_size=args.pool_size,
                            cull_idle=args.cull_idle, open_browser=not args.no_browser,
                            host=host, auth_file=auth_path(), outputs=outputs,
                            certfile=args.certfile, keyfile=args.keyfile)
        if args.print_command:
            print(" ".join(cmd))
            return 0
        # Create the database (with its embedded default dataset, for the default path)
        # before any kernel asks for it, so two pre-heated kernels never race to create it.
        from ..database import open_db

        open_db(env["WUWEI_DB"]).close()
        proto = "https" if args.certfile else "http"
        shown = host if host not in ("0.0.0.0", "::") else "本机IP"
        print(f"武威市妇女儿童发展规划监测预测应用：{proto}://{shown}:{args.port}/", flush=True)
        if outputs is not None:
            print(f"监测简报：{proto}://{shown}:{args.port}/briefs/（{outputs}）", flush=True)
        print(f"数据库：{env['WUWEI_DB']}（按 Ctrl+C 停止）", flush=True)
        # Results are computed once, by one process, into the disk cache every kernel
        # reads, before any kernel starts: kernels then load them in milliseconds, never
        # fit models while officials' pages load, and stay small (statsmodels is never
        # imported in a kernel). About a minute on new data or code; a second otherwise.
        print("正在准备应用数据（新数据首次约需1分钟）…", flush=True)
        warmer = subprocess.Popen([sys.executable, "-m", "wuwei_analysis.app.warm"], env=env)
        try:
            warmer.wait()
        except KeyboardInterrupt:
            warmer.terminate()
            return 130
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
        if warmer is not None and warmer.poll() is None:
            warmer.terminate()
        shutil.rmtree(root, ignore_errors=True)
