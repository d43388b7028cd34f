"""Strategy frameworks of a second unseen template (みなと県, ``other_pref_strategy_pillars``) and
variants of the first one (あおば県, ``other_pref_strategy``): each general reading the second
template needed, checked on its own.

* a direction heading with a separator after its number (``柱1：創業と…``);
* the output column spelled as any output tier (``KPI（重要業績評価指標）``, one list: output_label);
* the target's year in the target column's header (``目標値（R10年度）``) — a fiscal year only;
* the baseline's year before the figure (``（R4年度）812社``);
* a legend found by its shape (``＊…meaning``) and a value carrying its mark: read, the mark and
  its meaning in ``marks``;
* a target in words (``減少``) or a range: ``target_text`` as printed, no target value, the
  direction the words say; 担当課 and 備考 columns: the indicator's ``department`` / ``remarks``.
"""

from __future__ import annotations

import json

from conftest import FIXTURES
from f1 import table_scores
from test_plan_templates import cells_accounted, iso, parse, records

TEMPLATES = FIXTURES / "templates"
PREF = (TEMPLATES / "other_pref_strategy.txt").read_text(encoding="utf-8")
PILLARS = (TEMPLATES / "other_pref_strategy_pillars.txt").read_text(encoding="utf-8")
KIND = "strategy_framework"


def _frame(text: str):
    return parse(KIND, text)


def _indicator(result, name: str) -> dict:
    return next(i for i in result.tables["indicators"] if i["name"] == name)


def _latest(result, name: str) -> dict:
    ind = _indicator(result, name)
    return next(v for v in result.tables["indicator_values"] if v["indicator_id"] == ind["indicator_id"])


def test_second_prefecture_template_scores_f1_1_per_table_and_every_cell_is_accounted_for():
    expected = json.loads(
        (TEMPLATES / "other_pref_strategy_pillars.expected.json").read_text(encoding="utf-8")
    )
    result = _frame(PILLARS)
    scores = {t: f for t, (_, _, f) in table_scores(iso(result.tables), expected["tables"]).items()}
    assert scores == dict.fromkeys(scores, 1.0)
    assert cells_accounted(result, PILLARS) == []
    assert len(result.consumed) == 77 and result.unplaced == {}  # the six 担当課 cells are read


def test_heading_with_a_separator_after_its_number_gives_the_same_directions():
    base = records(_frame(PREF))
    text = PREF.replace("基本目標Ⅰ　", "柱1：").replace("基本目標Ⅱ　", "柱2：")
    text = text.replace("\t基本目標Ⅰ\t基本目標Ⅱ\t", "\t柱1\t柱2\t")
    assert records(_frame(text)) == base
    assert [p["title"] for p in base["policies"]] == ["挑戦する中小企業を増やす", "経営の土台を強くする"]


def test_output_column_spelled_as_any_output_tier_gives_the_same_records():
    base = records(_frame(PREF))
    for tier in ("KPI（重要業績評価指標）", "業績指標", "重要業績評価指標"):
        text = PREF.replace("主な取組\t活動指標（アウトプット）\t実績", f"主な取組\t{tier}\t実績")
        assert records(_frame(text)) == base, tier


def test_target_year_in_the_column_header_is_the_target_fiscal_year_and_only_a_fiscal_year():
    result = _frame(PILLARS)
    outcomes = [i for i in result.tables["indicators"] if i["indicator_type"] == "outcome"]
    assert [(i["name"], i["target_value"], i["target_fiscal_year"]) for i in outcomes] == [
        ("県内の新設法人数", 900.0, 2028),
        ("開業率", 4.5, 2028),
        ("事業承継の相談件数(累計)", 3000.0, 2028),
        ("県内企業の休廃業・解散件数", None, 2028),
    ]
    western = _frame(PILLARS.replace("目標値（R10年度）", "目標値（2028年度）"))
    assert records(western) == records(result)
    calendar = _frame(PILLARS.replace("目標値（R10年度）", "目標値（R10年）"))
    assert {i.get("target_fiscal_year") for i in calendar.tables["indicators"]} == {None}


def test_baseline_year_before_the_figure_gives_the_baseline_value():
    result = _frame(PILLARS)
    assert (
        _indicator(result, "県内の新設法人数")["baseline_value"],
        _indicator(result, "開業率")["baseline_value"],
    ) == (
        812.0,
        3.8,
    )
    assert _indicator(result, "事業承継の相談件数(累計)")["baseline_text"] == "(R4年度)1,450件"
    moved = _frame(PREF.replace("4.1％（R3年度）", "（R3年度）4.1％"))
    assert _indicator(moved, "県内の開業率")["baseline_value"] == 4.1


