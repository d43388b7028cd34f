"""Scale-out: the flow on a local Dask cluster (through Prefect's DaskTaskRunner, against a
real Prefect server on loopback) gives the same tables as a sequential run."""

from __future__ import annotations

import shutil

from conftest import RAW
from conftest import curated_tables as tables

from flows.nightly_refresh import run_refresh
from flows.prefect_server import prefect_server


def test_dask_run_equals_sequential_run(tmp_path):
    from distributed import LocalCluster

    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    heard: dict[str, list[tuple[str, dict]]] = {"seq": [], "dask": []}
    with prefect_server():
        sequential = run_refresh(
            raw,
            tmp_path / "seq",
            prefer="text",
            progress=lambda event, data: heard["seq"].append((event, data)),
        )
        local = run_refresh(
            raw,
            tmp_path / "dask",
            prefer="text",
            workers=2,
            progress=lambda event, data: heard["dask"].append((event, data)),
        )
        with LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            remote = run_refresh(
                raw, tmp_path / "remote", prefer="text", dask_address=cluster.scheduler_address
            )
        for summary in (local, remote):  # the Dask path publishes the run summary too
            _assert_summary_artifact(summary)
    assert sequential.run_record()["documents_extracted"] == local.run_record()["documents_extracted"] == 3
    assert remote.run_record()["status"] == "ok"
    expected = tables(tmp_path / "seq")
    assert tables(tmp_path / "dask") == expected
    assert tables(tmp_path / "remote") == expected
    # The progress bar hears each document once: per document in a sequential run (from the
    # task, as it is extracted), per batch from Dask workers.
    for run, events in heard.items():
        assert events[0] == ("start", {"total": 3, "skipped": 0}), run
        documents = sorted(d["path"] for e, d in events if e == "document")
        assert documents == sorted(d["source_path"] for d in sequential.documents), run
        assert {d["status"] for e, d in events if e == "document"} == {"ok"}, run


def _assert_summary_artifact(summary) -> None:
    """The flow run of ``summary`` has one Markdown artifact, the run summary: its run id and
    a row per document with its status."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.nightly_refresh import ARTIFACT_KEY
    from pipeline.report.markdown import md

    assert summary.flow_run_id is not None
    runs = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(summary.flow_run_id)]))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=runs)
    assert [(a.key, a.type) for a in artifacts] == [(ARTIFACT_KEY, "markdown")]
    text = artifacts[0].data
    assert summary.run_id in text
    for d in summary.documents:
        assert f"| {md(d['source_path'])} | {md(d['kind'])} | {d['plan_id']} | ok |" in text, d


def test_worker_preload_builds_every_suite_before_the_first_task():
    """flows.worker (Dask's --preload) leaves GX imported and every suite built, so a
    worker's first batch pays neither."""
    from flows.worker import dask_setup
    from pipeline.validate.gx import SKIP_TABLES, _gx
    from schemas import TABLES

    dask_setup(worker=None)
    _, ctx = _gx()
    built = {suite.name for suite in ctx.suites.all()}
    assert {"rules"} | {f"table_{t}" for t in TABLES if t not in SKIP_TABLES} <= built
    assert len(ctx.suites.get("rules").expectations) >= 30
