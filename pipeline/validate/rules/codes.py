"""Rules on codes and references: sequences, KPI codes, 再掲 cross-references."""

from __future__ import annotations

from collections.abc import Iterator

from rapidfuzz import fuzz

from core.names import SAME_TEXT

from . import Check, Context, key, rule


def _sequence_problem(numbers: list[int]) -> str | None:
    """None when ``numbers`` are 1, 2, 3 … in order; else what is wrong."""
    expected = list(range(1, len(numbers) + 1))
    if numbers == expected:
        return None
    seen = set(numbers)
    missing = [n for n in range(1, max(numbers, default=0) + 1) if n not in seen]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    parts = []
    if missing:
        parts.append(f"missing {', '.join(map(str, missing))}")
    if repeated:
        parts.append(f"repeated {', '.join(map(str, repeated))}")
    if not parts:
        parts.append("out of order")
    return f"{', '.join(map(str, numbers))} ({'; '.join(parts)})"


@rule("codes_policy_sequence")
def policy_sequence(ctx: Context) -> Iterator[Check]:
    for (plan_id, doc), rows in ctx.docs_of("policies").items():
        problem = _sequence_problem([int(r["policy_code"]) for r in rows if r["policy_code"].isdigit()])
        yield ctx.check(
            problem is None,
            f"{ctx.where(None, doc)}: policy codes {problem}",
            plan_id=plan_id,
            doc=doc,
        )


@rule("codes_measure_sequence")
def measure_sequence(ctx: Context) -> Iterator[Check]:
    for (plan_id, doc), rows in ctx.docs_of("measures").items():
        groups: dict[tuple[str, str], list[int]] = {}
        for r in rows:
            *parent, last = r["measure_code"].split(".")
            if last.isdigit():
                groups.setdefault((r["policy_code"], ".".join(parent)), []).append(int(last))
        for (policy, parent), numbers in groups.items():
            problem = _sequence_problem(numbers)
            scope = f"policy {policy}" + (f", measure {parent}" if parent else "")
            yield ctx.check(
                problem is None,
                f"{ctx.where(None, doc)}: measure codes of {scope}: {problem}",
                plan_id=plan_id,
                doc=doc,
            )


@rule("codes_initiative_sequence")
def initiative_sequence(ctx: Context) -> Iterator[Check]:
    for rows in ctx.docs_of("initiatives").values():
        groups: dict[tuple[str, str], list[dict]] = {}
        for r in rows:
            if r.get("initiative_code"):
                groups.setdefault((r["policy_code"], r["measure_code"]), []).append(r)
        for (policy, measure), items in groups.items():
            letters = [r["initiative_code"] for r in items]
            # a code that is not one letter (its own finding elsewhere) counts as 0: out of sequence
            problem = _sequence_problem([ord(c) - ord("a") + 1 if len(c) == 1 else 0 for c in letters])
            yield ctx.check(
                problem is None,
                f"{ctx.where(items[0])}: initiatives of measure {policy}-{measure} are lettered "
                f"{', '.join(letters)} instead of a, b, c …",
                items[0],
            )


@rule("codes_row_numbers")
def row_numbers(ctx: Context) -> Iterator[Check]:
    for (plan_id, doc), rows in ctx.docs_of("initiatives").items():
        numbers = [r["row_number"] for r in rows if r.get("row_number") is not None]
        if numbers:
            problem = _sequence_problem(numbers)
            yield ctx.check(
                problem is None,
                f"{ctx.where(None, doc)}: row numbers {str(problem)[:200]}",
                plan_id=plan_id,
                doc=doc,
            )


def _canonical_refs(ctx: Context, plan_id: str) -> dict[str, list[dict]]:
    refs: dict[str, list[dict]] = {}
    for r in ctx.rows("kpi_references", plan_id=plan_id):
        refs.setdefault(r["indicator_code"], []).append(r)
    return refs


def _plans_with_refs(ctx: Context) -> list[str]:
    return sorted({r["plan_id"] for r in ctx.t.get("kpi_references", [])})


@rule("kpi_code_policy_exists")
def kpi_code_policy(ctx: Context) -> Iterator[Check]:
    for plan_id in _plans_with_refs(ctx):
        policies = {p["policy_code"] for p in ctx.rows("policies", plan_id=plan_id)}
        for code, refs in sorted(_canonical_refs(ctx, plan_id).items()):
            policy = code.split("-")[0]
            rows = ", ".join(str(r["row_number"]) for r in refs)
            yield ctx.check(
                policy in policies,
                f"{ctx.where(refs[0])}: KPI code {code} (rows {rows}) names policy {policy}, "
                f"which the plan does not have",
                refs[0],
            )


@rule("kpi_code_indicator_exists")
def kpi_code_indicator(ctx: Context) -> Iterator[Check]:
    for plan_id in _plans_with_refs(ctx):
        codes = {i.get("indicator_code") for i in ctx.rows("indicators", plan_id=plan_id)}
        for code, refs in sorted(_canonical_refs(ctx, plan_id).items()):
            yield ctx.check(
                code in codes,
                f"{ctx.where(refs[0])}: KPI code {code} ({refs[0]['name']}) matches no indicator "
                f"of the progress sheets",
                refs[0],
            )


