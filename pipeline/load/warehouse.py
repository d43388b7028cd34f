"""Warehouses behind one small interface: DuckDB (embedded, the default) and PostgreSQL.

An adapter opens a transaction, says whether the warehouse still holds a given run
(:meth:`Warehouse.in_sync`), deletes the rows of the plans a run recomputed, replaces a
table (DDL from ``schemas/tables.yaml``) and copies Arrow rows in. The load loop that uses
them is written once (:func:`pipeline.load.load_tables`).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pipeline.state.integrity import CHECKS_COLUMN, checksum_problem, count_problem
from schemas import TABLES


class WarehouseError(Exception):
    """The warehouse URL is unusable or the load failed (nothing was changed)."""


@dataclass(frozen=True)
class Delta:
    """What a run changed relative to the run the warehouse should hold.

    ``base_run`` and ``base_runs`` (the last run id and the number of runs before tonight)
    identify that state; ``keep`` are the plans whose rows are unchanged since; ``rows`` the
    row count per table that run recorded and ``checksums`` the content checksum of the
    warehouse's tables (checked when given and the warehouse has a cheap one).
    """

    base_run: str
    base_runs: int
    keep: frozenset[str]
    rows: Mapping[str, int] = field(default_factory=dict)
    checksums: Mapping[str, str] = field(default_factory=dict)  # of the warehouse's tables, where cheap


class Warehouse:
    """The interface of a warehouse adapter (one connection, used inside :meth:`transaction`)."""

    url: str

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """All changes inside commit together at the end, or none (WarehouseError)."""
        raise NotImplementedError

    def columns(self) -> dict[str, list[str]]:
        """The warehouse's tables and their columns, in order."""
        raise NotImplementedError

    def run_counts(self, run_id: str) -> tuple[int, int]:
        """(rows of ``runs``, rows of ``runs`` with ``run_id``)."""
        raise NotImplementedError

    def row_counts(self, names: list[str]) -> dict[str, int]:
        """Rows of each of the tables ``names`` (which exist), in one query."""
        if not names:
            return {}
        sql = " UNION ALL ".join(f"SELECT '{name}', count(*) FROM \"{name}\"" for name in names)
        return dict(self.con.execute(sql).fetchall())

    def delete_plans(self, name: str, keep: frozenset[str]) -> None:
        """Delete the rows of ``name`` of every plan not in ``keep`` (and rows of no plan)."""
        raise NotImplementedError

    def replace_table(self, name: str) -> None:
        """Drop ``name`` and create it empty, as ``schemas/tables.yaml`` defines it."""
        raise NotImplementedError

    def insert(self, name: str, table: Any) -> None:
        """Append the rows of an Arrow table with the table's schema."""
        raise NotImplementedError

    def check(self) -> None:
        """Can this warehouse be loaded? Raises WarehouseError in one line (before any work)."""
        raise NotImplementedError

    def in_sync(self, delta: Delta) -> bool:
        """The warehouse holds the run ``delta`` starts from, with today's columns."""
        return self.sync_problem(delta) is None

    def schema_problem(self) -> str | None:
        """Tables missing or with other columns than today's (a warehouse an older version of
        plan-etl loaded); None when every table is today's. Inside :meth:`transaction`."""
        found = self.columns()
        missing = [name for name in TABLES if name not in found]
        if missing:
            return f"tables missing: {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}"
        other = [name for name in TABLES if found[name] != TABLES[name].column_names]
        if other:
            return f"other columns than today's in {', '.join(other[:3])}"
        return None

    def sync_problem(self, delta: Delta) -> str | None:
        """Why the warehouse does not hold the run ``delta`` starts from (None when it does)."""
        problem = self.schema_problem()
        if problem:
            return problem
        runs, last = self.run_counts(delta.base_run)
        if runs != delta.base_runs or last != 1:
            return f"it holds {runs} runs, not the {delta.base_runs} ending with {delta.base_run}"
        found = self.row_counts([name for name in TABLES if name in delta.rows])
        problem = count_problem(found, delta.rows, delta.base_run)
        if problem is None and delta.checksums:
            problem = checksum_problem(self.content_checksums() or {}, delta.checksums, delta.base_run)
        return problem

    def content_checksums(self, only: Collection[str] | None = None) -> dict[str, str] | None:
        """A checksum of the rows of every table but ``runs`` (or of those in ``only``), in any
        order, when the warehouse computes one cheaply; None when it does not (PostgreSQL: row
        counts only)."""
        return None

    def history(self) -> list[dict[str, Any]]:
        """The rows of the warehouse's ``runs`` table, oldest first ([] when it has none): the
        run history, read back when ``curated/runs.parquet`` is gone."""
        with self.transaction():
            found = self.columns().get("runs")
            if not found:
                return []
            columns = [c for c in TABLES["runs"].column_names if c in found]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = self.con.execute(
                f"SELECT {listed} FROM runs ORDER BY started_at NULLS FIRST, run_id"
            ).fetchall()
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def holds_generation(self, marker: Mapping[str, Any]) -> bool:
        """Did the load of a staged generation commit? (its ``runs`` count, and its last run
        with the same checksums: ``marker`` of :mod:`pipeline.load.curated`)."""
        with self.transaction():
            if CHECKS_COLUMN not in self.columns().get("runs", []):
                return False
            runs, _ = self.run_counts(str(marker.get("run_id")))
            found = self.run_checksums(str(marker.get("run_id")))
        return runs == marker.get("runs") and found == [marker.get(CHECKS_COLUMN)]

    def run_checksums(self, run_id: str) -> list[str | None]:
        """``runs.table_checksums`` of the rows of ``run_id``."""
        raise NotImplementedError

    def state_problem(self, delta: Delta) -> str | None:
        """:meth:`sync_problem`, in a transaction of its own (before a run loads anything)."""
        with self.transaction():
            return self.sync_problem(delta)


