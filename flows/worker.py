"""Dask worker set-up: import what the refresh tasks use before the first task arrives.

A standing cluster's workers::

    dask worker tcp://scheduler:8786 --nworkers 2 --nthreads 1 --preload flows.worker

(``plan-etl run --workers N`` preloads its local cluster's workers the same way.)

Without it, a worker's first batch imports Prefect's task engine, the readers (pdfplumber,
pdfminer) and Great Expectations, and builds the validation suites: ~10 s on this 2-core
machine, while the batch's documents wait. Preloaded, a worker pays this once, when it
starts, and every run on the cluster finds it warm. Dask imports the module and calls
:func:`dask_setup` before the worker connects to the scheduler, so a worker that takes
tasks is ready for them.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from typing import Any

from flows.settings import configure_environment

configure_environment()

logger = logging.getLogger(__name__)


def warm() -> float:
    """Import the task's modules and build the GX suites in this process; return the seconds."""
    t = time.perf_counter()
    import pdfplumber  # noqa: F401  (read_pdf imports it lazily)
    import prefect.task_engine  # noqa: F401

    import extractors.readers.pdf  # noqa: F401
    import flows.nightly_refresh  # noqa: F401  (the task's function is pickled by reference to it)
    from pipeline.validate.gx import prepare

    prepare()
    return time.perf_counter() - t


def ignore_interrupts() -> None:
    """In a worker process started by a nanny: Ctrl-C, which a terminal sends to every process
    of the group, is left to the process that started the nanny (``plan-etl run`` kills its
    local workers before it releases its lock; ``dask worker`` closes them through the nanny).
    A worker without a nanny is the command itself and keeps its Ctrl-C."""
    if multiprocessing.parent_process() is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def dask_setup(worker: Any) -> None:
    """Dask's preload hook."""
    ignore_interrupts()
    seconds = warm()
    logger.info("plan-etl worker %s warm in %.1f s", getattr(worker, "name", "?"), seconds)
