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
VOLATILE = {"runs": None, "documents": {"extracted_at"}, "validation_results": {"run_id"}}


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
    from pipeline.load.warehouse import read_warehouse
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
