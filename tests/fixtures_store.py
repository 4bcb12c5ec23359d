"""Fixtures for the store / ingest / template / defaults tests (imported by those modules).

Every test runs with WUWEI_HOME and WUWEI_DB pointing into its own tmp_path, so nothing
touches ~/.local. The default dataset is built once per session into a template database
and copied for the tests that need it.
"""
from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
BAD_FILES = FIXTURES / "bad_files"
HEADER = ["指标编号", "指标名称", "地区", "年份", "数值", "分子", "分母"]


@pytest.fixture(autouse=True)
def wuwei_env(tmp_path, monkeypatch):
    """Private WUWEI_HOME / WUWEI_DB for each test; returns the (not yet created) db path."""
    home = tmp_path / "wuwei_home"
    db = home / "wuwei.sqlite"
    monkeypatch.setenv("WUWEI_HOME", str(home))
    monkeypatch.setenv("WUWEI_DB", str(db))
    monkeypatch.delenv("WUWEI_TEST_SLOW_IMPORT", raising=False)
    return db


@pytest.fixture
def empty_db(tmp_path):
    """A new database without the default dataset."""
    from wuwei_analysis.database import init_db

    return init_db(tmp_path / "empty.sqlite", with_defaults=False)


_SEEDED: list[Path] = []  # built once per test process, shared by every module


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory):
    if not _SEEDED:
        from wuwei_analysis.database import init_db

        path = init_db(tmp_path_factory.mktemp("seeded") / "seeded.sqlite", with_defaults=True)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        _SEEDED.append(path)
    return _SEEDED[0]


@pytest.fixture
def seeded_db(seeded_template, tmp_path):
    """A copy of a database holding the default dataset."""
    path = tmp_path / "seeded.sqlite"
    shutil.copy(seeded_template, path)
    return path


def counts(db) -> dict:
    """Row counts of the data tables, plus a checksum of observations."""
    conn = sqlite3.connect(db)
    try:
        out = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
               for t in ("observations", "submissions", "rejections")}
        out["sum"] = conn.execute("SELECT TOTAL(value) FROM observations").fetchone()[0]
        return out
    finally:
        conn.close()


def write_csv(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list], header: list[str] = HEADER,
               sheet: str = "填报数据", title: str | None = "测试填报表") -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def run_cli(*args: str, env_extra: dict | None = None, timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m wuwei_analysis ARGS`` with the test's environment."""
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "wuwei_analysis", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=cwd)


def start_cli(*args: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.Popen([sys.executable, "-m", "wuwei_analysis", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_marker(proc: subprocess.Popen, marker: str = "WUWEI_TEST: in transaction",
                    timeout: float = 60) -> None:
    """Read the child's stderr until the marker line (the import is inside its transaction)."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stderr.readline()
        if marker in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"import ended before its transaction: rc={proc.returncode} "
                                 f"{proc.stdout.read()} {proc.stderr.read()}")
    raise AssertionError("the import never reached its transaction")
