"""Plan-level linking across the documents of one plan.

Progress sheets print KPI names without codes; the action plan of the same plan cites the
same KPIs by code (``2-3_商工会・商工会議所の相談・指導件数(件)``). Linking gives each KPI row
its ``indicator_code`` by fuzzy name match among the references of the same policy
(rapidfuzz; names differ by typos such as 出展/出店 or an added の).
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz

from core.names import KPI_LINK, name_key


def link_indicator_codes(tables: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Fill ``indicator_code`` of KPI indicators in place; return messages about what could not be linked."""
    messages: list[str] = []
    refs_by_plan: dict[str, dict[str, dict[str, Any]]] = {}
    for ref in tables.get("kpi_references", []):
        code = ref["indicator_code"]
        best = refs_by_plan.setdefault(ref["plan_id"], {}).get(code)
        # Prefer the spelling that states a unit (the canonical one, not "…の増").
        if best is None or (not best.get("unit") and ref.get("unit")):
            refs_by_plan[ref["plan_id"]][code] = ref
    kpis_by_plan: dict[str, list[dict[str, Any]]] = {}
    for i in tables.get("indicators", []):
        if i["indicator_type"] == "kpi":
            kpis_by_plan.setdefault(i["plan_id"], []).append(i)
    for plan_id, refs in refs_by_plan.items():
        kpis = kpis_by_plan.get(plan_id, [])
        taken: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        for ind in kpis:
            if ind.get("indicator_code"):
                continue
            candidates = [
                (code, ref) for code, ref in refs.items() if code.split("-")[0] == ind["policy_code"]
            ]
            scored = sorted(
                (
                    (fuzz.ratio(name_key(ind["name"]), name_key(ref["name"])), code)
                    for code, ref in candidates
                ),
                reverse=True,
            )
            if not scored or scored[0][0] < KPI_LINK:
                messages.append(
                    f"{plan_id}: KPI {ind['name']!r} (policy {ind['policy_code']}) matches no KPI code "
                    f"cited in the action plan"
                )
                continue
            score, code = scored[0]
            slot = (ind["policy_code"], code)
            if slot in taken and taken[slot][0] >= score:
                messages.append(
                    f"{plan_id}: KPI {ind['name']!r} and {taken[slot][1]['name']!r} both match code {code}"
                )
                continue
            if slot in taken:
                taken[slot][1]["indicator_code"] = None
            ind["indicator_code"] = code
            taken[slot] = (score, ind)
    return messages


def link_plan_indicators(records: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One row per indicator of a plan (a filled-in sheet repeats them: the first document by
    path wins), then KPI codes linked afresh; ``indicator_code_source`` says which codes
    the documents printed and which were linked. In place; returns the linker's messages."""
    seen: set[str] = set()
    unique = []
    for ind in records.get("indicators", []):
        if ind["indicator_id"] not in seen:
            seen.add(ind["indicator_id"])
            unique.append(ind)
    records["indicators"] = unique
    for ind in unique:
        if ind.get("indicator_code_source") == "linked":  # carried over from an earlier link
            ind["indicator_code"] = None
    before = {id(i): i.get("indicator_code") for i in unique}
    messages = link_indicator_codes(records)
    for ind in unique:
        if ind.get("indicator_code") and not before[id(ind)]:
            ind["indicator_code_source"] = "linked"
        elif ind.get("indicator_code"):
            ind.setdefault("indicator_code_source", "document")
    return messages + _drop_listed_twice(records)


def _drop_listed_twice(records: dict[str, list[dict[str, Any]]]) -> list[str]:
    """A KPI an action plan lists (関連KPI一覧 / 指標・目標値) that another document of the plan
    states too — a progress sheet's KPI with the same code, printed or linked, or for a KPI the
    action plan names without a code (相談件数：年60件) one of the same policy and name (fuzzy, as
    codes are linked) — is one indicator: the other document's row stays (its values and
    occurrences point to it), the action plan's is dropped; a target or baseline they disagree
    on is a message. In place."""
    action_plans = {d["doc_id"] for d in records.get("documents", []) if d.get("kind") == "action_plan"}
    others = [
        i
        for i in records.get("indicators", [])
        if i["indicator_type"] == "kpi" and i.get("source_doc_id") not in action_plans
    ]
    kept, messages = [], []
    for ind in records.get("indicators", []):
        other = _same_kpi(ind, others) if ind.get("source_doc_id") in action_plans else None
        if other is None:
            kept.append(ind)
            continue
        for field in ("baseline_value", "target_value"):
            if ind.get(field) is not None and other.get(field) is not None and ind[field] != other[field]:
                messages.append(
                    f"{ind['plan_id']}: KPI {ind.get('indicator_code') or ''} {other['name']!r}: {field} "
                    f"{ind[field]} in the action plan, {other[field]} in the other document (kept)"
                )
    records["indicators"] = kept
    return messages


def _same_kpi(ind: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The KPI of another document of ``ind``'s plan that is ``ind``: the same code, or with no
    code the same policy and a name scoring at least ``KPI_LINK``."""
    if ind["indicator_type"] != "kpi":
        return None
    mine = [o for o in others if o["plan_id"] == ind["plan_id"]]
    if ind.get("indicator_code"):
        return next((o for o in mine if o.get("indicator_code") == ind["indicator_code"]), None)
    scored = [
        (fuzz.ratio(name_key(ind["name"]), name_key(o["name"])), n, o)
        for n, o in enumerate(mine)
        if o.get("policy_code") == ind.get("policy_code")
    ]
    best = max(scored, default=None, key=lambda t: (t[0], -t[1]))  # the first of the best
    return best[2] if best and best[0] >= KPI_LINK else None


def best_initiative_match(
    title: str | None, candidates: list[dict[str, Any]]
) -> tuple[float, dict[str, Any] | None]:
    """The action-plan row (取組一覧) among ``candidates`` — the rows of one measure — that a
    progress-sheet initiative (主な取り組み) titled ``title`` describes, with its score:
    rapidfuzz ``partial_ratio`` of name keys against the row's short name (取組略称) or its
    text, the best of the two. Scores below ``core.names.INITIATIVE_MATCH`` are no match."""
    mine = name_key(title)
    best: tuple[float, dict[str, Any] | None] = (0.0, None)
    for c in candidates:
        score = max(
            fuzz.partial_ratio(mine, name_key(c["title"])),
            fuzz.partial_ratio(mine, name_key(c.get("description"))),
        )
        if best[1] is None or score > best[0]:
            best = (score, c)
    return best
