"""Load stage: curated Parquet files and the warehouse, each written all-or-nothing.

Order of a load: build every Arrow table → write them to a new generation of ``curated/``
(in a thread) while the warehouse tables change in one transaction → once both are done,
write the generation's ``runs`` (its last row records the checksums of the files and of the
warehouse's tables: :mod:`pipeline.state.integrity`) and load it → COMMIT → switch
``curated/.current`` to the generation (:mod:`pipeline.load.curated`). A failure before the
commit leaves both the warehouse and ``curated/`` as they were; a process that dies after it
leaves a generation the next run completes (:func:`complete_interrupted_publish`).

A nightly refresh that recomputed only a few plans passes a :class:`Delta`: when the
warehouse still holds exactly the last run (its ``runs``, every table's row count and, in
DuckDB, its rows' checksum agree), each plan table only loses the rows of the recomputed
plans and gets their fresh rows; small tables are replaced. Any doubt (another run id,
missing tables, other columns, other rows) falls back to replacing every table.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.load.curated import OnStep, complete_publish, publish_curated, record_generation, stage_curated
from pipeline.load.warehouse import Delta, Warehouse, WarehouseError, open_warehouse
from pipeline.state.previous import PLAN_TABLES, canonical_order, fresh_rows
from schemas import TABLES

AfterTable = Callable[[str, int], Any]  # (table name, tables done): called inside the transaction

__all__ = [
    "Delta",
    "WarehouseError",
    "complete_interrupted_publish",
    "load_all",
    "load_tables",
    "read_history",
    "replace_tables",
]


def load_tables(
    warehouse: Warehouse,
    tables: dict[str, Any],
    delta: Delta | None = None,
    ready: Callable[[], dict[str, Any] | None] | None = None,
    after_table: AfterTable | None = None,
) -> str:
    """Change the warehouse's tables to ``tables`` in one transaction: by ``delta`` when it
    applies, else by replacing every table. ``ready`` is called before COMMIT (what else
    must succeed first; if it raises, nothing changes) and may return tables to load last
    (``runs`` with its checksums, known once the Parquet files are written). Returns
    ``"delta"`` or ``"replace"``."""
    with warehouse.transaction():
        how = "delta" if delta and warehouse.in_sync(delta) else "replace"
        for done, (name, table) in enumerate(tables.items(), 1):
            if how == "delta" and name in PLAN_TABLES:
                warehouse.delete_plans(name, delta.keep)
                table = fresh_rows(table, delta.keep)
            else:
                warehouse.replace_table(name)
            warehouse.insert(name, table)
            if after_table is not None:
                after_table(name, done)
        for name, table in ((ready() if ready is not None else None) or {}).items():
            warehouse.replace_table(name)  # (only small tables come last: runs)
            warehouse.insert(name, table)
    return how


def _write(
    curated_dir: Path,
    warehouse_url: str,
    tables: dict,
    delta: Delta | None,
    after_table: AfterTable | None,
    on_publish: OnStep | None = None,
) -> str:
    """Stage Parquet (in a thread: Arrow writes without the GIL) while the warehouse tables
    change in one transaction, then publish the Parquet files. ``runs`` is written and loaded
    last: its last row records the checksums of the files and of the warehouse's tables."""
    from concurrent.futures import ThreadPoolExecutor

    warehouse = open_warehouse(warehouse_url)
    first = {name: table for name, table in tables.items() if name != "runs"}
    with ThreadPoolExecutor(1, thread_name_prefix="plan-etl-stage") as pool:
        staged = pool.submit(stage_curated, curated_dir, tables)
        try:  # the warehouse commits only once the Parquet files are staged (ready=)
            how = load_tables(
                warehouse,
                first,
                delta,
                ready=lambda: _record(staged.result(), curated_dir, tables, warehouse),
                after_table=after_table,
            )
        except Exception:
            if staged.exception() is None:
                shutil.rmtree(staged.result(), ignore_errors=True)
            raise
        staging = staged.result()
    publish_curated(staging, curated_dir, on_publish)
    return how


def _record(staging: Path, curated_dir: Path, tables: dict[str, Any], warehouse: Warehouse) -> dict[str, Any]:
    """Once the tables are staged and loaded (before COMMIT): the generation's ``runs``, with
    the checksums of its files and of the warehouse tables this load changed (the others'
    are carried from the last run's record), to be loaded last."""
    loaded = warehouse.content_checksums(only=set(tables) - {"runs"})
    runs = record_generation(staging, curated_dir, tables.get("runs"), loaded)
    return {"runs": runs} if runs is not None else {}


def replace_tables(curated_dir: Path, warehouse_url: str, records: dict[str, list[dict[str, Any]]]) -> None:
    """Replace only the given tables (e.g. validation_results after `plan-etl validate`)."""
    tables = {name: canonical_order(name, TABLES[name].to_arrow(rows)) for name, rows in records.items()}
    _write(curated_dir, warehouse_url, tables, None, None)


def load_all(
    curated_dir: Path,
    warehouse_url: str,
    tables: dict[str, Any],
    delta: Delta | None = None,
    after_table: AfterTable | None = None,
    on_publish: OnStep | None = None,
) -> tuple[dict[str, int], str]:
    """Write every table (Arrow, as :func:`pipeline.state.previous.merge` gives them) to
    ``curated/`` and the warehouse (by ``delta`` when the warehouse holds the run it starts
    from). Returns (row counts per table, ``"delta"`` or ``"replace"``). ``after_table`` and
    ``on_publish`` are called inside the transaction and before each step of the publish."""
    how = _write(curated_dir, warehouse_url, tables, delta, after_table, on_publish)
    return {name: t.num_rows for name, t in tables.items()}, how


def read_history(warehouse_url: str) -> Any | None:
    """The warehouse's ``runs`` table as Arrow (today's schema), or None when it holds none."""
    rows = open_warehouse(warehouse_url).history()
    return TABLES["runs"].to_arrow(rows) if rows else None


def complete_interrupted_publish(curated_dir: Path, warehouse_url: str) -> list[str]:
    """Before a run reads ``curated/``: publish a generation a killed process left staged
    when the warehouse committed it, remove one it did not (one line each, what was done)."""
    warehouse = open_warehouse(warehouse_url)
    return complete_publish(curated_dir, warehouse.holds_generation)
