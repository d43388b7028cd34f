"""Progress sheets of templates the parser was not built on (issue 16).

* another city's sheets (tests/fixtures/templates/other_city_progress_sheets.txt, hand-written
  in the same family of templates: 施策の柱 / 取組方針 / 主要施策 / 具体的な取組 / 重要業績評価指標,
  codes 第１ / 1-1 / 1－2 / ア, years 令和5年度 / R5 / 2023年度, a unit column, 担当課 / 備考 columns,
  a (注) note line) against its expected records: table-level F1 ≥ 0.98;
* metamorphic variants of Kama's real sheets: other spellings of every label (from
  schemas/labels.yaml), years in every notation, full-width digits and punctuation, the KPI
  columns in another order, unknown columns added, optional blocks removed — the records stay
  the same; and every cell is read or reported.
"""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from conftest import FIXTURES, RAW
from f1 import table_scores
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.parsers import progress_sheets
from extractors.parsers.common import is_rule_line, year_header
from extractors.readers import read_text
from schemas.vocabulary import vocabulary

TEMPLATES = FIXTURES / "templates"
KAMA = (RAW / "kama" / "progress_sheets.txt").read_text(encoding="utf-8")
LINEAGE = {"source_page", "source_row", "source_doc_id", "plan_id"}
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(text: str):
    return progress_sheets.parse(read_text(text.encode("utf-8")))


def records(result, drop: set[str] | None = None) -> dict[str, list[dict]]:
    """The record tables without lineage (and without ``drop`` columns)."""
    skip = LINEAGE | (drop or set())
    return {
        t: [{k: v for k, v in r.items() if k not in skip} for r in rows]
        for t, rows in result.tables.items()
        if t != "unparsed_cells"
    }


BASELINE = records(parse(KAMA))


def lines(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.split("\n")]


def join(rows: list[list[str]]) -> str:
    return "\n".join("\t".join(r) for r in rows)


# --- another city's template -----------------------------------------------------------------


def test_other_city_sheets_score_f1_of_at_least_098_per_table():
    fixture = TEMPLATES / "other_city_progress_sheets"
    expected = json.loads(fixture.with_suffix(".expected.json").read_text(encoding="utf-8"))
    result = parse(fixture.with_suffix(".txt").read_text(encoding="utf-8"))
    scores = table_scores(result.tables, expected["tables"])
    low = {t: round(f, 3) for t, (_, _, f) in scores.items() if f < 0.98}
    assert not low, low


def test_other_city_note_line_is_no_kpi_and_every_unread_cell_has_a_reason():
    result = parse((TEMPLATES / "other_city_progress_sheets.txt").read_text(encoding="utf-8"))
    assert not [i for i in result.tables["indicators"] if "注" in i["name"]]
    assert [s["kpi_count"] for s in result.tables["sheets"]] == [2, 2, 3]
    reasons = set(result.unplaced.values())
    assert not any("担当課" in r or "備考" in r for r in reasons)  # read: department / remarks
    assert [r for r in reasons if "no KPI refers to" in r and "達成率・評価欄" in r] == list(reasons)
    grid_cells = {
        (c.row, c.col)
        for row in read_text((TEMPLATES / "other_city_progress_sheets.txt").read_bytes()).rows
        for c in row
        if c.text.strip()
    }
    assert grid_cells <= result.consumed | set(result.unplaced)


# --- structure detectors -------------------------------------------------------------------------


def test_year_header_in_every_notation():
    from core.models import Cell

    def header(*texts: str) -> dict[int, int]:
        return year_header([Cell(t, 0, i) for i, t in enumerate(texts)])

    for run in (
        ["2023", "2024"],
        ["2023年度", "2024年度"],
        ["R5", "R6"],
        ["Ｒ５", "Ｒ６"],
        ["令和５年度", "令和６年度"],
        ["FY2023", "FY2024"],
        ["2023 (R5)", "2024 (R6)"],
    ):
        assert header("主な取組", *run) == {1: 2023, 2: 2024}, run
    assert header("取組", "H30", "R1") == {1: 2018, 2: 2019}
    assert header("指標", "策定時(R4)", "目標値(R9)", "実績値(R5)") == {}
    assert header("指標", "2024", "2023") == {}


