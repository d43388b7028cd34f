"""Rules on actuals and evaluations: stated vs computed, unknown indicators, one source a year."""

from __future__ import annotations

from collections.abc import Iterator

from extractors.parsers.actuals import KIND as ACTUALS
from extractors.parsers.actuals import NOT_A_NUMBER
from pipeline.derive.grading import NOT_UNDERSTOOD

from . import Check, Context, rule


@rule("evaluation_matches_document")
def evaluation_matches_document(ctx: Context) -> Iterator[Check]:
    names = {i["indicator_id"]: i["name"] for i in ctx.t.get("indicators", [])}
    for e in ctx.t.get("evaluations", []):
        stated_rate, stated_grade = e.get("stated_rate"), e.get("stated_grade")
        if stated_rate is None and not stated_grade:
            continue
        problems = []
        if (
            stated_rate is not None
            and e.get("achievement_rate") is not None
            and abs(stated_rate - e["achievement_rate"]) > 0.5
        ):
            problems.append(f"達成率 {stated_rate:g}% printed, {e['achievement_rate']:g}% computed")
        if stated_grade and e.get("grade") and stated_grade != e["grade"]:
            problems.append(f"指標評価 {stated_grade} printed, {e['grade']} by the rule 「{e.get('rule')}」")
        yield ctx.check(
            not problems,
            f"{ctx.where(e)}: {names.get(e['indicator_id'], e['indicator_id'])} FY{e['fiscal_year']}: "
            f"{'; '.join(problems)} (actual {e['actual_value']:g}, target {e.get('target_value')})",
            e,
        )


@rule("evaluation_rule_understood")
def evaluation_rule_understood(ctx: Context) -> Iterator[Check]:
    """One finding per printed grading rule that was not understood (its actuals stay ungraded)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for e in ctx.t.get("evaluations", []):
        groups.setdefault((e["plan_id"], e.get("rule") or ""), []).append(e)
    for (plan_id, text), rows in groups.items():
        missed = [e for e in rows if NOT_UNDERSTOOD in (e.get("basis") or "")]
        years = ", ".join(sorted({f"FY{e['fiscal_year']}" for e in missed}))
        yield ctx.check(
            not missed,
            f"{ctx.where(missed[0] if missed else rows[0])}: the grading rule 「{text}」 is not understood: "
            f"{len(missed)} actuals not graded ({years})",
            plan_id=plan_id,
            doc=(missed or rows)[0].get("source_doc_id"),
        )


@rule("actuals_known_indicator")
def actuals_known_indicator(ctx: Context) -> Iterator[Check]:
    known = {i["indicator_id"] for i in ctx.t.get("indicators", [])}
    for v in ctx.t.get("indicator_values", []):
        if v.get("kind") == "actual":
            yield ctx.check(
                v["indicator_id"] in known,
                f"{ctx.where(v)}: an actual ({v['value']:g}) is given for indicator id {v['indicator_id']}, "
                f"which plan {v['plan_id']} does not have (a workbook of another plan?)",
                v,
            )


@rule("actuals_single_source")
def actuals_single_source(ctx: Context) -> Iterator[Check]:
    sources: dict[tuple, list[dict]] = {}
    for v in ctx.t.get("indicator_values", []):
        if v.get("kind") == "actual":
            sources.setdefault((v["indicator_id"], v.get("fiscal_year")), []).append(v)
    for (_, year), items in sources.items():
        docs = {v["source_doc_id"] for v in items}
        yield ctx.check(
            len(docs) <= 1,
            f"FY{year}: {len(docs)} documents give an actual for the same indicator: "
            + "; ".join(f"{v['value']:g} ({ctx.where(v)})" for v in items)
            + " — the last document (by path) is used",
            items[-1],
        )


@rule("actuals_are_numbers")
def actuals_are_numbers(ctx: Context) -> Iterator[Check]:
    """Every 実績 typed in an actuals workbook is a number (``18人``, ``未集計`` are not loaded:
    the parser lists their cells in ``unparsed_cells`` with :data:`NOT_A_NUMBER`)."""
    for doc in ctx.t.get("documents", []):
        if doc.get("kind") != ACTUALS:
            continue
        cells = [
            c
            for c in ctx.rows("unparsed_cells", source_doc_id=doc["doc_id"])
            if (c.get("reason") or "").startswith(NOT_A_NUMBER)
        ]
        for c in cells:
            where = f"{doc['source_path']} sheet {c['source_page']} row {c['source_row']}"
            yield ctx.check(False, f"{where}: {c['reason']} — not loaded", c)
        if not cells:
            yield ctx.check(True, f"{doc['source_path']}: every actual is a number", doc, doc["plan_id"])
