"""Hard limits on one document's extraction (文書ごとの上限): time and memory.

The readers bound what they can see coming (pages, page sizes, rulings, line lengths,
workbook dimensions), but a reader or parser can still spend minutes or gigabytes inside one
library call. :class:`IsolatedExtractor` therefore runs :func:`extractors.extract.extract_document`
in one child process per batch of documents: the child's address space is capped
(``RLIMIT_AS``: past it an allocation fails with ``MemoryError``) and the parent waits for each
document at most ``seconds``, then kills the child, reports the document as failed and starts
a new child for the next one. The child dies with its parent (``PR_SET_PDEATHSIG``) and ignores
Ctrl-C: the parent stops it (a SIGTERM'd run stops its children before its lock is released).

A document stopped by a limit is not quarantined at once like one that cannot be read: a busy
night may stop what a quiet one reads. Its error counts the attempt (:func:`attempt_note`), and
the next runs retry it up to :data:`LIMIT_ATTEMPTS` extractions of the same bytes
(:func:`stopped_by`, :func:`limit_attempts`; pipeline/state/work.py decides). ``plan-etl
extract FILE`` reads its one document under the same limits (:func:`extract_limited`).
"""

from __future__ import annotations

import itertools
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import extractors
from core.versions import ROOT

SECONDS_VARIABLE = "PLAN_ETL_DOCUMENT_SECONDS"
MEMORY_VARIABLE = "PLAN_ETL_DOCUMENT_MEMORY_MB"
#: Extractions of the same bytes that a limit may stop (再試行の上限) before the document is
#: quarantined like any failed one: a busy night may stop what a quiet one reads.
LIMIT_ATTEMPTS = 2
_MEMORY_MARKS = (MEMORY_VARIABLE, "memory limit of one document")
_ATTEMPT = re.compile(r"\(attempt (\d+) of \d+: ")


class LimitSettingError(ValueError):
    """A per-document limit set in the environment that is not a number (上限の設定誤り)."""


@dataclass(frozen=True)
class ExtractionLimits:
    """Hard limits on one document's extraction (抽出の上限): wall-clock ``seconds`` and the
    child's address space in MiB (``memory_mb``; virtual memory, libraries included)."""

    seconds: float = 600.0
    memory_mb: int = 4096

    @classmethod
    def from_environment(cls) -> ExtractionLimits:
        """The limits set by ``PLAN_ETL_DOCUMENT_SECONDS`` / ``PLAN_ETL_DOCUMENT_MEMORY_MB``."""
        default = cls()
        try:
            seconds = float(os.environ.get(SECONDS_VARIABLE) or default.seconds)
            memory = int(os.environ.get(MEMORY_VARIABLE) or default.memory_mb)
        except ValueError:
            raise LimitSettingError(
                f"{SECONDS_VARIABLE} takes seconds and {MEMORY_VARIABLE} whole MiB "
                f"(got {os.environ.get(SECONDS_VARIABLE)!r}, {os.environ.get(MEMORY_VARIABLE)!r})"
            ) from None
        return cls(seconds=seconds, memory_mb=memory)


def stopped_by(error: str | None) -> str | None:
    """Which per-document limit (上限) stopped an extraction, from its failed row's error:
    ``"time"``, ``"memory"``, or None for any other failure (a parse error fails again on the
    same bytes; a limit may not, on a quieter night)."""
    if not error:
        return None
    if f"({SECONDS_VARIABLE})" in error:
        return "time"
    return "memory" if any(mark in error for mark in _MEMORY_MARKS) else None


def limit_attempts(error: str | None) -> int:
    """How many extractions of these bytes a limit stopped, as its error says (1 when it does
    not count them)."""
    found = _ATTEMPT.search(error or "")
    return int(found.group(1)) if found else 1


