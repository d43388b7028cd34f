import datetime as dt

from schemas import TABLES
from schemas.vocabulary import label_key, vocabulary


def test_contract_columns_are_present():
    contract = {
        "documents": "doc_id source_path kind plan_id format pages status error extracted_at extractor_version",
        "plans": "plan_id issuer level prefecture title first_fiscal_year last_fiscal_year",
        "policies": "plan_id policy_code title direction",
        "measures": "plan_id policy_code measure_code title",
        "initiatives": "plan_id policy_code measure_code initiative_code title description is_priority "
        "relation_to_previous_plan implementation_policy kpi_codes reposted_from notes",
        "schedule_items": "plan_id policy_code measure_code initiative_code initiative_title fiscal_year activity",
        "indicators": "indicator_id plan_id policy_code measure_code indicator_code indicator_type name unit "
        "baseline_value baseline_text target_fiscal_year target_value cumulative_target is_reposted note",
        "indicator_values": "indicator_id plan_id fiscal_year value as_of_date as_of_text kind",
        "evaluations": "indicator_id plan_id fiscal_year target_value actual_value achievement_rate grade rule",
        "validation_results": "run_id suite expectation severity plan_id source_doc_id success unexpected_count details",
        "runs": "run_id started_at finished_at documents_seen documents_extracted documents_skipped_unchanged "
        "documents_failed status",
    }
    for table, cols in contract.items():
        assert set(cols.split()) <= set(TABLES[table].column_names), table
    for table in ("policies", "measures", "initiatives", "indicators", "indicator_values"):
        assert {"source_doc_id", "source_page"} <= set(TABLES[table].column_names)


def test_one_definition_gives_arrow_and_ddl():
    t = TABLES["indicator_values"]
    arrow = t.to_arrow(
        [
            {
                "indicator_id": "x",
                "plan_id": "p",
                "value": 1,
                "as_of_date": dt.date(2023, 1, 31),
                "kind": "latest",
            }
        ]
    )
    assert str(arrow.schema.field("as_of_date").type) == "date32[day]"
    assert arrow.column("value").to_pylist() == [1.0]
    assert '"as_of_date" DATE' in t.ddl("duckdb")
    assert '"value" DOUBLE PRECISION' in t.ddl("postgresql")
    assert '"kpi_codes" TEXT[]' in TABLES["initiatives"].ddl()


def test_label_vocabulary_finds_variants():
    v = vocabulary()
    assert v.matches("progress_sheets", "policy", "基本方針")
    assert v.matches("progress_sheets", "measure", "具 体 的 施 策")
    assert v.column_meaning("progress_sheets", "kpi_columns", "基準値") == "baseline"
    assert v.column_meaning("progress_sheets", "kpi_columns", "令和６年度目標") == "target"
    assert v.column_meaning("progress_sheets", "kpi_columns", "指標評価") == "grade"
    assert v.column_meaning("progress_sheets", "kpi_columns", "指標 (KPI)") == "name"
    assert label_key("総合評価 (案)") == "総合評価"


def test_to_arrow_coerces_what_arrow_would_refuse():
    import datetime as dt

    from schemas import TABLES

    fast = TABLES["indicators"].to_arrow(
        [
            {
                "indicator_id": "i",
                "plan_id": "p",
                "policy_code": "2",
                "name": "n",
                "baseline_value": float("nan"),
            }
        ]
    )
    assert fast.to_pylist()[0]["baseline_value"] is None  # NaN is missing, not a number
    slow = TABLES["indicators"].to_arrow(
        [{"indicator_id": "i", "plan_id": "p", "policy_code": 2, "name": "n"}]
    )
    assert slow.to_pylist()[0]["policy_code"] == "2"
    runs = TABLES["runs"].to_arrow([{"run_id": "r", "started_at": "2026-11-23T02:00:00+09:00"}])
    assert runs.to_pylist()[0]["started_at"] == dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)
