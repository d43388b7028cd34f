"""Compare plans by theme: assign SME-policy themes (``schemas/themes.yaml``) to every
measure, initiative and indicator, then put two plans side by side.

Matching is keyword + normalized substring (NFKC, spaces removed): plan texts are short,
formulaic titles where the policy words themselves (創業, 事業承継, 販路 …) carry the theme,
so a tokenizer or fuzzy matching would add cost and false hits, not recall. Every
assignment keeps the words that matched as evidence; a user edits the YAML and reruns.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.names import name_key
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


def _objects(records: Records, kinds: dict[str, str | None]) -> list[dict[str, Any]]:
    """Measures, initiatives and indicators of one plan, one entry per object (first document wins)."""
    objs: dict[tuple[str, str], dict[str, Any]] = {}
    for m in records.get("measures", []):
        objs.setdefault(
            ("measure", f"{m['policy_code']}-{m['measure_code']}"),
            {"text": m["title"], "title": m["title"], "rec": m},
        )
    for i in records.get("initiatives", []):
        code = i.get("initiative_code") or f"#{i['seq']}"
        prefix = "sheet " if kinds.get(i.get("source_doc_id")) == "progress_sheets" else ""
        objs.setdefault(
            ("initiative", f"{prefix}{i['policy_code']}-{i['measure_code']}-{code}"),
            {"text": f"{i['title']} {i.get('description') or ''}", "title": i["title"], "rec": i},
        )
    for ind in records.get("indicators", []):
        objs.setdefault(
            ("indicator", ind["indicator_id"]), {"text": ind["name"], "title": ind["name"], "rec": ind}
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


def _side(mine: list[dict[str, Any]]) -> tuple[int, int, tuple[str, ...], int]:
    """One plan's side of a theme: measures, initiatives, indicator names (once each), objects."""
    names = [a["object_title"] for a in mine if a["object_type"] == "indicator"]
    return (
        sum(a["object_type"] == "measure" for a in mine),
        sum(a["object_type"] == "initiative" for a in mine),
        tuple(dict.fromkeys(names)),
        len(mine),
    )


#: The theme_assignments columns a comparison reads.
COMPARED = ["plan_id", "theme", "object_type", "object_title"]


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
