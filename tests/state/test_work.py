"""Work planning against the last run: what to extract, carry over or quarantine, and which
plans to recompute."""

from __future__ import annotations

import hashlib
from pathlib import Path

from extractors import extractor_version
from pipeline.discover.manifest import DocumentSpec, Manifest, Plan
from pipeline.state.work import affected_plans, plan_work


def _manifest(tmp_path: Path, files: dict[str, str], plans: dict[str, Plan]) -> Manifest:
    docs = []
    for rel, plan_id in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text(rel, encoding="utf-8")
        docs.append(DocumentSpec(path, rel, plan_id))
    return Manifest(raw_dir=tmp_path, plans=plans, documents=docs)


def _row(tmp_path: Path, rel: str, plan_id: str, status: str = "ok", version: str | None = None) -> dict:
    sha = hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest()
    return {
        "source_path": rel,
        "plan_id": plan_id,
        "doc_id": sha,
        "kind": None,
        "status": status,
        "extractor_version": version or extractor_version(),
    }


def test_unchanged_documents_are_carried_changed_ones_extracted(tmp_path):
    m = _manifest(
        tmp_path, {"a/x.txt": "a", "a/y.txt": "a", "b/z.txt": "b"}, {"a": Plan("a"), "b": Plan("b")}
    )
    previous = [
        _row(tmp_path, "a/x.txt", "a"),
        _row(tmp_path, "a/y.txt", "a"),
        _row(tmp_path, "b/z.txt", "b"),
    ]
    (tmp_path / "a/y.txt").write_text("revised", encoding="utf-8")
    previous.append({**previous[0], "source_path": "gone.txt"})
    work = plan_work(m, previous)
    assert [s.rel_path for s, _ in work.reuse] == ["a/x.txt", "b/z.txt"]
    assert [s.rel_path for s in work.extract] == ["a/y.txt"]
    assert [d["source_path"] for d in work.removed] == ["gone.txt"]


def test_a_new_extractor_version_re_extracts_and_a_failure_is_quarantined(tmp_path):
    m = _manifest(tmp_path, {"a/x.txt": "a", "a/y.txt": "a"}, {"a": Plan("a")})
    previous = [
        _row(tmp_path, "a/x.txt", "a", version="0.0.1+old"),
        _row(tmp_path, "a/y.txt", "a", status="failed"),
    ]
    work = plan_work(m, previous)
    assert [s.rel_path for s in work.extract] == ["a/x.txt"]
    assert [(s.rel_path, failed["status"], good) for s, failed, good in work.quarantined] == [
        ("a/y.txt", "failed", None)
    ]
    assert [s.rel_path for s in plan_work(m, previous, retry_failed=True).extract] == ["a/x.txt", "a/y.txt"]


def test_affected_plans_are_those_whose_documents_or_entry_changed(tmp_path):
    plans = {"a": Plan("a"), "b": Plan("b", title="old"), "c": Plan("c")}
    m = _manifest(tmp_path, {"a/x.txt": "a", "c/z.txt": "c"}, plans)
    previous_docs = [_row(tmp_path, "a/x.txt", "b"), _row(tmp_path, "c/z.txt", "c")]  # x moved b → a
    previous_plans = [{"plan_id": p, "spec_hash": plan.fingerprint()} for p, plan in plans.items()]
    work = plan_work(m, previous_docs)
    assert affected_plans(m, work, previous_docs, previous_plans) == {"a", "b"}
    m.plans["c"] = Plan("c", title="a new title")  # the manifest entry changed: recomputed, nothing extracted
    work = plan_work(m, previous_docs)
    assert affected_plans(m, work, previous_docs, previous_plans) == {"a", "b", "c"}
    assert [s.rel_path for s in work.extract] == ["a/x.txt"]
