"""The nightly refresh as a Prefect flow: discover → extract (a task per document) →
normalize (link across a plan's documents) → load → record the run.

Runs without a Prefect server (Prefect starts a temporary one in the process), or against
the server named by ``PREFECT_API_URL``. ``plan-etl run`` calls :func:`nightly_refresh`.
"""

from __future__ import annotations

from pipeline.settings import configure_environment

configure_environment()

import datetime as dt  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402  (big inputs: Prefect does not walk them)

from pipeline import derivation_version  # noqa: E402
from pipeline.derive import derive  # noqa: E402
from pipeline.extract import DocumentOutcome, extract_document  # noqa: E402
from pipeline.load import load_all  # noqa: E402
from pipeline.manifest import DocumentSpec, Manifest, load_manifest  # noqa: E402
from pipeline.progress import listening, notify  # noqa: E402
from pipeline.run import RunSummary, WorkPlan, affected_plans, assemble, new_run_id, plan_work  # noqa: E402
from pipeline.sources import materialize  # noqa: E402
from pipeline.state import Previous, carry_over, merge, validation_counts  # noqa: E402
from pipeline.validate import write_report  # noqa: E402

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


def extract_batch(specs: list[DocumentSpec], now: dt.datetime, label: str = "") -> list[DocumentOutcome]:
    """Extract a batch of documents. Bad documents come back as failed outcomes; only
    unexpected I/O errors raise, and Prefect retries the batch."""
    return [
        extract_document(
            s.path, rel_path=s.rel_path, plan_id=s.plan_id, kind=s.kind, password=s.password, limits=s.limits, now=now
        )
        for s in specs
    ]


# The task wraps a function of another name so that Dask can pickle it by reference.
extract = task(
    extract_batch,
    **LIGHT,
    name="extract-documents",
    retries=2,
    retry_delay_seconds=[1, 4],
    task_run_name="extract {label}",
)


