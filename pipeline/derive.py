"""Plan-level derivations: from the extracted rows of some plans to the tables computed
across a plan's documents — linked KPI codes, evaluations, draft overall grades, themes.

Each plan's derived rows depend on that plan's rows alone, which is what lets a nightly
refresh recompute only the plans that changed (:mod:`pipeline.state`).
"""

from __future__ import annotations

from typing import Any

from pipeline.compare import assign_themes
from pipeline.evaluate import evaluate, propose_overall
from pipeline.link import link_plan_indicators
from pipeline.manifest import Plan

Records = dict[str, list[dict[str, Any]]]


def derive(records: Records, plans: dict[str, Plan]) -> list[str]:
    """Fill ``evaluations``, ``overall_proposals`` and ``theme_assignments`` of ``plans`` (in
    place; ``records`` holds those plans' rows only). Returns messages for the run summary."""
    records["plans"] = [p.record() for _, p in sorted(plans.items())]
    messages = link_plan_indicators(records)
    records["evaluations"] = evaluate(records, plans)
    records["overall_proposals"] = propose_overall(records, records["evaluations"])
    records["theme_assignments"] = assign_themes(records)
    return messages
