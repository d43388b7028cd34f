"""The curated folder: one Parquet file per table, staged in a folder of its own and moved
into place only after the warehouse committed."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from pipeline.state.integrity import file_check, recorded_checks, with_checks


def read_curated(curated_dir: Path, table: str) -> list[dict[str, Any]]:
    """The rows of ``curated/<table>.parquet`` as dicts (empty when the file is absent)."""
    import pyarrow.parquet as pq

    path = curated_dir / f"{table}.parquet"
    if not path.exists():
        return []
    return pq.read_table(path).to_pylist()


def stage_curated(curated_dir: Path, tables: dict) -> Path:
    """Write every table (Arrow) to a new ``.staging-*`` folder under ``curated_dir``, and
    ``runs`` last, its last row recording what the run leaves (rows, size and CRC-32 of every
    other table's file: those written here, and those of ``curated_dir`` it keeps)."""
    import pyarrow.parquet as pq

    curated_dir.mkdir(parents=True, exist_ok=True)
    staging = curated_dir / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    written = {}
    for name, table in tables.items():
        if name != "runs":
            pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
            written[name] = file_check(staging / f"{name}.parquet", table.num_rows)
    runs = tables.get("runs")
    if runs is None and (curated_dir / "runs.parquet").exists():  # the run's record gets these tables
        runs = pq.read_table(curated_dir / "runs.parquet")
    if runs is not None:
        runs = with_checks(runs, {**kept_checks(curated_dir, runs, set(written)), **written})
        pq.write_table(runs, staging / "runs.parquet", compression="zstd")
    return staging


def kept_checks(curated_dir: Path, runs: Any, written: set[str]) -> dict[str, dict[str, Any]]:
    """The checks of the tables a load does not write (they stay as they are in ``curated_dir``):
    as the run before recorded them (checked at the start of this run), else computed."""
    from schemas import TABLES

    rows = runs.slice(max(runs.num_rows - 2, 0)).to_pylist()  # the run before tonight's, and tonight's
    recorded = {**recorded_checks(rows[0] if len(rows) == 2 else None), **recorded_checks(rows[-1])}
    kept = {}
    for name in TABLES:
        path = curated_dir / f"{name}.parquet"
        if name in written or name == "runs" or not path.exists():
            continue
        kept[name] = recorded.get(name) or file_check(path)
    return kept


def publish_curated(staging: Path, curated_dir: Path) -> None:
    """Move the staged files into ``curated_dir`` and remove the staging folder."""
    for f in sorted(staging.glob("*.parquet")):
        os.replace(f, curated_dir / f.name)
    shutil.rmtree(staging, ignore_errors=True)