def test_rule_lines_by_shape_whatever_their_label():
    assert is_rule_line("評価基準：Ａ：達成率100％以上　Ｂ：達成率80％以上100％未満　Ｃ：達成率80％未満")
    assert is_rule_line("◎：100％以上　○：80％以上100％未満　△：80％未満")
    assert is_rule_line("100%以上⇒A　80%以上100%未満⇒B　80%未満⇒C")
    assert not is_rule_line("A＝商工観光課、B＝産業政策課、C＝農林振興課")
    assert not is_rule_line("（注）達成率・評価欄は令和6年5月末時点の数値により記入")
    assert not is_rule_line("創業相談件数 件 95 150 120 80% B")


# --- Kama's real sheets: nothing dropped ------------------------------------------------------


def test_kama_sheets_read_every_cell():
    result = parse(KAMA)
    grid = read_text(KAMA.encode("utf-8"))
    filled = {(c.row, c.col) for row in grid.rows for c in row if c.text.strip()}
    assert filled - result.consumed == set()


def test_unknown_label_is_read_by_position_and_reported():
    text = KAMA.replace("\n推進する施策\t", "\n重点項目\t")
    result = parse(text)
    assert records(result)["measures"] == BASELINE["measures"]
    assert any("unknown label 「重点項目」 in the label/value block" in w for w in result.warnings)
    assert any("重点項目" in why for why in result.unplaced.values())


# --- metamorphic variants of Kama's sheets ------------------------------------------------------

KAMA_LABELS = {  # label key → how Kama spells it (first cell of its rows)
    "policy": "方針",
    "direction": "方向性",
    "measure": "推進する施策",
    "initiatives": "主な取り組み",
    "issues": "課題等",
    "created": "作成日",
    "kpi_header": "指標 (KPI)",
}


def _spellings(key: str) -> list[str]:
    spec = vocabulary().section("progress_sheets")[key]
    return list(spec["spellings"] if isinstance(spec, dict) else spec)


@st.composite
def respellings(draw) -> dict[str, str]:
    chosen = {key: draw(st.sampled_from(_spellings(key))) for key in KAMA_LABELS}
    chosen["results"] = draw(st.sampled_from(_spellings("results")))
    return chosen


def respell(text: str, chosen: dict[str, str]) -> str:
    rows = lines(text)
    for row in rows:
        for key, kama in KAMA_LABELS.items():
            if row[0] == kama:
                row[0] = chosen[key]
        row[0] = row[0].replace("事業実績", chosen["results"]) if row[0].endswith("事業実績") else row[0]
    return join(rows)


@SETTINGS
@given(respellings())
def test_label_synonyms_give_the_same_records(chosen):
    assert records(parse(respell(KAMA, chosen))) == BASELINE


def _fw(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))


YEAR_NOTATIONS = [
    str,
    lambda y: f"{y}年度",
    lambda y: f"R{y - 2018}",
    lambda y: f"Ｒ{_fw(y - 2018)}",
    lambda y: f"令和{_fw(y - 2018)}年度",
    lambda y: f"FY{y}",
    lambda y: f"{y} (R{y - 2018})",
    lambda y: f"令和{y - 2018}({y})年度",
]


@SETTINGS
@given(st.sampled_from(YEAR_NOTATIONS), st.sampled_from(YEAR_NOTATIONS))
def test_years_in_every_notation_give_the_same_records(schedule_years, kpi_year):
    rows = lines(KAMA)
    for row in rows:
        if row[0] == "主な取り組み":
            row[1:] = [schedule_years(int(y)) for y in row[1:]]
        row[:] = [kpi_year(2023) + "目標" if c == "2023目標" else c for c in row]
    assert records(parse(join(rows))) == BASELINE