def batches(specs: list[DocumentSpec], workers: int, target: int = 25) -> list[list[DocumentSpec]]:
    """Split the work so that each task carries several documents (orchestration costs per
    task) while every worker still gets a few tasks to balance the load."""
    if not specs:
        return []
    size = max(1, min(target, -(-len(specs) // (4 * max(workers, 1)))))
    return [specs[i : i + size] for i in range(0, len(specs), size)]


@task(name="validate", **LIGHT)
def validate_task(records: dict[str, list[dict[str, Any]]], run_id: str) -> list[dict[str, Any]]:
    """Validate the records of the plans recomputed tonight."""
    from pipeline.validate import validate

    return validate(records, run_id)


def _redact(url: str) -> str:
    """A warehouse URL without its password (it is stored in ``runs``)."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _record_noop(summary: RunSummary, curated: Path, warehouse: str, documents: list[dict[str, Any]],
                 previous: Previous) -> RunSummary:
    """Nothing changed: append the run to ``runs`` and leave every other table as it is."""
    from pipeline.load import replace_tables

    summary.set_documents(documents)
    summary.validation_counts = validation_counts(previous.table("validation_results"))
    summary.finished_at = dt.datetime.now(dt.UTC)
    with summary.stage("load"):
        replace_tables(curated, warehouse, {"runs": previous.rows("runs") + [_run_row(summary, warehouse, 0)]})
    notify("done", {"run_id": summary.run_id})
    return summary


def _run_row(summary: RunSummary, warehouse: str, plans_recomputed: int) -> dict[str, Any]:
    return {**summary.run_record(), "warehouse": _redact(warehouse), "derivation_version": derivation_version(),
            "plans_recomputed": plans_recomputed}


@task(name="load", **LIGHT)
def load(curated_dir: Path, warehouse: str, tables: dict[str, Any]) -> dict[str, int]:
    return load_all(curated_dir, warehouse, tables)


# Sequential runs extract one batch at a time: extraction is CPU-bound Python, so more threads
# would only contend for the GIL (and hold more documents in memory). --workers N uses Dask.
@flow(name="nightly-refresh", validate_parameters=False, log_prints=False,
      task_runner=ThreadPoolTaskRunner(max_workers=1))
def nightly_refresh(
    raw_dir: str | Path = "raw",
    curated_dir: str | Path = "curated",
    warehouse: str | None = None,
    prefer: str | None = None,
    workers: int = 1,
) -> RunSummary:
    """Refresh ``curated/`` and the warehouse from the documents under ``raw_dir``.

    ``prefer`` (``pdf`` | ``text``) picks which format of a document listed with alternates
    is extracted; by default the manifest's ``path``.
    """
    curated = Path(curated_dir)
    raw = materialize(raw_dir, curated / ".raw-mirror")  # an fsspec URL is mirrored locally
    warehouse = warehouse or f"duckdb:///{(curated / 'warehouse.duckdb').as_posix()}"
    started = dt.datetime.now(dt.UTC)
    summary = RunSummary(run_id=new_run_id(started), started_at=started)

    with summary.stage("discover"):
        manifest = discover(raw, prefer)
        summary.messages += manifest.warnings
        previous = Previous(curated)  # the last run's tables, each read once, as Arrow
        previous_docs = previous.rows("documents")
        work = plan(manifest, quote(previous_docs))
    summary.skipped_unchanged = len(work.reuse)
    summary.quarantined = len(work.quarantined)
    summary.seen = len(manifest.documents)
    summary.removed = [d["source_path"] for d in work.removed]
    notify("start", {"total": len(work.extract), "skipped": len(work.reuse)})
    with summary.stage("extract"):
        futures = [
            extract.submit(batch, started, label=f"{batch[0].rel_path} (+{len(batch) - 1})")
            for batch in batches(work.extract, workers)
        ]
        outcomes = []
        for future in futures:
            for outcome in future.result():
                outcomes.append(outcome)
                notify(
                    "document", {"path": outcome.document["source_path"], "status": outcome.document["status"]}
                )

    summary.extracted = sum(1 for o in outcomes if o.ok)
    summary.extract_seconds = sum(o.seconds for o in outcomes)
    summary.messages += [
        f"{spec.rel_path}: quarantined — it failed before with these very bytes "
        f"({failed.get('error')}); fix or replace the file to retry"
        for spec, failed, _ in work.quarantined
    ]
    with summary.stage("plan"):
        last_run = (previous.rows("runs") or [{}])[-1]
        rebuild = last_run.get("derivation_version") != derivation_version() or not previous.compatible()
        affected = (set(manifest.plans) if rebuild else
                    affected_plans(manifest, work, outcomes, previous_docs, previous.rows("plans")))
        carried = {d["doc_id"] for _, d in work.reuse} | {f["doc_id"] for _, f, _ in work.quarantined} | {
            g["doc_id"] for _, _, g in work.quarantined if g}
        unchanged = not (work.extract or work.removed or affected) and carried == {d["doc_id"] for d in previous_docs}
    if unchanged and last_run.get("warehouse") == _redact(warehouse):
        return _record_noop(summary, curated, warehouse, previous_docs, previous)
    with summary.stage("assemble"):
        records, documents, messages = assemble(manifest, work, outcomes, previous, affected)
    summary.messages += messages
    summary.set_documents(documents)
    records["documents"] = [d for d in documents if d["plan_id"] in affected]
    with summary.stage("derive"):
        summary.messages += derive(records, {pid: manifest.plans[pid] for pid in affected})
    notify("validate", {"plans": len(affected)})
    with summary.stage("validate"):
        records["validation_results"] = validate_task(quote(records), summary.run_id) if affected else []
    with summary.stage("compare"):
        plan_rows = [p.record() for _, p in sorted(manifest.plans.items())]
        tables, records["plan_comparison"] = carry_over(previous, plan_rows, affected, records["theme_assignments"])
    records["documents"], records["plans"] = documents, plan_rows
    summary.finished_at = dt.datetime.now(dt.UTC)
    records["runs"] = previous.rows("runs") + [_run_row(summary, warehouse, len(affected))]
    with summary.stage("merge"):
        tables = merge(tables, records)
        summary.validation_counts = validation_counts(tables["validation_results"])
    with summary.stage("load"):
        summary.row_counts = load(curated, warehouse, quote(tables))
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

    from pipeline.prefect_server import prefect_server

    runner = (
        DaskTaskRunner(address=dask_address)
        if dask_address
        else DaskTaskRunner(
            cluster_kwargs={
                "n_workers": workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    )
    with prefect_server():
        flow_ = nightly_refresh.with_options(task_runner=runner)
        with listening(progress):
            return flow_(raw_dir, curated_dir, warehouse, prefer=prefer, workers=workers)
