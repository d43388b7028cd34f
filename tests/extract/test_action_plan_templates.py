"""Action-plan templates of other governments, each general rule on a small text export
(the whole document is ``tests/fixtures/templates/other_town_action_plan.*``, scored in
``test_template_formats.py``):

* policy and measure headings printed as band rows across the table (``【1】…`` / ``ア　…``,
  ``Ⅰ`` / ``(1)``), the initiative's own code in its row (``1-ア-①`` or only ``①``);
* one header row naming the columns and the years, 備考 after the years;
* schedule marks a legend explains (``凡例　●：実施　○：検討・準備``): the activity is the mark's
  meaning and an empty year is nothing planned;
* repost marks ``(再)`` before a name and ``※再掲：2-イ-①`` in 備考;
* an indicator cited by name with an inline target (相談件数：年60件) is an indicator row, one
  with no target is reported; the 関連KPI一覧 gives indicators with baseline and target years;
* a 実施時期 / 実施年度 period column gives schedule items (from_period) for each year of the period;
  短期 / 中期 / 長期 only by the years the document defines for them (else reported).
"""

from __future__ import annotations

from conftest import FIXTURES

from extractors.extract import extract_document
from extractors.parsers import action_plan
from extractors.readers import read_text

HEADER = "事業番号\t事業名\t事業内容\tR7\tR8\tR9\t備考"


def parse(*lines: str):
    return action_plan.parse(read_text("\n".join(lines).encode("utf-8")))


def cols(rows: list[dict], *keys: str) -> list[tuple]:
    """Each row's ``keys``, in order, as a tuple."""
    return [tuple(r[k] for k in keys) for r in rows]


def schedule(result) -> list[tuple[str, int, str, bool]]:
    return cols(
        result.tables["schedule_items"], "initiative_code", "fiscal_year", "activity", "is_carried_forward"
    )


def test_band_rows_give_policy_and_measure_to_the_rows_under_them():
    result = parse(
        HEADER,
        "Ⅰ　創業を支える",
        "(1)　相談の充実",
        "①\t相談窓口\t窓口を開く。\t実施\t→\t→\t",
        "②\t出張相談\t地区を回る。\t\t実施\t→\t",
        "(2)　資金の支援",
        "①\t利子補給\t利子を補給する。\t実施\t→\t見直し\t国の制度次第",
        "Ⅱ　人材を育てる",
        "(1)　研修",
        "①\t経営塾\t塾を開く。\t検討\t実施\t→\t",
    )
    t = result.tables
    assert cols(t["policies"], "policy_code", "title") == [
        ("1", "創業を支える"),
        ("2", "人材を育てる"),
    ]
    assert cols(t["measures"], "policy_code", "measure_code", "title") == [
        ("1", "1", "相談の充実"),
        ("1", "2", "資金の支援"),
        ("2", "1", "研修"),
    ]
    codes = cols(t["initiatives"], "policy_code", "measure_code", "initiative_code", "title")
    assert codes == [
        ("1", "1", "1", "相談窓口"),
        ("1", "1", "2", "出張相談"),
        ("1", "2", "1", "利子補給"),
        ("2", "1", "1", "経営塾"),
    ]
    # The header row names 備考 after the years: read as notes, not as a schedule year.
    assert t["initiatives"][2]["notes"] == "国の制度次第"
    assert (("1", 2027, "見直し", False)) in schedule(result)
    assert {(1, 0), (2, 0), (5, 0), (7, 0), (8, 0)} <= result.consumed  # the band rows
    assert result.unplaced == {}


def test_compound_codes_in_the_rows_and_bracketed_band_codes_agree():
    result = parse(
        HEADER,
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t相談窓口\t窓口を開く。\t実施\t→\t→\t",
        "イ　創業後の支援",
        "1-イ-①\t交流会\t交流の場を設ける。\t\t実施\t→\t",
    )
    t = result.tables
    assert cols(t["measures"], "measure_code", "title") == [
        ("ア", "創業前の支援"),
        ("イ", "創業後の支援"),
    ]
    assert t["policies"] == [{"policy_code": "1", "title": "創業を支える", "source_page": None}]
    assert not [w for w in result.warnings if "column says" in w]


