"""Shared fixtures: the bundled real documents, parsed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import configure_environment

configure_environment()

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "raw"
FIXTURES = Path(__file__).parent / "fixtures"


def _parse(rel: str):
    from extractors.readers import read_document
    from pipeline.extract import parse_grid

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
