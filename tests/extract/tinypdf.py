"""Tiny PDFs written by hand for the PDF engines' hard cases (小さな手書きPDF), and the checks
both engines' readings are compared with. Fonts are not embedded: pdfium substitutes one."""

from __future__ import annotations

import io
from pathlib import Path

from core.models import Grid
from extractors.readers.pdf import read_pdf


def _close(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> bool:
    if a is None or b is None:
        return a is b
    return all(abs(x - y) <= 0.01 for x, y in zip(a, b, strict=True))


def assert_same_grid(ref: Grid, fast: Grid) -> None:
    """Cells (text, row, col, page, box within 0.01 pt), free-text lines, arrows, pages, notes."""
    assert (ref.pages, ref.missing, ref.format) == (fast.pages, fast.missing, fast.format)
    assert len(ref.rows) == len(fast.rows)
    for r, f in zip(ref.rows, fast.rows, strict=True):
        assert [(c.text, c.row, c.col, c.page) for c in r] == [(c.text, c.row, c.col, c.page) for c in f]
        assert all(_close(a.bbox, b.bbox) for a, b in zip(r, f, strict=True)), (r, f)
    assert [(s.kind, s.page) for s in ref.shapes] == [(s.kind, s.page) for s in fast.shapes]
    assert all(_close(a.bbox, b.bbox) for a, b in zip(ref.shapes, fast.shapes, strict=True))


def both(path: Path, data: bytes | None = None, **kw) -> tuple[Grid, Grid]:
    """``data`` (else the file) read by the plumber engine, then by the pdfium engine."""
    data = path.read_bytes() if data is None else data
    return read_pdf(path, data, engine="plumber", **kw), read_pdf(path, data, engine="pdfium", **kw)


def texts(grid: Grid) -> list[list[str]]:
    """The grid's cell texts, row by row."""
    return [[c.text for c in row] for row in grid.rows]


def tiny_pdf(content: bytes, font: bytes, extra: tuple[bytes, ...] = (), page: bytes = b"") -> bytes:
    """A 300 × 200 pt page drawing ``content`` with one font (/F1, object 4 + len(extra) + 1);
    ``extra`` objects are numbered 5, 6, … for the font to refer to; ``page``: more entries of
    the page dictionary (``/Rotate 90``)."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 %d 0 R >> >> %s>>" % (5 + len(extra), page),
        stream(content),
        *extra,
        font,
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
# A ruled table of 2 × 2 cells: rows 120–100 and 100–80, columns 20–120 and 120–280.
RULED = (
    b"0.5 w 20 120 m 280 120 l S 20 100 m 280 100 l S 20 80 m 280 80 l S"
    b" 20 80 m 20 120 l S 120 80 m 120 120 l S 280 80 m 280 120 l S"
)
# Helvetica's advances (1/1000 em) of the characters drawn one by one
ADVANCES = {"B": 667, "u": 556, "d": 556, "g": 556, "e": 556, "t": 278, "2": 556, "0": 556, "4": 556}


def glyph_by_glyph(text: str, x: float, y: float) -> bytes:
    """``text`` drawn one character per text object (BT … Td (c) Tj ET), as some writers do."""
    out = []
    for ch in text:
        out.append(b"BT /F1 10 Tf %.2f %.2f Td (%s) Tj ET" % (x, y, ch.encode()))
        x += ADVANCES[ch] * 10 / 1000
    return b" ".join(out)


def cmap(pairs: dict[int, str], bytes_per_code: int = 2) -> bytes:
    """A ToUnicode CMap stream's body mapping each code to its text."""
    digits = 2 * bytes_per_code
    lo, hi = b"0" * digits, b"F" * digits
    chars = b" ".join(
        b"<%0*X> <%s>" % (digits, code, text.encode("utf-16-be").hex().upper().encode())
        for code, text in sorted(pairs.items())
    )
    return (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Map def"
        b" 1 begincodespacerange <%s> <%s> endcodespacerange %d beginbfchar %s endbfchar"
        b" endcmap CMapName currentdict /CMap defineresource pop end end" % (lo, hi, len(pairs), chars)
    )


def stream(body: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(body), body)


def cid_font(
    encoding: bytes = b"Identity-H", to_unicode: dict[int, str] | None = None
) -> tuple[bytes, tuple]:
    """A Type0 font of two-byte codes (CID = code, 1000/1000 em wide, the space code 3 500),
    not embedded, and its extra objects: ToUnicode map (5, when given), descriptor, CID font."""
    first = 5 if to_unicode is None else 6
    extra: tuple[bytes, ...] = () if to_unicode is None else (stream(cmap(to_unicode)),)
    extra += (
        b"<< /Type /FontDescriptor /FontName /MinchoTest /Flags 4 /FontBBox [0 -141 1000 859]"
        b" /ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 700 /StemV 80 >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /MinchoTest /CIDSystemInfo << /Registry"
        b" (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW 1000"
        b" /W [3 [500]] /CIDToGIDMap /Identity >>" % first,
    )
    font = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont /MinchoTest /Encoding /%s /DescendantFonts [%d 0 R]%s >>"
        % (
            encoding,
            first + 1,
            b"" if to_unicode is None else b" /ToUnicode 5 0 R",
        )
    )
    return font, extra


def chars(path: Path, data: bytes) -> tuple[list[tuple], list[tuple]]:
    """The first page's characters (text, x0, x1, top, bottom) from pdfplumber and from the
    pdfium loader."""
    import pdfplumber

    from extractors.readers.pdfium import PdfiumDocument

    def key(c):
        return (c["text"], *(round(c[k], 3) for k in ("x0", "x1", "top", "bottom")))

    with pdfplumber.open(io.BytesIO(data)) as pdf, PdfiumDocument(data, None) as doc:
        page = pdf.pages[0]
        return [key(c) for c in page.chars], [key(c) for c in doc.page(pdf, page).chars]


def same_reading(tmp_path: Path, name: str, data: bytes) -> Grid:
    """Both engines read ``data`` alike, characters included; the pdfium engine's grid."""
    path = tmp_path / name
    ref, fast = both(path, data)
    assert fast.engine == "pdfium", fast.engine
    assert_same_grid(ref, fast)
    plumber_chars, pdfium_chars = chars(path, data)
    assert plumber_chars == pdfium_chars
    return fast
