"""Plans compared by theme: assignments with evidence, the comparison table and the report."""

from __future__ import annotations

import pytest
from conftest import RAW, by, extract_records

from pipeline.derive.compare import (
    assign_themes,
    compare,
    comparison_pairs,
    comparison_report,
    load_themes,
)
from pipeline.report.compare_html import comparison_html


@pytest.fixture(scope="module")
def records():
    return extract_records(RAW, prefer="text")


@pytest.fixture(scope="module")
def assignments(records):
    return assign_themes(records)


def themes_of(assignments, plan, key):
    return {
        a["theme"]: a["evidence"]
        for a in assignments
        if a["plan_id"] == plan and a["object_type"] == "measure" and a["object_key"] == key
    }


@pytest.mark.parametrize(
    ("plan", "key", "theme", "evidence"),
    [
        ("kama-sme-2", "2-5", "sales", "販路、展示会、商談会"),
        ("kama-sme-2", "3-2", "procurement", "公共事業、受注機会"),
        ("kama-sme-2", "6-3", "small_business", "小規模"),
        ("kama-sme-2", "5-3", "workstyle", "労働環境、働ける"),
        ("chiba-genki-5", "2-1.3", "succession", "事業承継"),
        ("chiba-genki-5", "4-2.2", "attraction", "企業誘致"),
        ("chiba-genki-5", "2-3", "bcp", "リスクマネジメント"),
    ],
)
def test_real_measures_get_their_theme_with_evidence(assignments, plan, key, theme, evidence):
    assert themes_of(assignments, plan, key)[theme] == evidence


def test_a_parent_measure_inherits_its_sub_measures_themes(assignments):
    parent = themes_of(assignments, "chiba-genki-5", "1-1")  # 意欲的な取組の促進 names no theme itself
    assert {"startup", "growth", "innovation", "sales", "dx"} == set(parent)
    assert parent["startup"] == "via measure 「起業・創業への支援」"


def test_every_measure_of_both_plans_has_a_theme(records, assignments):
    themed = {(a["plan_id"], a["object_key"]) for a in assignments if a["object_type"] == "measure"}
    measures = {(m["plan_id"], f"{m['policy_code']}-{m['measure_code']}") for m in records["measures"]}
    assert measures and measures <= themed


def test_succession_lists_both_plans_indicators(records, assignments):
    rows = compare(records, "kama-sme-2", "chiba-genki-5", assignments)
    row = by(rows, theme="succession")[0]
    assert row["plan_a_indicators"] == ["福岡県事業引継ぎ支援センターへの紹介事業者数"]
    assert row["plan_b_indicators"] == ["事業承継・引継ぎ支援センターによる相談件数"]
    assert row["covered_by"] == "both"
    only = {r["theme"]: r["covered_by"] for r in rows if r["covered_by"] not in ("both", "none")}
    assert only == {"bcp": "chiba-genki-5", "procurement": "kama-sme-2", "small_business": "kama-sme-2"}


def test_editing_the_taxonomy_changes_the_result(records, tmp_path):
    text = (load_themes.__wrapped__.__globals__["SCHEMA_DIR"] / "themes.yaml").read_text(encoding="utf-8")
    edited = text.replace("keywords: [事業承継, 事業引継ぎ, 引継ぎ支援, 後継者, M&A]", "keywords: [後継者]")
    edited += "  - id: loans\n    label: 制度融資\n    keywords: [制度融資]\n"
    path = tmp_path / "themes.yaml"
    path.write_text(edited, encoding="utf-8")
    themes = load_themes(path)
    changed = assign_themes(records, themes)
    assert "succession" not in themes_of(changed, "chiba-genki-5", "2-1.3")
    loans = [a for a in changed if a["theme"] == "loans"]
    assert {a["object_title"] for a in loans} >= {"県制度融資の融資件数"}


def test_pairs_prefer_the_own_prefecture():
    plans = [
        {"plan_id": "kama", "level": "municipal", "prefecture": "福岡県"},
        {"plan_id": "chiba", "level": "prefectural", "issuer": "千葉県"},
    ]
    assert comparison_pairs(plans) == [("kama", "chiba")]
    plans.append({"plan_id": "fukuoka", "level": "prefectural", "issuer": "福岡県"})
    assert comparison_pairs(plans) == [("kama", "fukuoka")]


