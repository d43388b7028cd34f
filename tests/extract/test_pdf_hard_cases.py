"""The PDF engines' hard cases (難しいPDF), each in a tiny PDF written here: both engines give
the same grid (cells, words outside tables, arrows) and its real values, or the pdfium engine
falls back to pdfplumber and says why (the equivalence gate)."""

from __future__ import annotations

import io

import pytest
from tinypdf import (
    HELVETICA,
    RULED,
    assert_same_grid,
    both,
    chars,
    cid_font,
    cmap,
    glyph_by_glyph,
    same_reading,
    stream,
    texts,
    tiny_pdf,
)

from core.models import ExtractionError
from extractors.extract import extract_document
from extractors.readers.pdf import read_pdf

# Two cells of the first row of RULED, and a heading above the table
TABLE = RULED + (
    b" BT /F1 10 Tf 25 106 Td (Budget) Tj ET BT /F1 10 Tf 125 106 Td (2024) Tj ET"
    b" BT /F1 12 Tf 20 150 Td (Heading line) Tj ET"
)
JAPANESE = {1: "年", 2: "度", 3: " ", 4: "計", 5: "画"}


def test_text_drawn_glyph_by_glyph(tmp_path):
    content = b" ".join(
        [
            RULED,
            glyph_by_glyph("Budget", 25, 106),
            glyph_by_glyph("2024", 125, 106),
            b"BT /F1 10 Tf 25 86 Td (Total 99) Tj ET BT /F1 12 Tf 20 150 Td (Heading line) Tj ET",
        ]
    )
    grid = same_reading(tmp_path, "glyphs.pdf", tiny_pdf(content, HELVETICA))
    assert texts(grid) == [["Heading line"], ["Budget", "2024"], ["Total 99", ""]]


def test_clipped_paths(tmp_path):
    """A clipping path (re W n) over half of the table: pdfminer ignores clipping and pdfium
    keeps each path whole, so both see the whole table, and the text drawn outside the clip."""
    content = (
        b"q 20 90 120 40 re W n " + RULED + b" BT /F1 10 Tf 25 106 Td (Inside) Tj ET"
        b" BT /F1 10 Tf 125 106 Td (Outside) Tj ET Q BT /F1 10 Tf 25 86 Td (Free) Tj ET"
    )
    grid = same_reading(tmp_path, "clipped.pdf", tiny_pdf(content, HELVETICA))
    assert texts(grid) == [["Inside", "Outside"], ["Free", ""]]


def _ligature_pdf(content: bytes, glyph: bytes = b"fi", text: str = "fi", width: int = 500) -> bytes:
    """Helvetica-like font /LigSans whose code 31 draws the glyph ``glyph`` (``width``/1000
    em), mapped by ToUnicode to the characters ``text``."""
    widths = {
        31: width,
        32: 278,
        **{
            ord(c): w
            for c, w in zip("fioprtv5Th", (278, 222, 556, 556, 333, 278, 500, 556, 611, 556), strict=True)
        },
    }
    font = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /LigSans /FontDescriptor 6 0 R /FirstChar 31"
        b" /LastChar 122 /Widths [%s] /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding"
        b" /Differences [31 /%s] >> /ToUnicode 5 0 R >>"
        % (b" ".join(b"%d" % widths.get(c, 556) for c in range(31, 123)), glyph)
    )
    extra = (
        stream(cmap({31: text}, bytes_per_code=1)),
        b"<< /Type /FontDescriptor /FontName /LigSans /Flags 32 /FontBBox [-166 -225 1000 931]"
        b" /ItalicAngle 0 /Ascent 718 /Descent -207 /CapHeight 718 /StemV 88 >>",
    )
    return tiny_pdf(RULED + b" " + content, font, extra)


