"""The nightly refresh as a Prefect flow: discover → plan the work (skip unchanged documents,
find the plans to recompute) → process plans (a task per batch of whole plans: extract,
derive, validate; :mod:`pipeline.refresh.batch`) → compare → merge with the rows carried over →
load (by delta when the warehouse holds the last run) → report.

Runs without a Prefect server (Prefect starts a temporary one in the process), or against
the server named by ``PREFECT_API_URL``. ``plan-etl run`` calls :func:`nightly_refresh`.
"""

from __future__ import annotations

from flows.settings import configure_environment

configure_environment()

import datetime as dt  # noqa: E402
import os  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402  (big inputs: Prefect does not walk them)

from pipeline.discover.manifest import Manifest, load_manifest  # noqa: E402
from pipeline.discover.sources import materialize  # noqa: E402
from pipeline.load.lock import curated_lock  # noqa: E402
from pipeline.load.warehouse import Delta, load_all  # noqa: E402
from pipeline.refresh.batch import BatchResult, PlanBatch, plan_batches, process_batch  # noqa: E402
from pipeline.refresh.progress import listening, notify  # noqa: E402
from pipeline.state.previous import PAIR_TABLE, Comparisons, Previous, carry_plans, merge, validation_counts  # noqa: E402
from pipeline.state.versions import derivation_version  # noqa: E402
from pipeline.state.work import RunSummary, WorkPlan, affected_plans, assemble, new_run_id, plan_work  # noqa: E402
from pipeline.validate.gx import write_report  # noqa: E402
from schemas import TABLES  # noqa: E402

Progress = Callable[[str, dict[str, Any]], None]
# Task inputs here are whole tables: hashing them for a cache key or persisting results would
# cost more than the work itself. Documents are skipped by content hash instead (plan_work).
LIGHT: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="discover", **LIGHT)
def discover(raw_dir: Path, prefer: str | None = None) -> Manifest:
    return load_manifest(raw_dir, prefer=prefer)


@task(name="plan-work", **LIGHT)
def plan(manifest: Manifest, previous_documents: list[dict[str, Any]]) -> WorkPlan:
    return plan_work(manifest, previous_documents)


def refresh_plans(batch: PlanBatch, label: str = "") -> BatchResult:
    """Extract, derive and validate a batch of whole plans (see :mod:`pipeline.refresh.batch`)."""
    return process_batch(batch)


# The task wraps a function of another name so that Dask can pickle it by reference.
# Bad documents come back as failed documents; only unexpected I/O errors raise, and
# Prefect retries the batch.
process = task(
    refresh_plans,
    **LIGHT,
    name="process-plans",
    retries=2,
    retry_delay_seconds=[1, 4],
    task_run_name="plans {label}",
)


def _concat(name: str, tables: list[Any]):
    import pyarrow as pa

    return pa.concat_tables(tables) if tables else TABLES[name].arrow_schema().empty_table()


