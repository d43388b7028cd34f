"""実績入力 workbook (made by ``plan-etl actuals-template``) → actual values per indicator.

The header row is found by its labels (指標ID and 実績); ``plan_id`` and 年度 are read from
the label cells above it. Rows without an actual are the template's rows of indicators not
reported (read, nothing to record). An actual that is not a number (``18人``, ``未集計``) is
not guessed at: its cell is listed in ``unparsed_cells`` with :data:`NOT_A_NUMBER` as its
reason (validation rule ``actuals_are_numbers`` reports it by page and row), a warning names
it, and the document is ``partial``.
"""

from __future__ import annotations

from typing import Any

from core import normalize as nz
from core.models import Cell, ExtractionError, Grid, ParseResult
from schemas.vocabulary import Vocabulary, vocabulary

KIND = "actuals"

#: The reason an unparsed cell of an actuals workbook gives for an actual (実績) that is not a number.
NOT_A_NUMBER = "the actual (実績) is not a number"


def parse(grid: Grid, vocab: Vocabulary | None = None) -> ParseResult:
    vocab = vocab or vocabulary()
    result = ParseResult(kind=KIND)
    columns: dict[int, str] = {}
    meta: dict[str, str] = {}
    for row in grid.rows:
        cells = [c for c in row if c.text.strip()]
        if not cells:
            continue
        if columns:
            _read_row(cells, columns, meta, result)
        elif header := _header(cells, vocab):
            columns = header
            result.use_row(cells)
        elif len(cells) >= 2 and (m := vocab.column_meaning(KIND, "meta", cells[0].text)):
            meta[m] = cells[1].text.strip()
            result.use(*cells[:2])
    if not columns:
        raise ExtractionError(
            "no 指標ID / 実績 header row: not an actuals workbook made by plan-etl actuals-template"
        )
    result.meta.update(meta)
    if not result.tables.get("indicator_values") and not result.missing:
        result.warn("the workbook has no actual filled in")
    return result


def _header(cells: list[Cell], vocab: Vocabulary) -> dict[int, str]:
    """Column → meaning when ``cells`` are the header row (指標ID and 実績 among them), else {}."""
    meanings = {c.col: vocab.column_meaning(KIND, "columns", c.text) for c in cells}
    if {"indicator_id", "actual"} <= set(meanings.values()):
        return {col: m for col, m in meanings.items() if m}
    return {}


def _read_row(cells: list[Cell], columns: dict[int, str], meta: dict[str, str], result: ParseResult) -> None:
    """One indicator row: its actual as an ``indicator_values`` record, or the reason it has none."""
    by_meaning = {columns[c.col]: c for c in cells if c.col in columns}
    values = {m: c.text for m, c in by_meaning.items()}
    if not values.get("indicator_id") or nz.is_missing(values.get("actual")):
        result.use_row(cells)  # a template row nobody filled in: nothing to record
        return
    actual = nz.parse_number(values["actual"])
    if actual is None:
        _not_a_number(cells, by_meaning["actual"], values, result)
        return
    result.use_row(cells)
    year = nz.parse_fiscal_year(values.get("fiscal_year") or meta.get("fiscal_year") or "")
    result.add("indicator_values", _actual_record(values, actual, year, cells[0]))


def _not_a_number(cells: list[Cell], actual: Cell, values: dict[str, str], result: ParseResult) -> None:
    """An actual typed as text: the cell unparsed with why, a warning, the document partial."""
    name = values.get("name") or values["indicator_id"]
    where = f"sheet {actual.page} row {actual.line}" if actual.page else f"row {actual.line or actual.row}"
    result.use_row([c for c in cells if c is not actual])
    result.unplaced_cell(actual, f"{NOT_A_NUMBER}: 「{actual.text.strip()}」 for {name}")
    result.mark_missing(
        f"{where}: actual 「{actual.text.strip()}」 for {name} is not a number — not loaded; "
        "type the number alone (no unit) in 実績"
    )


def _actual_record(values: dict[str, str], actual: float, year: int | None, first: Cell) -> dict[str, Any]:
    return {
        "indicator_id": values["indicator_id"].strip(),
        "fiscal_year": year,
        "value": actual,
        "kind": "actual",
        "as_of_text": "actuals workbook",
        "target_value": nz.parse_number(values.get("target")),
        "note": nz.clean_text(values.get("note")) or None,
        "source_page": first.page,
        "source_row": first.line,
    }


def header_labels() -> dict[str, str]:
    """Column meaning → the label the template prints (first spelling in labels.yaml)."""
    cols = vocabulary().section(KIND)["columns"]
    return {meaning: spellings[0] for meaning, spellings in cols.items()}


def meta_labels() -> dict[str, str]:
    return {meaning: spellings[0] for meaning, spellings in vocabulary().section(KIND)["meta"].items()}


__all__ = ["NOT_A_NUMBER", "header_labels", "meta_labels", "parse"]