def test_legend_marks_are_their_meaning_and_an_empty_year_is_nothing_planned():
    result = parse(
        "凡例　●：実施　○：検討・準備　◎：拡充して実施",
        HEADER,
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t相談窓口\t窓口を開く。\t○\t●\t◎\t",
        "1-ア-②\t交流会\t交流の場を設ける。\t●\t\t\t",
    )
    assert schedule(result) == [
        ("1", 2025, "検討・準備", False),
        ("1", 2026, "実施", False),
        ("1", 2027, "拡充して実施", False),
        ("2", 2025, "実施", False),  # not carried into 2026-2027: those years are empty
    ]


def test_without_marks_or_arrows_an_activity_still_carries_forward():
    """The legend changes nothing for a document whose schedule has none of its marks."""
    result = parse(
        "凡例　●：実施",
        HEADER,
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t相談窓口\t窓口を開く。\t検討\t実施\t\t",
    )
    assert schedule(result) == [
        ("1", 2025, "検討", False),
        ("1", 2026, "実施", False),
        ("1", 2027, "実施", True),
    ]


def test_repost_marks_before_the_name_and_in_the_notes():
    result = parse(
        HEADER,
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t(再)空き店舗の活用\t改装費を補助する。\t実施\t→\t→\t※再掲：2-イ-①",
        "1-ア-②\t【再掲】交流会\t交流の場を設ける。\t実施\t→\t→\t",
    )
    first, second = result.tables["initiatives"]
    assert (first["title"], first["reposted_from"], first["notes"]) == (
        "空き店舗の活用",
        "2-イ-1",
        "※再掲:2-イ-①",
    )
    assert (second["title"], second["reposted_from"]) == ("交流会", None)
    assert result.tables["schedule_items"][0]["initiative_title"] == "空き店舗の活用"


def test_an_indicator_cited_by_name_with_its_target_is_an_indicator_and_a_coded_one_a_reference():
    result = parse(
        "事業番号\t事業名\t事業内容\t指標・目標値\tR7\tR8",
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t相談窓口\t窓口を開く。\t相談件数：年60件\t実施\t→",
        "1-ア-②\t交流会\t交流の場を設ける。\tKPI 1-1\t実施\t→",
        "1-ア-③\t補助\t補助する。\t補助件数：5年間で25件\t実施\t→",
        "1-ア-④\t講座\t講座を開く。\t受講者の満足度\t実施\t→",
    )
    first, second = result.tables["initiatives"][:2]
    assert (first["kpi_codes"], second["kpi_codes"]) == ([], ["1-1"])
    assert [r["indicator_code"] for r in result.tables["kpi_references"]] == ["1-1"]
    got = cols(
        result.tables["indicators"],
        "measure_code",
        "name",
        "unit",
        "target_value",
        "cumulative_target",
        "note",
    )
    assert got == [
        ("ア", "相談件数", "件", 60, None, "年60件: a target per year (年)"),
        ("ア", "補助件数", "件", None, 25, "5年間で25件: a cumulative target (累計)"),
    ]
    assert {(3, 3), (4, 3), (5, 3)} <= result.consumed
    # a name with no target is no indicator: reported, not guessed
    assert (6, 3) not in result.consumed and "no target" in result.unplaced[(6, 3)]


def test_the_inline_kpi_of_a_reposted_row_is_a_reposted_indicator():
    result = parse(
        "事業番号\t事業名\t事業内容\t指標・目標値\tR7\tR8\t備考",
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t(再)空き店舗の活用\t出店を補助する。\t出店数：5年間で10店\t実施\t→\t※再掲：2-ア-①",
        "【2】にぎわいをつくる",
        "ア　商店街",
        "2-ア-①\t空き店舗の活用\t出店を補助する。\t出店数：5年間で10店\t実施\t→\t",
    )
    got = cols(result.tables["indicators"], "policy_code", "name", "cumulative_target", "is_reposted")
    assert got == [("1", "出店数", 10, True), ("2", "出店数", 10, False)]