def test_a_marked_value_is_read_and_its_mark_kept_with_the_legend_meaning():
    result = _frame(PILLARS)
    value = _latest(result, "開業率")
    assert (value["value"], value["fiscal_year"], value["as_of_text"]) == (4.0, 2022, "令和5年3月末現在")
    assert value["marks"] == ["*: 当該年度の実績値が未公表のため、前年度の数値(参考値)を記載"]
    assert [v["indicator_id"] for v in result.tables["indicator_values"] if v.get("marks")] == [
        value["indicator_id"]
    ]
    assert _indicator(result, "開業率")["marks"] is None  # the mark is on the value, not the name
    assert not any("'*'" in w for w in result.warnings)
    # the same mark without its legend line: the value is not guessed, it is reported
    unexplained = _frame(
        PILLARS.replace("＊…当該年度の実績値が未公表のため、前年度の数値（参考値）を記載", "")
    )
    assert "開業率" not in {
        i["name"]
        for i in unexplained.tables["indicators"]
        if i["indicator_id"] in {v["indicator_id"] for v in unexplained.tables["indicator_values"]}
    }
    assert [why for why in unexplained.unplaced.values() if "開業率" in why] == [
        "outcome '開業率': latest value not read"
    ]


def test_target_in_words_is_kept_as_printed_and_says_the_direction_not_a_value():
    result = _frame(PILLARS)
    closing = _indicator(result, "県内企業の休廃業・解散件数")
    assert (closing["target_value"], closing["target_text"], closing["direction"]) == (None, "減少", "lower")
    assert (closing["baseline_value"], closing["baseline_fiscal_year"]) == (640.0, None)  # （R4年）: calendar
    more = _indicator(_frame(PILLARS.replace("\t減少\t", "\t増加\t")), "県内企業の休廃業・解散件数")
    assert (more["target_value"], more["target_text"], more["direction"]) == (None, "増加", "higher")
    founded = _indicator(result, "県内の新設法人数")
    assert (founded["target_text"], founded["direction"], founded["baseline_fiscal_year"]) == (
        "900社",
        None,
        2022,
    )
    bankrupt = _indicator(_frame(PREF), "県内企業の倒産件数")
    assert (bankrupt["target_value"], bankrupt["target_text"], bankrupt["direction"]) == (
        80.0,
        "80件以下(R9年)",
        "lower",
    )
    assert not any("not one figure" in w for w in result.warnings)


def test_department_and_remarks_columns_are_the_indicators_and_the_other_records_stay():
    result = _frame(PILLARS)
    assert result.unplaced == {}
    outputs = [
        (i["name"], i["is_reposted"], i["department"])
        for i in result.tables["indicators"]
        if i["indicator_type"] == "output"
    ]
    assert outputs == [
        ("創業塾の修了者数", False, "産業政策課"),
        ("新商品開発補助の採択件数", False, "新産業振興課"),
        ("デジタル化伴走支援の企業数", False, "新産業振興課"),
        ("事業承継診断の実施件数", False, "経営支援課"),
        ("制度融資の新規融資件数", False, "金融課"),
        ("創業塾の修了者数", True, "産業政策課"),
    ]
    assert not any("担当課" in w for w in result.warnings)
    base = records(_frame(PREF))
    rows = [line.split("\t") for line in PREF.split("\n")]
    in_table = False
    for r in rows:
        in_table = r[0] == "施策" or (in_table and any(r))  # a measure table runs to a blank line
        if in_table:
            r.append("備考" if r[0] == "施策" else "国庫補助")
    remarks = _frame("\n".join("\t".join(r) for r in rows))
    got = records(remarks)
    outputs = [i for i in got["indicators"] if i["indicator_type"] == "output"]
    assert [i["remarks"] for i in outputs] == ["国庫補助"] * 7
    for i in got["indicators"]:
        i["remarks"] = None
    assert got == base and remarks.unplaced == {}
    # a 備考 on a row without an indicator (a main project alone) has no column: reported
    text = "\n".join("\t".join(r) for r in rows)
    bare = _frame(
        text.replace(
            "\t\t◆新事業展開セミナー参加者数\t412人（令和5年度実績）\t国庫補助", "\t追加の取組\t\t\t国庫補助"
        )
    )
    assert list(bare.unplaced.values()) == [
        "measure 1.2: 備考 (remarks) of a row without an indicator has no column"
    ]


