"""進捗管理シート (progress sheets) → policies, measures, initiatives, schedule, KPIs.

One sheet per 推進する施策 (measure). Each sheet repeats its 方針 (policy) and 方向性
(direction), lists 主な取り組み (initiatives) against year columns, and prints the KPI
table of its policy. Blocks are found by their labels (``schemas/labels.yaml``), columns by
their header text, never by position: 基本方針 / 具体的施策 / 基準値 / ``R6`` work as well as
方針 / 推進する施策 / 当初値 / ``2024``.

Pure: grid in, :class:`ParseResult` out.
"""

from __future__ import annotations

import re

from core import normalize as nz
from core.models import Cell, ExtractionError, Grid, ParseResult
from schemas.vocabulary import Vocabulary, label_key, vocabulary

from .common import row_cells, year_columns
from .progress_records import Initiative, Lane, Sheet, emit

KIND = "progress_sheets"
RULE_TYPES = {"grading_rule": "indicator_grade", "overall_rule": "overall"}  # 指標評価 / 総合評価
_COLON = re.compile(r"^\s*([^:：]{1,12})\s*[:：]\s*(.*)$")


def parse(grid: Grid, vocab: Vocabulary | None = None) -> ParseResult:
    """Parse every progress sheet in ``grid``."""
    vocab = vocab or vocabulary()
    result = ParseResult(kind=KIND)
    sheets = _read_sheets(grid, vocab, result)
    sheets = [s for s in sheets if s.policy or s.measure]
    if not sheets:
        raise ExtractionError("no progress sheet found (no 方針 / 推進する施策 rows were recognised)")
    emit(sheets, result, [s for s in grid.shapes if s.kind == "arrow"])
    return result


# --- reading rows into sheets ------------------------------------------------------------


def _label_and_value(cells: list[Cell], vocab: Vocabulary, labels: list[str]) -> tuple[str | None, str]:
    """The label of a row (first cell) and its value (the other cells, or after a colon)."""
    first = cells[0].text if cells else ""
    label = vocab.classify(KIND, first, labels)
    if label:
        return label, " ".join(c.text for c in cells[1:] if c.text.strip())
    m = _COLON.match(first)
    if m and (label := vocab.classify(KIND, m.group(1), labels)):
        rest = [m.group(2)] + [c.text for c in cells[1:]]
        return label, " ".join(t for t in rest if t.strip())
    return None, ""


def _read_sheets(grid: Grid, vocab: Vocabulary, result: ParseResult) -> list[Sheet]:
    sheets: list[Sheet] = []
    sheet: Sheet | None = None
    mode: str | None = None
    block_labels = ["policy", "direction", "measure", "initiatives", "results", "issues", "created"]

    def new_sheet(row_index: int, page: int | None) -> Sheet:
        s = Sheet(index=len(sheets) + 1, first_row=row_index, page=page)
        sheets.append(s)
        return s

    for i, raw in enumerate(grid.rows):
        cells = row_cells(raw)
        if not cells:
            continue
        first = cells[0]
        joined = " ".join(c.text for c in cells)
        if vocab.matches(KIND, "sheet_title", joined) and len(label_key(joined)) <= 40:
            sheet, mode = new_sheet(i, first.page), None
            sheet.title = nz.clean_text(joined, join_wrapped=True)
            continue
        rule = (
            vocab.classify(KIND, first.text, ["grading_rule", "overall_rule"])
            if _is_rule(first.text)
            else None
        )
        if rule:
            if sheet:
                sheet.rules[RULE_TYPES[rule]] = nz.clean_text(joined)
            mode = None
            continue
        label, value = _label_and_value(cells, vocab, block_labels)
        if label == "policy" and (sheet is None or sheet.policy is not None):
            sheet, mode = new_sheet(i, first.page), None
        if sheet is None and label:
            sheet = new_sheet(i, first.page)
        if label in ("policy", "measure"):
            code, title = nz.split_leading_code(value)
            if code is None:
                result.warn(f"{sheet.where()}: {label} without a number: {value!r}")
            setattr(sheet, label, (code or 0, nz.clean_text(title, join_wrapped=True)))
            continue
        if label == "direction":
            sheet.direction = nz.clean_text(value, join_wrapped=True)
            continue
        if label == "initiatives":
            header = cells
            sheet.years = _year_columns(header)
            if not sheet.years and i + 1 < len(grid.rows):
                header = row_cells(grid.rows[i + 1])
                sheet.years = _year_columns(header)
            sheet.year_cols = year_columns(header, nz.parse_fiscal_year)
            mode = "schedule"
            continue
        if label in ("results", "issues", "created"):
            if mode == "schedule" and first.bbox:
                sheet.schedule_end = first.bbox[1]
            if sheet is not None and not nz.is_missing(value):
                sheet.reports[label] = nz.clean_text(value)
            mode = None
            continue
        if sheet is None:
            continue
        if vocab.matches(KIND, "kpi_header", first.text) and len(cells) >= 3:
            sheet.kpi_columns = {
                c.col: m for c in cells[1:] if (m := vocab.column_meaning(KIND, "kpi_columns", c.text))
            }
            sheet.kpi_columns[first.col] = "name"
            target_header = next((c.text for c in cells if sheet.kpi_columns.get(c.col) == "target"), None)
            sheet.target_year = nz.parse_fiscal_year(target_header)
            sheet.has_kpi_table = True
            mode = "kpi"
            continue
        if vocab.matches(KIND, "footnote", first.text) and not first.text.strip().startswith("注意"):
            sheet.footnotes.append(nz.clean_text(first.text))
            continue
        if all(nz.is_missing(c.text) for c in cells):
            continue  # placeholder rows such as "--" or "----- --"
        if mode == "schedule":
            _add_initiative_row(sheet, cells, result)
        elif mode == "kpi":
            _add_kpi_row(sheet, cells, result)
    return sheets


