"""Plans compared by theme: assignments with evidence, the comparison table and the report."""

from __future__ import annotations

import pytest
from conftest import RAW, by, extract_records

from pipeline.derive.compare import assign_themes, compare, comparison_pairs, load_themes
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
    rows = compare(records, "kama-sme-2", "chiba-genki-5", assignments)
    html = comparison_html(records, rows, assignments)
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
    page = comparison_html(evil, rows, assign_themes(evil))
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