def test_html_report_is_offline_and_escapes_document_text(records, assignments):
    html = comparison_html(comparison_report(records, "kama-sme-2", "chiba-genki-5", assignments))
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "Noto Sans CJK JP" in html
    assert "福岡県事業引継ぎ支援センターへの紹介事業者数" in html and "13,386" in html
    evil = {
        **records,
        "measures": records["measures"]
        + [
            {
                "plan_id": "kama-sme-2",
                "policy_code": "9",
                "measure_code": "9",
                "title": "<script>alert(1)</script>",
            }
        ],
    }
    page = comparison_html(comparison_report(evil, "kama-sme-2", "chiba-genki-5"))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_comparisons_made_as_batches_arrive_equal_those_made_at_once(records, assignments):
    """The flow compares a pair as soon as both plans' themes are known (batch by batch):
    the rows are those of comparing every pair at the end."""
    from pipeline.derive.compare import compare_pairs
    from pipeline.state.previous import Comparisons, Previous
    from schemas import TABLES

    plans = [
        dict(p, level=level, issuer=issuer, prefecture=pref)
        for p, level, issuer, pref in (
            ({"plan_id": "pref"}, "prefectural", "chiba", None),
            ({"plan_id": "city-a"}, "municipal", "a", "chiba"),
            ({"plan_id": "city-b"}, "municipal", "b", "chiba"),
        )
    ]
    real = {a["plan_id"] for a in assignments}
    assert len(real) == 2  # the bundled municipal plan and the Chiba strategy
    kama, chiba = sorted(real, key=lambda p: "chiba" not in p)[::-1]
    as_plan = {"pref": chiba, "city-a": kama, "city-b": kama}
    table = {
        pid: TABLES["theme_assignments"].to_arrow(
            [dict(a, plan_id=pid) for a in assignments if a["plan_id"] == src]
        )
        for pid, src in as_plan.items()
    }
    at_once = compare_pairs(comparison_pairs(plans), [r for t in table.values() for r in t.to_pylist()])
    assert len(at_once) == 2 * len(load_themes())
    comparisons = Comparisons(Previous(None), plans, {"pref", "city-a", "city-b"})
    comparisons.add({"city-b"}, table["city-b"])
    assert comparisons.rows == []  # city-b's pair waits for its prefecture
    comparisons.add(
        {"pref", "city-a"},
        TABLES["theme_assignments"].to_arrow(table["pref"].to_pylist() + table["city-a"].to_pylist()),
    )
    assert len(comparisons.rows) == len(at_once)
    kept, rows = comparisons.finish()
    assert kept.num_rows == 0
    key = lambda r: (r["plan_a"], r["plan_b"], r["theme"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(at_once, key=key)
    assert any(r["covered_by"] == "both" for r in rows)


# --- the comparison report's data: distinct objects, each KPI once, values with their year ----

KAMA, CHIBA = "kama-sme-2", "chiba-genki-5"


@pytest.fixture(scope="module")
def report(records, assignments):
    return comparison_report(records, KAMA, CHIBA, assignments)


def kpi_by_code(report, plan, code, name=None):
    found = [e for e in report["kpis"][plan].values() if e["code"] == code and name in (None, e["name"])]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("plan", "rows", "distinct"), [(KAMA, 29, 20), (CHIBA, 33, 32)])
def test_each_kpi_appears_once_in_the_report_data(records, report, plan, rows, distinct):
    """Kama's sheets list 29 KPI rows over 6 policies, 9 of them a KPI of an earlier policy
    again (4 printed 【再掲】); Chiba's slides 33, 年間商品販売額 again under 第4 with 【再掲】."""
    ids = [i["indicator_id"] for i in records["indicators"] if i["plan_id"] == plan]
    kpis = report["kpis"][plan]
    assert (len(ids), len(kpis), report["plans"][plan]["kpis"]) == (rows, distinct, distinct)
    assert sorted(i for e in kpis.values() for i in e["ids"]) == sorted(ids)  # every row in one KPI
    shown = [k for t in report["themes"] for k in t["sides"][plan]["kpis"]] + report["unthemed_kpis"][plan]
    assert sorted(shown) == sorted(kpis)  # each KPI in full exactly once; other themes refer to it
    referred = [k for t in report["themes"] for k, _ in t["sides"][plan]["see"]]
    assert set(referred) <= set(kpis) and not set(referred) & set(report["unthemed_kpis"][plan])


def test_reposted_kpis_are_linked_to_their_original_and_marked(report):
    def reposts(plan, code, name=None):
        return [(r["code"], r["marked"]) for r in kpi_by_code(report, plan, code, name)["reposts"]]

    assert reposts(KAMA, "2-4") == [("4-3", True), ("6-2", False)]  # 経営革新計画の策定事業者数
    assert reposts(KAMA, "2-5") == [("4-4", True), ("6-3", False)]  # 事業計画の策定事業者数
    assert reposts(KAMA, "3-1") == [("4-5", True)]  # 企業マッチングの場の創設
    assert reposts(KAMA, "2-3") == [("6-1", True)]  # 商工会・商工会議所の相談・指導件数
    marked = [r["code"] for e in report["kpis"][KAMA].values() for r in e["reposts"] if r["marked"]]
    assert sorted(marked) == ["4-3", "4-4", "4-5", "6-1"]  # the sheets' 【再掲】 lines
    assert reposts(CHIBA, "1", "年間商品販売額") == [("4", True)]
    row = by(report["themes"], theme="innovation")[0]["sides"][KAMA]
    assert [report["kpis"][KAMA][k]["code"] for k in row["kpis"]] == ["2-4", "2-5"]  # not 3 times each


def test_counts_are_distinct_objects(report):
    kama, chiba = report["plans"][KAMA], report["plans"][CHIBA]
    # Kama: 3+6+3+3+3+3 measures, printed in both documents; 86 action-plan rows, 11 of them
    # (3-①-aの再掲) reposts; 58 sheet lines, all but 8 the same as an action-plan row.
    assert (kama["measures"], kama["initiatives"]) == (21, 83)
    # Chiba: 25 measures, 5 of them split into sub-measures (1-1 → 1.1 … 1.5): 20 counted.
    assert (chiba["measures"], chiba["initiatives"]) == (20, 25)
    innovation = by(report["themes"], theme="innovation")[0]["sides"]
    # 1-1-b, 1-2-a, 2-2-b, 2-3-a, 2-3-b, 2-4-b, 6-1-a, 6-1-b: 4-1-d/e are 2-③-a/b's 再掲 and
    # the sheets' lines (経営計画の策定支援 …) are those rows: 17 objects before, 8 initiatives.
    assert (innovation[KAMA]["measures"], innovation[KAMA]["initiatives"]) == (3, 8)
    assert innovation[KAMA]["measure_share"] == pytest.approx(3 / 21)
    startup = by(report["themes"], theme="startup")[0]["sides"][CHIBA]
    assert (startup["measures"], startup["measure_share"]) == (1, 1 / 20)  # 1-1.1, not also 1-1
    row = by(report["rows"], theme="innovation")[0]
    assert (row["plan_a_measures"], row["plan_a_initiatives"], row["plan_a_coverage"]) == (3, 8, 13)


def test_each_value_has_its_fiscal_year(records, report):
    loans = kpi_by_code(report, CHIBA, "2-1.2")  # 県制度融資の融資件数: 13,386 (R4年12月末時点)
    assert (loans["value"], loans["value_year"], loans["as_of_text"]) == (13386.0, 2022, "R4年12月末時点")
    assert (loans["target"], loans["years_differ"]) == (None, False)
    referral = kpi_by_code(report, KAMA, "2-7")
    actual = {
        "indicator_id": referral["key"],
        "plan_id": KAMA,
        "fiscal_year": 2024,
        "value": 2.0,
        "kind": "actual",
    }
    later = comparison_report({**records, "indicator_values": [actual]}, KAMA, CHIBA)
    entry = later["kpis"][KAMA][referral["key"]]
    assert (entry["target"], entry["target_year"], entry["value_year"], entry["years_differ"]) == (
        3.0,
        2023,
        2024,
        True,
    )
    html = comparison_html(later)
    assert "2 (actual FY2024)" in html and "≠ target year FY2023" in html and "3 (FY2023" in html


def test_balance_is_like_for_like(report):
    """Kama states KPIs only, Chiba outcome and output indicators: no type to compare."""
    assert report["balance_types"] == []
    assert report["plans"][KAMA]["kpis_by_type"] == {"kpi": 20, "outcome": 0, "output": 0}
    assert report["plans"][CHIBA]["kpis_by_type"] == {"kpi": 0, "outcome": 8, "output": 24}
    assert "share no indicator type" in comparison_html(report)


def test_an_unknown_plan_is_one_line_however_many_plans_there_are():
    from pipeline.derive.compare import unknown_plan

    many = [f"plan-{n:04d}" for n in range(1788)]
    assert unknown_plan("x", many) == (
        "unknown plan 'x' (known: plan-0000, plan-0001, plan-0002, plan-0003, plan-0004, plan-0005, "
        "plan-0006, plan-0007 … and 1,780 more)"
    )
    assert unknown_plan("x", []) == "unknown plan 'x' (known: none — run `plan-etl run` first)"


def test_actuals_template_of_an_unknown_plan_is_one_error_line_and_exit_2(tmp_path):
    from click.testing import CliRunner

    from cli.main import main

    result = CliRunner().invoke(
        main,
        [
            "actuals-template",
            "nope",
            "--year",
            "2024",
            "-o",
            str(tmp_path / "a.xlsx"),
            "--curated",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert result.output == "error: unknown plan 'nope' (known: none — run `plan-etl run` first)\n"
    assert not (tmp_path / "a.xlsx").exists()