def attempt_note(attempt: int) -> str:
    """What a limit-stopped document's error adds: which attempt, and what the next run does."""
    then = (
        "the next run tries it again"
        if attempt < LIMIT_ATTEMPTS
        else "quarantined until the file or the extractor changes"
    )
    return f" (attempt {attempt} of {LIMIT_ATTEMPTS}: {then})"


class Stopped(RuntimeError):
    """The run is stopping (SIGTERM, Ctrl-C): no document is extracted any more."""


_LIVE: weakref.WeakSet[IsolatedExtractor] = weakref.WeakSet()  # extractors with a child running
_STOPS = itertools.count(1)
_stop_generation = 0
_guard = threading.Lock()


def stop_all() -> None:
    """Kill every extraction child of this process, whichever thread runs it, and make the
    extractors that exist now refuse further documents (:class:`Stopped`): a run being
    stopped calls this before it releases its lock. Extractors made later work as usual."""
    global _stop_generation
    with _guard:
        _stop_generation = next(_STOPS)
        live = list(_LIVE)
    for extractor in live:
        extractor.kill()


class IsolatedExtractor:
    """Extract documents one at a time in a child process under :class:`ExtractionLimits`.

    ``extract(path, **kw)`` takes :func:`extract_document`'s arguments and returns its
    :class:`~extractors.extract.DocumentOutcome`; a document past a limit gives a failed
    outcome that says which limit. Use it as a context manager: the child is stopped on exit,
    whatever the exit (an exception, KeyboardInterrupt, SIGTERM turned into one)."""

    def __init__(self, limits: ExtractionLimits | None = None) -> None:
        self.limits = limits or ExtractionLimits.from_environment()
        self._generation = _stop_generation
        self._child: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None

    def __enter__(self) -> IsolatedExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first document or after a kill)."""
        return self._child.pid if self._child else None

    def start(self) -> None:
        """Start the child now (it imports the readers meanwhile); else the first document does."""
        if self._child is None:
            self._start()

    def _stopped(self) -> bool:
        return self._generation != _stop_generation

    def _start(self) -> None:
        if self._stopped():
            raise Stopped("the run is stopping: no further document is extracted")
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                "from extractors.limits import serve; serve()",
                str(self.limits.memory_mb),
                extractors.reader_version(),  # the run's versions (the child pins them)
                extractors.parser_version(),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=os.getcwd(),
        )
        assert child.stdin is not None and child.stdout is not None
        self._send = Connection(os.dup(child.stdin.fileno()), readable=False)
        self._receive = Connection(os.dup(child.stdout.fileno()), writable=False)
        child.stdin.close()
        child.stdout.close()
        self._child = child
        with _guard:
            _LIVE.add(self)

    def extract(self, path: Path, **kwargs: Any) -> Any:
        """One document's outcome, extracted in the child (started when none runs)."""
        if self._child is None:
            self._start()
        assert self._send is not None and self._receive is not None
        started = time.monotonic()
        try:
            self._send.send_bytes(pickle.dumps((path, kwargs)))
            if self._receive.poll(self.limits.seconds):
                outcome = pickle.loads(self._receive.recv_bytes())
                # the versions of this process, which planned the run (the child runs the same files)
                outcome.document.update(extractors.versions(kwargs.get("pdf_engine")))
                return outcome
            problem = (
                f"stopped after {self.limits.seconds:g} s — longer than one document may take "
                f"({SECONDS_VARIABLE})"
            )
        except (EOFError, OSError):
            if self._stopped():
                self.close()
                raise Stopped("the run is stopping: the extraction was stopped") from None
            problem = self._death()
        self.close()
        return failed_outcome(
            path, kwargs, f"{problem}; the other documents go on", time.monotonic() - started
        )

    def _death(self) -> str:
        """Why the child ended without an answer."""
        assert self._child is not None
        code = self._child.wait()
        if code < 0 and -code == signal.SIGKILL:
            how = "was killed (out of memory?)"
        else:
            how = f"ended with code {code}" if code >= 0 else f"was ended by signal {-code}"
        return (
            f"the extraction process {how} while reading it — over the {self.limits.memory_mb:,} MiB "
            f"memory limit or a crash in a reader library ({MEMORY_VARIABLE})"
        )

    def kill(self) -> None:
        """SIGKILL the child now (from any thread; its owner sees it end)."""
        child = self._child
        if child is not None and child.poll() is None:
            child.kill()

    def close(self) -> None:
        """Stop the child (SIGKILL: it holds nothing worth saving) and wait for it."""
        with _guard:
            _LIVE.discard(self)
        for conn in (self._send, self._receive):
            if conn is not None:
                conn.close()
        self._send = self._receive = None
        if self._child is not None:
            if self._child.poll() is None:
                self._child.kill()
            self._child.wait()
            self._child = None


