"""The published PDFs give the same records as their text exports; PDF failures are clear."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import RAW, by

from extractors.extract import extract_document
from extractors.readers.pdf import text_layer_problem
from schemas import DOCUMENT_TABLES, TABLES

LINEAGE = {"source_page", "source_row", "source_doc_id"}
# A PDF's grid and its text export's differ (cells, text lines); the records they give do not.
RECORD_TABLES = tuple(t for t in DOCUMENT_TABLES if t != "unparsed_cells")
DOCS = ["kama/progress_sheets", "kama/action_plan", "chiba/strategy_framework"]


@pytest.fixture(scope="module")
def pairs():
    return {d: (extract_document(RAW / f"{d}.txt"), extract_document(RAW / f"{d}.pdf")) for d in DOCS}


@pytest.mark.parametrize("doc", DOCS)
def test_pdf_and_text_give_equal_tables(pairs, doc):
    text, pdf = pairs[doc]
    assert (text.document["status"], pdf.document["status"]) == ("ok", "ok")
    assert text.document["kind"] == pdf.document["kind"]
    for table in RECORD_TABLES:
        a = [{k: v for k, v in r.items() if k not in LINEAGE} for r in text.tables.get(table, [])]
        b = [{k: v for k, v in r.items() if k not in LINEAGE} for r in pdf.tables.get(table, [])]
        assert a == b, table


@pytest.mark.parametrize(
    ("doc", "pages"), [("kama/progress_sheets", 21), ("kama/action_plan", 7), ("chiba/strategy_framework", 7)]
)
def test_every_pdf_row_has_a_page(pairs, doc, pages):
    _, pdf = pairs[doc]
    assert pdf.document["pages"] == pages and pdf.document["format"] == "pdf"
    for table, rows in pdf.tables.items():
        if "source_page" in TABLES[table].column_names:
            assert rows or table == "unparsed_cells", table  # every cell read: no unparsed rows
            assert all(1 <= (r.get("source_page") or 0) <= pages for r in rows), table


def test_pdf_pages_point_at_the_right_sheet(pairs):
    _, pdf = pairs["kama/progress_sheets"]
    assert by(pdf.tables["measures"], policy_code="2", measure_code="4")[0]["source_page"] == 7
    chiba = pairs["chiba/strategy_framework"][1]
    loan = by(chiba.tables["indicators"], name="県制度融資の融資件数")[0]
    assert loan["source_page"] == 4


def test_pdf_values_match_the_foundation_numbers(pairs):
    _, sheets = pairs["kama/progress_sheets"]
    k = by(sheets.tables["indicators"], policy_code="2", name="商工会・商工会議所の相談・指導件数")[0]
    assert (k["baseline_value"], k["target_value"], k["cumulative_target"]) == (4755.0, 4800.0, 9555.0)
    _, plan = pairs["kama/action_plan"]
    assert len(plan.tables["initiatives"]) == 86
    assert by(plan.tables["initiatives"], row_number=19)[0]["kpi_codes"] == ["2-5", "2-3", "2-4"]
    _, chiba = pairs["chiba/strategy_framework"]
    assert len(by(chiba.tables["indicators"], indicator_type="output")) == 24


def test_action_plan_schedule_comes_from_pdf_columns(pairs):
    """Row 71 prints "-" in 2023 and its activity in 2024, with the arrow from 2024 to 2027."""
    _, plan = pairs["kama/action_plan"]
    items = by(plan.tables["schedule_items"], policy_code="5", measure_code="3", initiative_code="c")
    assert [i["fiscal_year"] for i in items] == [2024, 2025, 2026, 2027]
    assert items[0]["activity"] == "随時相談対応、情報提供、補助事業等の活用支援"
    assert not any("inferred from cell order" in w for w in plan.document["warnings"])


def test_kind_is_detected_from_pdf_text():
    for doc, kind in zip(DOCS, ["progress_sheets", "action_plan", "strategy_framework"], strict=True):
        assert extract_document(RAW / f"{doc}.pdf", kind=None).document["kind"] == kind


# --- broken PDFs ------------------------------------------------------------------------------


def _blank_pdf(tmp_path: Path) -> Path:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    path = tmp_path / "scan.pdf"
    with open(path, "wb") as f:
        writer.write(f)
    return path


def test_scanned_pdf_without_text_layer(tmp_path):
    out = extract_document(_blank_pdf(tmp_path))
    assert out.document["status"] == "failed"
    assert "no text layer" in out.document["error"] and "OCR" in out.document["error"]


def test_encrypted_pdf_needs_the_password(tmp_path):
    import pypdf

    reader = pypdf.PdfReader(RAW / "chiba" / "strategy_framework.pdf")
    writer = pypdf.PdfWriter(clone_from=reader)
    writer.encrypt(user_password="himitsu", algorithm="AES-128")
    path = tmp_path / "locked.pdf"
    buf = io.BytesIO()
    writer.write(buf)
    path.write_bytes(buf.getvalue())
    locked = extract_document(path)
    assert locked.document["status"] == "failed"
    assert "encrypted, no password given" in locked.document["error"]
    wrong = extract_document(path, password="nope")
    assert "wrong password" in wrong.document["error"]
    opened = extract_document(path, password="himitsu")
    assert opened.document["status"] == "ok"
    assert len(by(opened.tables["indicators"], indicator_type="output")) == 24


def test_truncated_and_fake_pdfs(tmp_path):
    cut = tmp_path / "cut.pdf"
    cut.write_bytes((RAW / "kama" / "action_plan.pdf").read_bytes()[:4000])
    out = extract_document(cut)
    assert out.document["status"] == "failed" and "cut.pdf" in out.document["error"]
    fake = tmp_path / "fake.pdf"
    fake.write_text("方針\t(1) 中小企業", encoding="utf-8")
    out = extract_document(fake)
    assert out.document["status"] == "failed"
    assert "not a PDF despite its .pdf name" in out.document["error"]


def test_text_layer_problems():
    assert text_layer_problem("") == "no text layer (scanned?) — OCR needed"
    assert "(cid:N)" in text_layer_problem("(cid:12)" * 20 + "abc")
    assert "replacement" in text_layer_problem("\ufffd" * 5 + "a" * 20)
    assert text_layer_problem("方針 (1) 中小企業の創業の促進を図る") is None
    # a short text mostly in a font without a Unicode map: 2 of 4 glyphs, OCR needed
    assert "(2 (cid:N) glyphs" in text_layer_problem("(cid:3)(cid:4) 計画")
    assert text_layer_problem("(cid:3) 中小企業の創業の促進を図る") is None  # 1 of 14 glyphs


def test_libreoffice_variant_sheet_equals_its_text_version():
    """Own fixture (openpyxl → LibreOffice, Mincho, 基本方針/具体的施策/基準値, R6… and 令和6年度…,
    full-width digits, a merged initiative cell, a number wrapping inside its cell, no arrows)."""
    from conftest import FIXTURES

    text = extract_document(FIXTURES / "variant_progress_sheets.txt")
    pdf = extract_document(FIXTURES / "variant_progress_sheets.pdf")
    assert pdf.document["status"] == "ok" and pdf.document["pages"] == 2
    for table in RECORD_TABLES:
        a = [{k: v for k, v in r.items() if k not in LINEAGE} for r in text.tables.get(table, [])]
        b = [{k: v for k, v in r.items() if k not in LINEAGE} for r in pdf.tables.get(table, [])]
        assert a == b, table
    k = by(pdf.tables["indicators"], name="商工会・商工会議所の相談・指導件数")[0]
    assert (k["baseline_value"], k["target_value"], k["cumulative_target"]) == (4755.0, 4800.0, 9555.0)
    lane2 = by(pdf.tables["schedule_items"], initiative_seq=2, lane=2)
    assert [(i["fiscal_year"], i["activity"]) for i in lane2] == [
        (2024, "出前授業の試行"),
        (2025, "出前授業の試行"),
        (2026, "出前授業の試行"),
        (2027, "本格実施"),
        (2028, "本格実施"),
    ]
