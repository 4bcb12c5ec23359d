"""The ``wuwei`` command. Each subcommand lives in its own module and registers itself.

A command module defines ``register(subparsers)``, adding a parser whose ``func`` takes the
parsed arguments and returns an exit code. Imports inside command functions stay lazy so
``wuwei --help`` answers at once.

Errors: :func:`main` is the one place that turns a user's mistake into one Chinese line on
stderr and exit code 2 — a ``WuweiError`` (unknown region or indicator, bad file, no Dask
scheduler, …), a file that cannot be read or written (``OSError``), or a command line that
does not parse (argparse's messages, in Chinese). Anything else is a bug and keeps its
traceback.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import re
import sys

#: Command modules, in the order ``wuwei --help`` lists them.
COMMAND_MODULES = ["catalog_cmd", "data_cmd", "assess_cmd", "status_cmd", "briefs_cmd",
                   "app_cmd"]


#: argparse's messages (English) and their Chinese, as (pattern, replacement).
_ARGPARSE_ZH = [
    (r"the following arguments are required: (.*)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.*)", r"无法识别的参数：\1"),
    (r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)", r"参数 \1 的取值 \2 无效，可选：\3"),
    (r"argument (\S+): invalid (\w+) value: (.*)", r"参数 \1 的取值 \3 无效（应为 \2）"),
    (r"argument (\S+): expected one argument", r"参数 \1 后面缺少取值"),
    (r"argument (\S+): expected at least one argument", r"参数 \1 后面至少要有一个取值"),
    (r"argument (\S+): not allowed with argument (\S+)", r"参数 \1 不能与 \2 同时使用"),
    (r"argument (\S+): ignored explicit argument (.*)", r"参数 \1 不接受取值 \2"),
    (r"ambiguous option: (\S+) could match (.*)", r"选项 \1 不明确，可能是：\2"),
]


class ArgumentParser(argparse.ArgumentParser):
    """argparse, reporting a command line that does not parse in Chinese (exit code 2)."""

    def error(self, message: str):  # type: ignore[override]
        for pattern, zh in _ARGPARSE_ZH:
            if re.fullmatch(pattern, message):
                message = re.sub(pattern, zh, message)
                for en, type_zh in (("（应为 int）", "（应为整数）"), ("（应为 float）", "（应为数字）")):
                    message = message.replace(en, type_zh)
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：{message}（{self.prog} --help 查看用法）\n")


#: What a failed file operation means, by errno.
_OS_ZH = {errno.ENOENT: "文件或文件夹不存在", errno.EISDIR: "这是文件夹，不是文件",
          errno.ENOTDIR: "路径中有一段不是文件夹", errno.EEXIST: "已有同名文件",
          errno.EACCES: "没有读写权限", errno.EPERM: "没有读写权限", errno.ENOSPC: "磁盘已满",
          errno.EROFS: "只读文件系统"}


def os_error_zh(exc: OSError) -> str:
    """One Chinese line for a failed file operation."""
    what = _OS_ZH.get(exc.errno or -1, exc.strerror or str(exc))
    where = exc.filename if exc.filename is not None else ""
    return f"无法读写文件：{what}" + (f"（文件: {where}）" if where else "")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="wuwei",
        description="武威市妇女儿童发展规划（2021—2030年）监测与预测工作台",
    )
    parser.add_argument("--db", help="监测数据库路径（默认 $WUWEI_DB 或 ~/.local/share/wuwei_analysis/wuwei.sqlite）")
    sub = parser.add_subparsers(dest="command", metavar="命令")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(name):
                continue  # command not built yet
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from ..errors import WuweiError

    try:
        return int(args.func(args) or 0)
    except WuweiError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `wuwei catalog | head`: the reader went away
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a path the user gave cannot be read or written
        print(f"错误：{os_error_zh(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
