"""Incremental refresh: only the plans whose documents or manifest entry changed are
recomputed; every other plan's rows are carried over as Arrow data. The result must equal,
row for row, a refresh from scratch of the same raw/ folder."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest
from conftest import RAW, curated_tables, read_warehouse, warehouse_tables

from flows.nightly_refresh import nightly_refresh


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _last_run(curated):
    return pq.read_table(curated / "runs.parquet").to_pylist()[-1]


def _duck(curated):
    return f"duckdb:///{(curated / 'warehouse.duckdb').as_posix()}"


def _scratch(raw, tmp_path, name):
    curated = tmp_path / name
    nightly_refresh(raw, curated, prefer="text")
    return curated_tables(curated), warehouse_tables(_duck(curated))


def _same_as_scratch(raw, tmp_path, name, curated):
    """Curated Parquet equal row for row, warehouse tables equal as sets of rows."""
    parquet, warehouse = _scratch(raw, tmp_path, name)
    assert curated_tables(curated) == parquet
    assert warehouse_tables(_duck(curated)) == warehouse


def test_incremental_refresh_equals_a_refresh_from_scratch(tmp_path, prefect_server, monkeypatch):
    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    nightly_refresh(raw, curated, prefer="text")
    assert _last_run(curated)["plans_recomputed"] == 2

    # 1. A revised progress-sheet export: Kama is recomputed, Chiba is carried over.
    sheets = raw / "kama" / "progress_sheets.txt"
    sheets.write_text(sheets.read_text(encoding="utf-8").replace("4,755", "4,756"), encoding="utf-8")
    summary = nightly_refresh(raw, curated, prefer="text")
    assert (summary.extracted, summary.skipped_unchanged) == (1, 2)
    assert _last_run(curated)["plans_recomputed"] == 1 and summary.warehouse_load == "delta"
    incremental = curated_tables(curated)
    assert {
        i["baseline_value"]
        for i in incremental["indicators"]
        if i["name"] == "商工会・商工会議所の相談・指導件数"
    } == {4756.0}
    _same_as_scratch(raw, tmp_path, "scratch-1", curated)

    # 2. Only the manifest entry of Chiba changes (its title): no extraction, one plan recomputed.
    manifest = raw / "sources.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace(
            "第５次ちば中小企業元気戦略", "ちば中小企業元気戦略（第５次）"
        ),
        encoding="utf-8",
    )
    summary = nightly_refresh(raw, curated, prefer="text")
    assert summary.extracted == 0 and _last_run(curated)["plans_recomputed"] == 1
    assert summary.warehouse_load == "delta"
    assert {p["title"] for p in curated_tables(curated)["plans"]} >= {"ちば中小企業元気戦略（第５次）"}

    # 3. The prefectural plan is withdrawn: its rows and Kama's comparisons against it go.
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text[: text.index("  - plan_id: chiba-genki-5")], encoding="utf-8")
    shutil.rmtree(raw / "chiba")
    summary = nightly_refresh(raw, curated, prefer="text")
    assert summary.removed == ["chiba/strategy_framework.txt"]
    after = curated_tables(curated)
    assert after["plan_comparison"] == [] and {r["plan_id"] for r in after["indicators"]} == {"kama-sme-2"}
    assert summary.warehouse_load == "delta"
    _same_as_scratch(raw, tmp_path, "scratch-3", curated)

    # 4. New derivation code (linking, themes, suites …): every plan is recomputed, nothing extracted.
    monkeypatch.setattr("pipeline.refresh.run.derivation_version", lambda: "0.1.0+changed")
    summary = nightly_refresh(raw, curated, prefer="text")
    assert summary.extracted == 0 and _last_run(curated)["plans_recomputed"] == 1
    assert summary.warehouse_load == "replace"  # nothing carried over: every table replaced
    assert curated_tables(curated) == after


def test_a_second_writer_of_the_same_curated_folder_is_refused(tmp_path, prefect_server):
    """While one process holds curated/ (a run, or `plan-etl validate`), another run stops at
    once and names the holder; nothing of curated/ changes. The next run, holding the lock,
    removes the staging folder a killed run left behind."""
    import subprocess
    import sys

    from pipeline.load.lock import RunLocked, curated_lock

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    nightly_refresh(raw, curated, prefer="text")
    before = curated_tables(curated)
    with curated_lock(curated, "run 20261123T020000Z-abcdef"):
        (curated / ".staging-deadbeef").mkdir()  # the holder is killed while staging…
        (curated / ".staging-deadbeef" / "policies.parquet").write_bytes(b"half-written")
        with pytest.raises(
            RunLocked, match=r"being written by another plan-etl process \(pid \d+, run 20261123T020000Z"
        ):
            nightly_refresh(raw, curated, prefer="text")
        cli = subprocess.run(
            [sys.executable, "-m", "cli.main", "validate", "--curated", str(curated)],
            capture_output=True,
            text=True,
        )
        assert cli.returncode == 2 and "being written by another plan-etl process" in cli.stdout
        assert (curated / ".staging-deadbeef").exists()
    assert curated_tables(curated) == before
    summary = nightly_refresh(raw, curated, prefer="text")
    assert not list(curated.glob(".staging-*"))
    assert any(".staging-deadbeef" in m and "interrupted run" in m for m in summary.messages)
    assert (curated / ".plan-etl.lock").read_text() == ""  # released and emptied


def test_warehouse_holding_another_run_is_replaced_not_patched(tmp_path, prefect_server):
    """A delta applies only to the run it starts from: a warehouse that missed a run (restored
    from a backup, loaded by another machine) gets every table replaced instead."""
    from pipeline.load import Delta, load_all

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    nightly_refresh(raw, curated, prefer="text")
    other = tmp_path / "other"
    tables = {t: pq.read_table(curated / f"{t}.parquet") for t in curated_tables(curated) | {"runs": 0}}
    url = _duck(other)
    last = _last_run(curated)["run_id"]
    # An empty warehouse, then one holding the last run: the first load replaces, the second patches.
    assert load_all(other, url, tables, Delta(last, 1, frozenset({"chiba-genki-5"})))[1] == "replace"
    assert load_all(other, url, tables, Delta(last, 1, frozenset({"chiba-genki-5"})))[1] == "delta"
    assert load_all(other, url, tables, Delta("another-run", 1, frozenset()))[1] == "replace"
    assert len(read_warehouse(url, "indicators")) == tables["indicators"].num_rows
