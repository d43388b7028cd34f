"""Load stage: curated Parquet files and the warehouse, each written all-or-nothing.

Order of a load: build every Arrow table → write them to a staging folder → change all
warehouse tables in one transaction → move the staged Parquet files into ``curated/``.
A failure before the commit leaves both the warehouse and ``curated/`` as they were.

A nightly refresh that recomputed only a few plans passes a :class:`Delta`: when the
warehouse still holds exactly the last run (its ``runs`` agree), each plan table only loses
the rows of the recomputed plans and gets their fresh rows; small tables are replaced. Any
doubt (another run id, missing tables, other columns) falls back to replacing every table.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pipeline.state.previous import PLAN_TABLES, canonical_order, fresh_rows
from schemas import TABLES


class WarehouseError(Exception):
    """The warehouse URL is unusable or the load failed (nothing was changed)."""


@dataclass(frozen=True)
class Delta:
    """What a run changed relative to the run the warehouse should hold.

    ``base_run`` and ``base_runs`` (the last run id and the number of runs before tonight)
    identify that state; ``keep`` are the plans whose rows are unchanged since.
    """

    base_run: str
    base_runs: int
    keep: frozenset[str]


def build_tables(records: dict[str, list[dict[str, Any]]]):
    """Records per table → Arrow tables with exactly the schema of ``schemas/tables.yaml``."""
    return {name: TABLES[name].to_arrow(records.get(name, [])) for name in TABLES}


def read_curated(curated_dir: Path, table: str) -> list[dict[str, Any]]:
    """The rows of ``curated/<table>.parquet`` as dicts (empty when the file is absent)."""
    import pyarrow.parquet as pq

    path = curated_dir / f"{table}.parquet"
    if not path.exists():
        return []
    return pq.read_table(path).to_pylist()


def stage_curated(curated_dir: Path, tables: dict) -> Path:
    import pyarrow.parquet as pq

    curated_dir.mkdir(parents=True, exist_ok=True)
    staging = curated_dir / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    for name, table in tables.items():
        pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
    return staging


def publish_curated(staging: Path, curated_dir: Path) -> None:
    for f in sorted(staging.glob("*.parquet")):
        os.replace(f, curated_dir / f.name)
    shutil.rmtree(staging, ignore_errors=True)


def duckdb_path(url: str, base: Path | None = None) -> Path:
    """``duckdb:///curated/warehouse.duckdb`` → relative path; ``duckdb:////abs/w.duckdb`` → absolute."""
    parsed = urlparse(url)
    if parsed.scheme != "duckdb":
        raise WarehouseError(f"not a DuckDB URL: {url!r}")
    raw = url[len("duckdb:///") :] if url.startswith("duckdb:///") else parsed.path.lstrip("/")
    if not raw:
        raise WarehouseError(f"DuckDB URL without a path: {url!r} (expected duckdb:///path/to/file.duckdb)")
    path = Path(raw)
    return path if path.is_absolute() or base is None else base / path


def load_warehouse(
    url: str, tables: dict, delta: Delta | None = None, ready: Callable[[], Any] | None = None
) -> str:
    """Change the warehouse's tables to ``tables`` in one transaction: by ``delta`` when it
    applies, else by replacing every table. ``ready`` is called before COMMIT (what else
    must succeed first; if it raises, nothing changes). Returns ``"delta"`` or ``"replace"``."""
    scheme = urlparse(url).scheme
    ready = ready or (lambda: None)
    if scheme == "duckdb":
        return _load_duckdb(duckdb_path(url), tables, delta, ready)
    elif scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        return _load_postgres(postgres_dsn(url), tables, delta, ready)
    else:
        raise WarehouseError(
            f"unsupported warehouse URL {url!r}: use duckdb:///path.duckdb or postgresql://…"
        )


