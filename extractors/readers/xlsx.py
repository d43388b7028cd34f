"""Excel workbooks (.xlsx) → grid: one row per sheet row, cells with their column index."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from core.models import Cell, ExtractionError, Grid


def read_xlsx(path: Path, data: bytes) -> Grid:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ExtractionError(
            f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
        ) from exc
    rows: list[list[Cell]] = []
    for page, ws in enumerate(wb.worksheets, start=1):
        for values in ws.iter_rows(values_only=True):
            r = len(rows)
            rows.append(
                [Cell("" if v is None else str(v), r, c, page=page, line=r + 1) for c, v in enumerate(values)]
            )
    wb.close()
    if not any(c.text.strip() for row in rows for c in row):
        raise ExtractionError(f"{path.name}: the workbook is empty")
    return Grid(rows=rows, format="xlsx", pages=len(wb.worksheets))
