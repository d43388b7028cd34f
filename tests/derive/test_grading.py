"""Grading rules of every common shape (issue 16 §3), against the catalogue in
tests/fixtures/grading_rules.yaml (synthetic rule strings in the shapes real plans print)."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.derive.evaluate import direction_of, evaluate
from pipeline.derive.grading import (
    ACHIEVEMENT,
    PROGRESS,
    QUALITATIVE,
    Rounding,
    Rule,
    band_grade,
    grade,
    parse_rule,
)
from pipeline.discover.manifest import Plan

CATALOGUE = yaml.safe_load((FIXTURES / "grading_rules.yaml").read_text(encoding="utf-8"))
RULES = CATALOGUE["rules"]
UNPARSEABLE = CATALOGUE["unparseable"]
QUALITATIVE_RULES = CATALOGUE["qualitative"]
NOT_RULES = CATALOGUE["not_rules"]
METHODS = {"floor": "floor", "round_half_up": "round", "ceil": "ceil"}  # catalogue → Rounding.method
KAMA = "指標評価:100%以上=A、99%~80%=B、79%以下=C"


def _band_fields(rule: Rule) -> list[dict]:
    keys = ("grade", "lower", "lower_inclusive", "upper", "upper_inclusive")
    return [{k: getattr(b, k) for k in keys} for b in rule.bands]


def _checks(entry: dict) -> list[tuple[str, object, object]]:
    return [(entry["id"], k, v) for k, v in entry["expected"]["checks"].items()]


@pytest.mark.parametrize("entry", RULES, ids=[r["id"] for r in RULES])
def test_catalogue_rule_parses_as_expected(entry):
    want = entry["expected"]
    rule = parse_rule(entry["text"])
    assert rule is not None, entry["text"]
    assert rule.basis == want["basis"]
    keys = ("grade", "lower", "lower_inclusive", "upper", "upper_inclusive")
    assert _band_fields(rule) == [{k: b[k] for k in keys} for b in want["bands"]]
    rounding = want["rounding"]
    assert rule.rounding == (rounding and Rounding(METHODS[rounding["method"]], rounding["digits"]))
    conditions = [
        {"grade": c.grade, "ref": c.ref, "op": c.op, **({"margin_pct": c.margin_pct} if c.margin_pct else {})}
        for c in rule.conditions
    ]
    assert conditions == want.get("conditions", [])
    assert list(rule.grades) == (
        want["grades_best_first"] or [c["grade"] for c in want.get("conditions", [])]
    )
    assert rule.direction == want.get("direction")
    assert list(rule.ungraded) == want.get("ungraded", [])
    assert rule.complete == want.get("complete", True)
    assert (rule.schedule and rule.schedule.per_year_pct) == want.get("schedule")
    assert rule.target_of == want.get("target_of")


@pytest.mark.parametrize(
    ("rid", "case", "expected"),
    [c for r in RULES for c in _checks(r)],
    ids=[f"{rid}-{k}" for r in RULES for rid, k, _ in _checks(r)],
)
def test_catalogue_sample_grades(rid, case, expected):
    entry = next(r for r in RULES if r["id"] == rid)
    rule = parse_rule(entry["text"])
    if isinstance(case, str):  # "actual=…,baseline=…,target=…[,direction=lower][,year=k/n]"
        kv = dict(p.split("=") for p in case.split(","))
        num = {k: (None if kv[k] == "None" else float(kv[k])) for k in ("actual", "baseline", "target")}
        k, _, n = kv.get("year", "").partition("/")
        year = (int(k), int(n)) if k else (None, None)
        direction = kv.get("direction", "higher")
        _, got, basis = grade(rule, num["actual"], num["target"], num["baseline"], direction, year)
    else:  # a rate: the actual against a target of 100
        _, got, basis = grade(rule, case, 100, None, "higher")
    assert got == expected, basis
    if expected is None:  # no grade: the message quotes the rule, or names what is missing
        assert "not graded" in basis
        assert (
            entry["text"] in basis or "not given" in basis or "needs the final target and the year" in basis
        )


@pytest.mark.parametrize("entry", UNPARSEABLE, ids=[u["id"] for u in UNPARSEABLE])
def test_unparseable_rules_give_no_rule(entry):
    rule = parse_rule(entry["text"])
    if entry["id"] == "U10":  # bands with a scope note: the bands parse, the note is kept
        assert rule is not None and [(b.grade, b.lower) for b in rule.bands] == [
            ("A", 100),
            ("B", 80),
            ("C", None),
        ]
        assert any("定性目標" in n for n in rule.notes)
    else:
        assert rule is None


@pytest.mark.parametrize("entry", QUALITATIVE_RULES, ids=[q["id"] for q in QUALITATIVE_RULES])
def test_qualitative_rules_are_kept_with_their_levels_and_compute_no_grade(entry):
    rule = parse_rule(entry["text"])
    assert rule is not None and rule.basis == QUALITATIVE
    assert (list(rule.grades), list(rule.ungraded)) == (entry["levels"], entry.get("ungraded", []))
    rate, got, basis = grade(rule, 90, 100)
    assert (rate, got) == (90.0, None)
    assert (
        basis
        == f"rate = actual ÷ target × 100; the rule is qualitative, 「{entry['text']}」: no grade can be computed"
    )


@pytest.mark.parametrize("entry", NOT_RULES, ids=[n["id"] for n in NOT_RULES])
def test_lines_that_are_not_rules_give_no_rule(entry):
    assert parse_rule(entry["text"]) is None


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (120, "A"),
        (100, "A"),
        (99.5, "B"),
        (99, "B"),
        (80, "B"),
        (79.99, "C"),
        (79.5, "C"),
        (0, "C"),
        (-5, "C"),
    ],
)
def test_kama_rule_gaps_fall_to_the_band_below(rate, expected):
    assert band_grade(parse_rule(KAMA).bands, rate) == expected


def test_kama_rule_edge_cases_keep_todays_messages():
    rule = parse_rule(KAMA)
    assert grade(rule, 5, 0) == (None, "A", "target 0: met (no rate can be computed)")
    assert grade(rule, 3, 0, direction="lower")[1] == "C"
    assert grade(rule, 0, 3, direction="lower") == (None, "A", "lower is better and the actual is 0: met")
    assert grade(rule, 500, 400, direction="lower") == (
        80.0,
        "B",
        "lower is better: rate = target ÷ actual × 100",
    )
    assert grade(None, 40, 50) == (
        80.0,
        None,
        "rate = actual ÷ target × 100; no grading rule printed: not graded",
    )


def test_more_notations():
    assert [
        (b.grade, b.lower) for b in parse_rule("A：八割以上　B：五割以上八割未満　C：五割未満").bands
    ] == [
        ("A", 80),
        ("B", 50),
        ("C", None),
    ]
    words = parse_rule("達成：100%以上、未達成：100%未満")
    assert words.grades == ("達成", "未達成") and band_grade(words.bands, 99.9) == "未達成"
    worst_first = parse_rule("C：80%未満　B：80%以上100%未満　A：100%以上")
    assert worst_first.grades == ("A", "B", "C")
    assert parse_rule("①100%以上　②60%以上100%未満　③60%未満").grades == ("①", "②", "③")
    assert parse_rule("A：100%　B：80%") is None  # a bare 80% under 100%: unclear, never guessed
    assert parse_rule("A：前年度比100%以上　B：前年度比100%未満") is None


def test_progress_and_conditions_need_their_references():
    progress = parse_rule("進捗率 A：100%以上　B：50%以上100%未満　C：50%未満")
    assert progress.basis == PROGRESS
    assert grade(progress, 80, 130, None)[1] is None  # no baseline
    assert grade(progress, 80, 60, 100)[:2] == (50.0, "B")  # lower is better: the formula turns round
    relative = parse_rule(
        "S：目標値超え　A：基準値を10%超上回る　B：基準値±10%の範囲　C：基準値を10%超下回る"
    )
    assert grade(relative, 120, 110, None)[1] is None
    assert grade(relative, 85, 70, 100, "lower")[1] == "A"  # lower is better: comparisons reversed
    assert grade(relative, 115, 70, 100, "lower")[1] == "C"
    assert grade(relative, 65, 70, 100, "lower")[1] == "S"


def _plan_records(rule_text: str, baseline: float = 100.0) -> dict[str, list[dict]]:
    indicator = {"indicator_id": "i1", "plan_id": "p", "policy_code": "1", "name": "商談件数"}
    indicator |= {"target_fiscal_year": 2024, "target_value": 130.0, "baseline_value": baseline}
    value = {"indicator_id": "i1", "kind": "actual", "value": 115.0, "fiscal_year": 2024}
    rule = {"plan_id": "p", "policy_code": "1", "rule_type": "indicator_grade", "rule_text": rule_text}
    return {"indicators": [indicator], "indicator_values": [value], "grading_rules": [rule]}


def test_evaluate_quotes_a_rule_it_cannot_read():
    text = "A：90%以上　B：80%以上95%未満　C：80%未満"  # overlapping bands: never a guess
    (row,) = evaluate(_plan_records(text))
    assert row["grade"] is None and row["achievement_rate"] == pytest.approx(88.46, abs=0.01)
    assert row["grade_source"] is None
    assert (
        row["basis"] == f"rate = actual ÷ target × 100; grading rule not understood, 「{text}」: not graded"
    )


def test_evaluate_keeps_the_printed_grade_under_a_qualitative_rule():
    records = _plan_records("A：順調　B：概ね順調　C：やや遅れている　D：遅れている")
    records["indicator_values"][0]["stated_grade"] = "B"
    (row,) = evaluate(records)
    assert (row["grade"], row["stated_grade"], row["achievement_rate"]) == ("B", "B", 88.46)
    assert row["basis"].endswith("no grade can be computed; the printed grade B is kept")
    assert row["grade_source"] == "printed"


def test_evaluate_spreads_a_pro_rata_target_over_the_years_from_the_baseline():
    records = _plan_records(
        "評価の基準：目標値の20％/年を基準とした達成度　A：100％以上　B：80％以上100％未満　C：80％未満"
    )
    records["indicators"][0] |= {"baseline_fiscal_year": 2022, "target_fiscal_year": 2027}
    records["indicator_values"][0] |= {"fiscal_year": 2024, "target_value": 200.0}  # the year's: not used
    (row,) = evaluate(records)  # year 2 of 5: 100 + 40% × (130 − 100) = 112; 115 ÷ 112
    assert (row["achievement_rate"], row["grade"], row["target_value"]) == (102.68, "A", 130.0)
    assert row["grade_source"] == "computed"
    assert row["basis"].startswith("pro-rata target of year 2 = 112 (20%/year)")
    plan = Plan("p", fiscal_years=(2024, 2028))  # the plan's period wins: 2024 is year 1 of 5
    (row,) = evaluate(records, {"p": plan})  # 100 + 20% × 30 = 106; 115 ÷ 106
    assert (row["achievement_rate"], row["grade"]) == (108.49, "A")
    assert row["basis"].startswith("pro-rata target of year 1 = 106 (20%/year)")
    records["indicators"][0]["baseline_fiscal_year"] = None  # no year to count from
    assert evaluate(records)[0]["grade"] is None


def test_evaluate_uses_the_final_or_the_years_target_as_the_rule_says():
    final = _plan_records("最終目標値に対する達成率　A：100%以上　B：80%以上100%未満　C：80%未満")
    final["indicators"][0]["target_fiscal_year"] = 2027
    final["indicator_values"][0]["target_value"] = 110.0  # the year's target, met
    (row,) = evaluate(final)
    assert (row["target_value"], row["grade"]) == (130.0, "B")
    final["grading_rules"][0]["rule_text"] = "A：100%以上　B：80%以上100%未満　C：80%未満"
    assert evaluate(final)[0]["grade"] == "A"  # no word about it: the year's target


def test_evaluate_grades_nagayo_style_rules_lower_is_better_from_the_name():
    records = _plan_records(
        "S：目標値を達成　A：基準値を上回る（目標未達成）　B：基準値から±10％以内　C：基準値を10％以上下回る"
    )
    records["indicators"][0] |= {"name": "市内企業の倒産件数", "target_value": 80.0}
    (row,) = evaluate(records)  # 115 against baseline 100 and target 80, fewer is better: C
    assert (row["direction"], row["grade"]) == ("lower", "C")


def test_evaluate_grades_progress_rates_against_the_baseline():
    (row,) = evaluate(_plan_records("進捗率 A：100%以上　B：50%以上100%未満　C：50%未満"))
    assert (row["achievement_rate"], row["grade"]) == (50.0, "B")


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("県内企業倒産件数", "lower"),
        ("完全失業率", "lower"),
        ("空き店舗数", "lower"),
        ("中心市街地の空き店舗", "lower"),
        ("耕作放棄地の面積", "lower"),
        ("交通事故死者数", "lower"),
        ("新規学卒就職者の早期離職率", "lower"),
        ("廃業率", "lower"),  # municipal reading; a plan that targets it upward sets indicator_directions
        ("空き店舗を活用した出店数", "higher"),
        ("中小企業倒産防止共済の加入件数", "higher"),
        ("耕作放棄地の解消面積", "higher"),
        ("離職者の再就職者数", "higher"),
        ("開廃業率", "higher"),
        ("創業者数", "higher"),
        ("求職者数", "higher"),  # ambiguous: left to indicator_directions
    ],
)
def test_direction_from_the_name(name, direction):
    assert direction_of(name) == direction


def test_a_plans_override_wins():
    assert direction_of("空き店舗数", {"空き店舗数": "higher"}) == "higher"
    assert direction_of("空き店舗を活用した出店数", {"空き店舗を活用した出店数": "lower"}) == "lower"


# --- spelling does not matter ---------------------------------------------------------------

_FULL = {chr(c): chr(c + 0xFEE0) for c in [*range(0x30, 0x3A), *range(0x41, 0x5B), *range(0x61, 0x7B)]}
_FULL["%"] = "％"


def _respell(text: str, full_digits: bool, full_letters: bool, full_percent: bool, equals: str) -> str:
    out = []
    for ch in text:
        if (ch.isascii() and ch.isdigit() and full_digits) or (
            ch.isascii() and ch.isalpha() and full_letters
        ):
            ch = _FULL[ch]
        elif ch == "%" and full_percent:
            ch = "％"
        out.append(ch)
    return re.sub("(?<![<>])[=＝]", equals, "".join(out))  # a separator, not the = of >=


@settings(max_examples=300, deadline=None)
@given(
    entry=st.sampled_from(RULES),
    full_digits=st.booleans(),
    full_letters=st.booleans(),
    full_percent=st.booleans(),
    equals=st.sampled_from(["=", "＝", "：", ":"]),
)
def test_full_width_and_separators_give_the_same_rule(entry, full_digits, full_letters, full_percent, equals):
    text = entry["text"]
    assert parse_rule(_respell(text, full_digits, full_letters, full_percent, equals)) == parse_rule(text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("AB◎○0189%割以上未満超以下~－=：:、 （）【】達成率目標値基準")),
        max_size=40,
    )
)
def test_parse_rule_is_total(text):
    rule = parse_rule(text)
    assert rule is None or (
        len(rule.grades) >= 2 and rule.basis in (ACHIEVEMENT, PROGRESS, "vs_baseline_target", QUALITATIVE)
    )


def test_a_label_in_brackets_before_the_grades_is_a_label_not_a_grade():
    """【評価の目安】◎：… (北浜町's sheets): 【…】 is a label here, while 【A】100%以上【B】… stays grades."""
    rule = parse_rule(
        "【評価の目安】◎：達成度100％以上　○：達成度80％以上100％未満　△：達成度50％以上80％未満　×：達成度50％未満"
    )
    assert [(b.grade, b.lower, b.upper) for b in rule.bands] == [
        ("◎", 100, None),
        ("○", 80, 100),
        ("△", 50, 80),
        ("×", None, 50),
    ]
    assert [b.grade for b in parse_rule("【A】100%以上【B】80%以上100%未満【C】80%未満").bands] == [
        "A",
        "B",
        "C",
    ]
