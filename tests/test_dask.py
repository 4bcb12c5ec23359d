"""``wuwei assess --all`` partitioned over a Dask cluster gives what the local run gives.

A ``LocalCluster`` of two single-threaded worker *processes* stands in for a real cluster:
tasks and results are pickled and shipped as they would be to other machines, and the
workers import the package themselves. The same code path is taken with a scheduler address
(``--scheduler``) as with a ``Client``.
"""
from __future__ import annotations

import math
import os
import warnings

import distributed          # a dependency (pyproject.toml): a missing one fails, not skips
import pandas as pd
import pytest

from wuwei_analysis.executors import ExecutorError, map_tasks

pytestmark = pytest.mark.slow  # Dask clusters: left out of `make test-fast`


def _pid(_item) -> int:
    """The process a task ran in (sent to the workers by value: they cannot import tests)."""
    return os.getpid()


def setup_module(module):
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)


def teardown_module(module):
    import cloudpickle

    cloudpickle.unregister_pickle_by_value(module)


@pytest.fixture(scope="module")
def cluster():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                      memory_limit="1GiB") as c:
            yield c


@pytest.fixture(scope="module")
def table():
    from wuwei_analysis import synthetic, tables

    return synthetic.generate(10, seed=3)


@pytest.fixture(scope="module")
def local_result(table):
    from wuwei_analysis.engine.table_assessment import assess_all

    return assess_all(table, workers=1)


def test_map_tasks_keeps_the_order_locally_and_on_dask(cluster):
    items = list(range(12))
    want = [math.factorial(i) for i in items]
    assert map_tasks(math.factorial, items) == want                # 2 local processes
    assert map_tasks(math.factorial, items, workers=1) == want
    assert map_tasks(math.factorial, items, address=cluster.scheduler_address) == want
    with distributed.Client(cluster) as client:
        assert map_tasks(math.factorial, items, client=client) == want
        # the work really ran in the worker processes
        pids = set(map_tasks(_pid, items, client=client))
        assert pids and os.getpid() not in pids
    with pytest.raises(ExecutorError):
        map_tasks(math.factorial, items, executor="spark")


def test_assess_all_partitioned_on_dask_equals_the_local_run(cluster, table, local_result):
    from wuwei_analysis.engine.table_assessment import assess_all

    with distributed.Client(cluster) as client:
        got = assess_all(table, client=client, chunks=4)
    assert got.attrs["engine"]["executor"] == "dask"
    assert got.attrs["engine"]["chunks"] == 4
    pd.testing.assert_frame_equal(got, local_result)
    assert got["region_code"].nunique() == 10


def test_local_processes_give_the_same(table, local_result):
    from wuwei_analysis.engine.table_assessment import assess_all

    got = assess_all(table, workers=2, chunks=3)
    pd.testing.assert_frame_equal(got, local_result)


def test_cli_assess_all_with_a_scheduler_address(cluster, table, local_result, tmp_path,
                                                 capsys):
    from wuwei_analysis import synthetic, tables
    from wuwei_analysis.cli import main

    data = tables.write(table, tmp_path / "syn.csv.gz")
    out = tmp_path / "all.csv"
    assert main(["assess", "--all", "--input", str(data), "--scheduler",
                 cluster.scheduler_address, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Dask 集群 " + cluster.scheduler_address in text and "合成数据" in text
    df = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False,
                     dtype={"region_code": str})
    assert list(df["status_code"]) == list(local_result["status_code"])
    assert list(df["reason"]) == list(local_result["reason"])


def test_cli_assess_all_with_executor_dask_starts_its_own_cluster(table, local_result,
                                                                   tmp_path, capsys):
    from wuwei_analysis import synthetic, tables
    from wuwei_analysis.cli import main

    data = tables.write(table, tmp_path / "syn.csv.gz")
    assert main(["assess", "--all", "--input", str(data), "--executor", "dask",
                 "--workers", "2", "--format", "table"]) == 0
    text = capsys.readouterr().out
    assert "合成数据" in text and "非真实统计" in text          # synthetic input is flagged
    assert "Dask 集群 × 2" in text and "10 个地区" in text
    assert "合成县00001" in text
