"""Self-contained HTML pages (no external assets, document text escaped)."""

from __future__ import annotations

import html
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

FONT_STACK = (
    '"Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", "Noto Sans CJK JP", '
    '"IPAexGothic", "IPAGothic", sans-serif'
)

CSS = f"""
body {{ font-family: {FONT_STACK}; margin: 2rem; color: #222; max-width: 1200px; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }}
th, td {{ border: 1px solid #ddd; padding: .35rem .5rem; vertical-align: top; text-align: left; }}
th {{ background: #f4f6f8; }} .error {{ color: #b00020; font-weight: bold; }} .warning {{ color: #a15c00; }}
.ok {{ color: #2e7d32; }} .summary span {{ margin-right: 1.5rem; }} ul {{ margin: 0; padding-left: 1.2rem; }}
details summary {{ cursor: pointer; }}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>"
    )


SHOWN_OPEN = 10  # findings of an expectation listed open; the rest behind "N more findings"


@dataclass
class Findings:
    """Every finding (検証所見, ``validation_findings`` rows) of the report's failed
    expectations, each linked to its document: ``file.pdf#page=N`` for a PDF page, the text
    export for a line, by a link relative to the report (only for a file that exists)."""

    rows: list[dict[str, Any]]
    links: dict[str, str] = field(default_factory=dict)  # doc_id → href relative to the report
    own_docs: set[tuple] = field(default_factory=set)  # (suite, expectation, plan, doc) of a document's row
    _by_key: dict[tuple, list[dict[str, Any]]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for f in self.rows:
            self._by_key.setdefault((f["suite"], f["expectation"], f["plan_id"]), []).append(f)

    def of(self, result: dict[str, Any]) -> list[dict[str, Any]]:
        """The findings of one ``validation_results`` row: by plan, and by document when the
        row is a document's (a row of no document takes those no document's row took)."""
        key = (result["suite"], result["expectation"], result["plan_id"])
        doc = result.get("source_doc_id")
        return [
            f
            for f in self._by_key.get(key, [])
            if f.get("source_doc_id") == doc
            or (doc is None and (*key, f.get("source_doc_id")) not in self.own_docs)
        ]

    def item(self, finding: dict[str, Any]) -> str:
        """One finding as a list item: its place (linked) and its message."""
        href = self.links.get(finding.get("source_doc_id") or "")
        page, line = finding.get("source_page"), finding.get("source_row")
        if not href:
            return f"<li>{esc(finding['message'])}</li>"
        if page is not None and href.lower().endswith(".pdf"):
            href, place = f"{href}#page={int(page)}", f"p.{int(page)}"
        elif line is not None:  # a text export's line, a workbook's row
            place = f"{'line' if href.lower().endswith('.txt') else 'row'} {int(line)}"
        else:
            place = "document"
        return f'<li><a href="{esc(href)}">{place}</a> {esc(finding["message"])}</li>'


def document_links(documents: list[dict[str, Any]], raw_dir: Path | None, report_dir: Path) -> dict[str, str]:
    """doc_id → the document's path relative to ``report_dir`` (URL-quoted), for the
    documents whose file is under ``raw_dir``."""
    if raw_dir is None:
        return {}
    out = {}
    for d in documents:
        file = Path(raw_dir) / d["source_path"]
        if file.is_file():
            rel = os.path.relpath(file.resolve(), report_dir.resolve())
            out[d["doc_id"]] = quote(Path(rel).as_posix())
    return out


def _finding_list(result: dict[str, Any], summary: str, findings: Findings | None) -> str:
    """Every finding of a failed expectation (the first ones open, all of them behind a
    <details>), or the ``details`` summary when the findings are not at hand."""
    if findings is None:
        return "<ul>" + "".join(f"<li>{esc(f)}</li>" for f in summary.split(" | ") if f) + "</ul>"
    mine = findings.of(result)
    shown = "<ul>" + "".join(findings.item(f) for f in mine[:SHOWN_OPEN]) + "</ul>"
    if len(mine) <= SHOWN_OPEN:
        return shown
    rest = "".join(findings.item(f) for f in mine[SHOWN_OPEN:])
    more = len(mine) - SHOWN_OPEN
    return (
        f"{shown}<details><summary>{more} more findings (all {len(mine)})</summary><ul>{rest}</ul></details>"
    )


def validation_html(
    results: list[dict[str, Any]],
    title: str,
    passed_counts: dict[str | None, int] | None = None,
    findings: Findings | None = None,
) -> str:
    """The report page. With ``passed_counts`` (plan → passed expectations), ``results`` hold
    the failures only and passed expectations are shown as counts. With ``findings``, each
    failed expectation lists every finding, linked to its page or line."""
    if findings is not None:
        findings.own_docs = {
            (r["suite"], r["expectation"], r["plan_id"], r.get("source_doc_id"))
            for r in results
            if r.get("source_doc_id") is not None
        }
    by_plan: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_plan[r.get("plan_id") or "(all plans)"].append(r)
    for plan in passed_counts or {}:
        by_plan.setdefault(plan or "(all plans)", [])
    failed = [r for r in results if not r["success"]]
    n_passed = sum((passed_counts or {}).values()) + len(results) - len(failed)
    parts = [
        '<p class="summary">'
        f"<span>{len(failed) + n_passed} expectations run</span>"
        f'<span class="error">{sum(r["severity"] == "error" for r in failed)} errors</span>'
        f'<span class="warning">{sum(r["severity"] == "warning" for r in failed)} warnings</span>'
        f'<span class="ok">{n_passed} passed</span></p>'
    ]
    for plan, rows in sorted(by_plan.items()):
        parts.append(f"<h2>{esc(plan)}</h2>")
        for severity in ("error", "warning"):
            bad = [r for r in rows if not r["success"] and r["severity"] == severity]
            if not bad:
                continue
            parts.append(
                f'<h3 class="{severity}">{severity}s ({len(bad)})</h3><table>'
                "<tr><th>suite</th><th>expectation</th><th>findings</th><th>details</th></tr>"
            )
            for r in bad:
                meaning, _, summary = (r.get("details") or "").partition(" — ")
                parts.append(
                    f"<tr><td>{esc(r['suite'])}</td><td>{esc(r['expectation'])}<br><small>{esc(meaning)}"
                    f"</small></td><td>{r['unexpected_count']}</td>"
                    f"<td>{_finding_list(r, summary, findings)}</td></tr>"
                )
            parts.append("</table>")
        if passed_counts is not None:
            parts.append(f'<p class="ok">{passed_counts.get(plan, 0)} passed</p>')
            continue
        ok = [r for r in rows if r["success"]]
        parts.append(
            f"<details><summary>{len(ok)} passed</summary><ul>"
            + "".join(f"<li>{esc(r['expectation'])} — {esc(r.get('details'))}</li>" for r in ok)
            + "</ul></details>"
        )
    return page(title, "".join(parts))


REPORT_PASSED_LIMIT = 5000  # above this many results, passed expectations are counted, not listed


@dataclass
class ReportInput:
    """What the validation report shows (検証レポート): ``validation_results``, and to list
    and link every finding, ``validation_findings``, the ``documents`` and the folder the
    documents are in (rows or Arrow tables)."""

    results: Any
    findings: Any = None
    documents: Any = None
    raw_dir: Path | None = None

    def findings_of(self, report_dir: Path) -> Findings | None:
        if self.findings is None:
            return None
        documents = self.documents if self.documents is not None else []
        if not isinstance(documents, list):
            documents = documents.select(["doc_id", "source_path"])
        links = document_links(_rows(documents), self.raw_dir, report_dir)
        return Findings(_rows(self.findings), links)


def write_report(report: Any, path: Path, title: str = "plan-etl validation") -> Path:
    """A self-contained HTML report (no external assets) of the results, by plan and severity.

    ``report`` is a :class:`ReportInput`, or the ``validation_results`` rows or Arrow table
    alone. Failures are always spelled out (with the findings: every one, linked to its PDF
    page or text line by a path relative to the report's folder); passed expectations are
    listed unless there are thousands (a warehouse of many plans), then counted per plan.
    """
    report = report if isinstance(report, ReportInput) else ReportInput(report)
    results, findings = report.results, report.findings_of(Path(path).parent)
    if not isinstance(results, list):  # Arrow: only the failures become Python objects
        import pyarrow.compute as pc

        if results.num_rows > REPORT_PASSED_LIMIT:
            ok = pc.fill_null(results["success"], False)
            passed = results.filter(ok).group_by("plan_id").aggregate([("success", "count")])
            counts = dict(
                zip(passed["plan_id"].to_pylist(), passed["success_count"].to_pylist(), strict=True)
            )
            failed = results.filter(pc.invert(ok)).to_pylist()
            html = validation_html(failed, title, passed_counts=counts, findings=findings)
        else:
            html = validation_html(results.to_pylist(), title, findings=findings)
    else:
        html = validation_html(results, title, findings=findings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def _rows(table: Any) -> list[dict[str, Any]]:
    return table if isinstance(table, list) else table.to_pylist()
