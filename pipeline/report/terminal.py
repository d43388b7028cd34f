"""Terminal output: progress bars and run / extract summaries (rich)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.padding import Padding
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from core.normalize import strip_control
from pipeline.report.tabular import cell_text, column_names

if TYPE_CHECKING:
    from pipeline.refresh.summary import RunSummary

MAX_DOCUMENT_ROWS = 40  # documents listed one per line in a run summary
SHOWN_ABOVE = ("plan_id", "source_doc_id")  # the document's, printed once above its records


@contextlib.contextmanager
def progress_bar(console: Console, disable: bool = False) -> Iterator[Any]:
    """A callback for the flow's progress events, drawn as a bar over the documents."""
    progress = Progress(
        TextColumn("[bold]extract"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}", markup=False),
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
            progress.update(state["task"], advance=1, description=safe(data["path"]))

    with progress:
        yield notify


def print_summary(console: Console, summary: RunSummary, quiet: bool = False) -> None:
    """The run summary: documents, time per stage, rows per table, notes, validation counts.
    Document text is escaped: it is never read as terminal markup."""
    line = summary_line(summary)
    if quiet:
        console.print(line)
        _print_problems(console, summary)
        return
    _print_documents(console, summary)
    if summary.stage_seconds:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in summary.stage_seconds.items())
        console.print(f"[dim]time per stage: {stages}[/]")
    _print_rows(console, summary)
    _print_notes(console, summary)
    console.print(line)


def summary_line(summary: RunSummary) -> str:
    """``run <id>: N documents — n extracted, …``: the run in one line."""
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
    """The documents of the run: a table when it fits the console, else one block per
    document (nothing is cut at 80 columns); their warnings listed below, every one."""
    shown = summary.documents
    if len(shown) > MAX_DOCUMENT_ROWS:  # a large corpus: tonight's news only
        shown = [d for d in shown if d["status"] != "ok" or d.get("extracted_at") == summary.started_at]
    hidden = len(summary.documents) - len(shown)
    title = "documents" + (
        f" extracted or not ok tonight ({hidden} unchanged and ok not shown)" if hidden else ""
    )
    if not shown:
        console.print(f"documents: {hidden} unchanged and ok, none extracted tonight")
        return
    rows = [_document_cells(d) for d in shown[:MAX_DOCUMENT_ROWS]]
    print_rows(console, title, rows, key="path")
    if len(shown) > MAX_DOCUMENT_ROWS:
        console.print(f"[dim]… {len(shown) - MAX_DOCUMENT_ROWS} more documents: see the `documents` table[/]")
    _print_warnings(console, shown[:MAX_DOCUMENT_ROWS])


def _document_cells(d: dict[str, Any]) -> dict[str, Text]:
    """One document as the cells of its summary row (document text kept as plain Text)."""
    style = {"ok": "green", "partial": "yellow", "failed": "red"}.get(d["status"], "")
    kind = (d.get("kind") or "?") + (" (OCR)" if d.get("extraction_method") == "ocr" else "")
    return {
        "path": Text(safe(d["source_path"])),
        "kind": Text(kind),
        "plan": Text(safe(d.get("plan_id") or "?")),
        "status": Text(d["status"], style=style),
        "cells read": Text(cells_read(d)),
        "warnings": Text(str(len(d.get("warnings") or []))),
    }


def _print_warnings(console: Console, documents: Sequence[dict[str, Any]]) -> None:
    """Every warning of the documents listed, under the document's path."""
    with_warnings = [d for d in documents if d.get("warnings")]
    if not with_warnings:
        return
    total = sum(len(d["warnings"]) for d in with_warnings)
    console.print(f"[bold]warnings[/] ({total})")
    for d in with_warnings:
        console.print(Text(safe(f"{d['source_path']}:"), style="yellow"))
        items = Table.grid(padding=(0, 1))
        items.add_column(no_wrap=True)
        items.add_column(overflow="fold")
        for w in d["warnings"]:
            items.add_row("  •", Text(safe(w)))
        console.print(items)


def print_rows(
    console: Console, title: str, rows: Sequence[dict[str, Any]], key: str | None = None, max_width: int = 40
) -> None:
    """Rows (dicts of one column set) as a table when it fits the console's width, else one
    block per row (``key`` its heading, each other column on its own line, wrapped): at any
    width every column is shown. Values are plain text (str, or rich Text for a style):
    document text is never read as markup."""
    columns = column_names(rows)
    cells = [{c: _text(r.get(c)) for c in columns} for r in rows]
    atomic = {c for c in columns if all(_is_atomic(x[c].plain) for x in cells)}  # ids, codes, numbers
    widths = {c: max([len(c), *(x[c].cell_len for x in cells)]) for c in columns}
    widths = {c: w if c in atomic else min(w, max_width) for c, w in widths.items()}
    if sum(widths.values()) + 3 * len(columns) - 1 <= console.width:
        table = Table(title=title, show_edge=False)
        for c in columns:
            table.add_column(
                c, overflow="fold", no_wrap=c in atomic, min_width=widths[c] if c in atomic else None
            )
        for x in cells:
            table.add_row(*(x[c] for c in columns))
        console.print(table)
        return
    console.print(Text(title, style="italic"), justify="center")
    for i, x in enumerate(cells, 1):
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True, style="dim")
        block.add_column(overflow="fold")
        heading = x[key] if key else Text(f"{i}/{len(cells)}", style="bold")
        for c in columns:
            if c != key:
                block.add_row(c, x[c])
        console.print(heading)
        console.print(Padding(block, (0, 0, 0, 2), expand=False))


def _is_atomic(text: str) -> bool:
    """Text never to wrap: one ASCII word (an id, a code, a number, a path)."""
    return text.isascii() and not any(ch.isspace() for ch in text)


def _text(value: Any) -> Text:
    return value if isinstance(value, Text) else Text(safe(cell_text(value)))


def safe(text: str) -> str:
    """Document text for the terminal: control characters (ESC, NUL …) removed, so that none
    reaches the terminal as a control sequence. Print it as :class:`rich.text.Text`, never in a
    markup string: ``rich.markup.escape`` loses the backslash of ``\\[創業``."""
    return strip_control(text)[0]


def _print_rows(console: Console, summary: RunSummary) -> None:
    how = {"delta": "only the recomputed plans' rows were replaced", "replace": "every table was replaced"}
    if not summary.row_counts:
        console.print("rows per table: no table changed tonight")
        return
    rows = Table(title="rows per table")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for name, n in summary.row_counts.items():
        rows.add_row(name, str(n))
    console.print(rows)
    if summary.warehouse_load in how:
        console.print(f"warehouse: {how[summary.warehouse_load]}")


def _print_notes(console: Console, summary: RunSummary) -> None:
    _print_problems(console, summary, listed=True)
    for message in summary.messages[:20]:
        console.print(Text.assemble(("note:", "dim"), " ", safe(message)))
    if len(summary.messages) > 20:
        console.print(f"[dim]note: … {len(summary.messages) - 20} more[/]")
    for path in summary.removed:
        console.print(
            Text.assemble(
                ("removed:", "yellow"), f" {safe(path)} is no longer under raw/; its rows were dropped"
            )
        )
    counts = summary.validation_counts
    if counts.get("total"):
        console.print(
            Text(
                f"validation: {counts['error']} errors, {counts['warning']} warnings — `plan-etl validate` "
                f"lists them{f'; report: {safe(summary.report_path)}' if summary.report_path else ''}"
            )
        )


def _print_problems(console: Console, summary: RunSummary, listed: bool = False) -> None:
    """Failed documents, and what each partial document could not read (an actual that is not
    a number, a missing section …) — in full, or by path when its warnings were ``listed``."""
    for d in summary.failed:
        console.print(Text.assemble(("failed:", "red"), " ", safe(d["error"] or "")))
    for d in summary.documents:
        if d["status"] == "partial":
            what = f"{d['source_path']} — see its warnings above" if listed else d.get("error") or ""
            console.print(Text.assemble(("partial:", "yellow"), " ", safe(what)))


def print_extract(
    console: Console,
    document: dict[str, Any],
    tables: dict[str, list[dict[str, Any]]],
    limit: int | None = 50,
) -> None:
    """One extracted document: its status, then each table's records with every column
    given, a table when it fits the console, else one block per record; at most ``limit``
    records a table (None: all), saying how many more there are."""
    d = document
    console.print(
        Text.assemble(
            (safe(d["source_path"]), "bold"),
            safe(f": {d.get('kind') or '?'}, {d['status']}{' — ' + d['error'] if d.get('error') else ''}"),
        )
    )
    console.print(Text(safe(f"every record: plan_id {d.get('plan_id') or '-'}"), style="dim"))
    console.print(Text(f"source_doc_id {d.get('doc_id') or '-'}", style="dim"))
    for name, rows in tables.items():
        shown = [{k: v for k, v in r.items() if k not in SHOWN_ABOVE} for r in rows[:limit]]
        print_rows(console, f"{name} ({len(rows)})", shown)
        if len(rows) > len(shown):
            console.print(
                f"[dim]… {len(rows) - len(shown)} more {name}: --limit 0, --json or --csv for all[/]"
            )
    for w in d.get("warnings") or []:
        console.print(Text.assemble(("warning:", "yellow"), " ", safe(w)))


