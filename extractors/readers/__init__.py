"""Readers turn a document's bytes into a :class:`core.models.Grid`."""

from __future__ import annotations

import os
from pathlib import Path

from core.models import ExtractionError, Grid

from .text import read_text


def detect_format(path: Path, data: bytes) -> str:
    """``pdf``, ``xlsx`` or ``text`` — by the bytes first, the file name second."""
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if data[:2] == b"PK" and path.suffix.lower() in (".xlsx", ".xlsm"):
        return "xlsx"
    if path.suffix.lower() == ".pdf":
        return "pdf"
    return "text"


def read_document(
    path: Path, data: bytes, *, password: str | None = None, limits=None, pdf_engine: str | None = None
) -> Grid:
    """Read any supported document into a grid, or raise :class:`ExtractionError`.

    ``pdf_engine`` picks the PDF reader (``"pdfium"`` or ``"plumber"``; None: the default;
    ``"ocr"``: every page read from its image). A PDF without a usable text layer is read by
    OCR unless ``PLAN_ETL_OCR=never`` (``plan-etl --ocr never``; ``always`` reads every PDF so)."""
    if not data:
        raise ExtractionError(f"{path.name}: empty file (0 bytes)")
    fmt = detect_format(path, data)
    if fmt == "pdf" and not data.lstrip()[:5] == b"%PDF-":
        raise ExtractionError(
            f"{path.name}: not a PDF despite its .pdf name (the file does not start with %PDF-)"
        )
    if fmt == "xlsx":
        from .xlsx import XlsxLimits, read_xlsx

        return read_xlsx(path, data, limits=limits if isinstance(limits, XlsxLimits) else None)
    if path.suffix.lower() == ".xlsx":
        raise ExtractionError(f"{path.name}: not an .xlsx workbook despite its name")
    if fmt == "pdf":
        from .pdf import DEFAULT_ENGINE, read_pdf

        ocr = "always" if pdf_engine == "ocr" else os.environ.get("PLAN_ETL_OCR", "auto")
        engine = DEFAULT_ENGINE if pdf_engine in (None, "ocr") else pdf_engine
        return read_pdf(path, data, password=password, limits=limits, engine=engine, ocr=ocr)
    return read_text(data, name=path.name)


__all__ = ["detect_format", "read_document", "read_text"]
