"""A run's summary: what it saw, did and loaded, with time per stage; its ``runs`` row."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from extractors.limits import LIMIT_ATTEMPTS


class Rows(Sequence[dict[str, Any]]):
    """A run's rows kept out of Prefect's sight: Prefect walks every list, dict and dataclass
    of a flow's return value looking for futures (~0.5 s for the 1,788 ``documents`` rows of
    a nightly run); a plain sequence object it leaves alone."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterable[dict[str, Any]] = ()) -> None:
        self._rows = list(rows)

    def __getitem__(self, index):  # type: ignore[override]
        return self._rows[index]

    def __len__(self) -> int:
        return len(self._rows)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return f"Rows({len(self._rows)} rows)"


@dataclass
class RunSummary:
    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    documents: Sequence[dict[str, Any]] = field(default_factory=Rows)
    row_counts: dict[str, int] = field(default_factory=dict)
    skipped_unchanged: int = 0
    quarantined: int = 0
    seen: int = 0
    extracted: int = 0
    grids_from_cache: int = 0  # of the documents extracted, those whose grid came from the grid cache
    removed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    status: str = "ok"
    validation_counts: dict[str, int] = field(default_factory=dict)  # expectations: total, error, warning
    stage_seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage of the flow
    task_seconds: dict[str, float] = field(default_factory=dict)  # CPU per step inside the tasks, summed
    task_spans: list[tuple[float, float, int]] = field(default_factory=list)  # each task: start, end, process
    warehouse_load: str = ""  # "delta" (only recomputed plans' rows changed) or "replace"
    report_path: str | None = None  # the validation report this run wrote
    flow_run_id: str | None = None  # the Prefect flow run this run was, if any (runs.prefect_flow_run_id)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage of the run (added to ``stage_seconds``; printed by the CLI and the bench)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + time.perf_counter() - t

    def set_documents(self, documents: list[dict[str, Any]]) -> None:
        """The run's ``documents`` rows; the run is ``partial`` when one of them failed."""
        self.documents = Rows(documents)
        self.status = "partial" if any(d["status"] == "failed" for d in documents) else "ok"

    @property
    def extract_seconds(self) -> float:
        """CPU time inside the extractors, summed over the tasks."""
        return self.task_seconds.get("extract", 0.0)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["status"] == "failed"]

    def note_work(self, manifest: Any, work: Any) -> None:
        """What discovery found and the work plan decided (a Manifest and a WorkPlan)."""
        self.skipped_unchanged = len(work.reuse)
        self.quarantined = len(work.quarantined)
        self.seen = len(manifest.documents)
        # A document now read from its other format (--prefer) was not removed from raw/.
        alternates = {alt: spec.rel_path for spec in manifest.documents for alt in spec.alternates}
        self.removed = [d["source_path"] for d in work.removed if d["source_path"] not in alternates]
        self.messages += [
            f"{d['source_path']}: now read from its alternate {alternates[d['source_path']]} (--prefer)"
            for d in work.removed
            if d["source_path"] in alternates
        ]
        self.messages += [
            f"{spec.rel_path}: quarantined — it failed before with these very bytes "
            f"({failed.get('error')}); fix or replace the file to retry"
            if failed["status"] == "failed"
            else f"{spec.rel_path}: still cut short, these very bytes ({failed.get('error')}); "
            "replace the file to read it again"
            for spec, failed, _ in work.quarantined
        ]
        self.messages += [
            f"retrying {spec.rel_path}, stopped by the {limit} limit last run "
            f"(attempt {attempts + 1} of {LIMIT_ATTEMPTS})"
            for spec, limit, attempts in work.retried
        ]

    def add_batches(self, results: Iterable[Any]) -> None:
        """Messages, documents extracted, CPU per step and spans of the batches (BatchResult)."""
        for result in results:
            self.messages += result.messages
            self.task_spans.append(result.span)
            for step, seconds in result.seconds.items():
                self.task_seconds[step] = self.task_seconds.get(step, 0.0) + seconds
            done = [d for d in result.extracted if d["status"] != "failed"]
            self.extracted += len(done)
            self.grids_from_cache += sum(1 for d in done if d.get("grid_source") == "cache")

    def run_record(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "documents_seen": self.seen,
            "documents_extracted": self.extracted,
            "documents_skipped_unchanged": self.skipped_unchanged,
            "documents_failed": len(self.failed),
            "documents_removed": len(self.removed),
            "documents_quarantined": self.quarantined,
            "status": self.status,
        }


def new_run_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
