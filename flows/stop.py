"""How a flow run that is stopped (SIGTERM, Ctrl-C: 停止) stops its batches on Dask before the
curated folder's lock is released (:func:`pipeline.load.lock.curated_lock` calls
``Steps.stop``).

- On the local cluster that the run's task runner started (``--workers N``), the worker
  processes and their extraction children are killed (SIGKILL: a batch holds nothing worth
  saving; nothing of it is loaded) and their nannies told not to restart them; the cluster
  itself is closed afterwards, with the task runner.
- On a cluster of someone else's (``--dask-address``), only the run's futures are cancelled:
  its workers stay (a batch already running ends on its own, and its result is dropped).

Either way the expected messages of a shutdown (Prefect's "Crash detected!", the nanny's
"worker was killed") are silenced until the flow has unwound: the user sees plan-etl's one
line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator
from typing import Any

import psutil

from pipeline.refresh.run import Steps

#: How long the stop waits for a killed process to be gone (SIGKILL takes milliseconds).
KILL_WAIT_SECONDS = 5.0


def stoppable(steps: Steps, task_runner: Any) -> Steps:
    """``steps`` that record the batches they submit, with a ``stop`` that silences the
    shutdown's logging and stops those batches on ``task_runner`` (a Dask one; any other runs
    them in this process, where :func:`extractors.limits.stop_all` stops them)."""
    submitted: list[Any] = []

    def submit(batch: Any) -> Any:
        future = steps.submit(batch)
        submitted.append(future)
        return future

    def stop() -> None:
        logging.disable(logging.CRITICAL)  # restored by quiet_shutdown() once the flow unwound
        if submitted and hasattr(task_runner, "client"):
            stop_batches(task_runner.client, submitted)

    return dataclasses.replace(steps, submit=submit, stop=stop)


def stop_batches(client: Any, futures: list[Any]) -> None:
    """Kill the workers of a local cluster (``client.cluster``), or cancel ``futures`` (Prefect
    futures wrapping Dask ones) on a cluster this run did not start."""
    cluster = getattr(client, "cluster", None)
    if cluster is not None:
        kill_workers(cluster)
    else:
        client.cancel([f.wrapped_future for f in futures if hasattr(f, "wrapped_future")], force=True)


def kill_workers(cluster: Any) -> list[int]:
    """SIGKILL every worker process of a local ``cluster`` and their children, once their nannies
    are told not to restart them; return the process ids, gone (or zombies) when this returns."""
    processes: list[psutil.Process] = []
    for nanny in list(cluster.workers.values()):
        if hasattr(nanny, "close_gracefully"):
            nanny.close_gracefully()  # a nanny closing gracefully does not restart its worker
        with contextlib.suppress(psutil.Error, TypeError, ValueError):
            worker = psutil.Process(nanny.pid)
            processes += [worker, *worker.children(recursive=True)]
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while any(running(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.01)  # not psutil.wait_procs: it would reap the nanny's children under it
    return [p.pid for p in processes]


def running(process: psutil.Process) -> bool:
    """Whether ``process`` still runs (a zombie, or a process gone, does not)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@contextlib.contextmanager
def quiet_shutdown() -> Iterator[None]:
    """Logging as it was before the block, whatever a stop in it silenced (:func:`stoppable`)."""
    previous = logging.root.manager.disable
    try:
        yield
    finally:
        logging.disable(previous)


def stop_resource_tracker(timeout: float = 5.0) -> bool:
    """Stop multiprocessing's resource tracker of this process (started with the local Dask
    cluster; it would otherwise live until the process ends, after the lock), unless a child
    process started by multiprocessing still runs (it shares the tracker: a cluster of someone
    else's in this process, a pool). Waits ``timeout`` at most: the tracker ends only once every
    process holding its pipe has closed it. Returns whether it ended. A later spawn starts a new
    one."""
    import multiprocessing
    import os
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker  # noqa: SLF001 (no public stop in 3.11)
    if getattr(tracker, "_fd", None) is None or multiprocessing.active_children():
        return False
    with tracker._lock:  # noqa: SLF001
        os.close(tracker._fd)  # noqa: SLF001 (the tracker's main() ends at the pipe's end)
        pid, tracker._fd, tracker._pid = tracker._pid, None, None  # noqa: SLF001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                time.sleep(0.01)
                continue
        return True
    return False
