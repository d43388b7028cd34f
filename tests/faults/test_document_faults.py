"""Hostile documents (issue 19 §3–§5, issue 17 §3): a document past a limit fails alone, in
seconds, with one line that names the limit; the run goes on and loads the other documents.

Elsewhere: the xlsx bombs' message and memory (under 200 MB) — tests/faults/test_xlsx_bombs.py,
their time (under 5 s) — bench/faults.py; control characters
removed from every cell — tests/validate/test_validation.py; random and damaged bytes —
tests/e2e/test_bad_input.py."""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import FIXTURES, RAW
from faults_site import Site, assert_new_state, copy_site, error_lines
from hostile import TEXT, pdf, ruled_grid

from extractors import extractor_version
from extractors.extract import extract_document
from extractors.limits import ExtractionLimits, IsolatedExtractor

KPI = "デジタルを活用し、新サービスを開始した企業数"


@pytest.fixture
def site(tmp_path) -> Site:
    return copy_site(tmp_path)


def test_document_text_that_looks_like_markup_is_printed_and_stored_as_it_is(site):
    name = "デジタル[/]を活用し、[bold red]新サービス<script>&amp;を開始した企業数"
    path = site.raw / "kama" / "progress_sheets.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(KPI, name), encoding="utf-8")
    result = site.run()
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    assert f"note: kama-sme-2: KPI '{name}' (policy 2) matches no KPI code cited in the action plan" in (
        result.output
    )
    state = assert_new_state(site)
    assert {i["name"] for i in state["curated"]["indicators"] if "[/]" in i["name"]} == {name}


def test_a_dimension_bomb_fails_alone_and_the_other_documents_load(site):
    shutil.copy(FIXTURES / "xlsx" / "dimension_bomb.xlsx", site.raw / "kama" / "bomb.xlsx")
    result = site.run()
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("failed: bomb.xlsx: sheet 'S' declares 1,048,576 rows")
    state = assert_new_state(site)
    status = {d["source_path"]: d["status"] for d in state["curated"]["documents"]}
    assert status == {
        "chiba/strategy_framework.txt": "ok",
        "kama/action_plan.txt": "ok",
        "kama/progress_sheets.txt": "ok",
        "kama/bomb.xlsx": "failed",
    }
    assert len(state["warehouse"]["initiatives"]) == 169


