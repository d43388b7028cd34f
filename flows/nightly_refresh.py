"""The nightly refresh as a Prefect flow: the library's refresh (:mod:`pipeline.refresh.run`)
with its steps as Prefect tasks — discover, plan-work, one task per batch of whole plans
(extract, derive, validate; on Dask workers with ``--workers``), load.

Runs without a Prefect server (Prefect starts a temporary one in the process), or against
the server named by ``PREFECT_API_URL``. ``plan-etl run`` calls :func:`run_refresh`.
"""

from __future__ import annotations

from flows.settings import configure_environment

configure_environment()

import dataclasses  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402  (big inputs: Prefect does not walk them)

from flows.stop import quiet_shutdown, stop_resource_tracker, stoppable  # noqa: E402
from pipeline.discover.manifest import load_manifest  # noqa: E402
from pipeline.load import load_all  # noqa: E402
from pipeline.load.lock import release_deferred  # noqa: E402
from pipeline.load.warehouse import redact  # noqa: E402
from pipeline.refresh.batch import BatchResult, PlanBatch, process_batch  # noqa: E402
from pipeline.refresh.progress import listening  # noqa: E402
from pipeline.refresh.run import Steps, refresh  # noqa: E402
from pipeline.refresh.summary import RunSummary  # noqa: E402
from pipeline.state.work import plan_work  # noqa: E402

Progress = Callable[[str, dict[str, Any]], None]
ARTIFACT_KEY = "plan-etl-run-summary"  # the run summary's Markdown artifact, one per flow run
# Task inputs here are whole tables: hashing them for a cache key or persisting results would
# cost more than the work itself. Documents are skipped by content hash instead (plan_work).
LIGHT: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}

#: Warehouse URLs as given, by the form a flow run records: kept in this process only.
_GIVEN_URLS: dict[str, str] = {}


def flow_parameter(warehouse: str | None) -> str | None:
    """The warehouse URL as a flow parameter, which Prefect stores: its password replaced by
    ``***`` (:func:`pipeline.load.warehouse.redact`). The URL as given stays in this process,
    where :func:`given_warehouse` finds it again."""
    if not warehouse:
        return warehouse
    shown = redact(warehouse)
    if shown != warehouse:
        _GIVEN_URLS[shown] = warehouse
    return shown


def given_warehouse(parameter: str | None) -> str | None:
    """The URL the flow connects with: as given to :func:`flow_parameter` in this process, else
    the parameter itself (a masked password is then taken from PGPASSWORD or ~/.pgpass)."""
    return _GIVEN_URLS.get(parameter, parameter) if parameter else parameter


discover = task(load_manifest, name="discover", **LIGHT)
plan = task(plan_work, name="plan-work", **LIGHT)
load = task(load_all, name="load", **LIGHT)


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


def task_steps(remote: bool) -> Steps:
    """The refresh's steps as this flow's tasks (big inputs quoted: Prefect does not walk them)."""
    return Steps(
        discover=lambda raw, prefer, pdf_engine: discover(raw, prefer, pdf_engine),
        plan=lambda manifest, docs: plan(quote(manifest), quote(docs)),
        submit=lambda batch: process.submit(batch, label=batch.label),
        load=lambda curated, warehouse, tables, delta: load(curated, warehouse, quote(tables), delta),
        remote=remote,
    )


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
    remote: bool = False,
    pdf_engine: str | None = None,
) -> RunSummary:
    """Refresh ``curated/`` and the warehouse from the documents under ``raw_dir``
    (:func:`pipeline.refresh.run.refresh`); ``remote``: the task runner runs batches in
    other processes (Dask)."""
    from prefect.context import FlowRunContext
    from prefect.runtime import flow_run

    steps = dataclasses.replace(task_steps(remote), flow_run_id=flow_run.id)
    steps = stoppable(steps, FlowRunContext.get().task_runner)  # SIGTERM/Ctrl-C stops the workers too
    warehouse = given_warehouse(warehouse)  # the parameter holds no password (flow_parameter)
    summary = refresh(raw_dir, curated_dir, warehouse, prefer, workers, steps=steps, pdf_engine=pdf_engine)
    publish_summary(summary)
    return summary


def publish_summary(summary: RunSummary) -> None:
    """The run summary as the flow run's Markdown artifact (key ``plan-etl-run-summary``)."""
    from prefect.artifacts import create_markdown_artifact

    from pipeline.report.markdown import summary_markdown

    create_markdown_artifact(
        markdown=summary_markdown(summary), key=ARTIFACT_KEY, description=f"plan-etl run {summary.run_id}"
    )


def run_refresh(
    raw_dir: str | Path = "raw",
    curated_dir: str | Path = "curated",
    warehouse: str | None = None,
    progress: Progress | None = None,
    prefer: str | None = None,
    workers: int = 1,
    dask_address: str | None = None,
    pdf_engine: str | None = None,
) -> RunSummary:
    """Run the flow sequentially (threads), on a local Dask cluster of ``workers`` processes,
    or on the Dask cluster at ``dask_address``. Dask runs against a real Prefect server: the
    one in PREFECT_API_URL, or a temporary one on loopback."""
    if workers <= 1 and not dask_address:
        with quiet_shutdown(), listening(progress):
            return nightly_refresh(
                raw_dir, curated_dir, flow_parameter(warehouse), prefer=prefer, pdf_engine=pdf_engine
            )
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
                # its HTTP server (health, metrics) on a free loopback port: not 0.0.0.0:8787, which
                # another cluster may hold (distributed then warns on stderr)
                "scheduler_kwargs": {"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                "preload": ["flows.worker"],  # imports and GX suites ready before the first task
            }
        )
    )
    # The curated lock is released last: once the server and the resource tracker are stopped.
    with release_deferred(), quiet_shutdown():
        try:
            with prefect_server():
                flow_ = nightly_refresh.with_options(task_runner=runner)
                with listening(progress):
                    return flow_(
                        raw_dir,
                        curated_dir,
                        flow_parameter(warehouse),
                        prefer=prefer,
                        workers=workers,
                        remote=True,
                        pdf_engine=pdf_engine,
                    )
        finally:
            stop_resource_tracker()
