"""Stage 1, extract: readers turn bytes into a grid (:mod:`extractors.readers`), kind parsers
turn a grid into records (:mod:`extractors.parsers`), :mod:`extractors.kinds` registers the
document kinds and :mod:`extractors.extract` runs one document through them.

Depends on the foundations (:mod:`core`) and :mod:`schemas` only.
"""

from __future__ import annotations

from functools import cache

from core.versions import tree_version

# What can change the records of a document: the foundations, the readers and parsers, the
# label vocabulary and the table schemas.
EXTRACTION_SOURCES = ("core", "extractors", "schemas", "schemas/labels.yaml", "schemas/tables.yaml")


@cache
def extractor_version(pdf_engine: str | None = None) -> str:
    """``0.1.0+<hash>``: changes whenever a file that can change extracted records changes,
    so that a nightly run re-extracts documents whose output could differ. A PDF read with
    another engine than the default is stamped ``…/<engine>`` (switching engines re-reads it)."""
    from extractors.readers.pdf import DEFAULT_ENGINE

    suffix = f"/{pdf_engine}" if pdf_engine and pdf_engine != DEFAULT_ENGINE else ""
    return tree_version(*EXTRACTION_SOURCES) + suffix
