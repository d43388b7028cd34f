"""A refresh's unit of work: a batch of whole plans, processed where a task runs.

A batch extracts the plans' new or revised documents, assembles their rows with those of
the documents carried over, derives the plan tables (:mod:`pipeline.derive.plans`), validates
them, and returns everything as Arrow tables. Every step depends on the batch's own plans
only, so the batches of one run are independent: on a Dask cluster, derivation and
validation run on the workers next to extraction, and only compact Arrow tables travel
back to the flow.

Workers read the documents (and, when a plan keeps rows of an earlier run, the previous
curated Parquet) from the paths the flow gives them: a shared filesystem, as for ``raw/``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors import cache as grid_cache
from extractors.extract import DocumentOutcome
from extractors.limits import ExtractionLimits, IsolatedExtractor
from pipeline.derive.plans import derive
from pipeline.discover.manifest import DocumentSpec, Plan
from pipeline.refresh.progress import notify
from pipeline.state.previous import PLAN_TABLES, Previous
from pipeline.state.work import WorkPlan, assemble
from schemas import TABLES

# A task validates its plans in one GX run per suite, whose fixed cost (~1.3 s warm) is paid
# per task: batches are large, yet several per worker so that the workers stay balanced.
MAX_BATCH_DOCUMENTS = 400  # documents extracted per task, at most
TASKS_PER_WORKER = 4
# Batches are balanced by estimated cost, in text exports: a text export takes ~0.05 s in
# a task (extraction 0.005–0.04 s, derivation and validation ~0.02 s), a PDF of the bundled
# kinds (7–21 pages) 0.3–1.3 s to extract (bench/extract.py).
PDF_COST = 25
MAX_BATCH_COST = 1500


@dataclass
class PlanBatch:
    """Some plans to recompute, with their documents to extract and to carry over."""

    plans: dict[str, Plan]
    work: WorkPlan  # these plans' documents only
    previous: (
        Previous  # the last run's tables (shared with the flow in one process; on Dask, read by the worker)
    )
    run_id: str
    now: dt.datetime
    # hard time and memory limit of one document's extraction (a child process per batch)
    limits: ExtractionLimits = field(default_factory=ExtractionLimits.from_environment)

    @property
    def label(self) -> str:
        first = min(self.plans) if self.plans else "-"
        return f"{first} (+{len(self.plans) - 1} plans, {len(self.work.extract)} documents)"


@dataclass
class BatchResult:
    """What a batch produced: ``documents`` rows by key (a path, or ``path#previous`` for the
    last good version kept next to a failed revision), the batch's rows of every plan table
    (Arrow, validation results included), and time spent per step (CPU seconds)."""

    documents: dict[str, dict[str, Any]]
    tables: dict[str, Any]
    messages: list[str] = field(default_factory=list)
    extracted: list[dict[str, Any]] = field(default_factory=list)  # documents rows, in extraction order
    seconds: dict[str, float] = field(default_factory=dict)
    span: tuple[float, float, int] = (0.0, 0.0, 0)  # wall-clock start, end (epoch seconds), process id


def process_batch(batch: PlanBatch) -> BatchResult:
    """Extract → assemble → derive → validate the plans of ``batch`` (bad documents become
    failed outcomes; only unexpected I/O errors raise, and the task is retried)."""
    started = time.time()
    cpu: dict[str, float] = {}
    clock = time.thread_time
    with IsolatedExtractor(batch.limits) as extractor:
        if batch.work.extract:
            extractor.start()  # the child imports the readers while this process imports GX
        from pipeline.validate.gx import validate_all

        t = clock()
        outcomes = extract_isolated(batch, cache_folder(batch.previous), extractor)
    # (the child's CPU time is in the outcomes)
    cpu["extract"], t = clock() - t + sum(o.seconds for o in outcomes), clock()
    records, docs = assemble(batch.work, outcomes, batch.previous, set(batch.plans))
    records["documents"] = [docs[k] for k in sorted(docs) if docs[k]["plan_id"] in batch.plans]
    messages = derive(records, batch.plans)
    cpu["derive"], t = clock() - t, clock()
    tables = {
        name: TABLES[name].to_arrow(records.get(name, []))
        for name in PLAN_TABLES
        if name not in ("validation_results", "validation_findings")
    }
    cpu["to arrow"], t = clock() - t, clock()
    results, findings = validate_all(records, batch.run_id, arrow=tables) if batch.plans else ([], [])
    tables["validation_results"] = TABLES["validation_results"].to_arrow(results)
    tables["validation_findings"] = TABLES["validation_findings"].to_arrow(findings)
    cpu["validate"] = clock() - t
    span = (started, time.time(), os.getpid())
    return BatchResult(docs, tables, messages, [o.document for o in outcomes], cpu, span)


def document_arguments(source: Any, batch: PlanBatch, cache: Path | None) -> dict[str, Any]:
    """What :func:`extractors.extract.extract_document` takes besides the path, for one of the
    batch's documents to extract."""
    return {
        "rel_path": source.rel_path,
        "plan_id": source.plan_id,
        "kind": source.kind,
        "password": source.password,
        "limits": source.limits,
        "pdf_engine": source.pdf_engine,
        "now": batch.now,
        "grid_cache": cache,
    }


