"""End to end: the Prefect flow on a copy of raw/, twice; the CLI."""

from __future__ import annotations

import hashlib
import json
import shutil

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, RAW, read_warehouse

from cli.main import main
from schemas import TABLES

EXPECTED_NONEMPTY = {
    "documents",
    "plans",
    "policies",
    "measures",
    "initiatives",
    "schedule_items",
    "indicators",
    "indicator_values",
    "runs",
    "grading_rules",
    "kpi_references",
    "declared_counts",
}


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, prefect_server):
    from flows.nightly_refresh import nightly_refresh

    base = tmp_path_factory.mktemp("e2e")
    raw, curated = base / "raw", base / "curated"
    shutil.copytree(RAW, raw)
    first = nightly_refresh(raw, curated)
    digest1 = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in curated.glob("*.parquet")}
    second = nightly_refresh(raw, curated)
    digest2 = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in curated.glob("*.parquet")}
    return first, second, curated, digest1, digest2


def test_first_run_fills_the_tables(two_runs):
    first, _, curated, _, _ = two_runs
    assert {d["status"] for d in first.documents} == {"ok"}
    assert set(first.row_counts) == set(TABLES)
    for table in EXPECTED_NONEMPTY:
        assert first.row_counts[table] > 0, table
    assert first.row_counts["initiatives"] == 58 + 86 + 25
    assert first.row_counts["indicators"] == 29 + 33
    docs = pq.read_table(curated / "documents.parquet").to_pylist()
    assert sorted((d["source_path"], d["format"], d["pages"]) for d in docs) == [
        ("chiba/strategy_framework.pdf", "pdf", 7),
        ("kama/action_plan.pdf", "pdf", 7),
        ("kama/progress_sheets.pdf", "pdf", 21),
    ]


def test_second_run_skips_unchanged_documents_and_changes_nothing(two_runs):
    _, second, _, digest1, digest2 = two_runs
    assert second.skipped_unchanged == 3
    changed = {name for name in digest1 if digest1[name] != digest2[name]}
    assert changed == {"runs.parquet"}


def test_warehouse_holds_the_same_rows_as_parquet(two_runs):
    _, _, curated, _, _ = two_runs
    con = duckdb.connect(str(curated / "warehouse.duckdb"), read_only=True)
    try:
        for table in TABLES:
            assert (
                con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
                == pq.read_metadata(curated / f"{table}.parquet").num_rows
            ), table
        row = con.execute(
            "SELECT baseline_value, cumulative_target, unit FROM indicators "
            "WHERE name = '商工会・商工会議所の相談・指導件数' AND policy_code = '2'"
        ).fetchall()
        assert row == [(4755.0, 9555.0, "件")]
        runs = con.execute("SELECT documents_skipped_unchanged FROM runs ORDER BY started_at").fetchall()
        assert runs == [(0,), (3,)]
    finally:
        con.close()


def test_runs_record_the_prefect_flow_run_and_publish_the_summary(two_runs):
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.nightly_refresh import ARTIFACT_KEY
    from pipeline.report.markdown import md

    first, second, curated, _, _ = two_runs
    ids = [r["prefect_flow_run_id"] for r in pq.read_table(curated / "runs.parquet").to_pylist()]
    assert ids == [first.flow_run_id, second.flow_run_id] and None not in ids and ids[0] != ids[1]
    runs = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(first.flow_run_id)]))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=runs)
    assert [(a.key, a.type) for a in artifacts] == [(ARTIFACT_KEY, "markdown")]
    text = artifacts[0].data
    assert (
        first.run_id in text
        and "| kama/progress\\_sheets.pdf | progress\\_sheets | kama-sme-2 | ok |" in text
    )
    warnings = [w for d in first.documents for w in d["warnings"]]
    assert warnings and all(f"  - {md(w)}" in text for w in warnings)


