"""Rules on records read by OCR (光学文字認識): every cell read with a low confidence is named."""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import Check, Context, rule

_LOW_CELL = re.compile(r"^col (\d+) \((\d+)\): (.*)$", re.S)  # extractors.extract.mark_ocr's form


@rule("ocr_low_confidence")
def ocr_low_confidence(ctx: Context) -> Iterator[Check]:
    """One finding per cell of a record's grid row that OCR read with a low confidence
    (``ocr_low_cells``), naming page, row, column and the text read; records whose row was
    read with confidence pass."""
    seen: set[tuple[str | None, int | None, str]] = set()
    for table, rows in ctx.t.items():
        for rec in rows:
            if rec.get("extraction_method") != "ocr":
                continue
            low = list(rec.get("ocr_low_cells") or [])
            if not low:
                yield ctx.check(True, f"{ctx.where(rec)}: {table} row read by OCR with confidence", rec)
            for cell in low:
                place = (rec.get("source_doc_id"), rec.get("source_row"), cell)
                m = _LOW_CELL.match(cell)
                if place in seen or not m:  # the records of one row name its cells once
                    continue
                seen.add(place)
                yield ctx.check(
                    False,
                    f"OCR confidence {m[2]} on {ctx.where(rec)} row {rec.get('source_row')} col {m[1]}: "
                    f"「{m[3]}」 ({table}) — check it against the document",
                    rec,
                )
