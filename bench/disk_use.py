"""Disk use of ``curated/`` across nights (issue 17 §4): what the generation kept for readers
costs beside the current one.

    .venv/bin/python bench/disk_use.py

Runs the bundled text samples (tests/fixtures/samples) in a temporary folder, in this process
(no Prefect): a first run, a no-op night, one document changed, every plan recomputed. After
each it prints the current generation's bytes, the bytes only the previous generation holds
(files not hard-linked into the current one), their ratio, and the DuckDB warehouse's size.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.settings import configure_environment  # noqa: E402

configure_environment()

import pipeline.refresh.run as run  # noqa: E402
from pipeline.load.curated import GENERATIONS, current_generation  # noqa: E402


def _sizes(curated: Path) -> tuple[int, int, int]:
    """(current generation's bytes, bytes only the older generations hold, generations kept)."""
    current = curated / GENERATIONS / (current_generation(curated) or "")
    inodes = {f.stat().st_ino for f in current.iterdir()}
    older = [g for g in (curated / GENERATIONS).iterdir() if g.name != current.name]
    own = sum(f.stat().st_size for g in older for f in g.iterdir() if f.stat().st_ino not in inodes)
    return sum(f.stat().st_size for f in current.iterdir()), own, len(older)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        shutil.copytree(ROOT / "tests" / "fixtures" / "samples", "raw")
        sheets = Path("raw/kama/progress_sheets.txt")
        steps = [
            ("first run", lambda: None),
            ("no-op night", lambda: None),
            ("one document changed", lambda: sheets.write_text(sheets.read_text("utf-8") + "\n", "utf-8")),
            ("every plan recomputed", lambda: setattr(run, "derivation_version", lambda: "bench")),
        ]
        for label, change in steps:
            change()
            run.refresh("raw", "curated", prefer="text")
            current, older, kept = _sizes(Path("curated"))
            warehouse = Path("curated/warehouse.duckdb").stat().st_size
            print(
                f"{label:22} current {current:>9,} B · previous only {older:>9,} B ({kept} kept) · "
                f"ratio {older / current:.2f} · warehouse.duckdb {warehouse:>11,} B"
            )


if __name__ == "__main__":
    main()