_FULL_WIDTH = str.maketrans("0123456789()%,:=~-ABCPR", "０１２３４５６７８９（）％，：＝～－ＡＢＣＰＲ")


def test_full_width_digits_and_punctuation_give_the_same_records():
    assert records(parse(KAMA.translate(_FULL_WIDTH))) == BASELINE


def _kpi_tables(rows: list[list[str]]) -> list[tuple[int, int]]:
    """(header line, end line) of each KPI table."""
    out = []
    for i, row in enumerate(rows):
        if row[0] == "指標 (KPI)":
            end = i + 1
            while end < len(rows) and rows[end][0].strip() and len(rows[end]) > 1:
                end += 1
            out.append((i, end))
    return out


def reorder_kpi_columns(text: str, order: list[int], extra: list[tuple[str, str]]) -> str:
    """Permute each KPI table's columns and append ``extra`` (header, value) columns."""
    rows = lines(text)
    for start, end in _kpi_tables(rows):
        width = len(rows[start])
        for n, i in enumerate(range(start, end)):
            row = rows[i] + [""] * (width - len(rows[i]))
            rows[i] = [row[j] for j in order] + [h if n == 0 else v for h, v in extra]
    return join(rows)


@SETTINGS
@given(st.permutations(list(range(7))))
def test_kpi_columns_in_any_order_give_the_same_records(order):
    assert records(parse(reorder_kpi_columns(KAMA, order, []))) == BASELINE


@SETTINGS
@given(
    st.permutations(list(range(7))),
    st.lists(st.sampled_from([("担当課", "商工観光課"), ("備考", "単年度"), ("所管課", "")]), max_size=2),
)
def test_department_and_remarks_columns_are_read_and_nothing_else_changes(order, extra):
    """An added 担当課 / 所管課 / 備考 column in any order: its value is the KPI's department or
    remarks; every other column of every record stays the same."""
    result = parse(reorder_kpi_columns(KAMA, order, extra))
    new = {"department", "remarks"}
    want = {t: [{k: v for k, v in r.items() if k not in new} for r in rows] for t, rows in BASELINE.items()}
    assert records(result, drop=new) == want
    assert not [why for why in result.unplaced.values() if "column of the KPI table" in why]
    given_values = {
        "department": {v for h, v in extra if h != "備考" and v},
        "remarks": {v for h, v in extra if h == "備考"},
    }
    for column, values in given_values.items():
        got = {i[column] for i in result.tables["indicators"]}
        assert got == ({next(iter(values))} if values else {None}), column


def _without(text: str, block: str) -> str:
    rows, out, skip = lines(text), [], False
    for row in rows:
        if block == "issues" and row[0] == "課題等":
            skip = True
            continue
        if skip and (row[0].strip() in ("--", "")):
            skip = row[0].strip() == ""
            continue
        skip = False
        if block == "overall" and row[0].strip().startswith("総合評価："):
            continue
        out.append(row)
    return join(out)


@SETTINGS
@given(st.sets(st.sampled_from(["issues", "overall"]), min_size=1))
def test_optional_blocks_removed_give_the_same_records(blocks):
    text = KAMA
    for block in blocks:
        text = _without(text, block)
    got = records(parse(text), drop={"overall_rule", "issues_text"})
    want = {
        t: [{k: v for k, v in r.items() if k not in ("overall_rule", "issues_text")} for r in rows]
        for t, rows in BASELINE.items()
    }
    if "overall" in blocks:
        want["grading_rules"] = [r for r in want["grading_rules"] if r["rule_type"] != "overall"]
    assert got == want


