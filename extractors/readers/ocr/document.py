"""A scanned PDF → its grid (文書の読み取り): every page within the page and time budget, the
document's majority reading, the confidence warnings, and the cache by sha256 and engine."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.models import Cell, ExtractionError, Grid, Shape

from .codes import heading_words, roman_first_level
from .engine import INSTALL_HINT, LOW_CONFIDENCE, _Engine, engine_version, unavailable
from .image import render
from .majority import agree, variants
from .marks import legend_gap
from .page import read_page


def confidence_warnings(grid: Grid, name: str, threshold: float = LOW_CONFIDENCE) -> list[str]:
    """The document read by OCR, its lowest cell confidence, and every cell read with less
    than ``threshold``, named by page, row and column."""
    cells = [c for row in grid.rows for c in row if c.confidence is not None and c.text.strip()]
    if not cells:
        return [f"{name}: read by OCR ({grid.pages} pages), no text read"]
    low = min(cells, key=lambda c: c.confidence or 0.0)
    out = [
        f"{name}: read by OCR ({grid.pages} pages, {len(cells)} cells); lowest confidence "
        f"{low.confidence:.0f} on p.{low.page} row {low.row} col {low.col}"
    ]
    for c in cells:
        if (c.confidence or 0.0) < threshold:
            text = c.text.replace("\n", " ")
            out.append(
                f"{name}: OCR confidence {c.confidence:.0f} on p.{c.page} row {c.row} col {c.col}: 「{text}」"
            )
    return out


def _cache_file(cache_dir: Path, data: bytes, limits: Any) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    budget = hashlib.sha256(repr(limits).encode()).hexdigest()[:8]
    version = hashlib.sha256(engine_version().encode()).hexdigest()[:16]
    return cache_dir / version / f"{digest}.{budget}.json"


def _load_cached(path: Path) -> Grid | None:
    """A grid stored by :func:`_store`, or None (missing or unreadable: read again)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        rows = [
            [Cell(**{**c, "bbox": tuple(c["bbox"]) if c["bbox"] else None}) for c in r] for r in raw["rows"]
        ]
        shapes = [Shape(s["kind"], s["page"], tuple(s["bbox"])) for s in raw["shapes"]]
        return Grid(
            rows=rows,
            format="pdf",
            pages=raw["pages"],
            shapes=shapes,
            missing=raw["missing"],
            engine="ocr",
            warnings=raw["warnings"],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, grid: Grid) -> None:
    payload = {
        "rows": [[asdict(c) for c in r] for r in grid.rows],
        "shapes": [asdict(s) for s in grid.shapes],
        "pages": grid.pages,
        "missing": grid.missing,
        "warnings": grid.warnings,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is skipped


def read_ocr(
    path: Path,
    data: bytes,
    *,
    password: str | None = None,
    limits: Any = None,
    cache_dir: Path | None = None,
) -> Grid:
    """Read every page of a PDF from its image into a :class:`Grid` (``engine="ocr"``), or
    raise :class:`ExtractionError`. ``limits`` (:class:`~extractors.readers.pdf.PdfLimits`)
    bounds pages and seconds; ``cache_dir`` keeps the grid by the file's sha256 and
    :func:`engine_version`, so the same bytes are never read twice."""
    why = unavailable()
    if why:
        raise ExtractionError(f"{path.name}: no text layer (scanned?) — OCR needed; {why}: {INSTALL_HINT}")
    entry = _cache_file(cache_dir, data, limits) if cache_dir else None
    grid = _load_cached(entry) if entry else None
    if grid is None:
        grid = _read_pages(path, data, password, limits)
        if entry and not grid.missing:
            _store(entry, grid)
    if not any(c.text.strip() for row in grid.rows for c in row):
        raise ExtractionError(
            f"{path.name}: no text layer (scanned?) — OCR needed, and OCR read no text on its {grid.pages} pages"
        )
    grid.warnings = confidence_warnings(grid, path.name) + [f"{path.name}: {w}" for w in grid.warnings]
    return grid


def _read_pages(path: Path, data: bytes, password: str | None, limits: Any) -> Grid:
    """OCR of each page within the page and time budget."""
    import pypdfium2 as pdfium

    from ..pdf import PdfLimits
    from ..pdfium import PDFIUM_LOCK

    limits = limits or PdfLimits()
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data, password=password)
        except pdfium.PdfiumError as exc:
            raise ExtractionError(f"{path.name}: cannot be opened for OCR ({exc})") from exc
        total = len(pdf)
    engine = _Engine.get()
    rows: list[list[Cell]] = []
    shapes: list[Shape] = []
    corrections: list[str] = []
    started, read = time.monotonic(), 0
    with engine.lock:
        for index in range(min(total, limits.max_pages)):
            if time.monotonic() - started > limits.max_seconds:
                break
            page_rows, page_shapes, page_notes = read_page(engine, render(pdf, index), index + 1, len(rows))
            corrections += page_notes
            rows += page_rows
            shapes += page_shapes
            read = index + 1
    with PDFIUM_LOCK:
        pdf.close()
    rows, agreed = agree(rows)
    corrections += agreed + roman_first_level(rows) + heading_words(rows) + legend_gap(rows)
    corrections += variants(rows, LOW_CONFIDENCE)
    grid = Grid(rows=rows, format="pdf", pages=total, shapes=shapes, engine="ocr", warnings=corrections)
    if read < total:
        budget = "page budget" if read >= limits.max_pages else f"time budget of {limits.max_seconds:g} s"
        grid.missing.append(f"only the first {read} of {total} pages were read by OCR ({budget})")
    return grid
