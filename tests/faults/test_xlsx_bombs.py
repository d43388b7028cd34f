"""xlsx bombs (issue 19 §5): a workbook that declares or unpacks to far more than a plan sheet
holds fails in one line, using little memory, and the run goes on.

The workbooks are built by ``tests/fixtures/make_xlsx_fixtures.py``. How long each takes to
fail (the must-show: the 4.8 KB dimension bomb in under 5 s) is measured by
``bench/faults.py``, not here; here: the message, and the peak memory of the process that read
it (a fresh extraction child, as a run reads it)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from extractors.extract import extract_document
from extractors.limits import IsolatedExtractor

XLSX = FIXTURES / "xlsx"
BOMBS = {
    "dimension_bomb.xlsx": "sheet 'S' declares 1,048,576 rows × 16,384 columns — larger than the 20,000 × 200",
    "row_million.xlsx": "sheet 'S' has a value at A1000000 (row 1,000,000, column 1) — beyond the 20,000 × 200",
    "ratio_bomb.xlsx": "xl/worksheets/sheet1.xml expands 1,001× (15.4 KB → 15.0 MB) — a zip bomb",
}


def _peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


@pytest.mark.parametrize("name", BOMBS)
def test_a_bomb_fails_in_one_line_and_its_reader_stays_under_200_mb(name):
    """The whole extraction process — interpreter, reader libraries, the bomb — peaks under
    200 MB (the bomb took 2.8 GB before the limits; the child peaks at ~48 MB here)."""
    path = XLSX / name
    assert path.stat().st_size < 25_000  # a few KB on disk
    with IsolatedExtractor() as extractor:
        outcome = extractor.extract(path)
        peak = _peak_rss_mb(extractor.pid)
    error = outcome.document["error"]
    assert outcome.document["status"] == "failed" and outcome.document["doc_id"]
    assert error.startswith(f"{name}: ") and BOMBS[name] in error and "\n" not in error
    assert peak < 200, f"{name}: the extraction process peaked at {peak:.0f} MB"


@pytest.mark.parametrize("name", BOMBS)
def test_a_bomb_is_a_failed_document_in_process_too(name):
    out = extract_document(XLSX / name)
    assert out.document["status"] == "failed"
    assert out.document["error"].startswith(f"{name}: ") and BOMBS[name] in out.document["error"]
