"""Versions computed from the project's own files: a stage's version changes whenever a
file of its packages changes, so nobody keeps a list of modules by hand."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core import __version__

ROOT = Path(__file__).resolve().parent.parent


def tree_version(*paths: str) -> str:
    """``0.1.0+<hash>`` of every ``.py`` file under each package folder in ``paths`` and of
    each other file named there (paths relative to the project root)."""
    files: list[Path] = []
    for rel in paths:
        path = ROOT / rel
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        if f.exists():
            h.update(f.relative_to(ROOT).as_posix().encode())
            h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"
