"""plan-etl core: normalization, models, extraction, loading, CLI."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

__version__ = "0.1.0"
ROOT = Path(__file__).resolve().parent.parent


@cache
def extractor_version() -> str:
    """``0.1.0+<hash>``: changes whenever a reader, parser, the normalizer or a vocabulary changes,
    so that a nightly run re-extracts documents whose output could differ."""
    h = hashlib.sha256()
    files = sorted((ROOT / "extractors").rglob("*.py")) + sorted((ROOT / "schemas").glob("*.yaml"))
    files += [ROOT / "pipeline" / name for name in ("normalize.py", "extract.py", "models.py")]
    for f in files:
        if f.exists():
            h.update(f.relative_to(ROOT).as_posix().encode())
            h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"
