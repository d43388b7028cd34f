"""Extract stage: one document → its ``documents`` row and its records per table.

bytes → reader → grid → kind detection → kind parser → records with plan and lineage.
Never raises for a bad document: failures become a ``documents`` row with
``status='failed'`` and an ``error`` that names the file and the cause.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.models import ExtractionError, Grid, ParseResult
from core.normalize import strip_control
from extractors import versions
from extractors.cache import read_grid
from extractors.detect import detect_kind, kind_scores
from extractors.kinds import KINDS, REGISTRY
from extractors.parsers.common import cut_last_row
from extractors.readers import detect_format

OUT_OF_MEMORY = "ran out of memory while extracting it — over the memory limit of one document"


@dataclass
class DocumentOutcome:
    """What extracting one document produced: its ``documents`` row and its table records."""

    document: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seconds: float = 0.0  # CPU time of the extracting thread (not wall time: threads may overlap)

    @property
    def ok(self) -> bool:
        return self.document["status"] != "failed"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_grid(grid: Grid, kind: str | None = None) -> ParseResult:
    """Run the kind parser on a grid (auto-detecting the kind when not given)."""
    if kind is None:
        kind = detect_kind(grid)
        if kind is None:
            scores = ", ".join(f"{k} {v}" for k, v in kind_scores(grid).items())
            raise ExtractionError(
                f"unknown document kind (label markers found: {scores}); set kind: in sources.yaml"
            )
    if kind not in REGISTRY:
        raise ExtractionError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    return REGISTRY[kind].parse(grid)


def extract_document(
    path: Path,
    *,
    rel_path: str | None = None,
    plan_id: str | None = None,
    kind: str | None = None,
    password: str | None = None,
    now: dt.datetime | None = None,
    limits: Any = None,
    pdf_engine: str | None = None,
    grid_cache: Path | None = None,
) -> DocumentOutcome:
    """Extract one document file. Bad input gives a failed outcome, never an exception.
    ``pdf_engine`` picks the PDF reader (``pdfium``, the default, or ``plumber``);
    ``grid_cache``, a folder of the grid cache (:mod:`extractors.cache`), spares reading a
    PDF or workbook read before by the same readers (``documents.grid_source`` says which)."""
    started = time.thread_time()
    rel = rel_path or path.name
    doc = _document_row(rel, kind, plan_id, now)
    doc.update(versions(pdf_engine))
    try:
        data = path.read_bytes()
    except OSError as exc:
        doc["error"] = f"{rel}: cannot read the file: {exc.strerror or exc}"
        return DocumentOutcome(doc, seconds=time.thread_time() - started)
    doc["doc_id"] = sha256_bytes(data)
    doc["format"] = detect_format(path, data)
    try:
        reading = {"password": password, "limits": limits, "pdf_engine": pdf_engine, "cache": grid_cache}
        grid = _read(path, data, doc, rel, reading)
        result = parse_grid(grid, kind)
        for note in grid.missing:
            result.mark_missing(note)
        if cut := cut_last_row(grid):  # a text export that ends mid-row, whatever its kind
            result.mark_cut(cut)
    except ExtractionError as exc:
        message = str(exc)
        doc["error"] = message if message.startswith(path.name) else f"{rel}: {message}"
        return DocumentOutcome(doc, seconds=time.thread_time() - started)
    except MemoryError:  # past the memory limit of an isolated extraction (extractors.limits)
        doc["error"] = f"{rel}: {OUT_OF_MEMORY}"
        return DocumentOutcome(doc, seconds=time.thread_time() - started)
    except Exception as exc:  # a parser bug must not take the run down: report it per document
        doc["error"] = (
            f"{rel}: internal error while extracting ({type(exc).__name__}: {exc}); please report it"
        )
        return DocumentOutcome(doc, seconds=time.thread_time() - started)
    _accept(doc, result, rel, plan_id)
    result.tables["unparsed_cells"] = unparsed_cells(grid, result)
    doc["cells_total"] = sum(1 for row in grid.rows for c in row if c.text.strip())
    doc["cells_consumed"] = doc["cells_total"] - len(result.tables["unparsed_cells"])
    tables = finalize(result, plan_id=plan_id or result.meta.get("plan_id") or "", doc_id=doc["doc_id"])
    if grid.engine == "ocr":
        mark_ocr(tables, grid)
    return DocumentOutcome(doc, tables, seconds=time.thread_time() - started)


def _read(path: Path, data: bytes, doc: dict[str, Any], rel: str, reading: dict[str, Any]) -> Grid:
    """The document's grid, read or from the grid cache; where it came from, its pages,
    encoding and reading engine noted in ``doc``."""
    grid, doc["grid_source"] = read_grid(path, data, doc["doc_id"], fmt=doc["format"], **reading)
    doc["pages"], doc["encoding"] = grid.pages, grid.encoding
    doc["extraction_method"] = "ocr" if grid.engine == "ocr" else "text"
    if grid.engine and grid.engine.startswith("plumber (pdfium fallback"):
        doc["warnings"].append(f"{rel}: read with pdfplumber: {grid.engine}")
    doc["warnings"] += grid.warnings  # what the reader says (OCR: read by OCR, corrections, low confidences)
    return _without_control_characters(grid, doc, rel)


def _without_control_characters(grid: Grid, doc: dict[str, Any], rel: str) -> Grid:
    """The grid with NUL and other control characters removed from every cell (a warning
    counts them): no stored text carries one, and no warehouse refuses a load for one."""
    removed = 0
    rows = []
    for row in grid.rows:
        cells = []
        for cell in row:
            text, n = strip_control(cell.text)
            removed += n
            cells.append(dataclasses.replace(cell, text=text) if n else cell)
        rows.append(cells)
    if not removed:
        return grid
    doc["warnings"].append(f"{rel}: {removed} control characters (NUL …) removed from the text")
    return dataclasses.replace(grid, rows=rows)


def _document_row(rel: str, kind: str | None, plan_id: str | None, now: dt.datetime | None) -> dict[str, Any]:
    """A ``documents`` row that says ``failed`` until the document is read."""
    return {
        "doc_id": None,
        "source_path": rel,
        "kind": kind,
        "plan_id": plan_id,
        "format": None,
        "pages": None,
        "status": "failed",
        "error": None,
        "extracted_at": now or dt.datetime.now(dt.UTC),
        **versions(),
        "grid_source": None,
        "extraction_method": None,
        "encoding": None,
        "warnings": [],
        "cells_total": None,
        "cells_consumed": None,
    }


def _accept(doc: dict[str, Any], result: ParseResult, rel: str, plan_id: str | None) -> None:
    """Status, warnings and error of a parsed document."""
    doc["kind"] = result.kind
    doc["status"] = "partial" if result.partial else "ok"
    doc["cut_short"] = result.cut
    doc["warnings"] += result.warnings
    if result.partial:
        doc["error"] = f"{rel}: partly extracted — " + "; ".join(result.missing)[:1000]
    declared = result.meta.get("plan_id")
    if declared and plan_id and declared != plan_id:
        doc["warnings"].append(
            f"{rel}: the workbook is for plan {declared!r} but sources.yaml puts it in {plan_id!r}"
        )


def unparsed_cells(grid: Grid, result: ParseResult) -> list[dict[str, Any]]:
    """Every non-empty cell of ``grid`` no record took, with why: the parser's reason when it
    gave one, else that its kind's parser did not read it."""
    rows = []
    for row in grid.rows:
        for cell in row:
            if not cell.text.strip() or (cell.row, cell.col) in result.consumed:
                continue
            reason = result.unplaced.get((cell.row, cell.col)) or f"not read by the {result.kind} parser"
            rows.append(
                {
                    "cell_column": cell.col,
                    "text": cell.text,
                    "reason": reason,
                    "source_page": cell.page,
                    "source_row": cell.line if cell.line is not None else cell.row,
                }
            )
    return rows