def test_respelled_full_width_reordered_variant_of_the_other_city_still_scores():
    """The other city's sheets with its KPI columns reversed and NFKC-equivalent text."""
    fixture = TEMPLATES / "other_city_progress_sheets"
    expected = json.loads(fixture.with_suffix(".expected.json").read_text(encoding="utf-8"))
    rows = lines(fixture.with_suffix(".txt").read_text(encoding="utf-8"))
    for i, row in enumerate(rows):
        if row[0].startswith("重要業績評価指標"):
            j = i
            while j < len(rows) and len(rows[j]) > 1:
                rows[j] = [rows[j][0], *reversed(rows[j][1:])]
                j += 1
    text = unicodedata.normalize("NFKC", join(rows))
    text = re.sub(r"令和(\d)年度\t", lambda m: f"R{m.group(1)}\t", text)
    scores = table_scores(parse(text).tables, expected["tables"])
    assert all(f >= 0.98 for _, _, f in scores.values()), scores


# --- a second template: 北浜町's 施策評価シート -------------------------------------------------

KITAHAMA = (TEMPLATES / "kitahama_town_progress_sheets.txt").read_text(encoding="utf-8")


def _lane(result, title: str, lane: int = 1) -> list[tuple[int, str, bool]]:
    return [
        (s["fiscal_year"], s["activity"], s["is_carried_forward"])
        for s in result.tables["schedule_items"]
        if s["initiative_title"] == title and s["lane"] == lane
    ]


@pytest.mark.parametrize("fmt", ["txt", "xlsx", "pdf"])
def test_kitahama_kpis_are_graded_by_the_sheets_printed_four_level_rule(fmt):
    """◎：達成度100％以上 ○：80％以上100％未満 △：50％以上80％未満 ×：50％未満 — each KPI's grade
    is the one the sheet prints (27/30 = 90 % ○, 8/20 = 40 % ×, 26/25 = 104 % ◎ …); the KPI
    with the text target 増加 has no rate, no grade, and its printed ― is no stated grade."""
    from extractors.extract import extract_document
    from pipeline.derive.evaluate import evaluate

    tables = extract_document(TEMPLATES / f"kitahama_town_progress_sheets.{fmt}", plan_id="kitahama").tables
    names = {i["indicator_id"]: i["name"] for i in tables["indicators"]}
    graded = [(names[e["indicator_id"]], e["stated_grade"], e["grade"]) for e in evaluate(tables)]
    assert ("北浜ブランド認定品目数", "◎", "◎") in graded and ("人材育成講座の受講者数", "×", "×") in graded
    assert all(stated == grade for _, stated, grade in graded) and len(graded) == 8
    ec = next(v for v in tables["indicator_values"] if names[v["indicator_id"]] == "越境ECに取り組む事業者数")
    assert (ec["value"], ec["target_value"], ec["stated_rate"], ec["stated_grade"]) == (7, None, None, None)


def test_arrow_cells_continue_only_the_marked_years():
    """A document that prints → in each continued year: an empty cell is no activity."""
    result = parse(KITAHAMA)
    assert _lane(result, "ブランド認定制度の運営", 2) == [
        (2023, "PR冊子の作成", False),
        (2025, "改訂", False),
        (2027, "改訂", False),
    ]
    assert _lane(result, "返礼品の開発支援")[-1] == (2027, "新商品開発の補助", True)  # 2028 empty: ended
    ditto = records(parse(KITAHAMA.replace("\t→", "\t〃")))
    assert ditto == records(result)  # 〃 is a continuation mark too (labels.yaml continuation)


def test_without_arrow_cells_empty_cells_carry_forward_as_before():
    result = parse(KITAHAMA.replace("\t→", "\t"))
    assert _lane(result, "ブランド認定制度の運営", 2)[:2] == [
        (2023, "PR冊子の作成", False),
        (2024, "PR冊子の作成", True),
    ]
    assert _lane(result, "返礼品の開発支援")[-1] == (2028, "新商品開発の補助", True)


def test_initiative_code_under_its_measures_path_keeps_its_own_level():
    result = parse(KITAHAMA)
    assert {i["initiative_code"] for i in result.tables["initiatives"]} == {"ア", "イ"}
    stray = parse(KITAHAMA.replace("Ⅰ-1-(イ)", "Ⅱ-3-(イ)"))
    codes = {i["title"]: i["initiative_code"] for i in stray.tables["initiatives"]}
    assert codes["越境EC参入の支援"] == "2-3-イ"
    assert any("initiative code 2-3-イ is not under the sheet's measure" in w for w in stray.warnings)


