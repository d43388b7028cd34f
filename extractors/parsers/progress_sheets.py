"""進捗管理シート (progress sheets) → policies, measures, initiatives, schedule, KPIs.

One sheet per 推進する施策 (measure). Each sheet repeats its 方針 (policy) and 方向性
(direction), lists 主な取り組み (initiatives) against year columns, and prints the KPI
table of its policy. Blocks are found by their labels (``schemas/labels.yaml``), columns by
their header text, never by position: 基本方針 / 具体的施策 / 基準値 / ``R6`` work as well as
方針 / 推進する施策 / 当初値 / ``2024``.

Pure: grid in, :class:`ParseResult` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipeline import normalize as nz
from pipeline.models import Cell, ExtractionError, Grid, ParseResult
from schemas.vocabulary import Vocabulary, label_key, vocabulary

from .common import YearColumns, arrow_spans, merge_by_code, row_cells, schedule_years, year_columns

KIND = "progress_sheets"
RULE_TYPES = {"grading_rule": "indicator_grade", "overall_rule": "overall"}  # 指標評価 / 総合評価
_COLON = re.compile(r"^\s*([^:：]{1,12})\s*[:：]\s*(.*)$")


@dataclass
class _Lane:
    """One line of an initiative's schedule: year → activity, and where it stands (PDFs)."""

    texts: dict[int, str]
    page: int | None = None
    top: float | None = None


@dataclass
class _Initiative:
    title: str
    row: Cell
    lanes: list[_Lane] = field(default_factory=list)


@dataclass
class _Sheet:
    index: int
    first_row: int
    page: int | None = None
    policy: tuple[int, str] | None = None
    direction: str | None = None
    measure: tuple[int, str] | None = None
    years: dict[int, int] = field(default_factory=dict)  # column → fiscal year
    year_cols: YearColumns = field(default_factory=list)  # fiscal year → x-range (PDFs)
    schedule_end: float | None = None  # top of the first row after the schedule (PDFs)
    initiatives: list[_Initiative] = field(default_factory=list)
    kpi_columns: dict[int, str] = field(default_factory=dict)  # column → meaning
    target_year: int | None = None
    kpis: list[dict[str, Any]] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    rules: dict[str, str] = field(default_factory=dict)
    has_kpi_table: bool = False

    def where(self) -> str:
        m = f"{self.policy[0] if self.policy else '?'}-{self.measure[0] if self.measure else '?'}"
        page = f", page {self.page}" if self.page else ""
        return f"sheet {self.index} (measure {m}{page}, row {self.first_row + 1})"


def parse(grid: Grid, vocab: Vocabulary | None = None) -> ParseResult:
    """Parse every progress sheet in ``grid``."""
    vocab = vocab or vocabulary()
    result = ParseResult(kind=KIND)
    sheets = _read_sheets(grid, vocab, result)
    sheets = [s for s in sheets if s.policy or s.measure]
    if not sheets:
        raise ExtractionError("no progress sheet found (no 方針 / 推進する施策 rows were recognised)")
    _emit(sheets, result, [s for s in grid.shapes if s.kind == "arrow"])
    return result


# --- reading rows into sheets ------------------------------------------------------------


def _label_and_value(cells: list[Cell], vocab: Vocabulary, labels: list[str]) -> tuple[str | None, str]:
    """The label of a row (first cell) and its value (the other cells, or after a colon)."""
    first = cells[0].text if cells else ""
    label = vocab.classify(KIND, first, labels)
    if label:
        return label, " ".join(c.text for c in cells[1:] if c.text.strip())
    m = _COLON.match(first)
    if m and (label := vocab.classify(KIND, m.group(1), labels)):
        rest = [m.group(2)] + [c.text for c in cells[1:]]
        return label, " ".join(t for t in rest if t.strip())
    return None, ""


