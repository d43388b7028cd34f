"""Sheets → records: what the progress-sheet parser found, as contract rows.

:class:`Sheet` is one 進捗管理シート as read (policy, direction, measure, schedule lanes, KPI
rows, rules); :func:`emit` merges the sheets of a document into policies, measures,
initiatives, schedule items and one set of KPI rows per policy, and keeps what each sheet
printed (``sheets``, ``indicator_occurrences``) so that validation can compare sheets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core import normalize as nz
from core.models import Cell, ParseResult

from .common import YearColumns, arrow_spans, merge_by_code, schedule_years


@dataclass
class Lane:
    """One line of an initiative's schedule: year → activity, and where it stands (PDFs)."""

    texts: dict[int, str]
    page: int | None = None
    top: float | None = None


@dataclass
class Initiative:
    title: str
    row: Cell
    lanes: list[Lane] = field(default_factory=list)


@dataclass
class Sheet:
    index: int
    first_row: int
    page: int | None = None
    title: str | None = None  # 《中小企業振興基本計画・進捗管理シート》
    policy: tuple[int, str] | None = None
    direction: str | None = None
    measure: tuple[int, str] | None = None
    years: dict[int, int] = field(default_factory=dict)  # column → fiscal year
    year_cols: YearColumns = field(default_factory=list)  # fiscal year → x-range (PDFs)
    schedule_end: float | None = None  # top of the first row after the schedule (PDFs)
    initiatives: list[Initiative] = field(default_factory=list)
    kpi_columns: dict[int, str] = field(default_factory=dict)  # column → meaning
    target_year: int | None = None
    kpis: list[dict[str, Any]] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)
    has_kpi_table: bool = False
    reports: dict[str, str] = field(default_factory=dict)  # 事業実績 / 課題等 / 作成日 as filled in

    def where(self) -> str:
        m = f"{self.policy[0] if self.policy else '?'}-{self.measure[0] if self.measure else '?'}"
        page = f", page {self.page}" if self.page else ""
        return f"sheet {self.index} (measure {m}{page}, row {self.first_row + 1})"


def emit(sheets: list[Sheet], result: ParseResult, arrows: list) -> None:
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

    seen_measures: set[tuple[str, str]] = set()
    kpis_by_policy: dict[str, dict[str, dict[str, Any]]] = {}
    sheets_per_policy: dict[str, int] = {}
    for s in sheets:
        pcode = str(s.policy[0]) if s.policy else "0"
        mcode = str(s.measure[0]) if s.measure else "0"
        sheets_per_policy[pcode] = sheets_per_policy.get(pcode, 0) + 1
        if (pcode, mcode) in seen_measures:
            result.warn(f"{s.where()}: measure {pcode}-{mcode} appears on more than one sheet")
        seen_measures.add((pcode, mcode))
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
        _emit_initiatives(s, pcode, mcode, result, arrows)
        for rule_type, text in s.rules.items():
            result.add(
                "grading_rules",
                {
                    "policy_code": pcode,
                    "measure_code": mcode,
                    "rule_type": rule_type,
                    "rule_text": text,
                    "source_page": s.page,
                },
            )
        if not s.has_kpi_table:
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
                "kpi_count": len(s.kpis),
                "source_page": s.page,
                "source_row": s.first_row + 1,
            },
        )
        bucket = kpis_by_policy.setdefault(pcode, {})
        for k in s.kpis:
            key = re.sub(r"\s+", "", k["name"])
            result.add(
                "indicator_occurrences",
                {
                    "indicator_id": f"kpi|{pcode}||{k['name']}",
                    "sheet_no": s.index,
                    "policy_code": pcode,
                    "measure_code": mcode,
                    **{
                        f: k[f]
                        for f in (
                            "name",
                            "name_as_written",
                            "unit",
                            "baseline_text",
                            "target_text",
                            "is_reposted",
                            "source_page",
                            "source_row",
                        )
                    },
                },
            )
            note = _footnote_for(k, s.footnotes)
            if key in bucket:
                prev = bucket[key]
                prev["sheets"] += 1
                for f in ("baseline_text", "target_text", "unit"):
                    if prev.get(f) != k.get(f):
                        result.warn(
                            f"{s.where()}: KPI {k['name']!r}: {f} {k.get(f)!r} differs from "
                            f"{prev.get(f)!r} on an earlier sheet of policy {pcode}"
                        )
                continue
            bucket[key] = {**k, "note": note, "sheets": 1}
    for pcode, bucket in kpis_by_policy.items():
        for k in bucket.values():
            result.add(
                "indicators",
                {
                    "indicator_id": f"kpi|{pcode}||{k['name']}",
                    "policy_code": pcode,
                    "measure_code": None,
                    "indicator_code": None,
                    "indicator_type": "kpi",
                    **{
                        f: k[f]
                        for f in (
                            "name",
                            "name_as_written",
                            "unit",
                            "baseline_value",
                            "baseline_text",
                            "target_fiscal_year",
                            "target_value",
                            "cumulative_target",
                            "is_reposted",
                            "note",
                            "sheets",
                            "source_page",
                            "source_row",
                        )
                    },
                },
            )
            # A filled-in sheet states 実績 (actual); keep it as an indicator value.
            actual = nz.parse_number(k.get("actual_text"))
            if actual is not None:
                result.add(
                    "indicator_values",
                    {
                        "indicator_id": f"kpi|{pcode}||{k['name']}",
                        "fiscal_year": k["target_fiscal_year"],
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


def _emit_initiatives(s: Sheet, pcode: str, mcode: str, result: ParseResult, arrows: list) -> None:
    years = sorted(s.years.values())
    lanes = [lane for ini in s.initiatives for lane in ini.lanes]
    band_end = {id(a): b.top for a, b in zip(lanes, lanes[1:], strict=False) if b.page == a.page}
    for seq, ini in enumerate(s.initiatives, start=1):
        result.add(
            "initiatives",
            {
                "policy_code": pcode,
                "measure_code": mcode,
                "initiative_code": None,
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
            items, disagreements = schedule_years(lane.texts, years, spans)
            for note in disagreements:
                result.warn(f"{s.where()}: {ini.title!r}: {note}")
            for year, activity, carried in items:
                result.add(
                    "schedule_items",
                    {
                        "policy_code": pcode,
                        "measure_code": mcode,
                        "initiative_code": None,
                        "initiative_title": ini.title,
                        "initiative_seq": seq,
                        "lane": lane_no,
                        "fiscal_year": year,
                        "activity": activity,
                        "is_carried_forward": carried,
                        "source_page": ini.row.page,
                    },
                )


def _footnote_for(kpi: dict[str, Any], footnotes: list[str]) -> str | None:
    """The sheet's footnote text for a KPI printed with a ``*`` mark."""
    if not kpi.get("starred") or not footnotes:
        return None
    name = kpi["name"]
    for note in footnotes:
        body = note.lstrip("*＊※ ")
        if any(part and part in body for part in (name, name[:6])):
            return body
    return footnotes[0].lstrip("*＊※ ")
