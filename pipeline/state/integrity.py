"""What a run left behind, recorded so that the next run can check it (状態の整合性, state
integrity): for every table, its row count, the size of its Parquet file and a CRC-32 of the
file's bytes, kept as JSON in the run's ``runs.table_checksums``.

The check at the start of a run compares ``curated/`` with that record (a file stat and a
CRC-32 per table: ~6 GB/s) and the warehouse with its row counts; whatever disagrees is said in
one line and repaired (:mod:`pipeline.refresh.run`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CHECKS_COLUMN = "table_checksums"  # runs column: {table: {rows, bytes, crc32}} as JSON
CHUNK = 8 << 20


def file_check(path: Path, rows: int | None = None) -> dict[str, Any]:
    """``{rows, bytes, crc32}`` of a Parquet file (rows from its footer unless given)."""
    crc, size = 0, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
    if rows is None:
        import pyarrow.parquet as pq

        rows = pq.read_metadata(path).num_rows
    return {"rows": rows, "bytes": size, "crc32": f"{crc:08x}"}


def recorded_checks(run: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The checks a ``runs`` row recorded ({} for a run of an older version, or none)."""
    text = (run or {}).get(CHECKS_COLUMN)
    if not text:
        return {}
    try:
        checks = json.loads(text)
    except ValueError:
        return {}
    return checks if isinstance(checks, dict) else {}


def recorded_rows(run: Mapping[str, Any] | None) -> dict[str, int]:
    """Row count per table, as a ``runs`` row recorded them."""
    return {name: check["rows"] for name, check in recorded_checks(run).items() if "rows" in check}


def with_checks(runs: Any, checks: Mapping[str, Mapping[str, Any]]) -> Any:
    """``runs`` (Arrow) with its last row's checks set to ``checks`` (tables sorted by name)."""
    import pyarrow as pa

    if not runs.num_rows or CHECKS_COLUMN not in runs.column_names:
        return runs
    values = runs[CHECKS_COLUMN].to_pylist()
    values[-1] = json.dumps(dict(sorted(checks.items())), sort_keys=True, separators=(",", ":"))
    index = runs.schema.get_field_index(CHECKS_COLUMN)
    return runs.set_column(index, runs.schema.field(index), pa.array(values, pa.string()))


def check_file(path: Path, rows: int, want: Mapping[str, Any], run_id: str) -> str | None:
    """How ``path`` (of ``rows`` rows, by its footer) differs from what run ``run_id`` recorded
    of it (None when it matches)."""
    if rows != want.get("rows"):
        return f"{path} has {rows} rows, not the {want.get('rows')} run {run_id} wrote"
    size = path.stat().st_size
    if size != want.get("bytes"):
        return f"{path} is {size} bytes, not the {want.get('bytes')} run {run_id} wrote"
    if file_check(path, rows=-1)["crc32"] != want.get("crc32"):
        return f"{path} does not match the checksum run {run_id} recorded"
    return None


def recorded_warehouse(run: Mapping[str, Any] | None) -> dict[str, str]:
    """The warehouse tables' checksums a ``runs`` row recorded (where the warehouse has them)."""
    return {name: c["warehouse"] for name, c in recorded_checks(run).items() if "warehouse" in c}


def checksum_problem(found: Mapping[str, str], want: Mapping[str, str], run_id: str) -> str | None:
    """The first warehouse table whose rows are not those run ``run_id`` loaded (None: all agree)."""
    for name, value in sorted(want.items()):
        if name in found and found[name] != value:
            return f"{name} does not hold the rows run {run_id} loaded (checksum)"
    return None


def count_problem(found: Mapping[str, int], want: Mapping[str, int], run_id: str) -> str | None:
    """The first table whose row count is not what run ``run_id`` recorded (None: all agree)."""
    for name, rows in sorted(want.items()):
        if name in found and found[name] != rows:
            return f"{name} has {found[name]} rows, not the {rows} of run {run_id}"
    return None
