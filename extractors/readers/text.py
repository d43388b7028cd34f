"""Text exports (tab-separated lines) → grid. One line is one row; tabs separate cells."""

from __future__ import annotations

import codecs

from core.models import Cell, ExtractionError, Grid

ENCODINGS = ("utf-8", "cp932", "euc_jp")
# Limits of a text export (テキスト書き出しの上限): the bundled exports are 11–59 KB with lines of
# at most 968 characters; an export past these is not a plan's table and is refused at once
# (a 50 MB export once held a run for 10 minutes at 2.3 GB).
MAX_TEXT_BYTES = 20 * 1024 * 1024
MAX_LINE_CHARS = 20_000
MAX_TEXT_CELLS = 500_000  # tab-separated cells (the bundled exports: a few thousand)


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
    if len(data) > MAX_TEXT_BYTES:
        raise ExtractionError(
            f"{name}: {len(data) / 2**20:.1f} MB — larger than the {MAX_TEXT_BYTES // 2**20} MB a plan's "
            "text export needs; not read"
        )
    text, encoding = decode(data, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_lines(text, name)
    if not text.strip():
        raise ExtractionError(f"{name}: no text (the file holds only white space)")
    rows: list[list[Cell]] = []
    for i, line in enumerate(text.split("\n")):
        cells = [Cell(text=t, row=i, col=j, line=i + 1) for j, t in enumerate(line.split("\t"))]
        rows.append(cells if line.strip() else [])
    return Grid(rows=rows, format="text", pages=None, encoding=encoding)


def _check_lines(text: str, name: str) -> None:
    """Refuse more cells than :data:`MAX_TEXT_CELLS` or a line longer than :data:`MAX_LINE_CHARS`
    (naming it) before the text is split into cells."""
    cells = text.count("\t") + text.count("\n") + 1
    if cells > MAX_TEXT_CELLS:
        raise ExtractionError(
            f"{name}: {cells:,} cells — more than the {MAX_TEXT_CELLS:,} a plan's text export needs; not read"
        )
    lines = text.split("\n")
    if max(map(len, lines)) <= MAX_LINE_CHARS:
        return
    number, line = next((i, x) for i, x in enumerate(lines, start=1) if len(x) > MAX_LINE_CHARS)
    raise ExtractionError(
        f"{name}: line {number} has {len(line):,} characters — more than the {MAX_LINE_CHARS:,} "
        "a line of a text export may have; not read"
    )