def test_ligatures(tmp_path):
    """Code 31 draws the glyph "fi" (500/1000 em), which ToUnicode maps to two characters:
    pdfium splits it in two at one place, the loader joins them and gives the glyph its own
    advance (not f's 278), so "profit" stays one word; a later lone "f" keeps f's advance."""
    content = (
        b"BT /F1 10 Tf 25 106 Td (pro\x1ft 5) Tj ET BT /F1 10 Tf 125 106 Td (\x1fve) Tj ET"
        b" BT /F1 10 Tf 25 86 Td (of) Tj ET"
    )
    data = _ligature_pdf(content)
    grid = same_reading(tmp_path, "ligature.pdf", data)
    assert texts(grid) == [["profit 5", "five"], ["of", ""]]
    _, loaded = chars(tmp_path / "ligature.pdf", data)
    assert [c[:3] for c in loaded if c[0] in ("fi", "f")] == [
        ("fi", 39.45, 44.45),
        ("fi", 125.0, 130.0),
        ("f", 30.56, 33.34),
    ]


def test_ligature_does_not_cache_its_first_characters_advance(tmp_path):
    """A "Th" ligature glyph (code 31, 500/1000 em) narrower than its first character T (611):
    pdfium gives no width for the code, so the advance found for the glyph's first character is
    pdfium's box (5 pt), not T's. The guard of the loader's advance cache (the fresh advance
    dropped when the glyph turns out a ligature) keeps a later lone T at 6.11 pt, as pdfminer
    has it. Without the guard the T is cached 5 pt wide: the gap before its o looks like a
    glyph pdfium dropped, and the document falls back to pdfplumber."""
    content = b"BT /F1 10 Tf 25 106 Td (\x1fe 5) Tj ET BT /F1 10 Tf 25 86 Td (To) Tj ET"
    data = _ligature_pdf(content, glyph=b"T_h", text="Th")
    grid = same_reading(tmp_path, "th_ligature.pdf", data)
    assert texts(grid) == [["The 5", ""], ["To", ""]]
    _, loaded = chars(tmp_path / "th_ligature.pdf", data)
    assert [c[:3] for c in loaded if c[0] in ("Th", "T")] == [("Th", 25.0, 30.0), ("T", 25.0, 31.11)]


def test_spaces_drawn_as_their_own_text_objects(tmp_path):
    """A space drawn alone between two words (pdfium's text page drops it: no ink) comes back
    as a space, in Helvetica and in a Japanese CID font (年 度)."""
    content = (
        b"BT /F1 10 Tf 25 106 Td (Budget) Tj ET BT /F1 10 Tf 55.02 106 Td ( ) Tj ET"
        b" BT /F1 10 Tf 57.8 106 Td (2024) Tj ET BT /F1 10 Tf 125 106 Td (a  b) Tj ET"
    )
    grid = same_reading(tmp_path, "spaces.pdf", tiny_pdf(RULED + b" " + content, HELVETICA))
    assert texts(grid) == [["Budget 2024", "a b"], ["", ""]]
    _, loaded = chars(tmp_path / "spaces.pdf", tiny_pdf(RULED + b" " + content, HELVETICA))
    assert [c[:3] for c in loaded if c[0] == " "] == [
        (" ", 55.02, 57.8),
        (" ", 130.56, 133.34),  # a (556) at 125, then two spaces (278 each) of one object
        (" ", 133.34, 136.12),
    ]


def _mincho(encoding: bytes = b"UniJIS-UCS2-H") -> tuple[bytes, tuple[bytes, ...]]:
    """MS-Mincho, not embedded, Adobe-Japan1 with a predefined CMap (codes are UCS-2)."""
    extra = (
        b"<< /Type /FontDescriptor /FontName /MS-Mincho /Flags 4 /FontBBox [0 -141 1000 859]"
        b" /ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 700 /StemV 80 >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /MS-Mincho /CIDSystemInfo << /Registry"
        b" (Adobe) /Ordering (Japan1) /Supplement 2 >> /FontDescriptor 5 0 R /DW 1000 /W [1 [500]] >>",
    )
    font = b"<< /Type /Font /Subtype /Type0 /BaseFont /MS-Mincho /Encoding /%s /DescendantFonts [6 0 R] >>"
    return font % encoding, extra


