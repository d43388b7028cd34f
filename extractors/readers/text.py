"""Text exports (tab-separated lines) → grid. One line is one row; tabs separate cells."""

from __future__ import annotations

import codecs

from core.models import Cell, ExtractionError, Grid

ENCODINGS = ("utf-8", "cp932", "euc_jp")


def decode(data: bytes, name: str = "document") -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 (BOM) or CP932/Shift_JIS.

    Returns (text, encoding). Raises :class:`ExtractionError` for bytes that are none of them.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ExtractionError(
                f"{name}: UTF-16 byte order mark but undecodable bytes ({exc.reason})"
            ) from exc
    if b"\x00" in data[:4096]:
        raise ExtractionError(f"{name}: binary data (NUL bytes) — not a text export")
    for enc in ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ExtractionError(f"{name}: not valid UTF-8, UTF-16 or Shift_JIS/CP932 text — re-export it as UTF-8")


def read_text(data: bytes, name: str = "document") -> Grid:
    """Bytes of a text export → :class:`Grid` (``line`` = 1-based line number)."""
    text, encoding = decode(data, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ExtractionError(f"{name}: no text (the file holds only white space)")
    rows: list[list[Cell]] = []
    for i, line in enumerate(text.split("\n")):
        cells = [Cell(text=t, row=i, col=j, line=i + 1) for j, t in enumerate(line.split("\t"))]
        rows.append(cells if line.strip() else [])
    return Grid(rows=rows, format="text", pages=None, encoding=encoding)
