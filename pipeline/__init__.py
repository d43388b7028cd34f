"""plan-etl core: normalization, models, extraction, loading, CLI."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

__version__ = "0.1.0"
ROOT = Path(__file__).resolve().parent.parent


def _files_hash(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        if f.exists():
            h.update(f.relative_to(ROOT).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


@cache
def extractor_version() -> str:
    """``0.1.0+<hash>``: changes whenever a reader, parser, the normalizer, the label
    vocabulary or a table schema changes, so that a nightly run re-extracts documents whose
    output could differ."""
    files = sorted((ROOT / "extractors").rglob("*.py")) + sorted((ROOT / "schemas").glob("*.py"))
    files += [ROOT / "schemas" / name for name in ("labels.yaml", "tables.yaml")]
    files += [ROOT / "pipeline" / name for name in ("normalize.py", "extract.py", "models.py")]
    return f"{__version__}+{_files_hash(files)}"


@cache
def derivation_version() -> str:
    """``0.1.0+<hash>`` of what turns extracted rows into plan-level tables (linking,
    evaluation, themes, validation suites): a change recomputes every plan without
    re-extracting a single document."""
    files = [ROOT / "pipeline" / f"{name}.py" for name in ("link", "evaluate", "compare", "validate", "derive")]
    files += sorted((ROOT / "pipeline" / "checks").glob("*.py"))
    files += [ROOT / "schemas" / name for name in ("themes.yaml", "suites.yaml")]
    return f"{__version__}+{_files_hash(files)}"
