"""The comparison report: one self-contained HTML page (inline SVG, no CDN, text escaped),
rendered from :func:`pipeline.derive.compare.comparison_report` — distinct objects, coverage
as a share of each plan's measures, every value with its fiscal year, each KPI once."""

from __future__ import annotations

from typing import Any

from pipeline.report.html import esc, page

CSS = (
    "<style>.repost{color:#8a5a00;font-size:.85em;white-space:nowrap}.differ{color:#b00020;font-weight:bold}"
    ".see td{color:#666;font-size:.85em}</style>"
)


def fmt_number(v: Any) -> str:
    """``13386.0`` → ``13,386``; ``None`` → ``—``."""
    if v is None:
        return "—"
    if isinstance(v, float) and v.is_integer():
        return f"{int(v):,}"
    return f"{v:,}" if isinstance(v, int | float) else str(v)


def _heatmap(report: dict[str, Any]) -> str:
    """Theme × plan: the share of each plan's measures (施策) that have the theme (the colour
    scaled to the largest share shown)."""
    a, b = report["plan_a"], report["plan_b"]
    cell_w, cell_h, label_w, top = 200, 24, 190, 48
    rows = report["themes"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + 2 * cell_w + 10}" '
        f'height="{top + cell_h * len(rows) + 10}" role="img" aria-label="share of measures by theme">'
    ]
    for j, pid in enumerate((a, b)):
        p, x = report["plans"][pid], label_w + j * cell_w + cell_w / 2
        parts.append(
            f'<text x="{x}" y="{top - 24}" text-anchor="middle" font-size="13" font-weight="bold">'
            f'{esc(p["name"])}</text><text x="{x}" y="{top - 8}" text-anchor="middle" font-size="12">'
            f"of {p['measures']} measures</text>"
        )
    peak = max([s["measure_share"] for r in rows for s in r["sides"].values()] + [0.01])
    for i, r in enumerate(rows):
        y = top + i * cell_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="13">{esc(r["label"])}</text>'
        )
        for j, pid in enumerate((a, b)):
            side, size = r["sides"][pid], report["plans"][pid]["measures"]
            share = side["measure_share"]
            fill = f"rgba(21, 101, 192, {0.1 + 0.9 * share / peak:.2f})" if share else "#f3f3f3"
            x = label_w + j * cell_w
            color = "#fff" if share / peak > 0.55 else "#222"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}"/>'
                f'<text x="{x + cell_w / 2}" y="{y + 16}" text-anchor="middle" font-size="12" '
                f'fill="{color}">{share:.0%} ({side["measures"]}/{size}){_besides(side)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _besides(side: dict[str, Any]) -> str:
    """A theme no measure has, though initiatives or KPIs do: say so in the cell."""
    kpis = len(side["kpis"]) + len(side["see"])
    if side["measures"] or not (side["initiatives"] or kpis):
        return ""
    return f" · {side['initiatives']} init., {kpis} KPI"


def _value_cell(e: dict[str, Any]) -> str:
    """The newest value with its fiscal year (and as-of text); flagged when its year is not
    the target's."""
    if e["value"] is None:
        return "—"
    year = f"FY{e['value_year']}" if e["value_year"] else "year not stated"
    as_of = f", {esc(e['as_of_text'])}" if e.get("as_of_text") else ""
    text = f"{esc(fmt_number(e['value']))} ({esc(e['value_kind'] or 'value')} {year}{as_of})"
    if e["years_differ"]:
        text += f' <span class="differ">≠ target year FY{e["target_year"]}</span>'
    return text


def _kpi_row(e: dict[str, Any]) -> str:
    target = "—"
    if e["target"] is not None:
        year = f"FY{e['target_year']}" if e["target_year"] else "year not stated"
        total = (
            f", cumulative {fmt_number(e['cumulative_target'])}" if e["cumulative_target"] is not None else ""
        )
        target = f"{fmt_number(e['target'])} ({year}{total})"
    reposts = "".join(
        f'<br><span class="repost">{"【再掲】" if r["marked"] else "also"} {esc(r["code"])}</span>'
        for r in e["reposts"]
    )
    baseline = fmt_number(e["baseline"])
    return (
        f'<tr data-kpi="{esc(e["key"])}"><td>{esc(e["code"])}{reposts}</td><td>{esc(e["name"])}</td>'
        f"<td>{esc(e['type'])}</td><td>{esc(e['unit'] or '—')}</td><td>{esc(baseline)}</td>"
        f"<td>{esc(target)}</td><td>{_value_cell(e)}</td></tr>"
    )


