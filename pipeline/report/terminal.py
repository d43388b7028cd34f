"""Terminal output: progress bars and run / extract summaries (rich)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from extractors.extract import DocumentOutcome

if TYPE_CHECKING:
    from pipeline.refresh.summary import RunSummary

MAX_DOCUMENT_ROWS = 40  # documents listed one per line in a run summary


@contextlib.contextmanager
def progress_bar(console: Console, disable: bool = False) -> Iterator[Any]:
    """A callback for the flow's progress events, drawn as a bar over the documents."""
    progress = Progress(
        TextColumn("[bold]extract"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=disable,
        transient=True,
        redirect_stdout=False,  # Dask pickles the task context; a redirected stdout holds locks
        redirect_stderr=False,
    )
    state: dict[str, Any] = {}

    def notify(event: str, data: dict[str, Any]) -> None:
        if event == "start":
            state["task"] = progress.add_task("", total=data["total"])
        elif event == "document" and "task" in state:
            progress.update(state["task"], advance=1, description=data["path"])

    with progress:
        yield notify


def print_summary(console: Console, summary: RunSummary, quiet: bool = False) -> None:
    """The run summary: documents, time per stage, rows per table, notes, validation counts.
    Document text is escaped: it is never read as terminal markup."""
    line = _summary_line(summary)
    if quiet:
        console.print(line)
        for d in summary.failed:
            console.print(f"[red]failed:[/] {escape(d['error'] or '')}")
        return
    _print_documents(console, summary)
    if summary.stage_seconds:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in summary.stage_seconds.items())
        console.print(f"[dim]time per stage: {stages}[/]")
    _print_rows(console, summary)
    _print_notes(console, summary)
    console.print(line)


def _summary_line(summary: RunSummary) -> str:
    rec = summary.run_record()
    seconds = (summary.finished_at - summary.started_at).total_seconds() if summary.finished_at else 0.0
    ocr = sum(1 for d in summary.documents if d.get("extraction_method") == "ocr" and d["status"] != "failed")
    return (
        f"run {summary.run_id}: {rec['documents_seen']} documents — {rec['documents_extracted']} extracted"
        f"{f' ({summary.grids_from_cache} grids from the cache)' if summary.grids_from_cache else ''}"
        f"{f', {ocr} read by OCR (scans: see their OCR confidence)' if ocr else ''}, "
        f"{rec['documents_skipped_unchanged']} unchanged, {rec['documents_failed']} failed"
        f"{f' ({summary.quarantined} quarantined)' if summary.quarantined else ''}"
        f"{f', {len(summary.removed)} removed' if summary.removed else ''} ({seconds:.1f} s)"
    )


def cells_read(document: dict[str, Any]) -> str:
    """``1,021/1,042 (98%)``: the share of a document's non-empty cells read into records."""
    total, used = document.get("cells_total"), document.get("cells_consumed")
    if not total:
        return "-"
    return f"{used:,}/{total:,} ({100 * used / total:.0f}%)"


def _print_documents(console: Console, summary: RunSummary) -> None:
    shown = summary.documents
    if len(shown) > MAX_DOCUMENT_ROWS:  # a large corpus: tonight's news only
        shown = [d for d in shown if d["status"] != "ok" or d.get("extracted_at") == summary.started_at]
    hidden = len(summary.documents) - len(shown)
    title = "documents" + (
        f" extracted or not ok tonight ({hidden} unchanged and ok not shown)" if hidden else ""
    )
    docs = Table(title=title, show_lines=False)
    docs.add_column("path", overflow="fold", min_width=30)
    for col in ("kind", "plan", "status", "cells read", "warnings"):
        docs.add_column(col)
    for d in shown[:MAX_DOCUMENT_ROWS]:
        style = {"ok": "green", "partial": "yellow", "failed": "red"}.get(d["status"], "")
        docs.add_row(
            escape(d["source_path"]),
            d.get("kind") or "?",
            escape(d.get("plan_id") or "?"),
            f"[{style}]{d['status']}[/]",
            cells_read(d),
            str(len(d.get("warnings") or [])),
        )
    console.print(docs)
    if len(shown) > MAX_DOCUMENT_ROWS:
        console.print(f"[dim]… {len(shown) - MAX_DOCUMENT_ROWS} more documents: see the `documents` table[/]")


def _print_rows(console: Console, summary: RunSummary) -> None:
    how = {"delta": "only the recomputed plans' rows were replaced", "replace": "every table was replaced"}
    load = f" (warehouse: {how[summary.warehouse_load]})" if summary.warehouse_load in how else ""
    rows = Table(title="rows per table" + load)
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for name, n in summary.row_counts.items():
        rows.add_row(name, str(n))
    console.print(rows)


