"""Sources anywhere: --raw as an fsspec URL (tested with fsspec's memory filesystem)."""

from __future__ import annotations

import fsspec
from conftest import RAW

from pipeline.discover.manifest import load_manifest
from pipeline.discover.sources import is_url, materialize


def _upload(fs, root: str) -> None:
    for path in RAW.rglob("*"):
        if path.is_file():
            fs.pipe(f"{root}/{path.relative_to(RAW).as_posix()}", path.read_bytes())


def test_local_paths_stay_local(tmp_path):
    assert materialize(RAW, tmp_path) == RAW
    assert not is_url("raw") and not is_url("file:///srv/raw") and is_url("s3://bucket/plans/")


def test_memory_url_is_mirrored_and_kept_in_sync(tmp_path):
    fs = fsspec.filesystem("memory")
    _upload(fs, "/plans")
    local = materialize("memory://plans/", tmp_path)
    assert (local / "sources.yaml").exists() and (local / "kama" / "action_plan.txt").exists()
    manifest = load_manifest(local, prefer="text")
    assert {d.plan_id for d in manifest.documents} == {"kama-sme-2", "chiba-genki-5"}
    fs.rm("/plans/chiba/strategy_framework.txt")
    fs.pipe("/plans/kama/action_plan.txt", b"changed")
    again = materialize("memory://plans/", tmp_path)
    assert again == local
    assert not (local / "chiba" / "strategy_framework.txt").exists()
    assert (local / "kama" / "action_plan.txt").read_bytes() == b"changed"
    fs.rm("/plans", recursive=True)
