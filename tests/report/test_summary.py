"""The run summary printed at the end of `plan-etl run`."""

from __future__ import annotations

import datetime as dt

from rich.console import Console

from pipeline.refresh.summary import RunSummary
from pipeline.report.terminal import print_summary

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
EARLIER = NOW - dt.timedelta(days=1)


def _doc(i: int, status: str = "ok", when: dt.datetime = EARLIER) -> dict:
    return {
        "source_path": f"pref-{i:02d}/plan.txt",
        "kind": "action_plan",
        "plan_id": f"p{i}",
        "status": status,
        "warnings": [],
        "extracted_at": when,
        "error": "broken" if status == "failed" else None,
    }


def _printed(summary: RunSummary) -> str:
    console = Console(record=True, width=200)
    print_summary(console, summary)
    return console.export_text()


def test_a_large_corpus_lists_only_tonights_documents():
    summary = RunSummary(run_id="r1", started_at=NOW, finished_at=NOW + dt.timedelta(seconds=3))
    summary.documents = [_doc(i) for i in range(100)]
    summary.documents[5] = _doc(5, when=NOW)  # extracted tonight
    summary.documents[7] = _doc(7, status="failed", when=NOW)
    summary.documents[9] = _doc(9, status="partial")  # carried over, but not ok
    summary.stage_seconds = {"extract": 1.25, "load": 0.5}
    out = _printed(summary)
    assert "97 unchanged and ok not shown" in out
    assert {"pref-05/plan.txt", "pref-07/plan.txt", "pref-09/plan.txt"} <= set(out.split())
    assert "pref-06/plan.txt" not in out
    assert "time per stage: extract 1.2 s, load 0.5 s" in out


def test_a_small_corpus_lists_every_document():
    summary = RunSummary(run_id="r1", started_at=NOW, finished_at=NOW)
    summary.documents = [_doc(i) for i in range(3)]
    out = _printed(summary)
    assert all(f"pref-0{i}/plan.txt" in out for i in range(3)) and "not shown" not in out


def test_a_no_op_night_of_a_large_corpus_says_so_instead_of_printing_empty_tables():
    summary = RunSummary(run_id="r1", started_at=NOW, finished_at=NOW)
    summary.documents = [_doc(i) for i in range(100)]
    out = _printed(summary)
    assert "documents: 100 unchanged and ok, none extracted tonight" in out
    assert "rows per table: no table changed tonight" in out
    assert "┏" not in out  # no table frame at all
