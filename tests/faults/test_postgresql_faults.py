"""PostgreSQL faults (issue 19 §4, the PostgreSQL refusals): a NUL byte in one document never
blocks the load; a warehouse that refuses (no CREATE right) or goes away mid-load ends the
run with one line, no traceback, and leaves the warehouse and curated/ as they were. Through
the project's test server (scripts/pg-test-server.sh), one fresh database per test."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from faults_site import Site, assert_new_state, copy_site, error_lines, pg_database

from pipeline.load.warehouse import postgres_dsn

KPI = "デジタルを活用し、新サービスを開始した企業数"


@pytest.fixture
def site(tmp_path) -> Site:
    return copy_site(tmp_path)


@pytest.fixture
def pg(request):
    with pg_database(request) as url:
        yield url


def test_a_nul_byte_in_one_document_never_blocks_the_postgresql_load(site, pg):
    path = site.raw / "kama" / "progress_sheets.txt"
    text = path.read_text(encoding="utf-8")
    at = text.rindex(KPI)  # past the first 4 KB (a NUL there reads as a binary file)
    path.write_text(text[:at] + KPI[:4] + "\x00" + KPI[4:] + text[at + len(KPI) :], encoding="utf-8")
    result = site.run("--warehouse", pg)
    assert result.exit_code == 0, result.output
    assert error_lines(result) == []
    state = assert_new_state(site, pg)
    documents = {d["source_path"]: d for d in state["warehouse"]["documents"]}
    assert {d["status"] for d in documents.values()} == {"ok"} and len(documents) == 3
    assert (
        "kama/progress_sheets.txt: 1 control characters (NUL …) removed from the text"
        in (documents["kama/progress_sheets.txt"]["warnings"])
    )
    assert len(state["warehouse"]["initiatives"]) == 169


def test_a_postgresql_role_without_create_right_is_one_line_and_changes_nothing(site, pg):
    before = site.state()
    role = f"faults_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_dsn(pg), autocommit=True) as con:
        con.execute(f'CREATE ROLE "{role}" LOGIN')
        con.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    url = pg.replace("postgres@", f"{role}@", 1)
    try:
        result = site.run("--warehouse", url)
    finally:
        with psycopg.connect(postgres_dsn(pg), autocommit=True) as con:
            con.execute(f'DROP OWNED BY "{role}"')
            con.execute(f'DROP ROLE "{role}"')
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1 and "permission denied for schema public" in lines[0], result.output
    assert lines[0].startswith("error: loading the PostgreSQL warehouse failed, nothing was changed: ")
    assert site.state() == before
    with psycopg.connect(postgres_dsn(pg)) as con:
        tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert tables.fetchone() == (0,)


def test_a_postgresql_server_going_away_mid_load_is_one_line_and_changes_nothing(site, pg, monkeypatch):
    from pipeline.load.warehouse import PostgresWarehouse

    assert site.run("--warehouse", pg).exit_code == 0
    before = site.state(pg)
    path = site.raw / "kama" / "progress_sheets.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(KPI, KPI + "（改訂）"), encoding="utf-8")
    insert = PostgresWarehouse.insert

    def going_away(self, name, table):
        if name == "indicators":  # the server ends this session halfway through the load
            self.con.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        insert(self, name, table)

    monkeypatch.setattr(PostgresWarehouse, "insert", going_away)
    result = site.run("--warehouse", pg)
    assert result.exit_code == 2
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: loading the PostgreSQL warehouse failed, nothing was changed: ")
    assert site.state(pg) == before
