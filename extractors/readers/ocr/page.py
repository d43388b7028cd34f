"""One page image → its grid rows (tables and text lines, top to bottom), its arrows and the
corrections made to its cells (ページの読み取り)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.models import Cell, Shape

from .arrows import _Arrow, erase_arrows, find_arrows
from .cells import Box, _Table, find_tables
from .codes import code_by_name, code_column
from .correct import correct_cell
from .engine import EDGE_REACH, SCALE, _Engine
from .image import deskew, lines_mask
from .lines import line_height, outside_boxes, read_box, read_line


@dataclass
class _Item:
    """A grid row in the making: its top and left (points) and its cells' text, box, confidence."""

    top: float
    left: float
    cells: list[tuple[str, tuple[float, float, float, float] | None, float | None]]


def _points(box: Box) -> tuple[float, float, float, float]:
    return tuple(round(v / SCALE, 2) for v in box)  # type: ignore[return-value]


def table_items(
    engine: _Engine, ink: np.ndarray, table: _Table, notes: list[str], line_height: float | None = None
) -> list[_Item]:
    """A table's rows as pdfplumber gives them: one row per distinct cell top, one column per
    distinct cell left; a merged cell is in its first row, the rows it covers have None there."""
    tops = sorted({i for i, _ in table.cells})
    lefts = sorted({j for _, j in table.cells})
    items = []
    for i in tops:
        cells: list[tuple[str, Any, float | None]] = []
        for j in lefts:
            box = table.cells.get((i, j))
            if box is None:
                cells.append(("", None, None))
                continue
            text, conf = read_box(engine, ink, box, line_height, notes)
            text, note, conf = correct_cell(text, conf)
            if note:
                notes.append(note)
            cells.append((text, _points(box), conf))
        boxes = [b for _, b, _ in cells if b]
        items.append(_Item(min(b[1] for b in boxes), min(b[0] for b in boxes), cells))
    for j in range(len(lefts)):
        code_column(items, j, notes)
        code_by_name(items, j, notes)
    return items


def text_items(engine: _Engine, ink: np.ndarray, notes: list[str]) -> list[_Item]:
    """Lines of text outside the tables: boxes read one by one, then joined into lines as the
    PDF reader joins words (:func:`extractors.readers.pdf._lines`)."""
    from ..pdf import _join_words, _line_box, _lines

    words = []
    for box in outside_boxes(ink):
        text, conf = read_line(engine, box)
        text, note, conf = correct_cell(text, conf, in_table=False)
        if note:
            notes.append(note)
        if text:
            x0, top, x1, bottom = _points(box)
            words.append({"text": text, "x0": x0, "top": top, "x1": x1, "bottom": bottom, "conf": conf})
    items = []
    for line in _lines(words):
        for part in _apart(line):
            bbox = _line_box(part)
            items.append(_Item(bbox[1], bbox[0], [(_join_words(part), bbox, min(w["conf"] for w in part))]))
    return items


def _apart(line: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A line's words in groups more than three heights apart (a heading and a legend beside
    it): lines of their own, as a text layer prints text boxes whose tops differ a little."""
    groups = [[line[0]]]
    for prev, w in zip(line, line[1:], strict=False):
        if w["x0"] - prev["x1"] > 3 * max(w["bottom"] - w["top"], 1.0):
            groups.append([w])
        else:
            groups[-1].append(w)
    return groups


# --- pages and documents --------------------------------------------------------------------


def _clean(
    grey: np.ndarray, ink: np.ndarray, rulings: np.ndarray, arrows: list[_Arrow]
) -> tuple[np.ndarray, np.ndarray]:
    """Ink without rulings and arrows, and the grey page the recogniser sees: that ink's
    pixels (and a pixel around them) on white — no shading, no noise, no lines."""
    import cv2

    ink = ink.copy()
    ink[cv2.dilate(rulings, np.ones((5, 5), np.uint8)) > 0] = 0
    erase_arrows(arrows, ink, pad=6)
    near = cv2.dilate(ink, np.ones((3, 3), np.uint8)) > 0
    return np.where(near, grey, 255).astype(np.uint8), ink


def _rulings(lines: np.ndarray, tables: list[_Table], long_pt: float = 30) -> np.ndarray:
    """The line pixels to erase: inside the tables, and lines at least ``long_pt`` long
    elsewhere — not a heading's bold strokes, which the line masks also hold."""
    import cv2

    out = np.zeros_like(lines)
    edges = np.zeros_like(lines)  # a band along every cell's edges: a large character's strokes
    for t in tables:  # inside a cell are no ruling (目's strokes are 12 pt long in a slide's font)
        for x0, y0, x1, y1 in t.cells.values():
            cv2.rectangle(edges, (x0, y0), (x1, y1), 255, thickness=2 * EDGE_REACH + 1)
    out[edges > 0] = lines[edges > 0]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    long = np.flatnonzero(np.maximum(stats[:, 2], stats[:, 3]) >= long_pt * SCALE)
    long = long[long > 0]
    if len(long):
        out[np.isin(labels, long)] = 255
    return out


def read_page(
    engine: _Engine, grey: np.ndarray, number: int, row_offset: int
) -> tuple[list[list[Cell]], list[Shape], list[str]]:
    """One page image → its grid rows (tables and text lines, top to bottom), its arrows and
    the corrections made to its cells' text (:func:`correct_cell`)."""
    import cv2

    grey, ink, angle = deskew(grey)
    hmask, vmask = lines_mask(ink, "horizontal", 12), lines_mask(ink, "vertical", 10)
    arrows = find_arrows(ink, hmask, vmask)
    erase_arrows(arrows, hmask)  # a shaft is no ruling: it must not split its cells
    tables = find_tables(hmask, vmask)
    clean_grey, clean_ink = _clean(grey, ink, _rulings(cv2.bitwise_or(hmask, vmask), tables), arrows)
    engine.set_page(clean_grey)
    notes: list[str] = []
    height = line_height(clean_ink, tables)
    items = [item for t in tables for item in table_items(engine, clean_ink, t, notes, height)]
    outside = clean_ink.copy()
    for t in tables:
        x0, y0, x1, y1 = t.bbox
        outside[y0:y1, x0:x1] = 0
    items += text_items(engine, outside, notes)
    items.sort(key=lambda it: (round(it.top, 1), it.left))
    rows = []
    for k, item in enumerate(items):
        r = row_offset + k
        rows.append(
            [
                Cell(text=t, row=r, col=j, page=number, bbox=b, confidence=c)
                for j, (t, b, c) in enumerate(item.cells)
            ]
        )
    shapes = [
        Shape("arrow", number, (a.x0 / SCALE, float(a.y / SCALE - 1), a.x1 / SCALE, float(a.y / SCALE + 1)))
        for a in arrows
    ]
    return rows, shapes, [f"p.{number}: OCR {n}" for n in notes]
