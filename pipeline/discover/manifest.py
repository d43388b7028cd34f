"""The source manifest (``raw/sources.yaml``) and discovery of the documents under ``raw/``."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from extractors.kinds import KINDS
from extractors.readers.pdf import PdfLimits

MANIFEST = "sources.yaml"
LEVELS = ("municipal", "prefectural")
DOCUMENT_SUFFIXES = {".txt", ".tsv", ".pdf", ".text", ".xlsx"}


class ManifestError(Exception):
    """The manifest cannot be used. The message names the file, the line and what to fix."""


@dataclass(frozen=True)
class Plan:
    plan_id: str
    issuer: str | None = None
    level: str | None = None
    prefecture: str | None = None
    title: str | None = None
    fiscal_years: tuple[int, int] | None = None
    indicator_directions: tuple[tuple[str, str], ...] = ()  # (indicator name, higher | lower)
    grading_rule: str | None = None  # used where the documents print none

    def fingerprint(self) -> str:
        """A hash of the whole entry (directions and grading rule included): a plan whose
        entry changed is recomputed even when its documents did not."""
        import hashlib

        return hashlib.sha256(repr(dataclasses.astuple(self)).encode()).hexdigest()[:16]

    def record(self) -> dict[str, Any]:
        fy = self.fiscal_years or (None, None)
        return {
            "plan_id": self.plan_id,
            "issuer": self.issuer,
            "level": self.level,
            "prefecture": self.prefecture,
            "title": self.title,
            "first_fiscal_year": fy[0],
            "last_fiscal_year": fy[1],
            "spec_hash": self.fingerprint(),
        }


@dataclass(frozen=True)
class DocumentSpec:
    """One document to extract: where it is, which plan it belongs to, what kind it is."""

    path: Path  # absolute
    rel_path: str  # relative to raw/, POSIX
    plan_id: str
    kind: str | None = None
    password: str | None = None
    listed: bool = True
    alternates: tuple[str, ...] = ()  # the same document in other formats (rel paths)
    limits: PdfLimits | None = None  # page and time budget (sources.yaml limits:)
    pdf_engine: str | None = None  # PDF reader for this document (pdfium, the default, plumber, or ocr)


@dataclass
class Manifest:
    raw_dir: Path
    plans: dict[str, Plan] = field(default_factory=dict)
    documents: list[DocumentSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _item_lines(text: str) -> tuple[list[int], dict[int, list[int]]]:
    """1-based lines of each plan entry, and of each document entry per plan index.

    A text scan, not a second YAML parse: entries start with ``- plan_id:`` and ``- path:``
    as in the documented layout (other layouts get "line ?" in messages).
    """
    plan_lines: list[int] = []
    doc_lines: dict[int, list[int]] = {}
    for i, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^\s*-\s+plan_id\s*:", line):
            plan_lines.append(i)
        elif plan_lines and re.match(r"^\s*-\s+(path\s*:|[^\s:#]+\.\w+\s*$)", line):
            doc_lines.setdefault(len(plan_lines) - 1, []).append(i)
    return plan_lines, doc_lines


def _inside(raw_dir: Path, rel: str, where: str) -> Path:
    """Resolve ``rel`` under ``raw_dir`` (itself resolved); refuse absolute paths and anything
    that escapes it. Returns the resolved path."""
    if not rel or Path(rel).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", rel):
        raise ManifestError(f"{where}: path {rel!r} must be relative to raw/ (absolute paths are refused)")
    candidate = raw_dir / rel
    resolved = candidate.resolve()
    if not resolved.is_relative_to(raw_dir):
        raise ManifestError(f"{where}: path {rel!r} leads outside raw/ (refused)")
    if not candidate.exists():
        raise ManifestError(f"{where}: path {rel!r} does not exist under {raw_dir}")
    if not candidate.is_file():
        raise ManifestError(f"{where}: path {rel!r} is not a file")
    return resolved


def _format_of(rel: str) -> str:
    return "pdf" if rel.lower().endswith(".pdf") else "text"


def load_manifest(raw_dir: Path, prefer: str | None = None, pdf_engine: str | None = None) -> Manifest:
    """Read ``raw/sources.yaml`` and add every unlisted document found under ``raw/``.

    A document may list ``alternates`` — the same document in another format (a PDF and its
    text export). The ``path`` is extracted unless ``prefer`` (``pdf`` or ``text``) names
    the format of an alternate. ``pdf_engine`` reads every PDF with that engine.

    Raises :class:`ManifestError` (nothing is extracted) for invalid YAML, fields of the wrong
    type, unknown kinds or levels, duplicate plan ids, and paths that are missing or lead
    outside ``raw/``.
    """
    raw_dir = raw_dir.resolve()
    if not raw_dir.is_dir():
        raise ManifestError(f"raw directory {raw_dir} does not exist")
    manifest = Manifest(raw_dir=raw_dir)
    path = raw_dir / MANIFEST
    spec, text = _read_spec(path, manifest)
    listed: set[Path] = set()
    plan_lines, doc_lines = _item_lines(text)
    for n, entry in enumerate(spec.get("plans") or []):
        line = plan_lines[n] if n < len(plan_lines) else "?"
        plan = _plan(entry, f"{path.name} line {line}", n, manifest)
        manifest.plans[plan.plan_id] = plan
        dlines = doc_lines.get(n, [])
        for k, d in enumerate(entry.get("documents") or []):
            where = f"{path.name} line {dlines[k] if k < len(dlines) else '?'}"
            manifest.documents.append(_document(d, where, plan.plan_id, raw_dir, prefer, listed))
    budget = _limits(spec.get("limits") or {}, path.name)
    _discover_unlisted(manifest, listed)
    if budget:
        manifest.documents = [dataclasses.replace(d, limits=budget) for d in manifest.documents]
    if pdf_engine:
        manifest.documents = [
            dataclasses.replace(d, pdf_engine=pdf_engine) if d.path.suffix.lower() == ".pdf" else d
            for d in manifest.documents
        ]
    return manifest


MAX_MANIFEST_BYTES = 5_000_000  # a manifest of tens of thousands of documents is far smaller


def _read_spec(path: Path, manifest: Manifest) -> tuple[dict[str, Any], str]:
    """The parsed sources.yaml and its text ({} and a warning when there is none)."""
    if not path.exists():
        manifest.warnings.append(f"{path} not found: every document is auto-detected")
        return {}, ""
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ManifestError(
            f"{path}: {path.stat().st_size:,} bytes — larger than a manifest can be ({MAX_MANIFEST_BYTES:,})"
        )
    text = path.read_text(encoding="utf-8-sig")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for event in yaml.parse(text, Loader=loader):  # aliases (*name) could expand a field a billion-fold
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise ManifestError(
                    f"{path}: line {line}: YAML aliases (*{event.anchor}) are not allowed here"
                )
        spec = yaml.load(text, Loader=loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ManifestError(f"{path}:{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("plans", []), list):
        raise ManifestError(f"{path}: expected a mapping with a list under 'plans:'")
    return spec, text


def _text(entry: dict[str, Any], name: str, where: str) -> str | None:
    """A text field of a plan entry: a string or absent (a number or a list is an error)."""
    value = entry.get(name)
    if value is not None and not isinstance(value, str):
        raise ManifestError(f"{where}: {name} must be text, not {type(value).__name__} {value!r}")
    return value


def _plan(entry: Any, where: str, n: int, manifest: Manifest) -> Plan:
    """One ``plans:`` entry, its fields checked."""
    if not isinstance(entry, dict) or not entry.get("plan_id"):
        raise ManifestError(f"{where}: plan #{n + 1} has no plan_id")
    pid = str(entry["plan_id"])
    where = f"{where} (plan {pid})"
    if pid in manifest.plans:
        raise ManifestError(f"{where}: duplicate plan_id {pid!r}")
    level = entry.get("level")
    if level is not None and level not in LEVELS:
        raise ManifestError(f"{where}: level {level!r} is not one of {', '.join(LEVELS)}")
    fy = entry.get("fiscal_years")
    if fy is not None and (
        not isinstance(fy, list) or len(fy) != 2 or not all(isinstance(y, int) for y in fy)
    ):
        raise ManifestError(f"{where}: fiscal_years must be [first, last], e.g. [2023, 2027]")
    directions = entry.get("indicator_directions") or {}
    if not isinstance(directions, dict) or any(v not in ("higher", "lower") for v in directions.values()):
        raise ManifestError(f"{where}: indicator_directions maps indicator names to higher or lower")
    if not isinstance(entry.get("documents") or [], list):
        raise ManifestError(f"{where}: documents must be a list")
    issuer, prefecture, title, rule = (
        _text(entry, f, where) for f in ("issuer", "prefecture", "title", "grading_rule")
    )
    return Plan(
        pid,
        issuer,
        level,
        prefecture,
        title,
        tuple(fy) if fy else None,
        tuple(sorted(directions.items())),
        rule,
    )


def _document(
    d: Any, where: str, plan_id: str, raw_dir: Path, prefer: str | None, listed: set[Path]
) -> DocumentSpec:
    """One ``documents:`` entry: its path (and alternates) resolved inside raw/, its kind known."""
    rel = str(d.get("path", "")) if isinstance(d, dict) else str(d)
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind is not None and kind not in KINDS:
        raise ManifestError(f"{where}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    alternates = [str(a) for a in (d.get("alternates") or [])] if isinstance(d, dict) else []
    for candidate in [rel, *alternates]:
        resolved = _inside(raw_dir, candidate, where)
        if resolved in listed:
            raise ManifestError(f"{where}: {candidate!r} is listed twice")
        listed.add(resolved)
    chosen = next((a for a in [rel, *alternates] if prefer and _format_of(a) == prefer), rel)
    others = tuple(Path(a).as_posix() for a in [rel, *alternates] if a != chosen)
    password = d.get("password") if isinstance(d, dict) else None
    ocr = d.get("ocr") if isinstance(d, dict) else None
    if ocr is not None and not isinstance(ocr, bool):
        raise ManifestError(f"{where}: ocr takes true or false, not {ocr!r}")
    return DocumentSpec(
        raw_dir / chosen,
        Path(chosen).as_posix(),
        plan_id,
        kind,
        None if password is None else str(password),
        alternates=others,
        pdf_engine="ocr" if ocr else None,  # ocr: true reads every page from its image
    )


def _limits(limits: Any, name: str) -> PdfLimits | None:
    """``limits:`` (page and time budget per document), checked."""
    if (
        not isinstance(limits, dict)
        or set(limits) - {"max_pages", "max_seconds"}
        or not all(isinstance(v, int | float) and v > 0 for v in limits.values())
    ):
        raise ManifestError(f"{name}: limits takes max_pages and max_seconds, positive numbers")
    return PdfLimits(**limits) if limits else None


def _discover_unlisted(manifest: Manifest, listed: set[Path]) -> None:
    raw_dir = manifest.raw_dir  # resolved: a listed file is usually found as is, without resolving
    by_dir = {d.path.parent: d.plan_id for d in manifest.documents}
    for f in sorted(raw_dir.rglob("*")):
        if f.suffix.lower() not in DOCUMENT_SUFFIXES or f in listed or f.name.startswith("."):
            continue
        if not f.is_file() or f.name == MANIFEST or f.resolve() in listed:
            continue
        if f.is_symlink() and not f.resolve().is_relative_to(raw_dir):
            manifest.warnings.append(f"{f.relative_to(raw_dir)}: symlink pointing outside raw/ — skipped")
            continue
        rel = f.relative_to(raw_dir).as_posix()
        plan_id = by_dir.get(f.parent, by_dir.get(f.parent.resolve()))
        if plan_id is None:
            plan_id = (f.parent.name if f.parent != raw_dir else f.stem).lower()
            manifest.plans.setdefault(plan_id, Plan(plan_id))
        manifest.warnings.append(f"{rel}: not listed in {MANIFEST}; kind auto-detected, plan {plan_id!r}")
        manifest.documents.append(DocumentSpec(f, rel, plan_id, None, None, listed=False))
