"""Excel originals (issue 16 §5) give the records of their text exports; the reader's limits are
plain settings. (The xlsx bombs of issue 19 §5: tests/faults/test_xlsx_bombs.py.)

The workbooks under ``tests/fixtures/xlsx/`` are built by ``tests/fixtures/make_xlsx_fixtures.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES
from openpyxl import Workbook, load_workbook

from core import normalize as nz
from core.models import ExtractionError, Grid
from extractors.extract import extract_document
from extractors.readers import read_document
from extractors.readers.xlsx import XlsxLimits, cell_text, format_number, read_xlsx
from schemas import DOCUMENT_TABLES

XLSX = FIXTURES / "xlsx"
LINEAGE = {"source_page", "source_row", "source_doc_id"}
RECORD_TABLES = tuple(t for t in DOCUMENT_TABLES if t != "unparsed_cells")
PAIRS = {
    "kama": (FIXTURES / "samples" / "kama" / "progress_sheets.txt", XLSX / "kama_progress_sheets.xlsx"),
    "variant": (FIXTURES / "variant_progress_sheets.txt", XLSX / "variant_progress_sheets.xlsx"),
}


def _save(tmp_path: Path, wb: Workbook, name: str = "book.xlsx") -> Path:
    path = tmp_path / name
    wb.save(path)
    return path


def _grid(path: Path) -> Grid:
    return read_xlsx(path, path.read_bytes())


def _row(grid: Grid, line: int, page: int = 1) -> list[tuple[int, str]]:
    """The (col, text) cells of a sheet's row ``line``."""
    for row in grid.rows:
        if row and row[0].line == line and row[0].page == page:
            return [(c.col, c.text) for c in row]
    return []


# --- the same records as the text exports ------------------------------------------------


@pytest.fixture(scope="module")
def outcomes():
    return {k: (extract_document(txt), extract_document(xl)) for k, (txt, xl) in PAIRS.items()}


@pytest.mark.parametrize("doc", PAIRS)
def test_xlsx_gives_the_records_of_its_text_export(outcomes, doc):
    text, xlsx = outcomes[doc]
    assert (text.document["status"], xlsx.document["status"]) == ("ok", "ok")
    assert xlsx.document["format"] == "xlsx"
    assert text.document["kind"] == xlsx.document["kind"] == "progress_sheets"
    for table in RECORD_TABLES:
        a = [{k: v for k, v in r.items() if k not in LINEAGE} for r in text.tables.get(table, [])]
        b = [{k: v for k, v in r.items() if k not in LINEAGE} for r in xlsx.tables.get(table, [])]
        assert a == b, table
    assert xlsx.tables["unparsed_cells"] == []
    assert xlsx.document["cells_total"] == text.document["cells_total"]


def test_kama_fixture_is_a_hoganshi_workbook_with_numbers_as_numbers():
    """The fixture is what staff keep: one sheet per measure, merged cells, typed numbers."""
    path = XLSX / "kama_progress_sheets.xlsx"
    wb = load_workbook(path, read_only=True)
    assert len(wb.worksheets) == 21
    values = {
        c.value: c.number_format for row in wb.worksheets[3].iter_rows() for c in row if c.value is not None
    }
    wb.close()
    assert 4755 in values and values[4755] == "#,##0" and "4,755" not in values
    assert 2023 in values and 38.7 in values
    with zipfile.ZipFile(path) as zf:
        sheet = zf.read("xl/worksheets/sheet12.xml").decode()
    assert sheet.count("<mergeCell ") > 40
    assert '<mergeCell ref="A13:K15"' in sheet  # an initiative's title merged down over its lanes


def test_xlsx_rows_carry_sheet_and_row(outcomes):
    _, xlsx = outcomes["kama"]
    measures = xlsx.tables["measures"]
    assert [m["source_page"] for m in measures] == list(range(1, 22))  # one worksheet per measure
    kpi = next(r for r in xlsx.tables["indicator_occurrences"] if r["baseline_text"] == "4,755")
    assert kpi["source_page"] == 4 and kpi["source_row"] == 24  # text line 108; the sheet starts at line 85


# --- the grid: merged cells, logical columns, hidden content -------------------------------


def _schedule_book() -> Workbook:
    """方眼紙: a year header over merged columns, a title merged down over two lanes, an empty
    unmerged cell under 2024 and an activity spanning two years."""
    wb = Workbook()
    ws = wb.active
    ws.title = "①創業"
    ws.merge_cells("A1:N1")
    ws["A1"] = "《進捗管理シート》"
    ws.merge_cells("A3:E3")
    ws["A3"] = "主な取り組み"
    for col, year in (("F", 2023), ("I", 2024), ("L", 2025)):
        ws[f"{col}3"] = year
        ws.merge_cells(f"{col}3:{chr(ord(col) + 2)}3")
    ws.merge_cells("A4:E5")
    ws["A4"] = "窓口相談"
    ws.merge_cells("F4:H4")
    ws["F4"] = "実施"
    ws.merge_cells("L4:N4")
    ws["L4"] = "継続"  # I4:K4 stays unmerged and empty
    ws.merge_cells("F5:K5")
    ws["F5"] = "見直し"  # 2023–2024 in one merged cell
    return wb


