"""Reading the results back: SQL over the warehouse the last run loaded (問い合わせ) and any
curated table exported as CSV or Excel (書き出し) for staff who work in spreadsheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pipeline.load.warehouse import WarehouseError, duckdb_path, open_warehouse, postgres_dsn
from pipeline.report.tabular import cell_text, to_csv

EXCEL_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header


class QueryError(WarehouseError):
    """A query or an export that cannot be done, in one line (bad SQL, no such table …)."""


def run_sql(url: str, sql: str) -> list[dict[str, Any]]:
    """The rows of ``sql`` run read-only on the warehouse at ``url`` (DuckDB or PostgreSQL)."""
    open_warehouse(url)  # the URL's form is checked first (WarehouseError names the accepted ones)
    if url.startswith("duckdb:"):
        return _duckdb_rows(url, sql)
    return _postgres_rows(url, sql)


def _duckdb_rows(url: str, sql: str) -> list[dict[str, Any]]:
    import duckdb

    path = duckdb_path(url)
    if not path.exists():
        raise QueryError(f"no warehouse at {path}: run `plan-etl run` first (or give --warehouse)")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise QueryError(f"{path} cannot be opened: {_first_line(exc)}") from exc
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except duckdb.Error as exc:
        raise QueryError(f"the query failed: {_first_line(exc)}") from exc
    finally:
        con.close()


def _postgres_rows(url: str, sql: str) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    try:
        with psycopg.connect(postgres_dsn(url), row_factory=dict_row, connect_timeout=3) as con:
            con.read_only = True
            cur = con.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    except psycopg.OperationalError as exc:
        raise QueryError(f"cannot reach the warehouse: {_first_line(exc)}") from exc
    except psycopg.Error as exc:
        raise QueryError(f"the query failed: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def export_table(curated_dir: Path, table: str, output: Path) -> int:
    """Write ``curated/<table>.parquet`` to ``output`` (``.csv``: UTF-8 with a BOM, so Excel
    reads the Japanese; ``.xlsx``: one sheet) with every column; the number of rows."""
    from pipeline.load.curated import read_curated
    from schemas import TABLES

    if table not in TABLES:
        raise QueryError(f"no table {table!r} (tables: {', '.join(TABLES)})")
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise QueryError(f"{output}: export writes .csv or .xlsx files")
    if not (curated_dir / f"{table}.parquet").exists():
        raise QueryError(f"no {table}.parquet in {curated_dir}: run `plan-etl run` first (or give --curated)")
    columns = TABLES[table].column_names
    rows = [{c: r.get(c) for c in columns} for r in read_curated(curated_dir, table)]
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        text = to_csv({table: rows}) if rows else ",".join(columns) + "\n"
        output.write_text(text, encoding="utf-8-sig")
    else:
        _write_xlsx(output, table, columns, rows)
    return len(rows)


def _write_xlsx(output: Path, table: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    from openpyxl import Workbook

    if len(rows) > EXCEL_MAX_ROWS:
        raise QueryError(f"{table} has {len(rows):,} rows, more than a worksheet holds: export it as .csv")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table[:31])
    ws.append(columns)
    for r in rows:
        ws.append([_excel_value(r[c]) for c in columns])
    wb.save(output)


def _excel_value(value: Any) -> Any:
    """Numbers, text and dates as Excel cells: lists joined with ``; ``, times in UTC without
    a time zone (Excel has none), anything else as its text."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if value is None or isinstance(value, bool | int | float | str | dt.date):
        return value
    return cell_text(value)
