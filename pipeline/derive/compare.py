"""Compare plans by theme: assign SME-policy themes (``schemas/themes.yaml``) to every
measure, initiative and indicator, then put two plans side by side.

Matching is keyword + normalized substring (NFKC, spaces removed): plan texts are short,
formulaic titles where the policy words themselves (創業, 事業承継, 販路 …) carry the theme,
so a tokenizer or fuzzy matching would add cost and false hits, not recall. Every
assignment keeps the words that matched as evidence; a user edits the YAML and reruns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.names import INITIATIVE_MATCH, name_key
from pipeline.derive.link import best_initiative_match
from schemas import HERE as SCHEMA_DIR

Records = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    keywords: tuple[str, ...]
    exclude: tuple[str, ...] = ()


_norm = name_key  # keywords and titles compared in the one compare form (core.names)


@cache
def load_themes(path: Path | None = None) -> tuple[Theme, ...]:
    spec = yaml.safe_load((path or SCHEMA_DIR / "themes.yaml").read_text(encoding="utf-8"))
    return tuple(
        Theme(
            t["id"],
            t["label"],
            tuple(_norm(k) for k in t["keywords"]),
            tuple(_norm(x) for x in t.get("exclude", [])),
        )
        for t in spec["themes"]
    )


@lru_cache(maxsize=65536)  # plans word their measures alike: the same titles recur across plans
def match_themes(text: str | None, themes: tuple[Theme, ...]) -> dict[str, list[str]]:
    """Theme id → the keywords found in ``text`` (treat the result as read-only: it is cached)."""
    s = _norm(text)
    out: dict[str, list[str]] = {}
    for theme in themes:
        t = s
        for phrase in theme.exclude:
            t = t.replace(phrase, "＿")
        found = [k for k in theme.keywords if k and k in t]
        if found:
            out[theme.id] = found
    return out


def _by_plan(records: Records) -> dict[str, Records]:
    """The records of each plan (one pass over every table)."""
    out: dict[str, Records] = {}
    for table in ("measures", "initiatives", "indicators"):
        for r in records.get(table, []):
            out.setdefault(r["plan_id"], {}).setdefault(table, []).append(r)
    return out


def _initiative_key(i: dict[str, Any], kinds: dict[str, str | None]) -> str:
    code = i.get("initiative_code") or f"#{i['seq']}"
    prefix = "sheet " if kinds.get(i.get("source_doc_id")) == "progress_sheets" else ""
    return f"{prefix}{i['policy_code']}-{i['measure_code']}-{code}"


def _same_initiatives(initiatives: list[dict[str, Any]], kinds: dict[str, str | None]) -> dict[str, str]:
    """Initiative key → the key of the one initiative it is (同一の取組): a 再掲 row of the
    action plan → its original; a progress-sheet initiative → the action-plan row of its
    measure it describes (name keys, ``INITIATIVE_MATCH``), or that row's original."""
    rows = [i for i in initiatives if kinds.get(i.get("source_doc_id")) != "progress_sheets"]
    keys = {_initiative_key(i, kinds) for i in rows}
    reposted = {
        _initiative_key(i, kinds): i["reposted_from"]
        for i in rows
        if i.get("reposted_from") in keys and i["reposted_from"] != _initiative_key(i, kinds)
    }

    def original(key: str) -> str:
        seen = {key}
        while key in reposted and reposted[key] not in seen:
            key = reposted[key]
            seen.add(key)
        return key

    same = {k: original(k) for k in reposted}
    by_measure: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i in rows:
        by_measure.setdefault((i["policy_code"], str(i["measure_code"])), []).append(i)
    for i in initiatives:
        if kinds.get(i.get("source_doc_id")) != "progress_sheets":
            continue
        score, best = best_initiative_match(
            i["title"], by_measure.get((i["policy_code"], str(i["measure_code"])), [])
        )
        if best is not None and score >= INITIATIVE_MATCH:
            same[_initiative_key(i, kinds)] = original(_initiative_key(best, kinds))
    return same


def kpi_identity(indicator: dict[str, Any]) -> tuple[str, str, str]:
    """What makes two indicator rows of a plan one KPI (同一指標): type, name key and unit."""
    return indicator["indicator_type"], name_key(indicator["name"]), indicator.get("unit") or ""


