"""The steps of a refresh run as plain library functions (the Prefect flow composes them).

discover → plan the work (skip unchanged documents) → extract → assemble (link across the
documents of a plan) → load → record the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import extractor_version
from pipeline.extract import DocumentOutcome
from pipeline.link import link_indicator_codes
from pipeline.load import read_curated
from pipeline.manifest import DocumentSpec, Manifest
from schemas import DOCUMENT_TABLES


@dataclass
class WorkPlan:
    """Which documents to extract and which to carry over unchanged from the last run."""

    extract: list[DocumentSpec] = field(default_factory=list)
    reuse: list[tuple[DocumentSpec, dict[str, Any]]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)  # previous documents no longer in raw/


@dataclass
class RunSummary:
    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    skipped_unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    status: str = "ok"
    validation: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["status"] == "failed"]

    def run_record(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "documents_seen": len(self.documents),
            "documents_extracted": len(self.documents) - self.skipped_unchanged - len(self.failed),
            "documents_skipped_unchanged": self.skipped_unchanged,
            "documents_failed": len(self.failed),
            "documents_removed": len(self.removed),
            "status": self.status,
        }


def new_run_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def plan_work(manifest: Manifest, previous_documents: list[dict[str, Any]]) -> WorkPlan:
    """Skip a document when its bytes, plan, kind and the extractor version are unchanged."""
    work = WorkPlan()
    prev_by_path = {d["source_path"]: d for d in previous_documents}
    version = extractor_version()
    for spec in manifest.documents:
        prev = prev_by_path.get(spec.rel_path)
        unchanged = (
            prev is not None
            and prev["status"] in ("ok", "partial")
            and prev["extractor_version"] == version
            and prev["plan_id"] == spec.plan_id
            and (spec.kind is None or prev["kind"] == spec.kind)
            and prev["doc_id"] == file_sha256(spec.path)
        )
        if unchanged:
            work.reuse.append((spec, prev))
        else:
            work.extract.append(spec)
    current = {s.rel_path for s in manifest.documents}
    work.removed = [d for d in previous_documents if d["source_path"] not in current]
    return work


def previous_rows(curated_dir: Path, doc_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Rows of the last run that came from the given documents."""
    if not doc_ids:
        return {}
    return {
        t: [r for r in read_curated(curated_dir, t) if r.get("source_doc_id") in doc_ids]
        for t in DOCUMENT_TABLES
    }


def assemble(
    manifest: Manifest,
    work: WorkPlan,
    outcomes: list[DocumentOutcome],
    curated_dir: Path,
    previous_documents: list[dict[str, Any]],
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]], list[str]]:
    """Merge fresh and carried-over rows into the records of every table.

    Returns (records per table, documents rows, messages). Documents are ordered by path so
    the same input always gives the same tables.
    """
    messages: list[str] = []
    docs: dict[str, dict[str, Any]] = {}
    per_doc: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for spec, prev in work.reuse:
        docs[spec.rel_path] = prev
    path_of = {prev["doc_id"]: spec.rel_path for spec, prev in work.reuse}
    for table, rows in previous_rows(curated_dir, set(path_of)).items():
        for row in rows:
            per_doc.setdefault(path_of[row["source_doc_id"]], {}).setdefault(table, []).append(row)
    prev_by_path = {d["source_path"]: d for d in previous_documents}
    for outcome in outcomes:
        path = outcome.document["source_path"]
        docs[path] = outcome.document
        if outcome.ok:
            per_doc[path] = outcome.tables
            continue
        prev = prev_by_path.get(path)
        if prev and prev["status"] in ("ok", "partial"):
            kept = previous_rows(curated_dir, {prev["doc_id"]})
            n = sum(len(v) for v in kept.values())
            per_doc[path] = kept
            docs[f"{path}#previous"] = prev
            outcome.document["error"] += (
                f" — the {n} rows of the previous version (doc {prev['doc_id'][:12]}) are kept"
            )
    records: dict[str, list[dict[str, Any]]] = {t: [] for t in DOCUMENT_TABLES}
    for path in sorted(per_doc):
        for table, rows in per_doc[path].items():
            records.setdefault(table, []).extend(rows)
    # One row per indicator of a plan, whichever documents print it (a filled-in sheet repeats them).
    seen: set[str] = set()
    unique = []
    for ind in records.get("indicators", []):
        if ind["indicator_id"] not in seen:
            seen.add(ind["indicator_id"])
            unique.append(ind)
    records["indicators"] = unique
    for ind in records.get("indicators", []):
        if ind.get("indicator_code_source") == "linked":
            ind["indicator_code"] = None
    before = {id(i): i.get("indicator_code") for i in records.get("indicators", [])}
    messages += link_indicator_codes(records)
    for ind in records.get("indicators", []):
        if ind.get("indicator_code") and not before[id(ind)]:
            ind["indicator_code_source"] = "linked"
        elif ind.get("indicator_code"):
            ind.setdefault("indicator_code_source", "document")
    records["plans"] = [p.record() for _, p in sorted(manifest.plans.items())]
    documents = [docs[p] for p in sorted(docs)]
    return records, documents, messages


def extract_records(raw_dir: Path, prefer: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Extract every document of ``raw_dir`` in this process, without Prefect or incremental
    state: the records a run would load (for notebooks, tests and one-off comparisons)."""
    from pipeline.extract import extract_document
    from pipeline.manifest import load_manifest

    manifest = load_manifest(raw_dir, prefer=prefer)
    work = WorkPlan(extract=list(manifest.documents))
    outcomes = [
        extract_document(s.path, rel_path=s.rel_path, plan_id=s.plan_id, kind=s.kind, password=s.password)
        for s in manifest.documents
    ]
    records, documents, _ = assemble(manifest, work, outcomes, raw_dir / ".none", [])
    records["documents"] = documents
    return records
