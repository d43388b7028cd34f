"""Helpers shared by the kind parsers (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from core import normalize as nz
from core.models import Cell, Grid, Shape


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


# --- schedule geometry (PDFs) ------------------------------------------------------------

YearColumns = list[tuple[int, float, float]]  # (fiscal year, x0, x1)


def year_columns(cells: list[Cell], parse_year) -> YearColumns:
    """Year header cells with boxes → [(year, x0, x1)], left to right."""
    out = []
    for c in cells:
        year = parse_year(c.text)
        if year is not None and c.bbox is not None:
            out.append((year, c.bbox[0], c.bbox[2]))
    return sorted(out, key=lambda t: t[1])


def year_at(cell: Cell, columns: YearColumns) -> int | None:
    """The year column a cell stands in (by the centre of its box)."""
    if cell.bbox is None:
        return None
    x = (cell.bbox[0] + cell.bbox[2]) / 2
    return next((y for y, x0, x1 in columns if x0 <= x <= x1), None)


def arrow_spans(
    shapes: list[Shape], page: int | None, y0: float, y1: float, columns: YearColumns
) -> list[tuple[int, int]]:
    """Years covered by each arrow drawn between ``y0`` and ``y1`` on ``page``.

    A year counts when the arrow covers at least half of its column's width.
    """
    spans = []
    for s in shapes:
        cy = (s.bbox[1] + s.bbox[3]) / 2
        if s.kind != "arrow" or s.page != page or not (y0 <= cy < y1):
            continue
        covered = [y for y, x0, x1 in columns if min(s.bbox[2], x1) - max(s.bbox[0], x0) >= 0.5 * (x1 - x0)]
        if covered:
            spans.append((min(covered), max(covered)))
    return sorted(spans)


def schedule_years(
    lane: dict[int, str], years: list[int], spans: list[tuple[int, int]] | None
) -> tuple[list[tuple[int, str, bool]], list[str]]:
    """Years of each activity of a lane: from arrows where drawn, else by carry-forward.

    Returns ([(year, activity, carried)], [disagreements between arrow and convention]).
    """
    convention = list(carry_forward(lane, years))
    if not spans:
        return convention, []
    by_activity_conv: dict[int, list[int]] = {}
    current = None
    for year, _, carried in convention:
        current = year if not carried else current
        by_activity_conv.setdefault(current, []).append(year)
    out: list[tuple[int, str, bool]] = []
    notes = []
    for start in sorted(lane):
        span = next((s for s in spans if s[0] == start), None) or next(
            (s for s in spans if s[0] <= start <= s[1]), None
        )
        conv_years = by_activity_conv.get(start, [start])
        if span is None:
            chosen = conv_years
        else:
            chosen = [y for y in years if start <= y <= span[1]]
            if chosen != conv_years:
                notes.append(
                    f"{lane[start]!r}: arrow runs {start}–{span[1]}, the carry-forward convention "
                    f"gives {conv_years[0]}–{conv_years[-1]}; the arrow is used"
                )
        out.extend((y, lane[start], y != start) for y in chosen)
    out.sort(key=lambda t: (t[0], t[2]))
    return out, notes


# --- structure detectors shared by the kind parsers ---------------------------------------

_GRADE_TOKEN = re.compile(
    r"(?<![A-Za-z])[SA-Ea-e](?![A-Za-z])|[◎○〇△×]|(?<![\d.%])[1-6](?=\s*(?:点|[:=(]))|(?<![A-Za-z])[IVX]{1,3}(?=\s*:)"
)
_BAND_WORD = re.compile(r"\d+(?:\.\d+)?\s*(?:%|割)|以上|以下|未満|超|≧|≦|>=|<=|[<>]|目標値|基準値")


def year_header(cells: list[Cell]) -> dict[int, int]:
    """The year run of a schedule header (年度の列), whatever the notation: column → fiscal year.

    ``主な取組 | 2023 | 2024 | 2025`` / ``R5 | R6`` / ``令和５年度 | 令和６年度`` / ``FY2023 | FY2024``
    → {1: 2023, 2: 2024, 3: 2025}. A row counts when at least two of its cells hold nothing but
    a year (:func:`core.normalize.parse_year_heading`) and the years rise from left to right;
    ``策定時(R4) | 目標値(R9)`` is not a year run. Anything else → {}.
    """
    years = {c.col: y for c in cells if (y := nz.parse_year_heading(c.text)) is not None}
    ordered = [years[col] for col in sorted(years)]
    if len(ordered) < 2 or any(b <= a for a, b in zip(ordered, ordered[1:], strict=False)):
        return {}
    return years


def is_rule_line(text: str | None) -> bool:
    """Does a line map grades to bands (評価基準), whatever label precedes it?

    ``100%以上=A、99%~80%=B、79%以下=C``, ``Ａ：達成率100％以上　Ｂ：…``, ``◎：100％以上　○：…``,
    ``【A】110%以上【B】…``, ``5：100%以上　4：90%以上…``: at least two grade symbols and two band
    words (percentages, 以上 / 未満 …). ``A＝商工観光課、B＝…`` or ``達成率＝実績値÷目標値`` are not.
    """
    s = nz.clean_text(text)
    grades = {m.group(0).upper() for m in _GRADE_TOKEN.finditer(s)}
    return len(grades) >= 2 and len(_BAND_WORD.findall(s)) >= 2


def stated_value(text: str | None) -> str | None:
    """A cell's text as printed (a rate, a grade, 担当課, 備考, a target); a dash (―, －) printed
    for none, or an empty cell, is None."""
    return None if nz.is_missing(text) else nz.clean_text(text) or None


def has_number(text: str | None) -> bool:
    """Does a cell hold a figure (a digit after NFKC)?"""
    return bool(re.search(r"\d", nz.clean_text(text)))


def cut_last_row(grid: Grid) -> str | None:
    """A text export that ends mid-row (途中で切れた表): its last line holds fewer cells than
    every other row of its table (the lines above it up to a blank line, header included).

    A text export keeps a row's empty cells (its tabs), so a complete row is as wide as its
    header; a file cut inside its last row is narrower. Returns why, or None. Only text
    exports whose table rows are all equally wide (an exporter that drops trailing empty cells
    makes rows of any width), and not PDFs or workbooks (their rows hold only filled cells).
    """
    if grid.format != "text":
        return None
    rows = grid.rows
    end = len(rows)
    while end and not rows[end - 1]:
        end -= 1
    start = end - 1
    while start > 0 and rows[start - 1]:
        start -= 1
    if end - start < 2:
        return None
    last, table = rows[end - 1], rows[start : end - 1]
    widths = {len(r) for r in table}
    width = widths.pop()
    if widths or len(last) >= width:
        return None
    line = last[0].line or last[0].row + 1
    return (
        f"line {line}, the last, ends after {len(last)} of the {width} cells of its table's rows "
        f"(header at line {table[0][0].line or table[0][0].row + 1}) — the file may be cut mid-row"
    )


def stated_direction(target_text: str | None, words: dict[str, list[str]] | None) -> str | None:
    """Which way is better, as a target printed in words says it (目標値 増加 → ``higher``;
    減少 / 80件以下 → ``lower``): ``words`` is labels.yaml ``target_direction``. None when the
    text holds words of neither list, or of both (増減なし)."""
    text = nz.clean_text(target_text) if target_text else ""
    said = {way for way, ws in (words or {}).items() if any(w in text for w in ws)}
    return said.pop() if len(said) == 1 else None
