"""Rules across rows and documents: each rule turns the curated tables into check rows
(``ok`` True/False with a sentence a municipal officer can act on). The rows are then run
through Great Expectations (:mod:`pipeline.validate.gx`), one expectation per rule.

Rules are general: they compare codes, titles, numbers and references; none names a
document, a row or a string of one document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core.names import name_key

Records = dict[str, list[dict[str, Any]]]


@dataclass
class Check:
    """One finding of a rule: ``ok`` or not, in words. ``rule`` is set by :func:`run_rules`
    from the name the rule was registered under (a rule never names itself twice)."""

    ok: bool
    details: str
    plan_id: str | None = None
    source_doc_id: str | None = None
    source_page: int | None = None
    source_row: int | None = None
    rule: str = ""

    def record(self) -> dict[str, Any]:
        return {"rule": self.rule, **{k: v for k, v in self.__dict__.items() if k != "rule"}}


RuleFn = Callable[["Context"], Iterable[Check]]
RULES: dict[str, RuleFn] = {}


def rule(name: str) -> Callable[[RuleFn], RuleFn]:
    """Register a rule under ``name`` (its entry in ``schemas/suites.yaml`` ``rules:``)."""

    def register(fn: RuleFn) -> RuleFn:
        if name in RULES:
            raise ValueError(f"rule {name!r} registered twice")
        RULES[name] = fn
        return fn

    return register


key = name_key  # the one compare form of names and titles (core.names)


class Context:
    """The tables of a run, with helpers to say where a row comes from."""

    def __init__(self, tables: Records):
        self.t = tables
        docs = tables.get("documents", [])
        self.doc_path = {d["doc_id"]: d["source_path"] for d in docs}
        self.doc_kind = {d["doc_id"]: d.get("kind") for d in docs}
        self.plans = {p["plan_id"]: p for p in tables.get("plans", [])}

    def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        """Rows of ``table`` matching ``where`` (indexed by plan_id / source_doc_id when given)."""
        for field in ("source_doc_id", "plan_id"):
            if field in where:
                base = self.index(table, field).get(where[field], [])
                rest = {k: v for k, v in where.items() if k != field}
                return [r for r in base if all(r.get(k) == v for k, v in rest.items())]
        return [r for r in self.t.get(table, []) if all(r.get(k) == v for k, v in where.items())]

    def index(self, table: str, field: str) -> dict[Any, list[dict[str, Any]]]:
        """``table`` grouped by ``field`` (built once per context)."""
        cache = self.__dict__.setdefault("_index", {})
        if (table, field) not in cache:
            groups: dict[Any, list[dict[str, Any]]] = {}
            for r in self.t.get(table, []):
                groups.setdefault(r.get(field), []).append(r)
            cache[(table, field)] = groups
        return cache[(table, field)]

    def docs_of(self, table: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Rows of ``table`` grouped by (plan_id, source_doc_id)."""
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in self.t.get(table, []):
            out.setdefault((r.get("plan_id"), r.get("source_doc_id")), []).append(r)
        return out

    def where(self, rec: dict[str, Any] | None, doc: str | None = None) -> str:
        if rec is None:
            return self.doc_path.get(doc or "", "?")
        path = self.doc_path.get(rec.get("source_doc_id") or doc or "", "?")
        if rec.get("source_page"):
            return f"{path} p.{rec['source_page']}"
        if rec.get("source_row"):
            return f"{path} line {rec['source_row']}"
        return path

    def check(
        self,
        ok: bool,
        details: str,
        rec: dict[str, Any] | None = None,
        plan_id: str | None = None,
        doc: str | None = None,
    ) -> Check:
        rec = rec or {}
        return Check(
            bool(ok),
            details,
            plan_id or rec.get("plan_id"),
            doc or rec.get("source_doc_id"),
            rec.get("source_page"),
            rec.get("source_row"),
        )


def registered() -> dict[str, RuleFn]:
    """Every rule, by name (importing the rule modules registers them)."""
    from . import codes, evaluation, ocr, plan, sheets  # noqa: F401

    return RULES


def run_rules(tables: Records, only: Iterable[str] | None = None) -> list[Check]:
    """Every registered rule over ``tables`` (or the named ones); each check carries its rule."""
    rules = registered()
    ctx = Context(tables)
    out: list[Check] = []
    for name in list(only) if only is not None else list(rules):
        for check in rules[name](ctx):
            check.rule = name
            out.append(check)
    return out
