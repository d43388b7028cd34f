"""Sheets → records: what the progress-sheet parser found, as contract rows.

:class:`Sheet` is one 進捗管理シート as read (policy, direction, measure, schedule lanes, KPI
rows, rules); :func:`emit` merges the sheets of a document into policies, measures,
initiatives, schedule items and one set of KPI rows per policy, and keeps what each sheet
printed (``sheets``, ``indicator_occurrences``) so that validation can compare sheets.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from core import normalize as nz
from core.models import Cell, ParseResult

from .common import YearColumns, arrow_spans, merge_by_code, schedule_years, stated_direction, stated_value


@dataclass
class Lane:
    """One line of an initiative's schedule: year → activity, and where it stands (PDFs)."""

    texts: dict[int, str]
    page: int | None = None
    top: float | None = None
    marks: set[int] = field(default_factory=set)  # years whose cell only continues (→, 〃)
    row: int | None = None  # the grid row it is printed on (its line in a text export)


@dataclass
class Initiative:
    """One 主な取り組み row: its title, printed code (ア, ①, 1-1 …) and schedule lanes."""

    title: str
    row: Cell
    lanes: list[Lane] = field(default_factory=list)
    code: str | None = None


@dataclass
class Sheet:
    """One 進捗管理シート as read: headings, schedule, KPI rows, rules and reports."""

    index: int
    first_row: int
    page: int | None = None
    title: str | None = None  # 《中小企業振興基本計画・進捗管理シート》
    policy: tuple[str, str] | None = None  # (code, title)
    direction: str | None = None
    measure: tuple[str, str] | None = None
    years: dict[int, int] = field(default_factory=dict)  # column → fiscal year
    year_cols: YearColumns = field(default_factory=list)  # fiscal year → x-range (PDFs)
    schedule_end: float | None = None  # top of the first row after the schedule (PDFs)
    initiatives: list[Initiative] = field(default_factory=list)
    kpi_columns: dict[int, str] = field(default_factory=dict)  # column → meaning
    kpi_headers: dict[int, str] = field(default_factory=dict)  # column → header as printed
    target_year: int | None = None
    baseline_year: int | None = None  # 策定時(R4) → 2022
    actual_year: int | None = None  # 実績値(R5) → 2023
    kpis: list[dict[str, Any]] = field(default_factory=list)
    footnotes: list[tuple[str, Cell]] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)
    rule_rows: dict[str, int] = field(default_factory=dict)  # rule type → the row it is printed on
    has_kpi_table: bool = False
    reports: dict[str, str] = field(default_factory=dict)  # 事業実績 / 課題等 / 作成日 as filled in
    department: str | None = None  # 所管課 / 担当課 of the label/value block
    stated_overall_grade: str | None = None  # 総合評価 | Ｂ: the sheet's own printed grade → B
    cells: set[tuple[int, int]] = field(default_factory=set)  # grid cells read into this sheet
    #: The blocks the sheet holds, in the order they begin (title, headings, schedule, reports,
    #: KPI table, rule lines): a last sheet without blocks the others all have was cut.
    blocks: list[str] = field(default_factory=list)
    cut: str | None = None  # why the sheet looks cut short (the file's end), when it does

    def saw(self, block: str) -> None:
        """Note that a block (schedule, KPI table …) begins on this sheet."""
        if block not in self.blocks:
            self.blocks.append(block)

    def where(self) -> str:
        m = f"{self.policy[0] if self.policy else '?'}-{self.measure[0] if self.measure else '?'}"
        page = f", page {self.page}" if self.page else ""
        return f"sheet {self.index} (measure {m}{page}, row {self.first_row + 1})"

    def set_kpi_years(self, headers: dict[int, str]) -> None:
        """Years printed in the KPI header: 策定時(R4) / 目標値(R9) or 2023目標 / 実績値(R5)."""
        by_meaning: dict[str, str] = {}
        for col, meaning in self.kpi_columns.items():
            by_meaning.setdefault(meaning, headers.get(col, ""))
        target = by_meaning.get("target") or by_meaning.get("final_target")
        self.target_year = nz.parse_fiscal_year(target)
        self.baseline_year = nz.parse_fiscal_year(by_meaning.get("baseline"))
        self.actual_year = nz.parse_fiscal_year(by_meaning.get("actual"))

    def add_kpi(
        self,
        values: dict[str, str],
        name_cell: Cell,
        units: Collection[str],
        result: ParseResult,
        direction_words: dict[str, list[str]] | None = None,
    ) -> None:
        """One KPI row, its cells already by meaning (name, unit, baseline, target, actual,
        担当課, 備考 …); ``direction_words`` (labels.yaml target_direction): a target in words
        (増加 / 減少) says which way is better."""
        raw_name = values["name"]
        name, reposted, starred = nz.strip_marks(raw_name)
        name, unit = nz.split_name_and_unit(name, units)
        if not nz.is_missing(values.get("unit")):
            unit = nz.clean_text(values.get("unit"), join_wrapped=True).replace(" ", "")
        target_cell = values.get("target") or values.get("final_target")
        target, cumulative = nz.parse_target(target_cell)
        baseline_cell, baseline_year = value_and_year(values.get("baseline"))
        actual_cell, actual_year = value_and_year(values.get("actual"))
        baseline_text = nz.number_text(baseline_cell) or None
        target_text = nz.number_text(target_cell) or None
        self.kpis.append(
            {
                "name": name,
                "name_as_written": nz.clean_text(raw_name),
                "unit": unit,
                "baseline_value": nz.parse_number(baseline_text),
                "baseline_text": baseline_text,
                "baseline_fiscal_year": baseline_year or self.baseline_year,
                "target_fiscal_year": self.target_year,
                "target_value": target,
                "cumulative_target": cumulative,
                "target_text": target_text,
                "direction": stated_direction(target_text, direction_words),
                "department": stated_value(values.get("department")),
                "remarks": stated_value(values.get("remarks")),
                "is_reposted": reposted,
                "starred": starred,
                "actual_fiscal_year": actual_year or self.actual_year or self.target_year,
                "actual_text": nz.clean_text(actual_cell) or None,
                "achievement_text": stated_value(values.get("achievement_rate")),
                "grade_text": stated_value(values.get("grade")),
                "source_page": name_cell.page,
                "source_row": name_cell.line or name_cell.row + 1,
            }
        )
        if unit is None:
            result.warn(f"{self.where()}: no unit found in KPI name {raw_name!r}")


