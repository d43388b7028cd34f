"""Schedule years from arrows (pure parser tests on hand-built grids with boxes and shapes)."""

from core.models import Cell, Grid, Shape
from extractors.parsers import progress_sheets
from extractors.parsers.common import arrow_spans, schedule_years

YEARS = [2023, 2024, 2025, 2026, 2027]
COLS = [(y, 100.0 + 50 * i, 150.0 + 50 * i) for i, y in enumerate(YEARS)]


def test_arrow_spans_count_a_year_when_half_its_column_is_covered():
    arrows = [
        Shape("arrow", 1, (105, 20, 195, 22)),
        Shape("arrow", 1, (255, 20, 350, 22)),
        Shape("arrow", 2, (105, 20, 350, 22)),
        Shape("arrow", 1, (105, 80, 350, 82)),
    ]
    assert arrow_spans(arrows, 1, 10, 40, COLS) == [(2023, 2024), (2026, 2027)]


def test_arrow_overrides_carry_forward_and_says_so():
    items, notes = schedule_years({2023: "調査"}, YEARS, [(2023, 2024)])
    assert items == [(2023, "調査", False), (2024, "調査", True)]
    assert "arrow runs 2023–2024" in notes[0] and "2023–2027" in notes[0]


def test_no_arrow_falls_back_to_carry_forward():
    items, notes = schedule_years({2024: "協議", 2025: "実施"}, YEARS, [(2024, 2024)])
    assert [(y, a) for y, a, _ in items] == [(2024, "協議"), (2025, "実施"), (2026, "実施"), (2027, "実施")]
    assert notes == []


def _cell(text, row, col, x0, x1, top, page=1):
    return Cell(text, row, col, page=page, bbox=(x0, top, x1, top + 18))


def test_progress_sheet_pdf_grid_uses_arrows():
    rows = [
        [_cell("方針", 0, 0, 20, 100, 0), _cell("(1) 中小企業の創業の促進を図る", 0, 1, 100, 350, 0)],
        [_cell("推進する施策", 1, 0, 20, 100, 20), _cell("①創業希望者の発掘", 1, 1, 100, 350, 20)],
        [_cell("主な取り組み", 2, 0, 20, 100, 40)]
        + [_cell(str(y), 2, i + 1, x0, x1, 40) for i, (y, x0, x1) in enumerate(COLS)],
        [_cell("窓口相談", 3, 0, 20, 100, 60), _cell("調査・研究", 3, 1, 100, 150, 60)]
        + [_cell("", 3, i + 2, x0, x1, 60) for i, (_, x0, x1) in enumerate(COLS[1:])],
        [_cell("課題等", 4, 0, 20, 100, 100)],
        [
            _cell("指標 (KPI)", 5, 0, 20, 100, 120),
            _cell("当初値", 5, 1, 100, 150, 120),
            _cell("2023目標", 5, 2, 150, 200, 120),
        ],
        [
            _cell("参加人数 (人)", 6, 0, 20, 100, 140),
            _cell("10", 6, 1, 100, 150, 140),
            _cell("15 (25)", 6, 2, 150, 200, 140),
        ],
    ]
    arrow = Shape("arrow", 1, (105, 88, 195, 90))  # from 2023 to the end of 2024
    result = progress_sheets.parse(Grid(rows=rows, format="pdf", pages=1, shapes=[arrow]))
    items = [(s["fiscal_year"], s["activity"]) for s in result.tables["schedule_items"]]
    assert items == [(2023, "調査・研究"), (2024, "調査・研究")]
    assert any("arrow runs 2023–2024" in w for w in result.warnings)
