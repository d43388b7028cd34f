"""curated/ is published whole: a process that dies after the warehouse committed — at any step
of the publish — leaves a generation the next run completes; one that dies before the commit
leaves one the next run removes. Either way the next run ends with the warehouse and curated/
equal to a clean run's (every table), and says what it did."""

from __future__ import annotations

import functools
import os
import shutil

import pyarrow.parquet as pq
import pytest
from conftest import RAW, read_warehouse
from refresh_site import WAREHOUSE, assert_equal_to_clean, clean_site, site_warehouse
from refresh_site import run_site as _run

from pipeline.load import load_all
from pipeline.load.curated import CURRENT, GENERATIONS
from pipeline.refresh.run import Steps


class Killed(BaseException):
    """Stands for the process dying: nothing in plan-etl catches it, nothing cleans up."""


def kill_at(wanted: str):
    def step(name: str) -> None:
        if name == wanted:
            raise Killed(name)

    return step


def _killed_run(base, **faults) -> None:
    with pytest.raises(Killed):
        _run(base, Steps(load=functools.partial(load_all, **faults)))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return clean_site(tmp_path_factory.mktemp("clean"))


def _equal_to_clean(base, clean):
    assert_equal_to_clean(base, clean)
    url = site_warehouse(base)
    runs = pq.read_table(base / "curated" / "runs.parquet").to_pylist()
    assert sorted(r["run_id"] for r in runs) == sorted(r["run_id"] for r in read_warehouse(url, "runs"))


def test_curated_paths_are_links_through_one_switch(clean):
    curated = clean / "curated"
    current = curated / CURRENT
    assert current.is_symlink() and os.readlink(current).startswith(GENERATIONS)
    assert os.readlink(curated / "indicators.parquet") == f"{CURRENT}/indicators.parquet"
    assert (
        pq.read_metadata(curated / "indicators.parquet").num_rows == 62
    )  # the contract path reads as before


# The first run: the switch, then each table's top-level link (each a file move).
@pytest.mark.parametrize(
    "step",
    ["switch", "link declared_counts.parquet", "link validation_results.parquet"],
)
def test_first_run_killed_after_the_commit_is_completed(tmp_path, clean, step):
    shutil.copytree(RAW, tmp_path / "raw")
    _killed_run(tmp_path, on_publish=kill_at(step))
    url = f"duckdb:///{tmp_path / 'curated' / 'warehouse.duckdb'}"
    assert len(read_warehouse(url, "indicators")) == 62  # the warehouse had committed
    summary = _run(tmp_path)
    done = (
        "completed the publish of run"
        if step == "switch"
        else "table paths linked again to the tables of run"
    )
    assert any(done in m for m in summary.messages), summary.messages
    assert summary.extracted == 0
    _equal_to_clean(tmp_path, clean)


# A later run (every plan recomputed): the switch, and the removal of the generation before.
@pytest.mark.parametrize("step", ["switch", "remove"])
def test_later_run_killed_after_the_commit_is_completed(tmp_path, clean, step, monkeypatch):
    shutil.copytree(clean, tmp_path, dirs_exist_ok=True, symlinks=True)
    _run(tmp_path)  # a second generation: the next publish removes the first
    first = sorted((tmp_path / "curated" / GENERATIONS).iterdir())[0].name
    monkeypatch.setattr("pipeline.refresh.run.derivation_version", lambda: "0.1.0+changed")
    wanted = "switch" if step == "switch" else f"remove {first}"
    _killed_run(tmp_path, on_publish=kill_at(wanted))
    summary = _run(tmp_path)
    completed = [m for m in summary.messages if m.startswith("completed the publish of run")]
    assert len(completed) == (1 if step == "switch" else 0) and summary.extracted == 0  # (switched before)
    assert (
        len(list((tmp_path / "curated" / GENERATIONS).iterdir())) == 2
    )  # the current one and the one before
    _equal_to_clean(tmp_path, clean)


def test_a_run_killed_before_the_commit_leaves_its_generation_removed(tmp_path, clean, monkeypatch):
    shutil.copytree(clean, tmp_path, dirs_exist_ok=True, symlinks=True)
    monkeypatch.setattr("pipeline.refresh.run.derivation_version", lambda: "0.1.0+changed")

    def die_mid_load(name, done):
        if done == 3:
            raise Killed(name)

    _killed_run(tmp_path, after_table=die_mid_load)
    summary = _run(tmp_path)
    assert any("load never committed" in m for m in summary.messages), summary.messages
    assert summary.warehouse_load == "replace"  # the recomputation is done again
    _equal_to_clean(tmp_path, clean)