def test_kpi_codes_are_linked_from_the_action_plan(two_runs):
    _, _, curated, _, _ = two_runs
    rows = pq.read_table(curated / "indicators.parquet").to_pylist()
    code = {
        (r["policy_code"], r["name"]): (r["indicator_code"], r["indicator_code_source"])
        for r in rows
        if r["indicator_type"] == "kpi"
    }
    assert code[("2", "商工会・商工会議所の相談・指導件数")] == ("2-3", "linked")
    assert (
        code[("2", "市外での商談会・展示会等への出展事業者数")][0] == "2-6"
    )  # 出展 vs 出店 in the action plan
    assert code[("6", "商工会・商工会議所の相談・指導件数")][0] == "6-1"
    assert code[("2", "個人事業者におけるデジタル化進捗割合")][0] is None  # cited only as 6-5


def test_cli_extract_json_prints_the_records():
    result = CliRunner().invoke(main, ["extract", str(RAW / "chiba" / "strategy_framework.txt"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["document"]["kind"] == "strategy_framework"
    outputs = [i for i in payload["tables"]["indicators"] if i["indicator_type"] == "output"]
    assert len(outputs) == 24
    assert any(
        v["value"] == 13386.0 and v["as_of_date"] == "2022-12-31"
        for v in payload["tables"]["indicator_values"]
    )


def test_cli_extract_reports_a_bad_file(tmp_path):
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    result = CliRunner().invoke(main, ["extract", str(bad)])
    assert result.exit_code == 1
    assert "empty file" in result.output


def test_validation_reports_the_documents_contradictions(two_runs):
    _, _, curated, _, _ = two_runs
    results = pq.read_table(curated / "validation_results.parquet").to_pylist()
    failed = {r["expectation"]: r for r in results if not r["success"]}
    title = failed["sheet_policy_title"]
    assert title["severity"] == "error" and title["plan_id"] == "kama-sme-2"
    assert "経済循環の創出を図る」 on sheet 10 p.10" in title["details"]
    assert "経済循環の促進を図る」 on sheet 11 p.11, sheet 12 p.12" in title["details"]
    scales = failed["sheet_grading_rules"]["details"]
    assert (
        "評価できる=★★★★、一定の評価はできる=★★★" in scales
        and "評価できる=★★★、一定の評価はできる=★★" in scales
    )
    assert (
        "KPI 1-1 is 「創業塾、創業セミナーの参加人数」 on the sheets" in failed["kpi_name_agrees"]["details"]
        and "「創業塾、創業セミナー、個別講習の参加人数」 in the action plan"
        in failed["kpi_name_agrees"]["details"]
    )
    assert (
        "2-3-a says it is reposted at 4-1-b, but 4-1-b says it is the repost of 3-1-b"
        in (failed["repost_ends_agree"]["details"])
    )
    assert failed["indicator_latest_value"]["plan_id"] == "chiba-genki-5"
    # Rules across a plan's documents need the plans table: 8 sheet initiatives match no row.
    assert failed["plan_initiative_match"]["unexpected_count"] == 8
    assert failed["plan_schedule_agrees"]["unexpected_count"] == 16
    passed = {r["expectation"] for r in results if r["success"]}
    assert {
        "declared_counts_match",
        "codes_policy_sequence",
        "expect_column_pair_values_to_be_equal(cumulative_target)",
        "schedule_in_plan_period",
    } <= passed
    assert {r["suite"] for r in results} >= {"table:plans", "table:documents", "rules"}
    report = (curated / "validation" / "index.html").read_text(encoding="utf-8")
    assert "sheet_policy_title" in report and "<script" not in report


def test_cli_validate_prints_findings_and_fails_on_errors(two_runs):
    _, _, curated, _, _ = two_runs
    result = CliRunner().invoke(
        main, ["validate", "--curated", str(curated), "--brief"], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 1, result.output
    assert "kama-sme-2 — errors" in result.output and "sheet_policy_title" in result.output
    assert "validation:" in result.output and "failed with errors" in result.output


def _fill_template(curated, path, year, value):
    from openpyxl import load_workbook

    from pipeline.report.actuals_template import write_template

    plans = {p["plan_id"]: p for p in pq.read_table(curated / "plans.parquet").to_pylist()}
    indicators = [
        i for i in pq.read_table(curated / "indicators.parquet").to_pylist() if i["plan_id"] == "kama-sme-2"
    ]
    write_template(path, plans["kama-sme-2"], indicators, year)
    wb = load_workbook(path)
    ws = wb.active
    for row in ws.iter_rows():
        if row[3].value == "事業計画の策定事業者数" and row[2].value == "2":
            row[6].value, row[7].value = 10, value
    wb.save(path)


def test_actuals_workbooks_replace_a_year_and_add_the_next(tmp_path, prefect_server):
    from flows.nightly_refresh import nightly_refresh

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    nightly_refresh(raw, curated, prefer="text")

    def evaluations():
        rows = pq.read_table(curated / "evaluations.parquet").to_pylist()
        return sorted((r["fiscal_year"], r["actual_value"], r["achievement_rate"], r["grade"]) for r in rows)

    _fill_template(curated, raw / "kama" / "actuals_2023.xlsx", 2023, 8)
    summary = nightly_refresh(raw, curated, prefer="text")
    assert any("actuals_2023.xlsx: not listed" in m for m in summary.messages)
    assert evaluations() == [(2023, 8.0, 80.0, "B")]
    _fill_template(
        curated, raw / "kama" / "actuals_2023.xlsx", 2023, 11
    )  # revised: replaces, never duplicates
    nightly_refresh(raw, curated, prefer="text")
    assert evaluations() == [(2023, 11.0, 110.0, "A")]
    _fill_template(curated, raw / "kama" / "actuals_2024.xlsx", 2024, 7)  # a new year adds
    nightly_refresh(raw, curated, prefer="text")
    assert evaluations() == [(2023, 11.0, 110.0, "A"), (2024, 7.0, 70.0, "C")]
    values = pq.read_table(curated / "indicator_values.parquet").to_pylist()
    assert len([v for v in values if v["kind"] == "actual"]) == 2


def test_flow_loads_theme_tables_and_cli_compares(two_runs, tmp_path):
    _, _, curated, _, _ = two_runs
    comparison = pq.read_table(curated / "plan_comparison.parquet").to_pylist()
    succession = [r for r in comparison if r["theme"] == "succession"][0]
    assert (succession["plan_a"], succession["plan_b"]) == ("kama-sme-2", "chiba-genki-5")
    assert succession["plan_b_indicators"] == ["事業承継・引継ぎ支援センターによる相談件数"]
    assignments = pq.read_table(curated / "theme_assignments.parquet").to_pylist()
    assert len(assignments) > 100
    # Initiatives of the progress sheets are told apart from the action plan's by a "sheet " key.
    keys = {a["object_key"] for a in assignments if a["object_type"] == "initiative"}
    assert any(k.startswith("sheet ") for k in keys) and any(k[0].isdigit() for k in keys)
    html = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        ["compare", "kama-sme-2", "chiba-genki-5", "--curated", str(curated), "--html", str(html)],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    assert "事業承継" in result.output and "themes only one plan covers" in result.output
    assert "事業承継・引継ぎ支援センターによる相談件数" in html.read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["compare", "kama-sme-2", "nowhere", "--curated", str(curated)])
    assert bad.exit_code != 0 and "unknown plan 'nowhere'" in bad.output


def test_postgresql_warehouse_holds_the_same_tables_as_duckdb(two_runs, pg_url):
    from flows.nightly_refresh import nightly_refresh

    _, _, curated, _, _ = two_runs
    duck = f"duckdb:///{(curated / 'warehouse.duckdb').as_posix()}"
    before = {t: read_warehouse(duck, t) for t in TABLES}
    summary = nightly_refresh(curated.parent / "raw", curated, warehouse=pg_url)
    assert summary.skipped_unchanged == 3
    for table in TABLES:
        pg = read_warehouse(pg_url, table)
        if table == "runs":
            assert len(pg) == len(before[table]) + 1
            continue
        assert pg == before[table], table


def test_postgresql_warehouse_is_patched_by_plan_and_equals_the_curated_tables(
    tmp_path, prefect_server, pg_url
):
    """A revised document on a PostgreSQL warehouse: only the recomputed plan's rows are
    deleted and inserted (in one transaction), and the result equals the curated Parquet."""
    from conftest import curated_tables, warehouse_tables

    from flows.nightly_refresh import nightly_refresh

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    first = nightly_refresh(raw, curated, warehouse=pg_url, prefer="text")
    sheets = raw / "kama" / "progress_sheets.txt"
    sheets.write_text(sheets.read_text(encoding="utf-8").replace("4,755", "4,756"), encoding="utf-8")
    second = nightly_refresh(raw, curated, warehouse=pg_url, prefer="text")
    assert (first.warehouse_load, second.warehouse_load) == ("replace", "delta")
    parquet = {t: sorted(rows, key=repr) for t, rows in curated_tables(curated).items()}
    assert warehouse_tables(pg_url) == parquet
    assert {
        r["baseline_value"]
        for r in parquet["indicators"]
        if r["name"] == "商工会・商工会議所の相談・指導件数"
    } == {4756.0}


def test_broken_document_keeps_old_rows_and_is_quarantined(tmp_path, prefect_server):
    from flows.nightly_refresh import nightly_refresh

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    nightly_refresh(raw, curated, prefer="text")
    before = pq.read_metadata(curated / "initiatives.parquet").num_rows
    sheets = raw / "kama" / "progress_sheets.txt"
    sheets.write_bytes(b"\x00\x01broken")  # a revision that cannot be read
    first = nightly_refresh(raw, curated, prefer="text")
    assert first.run_record()["documents_failed"] == 1 and first.quarantined == 0
    docs = pq.read_table(curated / "documents.parquet").to_pylist()
    failed = [d for d in docs if d["status"] == "failed"]
    assert (
        len(failed) == 1
        and "progress_sheets.txt" in failed[0]["error"]
        and "rows of the previous version" in (failed[0]["error"])
    )
    assert pq.read_metadata(curated / "initiatives.parquet").num_rows == before  # nothing lost
    second = nightly_refresh(raw, curated, prefer="text")
    assert second.quarantined == 1 and second.extracted == 0
    assert any("quarantined" in m for m in second.messages)
    assert pq.read_metadata(curated / "initiatives.parquet").num_rows == before
    shutil.copy(RAW / "kama" / "progress_sheets.txt", sheets)  # fixed: extracted again
    third = nightly_refresh(raw, curated, prefer="text")
    assert third.quarantined == 0 and third.run_record()["documents_failed"] == 0
    assert len(pq.read_table(curated / "documents.parquet").to_pylist()) == 3


def test_flow_reads_raw_from_an_fsspec_url(tmp_path, prefect_server):
    import fsspec

    from flows.nightly_refresh import nightly_refresh

    fs = fsspec.filesystem("memory")
    for path in RAW.rglob("*"):
        if path.is_file():
            fs.pipe(f"/remote-plans/{path.relative_to(RAW).as_posix()}", path.read_bytes())
    try:
        summary = nightly_refresh("memory://remote-plans/", tmp_path / "curated", prefer="text")
        assert summary.run_record()["documents_extracted"] == 3
        docs = pq.read_table(tmp_path / "curated" / "documents.parquet").to_pylist()
        assert sorted(d["source_path"] for d in docs) == [
            "chiba/strategy_framework.txt",
            "kama/action_plan.txt",
            "kama/progress_sheets.txt",
        ]
    finally:
        fs.rm("/remote-plans", recursive=True)


def _bad_files(tmp_path):
    import io

    import pypdf

    pdf = (RAW / "chiba" / "strategy_framework.pdf").read_bytes()
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password="himitsu", algorithm="AES-128")
    encrypted = io.BytesIO()
    writer.write(encrypted)
    blank = pypdf.PdfWriter()
    blank.add_blank_page(width=595, height=842)
    scanned = io.BytesIO()
    blank.write(scanned)
    return [
        ("empty.txt", b"", "empty file"),
        ("fake.pdf", "方針\t(1)".encode(), "not a PDF despite its .pdf name"),
        ("cut.pdf", pdf[:3000], "broken or truncated PDF"),
        ("locked.pdf", encrypted.getvalue(), "encrypted, no password given"),
        ("scan.pdf", scanned.getvalue(), "no text layer (scanned?) — OCR needed"),
        ("minutes.txt", "議事録\n出席者\t10名\n".encode(), "unknown document kind"),
        ("minutes.pdf", (FIXTURES / "unknown_kind.pdf").read_bytes(), "unknown document kind"),
        ("garbled.txt", b"\x81\x39\xfe\xfe\xff\xfe\xfd" * 5, "not valid UTF-8, UTF-16 or Shift_JIS/CP932"),
    ]


def test_each_bad_document_fails_alone_and_the_warehouse_keeps_its_rows(tmp_path, prefect_server):
    from flows.nightly_refresh import nightly_refresh

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    nightly_refresh(raw, curated, prefer="text")
    duck = f"duckdb:///{(curated / 'warehouse.duckdb').as_posix()}"
    counted = ("policies", "measures", "initiatives", "indicators", "indicator_values")
    before = {t: len(read_warehouse(duck, t)) for t in counted}
    for name, data, words in _bad_files(tmp_path):
        bad = raw / "kama" / name
        bad.write_bytes(data)
        summary = nightly_refresh(raw, curated, prefer="text")
        [failed] = [d for d in summary.documents if d["status"] == "failed"]
        assert failed["source_path"] == f"kama/{name}" and words in failed["error"], (name, failed["error"])
        assert summary.run_record()["documents_failed"] == 1
        assert {t: len(read_warehouse(duck, t)) for t in counted} == before, name
        bad.unlink()


def test_a_transient_error_is_retried_by_prefect(tmp_path, prefect_server, monkeypatch):
    import flows.nightly_refresh as nr

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    import pipeline.refresh.batch as batch

    real, calls = batch.IsolatedExtractor.extract, []  # (documents are extracted in a child process)

    def flaky(self, *args, **kwargs):
        calls.append(args[0])
        if len(calls) == 1:
            raise OSError("network file system hiccup")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(batch.IsolatedExtractor, "extract", flaky)
    summary = nr.nightly_refresh(raw, curated, prefer="text")
    assert summary.run_record()["documents_extracted"] == 3 and len(calls) == 4  # one batch retried once


def test_the_flow_run_parameters_hold_no_password(tmp_path, prefect_server, pg_url):
    """``run_refresh`` (what ``plan-etl run`` calls) gives the flow the warehouse URL with its
    password masked: Prefect stores parameters; the password stays in the process (the test
    server trusts loopback, so the load works either way)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    from flows.nightly_refresh import run_refresh

    scheme_user, rest = pg_url.split("@", 1)
    url = f"{scheme_user}:s3cret@{rest}?password=s3cret&connect_timeout=10"
    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    summary = run_refresh(raw, curated, warehouse=url, prefer="text")
    assert summary.warehouse_load and {d["status"] for d in summary.documents} == {"ok"}
    with get_client(sync_client=True) as client:
        parameters = client.read_flow_run(UUID(summary.flow_run_id)).parameters
    assert parameters["warehouse"] == f"{scheme_user}:***@{rest}?password=***&connect_timeout=10"
    assert "s3cret" not in json.dumps(parameters, default=str)
