"""Briefs from a long table file (``wuwei briefs --data``): regions the YAML does not list,
the synthetic-data banner, and the ranked comparison among many regions."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from wuwei_analysis import synthetic, tables
from wuwei_analysis.briefs import run_briefs

pytestmark = pytest.mark.slow  # papermill briefs: left out of `make test-fast`

YEAR = 2024


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "synthetic.csv.gz"
    tables.write(synthetic.generate(12), path)
    return path


@pytest.fixture(scope="module")
def batch(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("briefs")
    messages: list[str] = []
    results = run_briefs(YEAR, "annual", ["合成县00001", "S00002", "不存在的县"], out=out,
                         data=str(table), jobs=2, progress=messages.append)
    return out, results, messages


def test_table_regions_get_briefs_and_an_unknown_one_fails_alone(batch):
    out, results, _ = batch
    assert [r.ok for r in results] == [True, True, False]
    assert results[1].region == "合成县00002"
    assert "不存在的县" in results[2].error
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "合成数据" in index and "武威市" not in index


def test_a_table_brief_says_its_data_are_synthetic_and_ranks_among_all_regions(batch):
    _, results, _ = batch
    page = Path(results[0].html).read_text(encoding="utf-8")
    assert "合成数据" in page and "不是统计数据" in page
    assert results[0].headline["synthetic"] is True
    # 12 regions: the comparison is a rank among them, not 12 columns
    assert "与其他地区比较" in page and "最好的四分之一" in page
    assert re.search(r"\d+/12", page)
    warned = results[0].headline["warned"]
    assert len(re.findall(r"class=[\"']warned-item[\"']", page)) == warned > 0


def test_all_regions_of_the_table_by_default(tmp_path):
    small = tmp_path / "two.csv.gz"
    tables.write(synthetic.generate(2), small)
    results = run_briefs(YEAR, "annual", None, out=tmp_path / "out", data=str(small), jobs=1)
    assert [r.region for r in results] == ["合成县00001", "合成县00002"]
    assert all(r.ok for r in results)
    meta = json.loads((tmp_path / "out" / "index.json").read_text(encoding="utf-8"))
    assert len(meta["results"]) == 2


def test_the_batch_runs_on_a_dask_cluster(table, tmp_path):
    import os

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        messages: list[str] = []
        results = run_briefs(YEAR, "annual", ["S00003", "S00004"], out=tmp_path, data=str(table),
                             client=client, progress=messages.append)
    assert all(r.ok for r in results), [r.error for r in results]
    # produced by the cluster's worker processes, not by this one
    assert all(not r.worker.endswith(f":{os.getpid()}") for r in results)
    assert any("Dask" in m for m in messages)
    assert (tmp_path / "index.html").exists()