def extract_isolated(
    batch: PlanBatch, cache: Path | None, extractor: IsolatedExtractor
) -> list[DocumentOutcome]:
    """The batch's documents extracted one by one by ``extractor``, a child process under the
    batch's hard limits (:mod:`extractors.limits`: a document past them fails alone; the
    caller stops the child however the batch ends: an error, Ctrl-C, SIGTERM)."""
    outcomes: list[DocumentOutcome] = []
    for s in batch.work.extract:
        outcomes.append(extractor.extract(s.path, **document_arguments(s, batch, cache)))
        # Heard in the flow's process (a sequential run: the progress bar moves per document);
        # a Dask worker has no listener, and the flow reports its documents when the batch is back.
        notify("document", {"path": s.rel_path, "status": outcomes[-1].document["status"]})
    return outcomes


def cache_folder(previous: Previous) -> Path | None:
    """The grid cache of a run: ``<curated>/.grid-cache`` (none without a curated folder)."""
    return None if previous.dir is None else Path(previous.dir) / grid_cache.FOLDER


def _cost(spec: DocumentSpec) -> int:
    return PDF_COST if spec.path.suffix.lower() == ".pdf" else 1


def plan_batches(
    plans: dict[str, Plan],
    work: WorkPlan,
    affected: Iterable[str],
    workers: int,
    *,
    previous: Previous,
    run_id: str,
    now: dt.datetime,
) -> tuple[list[PlanBatch], WorkPlan]:
    """Split the affected plans into batches of whole plans (in plan order, a few hundred
    documents at most, several per worker, PDFs counted by their cost so that batches take
    about as long); return them and the work of the other plans (documents carried over).
    Called by the run holding the curated lock: it prunes the grid cache first."""
    grid_cache.prune(cache_folder(previous))
    todo = sorted(set(affected))
    by_plan: dict[str, WorkPlan] = {pid: WorkPlan() for pid in todo}
    rest = WorkPlan(removed=work.removed)
    for spec in work.extract:
        by_plan[spec.plan_id].extract.append(spec)  # an extracted document's plan is affected
    for item in work.reuse:
        (by_plan.get(item[0].plan_id) or rest).reuse.append(item)
    for item in work.quarantined:
        (by_plan.get(item[0].plan_id) or rest).quarantined.append(item)
    weight = {pid: max(1, sum(_cost(s) for s in w.extract)) for pid, w in by_plan.items()}
    total = sum(weight.values())
    # As many batches of equal cost as a multiple of the workers, so that none idles at the
    # end: a batch closes when the running cost passes its share of the total.
    workers = max(workers, 1)
    documents = sum(len(w.extract) for w in by_plan.values())
    count = max(TASKS_PER_WORKER * workers, -(-total // MAX_BATCH_COST), -(-documents // MAX_BATCH_DOCUMENTS))
    count = -(-count // workers) * workers
    groups: list[list[str]] = [[]]
    running = documents = 0
    for pid in todo:
        n = len(by_plan[pid].extract)
        if groups[-1] and documents + n > MAX_BATCH_DOCUMENTS:
            groups.append([])
            documents = 0
        groups[-1].append(pid)
        running, documents = running + weight[pid], documents + n
        if running * count >= total * len(groups) and pid != todo[-1]:
            groups.append([])
            documents = 0
    groups = [g for g in groups if g]
    batches = [
        PlanBatch(
            plans={pid: plans[pid] for pid in group},
            work=WorkPlan(
                extract=[s for pid in group for s in by_plan[pid].extract],
                reuse=[r for pid in group for r in by_plan[pid].reuse],
                quarantined=[q for pid in group for q in by_plan[pid].quarantined],
            ),
            previous=previous,
            run_id=run_id,
            now=now,
        )
        for group in groups
    ]
    return batches, rest
