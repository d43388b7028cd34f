"""Helpers shared by the kind parsers (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pipeline.models import Cell


def row_cells(row: list[Cell]) -> list[Cell]:
    """A row without its trailing empty cells (inner empty cells keep their columns)."""
    cells = list(row)
    while cells and not cells[-1].text.strip():
        cells.pop()
    return cells


def carry_forward(lane: dict[int, str], years: list[int]) -> Iterator[tuple[int, str, bool]]:
    """Expand one schedule lane by the arrow convention of these sheets.

    An activity written in one year's cell continues through the following empty cells until
    the next activity in the lane or the end of the plan. Yields (year, activity, carried),
    ``carried`` being True for years whose cell was empty.

    >>> list(carry_forward({2024: "協議", 2025: "実施"}, [2023, 2024, 2025, 2026]))
    [(2024, '協議', False), (2025, '実施', False), (2026, '実施', True)]
    """
    current: str | None = None
    for year in years:
        if lane.get(year):
            current = lane[year]
            yield year, current, False
        elif current is not None:
            yield year, current, True


def merge_by_code(
    items: Iterable[tuple[tuple[str, ...], dict[str, Any], str]],
    fields: tuple[str, ...] = ("title", "direction"),
) -> list[tuple[dict[str, Any], list[tuple[str, str, Any]]]]:
    """Merge records that share a key, keeping the first and listing what differs.

    ``items`` yields (key, record, where). Returns [(record, [(field, where, other value)])]
    in first-seen order; the variants let the parser warn about e.g. a policy title that a
    later sheet spells differently (創出 vs 促進).
    """
    merged: dict[tuple[str, ...], tuple[dict[str, Any], list[tuple[str, str, Any]]]] = {}
    for key, record, where in items:
        if key not in merged:
            merged[key] = (dict(record), [])
            continue
        first, variants = merged[key]
        for f in fields:
            if record.get(f) and first.get(f) != record.get(f):
                if not first.get(f):
                    first[f] = record[f]
                elif (f, record[f]) not in {(v[0], v[2]) for v in variants}:
                    variants.append((f, where, record[f]))
    return list(merged.values())