def _quoted_columns(name: str) -> str:
    return ", ".join(f'"{c}"' for c in TABLES[name].column_names)


LOCK_ATTEMPTS = 6  # a DuckDB file held by another process: tried this often …
LOCK_WAIT = 0.5  # … this many seconds apart (3 s in all), then a one-line error


class DuckDBWarehouse(Warehouse):
    """An embedded DuckDB file (``duckdb:///relative.duckdb`` or ``duckdb:////abs.duckdb``)."""

    def __init__(self, url: str) -> None:
        self.url, self.path = url, duckdb_path(url)

    def history(self) -> list[dict[str, Any]]:
        return super().history() if self.path.exists() else []  # (not created just to look)

    def content_checksums(self, only: Collection[str] | None = None) -> dict[str, str] | None:
        """XOR of DuckDB's hash of every row (0.07 s for the 1.56 M rows of 1,788 plans)."""
        found = self.columns()
        names = [n for n in TABLES if n in found and n != "runs" and (only is None or n in only)]
        if not names:
            return {}
        sql = " UNION ALL ".join(
            f'SELECT \'{name}\', coalesce(bit_xor(hash("{name}")), 0) FROM "{name}"' for name in names
        )
        return {name: f"{value:016x}" for name, value in self.con.execute(sql).fetchall()}

    def check(self) -> None:
        import duckdb

        folder = next((p for p in [self.path.parent, *self.path.parent.parents] if p.exists()), Path("."))
        if not os.access(folder, os.W_OK):
            raise WarehouseError(f"{self.path}: cannot create the warehouse there ({folder} is not writable)")
        if self.path.exists():
            try:
                self.connect().close()
            except duckdb.Error as exc:
                raise WarehouseError(f"{self.path} cannot be opened: {str(exc).splitlines()[0]}") from exc

    def connect(self, attempts: int = LOCK_ATTEMPTS) -> Any:
        """A connection; a file held by another process is retried a few times, then a
        WarehouseError that names the process."""
        import duckdb

        for attempt in range(attempts):
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                holder = re.search(r"PID (\d+)", str(exc))
                if "lock" not in str(exc).lower():
                    raise WarehouseError(f"{self.path} cannot be opened: {str(exc).splitlines()[0]}") from exc
                if attempt + 1 == attempts:
                    pid = f" (pid {holder.group(1)})" if holder else ""
                    raise WarehouseError(
                        f"{self.path} is open in another process{pid}; close it or retry"
                    ) from exc
                time.sleep(LOCK_WAIT)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = self.connect()
        try:
            self.con.execute("BEGIN TRANSACTION")
            yield
            self.con.execute("COMMIT")
        except Exception as exc:
            self.con.execute("ROLLBACK")
            raise WarehouseError(f"loading {self.path} failed, nothing was changed: {exc}") from exc
        finally:
            self.con.close()

    def columns(self) -> dict[str, list[str]]:
        return _columns(self.con.execute(_COLUMNS_SQL.format(schema="main")).fetchall())

    def run_counts(self, run_id: str) -> tuple[int, int]:
        sql = "SELECT count(*), count(*) FILTER (WHERE run_id = ?) FROM runs"
        return tuple(self.con.execute(sql, [run_id]).fetchall()[0])

    def run_checksums(self, run_id: str) -> list[str | None]:
        sql = f"SELECT {CHECKS_COLUMN} FROM runs WHERE run_id = ?"
        return [row[0] for row in self.con.execute(sql, [run_id]).fetchall()]

    def delete_plans(self, name: str, keep: frozenset[str]) -> None:
        import pyarrow as pa

        self.con.register("plan_etl_keep", pa.table({"plan_id": pa.array(sorted(keep), pa.string())}))
        self.con.execute(
            f'DELETE FROM "{name}" WHERE plan_id IS NULL OR plan_id NOT IN (SELECT plan_id FROM plan_etl_keep)'
        ).fetchall()
        self.con.unregister("plan_etl_keep")

    def replace_table(self, name: str) -> None:
        self.con.execute(f'DROP TABLE IF EXISTS "{name}"')
        self.con.execute(TABLES[name].ddl("duckdb"))

    def insert(self, name: str, table: Any) -> None:
        cols = _quoted_columns(name)
        self.con.register("plan_etl_stage", table)
        self.con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM plan_etl_stage').fetchall()
        self.con.unregister("plan_etl_stage")