KILLER = """
import functools, os, signal, sys
from flows.settings import configure_environment
configure_environment()
from pipeline.load import load_all
from pipeline.refresh.run import Steps, refresh

def die(step):  # a real SIGKILL: no finally, no cleanup
    if step == "switch":
        os.kill(os.getpid(), signal.SIGKILL)

os.chdir(sys.argv[1])
refresh("raw", "curated", sys.argv[2], prefer="text", steps=Steps(load=functools.partial(load_all, on_publish=die)))
"""


def test_a_real_sigkill_after_the_commit_is_completed(tmp_path, clean):
    import signal
    import subprocess
    import sys

    from conftest import ROOT

    shutil.copytree(RAW, tmp_path / "raw")
    proc = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path), WAREHOUSE], cwd=ROOT, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    summary = _run(tmp_path)
    assert any(m.startswith("completed the publish of run") for m in summary.messages), summary.messages
    _equal_to_clean(tmp_path, clean)


def test_a_curated_folder_of_an_older_version_is_taken_over(tmp_path, clean):
    """Plain files, no generations, runs without checksums: the next run links them in as its
    first generation (nothing re-read) and equals a clean run."""
    shutil.copytree(clean, tmp_path, dirs_exist_ok=True)  # links followed: plain files
    curated = tmp_path / "curated"
    shutil.rmtree(curated / CURRENT)
    shutil.rmtree(curated / GENERATIONS)
    runs = pq.read_table(curated / "runs.parquet")
    pq.write_table(runs.drop_columns(["table_checksums"]), curated / "runs.parquet")
    summary = _run(tmp_path)
    assert summary.extracted == 0 and not summary.messages
    assert os.readlink(curated / "indicators.parquet") == f"{CURRENT}/indicators.parquet"
    assert (curated / CURRENT).is_symlink()
    _equal_to_clean(tmp_path, clean)


@pytest.fixture
def no_symlinks(monkeypatch):
    """A filesystem without symlinks (FAT, some network shares, Windows without the
    privilege): ``os.symlink`` fails as it does there."""

    def refuse(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", refuse)


def test_without_symlinks_a_pointer_file_switches_and_the_tables_are_the_same(tmp_path, clean, no_symlinks):
    shutil.copytree(RAW, tmp_path / "raw")
    _run(tmp_path)
    curated = tmp_path / "curated"
    pointer = (curated / CURRENT).read_text(encoding="utf-8").strip()
    assert not (curated / CURRENT).is_symlink() and pointer.startswith(GENERATIONS)
    table = curated / "indicators.parquet"
    assert not table.is_symlink() and table.samefile(curated / pointer / "indicators.parquet")
    assert pq.read_metadata(table).num_rows == 62
    _equal_to_clean(tmp_path, clean)
    summary = _run(tmp_path)  # the state check reads the same files: a no-op night, no repair
    assert summary.extracted == 0 and summary.messages == []
    newest = max((curated / GENERATIONS).iterdir()).name  # runs gained a row: a new generation
    assert (curated / CURRENT).read_text(encoding="utf-8").strip() == f"{GENERATIONS}/{newest}"
    assert (curated / "runs.parquet").samefile(curated / GENERATIONS / newest / "runs.parquet")
    _equal_to_clean(tmp_path, clean)


@pytest.mark.parametrize("step", ["switch", "link runs.parquet", "link validation_results.parquet"])
def test_without_symlinks_a_kill_mid_publish_is_repaired(tmp_path, clean, no_symlinks, monkeypatch, step):
    shutil.copytree(RAW, tmp_path / "raw")
    _run(tmp_path)
    monkeypatch.setattr("pipeline.refresh.run.derivation_version", lambda: "0.1.0+changed")
    _killed_run(tmp_path, on_publish=kill_at(step))
    summary = _run(tmp_path)
    done = "completed the publish of run" if step == "switch" else "table paths linked again"
    assert any(done in m for m in summary.messages), summary.messages
    assert summary.extracted == 0
    _equal_to_clean(tmp_path, clean)
