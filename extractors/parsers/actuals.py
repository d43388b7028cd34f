"""実績入力 workbook (made by ``plan-etl actuals-template``) → actual values per indicator.

The header row is found by its labels (指標ID and 実績); ``plan_id`` and 年度 are read from
the label cells above it. Rows without an actual are skipped; an actual that is not a
number is reported and skipped.
"""

from __future__ import annotations

from core import normalize as nz
from core.models import ExtractionError, Grid, ParseResult
from schemas.vocabulary import Vocabulary, vocabulary

KIND = "actuals"


def parse(grid: Grid, vocab: Vocabulary | None = None) -> ParseResult:
    vocab = vocab or vocabulary()
    result = ParseResult(kind=KIND)
    columns: dict[int, str] = {}
    meta: dict[str, str] = {}
    for row in grid.rows:
        cells = [c for c in row if c.text.strip()]
        if not cells:
            continue
        if not columns:
            meanings = {c.col: vocab.column_meaning(KIND, "columns", c.text) for c in cells}
            if {"indicator_id", "actual"} <= set(meanings.values()):
                columns = {col: m for col, m in meanings.items() if m}
                continue
            if len(cells) >= 2 and (m := vocab.column_meaning(KIND, "meta", cells[0].text)):
                meta[m] = cells[1].text.strip()
            continue
        values = {columns[c.col]: c.text for c in cells if c.col in columns}
        if not values.get("indicator_id") or nz.is_missing(values.get("actual")):
            continue
        actual = nz.parse_number(values["actual"])
        where = f"row {cells[0].line}"
        if actual is None:
            result.warn(
                f"{where}: actual {values['actual']!r} for {values.get('name', values['indicator_id'])} "
                f"is not a number; skipped"
            )
            continue
        year = nz.parse_fiscal_year(values.get("fiscal_year") or meta.get("fiscal_year") or "")
        result.add(
            "indicator_values",
            {
                "indicator_id": values["indicator_id"].strip(),
                "fiscal_year": year,
                "value": actual,
                "kind": "actual",
                "as_of_text": "actuals workbook",
                "target_value": nz.parse_number(values.get("target")),
                "note": nz.clean_text(values.get("note")) or None,
                "source_page": cells[0].page,
                "source_row": cells[0].line,
            },
        )
    if not columns:
        raise ExtractionError(
            "no 指標ID / 実績 header row: not an actuals workbook made by plan-etl actuals-template"
        )
    result.meta.update(meta)
    if not result.tables.get("indicator_values"):
        result.warn("the workbook has no actual filled in")
    return result


def header_labels() -> dict[str, str]:
    """Column meaning → the label the template prints (first spelling in labels.yaml)."""
    cols = vocabulary().section(KIND)["columns"]
    return {meaning: spellings[0] for meaning, spellings in cols.items()}


def meta_labels() -> dict[str, str]:
    return {meaning: spellings[0] for meaning, spellings in vocabulary().section(KIND)["meta"].items()}


__all__ = ["header_labels", "meta_labels", "parse"]