def same_indicators(indicators: list[dict[str, Any]]) -> dict[str, str]:
    """Indicator id → the id of the row it repeats, within one plan: a 【再掲】 row, or the
    same KPI listed again under another policy, points to the first row not marked 【再掲】."""
    first: dict[tuple[str, str, str], str] = {}
    for ind in sorted(indicators, key=lambda i: bool(i.get("is_reposted"))):  # stable: document order
        first.setdefault(kpi_identity(ind), ind["indicator_id"])
    return {
        i["indicator_id"]: first[kpi_identity(i)]
        for i in indicators
        if first[kpi_identity(i)] != i["indicator_id"]
    }


def _objects(records: Records, kinds: dict[str, str | None]) -> list[dict[str, Any]]:
    """Measures, initiatives and indicators of one plan, one entry per object (first document
    wins); ``same_as`` names the object an entry repeats (another document's or a 再掲)."""
    objs: dict[tuple[str, str], dict[str, Any]] = {}
    for m in records.get("measures", []):
        objs.setdefault(
            ("measure", f"{m['policy_code']}-{m['measure_code']}"),
            {"text": m["title"], "title": m["title"], "rec": m},
        )
    initiatives = records.get("initiatives", [])
    same = _same_initiatives(initiatives, kinds)
    for i in initiatives:
        key = _initiative_key(i, kinds)
        objs.setdefault(
            ("initiative", key),
            {
                "text": f"{i['title']} {i.get('description') or ''}",
                "title": i["title"],
                "rec": i,
                "same_as": same.get(key),
            },
        )
    repeats = same_indicators(records.get("indicators", []))
    for ind in records.get("indicators", []):
        objs.setdefault(
            ("indicator", ind["indicator_id"]),
            {
                "text": ind["name"],
                "title": ind["name"],
                "rec": ind,
                "same_as": repeats.get(ind["indicator_id"]),
            },
        )
    return [{"object_type": t, "object_key": k, **v} for (t, k), v in objs.items()]


def assign_themes(records: Records, themes: tuple[Theme, ...] | None = None) -> list[dict[str, Any]]:
    """``theme_assignments`` rows for every plan. A measure whose own title names no theme
    inherits those of its sub-measures, initiatives and indicators (evidence says so)."""
    themes = themes or load_themes()
    kinds = {d["doc_id"]: d.get("kind") for d in records.get("documents", [])}
    per_plan = _by_plan(records)
    rows: list[dict[str, Any]] = []
    for plan_id in sorted({p["plan_id"] for p in records.get("plans", [])}):
        objects = _objects(per_plan.get(plan_id, {}), kinds)
        found = {(o["object_type"], o["object_key"]): match_themes(o["text"], themes) for o in objects}
        for o in objects:
            matches = found[(o["object_type"], o["object_key"])]
            if not matches and o["object_type"] == "measure":
                matches = _inherited(o, objects, found)
            rec = o["rec"]
            for theme_id, words in matches.items():
                rows.append(
                    {
                        "plan_id": plan_id,
                        "object_type": o["object_type"],
                        "object_key": o["object_key"],
                        "object_title": o["title"],
                        "theme": theme_id,
                        "evidence": "、".join(words),
                        "same_as": o.get("same_as"),
                        "source_doc_id": rec.get("source_doc_id"),
                        "source_page": rec.get("source_page"),
                    }
                )
    return rows


def _inherited(measure: dict[str, Any], objects: list[dict[str, Any]], found: dict) -> dict[str, list[str]]:
    rec = measure["rec"]
    prefix = f"{rec['policy_code']}-{rec['measure_code']}"
    children = [
        o for o in objects if o["object_type"] == "measure" and o["object_key"].startswith(prefix + ".")
    ]
    if not any(found[("measure", o["object_key"])] for o in children):  # no sub-measures: its own contents
        children = [
            o
            for o in objects
            if o["object_type"] != "measure"
            and o["rec"].get("policy_code") == rec["policy_code"]
            and str(o["rec"].get("measure_code") or "") == rec["measure_code"]
        ]
    out: dict[str, list[str]] = {}
    for o in children:
        for theme_id in found[(o["object_type"], o["object_key"])]:
            out.setdefault(theme_id, [f"via {o['object_type']} 「{o['title'][:30]}」"])
    return out