def test_directions_numbered_by_other_heading_words_give_the_same_records():
    base = records(_frame(PREF))
    for one, two in (("視点①　", "視点②　"), ("戦略Ⅰ　", "戦略Ⅱ　"), ("基本方針1:", "基本方針2:")):
        text = PREF.replace("基本目標Ⅰ　", one).replace("基本目標Ⅱ　", two)
        text = text.replace("\t基本目標Ⅰ\t基本目標Ⅱ\t", f"\t{one.strip(':　')}\t{two.strip(':　')}\t")
        assert records(_frame(text)) == base, one


def test_a_target_range_is_no_target_value_and_kept_as_printed():
    result = _frame(PILLARS.replace("\t4.5％\t", "\t4.5～5.0％\t"))
    rate = _indicator(result, "開業率")
    assert (rate["target_value"], rate["unit"], rate["target_fiscal_year"]) == (None, "%", 2028)
    assert (rate["target_text"], rate["direction"]) == ("4.5~5.0%", None)
    with_year = _frame(PREF.replace("5.0％（R9年度）", "4.5〜5.0％（R9年度）"))
    opening = _indicator(with_year, "県内の開業率")
    assert (opening["target_value"], opening["target_fiscal_year"]) == (None, 2027)


def test_a_legend_mark_on_a_name_is_stripped_and_kept_with_its_meaning():
    result = _frame(PREF)
    marked = {i["name"]: i["marks"] for i in result.tables["indicators"] if i["marks"]}
    assert marked == {
        "新事業展開セミナー参加者数": ["◆: 今回新たに設定した指標"],
        "後継者人材バンクの登録者数": ["◆: 今回新たに設定した指標"],
    }
    assert not any("is marked" in w for w in result.warnings)


def test_outcome_table_under_a_block_label_with_a_unit_column_and_years_in_its_header():
    """【数値目標】 alone on its line, then 指標 | 基準値（R4年度） | 目標値（R10） | 単位 | 最新値（R5年度）:
    the years of the header are the target's fiscal year (a bare era year too), the latest
    value's and the baseline's (baseline_fiscal_year)."""
    table = (
        "【数値目標】\n指標\t基準値（R4年度）\t目標値（R10）\t単位\t最新値（R5年度）\n"
        "県内の新設法人数\t812\t900\t社\t845\n開業率\t3.8\t4.5\t％\t4.0\n"
    )
    start = PILLARS.index("数値目標\t基準値")
    end = PILLARS.index("\n\n", start) + 1
    result = _frame(PILLARS[:start] + table + PILLARS[end:])
    rows = [
        (
            i["name"],
            i["unit"],
            i["baseline_value"],
            i["baseline_fiscal_year"],
            i["target_value"],
            i["target_fiscal_year"],
        )
        for i in result.tables["indicators"]
        if i["indicator_type"] == "outcome" and i["policy_code"] == "1"
    ]
    assert rows == [
        ("県内の新設法人数", "社", 812.0, 2022, 900.0, 2028),
        ("開業率", "%", 3.8, 2022, 4.5, 2028),
    ]
    latest = _latest(result, "県内の新設法人数")
    assert (latest["value"], latest["fiscal_year"], latest["as_of_text"]) == (845.0, 2023, "R5年度")
    assert not any("baseline year" in w for w in result.warnings)
    assert cells_accounted(result, PILLARS[:start] + table + PILLARS[end:]) == []
    assert not any("not in labels.yaml" in w for w in result.warnings)


# --- a prefectural 工程表 of one indicator per block (しおかぜ県, other_pref_process_table) -------

PROCESS = (TEMPLATES / "other_pref_process_table.txt").read_text(encoding="utf-8")


def test_process_table_scores_f1_1_and_only_the_years_own_target_is_reported():
    expected = json.loads((TEMPLATES / "other_pref_process_table.expected.json").read_text(encoding="utf-8"))
    result = _frame(PROCESS)
    scores = {t: f for t, (_, _, f) in table_scores(iso(result.tables), expected["tables"]).items()}
    assert scores == dict.fromkeys(scores, 1.0)
    assert cells_accounted(result, PROCESS) == []
    lines = PROCESS.split("\n")
    reported = sorted(lines[r].split("\t")[c] for r, c in result.unplaced)
    assert reported == sorted(["880", "R5.3", "300人", "R5年度", "2,400件", "R5.3末"])
    assert all("今年度目標値" in why for why in result.unplaced.values())


