"""Kama city action plan (取組一覧), text export with drifting columns."""

from conftest import by

from extractors.parsers.action_plan import code_path, kpi_references


def test_86_initiatives_numbered_in_order(action_plan):
    rows = action_plan.tables["initiatives"]
    assert len(rows) == 86
    assert [r["row_number"] for r in rows] == list(range(1, 87))


def test_row_19(action_plan):
    r = by(action_plan.tables["initiatives"], row_number=19)[0]
    assert (r["policy_code"], r["measure_code"], r["initiative_code"]) == ("2", "3", "a")
    assert r["kpi_codes"] == ["2-5", "2-3", "2-4"]
    assert r["title"] == "経営革新計画/事業計画の策定支援"
    assert r["relation_to_previous_plan"] == "継続"
    assert r["implementation_policy"] == "継続/要検討"
    assert r["reposted_to"] == ["4-1-b"]


def test_policy_titles_match_their_codes(action_plan):
    titles = {p["policy_code"]: p["title"] for p in action_plan.tables["policies"]}
    assert titles == {
        "1": "中小企業の創業の促進を図る",
        "2": "中小企業者の経営基盤の安定強化を図る",
        "3": "中小企業の活用による地域内の経済循環の創出を図る",
        "4": "中小企業者の新たな事業展開の促進を図る",
        "5": "中小企業の人材の確保及び育成並びに職場環境の整備の促進を図る",
        "6": "小規模企業者の事業の持続的な発展を図る",
    }
    assert not [w for w in action_plan.warnings if w.startswith("policy")], (
        "every row's policy title matches its code"
    )


def test_21_measures_with_repost_notes_cut_from_titles(action_plan):
    measures = {(m["policy_code"], m["measure_code"]): m for m in action_plan.tables["measures"]}
    assert len(measures) == 21
    assert measures[("4", "1")]["title"] == "新技術・新商品の開発支援と連携促進"
    assert "再掲" in measures[("4", "1")]["note"]
    assert measures[("2", "4")]["title"] == "円滑な資金調達の支援"


def test_priority_flag_alone_or_merged(action_plan):
    r11 = by(action_plan.tables["initiatives"], row_number=11)[0]  # 重 and 新規 in separate cells
    r31 = by(action_plan.tables["initiatives"], row_number=31)[0]  # "重 新規" in one cell
    r1 = by(action_plan.tables["initiatives"], row_number=1)[0]
    assert (r11["is_priority"], r11["relation_to_previous_plan"]) == (True, "新規")
    assert (r31["is_priority"], r31["relation_to_previous_plan"]) == (True, "新規")
    assert (r1["is_priority"], r1["relation_to_previous_plan"]) == (False, "継続")
    assert (
        sum(1 for r in action_plan.tables["initiatives"] if r["is_priority"]) == 41
    )  # rows 11-15, 27-37, 46-53, 57-73


def test_reposts_resolve_to_code_paths(action_plan):
    r46 = by(action_plan.tables["initiatives"], row_number=46)[0]
    r81 = by(action_plan.tables["initiatives"], row_number=81)[0]
    assert r46["reposted_from"] == "3-1-a"
    assert r81["reposted_from"] == "2-1-a"
    # a (再掲) short name takes the original's
    assert (
        r81["title"]
        == by(action_plan.tables["initiatives"], row_number=11)[0]["title"]
        == "デジタル化の導入及び促進支援"
    )


def test_duplicated_measure_title_cell_is_skipped(action_plan):
    r48 = by(action_plan.tables["initiatives"], row_number=48)[0]
    assert r48["description"].startswith("異業種間の交流や中小企業の事業連携を促進し")
    assert r48["title"] == "取引拡大のための事業者間連携支援"


def test_kpi_references_and_names():
    refs = kpi_references(
        "2-5_事業計画の策定事業者数(社) 2-3_商工会団体の相談指導件数の増 2-4_経営革新計画の策定事業者数の増"
    )
    assert [(r["indicator_code"], r["name"], r["unit"], r["is_related_target"]) for r in refs] == [
        ("2-5", "事業計画の策定事業者数", "社", False),
        ("2-3", "商工会団体の相談指導件数", None, True),
        ("2-4", "経営革新計画の策定事業者数", None, True),
    ]
    assert (
        kpi_references("2-8_補助金利用数_雇用創出・維持に向けた支援(件)")[0]["name"]
        == "補助金利用数 (雇用創出・維持に向けた支援)"
    )
    assert kpi_references("-") == []


def test_code_paths():
    assert code_path("4-1-b") == "4-1-b"
    assert code_path("3-①-a") == "3-1-a"
    assert code_path("2-①のa") == "2-1-a"
    assert code_path("nonsense") is None


def test_schedule_first_activity_starts_in_first_year(action_plan):
    items = by(action_plan.tables["schedule_items"], policy_code="1", measure_code="1", initiative_code="a")
    assert [(i["fiscal_year"], i["activity"]) for i in items] == [
        (y, "窓口相談及び伴走型支援の実施") for y in range(2023, 2028)
    ]
    assert any("row 70: schedule years inferred" in w for w in action_plan.warnings)
