"""The fixtures of other templates in every format staff publish them (issue 16, "What it must
show"): each of ``tests/fixtures/templates/*.txt`` also exists as a 方眼紙 workbook (``.xlsx``,
made by ``tests/fixtures/make_xlsx_fixtures.py``) and as that workbook exported by LibreOffice
(``.pdf``, ``make_pdf_fixtures.py``). Read from each format:

* every table scores F1 ≥ 0.98 against the fixture's ``.expected.json`` (one test per fixture ×
  format × table, so a failure names them; the scores are printed, ``pytest -s``);
* the KPIs are graded by the sheet's own printed rule (評価基準), as the expected JSON grades them;
* ``cells_consumed / cells_total`` is printed and equals the text export's, and every cell of
  the grid not consumed is a ``unparsed_cells`` row with a reason — the same cells in every
  format.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES
from f1 import iso, table_scores
from openpyxl import load_workbook

from extractors.extract import DocumentOutcome, extract_document, parse_grid
from extractors.readers import read_document
from pipeline.derive.evaluate import evaluate

TEMPLATES = FIXTURES / "templates"
# Every fixture of another template: ``<name>.txt`` with its ``.xlsx``, ``.pdf`` and
# ``.expected.json`` (kind, the cells its text export consumes of all, and the tables).
FIXTURE_NAMES = tuple(
    sorted(p.name.removesuffix(".expected.json") for p in TEMPLATES.glob("*.expected.json"))
)
FORMATS = ("txt", "xlsx", "pdf")
EXPECTED = {
    name: json.loads((TEMPLATES / f"{name}.expected.json").read_text(encoding="utf-8"))
    for name in FIXTURE_NAMES
}
CELLS = {name: tuple(EXPECTED[name]["cells"]) for name in FIXTURE_NAMES}


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str], DocumentOutcome]:
    """Every fixture in every format, extracted once (about 1 s in all)."""
    return {
        (name, fmt): extract_document(TEMPLATES / f"{name}.{fmt}", plan_id=name)
        for name in FIXTURE_NAMES
        for fmt in FORMATS
    }


CASES = [
    (name, fmt, table) for name in FIXTURE_NAMES for fmt in FORMATS for table in EXPECTED[name]["tables"]
]


@pytest.mark.parametrize(("name", "fmt", "table"), CASES, ids=["-".join(c) for c in CASES])
def test_every_table_of_every_format_scores_f1_of_at_least_098(outcomes, name, fmt, table):
    out = outcomes[(name, fmt)]
    assert out.document["status"] == "ok", out.document["error"]
    assert out.document["kind"] == EXPECTED[name]["kind"]
    p, r, f = table_scores(iso(out.tables), EXPECTED[name]["tables"])[table]
    print(f"{name} {fmt} {table}: F1 {f:.3f} (precision {p:.3f}, recall {r:.3f})")
    assert f >= 0.98, f"{name}.{fmt} {table}: F1 {f:.3f} (precision {p:.3f}, recall {r:.3f})"


@pytest.mark.parametrize("fmt", FORMATS)
def test_kpis_are_graded_by_the_sheets_own_printed_rule(outcomes, fmt):
    """評価基準：Ａ：達成率100％以上　Ｂ：達成率80％以上100％未満　Ｃ：達成率80％未満 — the rates and
    grades the expected JSON gives (休廃業・解散件数 lower-is-better: 35 ÷ 40 = 87.5 % → B), and
    each grade the one the sheet prints beside it."""
    name = "other_city_progress_sheets"
    out = outcomes[(name, fmt)]
    names = {i["indicator_id"]: (i["policy_code"], i["name"]) for i in out.tables["indicators"]}
    got = {(*names[e["indicator_id"]], e["fiscal_year"]): e for e in evaluate(out.tables)}
    for want in EXPECTED[name]["_proposed"]["evaluations_expected"]:
        e = got[(want["policy_code"], want["name"], want["fiscal_year"])]
        assert (e["achievement_rate"], e["grade"]) == (want["achievement_rate"], want["grade"]), want["name"]
    assert [e["grade"] for e in got.values()] == [e["stated_grade"] for e in got.values()]
    assert got[("2", "市内事業者の休廃業・解散件数", 2023)]["direction"] == "lower"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_cells_consumed_and_every_other_cell_reported_alike_in_every_format(outcomes, name):
    reported = {}
    for fmt in FORMATS:
        doc, unparsed = outcomes[(name, fmt)].document, outcomes[(name, fmt)].tables["unparsed_cells"]
        print(f"{name}.{fmt}: cells consumed {doc['cells_consumed']}/{doc['cells_total']}")
        assert (doc["cells_consumed"], doc["cells_total"]) == CELLS[name], fmt
        assert len(unparsed) == doc["cells_total"] - doc["cells_consumed"]
        assert all(u["reason"].strip() for u in unparsed), fmt
        reported[fmt] = Counter(u["text"] for u in unparsed)
    assert reported["xlsx"] == reported["txt"] and reported["pdf"] == reported["txt"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_cell_of_the_grid_is_read_or_reported(name, fmt):
    """Not a count: each non-empty cell of the grid the reader gives is consumed or has a reason."""
    path = TEMPLATES / f"{name}.{fmt}"
    grid = read_document(path, path.read_bytes())
    result = parse_grid(grid, EXPECTED[name]["kind"])
    filled = {(c.row, c.col) for row in grid.rows for c in row if c.text.strip()}
    assert filled - result.consumed - set(result.unplaced) == set()


# --- the fixtures are what staff publish ------------------------------------------------------


def test_workbooks_are_hoganshi_with_typed_numbers_era_dates_and_a_year_header_over_its_columns():
    sheets = load_workbook(TEMPLATES / "other_city_progress_sheets.xlsx").worksheets
    assert len(sheets) == 3  # one worksheet per 進行管理シート
    values = {c.value: c for row in sheets[0].iter_rows() for c in row if c.value is not None}
    assert values[95].data_type == "n" and values[0.8].number_format == "0%"  # 95, 80%
    created = values[dt.datetime(2024, 4, 30)]  # 記入日 typed as a date, printed 令和6年4月30日
    assert "ggg" in created.number_format
    assert any(r.min_col == 1 and r.max_col == 36 and r.min_row == 1 for r in sheets[0].merged_cells.ranges)
    plan = load_workbook(TEMPLATES / "other_city_action_plan.xlsx").worksheets[0]
    assert (plan.page_setup.paperSize, plan.page_setup.orientation) == (8, "landscape")  # A3
    header = next(c for row in plan.iter_rows(max_row=4) for c in row if c.value == "年次計画")
    years = [
        c for row in plan.iter_rows(max_row=4) for c in row if str(c.value).endswith("年度") and c.row > 3
    ]
    over = next(r for r in plan.merged_cells.ranges if header.coordinate in r)
    assert len(years) == 5 and all(over.min_col <= y.column <= over.max_col for y in years)
    pref = load_workbook(TEMPLATES / "other_pref_strategy.xlsx").worksheets[0]
    assert 2 in {c.value for row in pref.iter_rows() for c in row}  # 指標の数 ２ as a number


def test_pdfs_are_libreoffice_exports_in_mincho_and_the_action_plan_is_a3_landscape():
    import pypdfium2 as pdfium

    sizes = {}
    for name in FIXTURE_NAMES:
        data = Path(TEMPLATES / f"{name}.pdf").read_bytes()
        pdf = pdfium.PdfDocument(data)
        assert pdf.get_metadata_dict()["Producer"].startswith("LibreOffice") and b"IPAexMincho" in data
        sizes[name] = [tuple(round(v) for v in pdf[i].get_size()) for i in range(len(pdf))]
        pdf.close()
    assert sizes["other_city_action_plan"] == [(1191, 842)]  # A3 landscape, in points
    assert sizes["other_city_progress_sheets"] == [(595, 842)] * 3  # A4, one page per sheet
