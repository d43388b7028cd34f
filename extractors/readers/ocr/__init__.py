"""Scanned PDF pages → grid, by OCR (Tesseract ``jpn`` through tesserocr, OpenCV for the rulings).

Used for PDFs without a usable text layer (``read_document`` hands them over), for documents
with ``ocr: true`` in ``sources.yaml`` and for ``--ocr always``. Each page is

1. rendered with pypdfium2 at 300 dpi in grey and binarized (Otsu);
2. deskewed: the median slope of the long horizontal rulings (0.35° of skew halves the table
   structure found on a dense A3 page);
3. searched for rulings by morphology (camelot's lattice ``find_lines``); schedule arrows — a
   horizontal shaft ending in a filled triangle — become :class:`~core.models.Shape` objects
   and are erased, so neither their shaft splits a cell nor their head leaks into its text;
4. cut into cells: the row and column lines of each ruled region give elementary cells, and
   neighbours whose shared edge has no line pixels are one merged cell;
5. read: each cell is split into text lines by its ink profile and each line is recognised
   alone (page segmentation mode 7: one line), numeric-looking cells are read again with a
   digits-only whitelist; ink outside the tables is read as text lines.

The grid is the one the PDF readers give (rows of cells with page, row, column, text and box in
PDF points, top-left origin; ``engine="ocr"``), so the parsers are unchanged; every cell
carries its Tesseract confidence (0–100, the lowest of its lines). :func:`correct_cell`
holds the domain-aware corrections of a cell (numbers, codes, grades, labels snapped to the
vocabulary), :mod:`.codes` those of a column of codes, :func:`agree` the document's majority
reading.

One job per module, each importing only those above it:

- ``engine``   Tesseract: its data, availability, version; the engine kept loaded; constants
- ``text``     what a line of text is (tidied, a number, a number misread)
- ``image``    render, binarize, deskew, banners, rulings by morphology
- ``arrows``   schedule arrows found and erased
- ``cells``    rulings → cells (merged where an edge is not drawn)
- ``lines``    a cell → text lines → recognised lines; ink outside tables → lines
- ``codes``    columns of codes read as one
- ``correct``  one cell's domain-aware correction
- ``majority`` the document's majority reading
- ``page``     one page image → grid rows and arrows
- ``document`` a PDF → its grid: pages within budget, warnings, cache
"""

from __future__ import annotations

from .arrows import _Arrow, erase_arrows, find_arrows
from .cells import Box, _Table, find_tables
from .codes import code_by_name, code_column
from .correct import correct_cell, snap_label, star_grades
from .document import confidence_warnings, read_ocr
from .engine import (
    DIGITS,
    DPI,
    EDGE_REACH,
    INSTALL_HINT,
    LOW_CONFIDENCE,
    MARGIN,
    OCR_VERSION,
    SCALE,
    _Engine,
    engine_version,
    tessdata,
    unavailable,
)
from .image import binarize, deskew, lines_mask, render, skew_angle, uninvert
from .lines import line_height, outside_boxes, read_box, read_line, text_lines
from .majority import Consensus, agree
from .page import _clean, _Item, _rulings, read_page, table_items, text_items
from .text import is_numeric, looks_numeric, maybe_number, tidy

__all__ = [
    "DIGITS",
    "DPI",
    "EDGE_REACH",
    "INSTALL_HINT",
    "LOW_CONFIDENCE",
    "MARGIN",
    "OCR_VERSION",
    "SCALE",
    "Box",
    "Consensus",
    "_Arrow",
    "_Engine",
    "_Item",
    "_Table",
    "_clean",
    "_rulings",
    "agree",
    "binarize",
    "code_by_name",
    "code_column",
    "confidence_warnings",
    "correct_cell",
    "deskew",
    "engine_version",
    "erase_arrows",
    "find_arrows",
    "find_tables",
    "is_numeric",
    "line_height",
    "lines_mask",
    "looks_numeric",
    "maybe_number",
    "outside_boxes",
    "read_box",
    "read_line",
    "read_ocr",
    "read_page",
    "render",
    "skew_angle",
    "snap_label",
    "star_grades",
    "table_items",
    "tessdata",
    "text_items",
    "text_lines",
    "tidy",
    "uninvert",
    "unavailable",
]
