"""Table schemas: the one definition (``tables.yaml``) behind Parquet, DDL and checks.

>>> from schemas import TABLES
>>> TABLES["indicators"].column_names[:3]
['indicator_id', 'plan_id', 'policy_code']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
TYPES = ("text", "int", "float", "bool", "date", "timestamp", "text[]")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    added: bool = False


@dataclass(frozen=True)
class TableSchema:
    """One table: its columns (in order), its key and its Arrow / SQL forms."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self):
        import pyarrow as pa

        mapping = {
            "text": pa.string(),
            "int": pa.int64(),
            "float": pa.float64(),
            "bool": pa.bool_(),
            "date": pa.date32(),
            "timestamp": pa.timestamp("us", tz="UTC"),
            "text[]": pa.list_(pa.string()),
        }
        return pa.schema([pa.field(c.name, mapping[c.type], nullable=c.nullable) for c in self.columns])

    def ddl(self, dialect: str = "duckdb", table_name: str | None = None) -> str:
        """``CREATE TABLE`` for DuckDB or PostgreSQL."""
        sql_types = {
            "text": "TEXT",
            "int": "BIGINT",
            "float": "DOUBLE PRECISION" if dialect == "postgresql" else "DOUBLE",
            "bool": "BOOLEAN",
            "date": "DATE",
            "timestamp": "TIMESTAMPTZ",
            "text[]": "TEXT[]",
        }
        cols = ",\n  ".join(
            f'"{c.name}" {sql_types[c.type]}{"" if c.nullable else " NOT NULL"}' for c in self.columns
        )
        return f'CREATE TABLE "{table_name or self.name}" (\n  {cols}\n)'

    def to_arrow(self, records: list[dict[str, Any]]):
        """Build an Arrow table with exactly this schema (missing keys → null, NaN → null).

        Records whose values already have the column types convert in Arrow's C code; any
        other value (a number in a text column, an ISO date string …) takes the coercing path.
        """
        import pyarrow as pa

        schema = self.arrow_schema()
        try:
            table = pa.Table.from_pylist(records, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            arrays = {c.name: [_coerce(r.get(c.name), c.type) for r in records] for c in self.columns}
            return pa.Table.from_pydict(arrays, schema=schema)
        return _nan_to_null(table, [c.name for c in self.columns if c.type == "float"])


def _nan_to_null(table, columns: list[str]):
    import pyarrow.compute as pc

    for name in columns:
        col = table[name]
        if col.null_count < len(col) and pc.any(pc.is_nan(col)).as_py():
            table = table.set_column(
                table.schema.get_field_index(name),
                table.schema.field(name),
                pc.if_else(pc.is_nan(col), None, col),
            )
    return table


def _coerce(value: Any, type_: str) -> Any:
    if value is None:
        return None
    try:
        import math

        if isinstance(value, float) and math.isnan(value):
            return None
    except TypeError:  # pragma: no cover
        pass
    if type_ == "text":
        return str(value)
    if type_ == "int":
        return int(value)
    if type_ == "float":
        return float(value)
    if type_ == "bool":
        return bool(value)
    if type_ == "date":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    if type_ == "timestamp":
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return dt.datetime.fromisoformat(str(value))
    if type_ == "text[]":
        return [str(v) for v in value]
    raise ValueError(f"unknown column type {type_!r}")


@cache
def load_tables() -> dict[str, TableSchema]:
    spec = yaml.safe_load((HERE / "tables.yaml").read_text(encoding="utf-8"))
    tables: dict[str, TableSchema] = {}
    for name, t in spec["tables"].items():
        cols = dict(t["columns"])
        if t.get("lineage", True):
            for lname, lspec in spec["lineage"].items():
                cols.setdefault(lname, lspec)
        columns = []
        for cname, c in cols.items():
            if c["type"] not in TYPES:
                raise ValueError(f"tables.yaml: {name}.{cname}: unknown type {c['type']!r}")
            columns.append(
                Column(
                    cname, c["type"], c.get("nullable", True), c.get("description", ""), c.get("added", False)
                )
            )
        tables[name] = TableSchema(name, tuple(columns), tuple(t.get("key", ())), t.get("description", ""))
    return tables


TABLES = load_tables()
#: Tables extracted from documents (they carry source_doc_id and are replaced per document).
DOCUMENT_TABLES = (
    "policies",
    "measures",
    "initiatives",
    "schedule_items",
    "indicators",
    "indicator_values",
    "grading_rules",
    "sheets",
    "indicator_occurrences",
    "kpi_references",
    "unparsed_cells",
    "declared_counts",
)
