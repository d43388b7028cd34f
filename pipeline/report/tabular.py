"""Rows as text, for people and for scripts: a cell's text, column selection, CSV and JSON
(表形式の出力). Used by ``plan-etl extract``, ``sql`` and ``export``; no terminal code here."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

Rows = Sequence[Mapping[str, Any]]


class UnknownColumns(ValueError):
    """``--columns`` named a column no table has (the message lists the ones there are)."""


def cell_text(value: Any) -> str:
    """A value as one cell's text: ``None`` → empty, lists joined with ``; ``, dates in ISO
    form, whole floats without ``.0`` (``4755.0`` → ``4755``), everything else ``str``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "; ".join(cell_text(v) for v in value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def json_value(value: Any) -> Any:
    """A value as JSON can hold it (dates as ISO text, Decimals as numbers, bytes as hex)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, default=json_value)


def column_names(rows: Rows) -> list[str]:
    """Every column of ``rows``, in the order first seen (records of one table may differ)."""
    return list(dict.fromkeys(c for r in rows for c in r))


def schema_columns(tables: Mapping[str, Rows]) -> dict[str, list[dict[str, Any]]]:
    """Records as their table will hold them: every column of ``schemas/tables.yaml`` (a value
    the record lacks is null), in the schema's order, then any column the schema lacks."""
    from schemas import TABLES

    out = {}
    for name, rows in tables.items():
        schema = TABLES[name].column_names if name in TABLES else []
        columns = schema + [c for c in column_names(rows) if c not in schema]
        out[name] = [{c: r.get(c) for c in columns} for r in rows]
    return out


def select_columns(
    tables: Mapping[str, Rows], columns: Sequence[str] | None = None, drop: Iterable[str] = ()
) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows with only ``columns`` (in that order; tables with none of them are
    left out), or every column but ``drop``. A name no table has raises UnknownColumns."""
    if columns:
        present = {c for rows in tables.values() for c in column_names(rows)}
        unknown = [c for c in columns if c not in present]
        if unknown:
            raise UnknownColumns(
                f"no column {', '.join(unknown)} in these tables (columns: {', '.join(sorted(present))})"
            )
        out = {}
        for name, rows in tables.items():
            keep = [c for c in columns if c in column_names(rows)]
            if keep:
                out[name] = [{c: r.get(c) for c in keep} for r in rows]
        return out
    dropped = set(drop)
    return {
        name: [{k: v for k, v in r.items() if k not in dropped} for r in rows]
        for name, rows in tables.items()
    }


def to_csv(tables: Mapping[str, Rows]) -> str:
    """CSV of one table (its columns), or of several with a first column ``table`` and the
    union of their columns (a cell a table does not have is empty). Lists are joined with ``; ``."""
    several = len(tables) > 1
    header: list[str] = ["table"] if several else []
    for rows in tables.values():
        header += [c for c in column_names(rows) if c not in header]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for name, rows in tables.items():
        for r in rows:
            row = {"table": name, **r} if several else r
            writer.writerow([cell_text(row.get(c)) for c in header])
    return out.getvalue()
