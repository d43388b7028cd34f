"""Validation: small hand-made tables, one planted defect each → exactly that defect."""

from __future__ import annotations

import copy

import pytest

from pipeline.validate.rules import run_rules

YEARS = range(2023, 2028)


def clean() -> dict[str, list[dict]]:
    """One plan with a progress-sheet document (s) and an action plan (a) that agree."""
    s, a = {"plan_id": "p", "source_doc_id": "s"}, {"plan_id": "p", "source_doc_id": "a"}
    sheet = {
        **s,
        "sheet_no": 1,
        "sheet_title": "進捗管理シート",
        "policy_code": "1",
        "policy_title": "創業の促進",
        "direction": "創業を支えます。",
        "measure_code": "1",
        "measure_title": "創業支援",
        "indicator_grade_rule": "指標評価:100%以上=A",
        "overall_rule": "総合評価:評価できる=★★★",
        "source_page": 1,
    }
    return {
        "documents": [
            {"doc_id": "s", "source_path": "p/sheets.pdf", "kind": "progress_sheets", "status": "ok"},
            {"doc_id": "a", "source_path": "p/plan.pdf", "kind": "action_plan", "status": "ok"},
        ],
        "plans": [{"plan_id": "p", "first_fiscal_year": 2023, "last_fiscal_year": 2027}],
        "policies": [
            {**s, "policy_code": "1", "title": "創業の促進"},
            {**a, "policy_code": "1", "title": "創業の促進"},
        ],
        "measures": [
            {**s, "policy_code": "1", "measure_code": "1", "title": "創業支援"},
            {**a, "policy_code": "1", "measure_code": "1", "title": "創業支援"},
        ],
        "sheets": [sheet],
        "initiatives": [
            {
                **s,
                "policy_code": "1",
                "measure_code": "1",
                "initiative_code": None,
                "title": "窓口相談の開催",
                "seq": 1,
            },
            {
                **a,
                "policy_code": "1",
                "measure_code": "1",
                "initiative_code": "a",
                "title": "窓口相談の開催",
                "description": "窓口相談を開催します。",
                "relation_to_previous_plan": "継続",
                "implementation_policy": "継続",
                "kpi_codes": ["1-1"],
                "row_number": 1,
                "seq": 1,
            },
        ],
        "schedule_items": [
            {
                **doc,
                "policy_code": "1",
                "measure_code": "1",
                "initiative_seq": 1,
                "lane": 1,
                "fiscal_year": y,
                "initiative_title": "窓口相談の開催",
                "activity": "窓口相談の実施",
            }
            for doc in (s, a)
            for y in YEARS
        ],
        "indicators": [
            {
                **s,
                "indicator_id": "k1",
                "policy_code": "1",
                "indicator_code": "1-1",
                "indicator_type": "kpi",
                "name": "参加人数",
                "unit": "人",
                "baseline_value": 10.0,
                "target_value": 5.0,
                "cumulative_target": 15.0,
                "is_reposted": False,
                "source_page": 1,
            }
        ],
        "indicator_occurrences": [
            {
                **s,
                "indicator_id": "k1",
                "sheet_no": 1,
                "name": "参加人数",
                "unit": "人",
                "baseline_text": "10",
                "target_text": "5(15)",
            }
        ],
        "kpi_references": [{**a, "row_number": 1, "indicator_code": "1-1", "name": "参加人数", "unit": "人"}],
        "indicator_values": [],
        "declared_counts": [],
    }


def failing(tables) -> set[str]:
    return {c.rule for c in run_rules(tables) if not c.ok}


def test_clean_tables_pass_every_rule():
    checks = run_rules(clean())
    assert checks and all(c.ok for c in checks), [c.details for c in checks if not c.ok]


def _second_sheet(t, **changes):
    t["sheets"].append({**t["sheets"][0], "sheet_no": 2, "measure_code": "2", "source_page": 2, **changes})


def _add_row(t, **fields):
    base = {
        **t["initiatives"][1],
        "initiative_code": "b",
        "row_number": 2,
        "seq": 2,
        "kpi_codes": [],
        "reposted_to": None,
        "title": "別の取組",
        "description": "別の取組をします。",
    }
    t["initiatives"].append({**base, **fields})