class PostgresWarehouse(Warehouse):
    """A PostgreSQL database (``postgresql://user@host:5432/db``). DDL is transactional, so
    readers see the old tables until COMMIT, and a killed process leaves them untouched."""

    def __init__(self, url: str) -> None:
        self.url, self.dsn = url, postgres_dsn(url)

    def check(self) -> None:
        import psycopg

        try:
            psycopg.connect(self.dsn, connect_timeout=3).close()
        except psycopg.Error as exc:
            raise WarehouseError(
                f"cannot connect to the PostgreSQL warehouse: {str(exc).strip().splitlines()[0]}"
            ) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        import psycopg

        try:
            self.con = psycopg.connect(self.dsn, connect_timeout=10)
        except psycopg.Error as exc:
            raise WarehouseError(f"cannot connect to the PostgreSQL warehouse: {exc}") from exc
        try:
            with self.con.transaction():
                yield
        except (psycopg.Error, OSError) as exc:  # OSError: the Parquet staging failed
            raise WarehouseError(
                f"loading the PostgreSQL warehouse failed, nothing was changed: {exc}"
            ) from exc
        finally:
            self.con.close()

    def columns(self) -> dict[str, list[str]]:
        return _columns(self.con.execute(_COLUMNS_SQL.format(schema="public")).fetchall())

    def run_counts(self, run_id: str) -> tuple[int, int]:
        sql = "SELECT count(*), count(*) FILTER (WHERE run_id = %s) FROM runs"
        return tuple(self.con.execute(sql, [run_id]).fetchall()[0])

    def run_checksums(self, run_id: str) -> list[str | None]:
        sql = f"SELECT {CHECKS_COLUMN} FROM runs WHERE run_id = %s"
        return [row[0] for row in self.con.execute(sql, [run_id]).fetchall()]

    def delete_plans(self, name: str, keep: frozenset[str]) -> None:
        self.con.execute(
            f'DELETE FROM "{name}" WHERE plan_id IS NULL OR NOT (plan_id = ANY(%s))', [sorted(keep)]
        )

    def replace_table(self, name: str) -> None:
        self.con.execute(f'DROP TABLE IF EXISTS "{name}"')
        self.con.execute(TABLES[name].ddl("postgresql"))

    def insert(self, name: str, table: Any) -> None:
        columns = TABLES[name].column_names
        with self.con.cursor().copy(f'COPY "{name}" ({_quoted_columns(name)}) FROM STDIN') as copy:
            for batch in table.select(columns).to_batches(max_chunksize=50_000):
                for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                    copy.write_row(row)


_COLUMNS_SQL = (
    "SELECT table_name, column_name FROM information_schema.columns "
    "WHERE table_schema = '{schema}' ORDER BY table_name, ordinal_position"
)


def _columns(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    return found


def open_warehouse(url: str) -> Warehouse:
    """The adapter for a warehouse URL, or WarehouseError naming the accepted forms."""
    scheme = urlparse(url).scheme
    if scheme == "duckdb":
        return DuckDBWarehouse(url)
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        return PostgresWarehouse(url)
    raise WarehouseError(f"warehouse URL {redact(url)!r} is not one of {URL_FORMS}")


def redact(url: str) -> str:
    """A warehouse URL as it is stored (``runs.warehouse``) and printed: a password, in the
    user part or as a ``password=`` parameter, replaced by ``***`` (give it with PGPASSWORD or
    ~/.pgpass instead)."""
    url = re.sub(r"(://[^/@?#]*?:)[^@/?#]*@", r"\1***@", url)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url, flags=re.IGNORECASE)


URL_FORMS = (
    "duckdb:///relative/path.duckdb, duckdb:////absolute/path.duckdb or postgresql://user@host:5432/db"
)


def duckdb_path(url: str, base: Path | None = None) -> Path:
    """``duckdb:///curated/warehouse.duckdb`` → relative path; ``duckdb:////abs/w.duckdb`` → absolute.
    Anything else (``duckdb://x.duckdb``, two slashes: a host, not a path) is refused."""
    if not url.startswith("duckdb:///"):
        raise WarehouseError(f"warehouse URL {redact(url)!r} is not one of {URL_FORMS}")
    raw = url[len("duckdb:///") :]
    if not raw or raw.endswith("/"):
        raise WarehouseError(f"warehouse URL {redact(url)!r} names no file: use {URL_FORMS}")
    path = Path(raw)
    return path if path.is_absolute() or base is None else base / path


def postgres_dsn(url: str) -> str:
    """SQLAlchemy-style ``postgresql+psycopg://…`` → the libpq URL psycopg takes. A password
    masked by :func:`redact` (a URL read back from ``runs``) is left out: libpq then takes it
    from PGPASSWORD or ~/.pgpass."""
    from urllib.parse import urlsplit, urlunsplit

    scheme, rest = url.split("://", 1)
    if not scheme.startswith(("postgresql", "postgres")):
        return url
    parts = urlsplit(f"postgresql://{rest.replace(':***@', '@', 1)}")
    query = "&".join(p for p in parts.query.split("&") if p and p.lower() != "password=***")
    return urlunsplit(parts._replace(query=query))
