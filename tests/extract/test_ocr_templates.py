"""A scan of a template the OCR reader was not written for (issue 20): page 3 of 北浜町's
施策評価シート (tests/fixtures/templates, LibreOffice export in IPAexMincho) scanned as
``bench/ocr.py --templates`` scans it (300 dpi, grey, 0.3°, blur, noise, JPEG), read by OCR and
parsed as progress sheets. One A4 page, about 2–4 s. The values are the page's own: Ⅱ-1-(ア)
/ Ⅱ-1-(イ) codes, → continuation cells, ◎○△× in the rule line and the 評価 column, the
KPI table's numbers (exact, or their record flagged by a low OCR confidence)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES
from test_ocr import _bench

from extractors.readers.ocr import LOW_CONFIDENCE, unavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sheet3(tmp_path_factory):
    """The records of page 3's scan (tables of :func:`extractors.extract.parse_grid`, with
    :func:`extractors.extract.mark_ocr`'s confidences) and the OCR grid."""
    if unavailable():
        subprocess.run(["bash", str(ROOT / "scripts" / "install-ocr.sh")], check=True)
        from extractors.readers import ocr

        ocr.tessdata.cache_clear()
    assert unavailable() is None, unavailable()
    from extractors.extract import mark_ocr, parse_grid
    from extractors.readers.ocr import read_ocr

    bench = _bench()
    src = FIXTURES / "templates" / "kitahama_town_progress_sheets.pdf"
    path = tmp_path_factory.mktemp("scan") / "kitahama_p3.pdf"
    path.write_bytes(bench.scan_pdf(src, [3]))
    grid = read_ocr(path, path.read_bytes())
    tables = parse_grid(grid, "progress_sheets").tables
    mark_ocr(tables, grid)
    return tables, grid


def test_roman_codes_read_as_printed(sheet3):
    """Ⅱ-1-(ア) (read HL-1-(ア) / HI-1-(ア) by Tesseract) and Ⅱ-1 give policy 2, measure 1."""
    tables, _ = sheet3
    assert {(r["policy_code"], r["measure_code"]) for r in tables["measures"]} == {("2", "1")}
    codes = [(r["policy_code"], r["measure_code"], r["initiative_code"]) for r in tables["initiatives"]]
    assert codes == [("2", "1", "ア"), ("2", "1", "イ")]


def test_arrows_continue_the_schedule(sheet3):
    """研修費の補助 in 2023(R5) and → in every later year: six years of one activity."""
    tables, _ = sheet3
    years = {
        r["fiscal_year"]: r["activity"] for r in tables["schedule_items"] if r.get("initiative_code") == "イ"
    }
    assert years == {year: "研修費の補助" for year in range(2023, 2029)}


def test_marks_of_the_rule_line_and_the_grade_column(sheet3):
    """◎○△× of 【評価の目安】 (read ⑥ 〇 へ x) and △ of a grade cell (read 人A), by shape."""
    tables, grid = sheet3
    rule = next(r for r in tables["grading_rules"] if r["rule_type"] == "indicator_grade")
    assert "".join(rule["rule_text"].split()) == (
        "【評価の目安】◎:達成度100%以上○:達成度80%以上100%未満△:達成度50%以上80%未満×:達成度50%未満"
    )
    grades = {r["indicator_id"].split("|")[-1]: r["stated_grade"] for r in tables["indicator_values"]}
    assert grades["ふるさと納税返礼品の取扱事業者数"] == "△"
    assert any("read as 「△」 (by its shape)" in w for w in grid.warnings)


@pytest.mark.parametrize(
    ("name", "baseline", "target"),
    [
        ("町内企業合同説明会の参加者数", 150, 300),
        ("人材育成講座の受講者数", 60, 100),
        ("ふるさと納税返礼品の取扱事業者数", 40, 60),
    ],
)
def test_kpi_numbers_exact_or_flagged(sheet3, name, baseline, target):
    tables, _ = sheet3
    kpi = next(r for r in tables["indicators"] if r["name"] == name)
    flagged = (kpi["ocr_confidence"] or 0) < LOW_CONFIDENCE
    assert (kpi["baseline_value"], kpi["target_value"]) == (baseline, target) or flagged, kpi