def test_japanese_space_drawn_alone(tmp_path):
    """年 space 度, the space a text object of its own, in a Japanese font that is not
    embedded: the same cell 年 度 in both engines. An ideographic space drawn alone (U+3000)
    is a space to both too (the loader's character is " ", pdfminer's "\u3000": same words)."""
    content = (
        b"BT /F1 10 Tf 25 106 Td <5E74> Tj ET BT /F1 10 Tf 35 106 Td <0020> Tj ET"
        b" BT /F1 10 Tf 40 106 Td <5EA6> Tj ET BT /F1 10 Tf 125 106 Td <5E74> Tj ET"
        b" BT /F1 10 Tf 135 106 Td <3000> Tj ET BT /F1 10 Tf 145 106 Td <5EA6> Tj ET"
        b" BT /F1 10 Tf 25 150 Td <8A08753B> Tj ET"
    )
    font, extra = _mincho()
    ref, fast = both(tmp_path / "nendo.pdf", tiny_pdf(RULED + b" " + content, font, extra))
    assert_same_grid(ref, fast)
    assert texts(fast) == [["計画"], ["年 度", "年 度"], ["", ""]]


def test_inkless_glyph_of_a_substituted_cid_font_is_not_taken_for_a_space(tmp_path):
    """A CID font not embedded whose CIDs are glyph numbers (Identity): the substitute font
    draws 年 and 度 (CIDs 1, 2) as blank glyphs, which pdfium's text page drops like spaces.
    The loader does not guess: the document is read by pdfplumber (年 度, not three spaces)."""
    font, extra = cid_font(to_unicode=JAPANESE)
    content = (
        b"BT /F1 10 Tf 25 106 Td <0001> Tj ET BT /F1 10 Tf 35 106 Td <0003> Tj ET"
        b" BT /F1 10 Tf 40 106 Td <0002> Tj ET BT /F1 10 Tf 25 150 Td <00040005> Tj ET"
    )
    ref, fast = both(tmp_path / "identity.pdf", tiny_pdf(RULED + b" " + content, font, extra))
    assert (
        fast.engine
        == "plumber (pdfium fallback: a text object without ink in a CID font that is not embedded)"
    )
    assert_same_grid(ref, fast)
    assert texts(fast) == [["計画"], ["年 度", ""], ["", ""]]


@pytest.mark.parametrize(
    ("rotate", "expected"),
    [
        (90, [["", "Budget"], ["Heading"], ["line"], ["", "2024"]]),
        (270, [["4202", ""], ["tegduB", ""], ["enil"], ["gnidaeH"]]),
    ],
)
def test_rotated_page(tmp_path, rotate, expected):
    """/Rotate 90 and 270: the pdfium engine falls back to pdfplumber and says so. pdfplumber
    reads the page as the content stream draws it turned by the rotation: the table's columns
    become rows, each word a line, and at 270° the characters come right to left (as today)."""
    ref, fast = both(
        tmp_path / f"rotate{rotate}.pdf", tiny_pdf(TABLE, HELVETICA, page=b"/Rotate %d " % rotate)
    )
    assert fast.engine == f"plumber (pdfium fallback: page 1 is rotated ({rotate}°))"
    assert_same_grid(ref, fast)
    assert texts(fast) == expected


def test_content_rotated_by_a_matrix(tmp_path):
    """The whole page drawn turned 90° by ``cm`` (the page itself not rotated): its text is
    rotated, so the pdfium engine falls back; a rotated word in a table (``Tm``) too."""
    ref, fast = both(tmp_path / "cm.pdf", tiny_pdf(b"q 0 1 -1 0 250 -50 cm " + TABLE + b" Q", HELVETICA))
    assert fast.engine == "plumber (pdfium fallback: scaled, rotated or vertical text)"
    assert_same_grid(ref, fast)
    assert texts(fast) == [["4202", ""], ["tegduB", ""], ["enil"], ["gnidaeH"]]
    content = RULED + b" BT /F1 10 Tf 0 1 -1 0 30 85 Tm (Up) Tj ET BT /F1 10 Tf 125 106 Td (2024) Tj ET"
    ref, fast = both(tmp_path / "tm.pdf", tiny_pdf(content, HELVETICA))
    assert fast.engine == "plumber (pdfium fallback: scaled, rotated or vertical text)"
    assert_same_grid(ref, fast)
    assert texts(fast) == [["", "2024"], ["pU", ""]]


