"""Action plans and strategy frameworks of templates the parser was not built on (issue 16).

* another city's action plan (取組番号 1-1-2, Ⅰ / (1) codes, 区分, 担当課, ``→`` arrows,
  ``KPI 1-1／KPI 1-2`` and a 関連KPI一覧 table) and another prefecture's framework (基本目標Ⅰ,
  outcome tables with years inside the values, 1-1 measure codes, ◆ marks, 指標の数 with
  full-width digits) against their expected records: table-level F1 ≥ 0.98;
* metamorphic variants of Kama's action plan and Chiba's framework (text exports): other
  spellings of their labels (from schemas/labels.yaml), years in every notation, full-width
  digits and punctuation, an unknown column — the records stay the same, and every cell is
  read or reported.
"""

from __future__ import annotations

import json
import re

from conftest import FIXTURES, RAW
from f1 import iso, table_scores
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from extractors.parsers import action_plan, strategy_framework
from extractors.readers import read_text
from schemas.vocabulary import label_key, vocabulary

TEMPLATES = FIXTURES / "templates"
KAMA = (RAW / "kama" / "action_plan.txt").read_text(encoding="utf-8")
CHIBA = (RAW / "chiba" / "strategy_framework.txt").read_text(encoding="utf-8")
CITY = (TEMPLATES / "other_city_action_plan.txt").read_text(encoding="utf-8")
PREF = (TEMPLATES / "other_pref_strategy.txt").read_text(encoding="utf-8")
LINEAGE = {"source_page", "source_row", "source_doc_id", "plan_id"}
# No shrinking: each example parses a whole document, and a failing draw is printed as it is.
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
PARSERS = {"action_plan": action_plan.parse, "strategy_framework": strategy_framework.parse}


def parse(kind: str, text: str):
    return PARSERS[kind](read_text(text.encode("utf-8")))


def records(result, drop: set[str] | None = None) -> dict[str, list[dict]]:
    skip = LINEAGE | (drop or set())
    return {
        t: [{k: v for k, v in r.items() if k not in skip} for r in rows] for t, rows in result.tables.items()
    }


def cells_accounted(result, text: str) -> list[str]:
    """Non-empty cells neither read nor reported with a reason."""
    missing = []
    for i, line in enumerate(text.split("\n")):
        for j, cell in enumerate(line.split("\t")):
            if cell.strip() and (i, j) not in result.consumed and (i, j) not in result.unplaced:
                missing.append(cell)
    return missing


BASE = {
    "kama": records(parse("action_plan", KAMA)),
    "chiba": records(parse("strategy_framework", CHIBA)),
    "city": records(parse("action_plan", CITY)),
    "pref": records(parse("strategy_framework", PREF)),
}


# --- the two fixtures of other templates --------------------------------------------------------


def _scores(kind: str, name: str) -> dict[str, float]:
    expected = json.loads((TEMPLATES / f"{name}.expected.json").read_text(encoding="utf-8"))
    result = parse(kind, (TEMPLATES / f"{name}.txt").read_text(encoding="utf-8"))
    return {t: f for t, (_, _, f) in table_scores(iso(result.tables), expected["tables"]).items()}


def test_other_city_action_plan_scores_f1_of_at_least_098_per_table():
    scores = _scores("action_plan", "other_city_action_plan")
    assert {t: f for t, f in scores.items() if f < 0.98} == {}


def test_other_prefecture_framework_scores_f1_of_at_least_098_per_table():
    scores = _scores("strategy_framework", "other_pref_strategy")
    assert {t: f for t, f in scores.items() if f < 0.98} == {}


def test_arrows_are_no_activity_and_blanks_after_them_are_nothing():
    items = BASE["city"]["schedule_items"]
    assert not [i for i in items if "→" in i["activity"]]
    uij = [(i["fiscal_year"], i["activity"]) for i in items if i["initiative_title"] == "UIJターン就職奨励金"]
    assert uij == [(2024, "奨励金の交付"), (2025, "奨励金の交付"), (2026, "制度の見直し")]


def test_every_cell_of_the_fixtures_is_read_or_reported_with_a_reason():
    city = parse("action_plan", CITY)
    pref = parse("strategy_framework", PREF)
    assert cells_accounted(city, CITY) == [] and cells_accounted(pref, PREF) == []
    assert all("担当課" in why or "KPI list" in why for why in city.unplaced.values())
    assert pref.unplaced == {}


def test_kama_and_chiba_cells_are_read_or_reported():
    kama = parse("action_plan", KAMA)
    chiba = parse("strategy_framework", CHIBA)
    assert cells_accounted(kama, KAMA) == [] and kama.unplaced == {}
    assert cells_accounted(chiba, CHIBA) == []
    assert all("prose" in why or "title" in why for why in chiba.unplaced.values())


def test_unknown_header_label_is_reported_with_a_warning():
    rows = [line.split("\t") for line in CITY.split("\n")]
    rows[2].insert(7, "予算措置状況")
    for r in rows[4:11]:
        r.insert(7, "要求中")
    rows[3].insert(7, "")
    result = parse("action_plan", "\n".join("\t".join(r) for r in rows))
    assert records(result) == BASE["city"]
    assert any("予算措置状況" in w for w in result.warnings)
    assert sum("does not name" in why for why in result.unplaced.values()) == 7