_YEAR_AFTER = re.compile(r"^(?P<value>.*?\d)\s*[(（](?P<year>[^()（）]+)[)）]\s*$")


def value_and_year(text: str | None) -> tuple[str | None, int | None]:
    """A figure printed with its year (``150（R4）`` / ``40(H30年度)``) → ("150", 2022); any
    other cell as it is, no year."""
    m = _YEAR_AFTER.match(nz.clean_text(text)) if text else None
    year = nz.parse_fiscal_year(m.group("year")) if m else None
    if m is None or year is None or nz.parse_number(nz.number_text(m.group("value"))) is None:
        return text, None
    return m.group("value"), year


_OCCURRENCE_FIELDS = (
    "name",
    "name_as_written",
    "unit",
    "baseline_text",
    "target_text",
    "is_reposted",
    "source_page",
    "source_row",
)
_INDICATOR_FIELDS = (
    "name",
    "name_as_written",
    "unit",
    "baseline_value",
    "baseline_text",
    "baseline_fiscal_year",
    "target_fiscal_year",
    "target_value",
    "cumulative_target",
    "target_text",
    "direction",
    "department",
    "remarks",
    "is_reposted",
    "note",
    "sheets",
    "source_page",
    "source_row",
)


def emit(sheets: list[Sheet], result: ParseResult, arrows: list, explicit_marks: bool = False) -> None:
    """The sheets of a document → policies, measures, initiatives, schedule, rules, sheets, KPIs.
    ``explicit_marks``: the document continues activities by → cells, not by empty ones."""
    _emit_policies(sheets, result)
    seen_measures: set[tuple[str, str]] = set()
    kpis_by_policy: dict[str, dict[str, dict[str, Any]]] = {}
    for s in sheets:
        pcode = str(s.policy[0]) if s.policy else "0"
        mcode = str(s.measure[0]) if s.measure else "0"
        if (pcode, mcode) in seen_measures:
            result.warn(f"{s.where()}: measure {pcode}-{mcode} appears on more than one sheet")
        seen_measures.add((pcode, mcode))
        _emit_sheet(s, pcode, mcode, result, arrows, explicit_marks)
        _collect_kpis(s, pcode, mcode, kpis_by_policy.setdefault(pcode, {}), result)
    for pcode, bucket in kpis_by_policy.items():
        for k in bucket.values():
            _emit_indicator(pcode, k, result)


def _emit_policies(sheets: list[Sheet], result: ParseResult) -> None:
    """One policy per code; a title or direction spelled differently later is a warning."""
    policies = merge_by_code(
        (
            (str(s.policy[0]),),
            {
                "policy_code": str(s.policy[0]),
                "title": s.policy[1],
                "direction": s.direction,
                "source_page": s.page,
            },
            s.where(),
        )
        for s in sheets
        if s.policy
    )
    for rec, variants in policies:
        result.add("policies", rec)
        for field_name, where, value in variants:
            result.warn(f"policy {rec['policy_code']}: {field_name} differs on {where}: {value!r}")


def _emit_sheet(
    s: Sheet, pcode: str, mcode: str, result: ParseResult, arrows: list, explicit_marks: bool = False
) -> None:
    """A sheet's measure, initiatives and schedule, grading rules and its ``sheets`` row."""
    if s.measure:
        result.add(
            "measures",
            {
                "policy_code": pcode,
                "measure_code": mcode,
                "title": s.measure[1],
                "source_page": s.page,
                "source_row": s.first_row + 1,
            },
        )
    if not s.years and s.initiatives:
        result.warn(f"{s.where()}: no year columns found in the 主な取り組み header")
    _emit_initiatives(s, pcode, mcode, result, arrows, explicit_marks)
    for rule_type, text in s.rules.items():
        result.add(
            "grading_rules",
            {
                "policy_code": pcode,
                "measure_code": mcode,
                "rule_type": rule_type,
                "rule_text": text,
                "source_page": s.page,
                "source_row": s.rule_rows.get(rule_type),
            },
        )
    if s.cut:
        result.mark_cut(s.cut)
    elif not s.has_kpi_table:
        result.mark_missing(f"{s.where()}: no KPI table (指標) on this sheet")
    result.add(
        "sheets",
        {
            "sheet_no": s.index,
            "sheet_title": s.title,
            "policy_code": pcode,
            "policy_title": s.policy[1] if s.policy else None,
            "direction": s.direction,
            "measure_code": mcode,
            "measure_title": s.measure[1] if s.measure else None,
            "indicator_grade_rule": s.rules.get("indicator_grade"),
            "overall_rule": s.rules.get("overall"),
            "results_text": s.reports.get("results"),
            "issues_text": s.reports.get("issues"),
            "created_text": s.reports.get("created"),
            "department": s.department,
            "stated_overall_grade": s.stated_overall_grade,
            "kpi_count": len(s.kpis),
            "source_page": s.page,
            "source_row": s.first_row + 1,
        },
    )


def _collect_kpis(
    s: Sheet, pcode: str, mcode: str, bucket: dict[str, dict[str, Any]], result: ParseResult
) -> None:
    """A sheet's KPI rows: one occurrence each, merged into the policy's indicators (the KPI
    table is printed on every sheet of a policy); differences between sheets are warnings."""
    for k in s.kpis:
        key = re.sub(r"\s+", "", k["name"])
        result.add(
            "indicator_occurrences",
            {
                "indicator_id": f"kpi|{pcode}||{k['name']}",
                "sheet_no": s.index,
                "policy_code": pcode,
                "measure_code": mcode,
                **{f: k[f] for f in _OCCURRENCE_FIELDS},
            },
        )
        note = _footnote_for(k, s.footnotes, result)
        if key not in bucket:
            bucket[key] = {**k, "note": note, "sheets": 1}
            continue
        prev = bucket[key]
        prev["sheets"] += 1
        for f in ("baseline_text", "target_text", "unit", "department", "remarks"):
            if prev.get(f) != k.get(f):
                result.warn(
                    f"{s.where()}: KPI {k['name']!r}: {f} {k.get(f)!r} differs from "
                    f"{prev.get(f)!r} on an earlier sheet of policy {pcode}"
                )


def _emit_indicator(pcode: str, k: dict[str, Any], result: ParseResult) -> None:
    """One indicator row and, when the sheet states 実績 (actual), its indicator value."""
    result.add(
        "indicators",
        {
            "indicator_id": f"kpi|{pcode}||{k['name']}",
            "policy_code": pcode,
            "measure_code": None,
            "indicator_code": None,
            "indicator_type": "kpi",
            **{f: k[f] for f in _INDICATOR_FIELDS},
        },
    )
    actual = nz.parse_number(k.get("actual_text"))
    if actual is None:
        return
    result.add(
        "indicator_values",
        {
            "indicator_id": f"kpi|{pcode}||{k['name']}",
            "fiscal_year": k["actual_fiscal_year"],
            "value": actual,
            "kind": "actual",
            "as_of_text": k.get("actual_text"),
            "target_value": k["target_value"],
            "stated_rate": nz.parse_number((k.get("achievement_text") or "").rstrip("%")),
            "stated_grade": k.get("grade_text"),
            "source_page": k["source_page"],
            "source_row": k["source_row"],
        },
    )


