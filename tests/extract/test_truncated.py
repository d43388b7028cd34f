"""Truncated text exports (issue 17 §8): a document whose declared structure is cut — its last
sheet without the blocks the others have, a table ending mid-row, declared counts above what
was read — is ``partial`` with a reason that names what is missing, never ``ok``.

The cut copies are made here (tmp_path) from the bundled exports in tests/fixtures/samples.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, RAW

from extractors.extract import extract_document
from extractors.parsers.common import cut_last_row
from extractors.readers import read_text

CUT = "may be cut"


def by_lines(text: str, share: float) -> str:
    """The first ``share`` of the lines, each whole (what ``head -n`` leaves)."""
    lines = text.split("\n")
    return "\n".join(lines[: int(len(lines) * share)]) + "\n"


def mid_line(text: str, share: float) -> str:
    """Cut in the middle of the first non-empty line at ``share`` of the lines, no newline after."""
    lines = text.split("\n")
    k = int(len(lines) * share)
    while not lines[k].strip():
        k += 1
    return "\n".join([*lines[:k], lines[k][: len(lines[k]) // 2]])


def extract_text(tmp_path: Path, name: str, text: str, kind: str) -> dict:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return extract_document(path, kind=kind).document


SHEETS_3 = (
    "sheet 3 (measure 1-3, row 57) ends after its reports: no KPI table, grading rule line or "
    "overall rule line, which the other 2 sheets have — the file may be cut"
)
SHEETS_11 = (
    "sheet 11 (measure 3-2, row 341) ends after its schedule: no reports, KPI table, grading rule "
    "line or overall rule line, which the other 10 sheets have — the file may be cut"
)
NO_TABLE = (
    "direction headings (line 2, 6) but no strategy table (施策 / 成果指標 / 指標の数) under any "
    "of them — the file may be cut"
)
NO_HEADING = (
    "table at line 125: no 第N direction heading found; rows skipped (the file ends inside this "
    "table: it may be cut)"
)


@pytest.mark.parametrize(
    ("rel", "cut", "share", "reasons"),
    [
        ("kama/progress_sheets.txt", by_lines, 0.1, [SHEETS_3]),
        ("kama/progress_sheets.txt", by_lines, 0.5, [SHEETS_11]),
        ("kama/progress_sheets.txt", mid_line, 0.1, [SHEETS_3]),
        (
            "kama/progress_sheets.txt",
            mid_line,
            0.5,
            [
                SHEETS_11,
                "line 350, the last, ends after 1 of the 6 cells of its table's rows (header at "
                "line 349) — the file may be cut mid-row",
            ],
        ),
        # an action plan cut between two rows declares nothing that is missing: only a cut
        # inside a row can be seen (see the README's bad-input table)
        (
            "kama/action_plan.txt",
            mid_line,
            0.1,
            [
                "line 11, the last, ends after 7 of the 18 cells of its table's rows (header at "
                "line 3) — the file may be cut mid-row"
            ],
        ),
        (
            "kama/action_plan.txt",
            mid_line,
            0.5,
            [
                "line 53, the last, ends after 7 of the 19 cells of its table's rows (header at "
                "line 39) — the file may be cut mid-row"
            ],
        ),
        ("chiba/strategy_framework.txt", by_lines, 0.1, [NO_TABLE]),
        ("chiba/strategy_framework.txt", by_lines, 0.5, [NO_HEADING]),
        ("chiba/strategy_framework.txt", mid_line, 0.1, [NO_TABLE]),
        ("chiba/strategy_framework.txt", mid_line, 0.5, [NO_HEADING]),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_a_cut_export_is_partial_with_its_reason(tmp_path, rel, cut, share, reasons):
    name = Path(rel).name
    doc = extract_text(tmp_path, name, cut((RAW / rel).read_text(encoding="utf-8"), share), Path(rel).stem)
    assert (doc["status"], doc["cut_short"]) == ("partial", True)
    assert doc["error"] == f"{name}: partly extracted — " + "; ".join(reasons)


def test_the_70_lines_of_the_issue_are_partial(tmp_path):
    """The issue's example: Kama's progress sheets cut to their first 70 lines (10 %)."""
    text = "\n".join((RAW / "kama/progress_sheets.txt").read_text(encoding="utf-8").split("\n")[:70])
    doc = extract_text(tmp_path, "progress_sheets.txt", text + "\n", "progress_sheets")
    assert (doc["status"], doc["warnings"]) == ("partial", [SHEETS_3])


def test_a_single_sheet_ending_on_its_kpi_header_is_partial(tmp_path):
    """One sheet, nothing to compare with: a table header with no row under it at the end."""
    lines = (RAW / "kama/progress_sheets.txt").read_text(encoding="utf-8").split("\n")
    assert lines[20].startswith("指標 (KPI)")
    doc = extract_text(tmp_path, "one.txt", "\n".join(lines[:21]), "progress_sheets")
    assert doc["status"] == "partial"
    assert doc["error"] == (
        "one.txt: partly extracted — sheet 1 (measure 1-1, row 3) ends after its KPI table: its "
        "header has no row under it — the file may be cut"
    )


def test_a_sheet_missing_a_rule_line_before_the_last_is_not_a_cut(tmp_path):
    """Only the last sheet can be cut: sheet 1 without its 総合評価 line stays ok."""
    lines = (RAW / "kama/progress_sheets.txt").read_text(encoding="utf-8").split("\n")
    assert lines[26].startswith("総合評価")
    doc = extract_text(tmp_path, "ps.txt", "\n".join(lines[:26] + lines[27:]), "progress_sheets")
    assert doc["status"] == "ok"
    assert not [w for w in doc["warnings"] if CUT in w]


def test_declared_counts_above_what_was_read_make_the_framework_partial(tmp_path):
    """Chiba's framework without one output indicator of direction 4 (lines 289–290)."""
    lines = (RAW / "chiba/strategy_framework.txt").read_text(encoding="utf-8").split("\n")
    assert lines[288].startswith("企業と企業・市町村等とのマッチング支")
    doc = extract_text(tmp_path, "sf.txt", "\n".join(lines[:288] + lines[290:]), "strategy_framework")
    assert doc["status"] == "partial"
    assert doc["error"] == (
        "sf.txt: partly extracted — the document declares 5 output indicators for direction 4 "
        "(line 324); 4 were read — the file may be cut; the document declares 24 output "
        "indicators in total (line 324); 23 were read — the file may be cut"
    )


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (
            312,
            "declared counts at line 301: the direction columns (第1 …) and no count under them — the file may be cut",
        ),
        (
            318,
            "declared outcome counts: 3 numbers for 5 columns (1, 2, 3, 4, total) — the counts "
            "table is incomplete; the file may be cut",
        ),
    ],
)
def test_a_framework_cut_inside_its_declared_counts_is_partial(tmp_path, lines, reason):
    """Chiba's last slide (社会目標と補助指標の数) cut after its direction columns or its first counts."""
    text = (RAW / "chiba/strategy_framework.txt").read_text(encoding="utf-8").split("\n")
    doc = extract_text(tmp_path, "sf.txt", "\n".join(text[:lines]) + "\n", "strategy_framework")
    assert doc["status"] == "partial"
    assert doc["error"] == f"sf.txt: partly extracted — {reason}"


