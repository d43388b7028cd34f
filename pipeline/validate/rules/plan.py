"""Rules across the documents of one plan (progress sheets vs action plan) and on
initiatives' names and fields."""

from __future__ import annotations

from collections.abc import Iterator

from rapidfuzz import fuzz

from core.names import INITIATIVE_MATCH, SAME_ACTIVITY, SAME_TEXT
from pipeline.derive.link import best_initiative_match

from . import Check, Context, key, rule


def _titles_agree(ctx: Context, table: str, code_fields: tuple[str, ...], label: str) -> Iterator[Check]:
    by_plan: dict[str, dict[tuple, list[dict]]] = {}
    for r in ctx.t.get(table, []):
        by_plan.setdefault(r["plan_id"], {}).setdefault(tuple(r[f] for f in code_fields), []).append(r)
    for groups in by_plan.values():
        if len({r["source_doc_id"] for rs in groups.values() for r in rs}) < 2:
            continue
        for codes, rows in sorted(groups.items()):
            titles = {key(r["title"]) for r in rows}
            text = "; ".join(f"「{r['title']}」 ({ctx.where(r)})" for r in rows)
            yield ctx.check(
                len(titles) <= 1,
                f"{label} {'-'.join(codes)} is titled differently: {text}",
                rows[0],
            )


@rule("plan_policy_titles")
def plan_policy_titles(ctx: Context) -> Iterator[Check]:
    yield from _titles_agree(ctx, "policies", ("policy_code",), "policy")


@rule("plan_measure_titles")
def plan_measure_titles(ctx: Context) -> Iterator[Check]:
    yield from _titles_agree(ctx, "measures", ("policy_code", "measure_code"), "measure")


def _docs_by_kind(ctx: Context, plan_id: str, kind: str) -> set[str]:
    return {
        r["source_doc_id"]
        for r in ctx.rows("initiatives", plan_id=plan_id)
        if ctx.doc_kind.get(r["source_doc_id"]) == kind
    }


def matched_initiatives(ctx: Context) -> Iterator[tuple[dict, dict | None, float]]:
    """Each progress-sheet initiative with its best action-plan row of the same measure."""
    for plan_id in sorted(ctx.plans):
        sheets, plans = (
            _docs_by_kind(ctx, plan_id, "progress_sheets"),
            _docs_by_kind(ctx, plan_id, "action_plan"),
        )
        if not sheets or not plans:
            continue
        by_measure: dict[tuple[str, str], list[dict]] = {}
        for r in ctx.rows("initiatives", plan_id=plan_id):
            if r["source_doc_id"] in plans:
                by_measure.setdefault((r["policy_code"], r["measure_code"]), []).append(r)
        for ini in (r for r in ctx.rows("initiatives", plan_id=plan_id) if r["source_doc_id"] in sheets):
            score, best = best_initiative_match(
                ini["title"], by_measure.get((ini["policy_code"], ini["measure_code"]), [])
            )
            yield ini, best, score


@rule("plan_initiative_match")
def plan_initiative_match(ctx: Context) -> Iterator[Check]:
    for ini, best, score in matched_initiatives(ctx):
        hint = f" (closest: row {best['row_number']} 「{best['title']}」, {score:.0f}% alike)" if best else ""
        yield ctx.check(
            best is not None and score >= INITIATIVE_MATCH,
            f"{ctx.where(ini)}: initiative 「{ini['title']}」 of measure {ini['policy_code']}-"
            f"{ini['measure_code']} matches no action-plan row{hint}",
            ini,
        )


def _years(ctx: Context, rec: dict) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for s in ctx.rows("schedule_items", source_doc_id=rec["source_doc_id"]):
        if (s["policy_code"], s["measure_code"], s["initiative_seq"]) == (
            rec["policy_code"],
            rec["measure_code"],
            rec["seq"],
        ):
            out.setdefault(s["fiscal_year"], set()).add(s["activity"])
    return out


@rule("plan_schedule_agrees")
def plan_schedule_agrees(ctx: Context) -> Iterator[Check]:
    for ini, best, score in matched_initiatives(ctx):
        if best is None or score < INITIATIVE_MATCH:
            continue
        a, b = _years(ctx, ini), _years(ctx, best)
        differing: list[tuple[int, str]] = []
        for year in sorted(set(a) | set(b)):
            left, right = a.get(year, set()), b.get(year, set())
            alike = any(fuzz.partial_ratio(key(x), key(y)) >= SAME_ACTIVITY for x in left for y in right)
            if not alike:
                differing.append(
                    (
                        year,
                        f"sheets 「{'／'.join(sorted(left)) or '—'}」, action plan "
                        f"「{'／'.join(sorted(right)) or '—'}」",
                    )
                )
        differing = _merge_years(differing)
        yield ctx.check(
            not differing,
            f"{ctx.where(ini)}: schedule of 「{ini['title']}」 differs from action-plan row "
            f"{best['row_number']}: {'; '.join(differing)}",
            ini,
        )


def _merge_years(items: list[tuple[int, str]]) -> list[str]:
    """[(2023, x), (2024, x), (2026, y)] → ["2023–2024: x", "2026: y"]."""
    out: list[list] = []
    for year, text in items:
        if out and out[-1][2] == text and out[-1][1] == year - 1:
            out[-1][1] = year
        else:
            out.append([year, year, text])
    return [f"{a}{'' if a == b else f'–{b}'}: {t}" for a, b, t in out]


@rule("initiative_unique_names")
def initiative_unique_names(ctx: Context) -> Iterator[Check]:
    for rows in ctx.docs_of("initiatives").values():
        groups: dict[str, list[dict]] = {}
        for r in rows:
            if r.get("description") and not r.get("reposted_from"):
                groups.setdefault(key(r["title"]), []).append(r)
        for items in groups.values():
            if len(items) < 2:
                continue
            first, *others = items
            for r in others:
                alike = fuzz.ratio(key(first["description"]), key(r["description"]))
                yield ctx.check(
                    alike >= SAME_TEXT,
                    f"{ctx.where(r)}: row {r.get('row_number')} and row {first.get('row_number')} share the "
                    f"short name 「{r['title']}」 but describe different work ({alike:.0f}% alike) — "
                    f"a copied name?",
                    r,
                )


@rule("initiative_fields_present")
def initiative_fields_present(ctx: Context) -> Iterator[Check]:
    for r in ctx.t.get("initiatives", []):
        if ctx.doc_kind.get(r["source_doc_id"]) != "action_plan" or r.get("reposted_from"):
            continue
        missing = [
            label
            for field, label in (
                ("relation_to_previous_plan", "relation to the previous plan"),
                ("implementation_policy", "実施方針区分"),
            )
            if not r.get(field)
        ]
        yield ctx.check(
            not missing,
            f"{ctx.where(r)}: row {r.get('row_number')} 「{r['title']}」 states no {' and no '.join(missing)}",
            r,
        )