def test_the_kpi_list_gives_indicators_with_baseline_and_target_years_from_its_header():
    result = parse(
        "取組番号\t取組名\t取組の概要\t関連KPI\tR6\tR7",
        "1-1-1\t見本市出展支援\t出展を補助する。\tKPI 1-1\t実施\t→",
        "",
        "関連KPI一覧",
        "KPI番号\t指標名\t単位\t基準値(R5)\t目標値(R10)",
        "KPI 1-1\t見本市への出展事業者数\t社\t12\t30",
    )
    (ind,) = result.tables["indicators"]
    assert (ind["indicator_code"], ind["policy_code"], ind["name"], ind["unit"]) == (
        "1-1",
        "1",
        "見本市への出展事業者数",
        "社",
    )
    assert (
        ind["baseline_value"],
        ind["baseline_fiscal_year"],
        ind["target_value"],
        ind["target_fiscal_year"],
    ) == (
        12,
        2023,
        30,
        2028,
    )
    assert result.tables["initiatives"][0]["kpi_codes"] == ["1-1"]
    assert not result.unplaced


def test_a_third_heading_style_is_no_band_and_is_reported():
    result = parse(
        HEADER,
        "【1】創業を支える",
        "ア　創業前の支援",
        "① 小見出し",
        "1-ア-①\t相談窓口\t窓口を開く。\t実施\t→\t→\t",
    )
    assert (3, 0) in result.unplaced and (3, 0) not in result.consumed
    assert [i["initiative_code"] for i in result.tables["initiatives"]] == ["1"]


def test_a_number_column_holding_codes_and_bracketed_code_components():
    """番号 names a running number in some templates and the code in others: a cell that is no
    number is read as the code; ``【1】-ア-①`` is the path 1 / ア / 1."""
    result = parse(
        "番号\t事業名\t事業内容\tR7\tR8\tR9",
        "【1】創業を支える",
        "ア　創業前の支援",
        "【1】-ア-①\t相談窓口\t窓口を開く。\t実施\t→\t→",
        "【1】-ア-②\t交流会\t交流の場を設ける。\t\t実施\t→",
    )
    rows = cols(result.tables["initiatives"], "policy_code", "measure_code", "initiative_code", "row_number")
    assert rows == [("1", "ア", "1", 1), ("1", "ア", "2", 2)]


def test_symbol_marks_without_a_legend_are_kept_as_printed_each_year_written_and_warned():
    result = parse(
        HEADER,
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t相談窓口\t窓口を開く。\t■\t■\t\t",
    )
    assert schedule(result) == [("1", 2025, "■", False), ("1", 2026, "■", False)]
    assert any("■ have no legend" in w for w in result.warnings)


PERIOD_HEADER = "事業番号\t事業名\t事業内容\t担当課\t実施時期"


def periods(result) -> list[tuple[str, int, str, bool, int]]:
    return cols(
        result.tables.get("schedule_items", []),
        "initiative_code",
        "fiscal_year",
        "activity",
        "from_period",
        "lane",
    )


def test_a_period_column_gives_one_schedule_item_per_year_of_the_period():
    """実施時期 instead of year columns: R7～R9, 2025〜2027年度, 令和7～9年度 and an open-ended
    令和9年度～ (to the last year of the plan the title states), 通年 / 随時 (every year of it); the
    activity is the period as printed (NFKC: ～ is stored ~), from_period says the year came from a
    period."""
    result = parse(
        "架空村産業振興アクションプラン　取組一覧（令和6年度～令和10年度）",
        PERIOD_HEADER,
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t相談窓口\t窓口を開く。\t産業課\tR7～R9",
        "1-ア-②\t交流会\t場を設ける。\t商工会\t令和9年度～",
        "1-ア-③\t講座\t講座を開く。\t産業課\t通年",
        "1-ア-④\t補助\t補助する。\t産業課\t2025〜2026年度",
        "1-ア-⑤\t調査\t調査する。\t企画課\t来年度以降に検討",
    )
    got = periods(result)
    assert got[:3] == [
        ("1", 2025, "R7~R9", True, 1),
        ("1", 2026, "R7~R9", True, 1),
        ("1", 2027, "R7~R9", True, 1),
    ]
    assert [y for c, y, *_ in got if c == "2"] == [2027, 2028]
    assert [y for c, y, a, *_ in got if c == "3" and a == "通年"] == [2024, 2025, 2026, 2027, 2028]
    assert [y for c, y, *_ in got if c == "4"] == [2025, 2026]
    assert [i["department"] for i in result.tables["initiatives"]] == [
        "産業課",
        "商工会",
        "産業課",
        "産業課",
        "企画課",
    ]
    # a period that gives no year is reported with why, never dropped
    assert (8, 4) not in result.consumed and "not a period" in result.unplaced[(8, 4)]
    assert not any("no year columns" in w for w in result.warnings)