def comparison_pairs(plans: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each municipal plan against its own prefecture's plan, else against every prefectural plan."""
    prefectural = [p for p in plans if p.get("level") == "prefectural"]
    pairs = []
    for p in plans:
        if p.get("level") != "municipal":
            continue
        own = [q for q in prefectural if q.get("issuer") and q.get("issuer") == p.get("prefecture")]
        pairs += [(p["plan_id"], q["plan_id"]) for q in (own or prefectural)]
    return pairs


def compare(
    records: Records,
    plan_a: str,
    plan_b: str,
    assignments: list[dict[str, Any]] | None = None,
    themes: tuple[Theme, ...] | None = None,
    index: dict | None = None,
    sides: dict | None = None,
) -> list[dict[str, Any]]:
    """``plan_comparison`` rows: per theme, what each plan covers and its indicators.
    ``sides`` memoizes each (plan, theme)'s side across pairs (a prefecture is in many)."""
    themes = themes or load_themes()
    if index is None:
        assignments = assignments if assignments is not None else assign_themes(records, themes)
        index = index_assignments(assignments)
    sides = {} if sides is None else sides
    out = []
    for theme in themes:
        row: dict[str, Any] = {
            "plan_a": plan_a,
            "plan_b": plan_b,
            "theme": theme.id,
            "theme_label": theme.label,
        }
        for side, plan in (("a", plan_a), ("b", plan_b)):
            key = (plan, theme.id)
            if key not in sides:
                sides[key] = _side(index.get(key, []))
            measures, initiatives, indicators, coverage = sides[key]
            row[f"plan_{side}_measures"] = measures
            row[f"plan_{side}_initiatives"] = initiatives
            row[f"plan_{side}_indicators"] = list(indicators)
            row[f"plan_{side}_coverage"] = coverage
        a, b = row["plan_a_coverage"], row["plan_b_coverage"]
        row["covered_by"] = "both" if a and b else plan_a if a else plan_b if b else "none"
        out.append(row)
    return out


def distinct_measures(keys: Iterable[str]) -> int:
    """Measures (施策) counted once: a measure with sub-measures (``1-1`` → ``1-1.1``, ``1-1.2``)
    counts through those of them among ``keys``, and as itself only when none is."""
    keys = set(keys)
    return sum(not any(other.startswith(k + ".") for other in keys) for k in keys)


def _side(mine: list[dict[str, Any]]) -> tuple[int, int, tuple[str, ...], int]:
    """One plan's side of a theme, distinct objects: measures (sub-measures rather than their
    parent), initiatives (once across documents and 再掲), indicators (a 【再掲】 KPI once)."""
    indicators: dict[str, str] = {}
    for a in mine:
        if a["object_type"] == "indicator":
            indicators.setdefault(a.get("same_as") or a["object_key"], a["object_title"])
    measures = distinct_measures(a["object_key"] for a in mine if a["object_type"] == "measure")
    initiatives = len({a.get("same_as") or a["object_key"] for a in mine if a["object_type"] == "initiative"})
    return measures, initiatives, tuple(indicators.values()), measures + initiatives + len(indicators)


#: The theme_assignments columns a comparison reads.
COMPARED = ["plan_id", "theme", "object_type", "object_key", "object_title", "same_as"]


def index_assignments(assignments: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    index: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in assignments:
        index.setdefault((a["plan_id"], a["theme"]), []).append(a)
    return index


def compare_pairs(
    pairs: list[tuple[str, str]],
    assignments: list[dict[str, Any]] | None = None,
    *,
    index: dict | None = None,
    sides: dict | None = None,
) -> list[dict[str, Any]]:
    """``plan_comparison`` rows of ``pairs`` from the theme assignments of their plans (or
    their ``index`` by plan and theme; ``sides`` memoizes each plan's side of a theme)."""
    themes = load_themes()
    index = index if index is not None else index_assignments(assignments or [])
    sides = {} if sides is None else sides
    rows = []
    for a, b in pairs:
        rows += compare({}, a, b, themes=themes, index=index, sides=sides)
    return rows


# --- the comparison report's data -----------------------------------------------------------

LEVELS = ("municipal", "prefectural")


class NotComparable(ValueError):
    """A plan that cannot be compared (unknown id, no documents, nothing read, unknown level)."""


def unknown_plan(plan_id: str, known: Iterable[str], shown: int = 8) -> str:
    """``unknown plan 'x' (known: a, b, … and 1,780 more)``: one line however many plans there are."""
    names = sorted(known)
    if not names:
        return f"unknown plan {plan_id!r} (known: none — run `plan-etl run` first)"
    more = f" … and {len(names) - shown:,} more" if len(names) > shown else ""
    return f"unknown plan {plan_id!r} (known: {', '.join(names[:shown])}{more})"


def check_comparable(records: Records, plan_a: str, plan_b: str) -> None:
    """Raise :class:`NotComparable` with one line when the two plans cannot be compared."""
    plans = {p["plan_id"]: p for p in records.get("plans", [])}
    if plan_a == plan_b:
        raise NotComparable(f"{plan_a!r} compared with itself: give two different plans")
    for pid in (plan_a, plan_b):
        if pid not in plans:
            raise NotComparable(unknown_plan(pid, plans))
        if plans[pid].get("level") not in LEVELS:
            raise NotComparable(
                f"plan {pid!r} has level {plans[pid].get('level')!r}, not one of {', '.join(LEVELS)}: "
                "set `level:` in sources.yaml"
            )
        docs = [d for d in records.get("documents", []) if d.get("plan_id") == pid]
        if not docs:
            raise NotComparable(
                f"plan {pid!r} has no documents: nothing to compare (add them to sources.yaml)"
            )
        if not any(r.get("plan_id") == pid for t in ("measures", "indicators") for r in records.get(t, [])):
            states = ", ".join(f"{d['source_path']} {d.get('status')}" for d in docs)
            raise NotComparable(
                f"plan {pid!r}: no measure or indicator was read from its documents ({states})"
            )


def _latest_value(values: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest value (actual or latest) by fiscal year, then as-of date; actuals win ties."""
    return max(
        values,
        key=lambda v: (v.get("fiscal_year") or 0, str(v.get("as_of_date") or ""), v.get("kind") == "actual"),
        default=None,
    )


def _code_label(ind: dict[str, Any]) -> str:
    return ind.get("indicator_code") or "-".join(
        str(c) for c in (ind.get("policy_code"), ind.get("measure_code")) if c
    )


def _kpi_entry(ind: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": ind["indicator_id"],
        "name": ind["name"],
        "type": ind["indicator_type"],
        "unit": ind.get("unit"),
        "code": _code_label(ind),
        "baseline": ind.get("baseline_value"),
        "baseline_text": ind.get("baseline_text"),
        "target": ind.get("target_value"),
        "target_year": ind.get("target_fiscal_year"),
        "cumulative_target": ind.get("cumulative_target"),
        "reposts": [],
        "themes": [],
        "ids": [ind["indicator_id"]],
    }


def plan_kpis(
    records: Records, assignments: list[dict[str, Any]], plan: str, themes: tuple[Theme, ...]
) -> dict[str, dict[str, Any]]:
    """The distinct KPIs (指標) of a plan, keyed by the id of their first row: each with its
    reposts (``marked`` when the document prints 【再掲】), its themes, and its newest value
    with the value's fiscal year beside the target's."""
    inds = [i for i in records.get("indicators", []) if i["plan_id"] == plan]
    repeats = same_indicators(inds)
    order = {t.id: n for n, t in enumerate(themes)}
    theme_of: dict[str, set[str]] = {}
    for a in assignments:
        if a["plan_id"] == plan and a["object_type"] == "indicator":
            theme_of.setdefault(a["object_key"], set()).add(a["theme"])
    kpis: dict[str, dict[str, Any]] = {}
    for ind in sorted(inds, key=lambda i: i["indicator_id"] in repeats):  # originals first
        iid = ind["indicator_id"]
        entry = kpis.setdefault(repeats.get(iid, iid), _kpi_entry(ind))
        if iid in repeats:
            entry["ids"].append(iid)
            entry["reposts"].append(
                {"indicator_id": iid, "code": _code_label(ind), "marked": bool(ind.get("is_reposted"))}
            )
        entry["themes"] = sorted(
            set(entry["themes"]) | theme_of.get(iid, set()), key=lambda t: order.get(t, len(order))
        )
    values: dict[str, list[dict[str, Any]]] = {}
    for v in records.get("indicator_values", []):
        values.setdefault(v["indicator_id"], []).append(v)
    for entry in kpis.values():
        v = _latest_value([x for iid in entry["ids"] for x in values.get(iid, [])])
        entry["value"] = v and v["value"]
        entry["value_year"] = v and v.get("fiscal_year")
        entry["value_kind"] = v and v.get("kind")
        entry["as_of_text"] = v and v.get("as_of_text")
        entry["years_differ"] = bool(
            v and entry["target_year"] and entry["value_year"] != entry["target_year"]
        )
    return kpis


def _theme_side(row: dict[str, Any], side: str, size: int, kpis: dict, placed: dict) -> dict[str, Any]:
    """One plan's cell of a theme: distinct counts, the share of its measures, its KPIs shown
    here in full (``kpis``) and those shown in full under an earlier theme (``see``)."""
    theme = row["theme"]
    mine = [k for k, e in kpis.items() if theme in e["themes"]]
    return {
        "measures": row[f"plan_{side}_measures"],
        "measure_share": row[f"plan_{side}_measures"] / size if size else 0.0,
        "initiatives": row[f"plan_{side}_initiatives"],
        "kpis": [k for k in mine if placed[k] == theme],
        "see": [(k, placed[k]) for k in mine if placed[k] != theme],
    }


def _plan_summary(records: Records, plan: str, kpis: dict) -> dict[str, Any]:
    """A plan's size in distinct objects: measures, initiatives, KPIs (by type)."""
    p = next((x for x in records.get("plans", []) if x["plan_id"] == plan), {"plan_id": plan})
    measures = {
        f"{m['policy_code']}-{m['measure_code']}" for m in records.get("measures", []) if m["plan_id"] == plan
    }
    kinds = {d["doc_id"]: d.get("kind") for d in records.get("documents", [])}
    mine = {"initiatives": [r for r in records.get("initiatives", []) if r["plan_id"] == plan]}
    initiatives = {
        o.get("same_as") or o["object_key"] for o in _objects(mine, kinds) if o["object_type"] == "initiative"
    }
    return {
        "plan_id": plan,
        "name": f"{p.get('issuer') or plan} ({p.get('level') or '?'})",
        "title": p.get("title") or plan,
        "measures": distinct_measures(measures),
        "initiatives": len(initiatives),
        "kpis": len(kpis),
        "kpis_by_type": {t: sum(e["type"] == t for e in kpis.values()) for t in ("kpi", "outcome", "output")},
    }


def comparison_report(
    records: Records,
    plan_a: str,
    plan_b: str,
    assignments: list[dict[str, Any]] | None = None,
    themes: tuple[Theme, ...] | None = None,
) -> dict[str, Any]:
    """The data the comparison report (HTML and terminal) is built from. Distinct objects
    only: an initiative once across documents and 再掲, a KPI once — shown in full under its
    first theme, referred to under the others, its 【再掲】 rows listed with it. Coverage is a
    share of each plan's measures; the indicator balance keeps the types both plans use."""
    themes = themes or load_themes()
    assignments = assignments if assignments is not None else assign_themes(records, themes)
    rows = compare(records, plan_a, plan_b, assignments, themes)
    kpis = {pid: plan_kpis(records, assignments, pid, themes) for pid in (plan_a, plan_b)}
    plans = {pid: _plan_summary(records, pid, kpis[pid]) for pid in (plan_a, plan_b)}
    placed = {pid: {k: (e["themes"] or [None])[0] for k, e in kpis[pid].items()} for pid in (plan_a, plan_b)}
    theme_rows = []
    for r in rows:
        sides = {
            pid: _theme_side(r, s, plans[pid]["measures"], kpis[pid], placed[pid])
            for s, pid in (("a", plan_a), ("b", plan_b))
        }
        theme_rows.append(
            {"theme": r["theme"], "label": r["theme_label"], "covered_by": r["covered_by"], "sides": sides}
        )
    shared = [t for t in ("kpi", "outcome", "output") if all(plans[p]["kpis_by_type"][t] for p in plans)]
    themed = {(a["plan_id"], a["object_key"]) for a in assignments if a["object_type"] == "measure"}
    return {
        "plan_a": plan_a,
        "plan_b": plan_b,
        "plans": plans,
        "themes": theme_rows,
        "kpis": kpis,
        "unthemed_kpis": {pid: [k for k, e in kpis[pid].items() if not e["themes"]] for pid in plans},
        "balance_types": shared,
        "unassigned_measures": list(
            {
                (m["plan_id"], f"{m['policy_code']}-{m['measure_code']}"): m
                for m in records.get("measures", [])
                if m["plan_id"] in plans
                and (m["plan_id"], f"{m['policy_code']}-{m['measure_code']}") not in themed
            }.values()
        ),
        "rows": rows,
    }