def _print_notes(console: Console, summary: RunSummary) -> None:
    for d in summary.failed:
        console.print(f"[red]failed:[/] {escape(d['error'] or '')}")
    for message in summary.messages[:20]:
        console.print(f"[dim]note:[/] {escape(message)}")
    if len(summary.messages) > 20:
        console.print(f"[dim]note: … {len(summary.messages) - 20} more[/]")
    for path in summary.removed:
        console.print(f"[yellow]removed:[/] {escape(path)} is no longer under raw/; its rows were dropped")
    counts = summary.validation_counts
    if counts.get("total"):
        console.print(
            f"validation: {counts['error']} errors, {counts['warning']} warnings — `plan-etl validate` "
            f"lists them{f'; report: {escape(summary.report_path)}' if summary.report_path else ''}"
        )


def print_extract(console: Console, outcome: DocumentOutcome) -> None:
    d = outcome.document
    console.print(
        f"[bold]{d['source_path']}[/]: {d.get('kind') or '?'}, {d['status']}"
        f"{' — ' + d['error'] if d.get('error') else ''}"
    )
    for name, rows in outcome.tables.items():
        table = Table(title=f"{name} ({len(rows)})")
        cols = [c for c in (rows[0].keys() if rows else []) if c not in ("plan_id", "source_doc_id")][:8]
        for c in cols:
            table.add_column(c, overflow="fold", max_width=40)
        for r in rows[:50]:
            table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in cols))
        console.print(table)
    for w in d.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {w}")


def print_validation(console: Console, results: list[dict[str, Any]], verbose: bool = True) -> None:
    """Validation findings grouped by plan and severity."""
    failed = [r for r in results if not r["success"]]
    plans = sorted({r.get("plan_id") or "" for r in failed})
    for plan in plans:
        for severity, style in (("error", "red"), ("warning", "yellow")):
            rows = [r for r in failed if (r.get("plan_id") or "") == plan and r["severity"] == severity]
            if not rows:
                continue
            table = Table(
                title=f"{plan or 'all plans'} — {severity}s ({len(rows)})",
                title_style=style,
                show_lines=True,
                expand=True,
            )
            table.add_column("check", overflow="fold", ratio=1, min_width=26)
            table.add_column("n", justify="right")
            table.add_column("findings", overflow="fold", ratio=3)
            for r in rows:
                meaning, _, findings = (r.get("details") or "").partition(" — ")
                items = findings.split(" | ")
                shown = "\n".join(f"• {f}" for f in (items if verbose else items[:3]))
                more = "" if verbose or len(items) <= 3 else f"\n… {len(items) - 3} more"
                table.add_row(
                    f"{r['expectation']}\n[dim]{meaning}[/]", str(r["unexpected_count"]), shown + more
                )
            console.print(table)
    errors = sum(r["severity"] == "error" for r in failed)
    warnings = sum(r["severity"] == "warning" for r in failed)
    console.print(
        f"validation: {len(results)} expectations, [red]{errors} failed with errors[/], "
        f"[yellow]{warnings} with warnings[/], {len(results) - len(failed)} passed"
    )


def print_comparison(console: Console, rows: list[dict[str, Any]]) -> None:
    """Theme × plan coverage, with each side's indicators."""
    a, b = rows[0]["plan_a"], rows[0]["plan_b"]
    table = Table(title=f"{a} vs {b} by theme", show_lines=True, expand=True)
    table.add_column("theme", no_wrap=True)
    for pid in (a, b):
        table.add_column(f"{pid}\nm / i / ind", justify="center", no_wrap=True)
    table.add_column(f"indicators ({a} | {b})", overflow="fold", ratio=3)
    for r in rows:
        cells = [
            f"{r[f'plan_{s}_measures']} / {r[f'plan_{s}_initiatives']} / {len(r[f'plan_{s}_indicators'])}"
            if r[f"plan_{s}_coverage"]
            else "[dim]—[/]"
            for s in ("a", "b")
        ]
        inds = "、".join(r["plan_a_indicators"][:3]) + " | " + "、".join(r["plan_b_indicators"][:3])
        style = "" if r["covered_by"] == "both" else "yellow"
        table.add_row(f"[{style}]{r['theme_label']}[/]" if style else r["theme_label"], *cells, inds)
    console.print(table)
    only = [
        f"{r['theme_label']} ({r['covered_by']})" for r in rows if r["covered_by"] not in ("both", "none")
    ]
    if only:
        console.print("themes only one plan covers: " + ", ".join(only))
