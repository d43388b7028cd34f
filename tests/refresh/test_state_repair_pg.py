"""The state repairs of test_state_repair.py and test_publish.py on a PostgreSQL warehouse
(scripts/pg-test-server.sh; a fresh database per test, skipped with the reason when the server
cannot start): tables dropped, an older database restored, rows lost under the same run, a
kill after the commit, the run history read back when curated/ is gone. Each time the next run
ends with curated/ equal to a clean run's and the warehouse equal to curated/ (every table)."""

from __future__ import annotations

import functools
import shutil
import uuid

import pyarrow.parquet as pq
import pytest
from conftest import RAW, curated_tables, read_warehouse, warehouse_tables

from pipeline.load import load_all
from pipeline.load.warehouse import postgres_dsn
from pipeline.refresh.run import Steps, refresh


class Killed(BaseException):
    """Stands for the process dying: nothing in plan-etl catches it."""


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn(url.rsplit("/", 1)[0] + "/postgres"), autocommit=True) as con:
        con.execute(sql)


def _sql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn(url), autocommit=True) as con:
        con.execute(sql)


@pytest.fixture
def pg(request):
    """A fresh database on the test server, dropped afterwards."""
    name = f"repair_{uuid.uuid4().hex[:10]}"
    try:
        url = request.getfixturevalue("pg_url")
        _admin(url, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # no server binaries, no permission to install them …
        pytest.skip(f"the PostgreSQL test server cannot start: {exc}")
    database = url.rsplit("/", 1)[0] + "/" + name
    yield database
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(url, f'DROP DATABASE IF EXISTS "{name}_backup" WITH (FORCE)')


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean run of the text samples (DuckDB): the curated tables every repair must give."""
    base = tmp_path_factory.mktemp("clean")
    shutil.copytree(RAW, base / "raw")
    refresh(base / "raw", base / "curated", prefer="text")
    return curated_tables(base / "curated")


@pytest.fixture
def site(tmp_path, pg):
    """raw/ and a first run into curated/ and the database."""
    shutil.copytree(RAW, tmp_path / "raw")
    _run(tmp_path, pg)
    return tmp_path


def _run(base, url, steps: Steps | None = None):
    return refresh(base / "raw", base / "curated", url, prefer="text", steps=steps)


def _equal_to_clean(base, url, clean) -> None:
    curated = curated_tables(base / "curated")
    assert curated == clean
    assert warehouse_tables(url) == {t: sorted(rows, key=repr) for t, rows in curated.items()}
    runs = pq.read_table(base / "curated" / "runs.parquet")["run_id"].to_pylist()
    assert sorted(r["run_id"] for r in read_warehouse(url, "runs")) == sorted(runs)


def test_dropped_tables_are_reloaded_from_curated(site, pg, clean):
    _sql(pg, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    summary = _run(site, pg)
    assert summary.extracted == 0 and summary.warehouse_load == "replace"
    assert any("tables missing" in m and "reloaded from" in m for m in summary.messages)
    _equal_to_clean(site, pg, clean)


def test_an_older_database_restored_is_reloaded(site, pg, clean):
    name = pg.rsplit("/", 1)[1]
    _admin(pg, f'CREATE DATABASE "{name}_backup" TEMPLATE "{name}"')  # the backup holds the first run
    _run(site, pg)
    _admin(pg, f'DROP DATABASE "{name}" WITH (FORCE)')
    _admin(pg, f'CREATE DATABASE "{name}" TEMPLATE "{name}_backup"')
    summary = _run(site, pg)
    assert any("it holds 1 runs, not the 2" in m and "reloaded from" in m for m in summary.messages)
    _equal_to_clean(site, pg, clean)


def test_rows_lost_under_the_same_run_are_reloaded(site, pg, clean):
    _sql(pg, "DELETE FROM indicators WHERE plan_id = 'kama-sme-2'")
    summary = _run(site, pg)
    assert any("indicators has 33 rows, not the 62 of run" in m for m in summary.messages)
    _equal_to_clean(site, pg, clean)


def test_a_run_killed_after_the_commit_is_completed(tmp_path, pg, clean):
    def kill(step: str) -> None:
        if step == "switch":
            raise Killed(step)

    shutil.copytree(RAW, tmp_path / "raw")
    with pytest.raises(Killed):
        _run(tmp_path, pg, Steps(load=functools.partial(load_all, on_publish=kill)))
    summary = _run(tmp_path, pg)
    assert any(m.startswith("completed the publish of run") for m in summary.messages)
    assert summary.extracted == 0
    _equal_to_clean(tmp_path, pg, clean)


def test_run_history_is_read_back_when_curated_is_deleted(site, pg, clean):
    first = pq.read_table(site / "curated" / "runs.parquet")["run_id"].to_pylist()
    shutil.rmtree(site / "curated")
    summary = _run(site, pg)
    assert any("history of 1 runs was read back from postgresql://" in m for m in summary.messages)
    assert pq.read_table(site / "curated" / "runs.parquet")["run_id"].to_pylist() == [*first, summary.run_id]
    _equal_to_clean(site, pg, clean)


@pytest.mark.parametrize("how", ["user part", "query"])
def test_a_password_in_the_url_is_never_stored(tmp_path, pg, how):
    """(The test server trusts loopback: the password is accepted and ignored.)"""
    host, name = pg.split("://", 1)[1].rsplit("/", 1)
    url = (
        f"postgresql://{host.replace('@', ':s3cret@')}/{name}"
        if how == "user part"
        else f"postgresql://{host}/{name}?password=s3cret"
    )
    shutil.copytree(RAW, tmp_path / "raw")
    _run(tmp_path, url)
    _sql(pg, "DROP TABLE indicators")  # a repair: its message names the warehouse
    summary = _run(tmp_path, url)
    assert any("tables missing: indicators" in m for m in summary.messages)
    stored = {r["warehouse"] for r in pq.read_table(tmp_path / "curated" / "runs.parquet").to_pylist()}
    stored |= {r["warehouse"] for r in read_warehouse(pg, "runs")}
    assert len(stored) == 1 and "***" in stored.pop()
    assert not any("s3cret" in m for m in summary.messages)