def test_merged_ranges_are_one_cell_in_logical_columns(tmp_path):
    grid = _grid(_save(tmp_path, _schedule_book()))
    assert _row(grid, 1) == [(0, "《進捗管理シート》")]
    assert _row(grid, 2) == [] and grid.rows[1] == []  # blank rows are kept
    assert _row(grid, 3) == [(0, "主な取り組み"), (1, "2023"), (2, "2024"), (3, "2025")]
    assert _row(grid, 4) == [(0, "窓口相談"), (1, "実施"), (2, ""), (3, "継続")]
    assert _row(grid, 5) == [(0, ""), (1, "見直し"), (3, "")]  # the title's merge covers row 5
    assert all(c.page == 1 and c.bbox is None for row in grid.rows for c in row)
    assert grid.format == "xlsx" and grid.pages == 1


def test_sheets_follow_each_other_as_pages(tmp_path):
    wb = _schedule_book()
    ws = wb.create_sheet("②資金")
    ws["B2"] = "方針"
    ws["D2"] = "(1) 創業"
    grid = _grid(_save(tmp_path, wb))
    assert grid.pages == 2
    assert _row(grid, 2, page=2) == [(0, "方針"), (1, "(1) 創業")]
    first_of_page_2 = next(i for i, row in enumerate(grid.rows) if row and row[0].page == 2)
    assert grid.rows[first_of_page_2 - 1] == []  # one blank row between worksheets
    assert grid.rows[first_of_page_2][0].row == first_of_page_2


def test_hidden_rows_columns_and_sheets_are_read(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["指標", "当初値"])
    ws.append(["創業者数 (人)", 2])
    ws.append(["参加人数 (人)", 10])
    ws["C1"] = "備考"
    ws.row_dimensions[2].hidden = True
    ws.column_dimensions["C"].hidden = True
    hidden = wb.create_sheet("hidden")
    hidden["A1"] = "非表示シート"
    hidden.sheet_state = "hidden"
    grid = _grid(_save(tmp_path, wb))
    assert _row(grid, 1) == [(0, "指標"), (1, "当初値"), (2, "備考")]
    assert _row(grid, 2) == [(0, "創業者数 (人)"), (1, "2"), (2, "")]
    assert _row(grid, 1, page=2) == [(0, "非表示シート")]
    assert grid.missing == []  # hidden content is content, not something missing


# --- values as printed --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (4755, "General", "4755"),
        (4755, "#,##0", "4,755"),
        (4755.0, "General", "4755"),
        (0.1 + 0.2, "General", "0.3"),
        (38.7, "General", "38.7"),
        (1 / 3, "General", "0.333333333333333"),
        (1234567.891, "#,##0.00", "1,234,567.89"),
        (2.5, "0", "3"),  # Excel rounds half away from zero
        (0.387, "0.0%", "38.7%"),
        (0.5, "0%", "50%"),
        (-0.125, "0.0%", "-12.5%"),
        (12, '0"件"', "12"),  # literal text of a format is not printed
        (1e-05, "General", "0.00001"),
    ],
)
def test_numbers_print_as_a_person_reads_them(value, number_format, text):
    assert format_number(value, number_format) == text
    assert nz.parse_number(text.rstrip("%")) == pytest.approx(float(text.rstrip("%").replace(",", "")))


def test_values_read_from_a_workbook(tmp_path):
    wb = Workbook()
    ws = wb.active
    cells = {
        "A1": (4755, "#,##0"),
        "A2": (0.1 + 0.2, "General"),
        "A3": (0.387, "0.0%"),
        "A4": (dt.date(2024, 3, 31), "yyyy/m/d"),
        "A5": (dt.datetime(2023, 4, 1, 9, 30), "yyyy/m/d h:mm"),
        "A6": (dt.date(2024, 1, 31), '[$-ja-JP]ggge"年"m"月"d"日"'),  # 和暦 display: as the PDF prints it
        "A7": (True, "General"),
    }
    for ref, (value, fmt) in cells.items():
        ws[ref] = value
        ws[ref].number_format = fmt
    grid = _grid(_save(tmp_path, wb))
    texts = [row[0].text for row in grid.rows]
    assert texts == ["4,755", "0.3", "38.7%", "2024年3月31日", "2023年4月1日 9:30", "令和6年1月31日", "TRUE"]
    as_of = nz.parse_as_of(texts[3])
    assert (as_of.date, as_of.fiscal_year) == (dt.date(2024, 3, 31), 2023)
    assert nz.parse_as_of(texts[5]).date == dt.date(2024, 1, 31)
    assert cell_text(dt.time(9, 5)) == "9:05"


