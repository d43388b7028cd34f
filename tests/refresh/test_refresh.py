"""The refresh is plain library functions: it runs, skips and reloads without Prefect."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import RAW, ROOT, curated_tables

SCRIPT = """
import sys
from pipeline.refresh.run import refresh
first = refresh(sys.argv[1], sys.argv[2], prefer="text")
second = refresh(sys.argv[1], sys.argv[2], prefer="text")
print(first.extracted, second.extracted, second.skipped_unchanged, first.row_counts["indicators"])
print("prefect" in sys.modules)
"""


def test_refresh_runs_without_prefect(tmp_path):
    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(raw), str(curated)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[0] == "3 0 3 62"  # 62 indicators; the second run extracts nothing
    assert out[1] == "False"  # Prefect was never imported
    tables = curated_tables(curated)
    assert len(tables["initiatives"]) == 169 and len(tables["documents"]) == 3
