"""A site for state tests: the bundled text samples refreshed from their own folder, so that a
copied state names the same (relative) DuckDB warehouse."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import RAW, curated_tables, warehouse_tables

from pipeline.refresh.run import Steps, refresh

WAREHOUSE = "duckdb:///curated/warehouse.duckdb"


def run_site(base: Path, steps: Steps | None = None):
    """A refresh of ``base``/raw into ``base``/curated, run from ``base``; its summary."""
    cwd = os.getcwd()
    os.chdir(base)
    try:
        return refresh("raw", "curated", WAREHOUSE, prefer="text", steps=steps)
    finally:
        os.chdir(cwd)


def clean_site(base: Path) -> Path:
    """A clean run of the text samples: the tables every repaired state must equal."""
    shutil.copytree(RAW, base / "raw")
    run_site(base)
    return base


def site_warehouse(base: Path) -> str:
    return f"duckdb:///{base / 'curated' / 'warehouse.duckdb'}"


def assert_equal_to_clean(base: Path, clean: Path) -> None:
    """Every curated and every warehouse table as the clean run left them."""
    assert curated_tables(base / "curated") == curated_tables(clean / "curated")
    assert warehouse_tables(site_warehouse(base)) == warehouse_tables(site_warehouse(clean))