@rule("kpi_code_single_name")
def kpi_code_single_name(ctx: Context) -> Iterator[Check]:
    for plan_id in _plans_with_refs(ctx):
        for code, refs in sorted(_canonical_refs(ctx, plan_id).items()):
            names: dict[str, list[int]] = {}
            for r in refs:
                names.setdefault(r["name"] or "", []).append(r["row_number"])
            distinct = {key(n) for n in names}
            spelled = "; ".join(f"「{n}」 (rows {', '.join(map(str, rows))})" for n, rows in names.items())
            yield ctx.check(
                len(distinct) <= 1,
                f"{ctx.where(refs[0])}: KPI code {code} is cited as {spelled}",
                refs[0],
            )


def _name_for_code(refs: list[dict]) -> str:
    with_unit = [r["name"] for r in refs if r.get("unit") and r.get("name")]
    names = with_unit or [r["name"] for r in refs if r.get("name")]
    return max(set(names), key=names.count) if names else ""


@rule("kpi_name_agrees")
def kpi_name_agrees(ctx: Context) -> Iterator[Check]:
    for plan_id in _plans_with_refs(ctx):
        refs = _canonical_refs(ctx, plan_id)
        for ind in ctx.rows("indicators", plan_id=plan_id, indicator_type="kpi"):
            code = ind.get("indicator_code")
            if not code or code not in refs:
                continue
            cited = _name_for_code(refs[code])
            yield ctx.check(
                key(cited) == key(ind["name"]),
                f"KPI {code} is 「{ind['name']}」 on the sheets ({ctx.where(ind)}) but "
                f"「{cited}」 in the action plan",
                ind,
            )


@rule("kpi_cited")
def kpi_cited(ctx: Context) -> Iterator[Check]:
    for plan_id in _plans_with_refs(ctx):
        for ind in ctx.rows("indicators", plan_id=plan_id, indicator_type="kpi"):
            yield ctx.check(
                bool(ind.get("indicator_code")),
                f"{ctx.where(ind)}: KPI 「{ind['name']}」 of policy {ind['policy_code']} is cited by no "
                f"KPI code of that policy in the action plan",
                ind,
            )


def _by_path(rows: list[dict]) -> dict[str, dict]:
    return {
        f"{r['policy_code']}-{r['measure_code']}-{r['initiative_code']}": r
        for r in rows
        if r.get("initiative_code")
    }


@rule("repost_resolves")
def repost_resolves(ctx: Context) -> Iterator[Check]:
    for rows in ctx.docs_of("initiatives").values():
        paths = _by_path(rows)
        for path, r in paths.items():
            targets = [r["reposted_from"]] if r.get("reposted_from") else []
            targets += list(r.get("reposted_to") or [])
            for t in targets:
                yield ctx.check(
                    t in paths,
                    f"{ctx.where(r)}: initiative {path} refers to {t} (再掲), which does not exist",
                    r,
                )


@rule("repost_ends_agree")
def repost_ends_agree(ctx: Context) -> Iterator[Check]:
    for rows in ctx.docs_of("initiatives").values():
        paths = _by_path(rows)
        for path, r in paths.items():
            for target in r.get("reposted_to") or []:
                other = paths.get(target)
                if other is None:
                    continue
                says = other.get("reposted_from")
                yield ctx.check(
                    says == path,
                    f"{ctx.where(r)}: {path} says it is reposted at {target}, but {target} "
                    + (f"says it is the repost of {says}" if says else "does not say it is a repost"),
                    r,
                )
            original = paths.get(r.get("reposted_from") or "")
            if original is not None and path not in (original.get("reposted_to") or []):
                yield ctx.check(
                    False,
                    f"{ctx.where(r)}: {path} is the repost of {r['reposted_from']}, but "
                    f"{r['reposted_from']} does not name {path} among its reposts",
                    r,
                )


def _strip_repost_note(text: str | None) -> str:
    import re

    return key(re.sub(r"[（(][^()（）]*再掲[^()（）]*[)）]", "", text or ""))


@rule("repost_same_text")
def repost_same_text(ctx: Context) -> Iterator[Check]:
    for rows in ctx.docs_of("initiatives").values():
        paths = _by_path(rows)
        for path, r in paths.items():
            original = paths.get(r.get("reposted_from") or "")
            if original is None:
                continue
            score = fuzz.ratio(
                _strip_repost_note(r.get("description")), _strip_repost_note(original.get("description"))
            )
            yield ctx.check(
                score >= SAME_TEXT,
                f"{ctx.where(r)}: {path} (再掲 of {r['reposted_from']}) words its text differently "
                f"({score:.0f}% alike): 「{(r.get('description') or '')[:60]}…」",
                r,
            )