def test_declared_counts_of_a_tabular_framework(tmp_path):
    """The other prefecture's report (指標の数 in full-width digits) without one output row."""
    text = (FIXTURES / "templates/other_pref_strategy.txt").read_text(encoding="utf-8")
    kept = [ln for ln in text.split("\n") if "後継者人材バンク" not in ln]
    doc = extract_text(tmp_path, "pref.txt", "\n".join(kept), "strategy_framework")
    assert doc["status"] == "partial"
    assert "declares 4 output indicators for direction 2 (line 28); 2 were read" in doc["error"]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (RAW / "kama/progress_sheets.txt", "progress_sheets"),
        (RAW / "kama/action_plan.txt", "action_plan"),
        (RAW / "chiba/strategy_framework.txt", "strategy_framework"),
        (FIXTURES / "templates/other_city_progress_sheets.txt", "progress_sheets"),
        (FIXTURES / "templates/other_city_action_plan.txt", "action_plan"),
        (FIXTURES / "templates/other_pref_strategy.txt", "strategy_framework"),
        (FIXTURES / "variant_progress_sheets.txt", "progress_sheets"),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else None,
)
def test_intact_documents_stay_ok_without_a_cut_warning(path, kind):
    doc = extract_document(path, kind=kind).document
    assert (doc["status"], doc["cut_short"]) == ("ok", False), doc["error"]
    assert not [w for w in doc["warnings"] if CUT in w]


def test_a_partial_document_that_lacks_a_block_is_not_cut_short(tmp_path):
    """Kama's first sheet without its KPI table (lines 20–25): partial for what it lacks, not
    a cut — a revision like this replaces the previous version's rows (a cut one would not)."""
    lines = (RAW / "kama/progress_sheets.txt").read_text(encoding="utf-8").split("\n")
    assert lines[20].startswith("指標 (KPI)")
    end = next(i for i in range(21, len(lines)) if not lines[i].strip())
    doc = extract_text(tmp_path, "ps.txt", "\n".join(lines[:20] + lines[end:]), "progress_sheets")
    assert (doc["status"], doc["cut_short"]) == ("partial", False)
    assert "no KPI table" in doc["error"]


def test_a_ragged_table_is_no_evidence_of_a_cut():
    """An exporter that drops trailing empty cells makes rows of any width: a narrower last row
    is then no sign of a cut; with every row as wide as the header, it is."""
    ragged = "指標\t当初値\t目標\t実績\t達成率\n件数A\t10\t15\n件数B\t2\t3\t2\n件数C\t1"
    assert cut_last_row(read_text(ragged.encode())) is None
    kept = "指標\t当初値\t目標\n件数A\t10\t15\n件数B\t2"
    assert cut_last_row(read_text(kept.encode())) == (
        "line 3, the last, ends after 2 of the 3 cells of its table's rows (header at line 1) — "
        "the file may be cut mid-row"
    )
