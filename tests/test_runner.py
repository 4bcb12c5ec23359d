"""The warm-kernel papermill engine: one kernel per process, a clean namespace per notebook."""
from __future__ import annotations

import json

import nbformat
import papermill as pm
import psutil
import pytest

from wuwei_analysis.runner import ENGINE_NAME, shutdown_kernels, warm_kernel

pytestmark = pytest.mark.slow  # Jupyter kernels: left out of `make test-fast`


def _notebook(path, *sources, parameters="tag = 'a'"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _run(src, out, tag="a"):
    params = {"tag": tag}   # papermill injects a parameters cell: the source cells are 2, 3 …
    return pm.execute_notebook(str(src), str(out), parameters=params, kernel_name="python3",
                               progress_bar=False, engine_name=ENGINE_NAME,
                               execution_timeout=60)


def _stdout(nb, cell):
    return "".join(o.get("text", "") for o in nb.cells[cell].outputs if o.get("name") == "stdout")


@pytest.fixture
def clean_kernels():
    shutdown_kernels()
    yield
    shutdown_kernels()


def test_notebooks_in_one_process_share_one_kernel_with_a_fresh_namespace(tmp_path, clean_kernels):
    src = _notebook(tmp_path / "nb.ipynb",
                    "import os\nprint(os.getpid())",
                    "print('leftover' in dir())\nleftover = tag")
    first = _run(src, tmp_path / "1.ipynb", tag="a")
    second = _run(src, tmp_path / "2.ipynb", tag="b")
    # the same kernel process ran both
    assert _stdout(first, 2) == _stdout(second, 2)
    # but the second notebook did not see the first one's variables
    assert _stdout(first, 3).strip() == "False"
    assert _stdout(second, 3).strip() == "False"
    # and its execution counts start at 1 like a fresh kernel's
    counts = [c.execution_count for c in second.cells if c.cell_type == "code"]
    assert counts[0] == 1 and counts == sorted(counts)


def test_a_failed_notebook_gets_the_next_one_a_fresh_kernel(tmp_path, clean_kernels):
    ok = _notebook(tmp_path / "ok.ipynb", "import os\nprint(os.getpid())")
    bad = _notebook(tmp_path / "bad.ipynb", "import time\ntime.sleep(30)")
    before = _stdout(_run(ok, tmp_path / "1.ipynb"), 2)
    with pytest.raises(Exception):   # the cell times out: the kernel may still be busy
        pm.execute_notebook(str(bad), str(tmp_path / "2.ipynb"), parameters={"tag": "x"},
                            kernel_name="python3",
                            progress_bar=False, engine_name=ENGINE_NAME, execution_timeout=2)
    assert not psutil.pid_exists(int(before)) or \
        psutil.Process(int(before)).status() == psutil.STATUS_ZOMBIE
    after = _stdout(_run(ok, tmp_path / "3.ipynb"), 2)
    assert after != before


def test_a_cell_error_is_reported_as_by_papermill(tmp_path, clean_kernels):
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('坏数据')")
    with pytest.raises(pm.PapermillExecutionError) as err:
        _run(bad, tmp_path / "out.ipynb")
    assert "坏数据" in str(err.value)
    # the output notebook marks the failing cell, as with papermill's own engine
    out = json.loads((tmp_path / "out.ipynb").read_text(encoding="utf-8"))
    assert any("papermill-error-cell-tag" in "".join(c["source"]) or
               "error" in json.dumps(c.get("outputs", [])) for c in out["cells"])


def test_shutdown_kernels_leaves_no_kernel_process(tmp_path, clean_kernels):
    src = _notebook(tmp_path / "nb.ipynb", "import os\nprint(os.getpid())")
    pid = int(_stdout(_run(src, tmp_path / "1.ipynb"), 2))
    assert psutil.pid_exists(pid)
    shutdown_kernels()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_warm_kernel_is_started_once(clean_kernels):
    assert warm_kernel() is warm_kernel()


def test_the_kernel_keeps_no_history_and_logs_no_warnings(tmp_path, clean_kernels, capfd):
    """IPython's history database, shared by every kernel of the user, printed "ERROR!
    Session/line number was not unique in database…" into briefs run in parallel; the
    kernel's TCP warning reached the batch's output. Neither exists in a warm kernel."""
    src = _notebook(tmp_path / "nb.ipynb",
                    "print(get_ipython().history_manager.enabled)")
    nb = _run(src, tmp_path / "1.ipynb")
    nb = _run(src, tmp_path / "2.ipynb")   # the reset between notebooks starts no session
    assert _stdout(nb, 2).strip() == "False"
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not any("ERROR" in o.get("text", "") for o in outputs)
    assert "without encryption" not in capfd.readouterr().err
