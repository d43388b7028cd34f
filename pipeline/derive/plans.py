"""Plan-level derivations: from the extracted rows of some plans to the tables computed
across a plan's documents — linked KPI codes, evaluations, draft overall grades, themes.

Each plan's derived rows depend on that plan's rows alone, which is what lets a nightly
refresh recompute only the plans that changed (:mod:`pipeline.state.previous`). Plans are derived
one at a time, so the cost grows with the number of plans, never with its square.
"""

from __future__ import annotations

from typing import Any

from pipeline.derive.compare import assign_themes
from pipeline.derive.evaluate import evaluate, propose_overall
from pipeline.derive.link import link_plan_indicators
from pipeline.discover.manifest import Plan

Records = dict[str, list[dict[str, Any]]]
DERIVED = ("evaluations", "overall_proposals", "theme_assignments")


def split_by_plan(records: Records) -> dict[str, Records]:
    """The rows of each plan, table by table (rows without a plan are left out)."""
    out: dict[str, Records] = {}
    for table, rows in records.items():
        for row in rows:
            if row.get("plan_id") is not None:
                out.setdefault(row["plan_id"], {}).setdefault(table, []).append(row)
    return out


def derive_plan(records: Records, plan: Plan) -> list[str]:
    """Fill the derived tables of one plan (in place; ``records`` holds that plan's rows)."""
    records["plans"] = [plan.record()]
    messages = link_plan_indicators(records)
    records["evaluations"] = evaluate(records, {plan.plan_id: plan})
    records["overall_proposals"] = propose_overall(records, records["evaluations"])
    records["theme_assignments"] = assign_themes(records)
    return messages


def derive(records: Records, plans: dict[str, Plan]) -> list[str]:
    """Fill ``evaluations``, ``overall_proposals`` and ``theme_assignments`` of ``plans`` and
    link their KPI codes (in place; ``records`` holds those plans' rows only). Returns
    messages for the run summary."""
    per_plan = split_by_plan(records)
    messages: list[str] = []
    merged: Records = {}
    for plan_id, plan in sorted(plans.items()):
        mine = per_plan.get(plan_id, {})
        messages += derive_plan(mine, plan)
        for table, rows in mine.items():
            merged.setdefault(table, []).extend(rows)
    for table in {*records, *merged, *DERIVED}:
        records[table] = merged.get(table, [])
    return messages