def test_an_open_ended_period_without_a_plan_period_is_reported():
    result = parse(
        PERIOD_HEADER,
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t相談窓口\t窓口を開く。\t産業課\tR7～R9",
        "1-ア-②\t交流会\t場を設ける。\t商工会\t令和9年度～",
        "1-ア-③\t講座\t講座を開く。\t産業課\t随時",
    )
    assert [y for c, y, *_ in periods(result)] == [2025, 2026, 2027]
    assert "no last year" in result.unplaced[(4, 4)]
    assert "no period" in result.unplaced[(5, 4)]
    assert result.tables["initiatives"][1]["title"] == "交流会"


def test_a_period_beside_year_columns_is_a_lane_of_its_own():
    result = parse(
        "事業番号\t事業名\t事業内容\t実施時期\tR7\tR8\tR9",
        "【1】創業を支える",
        "ア　創業前の支援",
        "1-ア-①\t相談窓口\t窓口を開く。\tR8～\t\t開設\t→",
    )
    assert periods(result) == [
        ("1", 2026, "開設", False, 1),
        ("1", 2027, "開設", False, 1),
        ("1", 2026, "R8~", True, 2),
        ("1", 2027, "R8~", True, 2),
    ]


TERM_HEADER = "番号\t取組\t取組内容\t担当課\t実施時期"
TERM_ROWS = (
    "1　創業を支える\t\t\t\t",
    "(1)　創業前の支援\t\t\t\t",
    "①\t相談窓口\t窓口を開く。\t産業課\t短期",
    "②\t交流会\t場を設ける。\t商工会\t中期",
    "③\t講座\t講座を開く。\t産業課\t短期～中期",
    "④\t拠点整備\t拠点を設ける。\t建設課\t長期",
)


def test_terms_run_over_the_years_a_note_below_the_table_defines():
    """短期 / 中期 / 短期～中期 are the years the note defines (read after the table); 長期, which
    it defines in words only, gives no year: its cell is reported with why and a warning names it."""
    result = parse(
        "計画期間：令和7年度～令和11年度",
        TERM_HEADER,
        *TERM_ROWS,
        "※実施時期の区分　短期：令和7～8年度　中期：令和9～11年度　長期：次期計画以降も見据えて取り組むもの",
    )
    got = periods(result)
    assert [(c, y, a) for c, y, a, *_ in got] == [
        ("1", 2025, "短期"),
        ("1", 2026, "短期"),
        ("2", 2027, "中期"),
        ("2", 2028, "中期"),
        ("2", 2029, "中期"),
        *[("3", y, "短期~中期") for y in range(2025, 2030)],
    ]
    assert all(from_period and lane == 1 for *_, from_period, lane in got)
    assert "gives 長期 no fiscal years" in result.unplaced[(7, 4)] and (7, 4) not in result.consumed
    assert any("長期 is defined as '次期計画以降" in w for w in result.warnings)
    assert [i["title"] for i in result.tables["initiatives"]] == ["相談窓口", "交流会", "講座", "拠点整備"]
    assert [i["description"] for i in result.tables["initiatives"]][0] == "窓口を開く。"
    assert (0, 0) in result.consumed  # the 計画期間 line is read, not reported


def test_terms_the_document_does_not_define_are_reported_never_guessed():
    result = parse("計画期間：令和7年度～令和11年度", TERM_HEADER, *TERM_ROWS)
    assert periods(result) == []
    for row in (4, 5, 6, 7):
        assert "no fiscal years" in result.unplaced[(row, 4)] and "not guessed" in result.unplaced[(row, 4)]
    assert len(result.tables["initiatives"]) == 4


