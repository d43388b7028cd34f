"""The derivation version: what turns extracted rows into plan-level tables."""

from __future__ import annotations

from functools import cache

from core.versions import tree_version

# Linking, evaluation, themes, comparisons and validation: a change recomputes every plan
# without re-extracting a single document.
DERIVATION_SOURCES = ("pipeline/derive", "pipeline/validate", "schemas/themes.yaml", "schemas/suites.yaml")


@cache
def derivation_version() -> str:
    """``0.1.0+<hash>`` of every file under :data:`DERIVATION_SOURCES`."""
    return tree_version(*DERIVATION_SOURCES)
