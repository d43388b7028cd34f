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
    # (spec, its failed row, its last good row or None): failed before with the same bytes
    quarantined: list[tuple[DocumentSpec, dict[str, Any], dict[str, Any] | None]] = field(
        default_factory=list
    )


@dataclass
class RunSummary:
    run_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    skipped_unchanged: int = 0
    quarantined: int = 0
    seen: int = 0
    extracted: int = 0
    extract_seconds: float = 0.0  # CPU time inside the extractors (summed over documents)
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
            "documents_seen": self.seen,
            "documents_extracted": self.extracted,
            "documents_skipped_unchanged": self.skipped_unchanged,
            "documents_failed": len(self.failed),
            "documents_removed": len(self.removed),
            "documents_quarantined": self.quarantined,
            "status": self.status,
        }


def new_run_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _last_good(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((d for d in reversed(rows) if d["status"] in ("ok", "partial")), None)


def plan_work(
    manifest: Manifest, previous_documents: list[dict[str, Any]], retry_failed: bool = False
) -> WorkPlan:
    """Skip a document when its bytes, plan, kind and the extractor version are unchanged.

    A document that failed with these very bytes and extractor is quarantined: not retried
    every night (its failed row and the rows of its last good version are carried over)
    until its bytes or the extractor change, or ``retry_failed`` is set.
    """
    work = WorkPlan()
    by_path: dict[str, list[dict[str, Any]]] = {}
    for d in previous_documents:
        by_path.setdefault(d["source_path"], []).append(d)
    version = extractor_version()
    for spec in manifest.documents:
        rows = by_path.get(spec.rel_path, [])
        sha = file_sha256(spec.path) if rows else None

        def same(d: dict[str, Any], spec: DocumentSpec = spec, sha: str | None = sha) -> bool:
            return (
                d["extractor_version"] == version
                and d["plan_id"] == spec.plan_id
                and d["doc_id"] == sha
                and (spec.kind is None or d["kind"] in (spec.kind, None))
            )

        good = next((d for d in rows if d["status"] in ("ok", "partial") and same(d)), None)
        failed = next((d for d in rows if d["status"] == "failed" and same(d)), None)
        if good is not None:
            work.reuse.append((spec, good))
        elif failed is not None and not retry_failed:
            work.quarantined.append((spec, failed, _last_good(rows)))
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
    prev_by_path: dict[str, list[dict[str, Any]]] = {}
    for d in previous_documents:
        prev_by_path.setdefault(d["source_path"], []).append(d)
    for spec, failed, good in work.quarantined:
        docs[spec.rel_path] = failed
        if good is not None:
            docs[f"{spec.rel_path}#previous"] = good
            per_doc[spec.rel_path] = previous_rows(curated_dir, {good["doc_id"]})
    for outcome in outcomes:
        path = outcome.document["source_path"]
        docs[path] = outcome.document
        if outcome.ok:
            per_doc[path] = outcome.tables
            continue
        prev = _last_good(prev_by_path.get(path, []))
        if prev:
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