PLANTED = {
    "sheet_policy_title": lambda t: _second_sheet(t, policy_title="創業の推進"),
    "sheet_direction": lambda t: _second_sheet(t, direction="創業を支援します。"),
    "sheet_grading_rules": lambda t: _second_sheet(t, overall_rule="総合評価:評価できる=★★★★"),
    "sheet_titles": lambda t: _second_sheet(t, sheet_title="スケジュールシート"),
    "kpi_name_agrees": lambda t: t["kpi_references"][0].update(name="参加者の人数"),
    "kpi_code_single_name": lambda t: t["kpi_references"].append(
        {**t["kpi_references"][0], "row_number": 1, "name": "参加人数の合計", "unit": None}
    ),
    "kpi_cited": lambda t: t["indicators"].append(
        {**t["indicators"][0], "indicator_id": "k2", "indicator_code": None, "name": "相談件数", "unit": "件"}
    ),
    "indicator_repeated_marked": lambda t: (
        t["policies"].append({**t["policies"][0], "policy_code": "2", "title": "経営の安定"}),
        t["indicators"].append(
            {**t["indicators"][0], "indicator_id": "k3", "policy_code": "2", "indicator_code": "2-1"}
        ),
    ),
    "indicator_same_numbers": lambda t: t["indicator_occurrences"].append(
        {**t["indicator_occurrences"][0], "sheet_no": 2, "target_text": "6(16)"}
    ),
    "repost_ends_agree": lambda t: _add_row(
        t, description="窓口相談を開催します。(1-1-aの再掲)", reposted_from="1-1-a"
    ),
    "repost_resolves": lambda t: _add_row(t, reposted_from="1-9-z"),
    "repost_same_text": lambda t: (
        t["initiatives"][1].update(reposted_to=["1-1-b"]),
        _add_row(t, description="まったく別の文章です。(1-1-aの再掲)", reposted_from="1-1-a"),
    ),
    "initiative_unique_names": lambda t: _add_row(
        t, title="窓口相談の開催", description="補助金を交付します。"
    ),
    "initiative_fields_present": lambda t: t["initiatives"][1].update(implementation_policy=None),
    "codes_initiative_sequence": lambda t: _add_row(t, initiative_code="c"),
    "codes_row_numbers": lambda t: _add_row(t, row_number=5),
    "codes_policy_sequence": lambda t: t["policies"].append(
        {**t["policies"][0], "policy_code": "3", "title": "人材"}
    ),
    "codes_measure_sequence": lambda t: t["measures"].extend(
        [{**m, "measure_code": "3", "title": "販路"} for m in copy.deepcopy(t["measures"])]
    ),
    "plan_measure_titles": lambda t: t["measures"][1].update(title="創業の支援"),
    "plan_policy_titles": lambda t: t["policies"][1].update(title="創業を促進する"),
    "plan_initiative_match": lambda t: t["initiatives"][0].update(title="空き家バンク制度の活用"),
    "plan_schedule_agrees": lambda t: [
        r.update(activity="制度の見直し")
        for r in t["schedule_items"]
        if r["source_doc_id"] == "a" and r["fiscal_year"] >= 2025
    ],
    "schedule_in_plan_period": lambda t: t["schedule_items"].extend(
        [{**r, "fiscal_year": 2029} for r in t["schedule_items"] if r["fiscal_year"] == 2027]
    ),
    "declared_counts_match": lambda t: t["declared_counts"].append(
        {"plan_id": "p", "source_doc_id": "s", "indicator_type": "kpi", "scope": "total", "declared_count": 2}
    ),
    "evaluation_rule_understood": lambda t: t.setdefault("evaluations", []).append(
        {
            "indicator_id": "k1",
            "plan_id": "p",
            "fiscal_year": 2024,
            "actual_value": 12.0,
            "rule": "A：90%以上　B：80%以上95%未満　C：80%未満",
            "basis": "rate = actual ÷ target × 100; grading rule not understood, 「A：90%以上　B：80%以上95%未満　C：80%未満」: not graded",
            "source_doc_id": "s",
        }
    ),
    "indicator_latest_value": lambda t: (
        t["indicators"].extend(
            [
                {
                    **t["indicators"][0],
                    "indicator_id": f"o{i}",
                    "indicator_type": "output",
                    "indicator_code": None,
                    "name": f"件数{i}",
                }
                for i in (1, 2)
            ]
        ),
        t["indicator_values"].append({"indicator_id": "o1", "plan_id": "p", "kind": "latest", "value": 3.0}),
    ),
}


@pytest.mark.parametrize("rule_name", sorted(PLANTED))
def test_planted_defect_is_reported_alone(rule_name):
    t = clean()
    PLANTED[rule_name](t)
    assert failing(t) == {rule_name}


def test_kpi_code_of_a_missing_policy():
    t = clean()
    t["kpi_references"].append(
        {**t["kpi_references"][0], "row_number": 1, "indicator_code": "9-1", "name": "x"}
    )
    assert failing(t) == {"kpi_code_policy_exists", "kpi_code_indicator_exists"}