def test_bracketed_labels_and_the_printed_overall_grade():
    """【課題及び今後の方向性】… on one line is a labelled value like 課題…：…; 総合評価 | Ｂ is the
    sheet's printed grade (sheets.stated_overall_grade, Ｂ → B), never an unknown label; 所管課
    is the sheet's department."""
    text = KITAHAMA.replace("課題及び今後の方向性\t商談後", "【課題及び今後の方向性】商談後")
    result = parse(text)
    assert result.tables["sheets"][0]["issues_text"].startswith("商談後のフォローが手薄")
    assert not any("unknown label" in w for w in result.warnings)
    sheets = result.tables["sheets"]
    assert [s["stated_overall_grade"] for s in sheets] == ["B", "A", "C"]
    assert [s["department"] for s in sheets] == ["産業振興課", "産業振興課・観光交流課", "産業振興課"]
    assert result.unplaced == {}
    dashed = parse(KITAHAMA.replace("総合評価\tＢ", "総合評価\t―"))
    assert [s["stated_overall_grade"] for s in dashed.tables["sheets"]] == [None, "A", "C"]


def test_a_figure_printed_with_its_year_is_the_figure():
    rows = {i["name"]: i for i in parse(KITAHAMA).tables["indicators"]}
    assert (
        rows["町内企業合同説明会の参加者数"]["baseline_value"],
        rows["町内企業合同説明会の参加者数"]["baseline_text"],
    ) == (150, "150")
    result = parse(KITAHAMA)
    years = {(i["policy_code"], i["name"]): i["baseline_fiscal_year"] for i in result.tables["indicators"]}
    assert years[("2", "町内企業合同説明会の参加者数")] == 2022  # 150（R4）: the cell's own year
    assert years[("2", "ふるさと納税返礼品の取扱事業者数")] == 2018  # 40（H30）
    assert years[("1", "展示会・商談会への出展事業者数")] == 2018  # 12 under 基準値（H30）
    assert not any("not stored" in w for w in result.warnings)
    occurrences = result.tables["indicator_occurrences"]
    assert {o["baseline_text"] for o in occurrences if o["policy_code"] == "2"} == {"150", "60", "40"}
    # an actual printed with its year: the value's fiscal year is the cell's, not the header's (R5)
    dated = parse(KITAHAMA.replace("150（R4）\t300\t240\t", "150（R4）\t300\t240（R4）\t"))
    ids = {i["indicator_id"]: i["name"] for i in dated.tables["indicators"]}
    years = {ids[v["indicator_id"]]: (v["value"], v["fiscal_year"]) for v in dated.tables["indicator_values"]}
    assert years["町内企業合同説明会の参加者数"] == (240, 2022) and years["人材育成講座の受講者数"] == (
        45,
        2023,
    )


def test_a_target_in_words_is_kept_as_printed_and_gives_the_direction_only():
    """目標値 増加: no target value (never guessed), target_text as printed, direction higher;
    減少 → lower; a figure says no direction (the name's words decide later)."""
    rows = {(i["policy_code"], i["name"]): i for i in parse(KITAHAMA).tables["indicators"]}
    ec = rows[("1", "越境ECに取り組む事業者数")]
    assert (ec["target_value"], ec["target_text"], ec["direction"]) == (None, "増加", "higher")
    fair = rows[("1", "展示会・商談会への出展事業者数")]
    assert (fair["target_value"], fair["target_text"], fair["direction"]) == (30, "30", None)
    lower = parse(KITAHAMA.replace("\t3\t増加\t", "\t3\t減少\t")).tables["indicators"]
    assert [(i["target_text"], i["direction"]) for i in lower if i["name"] == ec["name"]] == [
        ("減少", "lower")
    ]
