"""Faults and hostile input (issue 19): a site (raw/ + curated/ + warehouse) after one clean
run of the bundled text exports, copied per test; the command run in this process
(``plan-etl run``, as a user types it); the state compared table by table.

(Not a conftest.py: a second module named ``conftest`` would replace tests/conftest.py in
``sys.modules``. Test modules define their ``site`` fixture with :func:`copy_site`.)"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import RAW, curated_tables, warehouse_tables


@dataclass
class Site:
    """A copy of the baseline: documents, curated tables and the DuckDB warehouse."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def curated(self) -> Path:
        return self.root / "curated"

    @property
    def duckdb(self) -> str:
        return f"duckdb:///{(self.curated / 'warehouse.duckdb').as_posix()}"

    def state(self, warehouse: str | None = None) -> dict[str, object]:
        """Every curated table and every warehouse table (rows, volatile columns left out)."""
        curated = {t: sorted(rows, key=repr) for t, rows in curated_tables(self.curated).items()}
        return {"curated": curated, "warehouse": warehouse_tables(warehouse or self.duckdb)}

    def run(self, *args: str, debug: bool = False, env: dict[str, str] | None = None):
        """``plan-etl run`` on this site (text exports), in this process; the click result."""
        from click.testing import CliRunner

        from cli.main import main

        argv = ["--debug"] if debug else []
        argv += ["run", "--raw", str(self.raw), "--curated", str(self.curated), "--prefer", "text", *args]
        return CliRunner().invoke(main, argv, env={"COLUMNS": "400", **(env or {})})


@functools.cache
def baseline() -> Path:
    """raw/ (the bundled documents) and curated/ + warehouse after one clean text run (made
    once per test process)."""
    from pipeline.refresh.run import refresh

    root = Path(tempfile.mkdtemp(prefix="faults-baseline-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(RAW, root / "raw")
    summary = refresh(root / "raw", root / "curated", prefer="text")
    assert not summary.failed and len(summary.documents) == 3
    return root


def copy_site(tmp_path: Path) -> Site:
    """A copy of the baseline under ``tmp_path``."""
    shutil.copytree(baseline() / "raw", tmp_path / "raw")
    shutil.copytree(baseline() / "curated", tmp_path / "curated", symlinks=True)  # links kept as links
    return Site(tmp_path)


def error_lines(result) -> list[str]:
    """The lines that say what went wrong; asserts no traceback was printed anywhere."""
    output = result.output
    assert "Traceback" not in output and "Error:" not in output.replace("error:", ""), output
    return [line for line in output.splitlines() if line.startswith(("error:", "failed:", "interrupted"))]


def assert_new_state(site: Site, warehouse: str | None = None) -> dict[str, object]:
    """The run's tables are in place: the warehouse holds exactly what curated/ holds."""
    state = site.state(warehouse)
    assert state["warehouse"] == state["curated"]
    return state


@contextlib.contextmanager
def pg_database(request):
    """A fresh database on the project's PostgreSQL test server (scripts/pg-test-server.sh);
    the test is skipped, with the reason, when the server cannot start."""
    import psycopg

    from pipeline.load.warehouse import postgres_dsn

    try:
        url = request.getfixturevalue("pg_url")
        name = f"faults_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_dsn(url), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # no server binaries, no permission to install them …
        pytest.skip(f"the PostgreSQL test server cannot start: {exc}")
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(postgres_dsn(url), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
