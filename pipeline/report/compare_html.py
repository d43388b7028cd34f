"""The comparison report: one self-contained HTML page (inline SVG, no CDN, text escaped)."""

from __future__ import annotations

from typing import Any

from pipeline.derive.compare import Records
from pipeline.report.html import esc, page


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and v.is_integer():
        return f"{int(v):,}"
    return f"{v:,}" if isinstance(v, int | float) else str(v)


def _heatmap(rows: list[dict[str, Any]], labels: tuple[str, str]) -> str:
    cell_w, cell_h, label_w, top = 150, 24, 190, 40
    peak = max([r["plan_a_coverage"] for r in rows] + [r["plan_b_coverage"] for r in rows] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + 2 * cell_w + 10}" '
        f'height="{top + cell_h * len(rows) + 10}" role="img" aria-label="theme coverage">'
    ]
    for j, label in enumerate(labels):
        parts.append(
            f'<text x="{label_w + j * cell_w + cell_w / 2}" y="{top - 12}" text-anchor="middle" '
            f'font-size="13" font-weight="bold">{esc(label)}</text>'
        )
    for i, r in enumerate(rows):
        y = top + i * cell_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="13">{esc(r["theme_label"])}</text>'
        )
        for j, n in enumerate((r["plan_a_coverage"], r["plan_b_coverage"])):
            alpha = 0.08 + 0.92 * (n / peak) if n else 0
            fill = f"rgba(21, 101, 192, {alpha:.2f})" if n else "#f3f3f3"
            x = label_w + j * cell_w
            parts.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}"/>')
            color = "#fff" if n / peak > 0.55 else "#222"
            parts.append(
                f'<text x="{x + cell_w / 2}" y="{y + 16}" text-anchor="middle" font-size="12" '
                f'fill="{color}">{n}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _indicator_rows(records: Records, assignments: list[dict[str, Any]], plan: str, theme: str) -> str:
    ids = [
        a["object_key"]
        for a in assignments
        if a["plan_id"] == plan and a["theme"] == theme and a["object_type"] == "indicator"
    ]
    by_id = {i["indicator_id"]: i for i in records.get("indicators", [])}
    values: dict[str, dict[str, Any]] = {}
    for v in records.get("indicator_values", []):
        values[v["indicator_id"]] = v  # the last (latest or newest actual) wins
    out = []
    for iid in dict.fromkeys(ids):
        i = by_id.get(iid)
        if not i:
            continue
        v = values.get(iid)
        latest = f"{_fmt(v['value'])} ({esc(v.get('as_of_text') or v.get('fiscal_year'))})" if v else "—"
        target = _fmt(i.get("target_value")) + (
            f" (FY{i['target_fiscal_year']})" if i.get("target_fiscal_year") else ""
        )
        out.append(
            f"<tr><td>{esc(i['name'])}</td><td>{esc(i['indicator_type'])}</td><td>{esc(i.get('unit') or '—')}</td>"
            f"<td>{esc(_fmt(i.get('baseline_value')))}</td><td>{esc(target)}</td><td>{latest}</td></tr>"
        )
    if not out:
        return "<p><small>no indicator</small></p>"
    return (
        "<table><tr><th>indicator</th><th>type</th><th>unit</th><th>baseline</th><th>target</th>"
        "<th>latest value</th></tr>" + "".join(out) + "</table>"
    )


def _balance(records: Records, plan: str) -> str:
    counts = {t: 0 for t in ("kpi", "outcome", "output")}
    for i in records.get("indicators", []):
        if i["plan_id"] == plan:
            counts[i["indicator_type"]] = counts.get(i["indicator_type"], 0) + 1
    total = max(sum(counts.values()), 1)
    bars = "".join(
        f'<rect x="0" y="{k * 22}" width="{300 * n / total:.0f}" height="18" fill="#5c8ac7"/>'
        f'<text x="{300 * n / total + 6:.0f}" y="{k * 22 + 14}" font-size="12">{t} {n}</text>'
        for k, (t, n) in enumerate(counts.items())
    )
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="380" height="70">{bars}</svg>'


def comparison_html(records: Records, rows: list[dict[str, Any]], assignments: list[dict[str, Any]]) -> str:
    a, b = rows[0]["plan_a"], rows[0]["plan_b"]
    plans = {p["plan_id"]: p for p in records.get("plans", [])}

    def name(pid: str) -> str:
        p = plans.get(pid, {})
        return f"{p.get('issuer') or pid} ({p.get('level') or '?'})"

    body = [
        f"<p>{esc(plans.get(a, {}).get('title') or a)} <b>vs</b> {esc(plans.get(b, {}).get('title') or b)}</p>",
        "<h2>Theme coverage (measures + initiatives + indicators)</h2>",
        _heatmap(rows, (name(a), name(b))),
    ]
    only = [(r["theme_label"], r["covered_by"]) for r in rows if r["covered_by"] in (a, b)]
    body.append(
        "<h2>Themes only one plan covers</h2><ul>"
        + "".join(f"<li>{esc(label)} — only {esc(name(pid))}</li>" for label, pid in only)
        + "</ul>"
    )
    body.append(
        "<h2>Output / outcome balance</h2><table><tr>"
        + "".join(f"<th>{esc(name(pid))}</th>" for pid in (a, b))
        + "</tr><tr>"
        + "".join(f"<td>{_balance(records, pid)}</td>" for pid in (a, b))
        + "</tr></table>"
    )
    body.append("<h2>Indicators side by side</h2>")
    for r in rows:
        if r["covered_by"] == "none":
            continue
        body.append(
            f"<h3>{esc(r['theme_label'])}</h3><table><tr><th>{esc(name(a))}</th><th>{esc(name(b))}</th></tr>"
            f"<tr><td>{_indicator_rows(records, assignments, a, r['theme'])}</td>"
            f"<td>{_indicator_rows(records, assignments, b, r['theme'])}</td></tr></table>"
        )
    body.append("<h2>Unassigned measures</h2>")
    themed = {(x["plan_id"], x["object_key"]) for x in assignments if x["object_type"] == "measure"}
    missing = [
        m
        for m in records.get("measures", [])
        if m["plan_id"] in (a, b) and (m["plan_id"], f"{m['policy_code']}-{m['measure_code']}") not in themed
    ]
    body.append(
        "<ul>"
        + "".join(
            f"<li>{esc(m['plan_id'])} {esc(m['policy_code'])}-{esc(m['measure_code'])} {esc(m['title'])}</li>"
            for m in missing
        )
        + "</ul>"
        if missing
        else "<p>Every measure of both plans has at least one theme.</p>"
    )
    return page(f"plan-etl compare: {name(a)} vs {name(b)}", "".join(body))