HEADER = (
    "<tr><th>code</th><th>indicator</th><th>type</th><th>unit</th><th>baseline (当初値, no year printed)</th>"
    "<th>target</th><th>newest value</th></tr>"
)


def kpi_table(
    kpis: dict[str, dict[str, Any]], keys: list[str], see: list[tuple[str, str]], labels: dict
) -> str:
    """A plan's KPIs of one theme: those shown here in full, then one line for each KPI shown
    in full under an earlier theme."""
    if not keys and not see:
        return "<p><small>no indicator</small></p>"
    rows = [_kpi_row(kpis[k]) for k in keys] + [
        f'<tr class="see" data-kpi-ref="{esc(k)}"><td colspan="7">{esc(kpis[k]["name"])} — shown under '
        f"{esc(labels.get(theme, theme))}</td></tr>"
        for k, theme in see
    ]
    return "<table>" + HEADER + "".join(rows) + "</table>"


def _balance(report: dict[str, Any]) -> str:
    """Indicator types both plans use, like for like; none shared → one sentence, no chart."""
    plans = report["plans"]
    counts = "; ".join(
        f"{esc(p['name'])}: " + ", ".join(f"{t} {n}" for t, n in p["kpis_by_type"].items() if n)
        for p in plans.values()
    )
    shared = report["balance_types"]
    if not shared:
        return f"<p>The plans share no indicator type ({counts}), so their balance is not compared.</p>"
    rows = "".join(
        f"<tr><td>{t}</td>" + "".join(f"<td>{p['kpis_by_type'][t]}</td>" for p in plans.values()) + "</tr>"
        for t in shared
    )
    head = "".join(f"<th>{esc(p['name'])}</th>" for p in plans.values())
    return f"<p>Distinct indicators of the types both plans use ({counts}).</p><table><tr><th>type</th>{head}</tr>{rows}</table>"


def _side_by_side(report: dict[str, Any]) -> list[str]:
    a, b = report["plan_a"], report["plan_b"]
    labels = {r["theme"]: r["label"] for r in report["themes"]}
    names = {pid: report["plans"][pid]["name"] for pid in (a, b)}
    out = []
    for r in report["themes"]:
        if r["covered_by"] == "none":
            continue
        cells = "".join(
            f"<td>{kpi_table(report['kpis'][pid], r['sides'][pid]['kpis'], r['sides'][pid]['see'], labels)}</td>"
            for pid in (a, b)
        )
        out.append(
            f'<h3>{esc(r["label"])}</h3><table class="theme" data-theme="{esc(r["theme"])}"><tr>'
            f"<th>{esc(names[a])}</th><th>{esc(names[b])}</th></tr><tr>{cells}</tr></table>"
        )
    unthemed = "".join(
        f"<h3>{esc(names[pid])}</h3>{kpi_table(report['kpis'][pid], keys, [], labels)}"
        for pid, keys in report["unthemed_kpis"].items()
        if keys
    )
    if unthemed:
        out.append("<h2>Indicators with no theme</h2>" + unthemed)
    return out


def comparison_html(report: dict[str, Any]) -> str:
    """The report page of ``report`` (:func:`pipeline.derive.compare.comparison_report`)."""
    a, b = report["plan_a"], report["plan_b"]
    plans = report["plans"]
    body = [
        CSS,
        f"<p>{esc(plans[a]['title'])} <b>vs</b> {esc(plans[b]['title'])}</p><p>"
        + "; ".join(
            f"{esc(p['name'])}: {p['measures']} measures, {p['initiatives']} initiatives, {p['kpis']} KPIs"
            for p in plans.values()
        )
        + "</p>",
        "<p><small>Counted once each: a measure (sub-measures rather than their parent), an initiative "
        "(the action plan's row and the progress sheets' line for it are one; a 再掲 row is its "
        "original), a KPI (its 【再掲】 rows and its repeats under other policies are listed with it).</small></p>",
        "<h2>Theme coverage: share of each plan's measures</h2>",
        _heatmap(report),
    ]
    only = [r for r in report["themes"] if r["covered_by"] in (a, b)]
    body.append(
        "<h2>Themes only one plan covers</h2><ul>"
        + "".join(f"<li>{esc(r['label'])} — only {esc(plans[r['covered_by']]['name'])}</li>" for r in only)
        + "</ul>"
    )
    body.append("<h2>Indicator balance</h2>" + _balance(report))
    body.append("<h2>Indicators side by side</h2>")
    body += _side_by_side(report)
    missing = report["unassigned_measures"]
    body.append("<h2>Unassigned measures</h2>")
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
    return page(f"plan-etl compare: {plans[a]['name']} vs {plans[b]['name']}", "".join(body))