def _is_rule(text: str) -> bool:
    s = nz.clean_text(text)
    return ":" in s or "=" in s


def _year_columns(cells: list[Cell]) -> dict[int, int]:
    years = {}
    for c in cells[1:]:
        year = nz.parse_fiscal_year(c.text)
        if year is not None and 1950 <= year <= 2100:
            years[c.col] = year
    return years


def _add_initiative_row(sheet: Sheet, cells: list[Cell], result: ParseResult) -> None:
    by_col = {c.col: c.text for c in cells}
    first_col = min(by_col)
    title = (
        nz.clean_text(by_col.get(first_col, ""), join_wrapped=True) if first_col not in sheet.years else ""
    )
    texts = {y: nz.clean_text(by_col.get(col, ""), join_wrapped=True) for col, y in sheet.years.items()}
    boxes = [c.bbox for c in cells if c.bbox]
    lane = Lane(
        {y: t for y, t in texts.items() if not nz.is_missing(t)},
        cells[0].page,
        min(b[1] for b in boxes) if boxes else None,
    )
    if title:
        sheet.initiatives.append(Initiative(title=title, row=cells[0], lanes=[lane]))
    elif sheet.initiatives:
        sheet.initiatives[-1].lanes.append(lane)
    elif lane.texts:
        result.warn(f"{sheet.where()}: schedule row without an initiative above it: {lane.texts}")


def _add_kpi_row(sheet: Sheet, cells: list[Cell], result: ParseResult) -> None:
    values: dict[str, str] = {}
    for c in cells:
        meaning = sheet.kpi_columns.get(c.col)
        if meaning and c.text.strip():
            values[meaning] = c.text
    raw_name = values.get("name", "")
    if nz.is_missing(raw_name):
        return
    name, reposted, starred = nz.strip_marks(raw_name)
    name, unit = nz.split_name_and_unit(name, vocabulary().units)
    target, cumulative = nz.parse_target(values.get("target"))
    baseline_text = nz.number_text(values.get("baseline")) or None
    sheet.kpis.append(
        {
            "name": name,
            "name_as_written": nz.clean_text(raw_name),
            "unit": unit,
            "baseline_value": nz.parse_number(baseline_text),
            "baseline_text": baseline_text,
            "target_fiscal_year": sheet.target_year,
            "target_value": target,
            "cumulative_target": cumulative,
            "target_text": nz.number_text(values.get("target")) or None,
            "is_reposted": reposted,
            "starred": starred,
            "actual_text": nz.clean_text(values.get("actual")) or None,
            "achievement_text": nz.clean_text(values.get("achievement_rate")) or None,
            "grade_text": nz.clean_text(values.get("grade")) or None,
            "source_page": cells[0].page,
            "source_row": cells[0].line or cells[0].row + 1,
        }
    )
    if unit is None:
        result.warn(f"{sheet.where()}: no unit found in KPI name {raw_name!r}")


# --- from sheets to records -------------------------------------------------------------------