def test_schedule_years_and_rules_carry_the_confidence_of_their_row(sheet3):
    """Every schedule item and grading rule names its grid row, so a misread year or rule on a
    scan can be flagged by its row's OCR confidence (before, they had no source_row and
    ``ocr_confidence`` stayed empty for all 12 schedule items of the page)."""
    tables, _ = sheet3
    rows = tables["schedule_items"] + tables["grading_rules"]
    assert len(tables["schedule_items"]) >= 12 and tables["grading_rules"]
    assert all(r["source_row"] is not None and r["ocr_confidence"] is not None for r in rows)


@pytest.fixture(scope="module")
def pillars(tmp_path_factory):
    """みなと県's 数値目標 by 柱 (one A4 page) scanned as the bench scans it, read by OCR and
    extracted as a run extracts it (kind auto-detected)."""
    from extractors.extract import extract_document

    bench = _bench()
    src = FIXTURES / "templates" / "other_pref_strategy_pillars.pdf"
    path = tmp_path_factory.mktemp("scan") / "other_pref_strategy_pillars.pdf"
    path.write_bytes(bench.scan_pdf(src))
    return extract_document(path, plan_id="pillars")


def test_heading_read_by_its_shape(pillars):
    """柱1：/柱2： (read 欄1 : / 梓2 : — a one-character word no edit distance can snap) are
    headings by their shape, a word, a number and a separator opening a wide merged row: two
    policies, and the counts table's 柱1 / 柱2 columns (read 梓1 / 梓2) their counts. Before,
    the scan failed: no direction heading."""
    out = pillars
    assert out.ok and out.document["kind"] == "strategy_framework", out.document.get("error")
    titles = {r["policy_code"]: r["title"] for r in out.tables["policies"]}
    assert titles == {"1": "創業と新しい挑戦を後押しする", "2": "経営の持続を支える"}
    counts = {(r["indicator_type"], r["scope"]): r["declared_count"] for r in out.tables["declared_counts"]}
    assert counts == {
        ("outcome", "1"): 2,
        ("outcome", "2"): 2,
        ("outcome", "total"): 4,
        ("output", "1"): 3,
        ("output", "2"): 3,
        ("output", "total"): 6,
    }
    assert any("read as 「柱1」 (a heading of the document)" in w for w in out.document["warnings"])


def test_plan_words_read_through_their_lookalikes(pillars):
    """現在 read as 更在, 末 as 林, 県内 as 四内 (kanji of Mincho misread at confidence 76–86):
    corrected where the look-alike reading is no word and the right one a plan word."""
    out = pillars
    as_of = {r["as_of_text"] for r in out.tables["indicator_values"]}
    assert {"2024年3月末現在", "2023年12月末現在"} <= as_of, as_of
    names = {r["name"] for r in out.tables["indicators"]}
    assert "県内企業の休廃業・解散件数" in names or "県内企業の休廃業解散件数" in names, names


def test_the_policy_of_the_sheet_read_through_lookalikes(sheet3):
    """北浜町 p.3: 担い手 (read 抽い手 / 提い王) and 働き手 (read 働き圭), each look-alike
    reading no word and the right one a plan word."""
    tables, _ = sheet3
    assert [(r["title"], r["direction"]) for r in tables["policies"]] == [
        ("働く人と担い手を育てる", "人手不足に悩む事業者と働きたい町民を結び、次代の担い手を育てる。")
    ]
    assert [r["title"] for r in tables["measures"]] == ["働き手の確保と育成"]


@pytest.fixture(scope="module")
def aoba():
    """あおば県's 進捗状況報告 (one A4 page, headings 基本目標Ⅰ / 基本目標Ⅱ) scanned as the bench
    scans it and extracted as a run extracts it."""
    import tempfile

    from extractors.extract import extract_document

    bench = _bench()
    src = FIXTURES / "templates" / "other_pref_strategy.pdf"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "other_pref_strategy.pdf"
        path.write_bytes(bench.scan_pdf(src))
        return extract_document(path, plan_id="aoba")