def _redact(url: str) -> str:
    """A warehouse URL without its password (it is stored in ``runs``)."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _record_noop(
    summary: RunSummary, curated: Path, warehouse: str, documents: list[dict[str, Any]], previous: Previous
) -> RunSummary:
    """Nothing changed: append the run to ``runs`` and leave every other table as it is."""
    from pipeline.load.warehouse import replace_tables

    summary.set_documents(documents)
    summary.validation_counts = validation_counts(previous.table("validation_results"))
    summary.finished_at = dt.datetime.now(dt.UTC)
    with summary.stage("load"):
        replace_tables(
            curated, warehouse, {"runs": previous.rows("runs") + [_run_row(summary, warehouse, 0)]}
        )
    notify("done", {"run_id": summary.run_id})
    return summary


def _run_row(summary: RunSummary, warehouse: str, plans_recomputed: int) -> dict[str, Any]:
    return {
        **summary.run_record(),
        "warehouse": _redact(warehouse),
        "derivation_version": derivation_version(),
        "plans_recomputed": plans_recomputed,
    }


@task(name="load", **LIGHT)
def load(
    curated_dir: Path, warehouse: str, tables: dict[str, Any], delta: Delta | None
) -> tuple[dict[str, int], str]:
    return load_all(curated_dir, warehouse, tables, delta)


# Sequential runs extract one batch at a time: extraction is CPU-bound Python, so more threads
# would only contend for the GIL (and hold more documents in memory). --workers N uses Dask.
@flow(
    name="nightly-refresh",
    validate_parameters=False,
    log_prints=False,
    task_runner=ThreadPoolTaskRunner(max_workers=1),
)
def nightly_refresh(
    raw_dir: str | Path = "raw",
    curated_dir: str | Path = "curated",
    warehouse: str | None = None,
    prefer: str | None = None,
    workers: int = 1,
) -> RunSummary:
    """Refresh ``curated/`` and the warehouse from the documents under ``raw_dir``.

    ``prefer`` (``pdf`` | ``text``) picks which format of a document listed with alternates
    is extracted; by default the manifest's ``path``. One run at a time per curated folder
    (:mod:`pipeline.load.lock`): a second one fails at once with :class:`RunLocked`.
    """
    curated = Path(curated_dir)
    started = dt.datetime.now(dt.UTC)
    summary = RunSummary(run_id=new_run_id(started), started_at=started)
    with curated_lock(curated, f"run {summary.run_id}") as stale:
        summary.messages += [f"removed {name}, left in {curated} by an interrupted run" for name in stale]
        return _refresh(raw_dir, curated, warehouse, prefer, workers, summary)


def _refresh(
    raw_dir: str | Path,
    curated: Path,
    warehouse: str | None,
    prefer: str | None,
    workers: int,
    summary: RunSummary,
) -> RunSummary:
    """The flow's body, run while holding the curated folder's lock."""
    raw = materialize(raw_dir, curated / ".raw-mirror")  # an fsspec URL is mirrored locally
    warehouse = warehouse or f"duckdb:///{(curated / 'warehouse.duckdb').as_posix()}"
    started = summary.started_at

    with summary.stage("discover"):
        manifest = discover(raw, prefer)
        summary.messages += manifest.warnings
        previous = Previous(curated.resolve())  # the last run's tables, each read once, as Arrow
        previous_docs = previous.rows("documents")
        work = plan(quote(manifest), quote(previous_docs))
    summary.skipped_unchanged = len(work.reuse)
    summary.quarantined = len(work.quarantined)
    summary.seen = len(manifest.documents)
    summary.removed = [d["source_path"] for d in work.removed]
    with summary.stage("plan"):
        last_run = (previous.rows("runs") or [{}])[-1]
        rebuild = last_run.get("derivation_version") != derivation_version() or not previous.compatible()
        affected = (
            set(manifest.plans)
            if rebuild
            else affected_plans(manifest, work, previous_docs, previous.rows("plans"))
        )
        carried = (
            {d["doc_id"] for _, d in work.reuse}
            | {f["doc_id"] for _, f, _ in work.quarantined}
            | {g["doc_id"] for _, _, g in work.quarantined if g}
        )
        unchanged = not (work.extract or work.removed or affected) and carried == {
            d["doc_id"] for d in previous_docs
        }
    summary.messages += [
        f"{spec.rel_path}: quarantined — it failed before with these very bytes "
        f"({failed.get('error')}); fix or replace the file to retry"
        for spec, failed, _ in work.quarantined
    ]
    if unchanged and last_run.get("warehouse") == _redact(warehouse):
        return _record_noop(summary, curated, warehouse, previous_docs, previous)
    todo, rest = plan_batches(
        manifest.plans, work, affected, workers, previous=previous, run_id=summary.run_id, now=started
    )
    notify("start", {"total": len(work.extract), "skipped": len(work.reuse)})
    with summary.stage("process plans"):  # extract → assemble → derive → validate, per batch of plans
        futures = [process.submit(batch, label=batch.label) for batch in todo]
        # While the tasks run: the rows of the plans not recomputed, read from the last run
        # (Parquet decoding runs beside a task's Python work, even in this process).
        tables = carry_plans(previous, set(manifest.plans) - affected)
        plan_rows = [p.record() for _, p in sorted(manifest.plans.items())]
        comparisons = Comparisons(previous, plan_rows, affected)
        results: list[BatchResult] = []
        for batch, future in zip(todo, futures, strict=True):
            results.append(future.result())
            if results[-1].span[2] != os.getpid():  # ran elsewhere: its documents were not heard yet
                for document in results[-1].extracted:
                    notify("document", {"path": document["source_path"], "status": document["status"]})
            # The pairs this batch completes are compared while the next batches run.
            comparisons.add(set(batch.plans), results[-1].tables["theme_assignments"])
    for result in results:
        summary.messages += result.messages
        summary.task_spans.append(result.span)
        for step, seconds in result.seconds.items():
            summary.task_seconds[step] = summary.task_seconds.get(step, 0.0) + seconds
    summary.extracted = sum(1 for r in results for d in r.extracted if d["status"] != "failed")
    with summary.stage("assemble"):
        _, docs, _ = assemble(rest, [], previous, set())  # the documents of plans not recomputed
        for result in results:
            docs.update(result.documents)
        documents = [docs[key] for key in sorted(docs)]
        records: dict[str, Any] = (
            {name: _concat(name, [r.tables[name] for r in results]) for name in results[0].tables}
            if results
            else {}
        )
    summary.set_documents(documents)
    with summary.stage("compare"):  # the pairs of the last batch
        tables[PAIR_TABLE], records[PAIR_TABLE] = comparisons.finish()
    records["documents"], records["plans"] = documents, plan_rows
    summary.finished_at = dt.datetime.now(dt.UTC)
    records["runs"] = previous.rows("runs") + [_run_row(summary, warehouse, len(affected))]
    # The warehouse changes by plan when it still holds the last run (the loader checks).
    delta = (
        None
        if rebuild or not last_run
        else Delta(
            base_run=last_run["run_id"],
            base_runs=len(records["runs"]) - 1,
            keep=frozenset(manifest.plans) - affected,
        )
    )
    with summary.stage("merge"):
        tables = merge(tables, records)
        summary.validation_counts = validation_counts(tables["validation_results"])
    with summary.stage("load"):
        summary.row_counts, summary.warehouse_load = load(curated, warehouse, quote(tables), delta)
    with summary.stage("report"):
        write_report(tables["validation_results"], curated / "validation" / "index.html")
    notify("done", {"run_id": summary.run_id})
    return summary


def run_refresh(
    raw_dir: str | Path = "raw",
    curated_dir: str | Path = "curated",
    warehouse: str | None = None,
    progress: Progress | None = None,
    prefer: str | None = None,
    workers: int = 1,
    dask_address: str | None = None,
) -> RunSummary:
    """Run the flow sequentially (threads), on a local Dask cluster of ``workers`` processes,
    or on the Dask cluster at ``dask_address``. Dask runs against a real Prefect server: the
    one in PREFECT_API_URL, or a temporary one on loopback."""
    if workers <= 1 and not dask_address:
        with listening(progress):
            return nightly_refresh(raw_dir, curated_dir, warehouse, prefer=prefer)
    from prefect_dask import DaskTaskRunner

    from flows.prefect_server import prefect_server

    runner = (
        DaskTaskRunner(address=dask_address)
        if dask_address
        else DaskTaskRunner(
            cluster_kwargs={
                "n_workers": workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
                "preload": ["flows.worker"],  # imports and GX suites ready before the first task
            }
        )
    )
    with prefect_server():
        flow_ = nightly_refresh.with_options(task_runner=runner)
        with listening(progress):
            return flow_(raw_dir, curated_dir, warehouse, prefer=prefer, workers=workers)
