"""KPI evaluation: rates and grades by each sheet's own printed rule; actuals workbooks."""

from __future__ import annotations

import re

import pytest
from conftest import RAW, by

from extractors.extract import extract_document
from pipeline.derive.evaluate import (
    direction_of,
    evaluate,
    evaluate_one,
    grade_of,
    parse_grade_rule,
    parse_overall_scale,
    propose_overall,
)
from pipeline.discover.manifest import Plan

RULE = "指標評価:100%以上=A、99%~80%=B、79%以下=C"


@pytest.mark.parametrize(
    ("rate", "grade"),
    [(120, "A"), (100, "A"), (99.5, "B"), (80, "B"), (79.99, "C"), (79.9, "C"), (79, "C"), (0, "C")],
)
def test_bands_from_the_printed_rule(rate, grade):
    assert grade_of(rate, parse_grade_rule(RULE)) == grade


def test_other_spellings_of_a_rule():
    bands = parse_grade_rule("評価基準：90％以上＝Ａ、60％～89％＝Ｂ、60％未満＝Ｃ")
    assert [(b.grade, b.lower) for b in bands][:2] == [("A", 90.0), ("B", 60.0)]
    assert grade_of(89.5, bands) == "B" and grade_of(59.9, bands) == "C"
    assert parse_grade_rule("評価なし") == []


def test_edge_cases():
    bands = parse_grade_rule(RULE)
    assert evaluate_one(5, 0, bands, "higher") == (None, "A", "target 0: met (no rate can be computed)")
    assert evaluate_one(3, 0, bands, "lower")[1] == "C"
    assert evaluate_one(5, None, bands, "higher") == (None, None, "no target for this year: not graded")
    rate, grade, _ = evaluate_one(500, 400, bands, "lower")
    assert (rate, grade) == (80.0, "B")
    assert evaluate_one(40, 50, [], "higher")[:2] == (80.0, None)


def test_overall_scale_is_read_from_the_sheet():
    assert parse_overall_scale("総合評価:評価できる=★★★★、一定の評価はできる=★★★、評価できない=★") == [
        ("評価できる", 4),
        ("一定の評価はできる", 3),
        ("評価できない", 1),
    ]


ACTUALS = {  # KPI name on the real Kama sheets → (実績, 達成率 printed, 指標評価 printed)
    "商工会・商工会議所の相談・指導件数": ("4,800", "100%", "B"),  # exactly 100% (printed grade is wrong)
    "事業計画の策定事業者数": ("8", "", ""),  # 8 / 10 → 80%
    "観光入込客数": ("246.9", "", ""),  # 246.9 / 309 → 79.9%
    "企業マッチングの場の創設": ("2", "", ""),  # target 0
    "補助金利用数 (件) (デジタル化促進支援)": ("2", "", ""),  # lower is better by override: 1 / 2 → 50%
}


