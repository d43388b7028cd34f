"""The command line's output on the bundled samples, as a cron log sees it (COLUMNS=80, not a
TTY): nothing dropped; actuals typed as text reported; extract / sql / export for people and
scripts; the README's `plan-etl sql` blocks run as pasted. One local run (no Prefect) serves all."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import shutil
import socket

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import RAW, ROOT, extract_records
from rich.cells import cell_len

from cli.main import main

TEXT_ACTUALS = {"創業塾、創業セミナーの参加人数": "18人", "市の支援制度や創業塾を利用した創業者数": "未集計"}
NUMBER_ACTUAL = ("事業計画の策定事業者数", 12)
NARROW = {"COLUMNS": "80", "PREFECT_API_URL": None}


def _actuals_workbook(raw, path):
    """The actuals template of Kama's plan (from the samples), filled as staff might: two
    actuals typed as text, one number. Returns {text typed: its sheet row}."""
    from openpyxl import load_workbook

    from pipeline.report.actuals_template import write_template

    records = extract_records(raw, prefer="text")
    plan = next(p for p in records["plans"] if p["plan_id"] == "kama-sme-2")
    indicators = [i for i in records["indicators"] if i["plan_id"] == "kama-sme-2"]
    write_template(path, plan, indicators, 2024)
    wb = load_workbook(path)
    ws = wb.active
    rows = {}
    for row in ws.iter_rows():
        name = row[3].value
        if name in TEXT_ACTUALS and TEXT_ACTUALS[name] not in rows:
            row[7].value = TEXT_ACTUALS[name]
            rows[TEXT_ACTUALS[name]] = row[7].row
        elif name == NUMBER_ACTUAL[0] and row[2].value == "2":
            row[6].value, row[7].value = 10, NUMBER_ACTUAL[1]
    wb.save(path)
    assert len(rows) == 2
    return rows


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    raw, curated = base / "raw", base / "curated"
    shutil.copytree(RAW, raw)
    rows = _actuals_workbook(raw, raw / "kama" / "actuals_2024.xlsx")
    args = ["run", "--raw", str(raw), "--curated", str(curated), "--prefer", "text"]
    result = CliRunner().invoke(main, args, env=NARROW)
    assert result.exit_code == 0, result.output
    return base, curated, result.output, rows


def _flat(text: str) -> str:
    return re.sub(r"[\s•]", "", text)


def test_run_at_80_columns_keeps_every_warning(sample_run):
    _, curated, out, _ = sample_run
    documents = pq.read_table(curated / "documents.parquet").to_pylist()
    warnings = [w for d in documents for w in d["warnings"]]
    assert len(warnings) >= 10  # the samples' own (再掲 names, titles that differ …) and the workbook's
    flat = _flat(out)
    assert [w for w in warnings if _flat(w) not in flat] == []
    assert f"warnings ({len(warnings)})" in out
    for d in documents:  # every column of the documents table, ids whole on one line
        assert re.search(rf"^{re.escape(d['source_path'])}\s*$", out, re.M), d["source_path"]
        assert re.search(rf"^\s+plan\s+{re.escape(d['plan_id'])}\s*$", out, re.M)
        assert re.search(rf"^\s+warnings\s+{len(d['warnings'])}\s*$", out, re.M)
    run = pq.read_table(curated / "runs.parquet").to_pylist()[-1]
    assert re.search(rf"^run {run['run_id']}: 4 documents", out, re.M)
    assert run["prefect_flow_run_id"] is None  # a plain local run: no Prefect flow run
    assert max(cell_len(line) for line in out.splitlines()) <= 80


def test_actuals_typed_as_text_are_listed_validated_and_partial(sample_run):
    _, curated, out, rows = sample_run
    doc = next(d for d in pq.read_table(curated / "documents.parquet").to_pylist() if d["kind"] == "actuals")
    assert doc["status"] == "partial"
    for text, row in rows.items():
        assert any(f"row {row}: actual 「{text}」" in w for w in doc["warnings"]), doc["warnings"]
    assert "partial: kama/actuals_2024.xlsx" in out
    findings = [
        f
        for f in pq.read_table(curated / "validation_findings.parquet").to_pylist()
        if f["expectation"] == "actuals_are_numbers"
    ]
    assert sorted((f["source_page"], f["source_row"]) for f in findings) == sorted(
        (1, r) for r in rows.values()
    )
    assert all(f["severity"] == "error" and f["source_doc_id"] == doc["doc_id"] for f in findings)
    assert {t for t in rows if any(f"「{t}」" in f["message"] for f in findings)} == set(rows)
    actuals = [
        v for v in pq.read_table(curated / "indicator_values.parquet").to_pylist() if v["kind"] == "actual"
    ]
    assert [v["value"] for v in actuals] == [float(NUMBER_ACTUAL[1])]  # the number is loaded, text is not


def test_the_reports_of_run_and_validate_link_each_finding_to_its_document(sample_run):
    """The run's report and `plan-etl validate --raw`'s: the actuals typed as text are findings
    linked (relative to the report) to the workbook, with their row. (Placed before the other
    tests that run `validate`: they rewrite the run's report.)"""
    from urllib.parse import unquote

    base, curated, _, rows = sample_run
    report = curated / "validation" / "index.html"
    for again in (False, True):
        if again:  # validate rewrites the report from the curated tables
            args = ["validate", "--curated", str(curated), "--raw", str(base / "raw")]
            assert CliRunner().invoke(main, args, env=NARROW).exit_code == 1
        page = report.read_text(encoding="utf-8")
        links = re.findall(r'<li><a href="([^"]+)">row (\d+)</a> [^<]*is not a number: 「', page)
        assert sorted(int(row) for _, row in links) == sorted(rows.values()), links
        assert {(report.parent / unquote(h)).resolve() for h, _ in links} == {
            (base / "raw" / "kama" / "actuals_2024.xlsx").resolve()
        }


def _sql(curated, *args, env=None):
    return CliRunner().invoke(main, ["sql", *args, "--curated", str(curated)], env=env or NARROW)


KPI_2_3 = (
    "select indicator_code, name, baseline_value, target_value, cumulative_target from indicators "
    "where plan_id = 'kama-sme-2' and indicator_code = '2-3'"
)


def test_sql_prints_a_table_csv_and_json(sample_run):
    _, curated, _, _ = sample_run
    table = _sql(curated, KPI_2_3)
    assert table.exit_code == 0, table.output
    assert "商工会・商工会議所の相談・指導件数" in table.output and "9555" in table.output
    rows = list(csv.DictReader(io.StringIO(_sql(curated, KPI_2_3, "--csv").output)))
    assert [(r["baseline_value"], r["target_value"], r["cumulative_target"]) for r in rows] == [
        ("4755", "4800", "9555")
    ]
    assert json.loads(_sql(curated, KPI_2_3, "--json").output)[0]["cumulative_target"] == 9555.0


def test_sql_errors_are_one_line(sample_run, tmp_path):
    _, curated, _, _ = sample_run
    for result in (_sql(curated, "select nope from indicators"), _sql(tmp_path, "select 1")):
        assert result.exit_code == 2
        assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error:"), (
            result.output
        )


