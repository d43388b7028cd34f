"""The grid cache: a reader's output (the :class:`~core.models.Grid`) kept on disk, so that a
change to the parsers, the vocabulary or the normalizer re-parses documents without reading
them again.

An entry is keyed by the file's sha256, its password (hashed), the PDF engine, the reading
limits, the OCR mode and the reader version (:func:`extractors.reader_version`), and stored as a pickle at
``<cache>/<reader version>/<sha256>.<engine>.<hash of password and limits>.pickle``, written
atomically (a temporary file, then ``os.replace``). An entry that cannot be read is ignored and
written again; the cache never makes an extraction fail. Only documents whose reading costs
are cached (PDFs and workbooks): a text export reads faster than its grid unpickles.
A refresh prunes the entries of other reader versions (:func:`prune`).

The cache lives under ``curated/``, written by the pipeline only: unpickling trusts it as it
trusts the code.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

from core.models import Grid
from extractors import reader_version
from extractors.readers import read_document

#: Formats whose grids are cached (:func:`extractors.readers.detect_format`).
CACHED_FORMATS = ("pdf", "xlsx")
FOLDER = ".grid-cache"  # under the curated folder


def entry_path(
    cache: Path, sha256: str, *, fmt: str, password: str | None, limits: Any, pdf_engine: str | None
) -> Path:
    """Where the grid of these bytes, read this way by today's readers, is kept."""
    from extractors.readers.pdf import DEFAULT_ENGINE

    engine = (pdf_engine or DEFAULT_ENGINE) if fmt == "pdf" else fmt
    # The OCR mode (--ocr, read by the readers from the environment) decides whether a PDF
    # without a usable text layer is read from its images: a grid read one way is not the other's.
    ocr = os.environ.get("PLAN_ETL_OCR", "")
    secret = hashlib.sha256(f"{password or ''}\0{limits!r}\0{ocr}".encode()).hexdigest()[:16]
    return cache / reader_version() / f"{sha256}.{engine}.{secret}.pickle"


def load(path: Path) -> Grid | None:
    """The grid stored at ``path``, or None when there is none or it cannot be read."""
    try:
        with path.open("rb") as f:
            grid = pickle.load(f)
    except Exception:  # missing, truncated, corrupt, of an older model: read the document again
        return None
    return grid if isinstance(grid, Grid) else None


def store(path: Path, grid: Grid) -> None:
    """Write ``grid`` at ``path`` atomically; a cache that cannot be written is skipped."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as f:
            tmp = f.name
            pickle.dump(grid, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def read_grid(
    path: Path,
    data: bytes,
    sha256: str,
    *,
    fmt: str,
    password: str | None = None,
    limits: Any = None,
    pdf_engine: str | None = None,
    cache: Path | None = None,
) -> tuple[Grid, str]:
    """The document's grid and where it came from: ``"cache"`` or ``"read"``.

    Read with :func:`extractors.readers.read_document` (its errors raised as they are) unless
    ``cache`` holds it; a grid read whole (nothing missing: no page or time budget hit) is
    stored for the next time."""
    if cache is None or fmt not in CACHED_FORMATS:
        return read_document(path, data, password=password, limits=limits, pdf_engine=pdf_engine), "read"
    entry = entry_path(cache, sha256, fmt=fmt, password=password, limits=limits, pdf_engine=pdf_engine)
    grid = load(entry)
    if grid is not None:
        return grid, "cache"
    grid = read_document(path, data, password=password, limits=limits, pdf_engine=pdf_engine)
    if not grid.missing:
        store(entry, grid)
    return grid, "read"


def prune(cache: Path | None) -> int:
    """Remove the entries of other reader versions (and temporary files left by an
    interrupted write); return how many folders and files went. Run by the process that holds
    the curated folder's lock, before the documents are extracted."""
    if cache is None or not cache.is_dir():
        return 0
    keep = reader_version()
    removed = 0
    for item in cache.iterdir():
        if item.is_dir() and item.name != keep:
            shutil.rmtree(item, ignore_errors=True)
            removed += 1
        elif item.is_file():
            item.unlink(missing_ok=True)
            removed += 1
    current = cache / keep
    for tmp in current.glob(".tmp-*") if current.is_dir() else ():
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed
