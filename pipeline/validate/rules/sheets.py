"""Rules within one document: what its sheets repeat, its numbers and its declared counts."""

from __future__ import annotations

from collections.abc import Iterator

from . import Check, Context, key, rule


def _variants(rows: list[dict], field: str) -> dict[str, list[str]]:
    """Distinct values of ``field`` (compared without spaces/punctuation) → where each is printed."""
    seen: dict[str, tuple[str, list[str]]] = {}
    for r in rows:
        value = r.get(field) or ""
        k = key(value)
        seen.setdefault(k, (value, []))[1].append(
            f"sheet {r['sheet_no']}" + (f" p.{r['source_page']}" if r.get("source_page") else "")
        )
    return {value: places for value, places in seen.values()}


def _same_on_every_sheet(ctx: Context, field: str, label: str) -> Iterator[Check]:
    for (plan_id, doc), rows in ctx.docs_of("sheets").items():
        groups: dict[str, list[dict]] = {}
        for r in rows:
            groups.setdefault(r["policy_code"], []).append(r)
        for policy, items in groups.items():
            variants = _variants(items, field)
            text = "; ".join(f"「{v}」 on {', '.join(p)}" for v, p in variants.items())
            yield ctx.check(
                len(variants) <= 1,
                f"{ctx.where(None, doc)}: policy {policy} has {len(variants)} different {label}: {text}",
                plan_id=plan_id,
                doc=doc,
            )


@rule("sheet_policy_title")
def sheet_policy_title(ctx: Context) -> Iterator[Check]:
    yield from _same_on_every_sheet(ctx, "policy_title", "policy titles")


@rule("sheet_direction")
def sheet_direction(ctx: Context) -> Iterator[Check]:
    yield from _same_on_every_sheet(ctx, "direction", "方向性 texts")


@rule("sheet_grading_rules")
def sheet_grading_rules(ctx: Context) -> Iterator[Check]:
    yield from _same_on_every_sheet(ctx, "indicator_grade_rule", "指標評価 rules")
    yield from _same_on_every_sheet(ctx, "overall_rule", "総合評価 scales")


@rule("sheet_titles")
def sheet_titles(ctx: Context) -> Iterator[Check]:
    for (plan_id, doc), rows in ctx.docs_of("sheets").items():
        variants = _variants(rows, "sheet_title")
        text = "; ".join(
            f"「{v}」 on {len(p)} sheets ({', '.join(p[:6])}{' …' if len(p) > 6 else ''})"
            for v, p in variants.items()
        )
        yield ctx.check(
            len(variants) <= 1,
            f"{ctx.where(None, doc)}: sheet titles differ: {text}",
            plan_id=plan_id,
            doc=doc,
        )


@rule("indicator_same_numbers")
def indicator_same_numbers(ctx: Context) -> Iterator[Check]:
    for rows in ctx.docs_of("indicator_occurrences").values():
        groups: dict[str, list[dict]] = {}
        for r in rows:
            groups.setdefault(r["indicator_id"], []).append(r)
        for items in groups.values():
            printed = {(r.get("unit"), r.get("baseline_text"), r.get("target_text")) for r in items}
            text = "; ".join(
                f"sheet {r['sheet_no']}: {r.get('baseline_text')} / {r.get('target_text')} {r.get('unit')}"
                for r in items
            )
            yield ctx.check(
                len(printed) <= 1,
                f"{ctx.where(items[0])}: 「{items[0]['name']}」 is printed with different numbers "
                f"(baseline / target unit): {text}",
                items[0],
            )


@rule("indicator_repeated_marked")
def indicator_repeated_marked(ctx: Context) -> Iterator[Check]:
    for rows in ctx.docs_of("indicators").values():
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in rows:
            groups.setdefault((r["indicator_type"], key(r["name"])), []).append(r)
        for items in groups.values():
            if len({r["policy_code"] for r in items}) < 2:
                continue
            items = sorted(items, key=lambda r: [int(p) for p in r["policy_code"].split(".") if p.isdigit()])
            first, *later = items
            numbers = {
                (r.get("unit"), r.get("baseline_value"), r.get("target_value"), r.get("cumulative_target"))
                for r in items
            }
            yield ctx.check(
                len(numbers) == 1,
                f"{ctx.where(first)}: 「{first['name']}」 is printed in policies "
                f"{', '.join(r['policy_code'] for r in items)} with different numbers",
                first,
            )
            for r in later:
                yield ctx.check(
                    bool(r.get("is_reposted")),
                    f"{ctx.where(r)}: 「{r['name']}」 of policy {r['policy_code']} repeats the indicator "
                    f"of policy {first['policy_code']} without 【再掲】",
                    r,
                )


@rule("indicator_latest_value")
def indicator_latest_value(ctx: Context) -> Iterator[Check]:
    with_value = {v["indicator_id"] for v in ctx.t.get("indicator_values", []) if v.get("kind") == "latest"}
    for rows in ctx.docs_of("indicators").values():
        reported_types = {r["indicator_type"] for r in rows if r["indicator_id"] in with_value}
        for r in rows:
            if r["indicator_type"] in reported_types:
                yield ctx.check(
                    r["indicator_id"] in with_value,
                    f"{ctx.where(r)}: {r['indicator_type']} indicator 「{r['name']}」 "
                    f"(measure {r.get('measure_code')}) has no latest value",
                    r,
                )


@rule("declared_counts_match")
def declared_counts_match(ctx: Context) -> Iterator[Check]:
    for (_, doc), rows in ctx.docs_of("declared_counts").items():
        indicators = ctx.rows("indicators", source_doc_id=doc)
        for d in rows:
            found = [
                i
                for i in indicators
                if i["indicator_type"] == d["indicator_type"]
                and (d["scope"] == "total" or i["policy_code"] == d["scope"])
            ]
            scope = "in total" if d["scope"] == "total" else f"for direction {d['scope']}"
            yield ctx.check(
                len(found) == d["declared_count"],
                f"{ctx.where(d)}: the document declares {d['declared_count']} {d['indicator_type']} "
                f"indicators {scope}; {len(found)} were extracted",
                d,
            )


@rule("schedule_in_plan_period")
def schedule_in_plan_period(ctx: Context) -> Iterator[Check]:
    for (plan_id, doc), rows in ctx.docs_of("schedule_items").items():
        plan = ctx.plans.get(plan_id) or {}
        first, last = plan.get("first_fiscal_year"), plan.get("last_fiscal_year")
        if first is None or last is None:
            continue
        outside = sorted({r["fiscal_year"] for r in rows if not first <= r["fiscal_year"] <= last})
        yield ctx.check(
            not outside,
            f"{ctx.where(None, doc)}: schedule years {outside} lie outside the plan period {first}–{last}",
            plan_id=plan_id,
            doc=doc,
        )