def test_readme_sql_blocks_run_as_pasted(sample_run, monkeypatch):
    base, _, _, _ = sample_run
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "plan-etl sql" in b]
    assert len(blocks) >= 2
    monkeypatch.chdir(base)  # the README's commands use ./curated, as after `make run`
    for block in blocks:
        tokens = shlex.split(block, comments=True)
        assert tokens[0].endswith("plan-etl") and tokens[1] == "sql", block  # one command a block
        result = CliRunner().invoke(main, tokens[1:], env={"COLUMNS": "200"})
        assert result.exit_code == 0 and not result.output.startswith("error"), (block, result.output)
        assert re.search(r"^\s*\d+ rows", result.output, re.M), result.output


def test_export_writes_csv_and_excel(sample_run, tmp_path):
    from openpyxl import load_workbook

    _, curated, _, _ = sample_run
    runner = CliRunner()
    for name in ("indicators.csv", "indicators.xlsx"):
        result = runner.invoke(
            main, ["export", "indicators", "-o", str(tmp_path / name), "--curated", str(curated)]
        )
        assert result.exit_code == 0 and "62 rows of indicators" in result.output, result.output
    raw_csv = (tmp_path / "indicators.csv").read_bytes()
    assert raw_csv.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the Japanese
    rows = list(csv.DictReader(io.StringIO(raw_csv.decode("utf-8-sig"))))
    ws = load_workbook(tmp_path / "indicators.xlsx").active
    sheet = [[c.value for c in r] for r in ws.iter_rows()]
    assert len(rows) == len(sheet) - 1 == 62 and list(rows[0]) == sheet[0]
    at = sheet[0].index("cumulative_target")
    assert sorted(
        r["cumulative_target"] for r in rows if r["name"] == "商工会・商工会議所の相談・指導件数"
    ) == [
        "9555",
        "9555",
    ]
    assert sorted(s[at] for s in sheet if "商工会・商工会議所の相談・指導件数" in s) == [9555, 9555]
    bad = runner.invoke(main, ["export", "nope", "-o", str(tmp_path / "x.csv"), "--curated", str(curated)])
    assert bad.exit_code == 2 and bad.output.startswith("error: no table 'nope'")


