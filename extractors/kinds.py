"""The registry of document kinds: one entry per kind, the one place a new kind is added.

An entry names the kind, says what it holds and gives its parser (a pure function from a
:class:`~core.models.Grid` to a :class:`~core.models.ParseResult`). Its words — the markers
that identify it and the labels its parser reads — are data, in ``schemas/labels.yaml``
under ``kinds.<name>`` and ``<name>``. Auto-detection, ``sources.yaml`` checks, the CLI's
``--kind`` choices and the extract stage all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.models import Grid, ParseResult
from extractors.parsers import action_plan, actuals, progress_sheets, strategy_framework


@dataclass(frozen=True)
class Kind:
    """A document kind: its name (as in ``sources.yaml``), what it holds, its parser."""

    name: str
    holds: str
    parse: Callable[[Grid], ParseResult]


REGISTRY: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "progress_sheets",
            "進捗管理シート: policies, measures, initiatives, schedules, KPIs",
            progress_sheets.parse,
        ),
        Kind(
            "action_plan",
            "取組一覧 with 年次別実行スケジュール: coded initiatives, KPI codes",
            action_plan.parse,
        ),
        Kind("strategy_framework", "prefectural framework: 社会目標 / 補助指標", strategy_framework.parse),
        Kind("actuals", "実績入力 workbook written by `plan-etl actuals-template`", actuals.parse),
    )
}
KINDS: tuple[str, ...] = tuple(REGISTRY)
