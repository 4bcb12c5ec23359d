"""The ``wuwei`` command. Each subcommand lives in its own module and registers itself.

A command module defines ``register(subparsers)``, adding a parser whose ``func`` takes the
parsed arguments and returns an exit code. Imports inside command functions stay lazy so
``wuwei --help`` answers at once.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: Command modules, in the order ``wuwei --help`` lists them.
COMMAND_MODULES = ["catalog_cmd", "data_cmd", "assess_cmd", "status_cmd", "briefs_cmd",
                   "app_cmd"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
