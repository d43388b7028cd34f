"""Document text is never markup (issue 19 §3): text that looks like rich markup, HTML or SQL
(``[/]``, ``[bold]``, ``<script>``, ``&amp;``, quotes) and control characters goes through
every terminal printer, both HTML reports and the warehouse's SQL as it is: printed
literally, escaped in HTML, a value (never an identifier) in SQL."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
from conftest import RAW, extract_records
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from core.normalize import strip_control

PIECES = [
    "[/]",
    "[bold]",
    "[red]",
    "[/bold]",
    "[link=x]",
    "<script>",
    "</td>",
    "&amp;",
    '"',
    "'",
    "\\",
    "[",
    "]",
]
PIECES += ["表", "a", " ", "\x1b[31m", "\x00", "\x07", "\x08"]
hostile = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)
ANY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=5000, color_system=None, force_terminal=True, legacy_windows=False), out


def _shown(text: str, output: str) -> None:
    """``text`` (its printable part) appears literally, and nothing of it reached the terminal
    as a control sequence."""
    visible, _ = strip_control(text)
    visible = visible.replace("\x1b", "")
    assert visible.strip() in output
    assert "\x1b" not in output and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", output)


@given(text=hostile)
@example(text="\\[x")
@ANY
def test_the_run_summary_prints_document_text_literally(text):
    from pipeline.refresh.summary import RunSummary
    from pipeline.report.terminal import print_summary

    doc = {
        "source_path": f"kama/{text}.txt",
        "kind": "progress_sheets",
        "plan_id": f"p{text}",
        "status": "failed",
        "error": f"kama/{text}.txt: KPI {text} is wrong",
        "warnings": [f"warning {text}"],
        "cells_total": 10,
        "cells_consumed": 9,
    }
    partial = {**doc, "source_path": f"kama/b{text}.txt", "status": "partial", "error": f"cut {text}"}
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    summary = RunSummary(run_id="r", started_at=now, finished_at=now, messages=[f"note {text}"])
    summary.set_documents([doc, partial])
    summary.removed, summary.report_path = [f"gone/{text}"], f"curated/{text}/index.html"
    summary.row_counts, summary.validation_counts = {"indicators": 1}, {"total": 1, "error": 1, "warning": 0}
    for quiet in (False, True):
        console, out = _console()
        print_summary(console, summary, quiet=quiet)
        _shown(f"KPI {text} is wrong", out.getvalue())
    _shown(f"note {text}", _printed(print_summary, summary))


def _printed(printer, *args) -> str:
    console, out = _console()
    printer(console, *args)
    return out.getvalue()


@given(text=hostile)
@ANY
def test_extract_validation_and_progress_print_document_text_literally(text):
    from pipeline.report.terminal import print_extract, print_validation, progress_bar

    document = {"source_path": f"{text}.txt", "kind": "action_plan", "status": "partial", "error": text}
    document |= {"plan_id": text, "doc_id": "abc", "warnings": [f"w {text}"]}
    output = _printed(print_extract, document, {"initiatives": [{"title": f"t {text}", "note": text}]})
    _shown(f"t {text}", output)
    _shown(f"w {text}", output)
    result = {"plan_id": text, "severity": "error", "success": False, "unexpected_count": 1}
    result |= {"expectation": f"check {text}", "details": f"meaning {text} — finding {text} | two"}
    output = _printed(print_validation, [result])
    _shown(f"check {text}", output)
    _shown(f"finding {text}", output)
    console, out = _console()
    with progress_bar(console) as notify:
        notify("start", {"total": 1})
        notify("document", {"path": f"doc {text}", "status": "ok"})
    visible = strip_control(f"doc {text}")[0].replace("\x1b", "").rstrip()
    assert visible in out.getvalue()  # the bar draws its own control sequences around it


@given(text=hostile)
@ANY
def test_the_validation_report_escapes_document_text(text):
    from pipeline.report.html import validation_html

    def render(value: str) -> str:
        result = {"plan_id": value, "severity": "error", "success": False, "unexpected_count": 1}
        result |= {"suite": value, "expectation": f"check {value}", "details": f"m {value} — f {value} | two"}
        return validation_html([result], f"title {value}")

    _escaped(render, text)


def _escaped(render, text: str) -> None:
    """The page made with ``text`` is the page made with a neutral word, but for ``text``
    itself, escaped: nothing of it became a tag, an entity or an attribute."""
    page, neutral = render(f"⟦{text}⟧"), render("⟦ZZZ⟧")
    assert html.escape(f"⟦{text}⟧") in page
    assert page.replace(html.escape(f"⟦{text}⟧"), "⟦ZZZ⟧") == neutral


@pytest.fixture(scope="module")
def records():
    return extract_records(RAW, prefer="text")


@given(text=hostile)
@example(text="\\[")  # rich.markup.escape("\\[創業") prints "[創業": the backslash lost
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_comparison_prints_and_escapes_document_text(records, text):
    from pipeline.derive.compare import comparison_report
    from pipeline.report.compare_html import comparison_html
    from pipeline.report.terminal import print_comparison

    def spoil(row, prefix: str):
        out = dict(row)
        for key in ("name", "title", "issuer"):
            if isinstance(out.get(key), str):
                out[key] = f"{prefix}{out[key]}"
        return out

    def report(prefix: str) -> dict:
        spoiled = {t: [spoil(r, prefix) for r in rows] for t, rows in records.items()}
        return comparison_report(spoiled, "kama-sme-2", "chiba-genki-5")

    output = _printed(print_comparison, report(text))
    kpi = next(i["name"] for i in records["indicators"] if i["plan_id"] == "kama-sme-2")
    _shown(f"{text}{kpi}", output)
    # (the comparison reads the names — ⟦ZZZ⟧ may pair other initiatives than [/]: no neutral page)
    marked = f"⟦{text}⟧"
    page = comparison_html(report(marked))
    assert html.escape(marked) in page
    assert marked == html.escape(marked) or marked not in page


@given(plan_ids=st.lists(hostile, min_size=2, max_size=4, unique=True))
@settings(max_examples=25, deadline=None)
def test_document_values_reach_sql_as_values_never_as_identifiers(tmp_path_factory, plan_ids):
    """Plan ids full of quotes and markup: a delta load deletes exactly the plans not kept."""
    import pyarrow as pa

    from pipeline.load.warehouse import open_warehouse

    url = f"duckdb:///{tmp_path_factory.mktemp('sql') / 'w.duckdb'}"
    warehouse = open_warehouse(url)
    table = pa.table({"plan_id": plan_ids, "name": plan_ids})
    with warehouse.transaction():
        warehouse.con.execute('CREATE TABLE "plans" (plan_id VARCHAR, name VARCHAR)')
        warehouse.con.register("incoming", table)
        warehouse.con.execute('INSERT INTO "plans" SELECT * FROM incoming')
        warehouse.delete_plans("plans", frozenset(plan_ids[:1]))
        kept = warehouse.con.execute('SELECT plan_id, name FROM "plans"').fetchall()
    assert kept == [(plan_ids[0], plan_ids[0])]
