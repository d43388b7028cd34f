"""Shared fixtures: the bundled real documents, parsed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import configure_environment

configure_environment()

ROOT = Path(__file__).resolve().parent.parent
RAW = (
    Path(__file__).parent / "fixtures" / "samples"
)  # a copy of the bundled raw/: tests never read the user's raw/
FIXTURES = Path(__file__).parent / "fixtures"


def _parse(rel: str):
    from extractors.extract import parse_grid
    from extractors.readers import read_document

    path = RAW / rel
    return parse_grid(read_document(path, path.read_bytes()))


@pytest.fixture(scope="session")
def progress():
    return _parse("kama/progress_sheets.txt")


@pytest.fixture(scope="session")
def action_plan():
    return _parse("kama/action_plan.txt")


@pytest.fixture(scope="session")
def strategy():
    return _parse("chiba/strategy_framework.txt")


def by(records, **where):
    """Records whose fields equal ``where``."""
    return [r for r in records if all(r.get(k) == v for k, v in where.items())]


@pytest.fixture(scope="session")
def pg_url():
    """A real PostgreSQL server on loopback, installed and started by scripts/pg-test-server.sh."""
    import subprocess

    script = ROOT / "scripts" / "pg-test-server.sh"
    url = subprocess.run(
        ["bash", str(script)], check=True, capture_output=True, text=True, timeout=600
    ).stdout.strip()
    yield url.splitlines()[-1]


#: Columns that differ between two runs of the same input by design (run ids, times).
VOLATILE = {
    "runs": None,
    "documents": {"extracted_at"},
    "validation_results": {"run_id"},
    "validation_findings": {"run_id"},
}


def curated_tables(curated):
    """Every curated table as rows, without the volatile columns (for run-vs-run equality)."""
    import pyarrow.parquet as pq

    from schemas import TABLES

    out = {}
    for t in TABLES:
        if t in VOLATILE and VOLATILE[t] is None:
            continue
        rows = pq.read_table(curated / f"{t}.parquet").to_pylist()
        out[t] = [{k: v for k, v in r.items() if k not in (VOLATILE.get(t) or ())} for r in rows]
    return out


def warehouse_tables(url):
    """Every warehouse table as rows in a fixed order (SQL tables have none), without the
    volatile columns — to compare a warehouse loaded by delta with one loaded from scratch."""
    from schemas import TABLES

    out = {}
    for t in TABLES:
        if t in VOLATILE and VOLATILE[t] is None:
            continue
        rows = [
            {k: v for k, v in r.items() if k not in (VOLATILE.get(t) or ())} for r in read_warehouse(url, t)
        ]
        out[t] = sorted(rows, key=repr)
    return out


# --- test helpers over the library (not part of it) -----------------------------------------


def build_tables(records):
    """Records per table → Arrow tables with exactly the schema of ``schemas/tables.yaml``."""
    from schemas import TABLES

    return {name: TABLES[name].to_arrow(records.get(name, [])) for name in TABLES}


def load_records(url: str, records) -> str:
    """Load records (every table) into the warehouse at ``url``, without curated/."""
    from pipeline.load import load_tables
    from pipeline.load.warehouse import open_warehouse

    return load_tables(open_warehouse(url), build_tables(records))


def read_warehouse(url: str, table: str):
    """All rows of a warehouse table, as dicts."""
    from pipeline.load.warehouse import duckdb_path, postgres_dsn

    if url.startswith("duckdb:"):
        import duckdb

        con = duckdb.connect(str(duckdb_path(url)), read_only=True)
        try:
            cur = con.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        finally:
            con.close()
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(postgres_dsn(url), row_factory=dict_row) as con:
        return list(con.execute(f'SELECT * FROM "{table}"'))


def extract_records(raw_dir: Path, prefer: str | None = None):
    """Extract every document of ``raw_dir`` in this process, without Prefect or incremental
    state: the records a run would load, KPI codes linked."""
    from extractors.extract import extract_document
    from pipeline.derive.link import link_plan_indicators
    from pipeline.discover.manifest import load_manifest
    from pipeline.state.previous import Previous
    from pipeline.state.work import WorkPlan, assemble

    manifest = load_manifest(raw_dir, prefer=prefer)
    work = WorkPlan(extract=list(manifest.documents))
    outcomes = [
        extract_document(s.path, rel_path=s.rel_path, plan_id=s.plan_id, kind=s.kind, password=s.password)
        for s in manifest.documents
    ]
    records, documents = assemble(work, outcomes, Previous(None), set(manifest.plans))
    records["documents"] = [documents[k] for k in sorted(documents)]
    records["plans"] = [p.record() for _, p in sorted(manifest.plans.items())]
    link_plan_indicators(records)
    return records