def test_a_term_line_above_the_header_is_no_plan_period():
    """``短期：R7～R8　中期：R9～R11`` above the header defines the terms; the plan's period is the
    計画期間 line (an open-ended 令和9年度～ runs to its last year, 2030, not to R8)."""
    result = parse(
        "短期：R7～R8　中期：R9～R11",
        "計画期間：令和7年度～令和12年度",
        TERM_HEADER,
        "1　創業を支える\t\t\t\t",
        "(1)　創業前の支援\t\t\t\t",
        "①\t相談窓口\t窓口を開く。\t産業課\t中期",
        "②\t交流会\t場を設ける。\t商工会\t令和9年度～",
    )
    assert [(c, y) for c, y, *_ in periods(result)] == [
        *[("1", y) for y in (2027, 2028, 2029)],
        *[("2", y) for y in (2027, 2028, 2029, 2030)],
    ]
    assert {(0, 0), (1, 0)} <= result.consumed


def test_repost_references_with_a_bracketed_component():
    """``再掲：1-(1)-②`` in 備考 and ``（1-(2)-①の再掲）`` in the description name their originals."""
    result = parse(
        "番号\t取組\t取組内容\t担当課\t備考",
        "1　創業を支える\t\t\t\t",
        "(1)　創業前の支援\t\t\t\t",
        "①\t相談窓口\t窓口を開く。\t産業課\t",
        "②\t家賃補助\t家賃を補助する。\t産業課\t",
        "(2)　承継の支援\t\t\t\t",
        "①\t承継診断\t診断する。\t産業課\t",
        "②\t【再掲】家賃補助\t家賃を補助する。\t産業課\t再掲：1-(1)-②",
        "③\t承継相談\t相談に応じる。（1-(2)-①の再掲）\t産業課\t",
    )
    got = {(i["measure_code"], i["initiative_code"]): i for i in result.tables["initiatives"]}
    assert got[("2", "2")]["reposted_from"] == "1-1-2" and got[("2", "2")]["title"] == "家賃補助"
    assert got[("2", "3")]["reposted_from"] == "1-2-1"
    assert got[("1", "1")]["reposted_from"] is None
    assert not any("再掲 reference" in w for w in result.warnings)


def test_terms_defined_in_years_of_the_plan_count_from_its_first_year():
    """``短期：1～2年目　中期：3～5年目　長期：6年目以降``: 短期 is the plan's first two years
    (令和7・8年度), 中期 its third to fifth; 長期 runs past the plan (6年目以降): reported."""
    result = parse(
        "計画期間：令和7年度～令和11年度",
        "※実施時期　短期：1～2年目　中期：3～5年目　長期：6年目以降",
        TERM_HEADER,
        *TERM_ROWS,
    )
    assert [(c, y) for c, y, *_ in periods(result)] == [
        ("1", 2025),
        ("1", 2026),
        *[("2", y) for y in (2027, 2028, 2029)],
        *[("3", y) for y in range(2025, 2030)],
    ]
    assert "gives 長期 no fiscal years" in result.unplaced[(8, 4)]
    assert any("長期 is defined as '6年目以降'" in w for w in result.warnings)


def test_roman_numeral_band_headings_are_policies(tmp_path):
    """【Ⅰ】/【Ⅱ】 bands (NFKC turns Ⅱ into II) give policies 1 and 2, as 【1】/【2】 do."""
    text = (FIXTURES / "templates" / "other_town_action_plan.txt").read_text(encoding="utf-8")
    roman = text.replace("【1】", "【Ⅰ】").replace("【2】", "【Ⅱ】")
    assert roman != text
    path = tmp_path / "roman.txt"
    path.write_text(roman, encoding="utf-8")
    got = extract_document(path, kind="action_plan").tables
    want = extract_document(FIXTURES / "templates" / "other_town_action_plan.txt", kind="action_plan").tables
    assert (
        [p["policy_code"] for p in got["policies"]]
        == [p["policy_code"] for p in want["policies"]]
        == ["1", "2"]
    )

    def same(rows):
        return [{k: v for k, v in r.items() if k != "source_doc_id"} for r in rows]

    assert same(got["initiatives"]) == same(want["initiatives"])
    assert [p["title"] for p in got["policies"]] == [p["title"] for p in want["policies"]]
