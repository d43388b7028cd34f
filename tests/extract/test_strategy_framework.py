"""Chiba prefecture strategy framework (第５次ちば中小企業元気戦略), slide text export."""

import datetime as dt

from conftest import by


def test_four_directions(strategy):
    assert [(p["policy_code"], p["title"]) for p in strategy.tables["policies"]] == [
        ("1", "成長の後押し"),
        ("2", "経営基盤の強化"),
        ("3", "人材の確保・育成・定着"),
        ("4", "地域活性化"),
    ]


def test_9_outcomes_and_24_outputs_by_direction(strategy):
    def count(kind):
        out = {}
        for i in by(strategy.tables["indicators"], indicator_type=kind):
            out[i["policy_code"]] = out.get(i["policy_code"], 0) + 1
        return out

    assert count("output") == {"1": 9, "2": 5, "3": 5, "4": 5}
    assert count("outcome") == {"1": 3, "2": 1, "3": 1, "4": 4}


def test_declared_counts_match_the_extracted_ones(strategy):
    declared = {
        (d["indicator_type"], d["scope"]): d["declared_count"] for d in strategy.tables["declared_counts"]
    }
    assert declared == {
        ("outcome", "1"): 3,
        ("outcome", "2"): 1,
        ("outcome", "3"): 1,
        ("outcome", "4"): 4,
        ("outcome", "total"): 9,
        ("output", "1"): 9,
        ("output", "2"): 5,
        ("output", "3"): 5,
        ("output", "4"): 5,
        ("output", "total"): 24,
    }
    assert (
        by(strategy.tables["declared_counts"], indicator_type="outcome", scope="4")[0]["note"] == "再掲含む"
    )


def test_loan_count_with_as_of_date(strategy):
    ind = by(strategy.tables["indicators"], name="県制度融資の融資件数")[0]
    assert (ind["policy_code"], ind["measure_code"], ind["unit"]) == ("2", "1.2", "件")
    val = by(strategy.tables["indicator_values"], indicator_id=ind["indicator_id"])[0]
    assert (val["value"], val["as_of_date"], val["as_of_text"], val["kind"]) == (
        13386.0,
        dt.date(2022, 12, 31),
        "R4年12月末時点",
        "latest",
    )


def test_bankruptcies_is_the_outcome_of_direction_2(strategy):
    assert [
        i["name"] for i in by(strategy.tables["indicators"], indicator_type="outcome", policy_code="2")
    ] == ["県内企業倒産件数"]


def test_reposted_outcome_and_wrapped_outcome_line(strategy):
    names = [
        (i["name"], i["is_reposted"])
        for i in by(strategy.tables["indicators"], indicator_type="outcome", policy_code="4")
    ]
    assert names == [
        ("年間商品販売額", True),
        ("観光総消費額", False),
        ("宿泊客数", False),
        ("県内への企業立地件数", False),
    ]


def test_nested_measures_become_dotted_codes(strategy):
    m = {(x["policy_code"], x["measure_code"]): x["title"] for x in strategy.tables["measures"]}
    assert m[("1", "1")] == "意欲的な取組の促進"
    assert m[("1", "1.2")] == "成長産業への参入促進"
    assert m[("1", "1.5")] == "デジタル化・DXの実現に向けた支援"  # title wrapped over two lines
    assert m[("1", "3")] == "研究開発力や技術力向上等への支援"
    assert m[("4", "2")] == "地域づくり・まちづくりと連携した中小企業の活性化"


def test_values_units_and_fiscal_years(strategy):
    vals = {i["name"]: i for i in strategy.tables["indicators"]}
    values = {v["indicator_id"]: v for v in strategy.tables["indicator_values"]}
    pct = values[vals["障害者雇用率達成企業の割合"]["indicator_id"]]
    assert (pct["value"], pct["as_of_date"]) == (50.2, dt.date(2022, 6, 1))
    assert vals["障害者雇用率達成企業の割合"]["unit"] == "%"
    fy = values[
        vals["洋上風力関連産業への県内企業の参入促進に向けたセミナーや商談会の開催件数"]["indicator_id"]
    ]
    assert (fy["value"], fy["as_of_date"], fy["fiscal_year"]) == (4.0, None, 2022)
    assert values[vals["県観光WEBサイトアクセス件数"]["indicator_id"]]["value"] == 3807682.0
    assert vals["ちばSDGsパートナー登録企業数"]["unit"] == "団体"
    assert len(strategy.tables["indicator_values"]) == 23  # one output is printed without a value
    assert vals["テストマーケティング等への延べ参加事業者数"]["indicator_id"] not in values


def test_main_projects_split_into_paragraphs(strategy):
    projects = by(strategy.tables["initiatives"], policy_code="3", measure_code="1.1")
    assert len(projects) == 3
    assert projects[0]["title"] == "中小企業と若者の交流イベントや職場見学などの実施"
