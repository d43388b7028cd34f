"""The curated folder: one Parquet file per table, staged in a folder of its own and moved
into place only after the warehouse committed."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any


def read_curated(curated_dir: Path, table: str) -> list[dict[str, Any]]:
    """The rows of ``curated/<table>.parquet`` as dicts (empty when the file is absent)."""
    import pyarrow.parquet as pq

    path = curated_dir / f"{table}.parquet"
    if not path.exists():
        return []
    return pq.read_table(path).to_pylist()


def stage_curated(curated_dir: Path, tables: dict) -> Path:
    """Write every table (Arrow) to a new ``.staging-*`` folder under ``curated_dir``."""
    import pyarrow.parquet as pq

    curated_dir.mkdir(parents=True, exist_ok=True)
    staging = curated_dir / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    for name, table in tables.items():
        pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
    return staging


def publish_curated(staging: Path, curated_dir: Path) -> None:
    """Move the staged files into ``curated_dir`` and remove the staging folder."""
    for f in sorted(staging.glob("*.parquet")):
        os.replace(f, curated_dir / f.name)
    shutil.rmtree(staging, ignore_errors=True)