def test_vertical_japanese_text_falls_back_and_is_reported(tmp_path):
    """A font of vertical writing (Identity-V): pdfplumber reads it, the fallback says why,
    and the document's warnings carry it to the run summary."""
    font, extra = cid_font(b"Identity-V", JAPANESE)
    content = RULED + b" BT /F1 10 Tf 150 170 Td <00040005> Tj ET BT /F1 10 Tf 125 106 Td <0004> Tj ET"
    path = tmp_path / "tategaki.pdf"
    path.write_bytes(tiny_pdf(content, font, extra))
    ref, fast = both(path)
    assert fast.engine == "plumber (pdfium fallback: vertical text (font 'MinchoTest'))"
    assert_same_grid(ref, fast)
    assert texts(fast) == [["計"], ["画"], ["", "計"], ["", ""]]  # one line per character
    doc = extract_document(path, kind="progress_sheets").document
    assert "tategaki.pdf: read with pdfplumber: plumber (pdfium fallback: vertical text" in doc["warnings"][0]


@pytest.mark.parametrize("glyphs", [2, 12])
def test_cid_font_without_tounicode_is_ocr_needed(tmp_path, glyphs):
    """Identity-H without ToUnicode: pdfminer gives (cid:N), pdfium raw codes with its
    mapping-error flag. Both engines end in the same one-line "OCR needed" error (OCR off),
    whether the glyphs are many or a short document's only two."""
    font, extra = cid_font()
    text = b"<" + b"00040005" * (glyphs // 2) + b">"
    data = tiny_pdf(RULED + b" BT /F1 10 Tf 25 106 Td %s Tj ET" % text, font, extra)
    errors = []
    for engine in ("plumber", "pdfium"):
        with pytest.raises(ExtractionError) as exc:
            read_pdf(tmp_path / "nomap.pdf", data, engine=engine, ocr="never")
        errors.append(str(exc.value))
    assert (
        errors[0]
        == errors[1]
        == (
            f"nomap.pdf: the text layer is unreadable ({glyphs} (cid:N) glyphs, 0 replacement characters:"
            " fonts without a Unicode map) — OCR needed"
        )
    )


def _encrypt(data: bytes, algorithm: str) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt("himitsu", algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_encrypted_pdf(tmp_path, algorithm):
    """With the password: the grid of the unencrypted file, in both engines; without it or with
    a wrong one: one line saying so, the same from both engines and from extract_document."""
    plain = tiny_pdf(TABLE, HELVETICA)
    path = tmp_path / "locked.pdf"
    path.write_bytes(_encrypt(plain, algorithm))
    ref, fast = both(path, password="himitsu")
    assert fast.engine == "pdfium"
    assert_same_grid(ref, fast)
    assert_same_grid(read_pdf(path, plain, engine="plumber"), fast)
    assert texts(fast) == [["Heading line"], ["Budget", "2024"], ["", ""]]
    for password, message in (
        (None, "locked.pdf: encrypted, no password given (add password: to sources.yaml)"),
        ("nope", "locked.pdf: wrong password in sources.yaml"),
    ):
        for engine in ("plumber", "pdfium"):
            with pytest.raises(ExtractionError) as exc:
                read_pdf(path, path.read_bytes(), password=password, engine=engine)
            assert str(exc.value) == message
        assert extract_document(path, password=password).document["error"] == message


def test_page_without_tables(tmp_path):
    """Only text: every line a row of one cell (words outside tables), no table cells."""
    content = (
        b"BT /F1 12 Tf 20 170 Td (Plan of 2024) Tj ET BT /F1 10 Tf 20 150 Td (Budget 99) Tj ET"
        b" BT /F1 10 Tf 200 150 Td (right side) Tj ET BT /F1 10 Tf 20 130 Td (Last line) Tj ET"
    )
    grid = same_reading(tmp_path, "notables.pdf", tiny_pdf(content, HELVETICA))
    assert texts(grid) == [["Plan of 2024"], ["Budget 99   right side"], ["Last line"]]
    # Helvetica 12 pt on baseline 170: top 200 − (170 − 0.207·12 + 12); 5,615/1000 em wide
    assert tuple(round(v, 2) for v in grid.rows[0][0].bbox) == (20.0, 20.48, 87.38, 32.48)
    assert grid.shapes == []