def filled_sheet(tmp_path):
    """The real Kama sheets with only the 実績 (and two 達成率/指標評価) cells filled in."""
    lines = (RAW / "kama" / "progress_sheets.txt").read_text(encoding="utf-8").split("\n")
    out = []
    for line in lines:
        cells = line.split("\t")
        name = re.sub(r"【再掲】\s*|\*|\s*\([^()]*\)\s*$", "", cells[0]).strip()
        for key, (actual, rate, grade) in ACTUALS.items():
            if len(cells) >= 6 and (name == key or cells[0].replace(" *", "").startswith(key)):
                cells[3], cells[4], cells[5] = actual, rate, grade
        out.append("\t".join(cells))
    path = tmp_path / "progress_sheets_2023.txt"
    path.write_text("\n".join(out), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    path = filled_sheet(tmp_path_factory.mktemp("filled"))
    out = extract_document(path, plan_id="kama-sme-2")
    assert out.document["status"] == "ok"
    plans = {
        "kama-sme-2": Plan(
            "kama-sme-2", indicator_directions=(("補助金利用数 (デジタル化促進支援)", "lower"),)
        )
    }
    evaluations = evaluate(out.tables, plans)
    names = {i["indicator_id"]: (i["policy_code"], i["name"]) for i in out.tables["indicators"]}
    return {names[e["indicator_id"]]: e for e in evaluations}, out, evaluations


@pytest.mark.parametrize(
    ("policy", "name", "rate", "grade"),
    [
        ("2", "商工会・商工会議所の相談・指導件数", 100.0, "A"),
        ("6", "商工会・商工会議所の相談・指導件数", 100.0, "A"),
        ("2", "事業計画の策定事業者数", 80.0, "B"),
        ("4", "観光入込客数", 79.9, "C"),
        ("3", "企業マッチングの場の創設", None, "A"),
        ("2", "補助金利用数 (デジタル化促進支援)", 50.0, "C"),
    ],
)
def test_filled_sheet_gives_rate_and_grade(evaluated, policy, name, rate, grade):
    by_name, _, _ = evaluated
    e = by_name[(policy, name)]
    assert (None if e["achievement_rate"] is None else round(e["achievement_rate"], 1), e["grade"]) == (
        rate,
        grade,
    )
    assert e["rule"] == RULE and e["fiscal_year"] == 2023


def test_filled_sheet_basis_and_stated_values(evaluated):
    by_name, out, _ = evaluated
    assert by_name[("2", "補助金利用数 (デジタル化促進支援)")]["direction"] == "lower"
    assert by_name[("3", "企業マッチングの場の創設")]["basis"].startswith("target 0: met")
    shoko = by_name[("2", "商工会・商工会議所の相談・指導件数")]
    assert (shoko["target_value"], shoko["actual_value"], shoko["stated_grade"]) == (4800.0, 4800.0, "B")
    from pipeline.validate.rules import run_rules

    tables = {**out.tables, "evaluations": evaluated[2], "documents": [out.document]}
    findings = [c for c in run_rules(tables, only=["evaluation_matches_document"]) if not c.ok]
    assert len(findings) == 2  # the KPI of policy 2 and its 【再掲】 in policy 6
    assert all(
        "商工会・商工会議所の相談・指導件数 FY2023: 指標評価 B printed, A by the rule" in f.details
        for f in findings
    )


def test_draft_overall_rating_is_marked_as_a_proposal(evaluated):
    _, out, evaluations = evaluated
    proposals = propose_overall(out.tables, evaluations)
    p2 = by(proposals, policy_code="2", measure_code="1")[0]
    assert p2["is_draft"] and p2["proposal"].endswith("(案)")
    assert sorted(p2["grades"].split(",")) == ["A", "B", "C"]
    assert p2["proposal"] == "評価できない (案)" and p2["stars"] == "★"  # a C among the KPIs → bottom level


def test_actuals_template_round_trip(tmp_path):
    from openpyxl import load_workbook

    from pipeline.report.actuals_template import write_template

    sheets = extract_document(RAW / "kama" / "progress_sheets.txt", plan_id="kama-sme-2")
    indicators = sheets.tables["indicators"]
    book = tmp_path / "actuals_2023.xlsx"
    n = write_template(
        book, {"plan_id": "kama-sme-2", "title": "第2次嘉麻市中小企業振興基本計画"}, indicators, 2023
    )
    assert n == 29
    wb = load_workbook(book)
    ws = wb["実績入力"]
    header = next(r for r in ws.iter_rows(min_row=1, max_row=12) if r[0].value == "指標ID")
    cols = {c.value: c.column - 1 for c in header}
    assert ws.data_validations.dataValidation, "numeric cells carry data validation"
    filled = 0
    for row in ws.iter_rows(min_row=header[0].row + 1):
        if (
            row[cols["指標名"]].value == "商工会・商工会議所の相談・指導件数"
            and row[cols["方針"]].value == "2"
        ):
            assert row[cols["目標"]].value == 4800
            row[cols["実績"]].value = 3840  # 80%
            filled += 1
    wb.save(book)
    assert filled == 1
    actuals = extract_document(book, plan_id="kama-sme-2")
    assert actuals.document["kind"] == "actuals" and actuals.document["status"] == "ok"
    records = {**sheets.tables, "indicator_values": actuals.tables["indicator_values"]}
    [e] = evaluate(records, {})
    assert (e["fiscal_year"], e["target_value"], e["actual_value"], e["achievement_rate"], e["grade"]) == (
        2023,
        4800.0,
        3840.0,
        80.0,
        "B",
    )


def test_the_direction_a_target_states_outranks_the_name_but_not_the_plan(tmp_path):
    """みなと県's 数値目標 prints the target of 休廃業・解散件数 as 減少: renamed to a name no
    lower_is_better word flags, the indicator stays lower (the parser's reading of 減少); the
    plan's indicator_directions still decide over both."""
    from conftest import FIXTURES

    text = (FIXTURES / "templates" / "other_pref_strategy_pillars.txt").read_text(encoding="utf-8")
    renamed = text.replace("県内企業の休廃業・解散件数", "県内企業の事業所閉鎖数")
    assert renamed != text
    path = tmp_path / "pillars.txt"
    path.write_text(renamed, encoding="utf-8")
    records = extract_document(path, plan_id="minato").tables
    ind = next(i for i in records["indicators"] if i["name"] == "県内企業の事業所閉鎖数")
    assert (ind["target_text"], ind["direction"]) == ("減少", "lower")
    assert direction_of("県内企業の事業所閉鎖数") == "higher"  # what the name alone says
    evaluate(records)
    assert ind["direction"] == "lower"
    plan = Plan(plan_id="minato", indicator_directions={"県内企業の事業所閉鎖数": "higher"})
    evaluate(records, {"minato": plan})
    assert ind["direction"] == "higher"
