"""The pdfium engine gives the same grids as the pdfplumber engine (the reference), or falls back
to pdfplumber where it cannot; same errors, same records end to end."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import FIXTURES, RAW

from core.models import ExtractionError, Grid
from extractors.extract import parse_grid
from extractors.readers.pdf import read_pdf

PDFS = sorted(FIXTURES.rglob("*.pdf"))
KINDS = {
    "kama/progress_sheets.pdf": "progress_sheets",
    "kama/action_plan.pdf": "action_plan",
    "chiba/strategy_framework.pdf": "strategy_framework",
}


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
    data = path.read_bytes() if data is None else data
    return read_pdf(path, data, engine="plumber", **kw), read_pdf(path, data, engine="pdfium", **kw)


@pytest.fixture(scope="module")
def grids() -> dict[Path, tuple[Grid, Grid]]:
    return {p: both(p) for p in PDFS}


@pytest.mark.parametrize("path", PDFS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_engines_give_identical_grids(grids, path):
    ref, fast = grids[path]
    assert ref.engine == "plumber"
    assert fast.engine == "pdfium", fast.engine  # no fallback on any bundled PDF
    assert_same_grid(ref, fast)


@pytest.mark.parametrize("rel", sorted(KINDS))
def test_identical_records_end_to_end(grids, rel):
    ref, fast = grids[RAW / rel]
    a, b = parse_grid(ref, KINDS[rel]), parse_grid(fast, KINDS[rel])
    assert a.tables == b.tables and a.warnings == b.warnings and a.missing == b.missing
    assert sum(len(v) for v in a.tables.values()) > 20


def test_default_engine_is_pdfium():
    path = FIXTURES / "variant_progress_sheets.pdf"
    assert read_pdf(path, path.read_bytes()).engine == "pdfium"
    with pytest.raises(ValueError, match="unknown PDF engine"):
        read_pdf(path, path.read_bytes(), engine="camelot")


def test_page_without_tables(grids):
    ref, fast = grids[FIXTURES / "unknown_kind.pdf"]
    assert fast.engine == "pdfium" and fast.rows and all(len(r) == 1 for r in fast.rows)
    assert_same_grid(ref, fast)


def test_spaces_pdfium_collapses_are_put_back(grids):
    """Chiba page 1: a double space in one text object and a space drawn as its own object
    (pdfium's text page drops both) — the title keeps its words apart as pdfplumber does."""
    _, fast = grids[RAW / "chiba/strategy_framework.pdf"]
    assert fast.rows[0][0].text.startswith("第５次ちば中小企業元気戦略を推進するための方法【 4⃣ 戦略")


def _pypdf(path: Path, edit) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(path))
    edit(writer)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_encrypted_pdf_same_errors_and_grid(tmp_path):
    data = _pypdf(
        FIXTURES / "variant_progress_sheets.pdf", lambda w: w.encrypt("himitsu", algorithm="AES-128")
    )
    path = tmp_path / "locked.pdf"
    for password, message in ((None, "encrypted, no password given"), ("nope", "wrong password")):
        errors = []
        for engine in ("plumber", "pdfium"):
            with pytest.raises(ExtractionError, match=message) as exc:
                read_pdf(path, data, password=password, engine=engine)
            errors.append(str(exc.value))
        assert errors[0] == errors[1]
    ref, fast = both(path, data, password="himitsu")
    assert fast.engine == "pdfium"
    assert_same_grid(ref, fast)


def test_rotated_page_falls_back_to_pdfplumber(tmp_path):
    def rotate(w):
        w.pages[0].rotate(90)

    path = tmp_path / "rotated.pdf"
    ref, fast = both(path, _pypdf(FIXTURES / "variant_progress_sheets.pdf", rotate))
    assert fast.engine.startswith("plumber (pdfium fallback: page 1 is rotated")
    assert_same_grid(ref, fast)


def test_font_without_tounicode_is_still_ocr_needed(tmp_path):
    """Glyphs without a Unicode map: pdfminer gives (cid:N), pdfium raw codes with its
    mapping-error flag, on which the document goes to pdfplumber: the same "OCR needed"."""
    from pypdf.generic import NameObject

    def strip(w):
        for page in w.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                font.pop(NameObject("/ToUnicode"), None)
                if "/DescendantFonts" not in font:  # simple fonts: codes that map to nothing
                    font[NameObject("/Encoding")] = NameObject("/Identity-H")

    path = tmp_path / "nomap.pdf"
    data = _pypdf(FIXTURES / "variant_progress_sheets.pdf", strip)
    outcomes = []
    for engine in ("plumber", "pdfium"):
        try:
            outcomes.append(read_pdf(path, data, engine=engine))
        except ExtractionError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1] and "OCR needed" in outcomes[0]
    assert "(cid:N) glyphs" in outcomes[0]


def test_scanned_pdf_without_text_layer(tmp_path):
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    path = tmp_path / "scan.pdf"
    for engine in ("plumber", "pdfium"):
        with pytest.raises(ExtractionError, match="no text layer .* OCR needed"):
            read_pdf(path, buf.getvalue(), engine=engine)


# --- hard cases, in tiny PDFs written here (Helvetica, not embedded) ----------------------------


