"""Paths and settings. Imports nothing else of the project.

Environment variables
---------------------
WUWEI_DB
    Path of the monitoring database (SQLite). Default: ``<data home>/wuwei.sqlite``.
WUWEI_HOME
    Folder for the workbench's own files (database, caches). Default:
    ``$XDG_DATA_HOME/wuwei_analysis`` or ``~/.local/share/wuwei_analysis``.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
CATALOG_DIR = DATA_DIR / "catalog"
PUBLIC_DIR = DATA_DIR / "public"
PLAN_TEXT = DATA_DIR / "plan" / "wuwei_plans_2021_2030.md"

#: Years a plan covers; the mid-term and final evaluation years.
PLAN_START, MIDTERM_YEAR, FINAL_YEAR = 2021, 2025, 2030


def home() -> Path:
    """Folder for the workbench's own files (created on demand by callers)."""
    env = os.environ.get("WUWEI_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "wuwei_analysis"


def default_db_path() -> Path:
    """The database path: ``$WUWEI_DB`` if set, else ``home()/wuwei.sqlite``."""
    env = os.environ.get("WUWEI_DB")
    return Path(env).expanduser() if env else home() / "wuwei.sqlite"
