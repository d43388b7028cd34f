"""Work planning against the last run: which documents to extract, which to carry over or
quarantine, which plans to recompute, and the assembly of a plan's rows from fresh and
carried-over documents.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors import extractor_version
from extractors.extract import DocumentOutcome
from extractors.limits import LIMIT_ATTEMPTS, attempt_note, limit_attempts, stopped_by
from pipeline.discover.manifest import DocumentSpec, Manifest
from pipeline.state.previous import Previous
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
    # (spec, the limit that stopped it, attempts so far): failed before with the same bytes
    # because a per-document limit stopped it — extracted again (it is in ``extract`` too)
    retried: list[tuple[DocumentSpec, str, int]] = field(default_factory=list)


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _last_good(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((d for d in reversed(rows) if d["status"] in ("ok", "partial")), None)


def cut_short(document: dict[str, Any]) -> bool:
    """A ``partial`` document whose reason is a cut (the file's end), not a block it lacks
    (``documents.cut_short``, set by the parser: :meth:`core.models.ParseResult.mark_cut`)."""
    return document["status"] == "partial" and bool(document.get("cut_short"))


def _last_complete(rows: list[dict[str, Any]], cut: dict[str, Any]) -> dict[str, Any] | None:
    """The last complete (``ok``) version of a document before its ``cut`` version."""
    return next((d for d in reversed(rows) if d["status"] == "ok" and d["doc_id"] != cut["doc_id"]), None)


def _count_attempt(document: dict[str, Any], before: list[dict[str, Any]]) -> None:
    """A document a limit stopped says which attempt on these bytes this was (the last run's
    failed row of the same bytes and extractor, stopped by a limit, counts)."""
    if not stopped_by(document.get("error")):
        return
    last = next(
        (
            d
            for d in reversed(before)
            if d["status"] == "failed"
            and d["doc_id"] == document.get("doc_id")
            and d.get("extractor_version") == document.get("extractor_version")
            and stopped_by(d.get("error"))
        ),
        None,
    )
    document["error"] += attempt_note(limit_attempts(last["error"]) + 1 if last else 1)


def plan_work(
    manifest: Manifest, previous_documents: list[dict[str, Any]], retry_failed: bool = False
) -> WorkPlan:
    """Skip a document when its bytes, plan, kind and the extractor version are unchanged.

    A document that failed with these very bytes and extractor is quarantined: not retried
    every night (its failed row and the rows of its last good version are carried over)
    until its bytes or the extractor change, or ``retry_failed`` is set. One that a
    per-document time or memory limit stopped is retried by the next runs, up to
    ``LIMIT_ATTEMPTS`` extractions of the same bytes, then quarantined.
    """
    work = WorkPlan()
    by_path: dict[str, list[dict[str, Any]]] = {}
    for d in previous_documents:
        by_path.setdefault(d["source_path"], []).append(d)
    for spec in manifest.documents:
        rows = by_path.get(spec.rel_path, [])
        sha = file_sha256(spec.path) if rows else None

        def same(d: dict[str, Any], spec: DocumentSpec = spec, sha: str | None = sha) -> bool:
            return (
                d["extractor_version"] == extractor_version(spec.pdf_engine)
                and d["plan_id"] == spec.plan_id
                and d["doc_id"] == sha
                and (spec.kind is None or d["kind"] in (spec.kind, None))
            )

        good = next((d for d in rows if d["status"] in ("ok", "partial") and same(d)), None)
        failed = next((d for d in rows if d["status"] == "failed" and same(d)), None)
        if good is not None and cut_short(good) and (complete := _last_complete(rows, good)):
            work.quarantined.append((spec, good, complete))  # its previous complete rows stay
        elif good is not None:
            work.reuse.append((spec, good))
        elif failed is not None and not retry_failed:
            limit, attempts = stopped_by(failed.get("error")), limit_attempts(failed.get("error"))
            if limit and attempts < LIMIT_ATTEMPTS:
                work.extract.append(spec)
                work.retried.append((spec, limit, attempts))
            else:
                work.quarantined.append((spec, failed, _last_good(rows)))
        else:
            work.extract.append(spec)
    current = {s.rel_path for s in manifest.documents}
    work.removed = [d for d in previous_documents if d["source_path"] not in current]
    return work


def affected_plans(
    manifest: Manifest,
    work: WorkPlan,
    previous_documents: list[dict[str, Any]],
    previous_plans: list[dict[str, Any]],
) -> set[str]:
    """Plans whose rows must be recomputed tonight: a document of theirs is to be extracted,
    was removed or moved to another plan, or their manifest entry changed (or is new)."""
    plans = {s.plan_id for s in work.extract} | {d["plan_id"] for d in work.removed}
    by_path: dict[str, set[str]] = {}
    for d in previous_documents:
        by_path.setdefault(d["source_path"], set()).add(d["plan_id"])
    for spec in work.extract:  # a document moved to another plan leaves the old one changed too
        plans |= by_path.get(spec.rel_path, set())
    before = {p["plan_id"]: p.get("spec_hash") for p in previous_plans}
    plans |= {pid for pid, plan in manifest.plans.items() if before.get(pid) != plan.fingerprint()}
    return {p for p in plans if p in manifest.plans}


def _take_outcomes(
    outcomes: list[DocumentOutcome],
    previous_documents: list[dict[str, Any]],
    docs: dict[str, dict[str, Any]],
    carry: dict[str, tuple[str, str]],
) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], list[DocumentOutcome]]:
    """Fresh tables by path, and the outcomes whose previous version's rows stay instead (put
    in ``docs`` and ``carry``): a failed revision keeps its last good version, a cut one
    (:func:`cut_short`) its last complete one — a cut file never replaces a whole one."""
    prev_by_path: dict[str, list[dict[str, Any]]] = {}
    for d in previous_documents:
        prev_by_path.setdefault(d["source_path"], []).append(d)
    fresh: dict[str, dict[str, list[dict[str, Any]]]] = {}
    kept_for: list[DocumentOutcome] = []
    for outcome in outcomes:
        path = outcome.document["source_path"]
        docs[path] = outcome.document
        before = prev_by_path.get(path, [])
        complete = _last_complete(before, outcome.document) if cut_short(outcome.document) else None
        if outcome.ok and complete is None:
            fresh[path] = outcome.tables
            continue
        _count_attempt(outcome.document, before)
        prev = complete or _last_good(before)
        if prev:
            carry[path] = (prev["plan_id"], prev["doc_id"])
            docs[f"{path}#previous"] = prev
            kept_for.append(outcome)
    return fresh, kept_for


def _say_kept(outcome: DocumentOutcome, per_doc: dict[str, dict[str, list]], doc_id: str) -> None:
    """The document's error says how many rows of its previous version stay (and, for a cut
    version, how many it had itself)."""
    n = sum(len(rows) for rows in per_doc.get(outcome.document["source_path"], {}).values())
    if not outcome.ok:
        outcome.document["error"] += f" — the {n} rows of the previous version (doc {doc_id[:12]}) are kept"
        return
    own = sum(len(outcome.tables.get(table, [])) for table in DOCUMENT_TABLES)
    outcome.document["error"] += (
        f" — the {n} rows of the previous complete version (doc {doc_id[:12]}) are kept instead of "
        f"this cut version's {own}"
    )


def assemble(
    work: WorkPlan,
    outcomes: list[DocumentOutcome],
    previous: Previous,
    plans: set[str],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """The document rows of ``plans`` (fresh ones and those carried over), and the
    ``documents`` rows of every document of ``work`` and ``outcomes``.

    Returns (records per table, documents rows by key). The key is the path, or
    ``path#previous`` for the last good version kept beside a failed revision: rows ordered
    by key (and records by path) make the same input always give the same tables.
    """
    docs: dict[str, dict[str, Any]] = {}
    carry: dict[str, tuple[str, str]] = {}  # path → (plan, doc id) whose previous rows are kept
    for spec, prev in work.reuse:
        docs[spec.rel_path] = prev
        carry[spec.rel_path] = (spec.plan_id, prev["doc_id"])
    for spec, failed, good in work.quarantined:
        docs[spec.rel_path] = failed
        if good is not None:
            docs[f"{spec.rel_path}#previous"] = good
            carry[spec.rel_path] = (good["plan_id"], good["doc_id"])
    fresh, kept_for = _take_outcomes(outcomes, previous.rows("documents") if outcomes else [], docs, carry)
    wanted = {key for path, key in carry.items() if key[0] in plans}
    per_doc: dict[str, dict[str, list[dict[str, Any]]]] = {}
    path_of = {key: path for path, key in carry.items()}
    for table in DOCUMENT_TABLES:
        for row in previous.rows_where(table, "source_doc_id", {doc for _, doc in wanted}):
            key = (row["plan_id"], row["source_doc_id"])
            if key in wanted:
                per_doc.setdefault(path_of[key], {}).setdefault(table, []).append(row)
    for outcome in kept_for:
        _say_kept(outcome, per_doc, carry[outcome.document["source_path"]][1])
    per_doc.update({p: t for p, t in fresh.items() if docs[p]["plan_id"] in plans})
    records: dict[str, list[dict[str, Any]]] = {t: [] for t in DOCUMENT_TABLES}
    for path in sorted(per_doc):
        for table, rows in per_doc[path].items():
            records.setdefault(table, []).extend(rows)
    return records, docs
