"""Scale-out: the flow on a local Dask cluster (through Prefect's DaskTaskRunner, against a
real Prefect server on loopback) gives the same tables as a sequential run."""

from __future__ import annotations

import shutil

from conftest import RAW
from conftest import curated_tables as tables

from flows.nightly_refresh import batches, run_refresh
from pipeline.manifest import load_manifest
from pipeline.prefect_server import prefect_server


def test_batches_keep_every_document_once():
    specs = load_manifest(RAW).documents * 40  # 120 specs
    parts = batches(specs, workers=2)
    assert sum(len(p) for p in parts) == 120 and all(1 <= len(p) <= 25 for p in parts)
    assert len(parts) >= 8  # enough tasks to balance two workers
    assert batches([], workers=2) == []


def test_dask_run_equals_sequential_run(tmp_path):
    from distributed import LocalCluster

    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    with prefect_server():
        sequential = run_refresh(raw, tmp_path / "seq", prefer="text")
        local = run_refresh(raw, tmp_path / "dask", prefer="text", workers=2)
        with LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            remote = run_refresh(
                raw, tmp_path / "remote", prefer="text", dask_address=cluster.scheduler_address
            )
    assert sequential.run_record()["documents_extracted"] == local.run_record()["documents_extracted"] == 3
    assert remote.run_record()["status"] == "ok"
    expected = tables(tmp_path / "seq")
    assert tables(tmp_path / "dask") == expected
    assert tables(tmp_path / "remote") == expected
