"""Indicators across the documents of one plan (pipeline/derive/link.py): an action plan's KPI
list (関連KPI一覧) and its KPIs with an inline target are indicators of their own, but a KPI the
plan's progress sheets state too — its code printed there or linked by name — is one indicator,
the progress sheet's (it holds the values and occurrences)."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import FIXTURES, RAW, extract_records

from extractors.extract import extract_document
from pipeline.derive.link import link_plan_indicators


@pytest.fixture(scope="module")
def kama():
    records = extract_records(RAW, prefer="text")
    kinds = {d["doc_id"]: d["kind"] for d in records["documents"]}
    return records, kinds


def test_the_kama_pair_keeps_exactly_the_progress_sheets_indicators(kama):
    """Kama's action plan cites its KPIs by code (2-3_商工会…(件)) and prints no KPI list and no
    inline target: it adds no indicator, and the progress sheets' KPIs are linked as before."""
    records, kinds = kama
    mine = [i for i in records["indicators"] if i["plan_id"] == "kama-sme-2"]
    assert Counter(kinds[i["source_doc_id"]] for i in mine) == {"progress_sheets": 29}
    sources = Counter(i.get("indicator_code_source") for i in mine)
    assert sources == {"linked": 27, None: 2}, sources  # as before the action plan gave indicators
    assert len({i["indicator_id"] for i in mine}) == 29


def _pair(progress_kpi: dict) -> dict:
    """The 架空市 action plan (its 関連KPI一覧 of four KPIs) and one progress-sheet KPI of the same plan."""
    out = extract_document(FIXTURES / "templates" / "other_city_action_plan.txt", plan_id="kaku")
    records = {t: [dict(r) for r in rows] for t, rows in out.tables.items()}
    records["documents"] = [out.document, {"doc_id": "ps", "kind": "progress_sheets", "plan_id": "kaku"}]
    records["indicators"].append(
        {
            "indicator_id": "ps-1",
            "plan_id": "kaku",
            "source_doc_id": "ps",
            "indicator_type": "kpi",
            **progress_kpi,
        }
    )
    return records


def test_a_kpi_both_documents_state_is_one_indicator_and_the_others_are_new():
    records = _pair(
        {
            "policy_code": "1",
            "indicator_code": None,
            "name": "見本市・商談会への出展事業者数",
            "target_value": 35.0,
        }
    )
    messages = link_plan_indicators(records)
    got = sorted(
        (i["indicator_code"], i["source_doc_id"] == "ps", i["target_value"]) for i in records["indicators"]
    )
    # 1-1 is the progress sheet's row (its code linked by name); 1-2, 1-3, 2-1 are new rows
    assert got == [("1-1", True, 35.0), ("1-2", False, 30.0), ("1-3", False, 40.0), ("2-1", False, 25.0)]
    assert [i["indicator_code_source"] for i in records["indicators"] if i["source_doc_id"] == "ps"] == [
        "linked"
    ]
    assert any("1-1" in m and "target_value 30.0 in the action plan, 35.0" in m for m in messages)


def test_a_kpi_of_another_name_is_not_merged():
    records = _pair(
        {"policy_code": "2", "indicator_code": None, "name": "空き店舗への出店数", "target_value": 10.0}
    )
    link_plan_indicators(records)
    assert len(records["indicators"]) == 5


def test_a_kpi_named_with_an_inline_target_merges_with_the_same_kpi_of_a_progress_sheet():
    """架空町 names its KPIs with an inline target and no code (相談件数：年60件): a progress-sheet
    KPI of the same policy and name is that indicator; the other three stay new."""
    out = extract_document(FIXTURES / "templates" / "other_town_action_plan.txt", plan_id="town")
    records = {t: [dict(r) for r in rows] for t, rows in out.tables.items()}
    records["documents"] = [out.document, {"doc_id": "ps", "kind": "progress_sheets", "plan_id": "town"}]
    progress = {"indicator_id": "ps-1", "plan_id": "town", "source_doc_id": "ps", "indicator_type": "kpi"}
    records["indicators"].append(
        {**progress, "policy_code": "1", "name": "創業相談件数", "target_value": 60.0}
    )
    link_plan_indicators(records)
    names = sorted((i["name"], i["source_doc_id"] == "ps") for i in records["indicators"])
    assert names == [("出店数", False), ("創業相談件数", True), ("受講者数", False), ("補助件数", False)]
