"""Sources anywhere: ``--raw`` may be a local folder or an fsspec URL (``s3://bucket/plans/``,
``gcs://…``, ``memory://…``). A URL is mirrored into a local cache folder — only files whose
size or modification stamp changed are downloaded, files gone from the source are deleted —
and the run reads the mirror, so everything downstream (manifest, path checks, incremental
hashing) is the same as for a local ``raw/``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any

STATE = ".plan-etl-mirror.json"


def is_url(raw: str | Path) -> bool:
    s = str(raw)
    return "://" in s and not s.startswith("file://")


def _stamp(info: dict[str, Any]) -> str:
    keys = ("size", "mtime", "LastModified", "last_modified", "ETag", "etag", "created")
    return json.dumps({k: str(info[k]) for k in keys if k in info}, sort_keys=True)


def materialize(raw: str | Path, cache_root: Path) -> Path:
    """A local folder holding the documents of ``raw`` (``raw`` itself when it is local)."""
    if not is_url(raw):
        return Path(str(raw).removeprefix("file://"))
    import fsspec

    fs, root = fsspec.core.url_to_fs(str(raw))
    root = root.rstrip("/")
    local = cache_root / hashlib.sha1(str(raw).encode()).hexdigest()[:12]
    local.mkdir(parents=True, exist_ok=True)
    state_file = local / STATE
    state: dict[str, str] = json.loads(state_file.read_text()) if state_file.exists() else {}
    remote = {p: info for p, info in fs.find(root, detail=True).items() if info.get("type", "file") == "file"}
    seen: dict[str, str] = {}
    for path, info in sorted(remote.items()):
        rel = PurePosixPath(path).relative_to(
            PurePosixPath(root.lstrip("/") if not path.startswith("/") else root)
        )
        if ".." in rel.parts:
            continue  # never write outside the mirror
        stamp = _stamp(info)
        target = local / Path(*rel.parts)
        seen[str(rel)] = stamp
        if state.get(str(rel)) == stamp and target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with fs.open(path, "rb") as src:
            target.write_bytes(src.read())
    for rel in set(state) - set(seen):
        (local / Path(*PurePosixPath(rel).parts)).unlink(missing_ok=True)
    state_file.write_text(json.dumps(seen, sort_keys=True))
    return local