def _tiny_pdf(content: bytes, font: bytes, extra: tuple[bytes, ...] = ()) -> bytes:
    """A 300 × 200 pt page drawing ``content`` with one font (/F1, object 4 + len(extra) + 1);
    ``extra`` objects are numbered 5, 6, … for the font to refer to."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (5 + len(extra)),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
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


def _glyph_by_glyph(text: str, x: float, y: float) -> bytes:
    """``text`` drawn one character per text object (BT … Td (c) Tj ET), as some writers do."""
    out = []
    for ch in text:
        out.append(b"BT /F1 10 Tf %.2f %.2f Td (%s) Tj ET" % (x, y, ch.encode()))
        x += ADVANCES[ch] * 10 / 1000
    return b" ".join(out)


def _chars(path: Path, data: bytes) -> tuple[list[tuple], list[tuple]]:
    """The first page's characters (text, x0, x1, top, bottom) from pdfplumber and from the
    pdfium loader."""
    import pdfplumber

    from extractors.readers.pdfium import PdfiumDocument

    def key(c):
        return (c["text"], *(round(c[k], 3) for k in ("x0", "x1", "top", "bottom")))

    with pdfplumber.open(io.BytesIO(data)) as pdf, PdfiumDocument(data, None) as doc:
        page = pdf.pages[0]
        return [key(c) for c in page.chars], [key(c) for c in doc.page(pdf, page).chars]


def _same_reading(tmp_path: Path, name: str, data: bytes) -> Grid:
    """Both engines read ``data`` alike, characters included; the pdfium engine's grid."""
    path = tmp_path / name
    ref, fast = both(path, data)
    assert fast.engine == "pdfium", fast.engine
    assert_same_grid(ref, fast)
    plumber_chars, pdfium_chars = _chars(path, data)
    assert plumber_chars == pdfium_chars
    return fast


def test_text_drawn_glyph_by_glyph(tmp_path):
    content = b" ".join(
        [
            RULED,
            _glyph_by_glyph("Budget", 25, 106),
            _glyph_by_glyph("2024", 125, 106),
            b"BT /F1 10 Tf 25 86 Td (Total 99) Tj ET BT /F1 12 Tf 20 150 Td (Heading line) Tj ET",
        ]
    )
    grid = _same_reading(tmp_path, "glyphs.pdf", _tiny_pdf(content, HELVETICA))
    assert [[c.text for c in row] for row in grid.rows] == [
        ["Heading line"],
        ["Budget", "2024"],
        ["Total 99", ""],
    ]


def test_clipped_paths(tmp_path):
    """A clipping path (re W n) over half of the table: pdfminer ignores clipping and pdfium
    keeps each path whole, so both see the whole table, and the text drawn outside the clip."""
    content = (
        b"q 20 90 120 40 re W n " + RULED + b" BT /F1 10 Tf 25 106 Td (Inside) Tj ET"
        b" BT /F1 10 Tf 125 106 Td (Outside) Tj ET Q BT /F1 10 Tf 25 86 Td (Free) Tj ET"
    )
    grid = _same_reading(tmp_path, "clipped.pdf", _tiny_pdf(content, HELVETICA))
    assert [[c.text for c in row] for row in grid.rows] == [["Inside", "Outside"], ["Free", ""]]


def test_ligatures(tmp_path):
    """Code 31 draws the glyph "fi" (500/1000 em), which ToUnicode maps to two characters:
    pdfium splits it in two at one place, the loader joins them and gives the glyph its own
    advance (not f's 278), so "profit" stays one word; a later lone "f" keeps f's advance."""
    widths = {
        31: 500,
        32: 278,
        **{ord(c): w for c, w in zip("fioprtv5", (278, 222, 556, 556, 333, 278, 500, 556), strict=True)},
    }
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Lig def"
        b" 1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <1F> <00660069> endbfchar"
        b" endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    font = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /LigSans /FontDescriptor 6 0 R /FirstChar 31"
        b" /LastChar 122 /Widths [%s] /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding"
        b" /Differences [31 /fi] >> /ToUnicode 5 0 R >>"
        % b" ".join(b"%d" % widths.get(c, 556) for c in range(31, 123))
    )
    extra = (
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(cmap), cmap),
        b"<< /Type /FontDescriptor /FontName /LigSans /Flags 32 /FontBBox [-166 -225 1000 931]"
        b" /ItalicAngle 0 /Ascent 718 /Descent -207 /CapHeight 718 /StemV 88 >>",
    )
    content = RULED + (
        b" BT /F1 10 Tf 25 106 Td (pro\x1ft 5) Tj ET BT /F1 10 Tf 125 106 Td (\x1fve) Tj ET"
        b" BT /F1 10 Tf 25 86 Td (of) Tj ET"
    )
    grid = _same_reading(tmp_path, "ligature.pdf", _tiny_pdf(content, font, extra))
    assert [[c.text for c in row] for row in grid.rows] == [["profit 5", "five"], ["of", ""]]
    _, chars = _chars(tmp_path / "ligature.pdf", _tiny_pdf(content, font, extra))
    assert [c[:3] for c in chars if c[0] in ("fi", "f")] == [
        ("fi", 39.45, 44.45),
        ("fi", 125.0, 130.0),
        ("f", 30.56, 33.34),
    ]