def _wide_export() -> bytes:
    """490,000 cells in 17 MB: under the text reader's caps, ~150 MB to read."""
    line = "\t".join(["あいうえおかきくけこさし"] * 30)
    return "\n".join([line] * (490_000 // 30)).encode()


HOSTILE = {
    # name: (file bytes, what the one line says)
    "pages.pdf": (lambda: pdf(TEXT, pages=2001), "2,001 pages — more than the 2,000 pages"),
    "mediabox.pdf": (lambda: pdf(TEXT, width=14400, height=14400), "page 1 is 14,400 × 14,400 pt"),
    "ruled.pdf": (
        lambda: pdf(ruled_grid(231), width=842, height=1191),
        "page 1 is ruled with 231 horizontal × 231 vertical lines",
    ),
    "long_line.txt": (lambda: "方針\t".encode() + b"x" * 20_001, "line 1 has 20,004 characters"),
    "cells.txt": (lambda: ("\t" * 99 + "\n").encode() * 5_001, "500,101 cells — more than the 500,000"),
    "size.txt": (lambda: (b"x" * 999 + b"\n") * 21_000, "20.0 MB — larger than the 20 MB"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_document_past_a_reader_limit_fails_in_seconds_with_its_reason(tmp_path, name):
    make, reason = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(make())
    outcome = extract_document(path, kind="progress_sheets")  # its time and memory: bench/faults.py
    assert outcome.document["status"] == "failed"
    assert outcome.document["error"].startswith(f"{name}: ") and reason in outcome.document["error"]


def test_the_limits_hold_in_a_run_and_the_other_documents_load(site):
    for name in ("ruled.pdf", "long_line.txt", "mediabox.pdf"):
        (site.raw / "kama" / name).write_bytes(HOSTILE[name][0]())
    result = site.run()
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 3
    for reason in ("line 1 has 20,004 characters", "page 1 is 14,400 × 14,400 pt", "231 horizontal × 231"):
        assert sum(reason in line for line in lines) == 1, lines
    state = assert_new_state(site)
    assert sorted(d["source_path"] for d in state["curated"]["documents"] if d["status"] == "ok") == [
        "chiba/strategy_framework.txt",
        "kama/action_plan.txt",
        "kama/progress_sheets.txt",
    ]


def test_a_document_over_the_time_limit_is_stopped_and_the_next_one_is_read(tmp_path):
    """A ruled grid just under the ruling limit takes pdfplumber ~7 s: past a 2 s limit its
    child is killed, and a new child reads the next document."""
    slow = tmp_path / "slow.pdf"
    slow.write_bytes(pdf(ruled_grid(151), width=842, height=1191))
    with IsolatedExtractor(ExtractionLimits(seconds=2)) as extractor:
        extractor.start()
        first = extractor.pid
        stopped = extractor.extract(slow, pdf_engine="plumber", rel_path="kama/slow.pdf")
        assert extractor.pid is None  # the child past the limit was killed
        after = extractor.extract(RAW / "kama" / "progress_sheets.txt", kind="progress_sheets")
        assert extractor.pid not in (None, first)  # a new child read the next one
    assert stopped.document["status"] == "failed" and stopped.document["doc_id"]
    assert stopped.document["error"].startswith("kama/slow.pdf: stopped after 2 s — longer than one document")
    assert after.document["status"] == "ok" and len(after.tables["indicators"]) == 29


def test_a_run_stops_a_document_past_the_time_limit_and_loads_the_others(site):
    (site.raw / "kama" / "slow.pdf").write_bytes(pdf(ruled_grid(151), width=842, height=1191))
    result = site.run("--pdf-engine", "plumber", env={"PLAN_ETL_DOCUMENT_SECONDS": "3"})
    assert result.exit_code == 1
    assert error_lines(result) == [
        "failed: kama/slow.pdf: stopped after 3 s — longer than one document may take "
        "(PLAN_ETL_DOCUMENT_SECONDS); the other documents go on (attempt 1 of 2: the next run tries it again)"
    ]
    state = assert_new_state(site)
    assert sorted((d["source_path"], d["status"]) for d in state["warehouse"]["documents"]) == [
        ("chiba/strategy_framework.txt", "ok"),
        ("kama/action_plan.txt", "ok"),
        ("kama/progress_sheets.txt", "ok"),
        ("kama/slow.pdf", "failed"),
    ]
    # the engine's extractor version, as the next run compares it (the default engine's before)
    slow = [d for d in state["warehouse"]["documents"] if d["source_path"] == "kama/slow.pdf"]
    assert [d["extractor_version"] for d in slow] == [extractor_version("plumber")]


def test_a_document_over_the_memory_limit_fails_and_the_next_one_is_read(tmp_path):
    """The wide export needs ~150 MB more than reading the Kama sheets; under an address space
    60 MiB above what reading those takes, it fails in the child (MemoryError, or when the
    interpreter cannot even make one, a SystemError or the child's death) and the next
    document is read."""
    sheets = RAW / "kama" / "progress_sheets.txt"
    with IsolatedExtractor() as probe:
        probe.extract(sheets, kind="progress_sheets")
        with open(f"/proc/{probe.pid}/status") as status:
            base = next(int(line.split()[1]) for line in status if line.startswith("VmPeak:")) // 1024
    wide = tmp_path / "wide.txt"
    wide.write_bytes(_wide_export())
    with IsolatedExtractor(ExtractionLimits(memory_mb=base + 60)) as extractor:
        failed = extractor.extract(wide, kind="progress_sheets")
        after = extractor.extract(sheets, kind="progress_sheets")
    assert failed.document["status"] == "failed"
    assert failed.document["error"].startswith("wide.txt: ") and "memory limit" in failed.document["error"]
    assert after.document["status"] == "ok" and len(after.tables["indicators"]) == 29


def test_the_extraction_child_ends_with_the_extractor(tmp_path):
    import psutil

    with IsolatedExtractor() as extractor:
        extractor.extract(RAW / "chiba" / "strategy_framework.txt")
        child = psutil.Process(extractor.pid)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


def test_a_stopping_run_kills_the_extraction_running_in_another_thread(tmp_path):
    """A batch run by a task thread (Prefect without Dask): when the run is stopped, its lock
    kills every extraction child of the process (stop_all) and that batch ends at once."""
    import threading

    import psutil

    from extractors.limits import Stopped, stop_all

    slow = tmp_path / "slow.pdf"
    slow.write_bytes(pdf(ruled_grid(151), width=842, height=1191))  # ~7 s with pdfplumber
    extractor = IsolatedExtractor()
    ended: list[BaseException] = []

    def batch() -> None:
        try:
            with extractor:
                extractor.extract(slow, pdf_engine="plumber")
        except BaseException as exc:  # what ended the thread is the result
            ended.append(exc)

    thread = threading.Thread(target=batch)
    thread.start()
    deadline = time.monotonic() + 10
    while extractor.pid is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child = psutil.Process(extractor.pid)
    started = time.monotonic()
    stop_all()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 2
    assert len(ended) == 1 and isinstance(ended[0], Stopped)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    with IsolatedExtractor() as later:  # a later run extracts as usual
        assert later.extract(RAW / "kama" / "progress_sheets.txt").document["status"] == "ok"


def test_a_per_document_limit_that_is_not_a_number_is_one_line_before_any_work(site):
    before = site.state()
    result = site.run(env={"PLAN_ETL_DOCUMENT_SECONDS": "ten"})
    assert result.exit_code == 2
    assert error_lines(result) == [
        "error: PLAN_ETL_DOCUMENT_SECONDS takes seconds and PLAN_ETL_DOCUMENT_MEMORY_MB whole MiB "
        "(got 'ten', None)"
    ]
    assert site.state() == before


# --- plan-etl extract FILE: the same limits as a run ----------------------------------------


def test_one_document_is_extracted_under_the_limits_as_a_run_extracts_it(tmp_path):
    """extract_limited (what ``plan-etl extract`` is to call): the records of the in-process
    extraction for a normal document; a document past the time limit is a failed outcome with
    its one line, its child killed (1 ms: reading the Kama sheets takes a few hundred times longer)."""
    from extractors.limits import extract_limited

    sheets = RAW / "kama" / "progress_sheets.txt"
    outcome = extract_limited(sheets, rel_path="kama/progress_sheets.txt", kind="progress_sheets")
    assert outcome.document["status"] == "ok" and len(outcome.tables["indicators"]) == 29
    assert outcome.tables == extract_document(sheets, rel_path="kama/progress_sheets.txt").tables
    stopped = extract_limited(sheets, ExtractionLimits(seconds=0.001), rel_path="x.txt")
    assert stopped.document["status"] == "failed" and stopped.document["doc_id"] == outcome.document["doc_id"]
    assert stopped.document["error"].startswith("x.txt: stopped after 0.001 s — longer than one document")


def test_plan_etl_extract_applies_the_per_document_limits():
    from click.testing import CliRunner

    from cli.main import main

    sheets = RAW / "kama" / "progress_sheets.txt"
    result = CliRunner().invoke(
        main, ["extract", str(sheets)], env={"COLUMNS": "400", "PLAN_ETL_DOCUMENT_SECONDS": "0.001"}
    )
    assert result.exit_code == 1
    assert "stopped after 0.001 s — longer than one document may take" in result.output


def test_plan_etl_extract_with_a_bad_limit_setting_is_one_line():
    from click.testing import CliRunner

    from cli.main import main

    sheets = RAW / "kama" / "progress_sheets.txt"
    result = CliRunner().invoke(main, ["extract", str(sheets)], env={"PLAN_ETL_DOCUMENT_SECONDS": "abc"})
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: PLAN_ETL_DOCUMENT_SECONDS takes seconds and PLAN_ETL_DOCUMENT_MEMORY_MB whole MiB "
        "(got 'abc', None)"
    ]
