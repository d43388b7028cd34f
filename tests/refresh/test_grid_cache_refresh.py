"""A parser-only change re-runs a refresh of the bundled PDFs without reading any PDF again:
every document is re-extracted (its extractor version changed), every grid comes from the
grid cache, and the curated tables are the same."""

from __future__ import annotations

import shutil

from conftest import RAW, curated_tables

import extractors
import extractors.readers.pdf as pdf_reader
from pipeline.discover.manifest import load_manifest
from pipeline.refresh.batch import cache_folder, plan_batches
from pipeline.refresh.run import refresh
from pipeline.report.terminal import summary_line
from pipeline.state.previous import Previous
from pipeline.state.work import WorkPlan

VERSION_COLUMNS = {"extractor_version", "parser_version", "grid_source"}


def _without_versions(tables):
    tables["documents"] = [
        {k: v for k, v in d.items() if k not in VERSION_COLUMNS} for d in tables["documents"]
    ]
    return tables


def test_a_parser_only_change_reads_no_pdf(tmp_path, monkeypatch):
    raw, curated = tmp_path / "raw", tmp_path / "curated"
    shutil.copytree(RAW, raw)
    first = refresh(raw, curated)  # the manifest's paths: the three PDFs
    assert first.extracted == 3 and first.grids_from_cache == 0
    before = curated_tables(curated)
    assert {d["grid_source"] for d in before["documents"]} == {"read"}
    assert len(list((curated / ".grid-cache").rglob("*.pickle"))) == 3

    def fail(*args, **kw):
        raise AssertionError("a PDF was read again")

    monkeypatch.setattr(extractors, "parser_version", lambda: "0.1.0+newparser000")
    monkeypatch.setattr(pdf_reader, "read_pdf", fail)
    second = refresh(raw, curated)
    assert second.extracted == 3 and second.grids_from_cache == 3 and not second.failed
    assert "3 extracted (3 grids from the cache)" in summary_line(second)
    after = curated_tables(curated)
    assert {d["grid_source"] for d in after["documents"]} == {"cache"}
    assert {d["parser_version"] for d in after["documents"]} == {"0.1.0+newparser000"}
    assert {d["reader_version"] for d in after["documents"]} == {extractors.reader_version()}
    assert all(d["extractor_version"].endswith(".newparser000") for d in after["documents"])
    assert _without_versions(after) == _without_versions(before)

    third = refresh(raw, curated)  # nothing changed since: nothing extracted
    assert third.extracted == 0 and third.skipped_unchanged == 3


def test_planning_the_batches_prunes_other_reader_versions(tmp_path):
    """The run holding the curated lock prunes the cache before any batch starts."""
    curated = tmp_path / "curated"
    current = curated / ".grid-cache" / extractors.reader_version()
    stale = curated / ".grid-cache" / "0.1.0+oldreader"
    for folder in (current, stale):
        folder.mkdir(parents=True)
        (folder / "x.pdfium.y.pickle").write_bytes(b"a grid")
    manifest = load_manifest(RAW)
    work = WorkPlan(extract=list(manifest.documents))
    todo, _ = plan_batches(
        manifest.plans, work, set(manifest.plans), 1, previous=Previous(curated), run_id="r", now=None
    )
    assert not stale.exists() and (current / "x.pdfium.y.pickle").exists()
    assert cache_folder(todo[0].previous) == curated / ".grid-cache"
    assert cache_folder(Previous(None)) is None
