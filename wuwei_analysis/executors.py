"""Where batch work runs: local processes (the default) or a Dask distributed cluster.

    map_tasks(func, items, executor="local", address=None, workers=2, client=None)  -> list
    as_completed_tasks(func, items, ...)          -> iterator of (index, result), as done

``func`` is applied to every item; ``map_tasks`` returns the results in the order of
``items``, ``as_completed_tasks`` yields each as soon as it is done (progress reports).

``executor="local"``
    A pool of ``workers`` processes on this machine (``workers=1``: in this process, no
    pool). The default; nothing to install.
``executor="dask"``
    Dask distributed (``pip install "dask[distributed]"``). With ``address`` (e.g.
    ``tcp://10.0.0.5:8786``, a ``dask scheduler`` someone started) the work goes to that
    cluster; without one a ``LocalCluster`` of ``workers`` single-threaded worker processes
    (listening on 127.0.0.1 only) is started for the call and closed afterwards. A
    ``distributed.Client`` may be passed as ``client=`` instead (tests pass one for a
    ``LocalCluster`` they own). Dask does the scheduling; nothing here retries or balances
    by hand.

``func`` and the items must be picklable (module-level functions; DataFrames, paths,
names). Used by ``wuwei assess --all`` (one task per group of regions) and offered to the
briefs batch (one task per brief).

A connection to a scheduler gives up after ``CONNECT_TIMEOUT`` (``$WUWEI_DASK_CONNECT_TIMEOUT``,
default 20 s). Errors a user can cause (an unknown executor, no Dask, no scheduler at the
address) are :class:`ExecutorError`, a ``WuweiError`` with a Chinese message.

Layer: a utility — imports only ``errors``.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from .errors import WuweiError

EXECUTORS = ("local", "dask")


class ExecutorError(WuweiError):
    """The executor asked for cannot run (unknown name, Dask missing, no scheduler)."""


def connect_timeout() -> float:
    """Seconds to wait for a Dask scheduler (``$WUWEI_DASK_CONNECT_TIMEOUT``, default 20)."""
    try:
        return max(float(os.environ.get("WUWEI_DASK_CONNECT_TIMEOUT", "20")), 0.1)
    except ValueError:
        return 20.0


def default_workers() -> int:
    """Processes to use by default: the CPUs this process may run on (at least 1)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def _resolve(executor: str, address: str | None, client, workers: int | None
             ) -> tuple[str, int]:
    """The executor actually used (an address or a client means Dask) and the worker count."""
    if address or client is not None:
        executor = "dask"
    if executor not in EXECUTORS:
        raise ExecutorError(f"未知的执行方式 {executor!r}，可选：{', '.join(EXECUTORS)}")
    return executor, default_workers() if workers is None else max(int(workers), 1)


def map_tasks(func: Callable[[Any], Any], items: Iterable[Any], executor: str = "local",
              address: str | None = None, workers: int | None = 2, client=None, *,
              mp_context: str | None = None) -> list:
    """``[func(item) for item in items]``, run by ``executor`` (see the module docstring).

    Args:
        func: a picklable function of one argument.
        items: the arguments.
        executor: "local" (processes on this machine) or "dask".
        address: Dask scheduler address (implies ``executor="dask"``).
        workers: processes (local) or LocalCluster workers (dask, no address); None: one
            per CPU.
        client: an existing ``distributed.Client`` (implies ``executor="dask"``).
        mp_context: start method for local processes ("fork", "spawn", "forkserver";
            default: the platform's).

    Returns:
        The results, in the order of ``items``. The first task that fails raises its
        exception here (with Dask: the remote exception, re-raised).
    """
    items = list(items)
    executor, workers = _resolve(executor, address, client, workers)
    if not items:
        return []
    if executor == "local":
        return _local(func, items, workers, mp_context)
    return _dask(func, items, address, workers, client)


def _local(func, items, workers, mp_context):
    if workers == 1 or len(items) == 1:
        return [func(i) for i in items]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context(mp_context) if mp_context else None
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx) as pool:
        return list(pool.map(func, items))


@contextmanager
def dask_client(address: str | None = None, workers: int = 2, client=None):
    """A ``distributed.Client``: ``client`` itself, one connected to the scheduler at
    ``address``, or one on a LocalCluster of ``workers`` single-threaded processes
    (127.0.0.1 only) started here and closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ExecutorError('Dask 执行需要安装 dask[distributed]：pip install "dask[distributed]"'
                            ) from exc
    if client is not None:
        yield client
        return
    own_client = own_cluster = None
    try:
        if address:
            wait = connect_timeout()
            try:
                own_client = Client(address, timeout=f"{wait}s")
            except (OSError, ValueError, TypeError) as exc:
                raise ExecutorError(f"无法连接 Dask 调度器 {address}：{wait:g} 秒内未连上，"
                                    "请确认调度器已启动、地址和端口正确") from exc
        else:
            # on this machine only: scheduler, workers and the status page listen on
            # 127.0.0.1 (by default they would listen on every interface, port 8787)
            own_cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0")
            own_client = Client(own_cluster)
        yield own_client
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _dask(func, items, address, workers, client):
    with dask_client(address, workers, client) as c:
        # ship the items once, then map over them. hash=False: scattering equal items
        # again (a second call on the same client) must not reuse keys the first call's
        # futures are releasing — Dask then cancels the tasks ("lost dependencies").
        data = c.scatter(items, hash=False)
        futures = c.map(func, data, pure=False)
        return c.gather(futures)


def as_completed_tasks(func: Callable[[Any], Any], items: Iterable[Any], executor: str = "local",
                       address: str | None = None, workers: int | None = 2, *, client=None,
                       mp_context: str | None = None) -> Iterator[tuple[int, Any]]:
    """Like :func:`map_tasks`, but yields ``(index, result)`` as each task finishes (for
    progress reports). ``workers=1`` with the local executor runs in this process."""
    items = list(items)
    executor, workers = _resolve(executor, address, client, workers)
    if not items:
        return
    if executor == "local" and (workers == 1 or len(items) == 1):
        for i, item in enumerate(items):
            yield i, func(item)
        return
    if executor == "local":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = mp.get_context(mp_context) if mp_context else None
        with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx) as pool:
            futures = {pool.submit(func, item): i for i, item in enumerate(items)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        return
    from distributed import as_completed as dask_completed

    with dask_client(address, workers, client) as c:
        futures = [c.submit(func, item, pure=False) for item in items]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            yield index[fut.key], fut.result()
