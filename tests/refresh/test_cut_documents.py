"""A revision of a document that is cut short (a text export truncated on its way: 途中で切れた
文書) never replaces the rows of its previous complete version: they stay, and the document's
row says how many rows were kept and how many the cut version had. The file fixed, its rows are
read again. A cut document without a complete version before keeps its partial rows."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import curated_tables, read_warehouse, warehouse_tables
from refresh_site import clean_site, site_warehouse
from refresh_site import run_site as _run

from pipeline.state.work import cut_short
from schemas import DOCUMENT_TABLES

SHEETS = "kama/progress_sheets.txt"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return clean_site(tmp_path_factory.mktemp("clean"))


def _cut(path, share: float = 0.5) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[: int(len(lines) * share)]) + "\n", encoding="utf-8")


def _document(base, path: str) -> list[dict]:
    import pyarrow.parquet as pq

    rows = pq.read_table(base / "curated" / "documents.parquet").to_pylist()
    return [d for d in rows if d["source_path"] == path]


def _without_documents(base) -> dict:
    return {t: rows for t, rows in curated_tables(base / "curated").items() if t != "documents"}


def test_a_cut_revision_keeps_the_rows_of_the_complete_version(tmp_path, clean):
    shutil.copytree(clean / "raw", tmp_path / "raw")
    shutil.copytree(clean / "curated", tmp_path / "curated", symlinks=True)
    _cut(tmp_path / "raw" / SHEETS)
    summary = _run(tmp_path)
    assert summary.extracted == 1
    cut, complete = _document(tmp_path, SHEETS)  # the cut version, the complete one beside it
    assert cut_short(cut) and complete["status"] == "ok"
    tables = _without_documents(clean)
    kept = sum(
        len([r for r in tables[t] if r["source_doc_id"] == complete["doc_id"]]) for t in DOCUMENT_TABLES
    )
    said = re.search(
        r"the (\d+) rows of the previous complete version \(doc (\w+)\) are kept instead of this "
        r"cut version's (\d+)$",
        cut["error"],
    )
    assert said and (int(said[1]), said[2]) == (kept, complete["doc_id"][:12]) and 0 < int(said[3]) < kept
    assert _without_documents(tmp_path) == _without_documents(clean)  # every row as before the cut
    loaded, before = (warehouse_tables(site_warehouse(b)) for b in (tmp_path, clean))
    assert {t: r for t, r in loaded.items() if t != "documents"} == {
        t: r for t, r in before.items() if t != "documents"
    }
    again = _run(tmp_path)  # the same cut bytes: not read again, the complete rows still stand
    assert again.extracted == 0 and any(f"{SHEETS}: still cut short" in m for m in again.messages)
    assert _without_documents(tmp_path) == _without_documents(clean)
    shutil.copy(clean / "raw" / SHEETS, tmp_path / "raw" / SHEETS)  # fixed: the complete version's bytes
    fixed = _run(tmp_path)
    assert fixed.extracted == 0 and [d["status"] for d in _document(tmp_path, SHEETS)] == ["ok"]
    assert curated_tables(tmp_path / "curated") == curated_tables(clean / "curated")


def test_a_cut_document_seen_for_the_first_time_keeps_its_partial_rows(tmp_path, clean):
    shutil.copytree(clean / "raw", tmp_path / "raw")
    _cut(tmp_path / "raw" / SHEETS)
    _run(tmp_path)
    [cut] = _document(tmp_path, SHEETS)
    assert cut_short(cut) and "previous" not in cut["error"]
    mine = [
        r for r in curated_tables(tmp_path / "curated")["initiatives"] if r["source_doc_id"] == cut["doc_id"]
    ]
    [complete] = _document(clean, SHEETS)
    whole = [
        r
        for r in curated_tables(clean / "curated")["initiatives"]
        if r["source_doc_id"] == complete["doc_id"]
    ]
    loaded = [
        r
        for r in read_warehouse(site_warehouse(tmp_path), "initiatives")
        if r["source_doc_id"] == cut["doc_id"]
    ]
    assert 0 < len(mine) == len(loaded) < len(whole)
