"""Stage 1, extract: readers turn bytes into a grid (:mod:`extractors.readers`), kind parsers
turn a grid into records (:mod:`extractors.parsers`), :mod:`extractors.kinds` registers the
document kinds and :mod:`extractors.extract` runs one document through them.

Depends on the foundations (:mod:`core`) and :mod:`schemas` only.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata

from core import __version__
from core.versions import ROOT, tree_version

# What can change a document's grid: the object model and the readers (and the libraries
# they read with). A change re-reads every document (the grid cache misses).
READER_SOURCES = ("core/models.py", "extractors/readers")
READER_LIBRARIES = ("pdfplumber", "pdfminer.six", "pypdfium2", "openpyxl", "tesserocr")
# What can change the records of a grid: the foundations, the label vocabulary, the table
# schemas and every extractors module outside the readers (found in the folder, not listed).
PARSER_DATA = ("core", "schemas", "schemas/labels.yaml", "schemas/tables.yaml")


def parser_sources() -> tuple[str, ...]:
    """:data:`PARSER_DATA` and every module and package of ``extractors/`` but the readers."""
    here = ROOT / "extractors"
    own = [
        p.relative_to(ROOT).as_posix()
        for p in sorted(here.iterdir())
        if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())) and p.name != "readers"
    ]
    return (*PARSER_DATA, *own)


def _ocr_engine() -> str:
    """Tesseract's and tesserocr's versions and the Japanese data's digest (OCR reads a scan
    differently with another), or why OCR is not available here."""
    from extractors.readers import ocr

    missing = ocr.unavailable()
    return f"ocr: {missing}" if missing else f"ocr: {ocr.engine_version()}"


def _hash_part(version: str) -> str:
    return version.partition("+")[2]


@functools.cache
def reader_version() -> str:
    """``0.1.0+<hash>`` of :data:`READER_SOURCES` and the installed reader libraries'
    versions: keys the grid cache (an entry of another reader version is never used)."""
    libraries = []
    for name in READER_LIBRARIES:
        try:
            libraries.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            libraries.append(f"{name} missing")
    h = hashlib.sha256(tree_version(*READER_SOURCES).encode())
    h.update("\n".join([*libraries, _ocr_engine()]).encode())
    return f"{__version__}+{h.hexdigest()[:12]}"


@functools.cache
def parser_version() -> str:
    """``0.1.0+<hash>`` of :func:`parser_sources`: a change re-parses every document (from
    cached grids where there are some)."""
    return tree_version(*parser_sources())


def extractor_version(pdf_engine: str | None = None) -> str:
    """``0.1.0+<reader hash>.<parser hash>``: changes whenever a file that can change
    extracted records changes, so that a nightly run re-extracts documents whose output could
    differ. A PDF read with another engine than the default is stamped ``…/<engine>``
    (switching engines re-reads it)."""
    from extractors.readers.pdf import DEFAULT_ENGINE

    suffix = f"/{pdf_engine}" if pdf_engine and pdf_engine != DEFAULT_ENGINE else ""
    return f"{__version__}+{_hash_part(reader_version())}.{_hash_part(parser_version())}{suffix}"


def versions(pdf_engine: str | None = None) -> dict[str, str]:
    """The ``documents`` row's version columns: extractor, reader and parser version."""
    return {
        "extractor_version": extractor_version(pdf_engine),
        "reader_version": reader_version(),
        "parser_version": parser_version(),
    }
