"""The run summary as Markdown (実行結果の要約): what a Prefect flow run publishes as its
artifact, so the UI shows what the terminal shows — documents, every warning, notes, rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipeline.report.tabular import cell_text
from pipeline.report.terminal import MAX_DOCUMENT_ROWS, cells_read, summary_line

if TYPE_CHECKING:
    from pipeline.refresh.summary import RunSummary


def md(text: Any) -> str:
    """Document text safe in a Markdown table cell or list item (no markup, one line)."""
    out = cell_text(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


def summary_markdown(summary: RunSummary) -> str:
    """The run summary: its line, the documents (not ok or extracted tonight when there are
    many), every warning of those, failures, notes, validation counts, rows per table."""
    docs = list(summary.documents)
    if len(docs) > MAX_DOCUMENT_ROWS:
        docs = [d for d in docs if d["status"] != "ok" or d.get("extracted_at") == summary.started_at]
    lines = [f"**{md(summary_line(summary))}**", ""]
    lines += _documents(docs, len(summary.documents))
    lines += _problems(summary, docs)
    lines += ["", "| table | rows |", "|---|---:|"]
    lines += [f"| {name} | {n:,} |" for name, n in summary.row_counts.items()]
    return "\n".join(lines) + "\n"


def _documents(docs: Sequence[dict[str, Any]], total: int) -> list[str]:
    lines = [
        f"### Documents ({len(docs)} of {total} shown: the others are unchanged and ok)"
        if len(docs) < total
        else "### Documents",
        "",
        "| document | kind | plan | status | cells read | warnings |",
        "|---|---|---|---|---:|---:|",
    ]
    for d in docs:
        cells = [d["source_path"], d.get("kind") or "?", d.get("plan_id") or "?", d["status"], cells_read(d)]
        lines.append("| " + " | ".join(md(c) for c in cells) + f" | {len(d.get('warnings') or [])} |")
    warned = [d for d in docs if d.get("warnings")]
    if warned:
        lines += ["", f"### Warnings ({sum(len(d['warnings']) for d in warned)})", ""]
        for d in warned:
            lines += [f"- {md(d['source_path'])}"] + [f"  - {md(w)}" for w in d["warnings"]]
    return lines


def _problems(summary: RunSummary, docs: Sequence[dict[str, Any]]) -> list[str]:
    items = [f"- **failed**: {md(d['error'])}" for d in summary.failed]
    items += [
        f"- **partial**: {md(d.get('error') or d['source_path'])}" for d in docs if d["status"] == "partial"
    ]
    items += [f"- removed: {md(p)} is no longer under raw/; its rows were dropped" for p in summary.removed]
    items += [f"- note: {md(m)}" for m in summary.messages]
    counts = summary.validation_counts
    if counts.get("total"):
        items.append(f"- validation: {counts['error']} errors, {counts['warning']} warnings")
    return ["", "### Notes", "", *items] if items else []