def test_headings_count_up(aoba):
    """基本目標Ⅱ read as 基本目標I (its 1 repeating the heading before it): the headings count up,
    so it is direction 2 (a guess, its record flagged); direction 2's indicators are its own and
    the declared counts are met (before: partial, 0 of 2 outcome indicators of direction 2)."""
    out = aoba
    assert out.document["status"] == "ok", out.document.get("error")
    policies = {r["policy_code"]: r for r in out.tables["policies"]}
    assert sorted(policies) == ["1", "2"]
    assert policies["2"]["ocr_confidence"] < LOW_CONFIDENCE <= policies["1"]["ocr_confidence"]
    by_policy = {r["name"]: r["policy_code"] for r in out.tables["indicators"]}
    assert by_policy["県内企業の倒産件数"] == "2" and by_policy["承継診断の実施件数"] == "2"


def test_times_after_a_number(aoba):
    """356回 read as 356同 (in 専門家派遣回数【再掲】's row): a 同 or 向 after a digit is 回
    (年2回開催 read as 年2同開催), so both rows of the KPI have the unit 回."""
    units = [r["unit"] for r in aoba.tables["indicators"] if "派遣" in r["name"]]
    assert units == ["回", "回"], units


def test_a_phrase_printed_twice_read_two_ways_is_doubtful(aoba):
    """専門家派遣回数 and its 【再掲】 read 専門家派遣同数 / 出門家派遣同数 (confidence 61): the
    two readings differ in a kanji, so one is misread and both rows are flagged."""
    flagged = [r["ocr_confidence"] < LOW_CONFIDENCE for r in aoba.tables["indicators"] if "派遣" in r["name"]]
    assert flagged == [True, True]
    assert sum("doubtful: the document prints" in w for w in aoba.document["warnings"]) >= 2


def test_a_lenticular_bracket_read_as_a_brace():
    """北浜町 p.2's rule line as the bench's scan reads it (confidence 72): its 【 read as {,
    so the line was no 【施策の総合評価】 rule and the sheet's overall rule was lost."""
    from extractors.readers.ocr.correct import correct_cell

    read = "{施策の総合評価】 A : 順調 B :概ね順調 C :やや遅れ D:遅れ"
    fixed, note, _ = correct_cell(read, 72.0)
    assert fixed == "【施策の総合評価】 A : 順調 B :概ね順調 C :やや遅れ D:遅れ" and note
    assert correct_cell("(1)創業の裾野を広げる", 89.0)[0] == "(1)創業の裾野を広げる"


@pytest.mark.parametrize(
    ("read", "printed"),
    [  # rule lines as the bench's scans read them, and as their text layers print them
        (
            "【施策の総合評価】 A : 順調 B :概ね順調 C :やや遅れ D:遅れ",
            "【施策の総合評価】A:順調 B:概ね順調 C:やや遅れ D:遅れ",
        ),
        (
            "評価基準:A : 達成率100%以上 B:達成率80%以上100%未満 C:達成率80%未満",
            "評価基準:A:達成率100%以上 B:達成率80%以上100%未満 C:達成率80%未満",
        ),
        ("KPI : 指標", "KPI : 指標"),  # a word before a colon is no grade
    ],
)
def test_a_grade_and_its_meaning_without_spaces(read, printed):
    """A grade's colon (Ａ：順調, the text layer's full-width letter) read with spaces around
    a half-width A: the spaces dropped, and after a label's 】, so the rule lines of 北浜町 and
    みどり市 equal their born-digital rule_text (grading_rules F1 0 → 0.5 and 1.0)."""
    from extractors.readers.ocr.text import tidy

    assert tidy(read) == printed


def test_a_scanned_process_table_with_an_unread_first_heading_is_parsed_not_crashed(tmp_path):
    """しおかぜ県's 工程表 scanned: its first heading is read 基本目標{[ (no direction), so its first
    blocks have no policy; the second heading, read, gave the parser a 'block' mode with no block
    and the document ended in an internal error (KeyError: 'block'). Now it is read: the blocks
    under the read heading give their indicators, the rest is reported."""
    from extractors.extract import extract_document

    src = FIXTURES / "templates" / "other_pref_process_table.pdf"
    bench = _bench()
    path = tmp_path / "process_table_scan.pdf"
    path.write_bytes(bench.scan_pdf(src, [1]))
    outcome = extract_document(path, kind="strategy_framework", pdf_engine="ocr")
    doc = outcome.document
    assert doc["status"] in ("ok", "partial"), doc["error"]
    assert "internal error" not in (doc["error"] or "")
    assert outcome.tables["indicators"]
