"""Evaluate stage: achievement rate and grade of each KPI actual, by the document's own rule.

Decisions (also in the README):

* **Rate** = actual ÷ target × 100 against the year's 目標 figure (the annual target the
  sheet prints for that year, not the cumulative one in parentheses). Percent indicators
  are rated the same way (40% against a 50% target → 80%).
* **Lower is better** (倒産件数, 失業率 …): rate = target ÷ actual × 100 — at target → 100%,
  above target → below 100%.
* **Bands** from the printed rule (``指標評価:100%以上=A、99%~80%=B、79%以下=C``): each band
  starts at its lower bound; a rate below one band's bound falls to the band below, so the
  printed gaps (99–100, 79–80) go down: 99.5% → B, 79.9% → C.
* **Target 0**: no rate; met (grade of the top band) when the actual is at or beyond it
  (≥ 0 higher-is-better, = 0 lower-is-better), else the bottom band (none when the rule
  prints no open bottom band).
* **No target**, or **no rule printed** (and none in sources.yaml): the rate is kept where
  possible and the grade stays empty; ``basis`` says why.
* **Which target**: the year's, unless the rule says 最終目標 (the final target every year)
  or spreads the final target pro rata (目標値の20%/年: year k of the plan, its first fiscal
  year in sources.yaml being year 1; without it, counted from the baseline's fiscal year).
* **Qualitative rules** (順調 / 概ね順調 / 遅れている): no grade is computed; the printed
  grade is kept as the grade and ``basis`` says the rule is qualitative.
* **Rules** are read by :mod:`pipeline.derive.grading` in any common notation, including
  progress rates (進捗率, against the indicator's baseline), conditions on the baseline and
  the target, and a printed rounding note. A printed rule that is not understood gives no
  grade, and ``basis`` quotes it; so does a rate below every band of a rule without a bottom
  band.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from core import normalize as nz
from extractors.parsers.common import stated_direction
from pipeline.derive import grading
from schemas.vocabulary import vocabulary

Band = grading.Band


def parse_grade_rule(text: str | None) -> list[Band]:
    """The bands of a printed rule, best first ([] when it is not understood); see
    :func:`pipeline.derive.grading.parse_rule` for the whole rule."""
    rule = grading.parse_rule(text)
    return list(rule.bands) if rule else []


def grade_of(rate: float, bands: list[Band]) -> str | None:
    """The grade of a rate: a rate in a gap falls to the band below."""
    return grading.band_grade(bands, rate)


def direction_of(name: str, overrides: dict[str, str] | None = None, stated: str | None = None) -> str:
    """``lower`` for indicators where less is better (倒産件数, 失業率 …), by the plan's override
    (sources.yaml indicator_directions), else by the direction the document states (``stated``:
    its target's words, 減少 / 以下 → lower, 増加 → higher), else by a word of
    ``lower_is_better`` in the name — unless the name also holds a
    ``higher_is_better_exceptions`` word (空き店舗の活用件数, 倒産防止共済の加入件数: an action on
    the problem); else ``higher``."""
    overrides = overrides or {}
    if name in overrides:
        return overrides[name]
    if stated in ("higher", "lower"):
        return stated
    data = vocabulary().data
    if any(w in name for w in data.get("higher_is_better_exceptions", [])):
        return "higher"
    return "lower" if any(w in name for w in data.get("lower_is_better", [])) else "higher"


def evaluate_one(
    actual: float,
    target: float | None,
    rule: grading.Rule | list[Band] | None,
    direction: str,
    baseline: float | None = None,
) -> tuple[float | None, str | None, str]:
    """(rate, grade, basis) for one actual (a parsed rule, or bands read as an achievement rule)."""
    if isinstance(rule, list):
        rule = grading.Rule(grading.ACHIEVEMENT, bands=tuple(rule)) if rule else None
    return grading.grade(rule, actual, target, baseline, direction)


def evaluate(
    records: dict[str, list[dict[str, Any]]], plans: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Evaluations for every actual in ``indicator_values``; sets ``indicators.direction`` in place.

    One row per indicator and fiscal year: where several documents give an actual for the
    same year, the one listed last (by document path) wins.
    """
    plans = plans or {}
    indicators = {i["indicator_id"]: i for i in records.get("indicators", [])}
    for ind in indicators.values():
        plan = plans.get(ind["plan_id"])
        overrides = dict(getattr(plan, "indicator_directions", ()) or ())
        stated = stated_direction(ind.get("target_text"), vocabulary().data.get("target_direction"))
        ind["direction"] = direction_of(ind["name"], overrides, stated)
    rules: dict[tuple[str, str], str] = {}
    for r in records.get("grading_rules", []):
        if r["rule_type"] == "indicator_grade":
            rules.setdefault((r["plan_id"], r.get("policy_code") or ""), r["rule_text"])
            rules.setdefault((r["plan_id"], ""), r["rule_text"])
    chosen: dict[tuple[str, int | None], dict[str, Any]] = {}
    for v in records.get("indicator_values", []):
        if v.get("kind") == "actual" and v.get("value") is not None and v["indicator_id"] in indicators:
            chosen[(v["indicator_id"], v.get("fiscal_year"))] = v
    out = []
    for (iid, year), v in sorted(chosen.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        ind = indicators[iid]
        plan = plans.get(ind["plan_id"])
        rule = (
            rules.get((ind["plan_id"], ind.get("policy_code") or ""))
            or rules.get((ind["plan_id"], ""))
            or getattr(plan, "grading_rule", None)
        )
        out.append(_evaluation(ind, v, year, rule, getattr(plan, "fiscal_years", None)))
    return out


def _evaluation(
    ind: dict[str, Any],
    v: dict[str, Any],
    year: int | None,
    rule: str | None,
    fiscal_years: tuple[int, int] | None,
) -> dict[str, Any]:
    """One evaluations row: the actual ``v`` of indicator ``ind`` graded by the printed ``rule``."""
    parsed = _parsed(rule)
    target = _target(parsed, ind, v, year)
    rate, grade, basis = grading.grade(
        parsed,
        v["value"],
        target,
        ind.get("baseline_value"),
        ind["direction"],
        _plan_year(ind, year, fiscal_years),
    )
    if rule and parsed is None:
        basis = grading.not_understood(basis, rule)
    source = "computed" if grade else None
    if parsed is not None and parsed.basis == grading.QUALITATIVE and v.get("stated_grade"):
        grade, source = v["stated_grade"], "printed"
        basis += f"; the printed grade {grade} is kept"
    return {
        "indicator_id": ind["indicator_id"],
        "plan_id": ind["plan_id"],
        "fiscal_year": year,
        "target_value": target,
        "actual_value": v["value"],
        "achievement_rate": None if rate is None else round(rate, 2),
        "grade": grade,
        "grade_source": source,
        "rule": rule,
        "direction": ind["direction"],
        "basis": basis,
        "stated_rate": v.get("stated_rate"),
        "stated_grade": v.get("stated_grade"),
        "source_doc_id": v.get("source_doc_id"),
        "source_page": v.get("source_page"),
        "source_row": v.get("source_row"),
    }


def _target(rule: grading.Rule | None, ind: dict[str, Any], v: dict[str, Any], year: int | None) -> Any:
    """The target an actual is rated against: the year's (年度目標, printed beside the actual;
    the indicator's own in its target year), or the plan's final one (最終目標) when the rule
    says so or spreads it pro rata over the years."""
    if rule is not None and rule.target_of == "final":
        return ind.get("target_value")
    target = v.get("target_value")
    if target is None and ind.get("target_fiscal_year") == year:
        target = ind.get("target_value")
    return target


def _plan_year(
    ind: dict[str, Any], year: int | None, fiscal_years: tuple[int, int] | None
) -> tuple[int | None, int | None]:
    """(k, n) for a pro-rata rule: the year of the plan (its first fiscal year is year 1) and
    the plan's years; without the plan's period (sources.yaml), counted from the baseline's
    fiscal year (year 0) to the target's."""
    if year is None:
        return None, None
    if fiscal_years:
        return year - fiscal_years[0] + 1, fiscal_years[1] - fiscal_years[0] + 1
    base_year, target_year = ind.get("baseline_fiscal_year"), ind.get("target_fiscal_year")
    if base_year is None:
        return None, None
    return year - base_year, (target_year - base_year if target_year else None)


@lru_cache(maxsize=256)
def _parsed(text: str | None) -> grading.Rule | None:
    return grading.parse_rule(text) if text else None


def parse_overall_scale(text: str | None) -> list[tuple[str, int]]:
    """``総合評価:評価できる=★★★★、一定の評価はできる=★★★、評価できない=★`` →
    [(評価できる, 4), (一定の評価はできる, 3), (評価できない, 1)], best first."""
    body = re.split(r"[:：]", nz.clean_text(text or ""), maxsplit=1)[-1]
    levels = []
    for part in re.split(r"[、,，]", body):
        label, _, stars = part.partition("=")
        if stars.strip() and set(stars.strip()) <= {"★", "☆"}:
            levels.append((label.strip(), stars.count("★")))
    return sorted(levels, key=lambda lv: -lv[1])


def propose_overall(
    records: dict[str, list[dict[str, Any]]], evaluations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Draft 総合評価 (案) per measure and year from the grades of its policy's KPIs.

    Rule: every graded KPI at the top band → the top level; any at the bottom band → the
    bottom level; otherwise the middle level. The scale is the sheet's own (★★★★ or ★★★).
    """
    grades_by_policy: dict[tuple[str, str, int], list[str]] = {}
    indicators = {i["indicator_id"]: i for i in records.get("indicators", [])}
    for e in evaluations:
        ind = indicators.get(e["indicator_id"])
        if ind and e.get("grade") and ind.get("indicator_type") == "kpi":
            grades_by_policy.setdefault((e["plan_id"], ind["policy_code"], e["fiscal_year"]), []).append(
                e["grade"]
            )
    grade_rules: dict[tuple, str] = {}
    for g in records.get("grading_rules", []):
        if g["rule_type"] == "indicator_grade":
            grade_rules.setdefault((g["source_doc_id"], g["measure_code"], g["policy_code"]), g["rule_text"])
    years_of: dict[tuple[str, str], list[tuple[int, list[str]]]] = {}
    for (plan_id, policy, year), grades in sorted(grades_by_policy.items()):
        years_of.setdefault((plan_id, policy), []).append((year, grades))
    out = []
    for r in records.get("grading_rules", []):
        if r["rule_type"] != "overall":
            continue
        scale = parse_overall_scale(r["rule_text"])
        rule = _parsed(grade_rules.get((r["source_doc_id"], r["measure_code"], r["policy_code"])))
        if len(scale) < 2 or not rule:
            continue
        plan_id, policy = r["plan_id"], r["policy_code"]
        for year, grades in years_of.get((plan_id, policy), []):
            top, bottom = rule.grades[0], rule.grades[-1]
            level = (
                scale[0]
                if all(g == top for g in grades)
                else scale[-1]
                if bottom in grades
                else scale[len(scale) // 2]
            )
            out.append(
                {
                    "plan_id": plan_id,
                    "policy_code": policy,
                    "measure_code": r["measure_code"],
                    "fiscal_year": year,
                    "grades": ",".join(grades),
                    "proposal": f"{level[0]} (案)",
                    "stars": "★" * level[1],
                    "is_draft": True,
                    "rule": "all KPIs at the top grade → top level; any at the bottom grade → bottom level; else middle",
                    "source_doc_id": r["source_doc_id"],
                    "source_page": r.get("source_page"),
                }
            )
    return out
