"""One writer at a time per ``curated/`` folder.

A run reads the last run's tables, then replaces them: two runs over the same folder at once
(cron's nightly run and a hand-started one, ``plan-etl serve`` and ``plan-etl validate``) would
each start from the same state and the second to publish would lose the first's work. A run
therefore holds an advisory lock on ``curated/.plan-etl.lock`` (``flock``: the kernel releases
it when the process ends, however it ends, so a killed run never leaves a stale lock). The
holder writes who it is into the file, for the message the next run prints.

While a run holds the lock, SIGTERM (a service manager, ``kill``, a container stop) is raised in
it as :class:`Terminated`, a ``KeyboardInterrupt``: the run unwinds as it does for Ctrl-C —
every extraction child of the process is killed (:func:`extractors.limits.stop_all`, for
batches running in other threads), then the holder's ``on_stop`` callbacks stop the work it
runs elsewhere (the flow's Dask workers and their extraction children) — and only then is the
lock released, so a second run never overlaps a run that is still stopping.

A caller that runs the refresh inside a service of its own (the flow's temporary Prefect server,
Dask's resource tracker) wraps it in :func:`release_deferred`: the lock is then released when
that block ends, once the services are stopped, not when the refresh returns — so no process of
the run is alive when the next run can start.

Holding the lock, a run also removes the staging folders that a killed run left behind
(``curated/.staging-*``; nothing else can be using them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

LOCK_NAME = ".plan-etl.lock"


#: Lock files whose release waits for the end of a :func:`release_deferred` block (None: none).
_deferred: list[Any] | None = None


class RunLocked(RuntimeError):
    """Another plan-etl process is writing the same curated folder."""


class Terminated(KeyboardInterrupt):
    """SIGTERM received while holding the lock (ended like Ctrl-C: nothing of the run is kept)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` in the main thread while in this block (elsewhere:
    signal handlers can only be set there, and the default, ending the process, stays)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def curated_lock(
    curated_dir: Path, what: str, on_stop: Iterable[Callable[[], None]] = ()
) -> Iterator[list[str]]:
    """Hold the folder's lock for ``what`` (e.g. ``run 20261123T…``); yield the stale staging
    folders removed. Raises :class:`RunLocked`, naming the holder, if another process has it.
    ``on_stop``: called in order when the block ends by Ctrl-C or SIGTERM, before the lock is
    released (each stops work the holder started outside this process's extraction children)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks; runs must not overlap
        yield []
        return
    curated_dir.mkdir(parents=True, exist_ok=True)
    handle = open(curated_dir / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 (held until the end)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a process that did not say"
            raise RunLocked(
                f"{curated_dir} is being written by another plan-etl process ({holder}); "
                "wait for it to finish — the lock goes with that process"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, {what}, since {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        handle.flush()
        stale = sorted(curated_dir.glob(".staging-*"))
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)
        try:
            with _sigterm_interrupts():
                yield [folder.name for folder in stale]
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: no extraction of this process outlives the lock
            from extractors.limits import stop_all

            stop_all()
            for stop in on_stop:
                stop()
            raise
        finally:
            handle.seek(0)
            handle.truncate()
            if _deferred is not None:
                handle.write(f"pid {os.getpid()}, {what}, stopping its services\n")
                handle.flush()
                _deferred.append(handle)  # released by release_deferred(), still held
                handle = None
            else:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        if handle is not None:
            handle.close()


@contextlib.contextmanager
def release_deferred() -> Iterator[None]:
    """Locks taken by :func:`curated_lock` in this block are released when the block ends (not
    when their own block ends): what the caller stops last (a server, a resource tracker) is
    gone before another run can take the lock."""
    global _deferred
    outer, _deferred = _deferred, []
    try:
        yield
    finally:
        held, _deferred = _deferred, outer
        for handle in held:
            handle.seek(0)
            handle.truncate()
            handle.close()  # the last descriptor of the lock: the kernel releases it
