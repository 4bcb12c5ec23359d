"""A user's mistake on the command line is one Chinese line on stderr and exit code 2 — never
a traceback (the one error handler in ``wuwei_analysis.cli.main``)."""
import os
import subprocess
import sys

import pytest

from wuwei_analysis import synthetic, tables
from wuwei_analysis.cli import main
from wuwei_analysis.errors import WuweiError
from wuwei_analysis.executors import ExecutorError



def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    return tables.write(synthetic.generate(2, seed=5), tmp_path_factory.mktemp("t") / "t.csv.gz")


def one_chinese_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("usage:")
             and not ln.startswith(" ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("错误：") and has_chinese(lines[0][3:]), err
    assert "Traceback" not in err
    return lines[0]


def test_an_unreachable_scheduler_is_a_wuwei_error():
    assert issubclass(ExecutorError, WuweiError)


@pytest.mark.slow  # subprocess + Dask connect timeout
def test_wuwei_assess_all_with_no_scheduler_prints_one_chinese_line(small_table, tmp_path):
    env = {**os.environ, "WUWEI_DASK_CONNECT_TIMEOUT": "1", "WUWEI_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "wuwei_analysis", "assess", "--all",
                           "--input", str(small_table), "--scheduler", "tcp://127.0.0.1:9"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    line = one_chinese_line(proc.stderr)
    assert "无法连接 Dask 调度器 tcp://127.0.0.1:9" in line


@pytest.mark.parametrize("argv, says", [
    (["assess", "--region", "不存在县", "--input", "{table}"], "找不到地区"),
    (["assess", "--all", "--input", "{missing}"], "找不到长表文件"),
    (["assess", "--input", "{bad}"], "长表缺少列"),
    (["export", "--indicator", "不存在的指标", "-o", "{tmp}/x.csv"], "找不到指标"),
    (["export", "-o", "{tmp}/x.json"], "导出文件须为"),
    (["import", "{tmp}"], "这是文件夹"),
    (["assess", "--input", "{table}", "--region", "合成县00001", "-o", "{bad}/x.txt"],
     "路径中有一段不是文件夹"),
    (["catalog", "--domain", "不存在"], "未知领域"),
    (["scale-data", "--regions", "0", "-o", "{tmp}/s.csv.gz"], "合成地区数须为正整数"),
    (["assess", "--year", "abc"], "参数 --year 的取值 'abc' 无效（应为整数）"),
    (["template", "--unit", "妇联"], "缺少必需的参数：--year"),
    (["catalog", "--plan", "xx"], "参数 --plan 的取值 'xx' 无效"),
])
def test_user_mistakes_are_one_chinese_line_and_exit_code_2(argv, says, small_table, tmp_path,
                                                           capsys, wuwei_home):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    fill = {"table": str(small_table), "missing": str(tmp_path / "missing.csv"),
            "bad": str(bad), "tmp": str(tmp_path)}
    argv = [a.format(**fill) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:       # argparse
        code = exc.code
    assert code == 2
    line = one_chinese_line(capsys.readouterr().err)
    assert says in line


@pytest.fixture
def wuwei_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WUWEI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WUWEI_DB", str(tmp_path / "home" / "empty.sqlite"))
    from wuwei_analysis.database import init_db

    init_db(tmp_path / "home" / "empty.sqlite", with_defaults=False)