def print_validation(console: Console, results: list[dict[str, Any]], verbose: bool = True) -> None:
    """Validation findings grouped by plan and severity: each failed check on a line of its
    own (its name whole, never folded), its findings below it as a wrapped list."""
    failed = [r for r in results if not r["success"]]
    plans = sorted({r.get("plan_id") or "" for r in failed})
    for plan in plans:
        for severity, style in (("error", "red"), ("warning", "yellow")):
            rows = [r for r in failed if (r.get("plan_id") or "") == plan and r["severity"] == severity]
            if rows:
                console.rule(Text(safe(f"{plan or 'all plans'} — {severity}s ({len(rows)})"), style=style))
                for r in rows:
                    _print_check(console, r, verbose)
    errors = sum(r["severity"] == "error" for r in failed)
    warnings = sum(r["severity"] == "warning" for r in failed)
    console.print(
        f"validation: {len(results)} expectations, [red]{errors} failed with errors[/], "
        f"[yellow]{warnings} with warnings[/], {len(results) - len(failed)} passed"
    )


def _print_check(console: Console, result: dict[str, Any], verbose: bool) -> None:
    """One failed check: ``name (n)  meaning``, then its findings (three unless ``verbose``)."""
    meaning, _, findings = safe(result.get("details") or "").partition(" — ")
    items = findings.split(" | ") if findings else []
    shown = items if verbose else items[:3]
    console.print(
        Text.assemble(
            (safe(result["expectation"]), "bold"), f" ({result['unexpected_count']})  ", (meaning, "dim")
        )
    )
    listing = Table.grid(padding=(0, 1))
    listing.add_column(no_wrap=True)
    listing.add_column(overflow="fold")
    for item in shown:
        listing.add_row("  •", Text(item))
    if len(items) > len(shown):
        listing.add_row("", Text(f"… {len(items) - len(shown)} more (without --brief: all)", style="dim"))
    console.print(listing)


def print_comparison(console: Console, report: dict[str, Any]) -> None:
    """Theme × plan: the share of each plan's measures, distinct initiatives and KPIs; then
    each theme's KPIs, every KPI named once (under its first theme), its 【再掲】 codes with it."""
    a, b = report["plan_a"], report["plan_b"]
    plans = report["plans"]
    table = Table(title=Text(safe(f"{a} vs {b} by theme")))
    table.add_column("theme", overflow="fold")
    for pid in (a, b):
        table.add_column(
            Text(safe(f"{pid}\n% of {plans[pid]['measures']} measures\n· initiatives · KPIs")),
            justify="center",
            overflow="fold",
        )
    for r in report["themes"]:
        cells = [
            f"{s['measure_share']:.0%} · {s['initiatives']} · {len(s['kpis']) + len(s['see'])}"
            if s["measures"] or s["initiatives"] or s["kpis"] or s["see"]
            else "[dim]—[/]"
            for s in (r["sides"][a], r["sides"][b])
        ]
        label = Text(safe(r["label"]), style="" if r["covered_by"] == "both" else "yellow")
        table.add_row(label, *cells)
    console.print(table)
    only = [safe(f"{r['label']} ({r['covered_by']})") for r in report["themes"] if r["covered_by"] in (a, b)]
    if only:
        console.print(Text("themes only one plan covers: " + ", ".join(only)), soft_wrap=True)
    console.print(
        Text(
            "KPIs by theme (each once; "
            + ", ".join(f"{safe(pid)} {p['kpis']}" for pid, p in plans.items())
            + " distinct, 【再掲】 rows with their original):"
        ),
        soft_wrap=True,
    )
    for r in report["themes"]:
        for pid in (a, b):
            names = [_kpi_name(report["kpis"][pid][k]) for k in r["sides"][pid]["kpis"]]
            if names:
                console.print(Text(safe(f"  {r['label']} · {pid}: ") + "、".join(names)), soft_wrap=True)
    for pid, keys in report["unthemed_kpis"].items():
        if keys:
            names = [_kpi_name(report["kpis"][pid][k]) for k in keys]
            console.print(Text(f"  no theme · {safe(pid)}: " + "、".join(names)), soft_wrap=True)


def _kpi_name(kpi: dict[str, Any]) -> str:
    reposts = ", ".join(("【再掲】" if x["marked"] else "also ") + x["code"] for x in kpi["reposts"])
    return safe(f"{kpi['code']} {kpi['name']}" + (f" ({reposts})" if reposts else ""))