def test_extract_shows_every_column_and_prints_csv_and_json():
    doc = str(RAW / "chiba" / "strategy_framework.txt")
    runner = CliRunner()
    payload = json.loads(runner.invoke(main, ["extract", doc, "--json"]).output)
    out = runner.invoke(main, ["extract", doc, "--limit", "0"], env=NARROW).output
    indicators = payload["tables"]["indicators"]
    for column in indicators[0]:
        if column not in ("plan_id", "source_doc_id"):
            assert re.search(rf"^\s+{column}\s", out, re.M), column
    assert "source_doc_id " + payload["document"]["doc_id"] in out
    with_target = sum(len(rows) for rows in payload["tables"].values() if rows and "target_value" in rows[0])
    assert with_target > len(indicators) == 33  # indicators and indicator_values: every record shows it
    assert len(re.findall(r"^\s+target_value\s", out, re.M)) == with_target
    rows = list(csv.DictReader(io.StringIO(runner.invoke(main, ["extract", doc, "--csv"]).output)))
    counts = {name: len(records) for name, records in payload["tables"].items()}
    assert {t: sum(r["table"] == t for r in rows) for t in counts} == counts
    picked = runner.invoke(main, ["extract", doc, "--csv", "--columns", "name,target_value"]).output
    picked_rows = list(csv.DictReader(io.StringIO(picked)))
    assert list(picked_rows[0]) == ["table", "name", "target_value"]
    assert ("開業率", "indicators") in {(r["name"], r["table"]) for r in picked_rows}
    bad = runner.invoke(main, ["extract", doc, "--columns", "nope"])
    assert bad.exit_code == 2 and "no column nope" in bad.output


def test_validate_at_80_columns_names_every_failed_check_whole(sample_run):
    _, curated, _, _ = sample_run
    result = CliRunner().invoke(main, ["validate", "--curated", str(curated), "--brief"], env=NARROW)
    assert result.exit_code == 1, result.output  # actuals_are_numbers is an error
    failed = [
        r for r in pq.read_table(curated / "validation_results.parquet").to_pylist() if not r["success"]
    ]
    assert "actuals_are_numbers" in {r["expectation"] for r in failed}
    for r in failed:
        assert re.search(
            rf"^{re.escape(r['expectation'])} \({r['unexpected_count']}\)", result.output, re.M
        ), r
    assert max(cell_len(line) for line in result.output.splitlines()) <= 80


def test_sql_on_postgresql_by_its_url(pg_url, tmp_path):
    """The PostgreSQL path of `plan-etl sql` (a query that reads no table: the server is shared)."""
    query = "select 1 as one, '嘉麻市' as issuer, 2.5::float8 as x"
    result = CliRunner().invoke(main, ["sql", query, "--warehouse", pg_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"one": 1, "issuer": "嘉麻市", "x": 2.5}]
    bad = CliRunner().invoke(main, ["sql", "select nope", "--warehouse", pg_url], env=NARROW)
    assert bad.exit_code == 2 and bad.output.startswith("error: the query failed:"), bad.output
    assert len(bad.output.strip().splitlines()) == 1
    with socket.socket() as s:  # a server that is down
        s.bind(("127.0.0.1", 0))
        down = f"postgresql://plan@127.0.0.1:{s.getsockname()[1]}/plans"
    gone = CliRunner().invoke(main, ["sql", "select 1", "--warehouse", down], env=NARROW)
    assert gone.exit_code == 2 and gone.output.startswith("error: cannot reach the warehouse"), gone.output