# --- metamorphic variants -----------------------------------------------------------------------


def _synonyms(kind: str, table: str, spelling: str) -> list[str]:
    """Other spellings of the label ``spelling`` that the vocabulary reads the same way."""
    vocab = vocabulary()
    meaning = vocab.column_meaning(kind, table, spelling)
    columns = vocab.section(kind)[table]
    return [s for s in columns.get(meaning, []) if vocab.column_meaning(kind, table, s) == meaning]


def _kama_header_variant(data) -> str:
    rows = [line.split("\t") for line in KAMA.split("\n")]
    for r in rows:
        if sum(1 for c in r if c.strip()) >= 8 and r[0].startswith("昇順"):
            for j, cell in enumerate(r):
                options = _synonyms("action_plan", "columns", label_key(cell)) if cell.strip() else []
                if options and label_key(cell) in {label_key(o) for o in options}:
                    r[j] = data.draw(st.sampled_from(options))
    return "\n".join("\t".join(r) for r in rows)


@SETTINGS
@given(st.data())
def test_kama_header_labels_swapped_for_synonyms_give_the_same_records(data):
    assert records(parse("action_plan", _kama_header_variant(data))) == BASE["kama"]


YEAR_NOTATIONS = [
    lambda y: str(y),
    lambda y: f"{y}年度",
    lambda y: f"R{y - 2018}",
    lambda y: f"Ｒ{chr(0xFF10 + (y - 2018))}" if y - 2018 < 10 else f"R{y - 2018}年度",
    lambda y: f"令和{y - 2018}年度",
    lambda y: f"FY{y}",
    lambda y: f"{y} (R{y - 2018})",
]


@SETTINGS
@given(st.sampled_from(range(len(YEAR_NOTATIONS))))
def test_kama_year_header_in_every_notation_gives_the_same_records(k):
    text = re.sub(r"(20\d\d) \(R\d\)", lambda m: YEAR_NOTATIONS[k](int(m.group(1))), KAMA)
    assert records(parse("action_plan", text)) == BASE["kama"]


@SETTINGS
@given(st.sampled_from(range(len(YEAR_NOTATIONS))))
def test_other_city_year_header_in_every_notation_gives_the_same_records(k):
    text = re.sub(r"Ｒ(\d+|[０-９]+)年度", lambda m: YEAR_NOTATIONS[k](2018 + int(m.group(1))), CITY)
    assert records(parse("action_plan", text)) == BASE["city"]


_FULL = str.maketrans("0123456789()-:,%", "０１２３４５６７８９（）－：，％")


@SETTINGS
@given(st.sets(st.sampled_from("0123456789()-:,%"), min_size=1))
def test_full_width_digits_and_punctuation_give_the_same_records(chars):
    table = {k: v for k, v in _FULL.items() if chr(k) in chars}
    for key, kind, text in (("kama", "action_plan", KAMA), ("chiba", "strategy_framework", CHIBA)):
        assert records(parse(kind, text.translate(table))) == BASE[key], key
    for key, kind, text in (("city", "action_plan", CITY), ("pref", "strategy_framework", PREF)):
        assert records(parse(kind, text.translate(table))) == BASE[key], key


@SETTINGS
@given(st.data())
def test_chiba_labels_swapped_for_synonyms_give_the_same_records(data):
    vocab = vocabulary()
    outcome = data.draw(
        st.sampled_from([w for w in vocab.words("strategy_framework", "outcome_label") if "指標" not in w])
    )
    output = data.draw(st.sampled_from(vocab.words("strategy_framework", "output_label")))
    text = CHIBA.replace("社会目標（アウトカム）：", f"{outcome}（アウトカム）：")
    text = re.sub(r"^社会目標$", outcome, text, flags=re.M)
    text = re.sub(r"^補助指標$", output, text, flags=re.M)
    assert records(parse("strategy_framework", text)) == BASE["chiba"]


@SETTINGS
@given(st.sampled_from(range(3)))
def test_chiba_as_of_years_in_other_notations_give_the_same_values(k):
    notation = [lambda n: f"令和{n}年", lambda n: f"{2018 + int(n)}年", lambda n: f"Ｒ{n}年"][k]
    text = re.sub(r"R(\d)\s*年", lambda m: notation(m.group(1)), CHIBA)
    assert records(parse("strategy_framework", text), {"as_of_text"}) == records(
        parse("strategy_framework", CHIBA), {"as_of_text"}
    )


@SETTINGS
@given(st.data())
def test_other_prefecture_labels_swapped_and_a_column_added_give_the_same_records(data):
    text = PREF
    for spelling, table in (
        ("基準値", "outcome_columns"),
        ("目標値", "outcome_columns"),
        ("主な取組", "table_columns"),
    ):
        text = text.replace(
            f"\t{spelling}",
            "\t" + data.draw(st.sampled_from(_synonyms("strategy_framework", table, spelling))),
        )
    rows = [line.split("\t") for line in text.split("\n")]
    for r in rows:
        if len(r) == 4 and not r[0].startswith("指標の数"):
            r.append(
                "担当課メモ"
                if label_key(r[1]) in {"基準値", "策定時", "当初値", "策定時点", "基準年度値"}
                else ""
            )
    result = parse("strategy_framework", "\n".join("\t".join(r) for r in rows))
    assert records(result) == BASE["pref"]