def _emit_initiatives(
    s: Sheet, pcode: str, mcode: str, result: ParseResult, arrows: list, explicit_marks: bool = False
) -> None:
    years = sorted(s.years.values())
    lanes = [lane for ini in s.initiatives for lane in ini.lanes]
    band_end = {id(a): b.top for a, b in zip(lanes, lanes[1:], strict=False) if b.page == a.page}
    for seq, ini in enumerate(s.initiatives, start=1):
        result.add(
            "initiatives",
            {
                "policy_code": pcode,
                "measure_code": mcode,
                "initiative_code": ini.code,
                "title": ini.title,
                "description": None,
                "seq": seq,
                "row_number": None,
                "source_row": ini.row.line or ini.row.row + 1,
                "source_page": ini.row.page,
            },
        )
        for lane_no, lane in enumerate(ini.lanes, start=1):
            spans = None
            if arrows and lane.top is not None and s.year_cols:
                end = band_end.get(id(lane)) or s.schedule_end or lane.top + 200
                spans = arrow_spans(arrows, lane.page, lane.top, end, s.year_cols)
            if explicit_marks:
                items, disagreements = marked_years(lane, years)
            else:
                items, disagreements = schedule_years(lane.texts, years, spans)
            for note in disagreements:
                result.warn(f"{s.where()}: {ini.title!r}: {note}")
            for year, activity, carried in items:
                result.add(
                    "schedule_items",
                    {
                        "policy_code": pcode,
                        "measure_code": mcode,
                        "initiative_code": ini.code,
                        "initiative_title": ini.title,
                        "initiative_seq": seq,
                        "lane": lane_no,
                        "fiscal_year": year,
                        "activity": activity,
                        "is_carried_forward": carried,
                        "source_page": ini.row.page,
                        "source_row": lane.row,
                    },
                )


def marked_years(lane: Lane, years: list[int]) -> tuple[list[tuple[int, str, bool]], list[str]]:
    """A lane of a document that marks every continued year (→ / 〃): an activity runs through
    the marked years after it; an empty cell is no activity. → with no activity before it is
    reported. Returns ([(year, activity, carried)], [notes])."""
    items: list[tuple[int, str, bool]] = []
    notes: list[str] = []
    current: str | None = None
    for year in years:
        if year in lane.texts:
            current = lane.texts[year]
            items.append((year, current, False))
        elif year in lane.marks and current is not None:
            items.append((year, current, True))
        elif year in lane.marks:
            notes.append(f"a continuation mark in {year} with no activity before it")
    return items, notes


_FOOTNOTE = re.compile(r"^[*＊※]\s*(?:(?P<no>\d{1,2})(?![\d年月度.]))?\s*")
_NAME_MARK = re.compile(r"[*＊※]\s*(\d{1,2})(?!\d)")


def _footnote_for(kpi: dict[str, Any], footnotes: list[tuple[str, Cell]], result: ParseResult) -> str | None:
    """The sheet's footnote for a KPI printed with a mark (``*``, ``※1``): the note of the
    same number, else one naming the KPI, else the first. The note's cell is marked read."""
    if not kpi.get("starred") or not footnotes:
        return None
    marked = [(m, text, cell) for text, cell in footnotes if (m := _FOOTNOTE.match(text))]
    if not marked:
        return None
    number = _NAME_MARK.search(kpi["name_as_written"])
    name = kpi["name"]
    chosen = next((x for x in marked if number and x[0].group("no") == number.group(1)), None)
    chosen = chosen or next((x for x in marked if any(p and p in x[1] for p in (name, name[:6]))), marked[0])
    m, text, cell = chosen
    result.use(cell)
    return text[m.end() :] if m.group("no") else text.lstrip("*＊※ ")


def report_unused_notes(sheets: list[Sheet], result: ParseResult) -> None:
    """Note lines no KPI carries the mark of: reported, not silently dropped."""
    for s in sheets:
        for text, cell in s.footnotes:
            if (cell.row, cell.col) not in result.consumed:
                result.unplaced_cell(cell, f"note line on {s.where()} that no KPI refers to: {text[:30]!r}")
