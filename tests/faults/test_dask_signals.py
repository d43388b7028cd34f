"""SIGTERM, or Ctrl-C in a terminal (SIGINT to the whole process group), during a run on a
local Dask cluster (issue 17 §3, issue 19): ``plan-etl run --workers 2`` stops its Dask workers and their extraction children before it releases the
curated folder's lock, prints its one line (no Dask or Prefect shutdown warnings) and leaves the
previous state whole; with ``--dask-address`` it keeps the other's cluster and leaves none of its
tasks there. No process of the run (workers, extraction children, the temporary Prefect server,
the resource tracker) is alive when the lock is free. The sequential run's signal test:
test_state_faults.py."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from faults_site import Site, copy_site
from hostile import pdf, ruled_grid

from flows.stop import running

#: Processes of the run that are not its work, stopped too before the lock is released: the
#: temporary Prefect server (once the flow has ended) and multiprocessing's resource tracker.
SERVICES = ("prefect server start", "uvicorn", "multiprocessing.resource_tracker")
#: A load warning of distributed's, not a shutdown message (the machine is shared).
LOAD_WARNING = "Event loop was unresponsive"


def _dask_cannot_start() -> str | None:
    """Why a local Dask cluster cannot start here (no spawn locks, no loopback), else None."""
    try:
        import distributed  # noqa: F401
        import prefect_dask  # noqa: F401

        multiprocessing.get_context("spawn").Lock()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
    except (ImportError, OSError) as exc:
        return f"a local Dask cluster cannot start here: {exc}"
    return None


@pytest.fixture
def site(tmp_path) -> Site:
    reason = _dask_cannot_start()
    if reason:
        pytest.skip(reason)
    site = copy_site(tmp_path)
    for name in ("slow_a.pdf", "slow_b.pdf"):  # pdfplumber: ~7 s each, one per worker
        (site.raw / "kama" / name).write_bytes(pdf(ruled_grid(151), width=842, height=1191))
    return site


def _descendants(parent: psutil.Process, seen: dict[int, psutil.Process]) -> None:
    try:
        for child in parent.children(recursive=True):
            seen.setdefault(child.pid, child)
    except psutil.Error:
        pass


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _start_and_wait_for_extraction(site: Site) -> tuple[subprocess.Popen, dict[int, psutil.Process]]:
    """``plan-etl run --workers 2`` started; returns once a worker's extraction child runs, with
    every descendant seen so far (their commands read while they ran)."""
    command = [str(Path(sys.executable).with_name("plan-etl")), "run", "--workers", "2"]
    command += ["--raw", str(site.raw), "--curated", str(site.curated), "--pdf-engine", "plumber", "-q"]
    run = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )  # a process group of its own, as in a terminal
    parent, seen, commands = psutil.Process(run.pid), {}, {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and run.poll() is None:
        _descendants(parent, seen)
        commands.update({pid: _command(p) for pid, p in seen.items() if pid not in commands})
        if any("extractors.limits" in c for c in commands.values()):
            break
        time.sleep(0.05)
    if run.poll() is not None or not any("extractors.limits" in c for c in commands.values()):
        run.kill()
        out, err = run.communicate()
        pytest.fail(f"the run never reached a worker's extraction: {out[-500:]} {err[-2000:]}")
    time.sleep(0.5)  # the worker is inside the slow document
    _descendants(parent, seen)
    return run, seen


def _left_when_the_lock_is_free(site: Site, run: subprocess.Popen, seen: dict) -> list[tuple[int, str]]:
    """The run's descendants (any seen since it started) still running at the moment its lock
    is free, read while this test holds the lock."""
    parent = psutil.Process(run.pid)
    with open(site.curated / ".plan-etl.lock", "a+") as lock:
        deadline = time.monotonic() + 30
        while True:
            _descendants(parent, seen)  # a process started while stopping counts too
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "the stopped run kept the lock for 30 s"
                time.sleep(0.01)
        left = [(p.pid, _command(p)) for p in seen.values() if running(p)]
        fcntl.flock(lock, fcntl.LOCK_UN)
    return left


@pytest.mark.parametrize(
    "stop",
    [lambda run: run.send_signal(signal.SIGTERM), lambda run: os.killpg(run.pid, signal.SIGINT)],
    ids=["SIGTERM", "Ctrl-C to the group"],
)
def test_a_stopped_run_on_a_local_dask_cluster_stops_its_workers_before_the_lock_is_released(site, stop):
    before = site.state()
    run, seen = _start_and_wait_for_extraction(site)
    commands = {pid: _command(p) for pid, p in seen.items()}
    workers = [pid for pid, c in commands.items() if "multiprocessing.spawn" in c]
    children = [pid for pid, c in commands.items() if "extractors.limits" in c]
    services = [pid for pid, c in commands.items() if any(name in c for name in SERVICES)]
    assert len(workers) == 2 and children and len(services) >= 2, commands
    stop(run)
    left = _left_when_the_lock_is_free(site, run, seen)
    assert left == []
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert out.splitlines() == ["interrupted: nothing was loaded by this run; the previous tables stay"]
    assert [line for line in err.splitlines() if LOAD_WARNING not in line] == [], err
    assert site.state() == before


def test_the_stop_callbacks_run_in_order_while_the_lock_is_still_held(tmp_path):
    """``curated_lock``'s ``on_stop`` (``Steps.stop``: the flow's Dask workers) runs on Ctrl-C /
    SIGTERM after the extraction children are killed and before the lock is released; not on
    an ordinary error."""
    from pipeline.load.lock import LOCK_NAME, curated_lock

    heard: list[tuple[str, bool]] = []

    def held() -> bool:
        with open(tmp_path / LOCK_NAME, "a+") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(other, fcntl.LOCK_UN)
            return False

    stops = [lambda: heard.append(("workers", held())), lambda: heard.append(("futures", held()))]
    with pytest.raises(KeyboardInterrupt), curated_lock(tmp_path, "run test", stops):
        raise KeyboardInterrupt
    assert heard == [("workers", True), ("futures", True)]
    assert not held()
    with pytest.raises(ValueError), curated_lock(tmp_path, "run test", stops):
        raise ValueError("a bug")
    assert len(heard) == 2


CLUSTER = """
import sys, time
from distributed import LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                       preload=["flows.worker"])
print(cluster.scheduler_address, flush=True)
time.sleep(600)
"""


@pytest.fixture
def cluster():
    """A Dask cluster of someone else's (its own process group), its scheduler's address."""
    from conftest import ROOT

    process = subprocess.Popen(
        [sys.executable, "-c", CLUSTER], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        yield process, process.stdout.readline().strip()
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_stopped_run_on_an_external_cluster_cancels_its_batches_and_keeps_the_cluster(site, cluster):
    """``--dask-address``: SIGTERM while the cluster runs the run's batches leaves no process
    of the run when the lock is free, the cluster whole (scheduler, both workers) and none of
    the run's tasks on it."""
    from distributed import Client

    process, address = cluster
    before = site.state()
    command = [str(Path(sys.executable).with_name("plan-etl")), "run", "--dask-address", address]
    command += ["--raw", str(site.raw), "--curated", str(site.curated), "--pdf-engine", "plumber", "-q"]
    with Client(address, timeout=30) as client:
        workers = set(client.scheduler_info()["workers"])
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen: dict[int, psutil.Process] = {}
        deadline = time.monotonic() + 90
        while not any(client.processing().values()):
            _descendants(psutil.Process(run.pid), seen)
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        run.send_signal(signal.SIGTERM)
        assert _left_when_the_lock_is_free(site, run, seen) == []
        out, err = run.communicate(timeout=60)
        assert run.returncode == 130, err
        assert process.poll() is None and set(client.scheduler_info()["workers"]) == workers
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
    assert site.state() == before


TRACKER = """
import multiprocessing, os, time
from multiprocessing import resource_tracker
from flows.stop import stop_resource_tracker

context = multiprocessing.get_context("spawn")
sleeper = context.Process(target=time.sleep, args=(30,))
sleeper.start()  # a spawned child: it holds the tracker's pipe
tracker = resource_tracker._resource_tracker._pid
started = time.monotonic()
print(stop_resource_tracker(), round(time.monotonic() - started, 1), tracker == resource_tracker._resource_tracker._pid)
sleeper.terminate()
sleeper.join()
print(stop_resource_tracker(), resource_tracker._resource_tracker._pid)
try:
    os.kill(tracker, 0)
    print("tracker alive")
except ProcessLookupError:
    print("tracker gone")
"""


def test_the_resource_tracker_is_stopped_only_when_no_spawned_child_shares_it():
    """Stopping the tracker waits for every holder of its pipe: with a spawned child alive (a
    cluster of someone else's in the same process) it is left alone at once, not waited for."""
    from conftest import ROOT

    out = subprocess.run(
        [sys.executable, "-c", TRACKER], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.splitlines() == ["False 0.0 True", "True None", "tracker gone"], out.stderr