def postgres_dsn(url: str) -> str:
    """SQLAlchemy-style ``postgresql+psycopg://…`` → the libpq URL psycopg takes."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith(("postgresql", "postgres")) else url


def _pause_for_tests(done: int) -> None:
    """Test hook: PLAN_ETL_TEST_PAUSE_IN_LOAD=seconds stops a load half-way (after the first
    table), so that a test can kill the process there and check nothing was half-loaded."""
    pause = os.environ.get("PLAN_ETL_TEST_PAUSE_IN_LOAD")
    if pause and done == 1:
        import sys
        import time

        print("PLAN_ETL_PAUSED_IN_LOAD", file=sys.stderr, flush=True)
        time.sleep(float(pause))


def _load_postgres(dsn: str, tables: dict, delta: Delta | None, ready: Callable[[], Any]) -> str:
    """Change every table in one transaction (PostgreSQL DDL is transactional): readers see
    the old tables until COMMIT, and a failure or a killed process leaves them untouched."""
    import psycopg

    try:
        con = psycopg.connect(dsn, connect_timeout=10)
    except psycopg.Error as exc:
        raise WarehouseError(f"cannot connect to the PostgreSQL warehouse: {exc}") from exc
    try:
        with con.transaction():
            how = "delta" if delta and _in_sync(con, delta, "public", "%s") else "replace"
            for done, (name, table) in enumerate(tables.items(), 1):
                schema = TABLES[name]
                if how == "delta" and name in PLAN_TABLES:
                    con.execute(
                        f'DELETE FROM "{name}" WHERE plan_id IS NULL OR NOT (plan_id = ANY(%s))',
                        [sorted(delta.keep)],
                    )
                    table = fresh_rows(table, delta.keep)
                else:
                    con.execute(f'DROP TABLE IF EXISTS "{name}"')
                    con.execute(schema.ddl("postgresql"))
                cols = ", ".join(f'"{c}"' for c in schema.column_names)
                with con.cursor().copy(f'COPY "{name}" ({cols}) FROM STDIN') as copy:
                    for batch in table.select(schema.column_names).to_batches(max_chunksize=50_000):
                        for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                            copy.write_row(row)
                _pause_for_tests(done)
            ready()
        return how
    except (psycopg.Error, OSError) as exc:  # OSError: the Parquet staging (ready) failed
        raise WarehouseError(f"loading the PostgreSQL warehouse failed, nothing was changed: {exc}") from exc
    finally:
        con.close()


def _in_sync(con, delta: Delta, schema_name: str, mark: str) -> bool:
    """The warehouse holds the run the delta starts from, with today's columns (``mark``:
    the driver's parameter placeholder)."""
    found: dict[str, list[str]] = {}
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
        f"'{schema_name}' ORDER BY table_name, ordinal_position"
    ).fetchall()
    for table, column in rows:
        found.setdefault(table, []).append(column)
    if any(found.get(name) != TABLES[name].column_names for name in TABLES):
        return False
    runs, last = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE run_id = {mark}) FROM runs", [delta.base_run]
    ).fetchall()[0]
    return runs == delta.base_runs and last == 1


def read_warehouse(url: str, table: str) -> list[dict[str, Any]]:
    """All rows of a warehouse table (for tests, checks and comparisons)."""
    scheme = urlparse(url).scheme
    if scheme == "duckdb":
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


def _load_duckdb(path: Path, tables: dict, delta: Delta | None, ready: Callable[[], Any]) -> str:
    import duckdb
    import pyarrow as pa

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("BEGIN TRANSACTION")
        how = "delta" if delta and _in_sync(con, delta, "main", "?") else "replace"
        if how == "delta":
            con.register("plan_etl_keep", pa.table({"plan_id": pa.array(sorted(delta.keep), pa.string())}))
        for done, (name, table) in enumerate(tables.items(), 1):
            schema = TABLES[name]
            if how == "delta" and name in PLAN_TABLES:
                con.execute(
                    f'DELETE FROM "{name}" WHERE plan_id IS NULL '
                    "OR plan_id NOT IN (SELECT plan_id FROM plan_etl_keep)"
                ).fetchall()
                table = fresh_rows(table, delta.keep)
            else:
                con.execute(f'DROP TABLE IF EXISTS "{name}"')
                con.execute(schema.ddl("duckdb"))
            con.register("plan_etl_stage", table)
            cols = ", ".join(f'"{c}"' for c in schema.column_names)
            con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM plan_etl_stage').fetchall()
            con.unregister("plan_etl_stage")
            _pause_for_tests(done)
        ready()
        con.execute("COMMIT")
        return how
    except Exception as exc:
        con.execute("ROLLBACK")
        raise WarehouseError(f"loading {path} failed, nothing was changed: {exc}") from exc
    finally:
        con.close()


def _write(curated_dir: Path, warehouse_url: str, tables: dict, delta: Delta | None = None) -> str:
    """Stage Parquet (in a thread: Arrow writes without the GIL) while the warehouse tables
    change in one transaction, then publish the Parquet files."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="plan-etl-stage") as pool:
        staged = pool.submit(stage_curated, curated_dir, tables)
        try:  # the warehouse commits only once the Parquet files are staged (ready=)
            how = load_warehouse(warehouse_url, tables, delta, ready=staged.result)
        except Exception:
            if staged.exception() is None:
                shutil.rmtree(staged.result(), ignore_errors=True)
            raise
        staging = staged.result()
    publish_curated(staging, curated_dir)
    return how


def replace_tables(curated_dir: Path, warehouse_url: str, records: dict[str, list[dict[str, Any]]]) -> None:
    """Replace only the given tables (e.g. validation_results after `plan-etl validate`)."""
    _write(
        curated_dir,
        warehouse_url,
        {name: canonical_order(name, TABLES[name].to_arrow(rows)) for name, rows in records.items()},
    )


def load_all(
    curated_dir: Path, warehouse_url: str, tables: dict[str, Any], delta: Delta | None = None
) -> tuple[dict[str, int], str]:
    """Write every table (Arrow, as :func:`build_tables` or :func:`pipeline.state.previous.merge`
    give them) to ``curated/`` and the warehouse (by ``delta`` when the warehouse holds the
    run it starts from). Returns (row counts per table, ``"delta"`` or ``"replace"``)."""
    how = _write(curated_dir, warehouse_url, tables, delta)
    return {name: t.num_rows for name, t in tables.items()}, how