def test_findings_name_the_place_and_the_values():
    t = clean()
    _second_sheet(t, policy_title="創業の推進")
    [finding] = [c for c in run_rules(t) if not c.ok]
    assert "p/sheets.pdf" in finding.details and "「創業の促進」 on sheet 1 p.1" in finding.details
    assert "「創業の推進」 on sheet 2 p.2" in finding.details
    assert (finding.plan_id, finding.source_doc_id) == ("p", "s")


@pytest.fixture(scope="module")
def gx_results():
    from pipeline.validate.gx import validate

    good = clean()
    bad = clean()
    bad["indicators"][0].update(target_value=-5.0)  # negative, and 10 + (-5) ≠ 15
    bad["indicators"].append(
        {
            **bad["indicators"][0],
            "indicator_id": "k9",
            "name": "受注率",
            "unit": "%",
            "baseline_value": 120.0,
            "target_value": None,
            "cumulative_target": None,
            "indicator_code": "1-2",
        }
    )
    return validate(good, "r1"), validate(bad, "r2")


def test_gx_suites_pass_on_clean_tables(gx_results):
    good, _ = gx_results
    assert good and all(r["success"] for r in good), [r["details"] for r in good if not r["success"]]
    assert {r["suite"] for r in good} >= {"rules", "table:indicators", "table:policies"}


def test_gx_suites_report_planted_values(gx_results):
    _, bad = gx_results
    failed = {(r["suite"], r["expectation"], r["severity"]): r for r in bad if not r["success"]}
    negative = failed[("table:indicators", "expect_column_values_to_be_between(target_value)", "error")]
    assert negative["unexpected_count"] == 1 and "参加人数: target -5.0 is negative" in negative["details"]
    assert "p/sheets.pdf p.1" in negative["details"]
    cumulative = failed[
        ("table:indicators", "expect_column_pair_values_to_be_equal(cumulative_target)", "error")
    ]
    assert "cumulative target 15.0 ≠ baseline 10.0 + target -5.0" in cumulative["details"]
    pct = failed[
        ("table:indicators", 'expect_column_values_to_be_between(baseline_value) where unit == "%"', "error")
    ]
    assert "受注率: baseline 120.0% is above 100%" in pct["details"]
    no_target = failed[("table:indicators", "expect_column_values_to_not_be_null(target_value)", "warning")]
    assert no_target["unexpected_count"] == 1
    assert all(r["run_id"] == "r2" for r in bad)
    assert all(r["plan_id"] == "p" and r["source_doc_id"] == "s" for r in failed.values())


def test_every_rule_has_a_suite_entry_and_every_entry_a_rule():
    from pipeline.validate.gx import suites
    from pipeline.validate.rules import registered

    assert set(registered()) == set(suites()["rules"])
    assert len(registered()) == 33


def test_a_rule_missing_from_the_suites_is_an_error_not_silence(monkeypatch):
    import pipeline.validate.gx as gx
    from pipeline.validate.rules import RULES, registered

    registered()
    monkeypatch.setitem(RULES, "brand_new_rule", lambda ctx: iter(()))
    with pytest.raises(RuntimeError, match="brand_new_rule"):
        gx._rule_specs()


def test_every_finding_is_a_row_not_only_the_first_25():
    """40 bad policy codes in one document: one validation_results row (its details cut at
    25) and 40 validation_findings rows, each with its document and line."""
    from pipeline.validate.gx import MAX_DETAILS, validate_all

    doc = {"doc_id": "d1", "source_path": "x/sheets.txt", "plan_id": "p", "kind": "progress_sheets"}
    policies = [
        {
            "plan_id": "p",
            "source_doc_id": "d1",
            "source_row": 10 + i,
            "policy_code": f"x{i}",
            "title": f"方針{i}",
        }
        for i in range(40)
    ]
    results, findings = validate_all({"documents": [doc], "policies": policies}, "run-1")
    codes = [
        r for r in results if r["expectation"].startswith("expect_column_values_to_match_regex(policy_code)")
    ]
    assert len(codes) == 1 and codes[0]["unexpected_count"] == 40 and "… and 15 more" in codes[0]["details"]
    mine = [f for f in findings if f["expectation"] == codes[0]["expectation"]]
    assert len(mine) == 40 > MAX_DETAILS
    assert {f["source_row"] for f in mine} == set(range(10, 50))
    assert mine[0]["message"].startswith("x/sheets.txt line 10: policy code 'x0'")
    assert all(f["run_id"] == "run-1" and f["plan_id"] == "p" and f["source_doc_id"] == "d1" for f in mine)
