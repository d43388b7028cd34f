"""Kama city progress sheets (進捗管理シート), text export: values asserted from the document."""

from conftest import FIXTURES, by

from extractors.parsers import progress_sheets
from extractors.readers import read_text


def test_six_policies_and_21_measures(progress):
    assert [p["policy_code"] for p in progress.tables["policies"]] == ["1", "2", "3", "4", "5", "6"]
    assert len(progress.tables["measures"]) == 21
    assert (
        by(progress.tables["measures"], policy_code="2", measure_code="4")[0]["title"]
        == "円滑な資金調達の支援"
    )
    counts = {}
    for m in progress.tables["measures"]:
        counts[m["policy_code"]] = counts.get(m["policy_code"], 0) + 1
    assert counts == {"1": 3, "2": 6, "3": 3, "4": 3, "5": 3, "6": 3}


def test_policy_titles_and_directions(progress):
    p1 = by(progress.tables["policies"], policy_code="1")[0]
    assert p1["title"] == "中小企業の創業の促進を図る"
    assert p1["direction"].startswith("創業者が増加していくことは")
    # policy 3 is titled 創出 on its first sheet and 促進 on the others: first wins, the variant is reported
    assert by(progress.tables["policies"], policy_code="3")[0]["title"].endswith("経済循環の創出を図る")
    assert any("policy 3: title differs" in w and "促進を図る" in w for w in progress.warnings)


def test_kpi_of_policy_2_with_cumulative_target(progress):
    kpi = by(progress.tables["indicators"], policy_code="2", name="商工会・商工会議所の相談・指導件数")
    assert len(kpi) == 1, "the KPI table repeated on six sheets is one indicator row"
    k = kpi[0]
    assert (k["unit"], k["baseline_value"], k["target_value"], k["cumulative_target"]) == (
        "件",
        4755.0,
        4800.0,
        9555.0,
    )
    assert k["target_fiscal_year"] == 2023
    assert k["sheets"] == 6
    assert k["is_reposted"] is False


def test_policy_1_has_exactly_two_kpis(progress):
    names = [i["name"] for i in by(progress.tables["indicators"], policy_code="1")]
    assert names == ["創業塾、創業セミナーの参加人数", "市の支援制度や創業塾を利用した創業者数"]


def test_percentage_kpi_without_target_keeps_footnote(progress):
    k = by(progress.tables["indicators"], policy_code="2", name="企業におけるデジタル化進捗割合")[0]
    assert (k["unit"], k["baseline_value"], k["target_value"], k["cumulative_target"]) == (
        "%",
        38.7,
        None,
        None,
    )
    assert k["note"].startswith("デジタル化がある程度進んでいる")


def test_dash_baseline_is_missing_but_kept_as_written(progress):
    k = by(
        progress.tables["indicators"], policy_code="2", name="デジタルを活用し、新サービスを開始した企業数"
    )[0]
    assert k["baseline_value"] is None and k["baseline_text"] == "—"


def test_unit_split_keeps_qualifier_in_name(progress):
    names = {i["name"]: i["unit"] for i in by(progress.tables["indicators"], policy_code="2")}
    assert names["補助金利用数 (デジタル化促進支援)"] == "件"
    assert names["補助金利用数 (雇用の創出・維持に向けた支援)"] == "件"


def test_reposted_and_wrapped_kpis_of_policy_4(progress):
    rows = {i["name"]: i for i in by(progress.tables["indicators"], policy_code="4")}
    assert rows["経営革新計画の策定事業者数"]["is_reposted"] is True
    assert rows["観光入込客数"]["unit"] == "千人/年"
    assert rows["全体観光消費額"]["unit"] == "千円"
    assert rows["全体観光消費額"]["baseline_value"] == 305125.0
    assert rows["全体観光消費額"]["target_value"] == 328185.0
    assert "2027年度は設定なし" in rows["観光入込客数"]["note"]


def test_schedule_carry_forward(progress):
    items = by(
        progress.tables["schedule_items"], initiative_title="チャレンジマインドの育成を図る取り組みの支援"
    )
    assert [(i["fiscal_year"], i["activity"]) for i in items] == [
        (2024, "教育委員会との協議"),
        (2025, "市内小中学校等への社会人講話の実施"),
        (2026, "市内小中学校等への社会人講話の実施"),
        (2027, "市内小中学校等への社会人講話の実施"),
    ]
    assert [i["is_carried_forward"] for i in items] == [False, False, True, True]


def test_continuation_rows_belong_to_the_initiative_above(progress):
    ini = by(progress.tables["initiatives"], policy_code="2", measure_code="4")
    assert [i["title"] for i in ini] == [
        "国・県が行う低融資制度の活用支援",
        "各種支援制度の情報提供",
        "設備投資を促進する税の優遇措置及び補助金制度の創設検討",
    ]
    lanes = by(
        progress.tables["schedule_items"],
        policy_code="2",
        measure_code="4",
        initiative_seq=2,
        fiscal_year=2025,
    )
    assert [s["activity"] for s in lanes] == [
        "巡回指導や窓口相談の実施",
        "会報やチラシ配布による情報提供の強化",
    ]


def test_initiative_without_any_activity_has_no_schedule(progress):
    assert by(progress.tables["initiatives"], title="観光拠点施設を活かした観光消費額の増大")
    assert not by(
        progress.tables["schedule_items"], initiative_title="観光拠点施設を活かした観光消費額の増大"
    )


def test_grading_rules_are_kept_per_sheet(progress):
    rules = by(progress.tables["grading_rules"], policy_code="1", measure_code="1")
    assert {r["rule_type"]: r["rule_text"] for r in rules} == {
        "indicator_grade": "指標評価:100%以上=A、99%~80%=B、79%以下=C",
        "overall": "総合評価:評価できる=★★★★、一定の評価はできる=★★★、評価できない=★",
    }
    assert len(progress.tables["grading_rules"]) == 42


def test_variant_labels_era_years_and_fullwidth_digits_give_the_same_structure():
    """基本方針 / 具体的施策 / 基準値 / 成果指標, years R6…R10 and 令和6年度…, full-width digits."""
    data = (FIXTURES / "variant_progress_sheets.txt").read_bytes()
    r = progress_sheets.parse(read_text(data))
    assert [(p["policy_code"], p["title"]) for p in r.tables["policies"]] == [
        ("1", "中小企業の創業の促進を図る")
    ]
    assert [(m["measure_code"], m["title"]) for m in r.tables["measures"]] == [
        ("1", "創業希望者の発掘・確保及び育成"),
        ("2", "事業計画策定及び資金調達の支援"),
    ]
    k = by(r.tables["indicators"], name="商工会・商工会議所の相談・指導件数")[0]
    assert (
        k["unit"],
        k["baseline_value"],
        k["target_value"],
        k["cumulative_target"],
        k["target_fiscal_year"],
    ) == ("件", 4755.0, 4800.0, 9555.0, 2024)
    assert (
        len(r.tables["indicators"]) == 3
        and by(r.tables["indicators"], name="事業計画の策定事業者数")[0]["is_reposted"]
    )
    items = by(
        r.tables["schedule_items"], initiative_title="チャレンジマインドの育成を図る取り組みの支援", lane=1
    )
    assert [(i["fiscal_year"], i["activity"]) for i in items][:2] == [
        (2025, "教育委員会との協議"),
        (2026, "市内小中学校等への社会人講話の実施"),
    ]
    assert {i["fiscal_year"] for i in r.tables["schedule_items"]} == {2024, 2025, 2026, 2027, 2028}
    assert not r.warnings
