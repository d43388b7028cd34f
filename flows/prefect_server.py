"""A Prefect server on loopback for the length of a run (Dask workers need a real API:
without one each worker process would start a temporary server of its own)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as r:  # noqa: S310 - loopback only
            return r.status == 200
    except OSError:
        return False


def _drain_events(timeout: float = 10.0) -> None:
    """Send the events this process queued for the server while it still runs: an events
    worker left holding them would retry a stopped server for ever (a later Prefect client of
    the process, such as Prefect's own test harness, waits for it when it drains)."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=timeout)


@contextlib.contextmanager
def prefect_server(timeout: float = 180.0) -> Iterator[str]:
    """Yield the API URL of a running Prefect server: the one in PREFECT_API_URL, else a
    temporary one started on 127.0.0.1 (and stopped afterwards)."""
    if os.environ.get("PREFECT_API_URL"):
        yield os.environ["PREFECT_API_URL"]
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    prefect = Path(sys.executable).with_name("prefect")
    # The server's log goes to PREFECT_HOME, else to the temporary folder (never the working tree).
    folder = Path(os.environ.get("PREFECT_HOME") or tempfile.gettempdir())
    log = open(folder / "plan-etl-prefect-server.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PREFECT_UI_ENABLED": "false"},
        start_new_session=True,  # a terminal's Ctrl-C is the run's to handle: it stops the server last
    )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start (see {log.name})")
            time.sleep(0.5)
        os.environ["PREFECT_API_URL"] = url  # for the Dask workers this process starts
        from prefect.settings import PREFECT_API_URL, temporary_settings

        # and for this process, whose Prefect settings were read when Prefect was imported
        # (without this the flow started a temporary server of its own beside this one)
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                _drain_events()
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        stop_server(proc)
        log.close()


def stop_server(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Stop the server's whole session (``prefect server start`` and the uvicorn it runs):
    SIGTERM, SIGKILL past ``timeout``; return once none of its processes runs."""
    import psutil

    try:
        processes = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.Error:
        processes = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