def _read_sheets(grid: Grid, vocab: Vocabulary, result: ParseResult) -> list[_Sheet]:
    sheets: list[_Sheet] = []
    sheet: _Sheet | None = None
    mode: str | None = None
    block_labels = ["policy", "direction", "measure", "initiatives", "results", "issues", "created"]

    def new_sheet(row_index: int, page: int | None) -> _Sheet:
        s = _Sheet(index=len(sheets) + 1, first_row=row_index, page=page)
        sheets.append(s)
        return s

    for i, raw in enumerate(grid.rows):
        cells = row_cells(raw)
        if not cells:
            continue
        first = cells[0]
        joined = " ".join(c.text for c in cells)
        if vocab.matches(KIND, "sheet_title", joined) and len(label_key(joined)) <= 40:
            sheet, mode = new_sheet(i, first.page), None
            continue
        rule = (
            vocab.classify(KIND, first.text, ["grading_rule", "overall_rule"])
            if _is_rule(first.text)
            else None
        )
        if rule:
            if sheet:
                sheet.rules[RULE_TYPES[rule]] = nz.clean_text(joined)
            mode = None
            continue
        label, value = _label_and_value(cells, vocab, block_labels)
        if label == "policy" and (sheet is None or sheet.policy is not None):
            sheet, mode = new_sheet(i, first.page), None
        if sheet is None and label:
            sheet = new_sheet(i, first.page)
        if label in ("policy", "measure"):
            code, title = nz.split_leading_code(value)
            if code is None:
                result.warn(f"{sheet.where()}: {label} without a number: {value!r}")
            setattr(sheet, label, (code or 0, nz.clean_text(title, join_wrapped=True)))
            continue
        if label == "direction":
            sheet.direction = nz.clean_text(value, join_wrapped=True)
            continue
        if label == "initiatives":
            header = cells
            sheet.years = _year_columns(header)
            if not sheet.years and i + 1 < len(grid.rows):
                header = row_cells(grid.rows[i + 1])
                sheet.years = _year_columns(header)
            sheet.year_cols = year_columns(header, nz.parse_fiscal_year)
            mode = "schedule"
            continue
        if label in ("results", "issues", "created"):
            if mode == "schedule" and first.bbox:
                sheet.schedule_end = first.bbox[1]
            mode = None
            continue
        if sheet is None:
            continue
        if vocab.matches(KIND, "kpi_header", first.text) and len(cells) >= 3:
            sheet.kpi_columns = {
                c.col: m for c in cells[1:] if (m := vocab.column_meaning(KIND, "kpi_columns", c.text))
            }
            sheet.kpi_columns[first.col] = "name"
            target_header = next((c.text for c in cells if sheet.kpi_columns.get(c.col) == "target"), None)
            sheet.target_year = nz.parse_fiscal_year(target_header)
            sheet.has_kpi_table = True
            mode = "kpi"
            continue
        if vocab.matches(KIND, "footnote", first.text) and not first.text.strip().startswith("注意"):
            sheet.footnotes.append(nz.clean_text(first.text))
            continue
        if all(nz.is_missing(c.text) for c in cells):
            continue  # placeholder rows such as "--" or "----- --"
        if mode == "schedule":
            _add_initiative_row(sheet, cells, result)
        elif mode == "kpi":
            _add_kpi_row(sheet, cells, result)
    return sheets


def _is_rule(text: str) -> bool:
    s = nz.clean_text(text)
    return ":" in s or "=" in s


def _year_columns(cells: list[Cell]) -> dict[int, int]:
    years = {}
    for c in cells[1:]:
        year = nz.parse_fiscal_year(c.text)
        if year is not None and 1950 <= year <= 2100:
            years[c.col] = year
    return years


def _add_initiative_row(sheet: _Sheet, cells: list[Cell], result: ParseResult) -> None:
    by_col = {c.col: c.text for c in cells}
    first_col = min(by_col)
    title = (
        nz.clean_text(by_col.get(first_col, ""), join_wrapped=True) if first_col not in sheet.years else ""
    )
    texts = {y: nz.clean_text(by_col.get(col, ""), join_wrapped=True) for col, y in sheet.years.items()}
    boxes = [c.bbox for c in cells if c.bbox]
    lane = _Lane(
        {y: t for y, t in texts.items() if not nz.is_missing(t)},
        cells[0].page,
        min(b[1] for b in boxes) if boxes else None,
    )
    if title:
        sheet.initiatives.append(_Initiative(title=title, row=cells[0], lanes=[lane]))
    elif sheet.initiatives:
        sheet.initiatives[-1].lanes.append(lane)
    elif lane.texts:
        result.warn(f"{sheet.where()}: schedule row without an initiative above it: {lane.texts}")


def _add_kpi_row(sheet: _Sheet, cells: list[Cell], result: ParseResult) -> None:
    values: dict[str, str] = {}
    for c in cells:
        meaning = sheet.kpi_columns.get(c.col)
        if meaning and c.text.strip():
            values[meaning] = c.text
    raw_name = values.get("name", "")
    if nz.is_missing(raw_name):
        return
    name, reposted, starred = nz.strip_marks(raw_name)
    name, unit = nz.split_name_and_unit(name)
    target, cumulative = nz.parse_target(values.get("target"))
    baseline_text = nz.clean_text(values.get("baseline")) or None
    sheet.kpis.append(
        {
            "name": name,
            "name_as_written": nz.clean_text(raw_name),
            "unit": unit,
            "baseline_value": nz.parse_number(baseline_text),
            "baseline_text": baseline_text,
            "target_fiscal_year": sheet.target_year,
            "target_value": target,
            "cumulative_target": cumulative,
            "target_text": nz.clean_text(values.get("target")) or None,
            "is_reposted": reposted,
            "starred": starred,
            "actual_text": nz.clean_text(values.get("actual")) or None,
            "achievement_text": nz.clean_text(values.get("achievement_rate")) or None,
            "grade_text": nz.clean_text(values.get("grade")) or None,
            "source_page": cells[0].page,
            "source_row": cells[0].line or cells[0].row + 1,
        }
    )
    if unit is None:
        result.warn(f"{sheet.where()}: no unit found in KPI name {raw_name!r}")


# --- from sheets to records -------------------------------------------------------------------


def _emit(sheets: list[_Sheet], result: ParseResult, arrows: list) -> None:
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
        bucket = kpis_by_policy.setdefault(pcode, {})
        for k in s.kpis:
            key = re.sub(r"\s+", "", k["name"])
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
                        "source_page": k["source_page"],
                    },
                )


def _emit_initiatives(s: _Sheet, pcode: str, mcode: str, result: ParseResult, arrows: list) -> None:
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