def test_process_table_figures_are_paired_with_their_dates_by_column():
    result = _frame(PROCESS)
    ind = _indicator(result, "県版経営革新計画の承認企業数(累計)")
    assert (ind["indicator_type"], ind["unit"], ind["baseline_value"], ind["baseline_fiscal_year"]) == (
        "outcome",
        "社",
        412,
        2013,  # H25末: the end of fiscal H25
    )
    assert (ind["target_value"], ind["target_fiscal_year"], ind["target_text"], ind["direction"]) == (
        1000,
        2024,  # R2〜R6: the period's last fiscal year
        "目標1,000社以上",
        "higher",
    )
    values = {
        v["kind"]: (v["value"], v["as_of_date"].isoformat(), v["as_of_text"], v["fiscal_year"])
        for v in result.tables["indicator_values"]
        if v["indicator_id"] == ind["indicator_id"]
    }
    assert values == {
        "actual": (812, "2022-03-31", "R4.3", 2021),  # 年度当初値
        "latest": (845, "2023-03-31", "R5.3(暫定累計)", 2022),  # 今年度実績値
    }
    later = _indicator(result, "事業承継診断の実施件数(累計)")
    assert (later["policy_code"], later["target_fiscal_year"], later["baseline_fiscal_year"]) == (
        "2",
        2024,
        2018,
    )


def test_process_table_tier_is_the_column_value_and_columns_are_found_by_their_header():
    base = records(_frame(PROCESS))
    tiers = {i["name"]: i["indicator_type"] for i in base["indicators"]}
    assert tiers == {
        "県版経営革新計画の承認企業数(累計)": "outcome",
        "創業支援セミナーの参加者数": "output",
        "事業承継診断の実施件数(累計)": "outcome",
    }
    # the columns in another order (年度当初値 last): the same records, paired by column
    swapped = []
    for line in PROCESS.split("\n"):
        cells = line.split("\t")
        if len(cells) == 6 and cells[0] in ("", "数値", "時点"):
            cells = [cells[0], cells[1], cells[3], cells[4], cells[5], cells[2]]
        swapped.append("\t".join(cells))

    def unordered(result) -> dict[str, list[str]]:
        return {t: sorted(map(repr, rows)) for t, rows in records(result, drop={"source_row"}).items()}

    assert unordered(_frame("\n".join(swapped))) == unordered(_frame(PROCESS))


def test_process_table_with_an_unknown_tier_reports_the_block_and_flags_the_count():
    text = PROCESS.replace("創業支援セミナーの参加者数\t活動指標", "創業支援セミナーの参加者数\t参考値")
    result = _frame(text)
    assert "創業支援セミナーの参加者数" not in {i["name"] for i in result.tables["indicators"]}
    assert cells_accounted(result, text) == []
    assert result.cut and any("declares 1 output indicators for direction 1" in m for m in result.missing)
    assert "創業支援セミナーの参加者数" in {PROCESS.split("\n")[r].split("\t")[c] for r, c in result.unplaced}


def test_time_points_of_progress_tables_in_every_notation():
    from core.normalize import parse_as_of

    got = {
        s: (a.date.isoformat() if a and a.date else None, a.fiscal_year if a else None)
        for s in [
            "R4.3",
            "R4.3末",
            "R3.3.31",
            "H25末",
            "R2〜R6",
            "R2.4.1〜R7.3.31",
            "2023年3月末",
            "R4.13",
            "2023.3",
        ]
        for a in [parse_as_of(s)]
    }
    assert got == {
        "R4.3": ("2022-03-31", 2021),
        "R4.3末": ("2022-03-31", 2021),
        "R3.3.31": ("2021-03-31", 2020),
        "H25末": ("2014-03-31", 2013),
        "R2〜R6": (None, 2024),
        "R2.4.1〜R7.3.31": ("2025-03-31", 2024),
        "2023年3月末": ("2023-03-31", 2022),
        "R4.13": (None, None),  # no 13th month
        "2023.3": (None, None),  # a decimal, not a date
    }
