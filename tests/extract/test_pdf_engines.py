"""The pdfium engine gives the same grids as the pdfplumber engine (the reference), or falls back
to pdfplumber where it cannot; same errors, same records end to end."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import FIXTURES, RAW
from tinypdf import assert_same_grid, both

from core.models import ExtractionError, Grid
from extractors.extract import parse_grid
from extractors.readers.pdf import read_pdf

PDFS = sorted(FIXTURES.rglob("*.pdf"))
KINDS = {
    "kama/progress_sheets.pdf": "progress_sheets",
    "kama/action_plan.pdf": "action_plan",
    "chiba/strategy_framework.pdf": "strategy_framework",
}


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
