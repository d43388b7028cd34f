"""Faults around the state (issue 19 §1, §2, §5 manifest, §6, issue 17 §3 signals): each run
ends with one clear line and its documented exit code, and curated/ and the warehouse hold
either the previous run or the new one, compared table by table.

Elsewhere: another plan-etl run holding the curated lock —
tests/e2e/test_incremental.py::test_a_second_writer_of_the_same_curated_folder_is_refused; the run
history (runs.parquet) damaged, the warehouse damaged — tests/refresh/test_state_repair.py; a
SIGKILL mid-load and a failed Parquet staging — tests/e2e/test_bad_input.py."""

from __future__ import annotations

import fcntl
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from faults_site import Site, copy_site, error_lines

from schemas import TABLES

KPI = "デジタルを活用し、新サービスを開始した企業数"


@pytest.fixture
def site(tmp_path) -> Site:
    return copy_site(tmp_path)


def _revise(site: Site) -> None:
    """A revised progress sheet: tonight's run has rows to load."""
    path = site.raw / "kama" / "progress_sheets.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(KPI, KPI + "（改訂）"), encoding="utf-8")


def test_a_warehouse_open_in_another_process_is_one_line_naming_its_pid(site):
    before = site.state()
    _revise(site)
    path = site.curated / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = site.run()
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    assert error_lines(result) == [
        f"error: {path} is open in another process (pid {holder.pid}); close it or retry"
    ]
    assert site.state() == before


def _damage(path: Path, how: str) -> None:
    """A curated table damaged as an operator meets it: ``truncate`` (a full disk, a bad copy),
    ``delete`` (the generation's file and its path), ``older schema`` (a column missing)."""
    if how == "truncate":
        target = path.resolve()  # (the file, where curated/ links it)
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif how == "delete":
        path.resolve().unlink()
        path.unlink()
    else:
        old = pq.read_table(path)
        pq.write_table(old.drop_columns([old.column_names[-1]]), path.resolve())


DAMAGED = [(table, "truncate") for table in TABLES if table != "runs"]  # each table in turn
DAMAGED += [(table, how) for table in ("indicators", "documents") for how in ("delete", "older schema")]


@pytest.mark.parametrize(("table", "how"), DAMAGED, ids=[f"{t}-{h}" for t, h in DAMAGED])
def test_a_damaged_curated_table_is_one_note_and_rebuilt_from_the_documents(site, table, how):
    """Every curated table truncated in turn (and two deleted or of an older schema): the run
    says so in one ``note:`` naming the file, reads every document again and ends with the
    clean run's tables — curated/ and the warehouse compared table by table. (``runs``, the
    history, is read back from the warehouse instead: tests/refresh/test_state_repair.py.)"""
    clean = site.state()
    _damage(site.curated / f"{table}.parquet", how)
    result = site.run()
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    notes = [line for line in result.output.splitlines() if f"{table}.parquet" in line]
    assert len(notes) == 1 and notes[0].startswith("note: ") and "rebuilt" in notes[0], result.output
    assert "3 documents — 3 extracted, 0 unchanged, 0 failed" in result.output  # every one read again
    assert site.state() == clean  # the same documents: the rebuilt tables are the clean run's


def test_a_full_disk_while_writing_the_validation_report_changes_nothing(site, monkeypatch):
    import pipeline.refresh.run as run

    before = site.state()
    report = (site.curated / "validation" / "index.html").read_bytes()
    _revise(site)

    def disk_full(results, path):
        path.write_bytes(b"<!doctype html><html")  # a part written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run, "write_report", disk_full)
    result = site.run()
    assert result.exit_code == 2
    final = site.curated / "validation" / "index.html"
    assert error_lines(result) == [
        f"error: writing the validation report {final} failed, nothing was changed: "
        "[Errno 28] No space left on device"
    ]
    assert site.state() == before
    assert final.read_bytes() == report
    assert sorted(p.name for p in final.parent.iterdir()) == ["index.html"]  # no staged report left
    assert not list(site.curated.glob(".staging-*"))


LAUGHS = """plans:
  - plan_id: kama-sme-2
    issuer: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
    title: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    level: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    prefecture: [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    documents: []
"""


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (LAUGHS, "sources.yaml: line 4: YAML aliases (*a) are not allowed here"),
        ("plans: []\n" + "#" * 5_000_001, "sources.yaml: 5,000,011 bytes — larger than a manifest can be"),
    ],
    ids=["billion laughs", "oversized"],
)
def test_a_hostile_manifest_is_one_line_before_any_work(site, manifest, message):
    before = site.state()
    (site.raw / "sources.yaml").write_text(manifest, encoding="utf-8")
    started = time.monotonic()
    result = site.run()
    assert time.monotonic() - started < 5
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1 and message in lines[0], result.output
    assert site.state() == before


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_extraction_stops_every_child_before_the_lock_is_released(site, signum):
    """``plan-etl run`` stopped while its extraction child reads the PDFs (pdfplumber: a few
    seconds): it exits 130 with one line, no process of it remains, the lock is free and the
    previous state is whole."""
    before = site.state()
    command = [str(__import__("pathlib").Path(sys.executable).with_name("plan-etl")), "run"]
    command += ["--raw", str(site.raw), "--curated", str(site.curated), "--pdf-engine", "plumber", "-q"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(run.pid)
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while not children and time.monotonic() < deadline and run.poll() is None:
        children = [
            c for c in parent.children(recursive=True) if "extractors.limits" in " ".join(c.cmdline())
        ]
        time.sleep(0.02)
    assert children, "the run never started its extraction child"
    run.send_signal(signum)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert out.splitlines() == ["interrupted: nothing was loaded by this run; the previous tables stay"]
    assert "Traceback" not in err
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    with open(site.curated / ".plan-etl.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no exception
    assert site.state() == before
