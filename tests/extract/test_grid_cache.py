"""The grid cache (extractors/cache.py): a PDF read once is parsed again without reading it."""

from __future__ import annotations

import pickle

import pytest
from conftest import RAW

import extractors.cache as grid_cache
import extractors.readers.pdf as pdf_reader
from core.models import Grid
from extractors.extract import extract_document
from extractors.readers.pdf import PdfLimits

PDF = RAW / "chiba" / "strategy_framework.pdf"
KIND = "strategy_framework"


def _extract(cache, **kw):
    return extract_document(PDF, kind=KIND, grid_cache=cache, **kw)


def _same(a, b):
    """Two outcomes with the same records and the same documents row (but where the grid came
    from and when)."""
    skip = {"extracted_at", "grid_source"}
    assert {k: v for k, v in a.document.items() if k not in skip} == {
        k: v for k, v in b.document.items() if k not in skip
    }
    assert a.tables == b.tables


@pytest.fixture
def counted_reads(monkeypatch):
    """Calls of the PDF reader (still reading)."""
    calls = []
    real = pdf_reader.read_pdf

    def read_pdf(*args, **kw):
        calls.append(kw.get("engine"))
        return real(*args, **kw)

    monkeypatch.setattr(pdf_reader, "read_pdf", read_pdf)
    return calls


def test_a_second_extraction_reads_no_pdf(tmp_path, monkeypatch):
    cache = tmp_path / ".grid-cache"
    first = _extract(cache)
    assert first.ok and first.document["grid_source"] == "read"
    assert len(list(cache.rglob("*.pickle"))) == 1

    def fail(*args, **kw):
        raise AssertionError("the PDF was read again")

    monkeypatch.setattr(pdf_reader, "read_pdf", fail)
    second = _extract(cache)
    assert second.document["grid_source"] == "cache"
    _same(first, second)
    assert second.document["reader_version"] == first.document["reader_version"]


def test_without_a_cache_the_pdf_is_read(counted_reads):
    outcome = _extract(None)
    assert outcome.document["grid_source"] == "read" and counted_reads == ["pdfium"]


def test_the_key_holds_password_engine_limits_ocr_mode_and_reader_version(tmp_path, monkeypatch):
    monkeypatch.delenv("PLAN_ETL_OCR", raising=False)
    key = {"fmt": "pdf", "password": None, "limits": None, "pdf_engine": None}
    base = grid_cache.entry_path(tmp_path, "ab" * 32, **key)
    others = [
        grid_cache.entry_path(tmp_path, "ab" * 32, **{**key, "password": "secret"}),
        grid_cache.entry_path(tmp_path, "ab" * 32, **{**key, "pdf_engine": "plumber"}),
        grid_cache.entry_path(tmp_path, "ab" * 32, **{**key, "limits": PdfLimits(max_pages=3)}),
        grid_cache.entry_path(tmp_path, "cd" * 32, **key),
    ]
    assert base == grid_cache.entry_path(tmp_path, "ab" * 32, **{**key, "pdf_engine": "pdfium"})
    assert len({base, *others}) == 5
    assert "secret" not in str(others[0])  # the password is hashed
    monkeypatch.setenv("PLAN_ETL_OCR", "never")
    assert grid_cache.entry_path(tmp_path, "ab" * 32, **key) != base
    monkeypatch.setattr(grid_cache, "reader_version", lambda: "0.1.0+otherreader")
    assert grid_cache.entry_path(tmp_path, "ab" * 32, **key).parent.name == "0.1.0+otherreader"


def test_another_engine_or_reader_version_misses(tmp_path, monkeypatch, counted_reads):
    cache = tmp_path / ".grid-cache"
    _extract(cache)
    assert _extract(cache).document["grid_source"] == "cache"
    assert counted_reads == ["pdfium"]
    plumber = _extract(cache, pdf_engine="plumber")
    assert plumber.document["grid_source"] == "read" and counted_reads[-1] == "plumber"
    monkeypatch.setattr(grid_cache, "reader_version", lambda: "0.1.0+otherreader")
    again = _extract(cache)
    assert again.document["grid_source"] == "read" and len(counted_reads) == 3


def test_a_corrupt_entry_is_ignored_and_rewritten(tmp_path, counted_reads):
    cache = tmp_path / ".grid-cache"
    first = _extract(cache)
    (entry,) = cache.rglob("*.pickle")
    for garbage in (b"", b"not a pickle", pickle.dumps({"a": "dict, not a grid"})):
        entry.write_bytes(garbage)
        outcome = _extract(cache)
        assert outcome.ok and outcome.document["grid_source"] == "read"
        _same(first, outcome)
        assert isinstance(grid_cache.load(entry), Grid)  # written again, whole
    assert len(counted_reads) == 4
    assert _extract(cache).document["grid_source"] == "cache"


def test_an_unwritable_cache_is_no_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    outcome = _extract(blocker / ".grid-cache")
    assert outcome.ok and outcome.document["grid_source"] == "read"


def test_text_exports_and_partial_reads_are_not_cached(tmp_path):
    cache = tmp_path / ".grid-cache"
    text = extract_document(RAW / "chiba" / "strategy_framework.txt", kind=KIND, grid_cache=cache)
    assert text.ok and text.document["grid_source"] == "read"
    partial = _extract(cache, limits=PdfLimits(max_pages=1))  # the page budget cuts the read
    assert partial.document["status"] == "partial"
    assert not list(cache.rglob("*.pickle"))


def test_prune_keeps_only_the_current_reader_version(tmp_path):
    cache = tmp_path / ".grid-cache"
    _extract(cache)
    (cache / "0.1.0+oldreader").mkdir()
    (cache / "0.1.0+oldreader" / "x.pdfium.y.pickle").write_bytes(b"old")
    (cache / grid_cache.reader_version() / ".tmp-left-by-a-crash").write_bytes(b"")
    assert grid_cache.prune(cache) == 2
    assert [p.name for p in cache.iterdir()] == [grid_cache.reader_version()]
    assert len(list(cache.rglob("*"))) == 2  # the folder and the entry
    assert grid_cache.prune(tmp_path / "none") == 0 and grid_cache.prune(None) == 0
