"""The small object model every stage shares.

reader (bytes → :class:`Grid`) → kind parser (:class:`Grid` → :class:`ParseResult`)
→ normalizer → loader. A :class:`Grid` is what a document looks like once its format
no longer matters: rows of cells with page, row, column, text and (for PDFs) the box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom (PDF points)


class ExtractionError(Exception):
    """A document could not be read or parsed. The message says what and why, for a person."""


@dataclass(frozen=True)
class Cell:
    """One cell of a document table or one line of free text.

    ``row`` and ``col`` are 0-based positions in the grid; ``line`` is the 1-based line of a
    text export (None for PDFs); ``page`` is 1-based (None for text exports).
    """

    text: str
    row: int
    col: int
    page: int | None = None
    line: int | None = None
    bbox: BBox | None = None
    #: OCR only: Tesseract's confidence (0–100) in the cell's text, its lowest line's; None when
    #: the text came from a text layer or the cell is empty.
    confidence: float | None = None


@dataclass(frozen=True)
class Shape:
    """A drawn mark that carries meaning (e.g. a schedule arrow). PDFs only."""

    kind: str  # "arrow" | "line" | "rect"
    page: int
    bbox: BBox


@dataclass
class Grid:
    """A document as rows of cells. Empty rows are kept: blank lines separate blocks."""

    rows: list[list[Cell]]
    format: str  # "text" | "pdf"
    pages: int | None = None
    encoding: str | None = None
    shapes: list[Shape] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what the reader could not read (page budget …)
    #: PDFs: the engine that read the document — "pdfium", "plumber", or
    #: "plumber (pdfium fallback: <why>)" when the fast engine could not reproduce it; "ocr" when
    #: the pages were read from their image (scans).
    engine: str | None = None
    #: What the reader wants the document's warnings to say (OCR: read by OCR, low confidences).
    warnings: list[str] = field(default_factory=list)

    def all_text(self) -> str:
        return "\n".join("\t".join(c.text for c in row) for row in self.rows)


@dataclass
class ParseResult:
    """What a kind parser returns: records per table (contract column names) + warnings.

    Records carry ``source_page`` / ``source_row`` where known; the pipeline adds
    ``plan_id`` and ``source_doc_id``.
    """

    kind: str
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # what a document says about itself (plan id …)
    # Grid cells (row, col) read into a record or recognised as a label, and cells the parser
    # looked at and could not place, with why. Every other non-empty cell is reported as not
    # read (``unparsed_cells``): nothing is dropped silently.
    consumed: set[tuple[int, int]] = field(default_factory=set)
    unplaced: dict[tuple[int, int], str] = field(default_factory=dict)
    cut: bool = False  # the document looks cut short (see mark_cut)

    @property
    def partial(self) -> bool:
        """True when a section the document should have was missing (the rest is extracted)."""
        return bool(self.missing)

    def mark_missing(self, message: str) -> None:
        self.missing.append(message)
        self.warnings.append(message)

    def mark_cut(self, message: str) -> None:
        """A missing part that shows the file was cut short (途中で切れた文書: a text export that
        ends mid-row, a last sheet without the blocks every other sheet has, declared counts
        above what was read): the document is ``partial`` and ``cut`` is set."""
        self.cut = True
        self.mark_missing(message)

    def add(self, table: str, record: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(record)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def use(self, *cells: Cell | None) -> None:
        """Mark cells as read: their text went into a record or named a block or column."""
        for cell in cells:
            if cell is not None:
                self.consumed.add((cell.row, cell.col))

    def use_row(self, row: list[Cell]) -> None:
        """Mark every cell of a grid row as read."""
        self.consumed.update((c.row, c.col) for c in row)

    def unplaced_cell(self, cell: Cell, why: str) -> None:
        """A cell the parser saw but could not place (an unknown label, a stray value)."""
        self.unplaced[(cell.row, cell.col)] = why
