"""A papermill engine that keeps one warm kernel per process and reuses it for every notebook.

A bare papermill run starts a new Python kernel (≈2–3 s here) and the notebook then imports
pandas, statsmodels and Altair again (≈1.5 s), for every brief. A batch of briefs runs the
same notebook many times in the same worker process, so the worker keeps one kernel alive:

* the first notebook a process executes starts the kernel (``python3``) — one start-up per
  worker, not per brief;
* before every later notebook the kernel's namespace is cleared (IPython ``reset``: no
  variable of the previous region survives; modules stay imported, so the imports cell
  costs milliseconds) and its execution counter is set back to 1;
* if a notebook fails (a cell raised, timed out, or the kernel died) the kernel is shut
  down and the next notebook gets a fresh one;
* the kernel is shut down when the process exits (or by :func:`shutdown_kernels`).

Use it as ``papermill.execute_notebook(..., engine_name=ENGINE_NAME)`` after importing this
module (importing registers the engine). Everything else papermill does — parameters cell
injection, per-cell timings and error cells in the output notebook — is unchanged.

Layer: a utility beside ``briefs`` (imports papermill / nbclient / jupyter_client only).
"""
from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import threading

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

__all__ = ["ENGINE_NAME", "WarmKernelEngine", "warm_kernel", "shutdown_kernels"]

#: The name to pass to ``papermill.execute_notebook(engine_name=...)``.
ENGINE_NAME = "wuwei-warm"
log = logging.getLogger("papermill")

# one kernel manager per (process, kernel name); forked children must not inherit them
_KERNELS: dict[str, object] = {}
_PID = os.getpid()
_LOCK = threading.Lock()
_FINALIZER_SET = False

#: Kernel options: no IPython history (its SQLite database, shared by every kernel of the
#: user, printed "ERROR! Session/line number was not unique in database…" into briefs when
#: kernels ran in parallel), and only errors logged (no "Kernel is running over TCP without
#: encryption" warning in the batch's output).
KERNEL_ARGS = ["--HistoryManager.enabled=False", "--HistoryManager.hist_file=:memory:",
               "--Application.log_level=ERROR"]

_RESET_CODE = ("get_ipython().reset(new_session=False, aggressive=False)\n"
               "get_ipython().execution_count = 1")


def _run(coro_fn, *args, **kwargs):
    from jupyter_core.utils import run_sync

    return run_sync(coro_fn)(*args, **kwargs)


def warm_kernel(kernel_name: str = "python3", startup_timeout: float = 60):
    """This process's warm kernel manager for ``kernel_name``, started if needed."""
    global _PID, _FINALIZER_SET
    from jupyter_client.manager import AsyncKernelManager

    with _LOCK:
        if os.getpid() != _PID:       # a forked child: the parent's kernels are not ours
            _KERNELS.clear()
            _PID = os.getpid()
            _FINALIZER_SET = False
        km = _KERNELS.get(kernel_name)
        if km is not None and not _run(km.is_alive):
            _KERNELS.pop(kernel_name, None)
            km = None
        if km is None:
            km = AsyncKernelManager(kernel_name=kernel_name)
            _run(km.start_kernel, extra_arguments=list(KERNEL_ARGS))
            _KERNELS[kernel_name] = km
            if not _FINALIZER_SET:
                # pool workers leave through multiprocessing's exit path (no atexit)
                multiprocessing.util.Finalize(None, shutdown_kernels, exitpriority=10)
                atexit.register(shutdown_kernels)
                _FINALIZER_SET = True
        return km


def _reset_namespace(km, timeout: float) -> None:
    """Clear the kernel's user namespace and execution counter (modules stay imported)."""
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        reply = kc.execute_interactive(_RESET_CODE, silent=True, store_history=False,
                                       timeout=timeout)
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"kernel reset failed: {reply['content']}")
    finally:
        kc.stop_channels()


def discard_kernel(kernel_name: str = "python3") -> None:
    """Shut down this process's warm kernel for ``kernel_name`` (the next run starts anew)."""
    with _LOCK:
        km = _KERNELS.pop(kernel_name, None) if os.getpid() == _PID else None
    if km is not None:
        try:
            _run(km.shutdown_kernel, now=True)
        except Exception:  # noqa: BLE001 — it may be dead already
            pass


def shutdown_kernels() -> None:
    """Shut down every warm kernel this process started."""
    for name in list(_KERNELS):
        discard_kernel(name)


class WarmKernelEngine(NBClientEngine):
    """papermill's nbclient engine, executing on this process's warm kernel."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None,
                                 **kwargs):
        kwargs.pop("input_path", None)
        for key in ("timeout", "startup_timeout", "km"):
            kwargs.pop(key, None)
        km = warm_kernel(kernel_name, start_timeout)
        client = None
        try:
            _reset_namespace(km, start_timeout)
            client = PapermillNotebookClient(
                nb_man, km=km, timeout=execution_timeout, startup_timeout=start_timeout,
                kernel_name=kernel_name, log=log, log_output=log_output,
                stdout_file=stdout_file, stderr_file=stderr_file, **kwargs)
            return client.execute()
        except BaseException:
            # a failed cell may leave the kernel busy or half-initialised: start afresh
            discard_kernel(kernel_name)
            raise
        finally:
            if client is not None and client.kc is not None:
                client.kc.stop_channels()


papermill_engines.register(ENGINE_NAME, WarmKernelEngine)
