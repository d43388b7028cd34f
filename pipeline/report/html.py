"""Self-contained HTML pages (no external assets, document text escaped)."""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path
from typing import Any

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
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>"
    )


def validation_html(
    results: list[dict[str, Any]], title: str, passed_counts: dict[str | None, int] | None = None
) -> str:
    """The report page. With ``passed_counts`` (plan → passed expectations), ``results`` hold
    the failures only and passed expectations are shown as counts."""
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
                meaning, _, findings = (r.get("details") or "").partition(" — ")
                items = "".join(f"<li>{esc(f)}</li>" for f in findings.split(" | ") if f)
                parts.append(
                    f"<tr><td>{esc(r['suite'])}</td><td>{esc(r['expectation'])}<br><small>{esc(meaning)}"
                    f"</small></td><td>{r['unexpected_count']}</td><td><ul>{items}</ul></td></tr>"
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


def write_report(results: Any, path: Path, title: str = "plan-etl validation") -> Path:
    """A self-contained HTML report (no external assets) of the results, by plan and severity.

    ``results`` are ``validation_results`` rows or that table as Arrow. Failures are always
    spelled out; passed expectations are listed unless there are thousands (a warehouse of
    many plans), then counted per plan.
    """
    if not isinstance(results, list):  # Arrow: only the failures become Python objects
        import pyarrow.compute as pc

        if results.num_rows > REPORT_PASSED_LIMIT:
            ok = pc.fill_null(results["success"], False)
            passed = results.filter(ok).group_by("plan_id").aggregate([("success", "count")])
            counts = dict(
                zip(passed["plan_id"].to_pylist(), passed["success_count"].to_pylist(), strict=True)
            )
            failed = results.filter(pc.invert(ok)).to_pylist()
            html = validation_html(failed, title, passed_counts=counts)
        else:
            html = validation_html(results.to_pylist(), title)
    else:
        html = validation_html(results, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