def mark_ocr(tables: dict[str, list[dict[str, Any]]], grid: Grid) -> None:
    """Records read by OCR (光学文字認識) say so: ``extraction_method = 'ocr'``, the lowest
    confidence of the non-empty cells on their grid row and those cells below the reader's
    low-confidence threshold (``col 2 (41): 4,7S5``), for validation to name them."""
    from extractors.readers.ocr import LOW_CONFIDENCE

    by_row: dict[int, list[Any]] = {}  # by 1-based grid row, the records' source_row
    for row in grid.rows:
        for cell in row:
            if cell.text.strip() and cell.confidence is not None:
                by_row.setdefault(cell.row + 1, []).append(cell)
    # a value printed inside its indicator's cell (a framework's latest value) has no row of
    # its own: it takes its indicator's
    rows_of = {r["indicator_id"]: r.get("source_row") for r in tables.get("indicators", [])}
    for table, records in tables.items():
        for rec in records:
            row = rec.get("source_row") or rows_of.get(rec.get("indicator_id"))
            cells = by_row.get(row or 0, [])
            if table == "unparsed_cells":  # one cell each, its source_row 0-based (unparsed_cells())
                cells = [c for c in by_row.get(rec["source_row"] + 1, []) if c.col == rec["cell_column"]]
            rec["extraction_method"] = "ocr"
            rec["ocr_confidence"] = min((c.confidence for c in cells), default=None)
            rec["ocr_low_cells"] = [
                f"col {c.col} ({c.confidence:.0f}): {' '.join(c.text.split())}"
                for c in cells
                if c.confidence < LOW_CONFIDENCE
            ]


def indicator_uid(plan_id: str, local_id: str) -> str:
    """Stable indicator id: the same plan, type, policy, measure and name give the same id."""
    return hashlib.sha1(f"{plan_id}|{local_id}".encode()).hexdigest()[:16]


def finalize(result: ParseResult, *, plan_id: str, doc_id: str) -> dict[str, list[dict[str, Any]]]:
    """Attach plan and lineage to every record and turn local indicator keys into stable ids."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, records in result.tables.items():
        out = []
        for rec in records:
            rec = {**rec, "plan_id": plan_id, "source_doc_id": doc_id}
            if "|" in (rec.get("indicator_id") or ""):  # a parser's local key; workbooks carry final ids
                rec["indicator_id"] = indicator_uid(plan_id, rec["indicator_id"])
            out.append(rec)
        tables[table] = out
    return tables