@pytest.mark.parametrize(
    ("value", "number_format", "printed"),
    [
        (dt.date(2019, 4, 30), '[$-411]ggge"年"m"月"d"日";@', "平成31年4月30日"),
        (dt.date(2019, 5, 1), '[$-411]ggge"年"m"月"d"日";@', "令和1年5月1日"),
        (dt.date(2019, 5, 1), '[$-ja-JP-x-gannen]ggge"年"m"月"d"日";@', "令和元年5月1日"),
        (dt.datetime(2024, 4, 30, 9, 5), "[$-411]ge.m.d h:mm", "R6.4.30 9:05"),
        (dt.date(2024, 4, 30), '[$-411]gge"年"mm"月"dd"日"', "令6年04月30日"),
    ],
)
def test_era_date_formats_print_the_era(value, number_format, printed):
    assert cell_text(value, number_format) == printed


def _rewrite_sheet(data: bytes, change) -> bytes:
    """The same workbook with its first sheet's XML rewritten by ``change(bytes) -> bytes``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, change(body) if info.filename == "xl/worksheets/sheet1.xml" else body)
    return out.getvalue()


def _with_cached_formula(data: bytes) -> bytes:
    """The workbook as Excel would have saved it: the formula's value cached in ``<v>``."""
    return _rewrite_sheet(
        data, lambda b: re.sub(rb"<f>SUM\(B1:B2\)</f><v\s*/>", b"<f>SUM(B1:B2)</f><v>12</v>", b)
    )


def test_formula_without_a_cached_value(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["当初値", 10])
    ws.append(["目標", 2])
    ws.append(["合計", "=SUM(B1:B2)"])  # openpyxl writes formulas without a value
    path = _save(tmp_path, wb)
    grid = _grid(path)
    assert _row(grid, 3) == [(0, "合計"), (1, "")]  # never the formula text
    assert len(grid.missing) == 1
    assert "1 formula cell(s) have no saved value" in grid.missing[0]
    assert "open and save the workbook in Excel/LibreOffice" in grid.missing[0]

    cached = tmp_path / "cached.xlsx"
    cached.write_bytes(_with_cached_formula(path.read_bytes()))
    grid = _grid(cached)
    assert _row(grid, 3) == [(0, "合計"), (1, "12")]
    assert grid.missing == []


# --- bad and hostile workbooks ------------------------------------------------------------


def test_limits_are_plain_settings():
    path = XLSX / "kama_progress_sheets.xlsx"
    small = XlsxLimits(max_rows=30)
    with pytest.raises(
        ExtractionError, match=r"declares 35 rows × 36 columns — larger than the 30 × 200 cells"
    ):
        read_document(path, path.read_bytes(), limits=small)
    out = extract_document(path, limits=XlsxLimits(max_part_bytes=10_000))
    assert out.document["status"] == "failed"
    assert "unpacks to" in out.document["error"] and "a workbook part may have" in out.document["error"]
    out = extract_document(path, limits=XlsxLimits(max_total_bytes=100_000))
    assert "the workbook unpacks to" in out.document["error"]


def test_damaged_and_empty_workbooks(tmp_path):
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(ExtractionError, match=r"^damaged.xlsx: not a readable .xlsx workbook"):
        _grid(damaged)
    with pytest.raises(ExtractionError, match=r"^book.xlsx: the workbook is empty"):
        _grid(_save(tmp_path, Workbook()))


def test_entities_and_too_many_cells_are_refused(tmp_path):
    wb = Workbook()
    wb.active["A1"] = "方針"
    path = _save(tmp_path, wb)
    laughs = b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    evil = tmp_path / "laughs.xlsx"
    evil.write_bytes(
        _rewrite_sheet(path.read_bytes(), lambda b: laughs + re.sub(rb"^<\?xml[^>]*\?>", b"", b))
    )
    with pytest.raises(ExtractionError, match=r"^laughs.xlsx: xl/worksheets/sheet1.xml defines XML entities"):
        _grid(evil)
    many = Workbook()
    for r in range(1, 31):
        many.active.append([f"r{r}c{c}" for c in range(1, 11)])
    path = _save(tmp_path, many, "many.xlsx")
    with pytest.raises(ExtractionError, match=r"^many.xlsx: more than 250 filled cells \(at sheet 'Sheet'\)"):
        read_xlsx(path, path.read_bytes(), limits=XlsxLimits(max_cells=250))