def extract_limited(path: Path, limits: ExtractionLimits | None = None, **kwargs: Any) -> Any:
    """One document extracted as a run extracts it (上限つきの抽出): in a child process under
    the per-document limits (``PLAN_ETL_DOCUMENT_SECONDS`` / ``PLAN_ETL_DOCUMENT_MEMORY_MB``
    unless ``limits`` is given), so a document past one is a failed outcome with one line, not
    minutes or gigabytes of this process. Takes :func:`extractors.extract.extract_document`'s
    arguments and returns its :class:`~extractors.extract.DocumentOutcome` (``plan-etl
    extract FILE``)."""
    with IsolatedExtractor(limits) as extractor:
        return extractor.extract(path, **kwargs)


def failed_outcome(path: Path, kwargs: dict[str, Any], problem: str, seconds: float) -> Any:
    """A failed outcome for a document the child could not finish, with its doc_id and format."""
    from extractors.extract import DocumentOutcome, _document_row, sha256_bytes
    from extractors.readers import detect_format

    rel = kwargs.get("rel_path") or path.name
    doc = _document_row(rel, kwargs.get("kind"), kwargs.get("plan_id"), kwargs.get("now"))
    try:
        data = path.read_bytes()
        doc["doc_id"], doc["format"] = sha256_bytes(data), detect_format(path, data)
    except OSError:
        pass
    doc.update(extractors.versions(kwargs.get("pdf_engine")))  # as a run compares them
    doc["error"] = f"{rel}: {problem}"
    return DocumentOutcome(doc, seconds=seconds)


def _set_memory_limit(megabytes: int) -> None:
    import resource

    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGKILL to this process when its parent dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _pin_versions(reader: str, parser: str) -> None:
    """The child uses the run's reader and parser versions (computed by the parent when it
    planned the run), even if a source file changed since: grid cache entries and documents
    rows then agree with the run's plan."""
    import extractors.cache

    extractors.reader_version = extractors.cache.reader_version = lambda: reader
    extractors.parser_version = lambda: parser


def serve() -> None:
    """The child: documents in on stdin, outcomes out on the original stdout (whatever a
    library prints goes to stderr). Runs until its stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent stops us
    _die_with_parent()
    receive = Connection(os.dup(0), writable=False)
    send = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    from extractors.extract import OUT_OF_MEMORY, extract_document

    _pin_versions(sys.argv[2], sys.argv[3])
    _set_memory_limit(int(sys.argv[1]))
    while True:
        try:
            path, kwargs = pickle.loads(receive.recv_bytes())
        except EOFError:
            return
        try:
            answer = pickle.dumps(extract_document(path, **kwargs))
        except MemoryError:  # outside the extraction's own guard (its result too large to send …)
            answer = pickle.dumps(failed_outcome(path, kwargs, OUT_OF_MEMORY, 0.0))
        except Exception as exc:  # SystemError: the interpreter itself could not allocate
            problem = (
                f"the extraction failed in the interpreter ({type(exc).__name__}) — most likely over the "
                "memory limit of one document"
            )
            answer = pickle.dumps(failed_outcome(path, kwargs, problem, 0.0))
        send.send_bytes(answer)
