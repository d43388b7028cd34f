"""取組一覧 (action plan table) → policies, measures, initiatives, schedule, KPI references.

The table repeats a two-row header on every page and its columns drift between pages
(a 重 flag in a cell of its own or merged with 継続, a measure code merged with its title,
a measure title printed twice). So a data row is read by the *meaning* of its cells, in
the order the columns have: number, policy code, policy title, measure code (+ title),
initiative letter, 取組 (description), 取組略称 (short name), flags (重) and relation to the
previous plan (継続/新規/改), 現状, 実施方針区分, KPI codes (``2-3_…``), 備考, schedule.
Where a value had to be inferred the row gets a warning.

Pure: grid in, :class:`ParseResult` out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from core import normalize as nz
from core.models import Cell, ExtractionError, Grid, ParseResult, Shape
from schemas.vocabulary import Vocabulary, label_key, vocabulary

from .common import (
    YearColumns,
    arrow_spans,
    carry_forward,
    merge_by_code,
    row_cells,
    schedule_years,
    year_at,
    year_columns,
)

KIND = "action_plan"
_LETTER = re.compile(r"^[a-zａ-ｚ]$")
_KPI = re.compile(r"(?<![\d.])(\d+)\s*[-‐－]\s*(\d+)\s*[_＿]\s*(.*?)(?=\s*\d+\s*[-‐－]\s*\d+\s*[_＿]|$)")
_REPOST_OF = re.compile(r"[（(]\s*([^()（）]*?)\s*の\s*再掲\s*[)）]")
_REPOST_AT = re.compile(r"[（(]\s*([^()（）]*?)\s*[でに]\s*再掲\s*[)）]")
_CODE_PATH = re.compile(rf"^(\d+)\s*[-‐－]\s*(\d+|[{''.join(nz.CIRCLED)}])\s*(?:[-‐－]|の)\s*([a-z])$")
_TRAILING_PAREN = re.compile(r"\s*[（(]((?:[^()（）]|[（(][^()（）]*[)）])*)[)）]\s*$")


@dataclass
class _Row:
    cells: list[Cell]
    number: int
    policy_code: str
    policy_title: str
    measure_code: str
    measure_title: str
    initiative_code: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    schedule: list[Cell] = field(default_factory=list)

    @property
    def top(self) -> float | None:
        boxes = [c.bbox for c in self.cells if c.bbox]
        return min(b[1] for b in boxes) if boxes else None


def parse(grid: Grid, vocab: Vocabulary | None = None) -> ParseResult:
    """Parse every coded row of an action-plan table."""
    vocab = vocab or vocabulary()
    result = ParseResult(kind=KIND)
    years: list[int] = []
    columns: dict[int | None, YearColumns] = {}  # page → year columns (PDFs)
    rows: list[_Row] = []
    for raw in grid.rows:
        cells = row_cells(raw)
        texts = [c.text for c in cells]
        if not any(t.strip() for t in texts):
            continue
        found_years = [y for t in texts if (y := _year_header(t)) is not None]
        if len(found_years) >= 2:
            years = sorted(set(found_years))
            columns[cells[0].page] = year_columns(cells, _year_header)
            continue
        if _is_header(texts, vocab):
            continue
        row = _read_row(cells, vocab)
        if row is not None:
            rows.append(row)
    if not rows:
        raise ExtractionError("no action-plan rows found (no row starting with a number and a policy code)")
    if not years:
        result.warn("no year columns (2023 (R5) …) found in the header; schedule years unknown")
    _emit(rows, years, result, _Geometry(columns, [s for s in grid.shapes if s.kind == "arrow"]))
    return result


@dataclass
class _Geometry:
    """Year columns per page and schedule arrows (PDFs; empty for text exports)."""

    columns: dict[int | None, YearColumns]
    arrows: list[Shape]


@functools.cache
def _markers(vocab: Vocabulary) -> frozenset[str]:
    return frozenset(label_key(m) for m in vocab.words(KIND, "header_markers"))


def _year_header(text: str) -> int | None:
    s = nz.clean_text(text)
    if len(s) > 16:
        return None
    y = nz.parse_fiscal_year(s)
    return y if y is not None and re.fullmatch(r"[\dRH令和平成元年度()\s（）]+", s) else None


def _is_header(texts: list[str], vocab: Vocabulary) -> bool:
    markers = _markers(vocab)
    keys = [label_key(t) for t in texts if len(t) < 40]
    hits = sum(1 for k in keys if k in markers or any(m in k for m in markers if len(m) > 3))
    return hits >= 3


def _read_row(cells: list[Cell], vocab: Vocabulary) -> _Row | None:
    """Read the fixed leading fields by meaning; return None for a row that is not data."""
    queue = [c for c in cells if c.text.strip()]
    if len(queue) < 5:
        return None
    number = nz.parse_number(queue[0].text)
    policy = nz.parse_number(queue[1].text)
    if number is None or policy is None or number != int(number) or policy != int(policy):
        return None
    policy_title = nz.clean_text(queue[2].text, join_wrapped=True)
    i = 3
    mcode, mtitle = nz.split_leading_code(queue[i].text)
    if mcode is None:
        return None
    i += 1
    if not mtitle:
        mtitle = nz.clean_text(queue[i].text, join_wrapped=True)
        i += 1
    letter = None
    if i < len(queue) and _LETTER.match(nz.clean_text(queue[i].text)):
        letter = nz.clean_text(queue[i].text).lower()
        i += 1
    row = _Row(cells, int(number), str(int(policy)), policy_title, str(mcode), mtitle, letter)
    # A measure title printed again in the description column (merged cell) is dropped.
    rest = [c for c in queue[i:] if label_key(c.text) != label_key(mtitle)]
    _read_fields(row, rest, vocab)
    return row


def _segment(text: str, words: set[str]) -> list[str] | None:
    """Split ``text`` into vocabulary words, ignoring separators: ``重 新規`` / ``重新規`` →
    [重, 新規]; ``継続/要検討`` → [継続, 要検討]. None when it is not made only of them."""
    s = re.sub(r"[\s/・,、]+", "", text)
    if not s:
        return None
    for w in sorted(words, key=len, reverse=True):
        if s.startswith(w):
            rest = _segment(s[len(w) :], words) if len(s) > len(w) else []
            if rest is not None:
                return [w, *rest]
    return None


def _read_fields(row: _Row, cells: list[Cell], vocab: Vocabulary) -> None:
    flags = set(vocab.words(KIND, "priority_flags"))
    relations = set(vocab.words(KIND, "relation"))
    policies = set(vocab.words(KIND, "implementation_policy"))
    f = row.fields
    texts = [nz.clean_text(c.text, join_wrapped=True) for c in cells]
    rest = list(texts)
    f["description"] = rest.pop(0) if rest else None
    f["title"] = rest.pop(0) if rest else None
    # Flags and relation to the previous plan: cells made only of those words.
    while rest and (words := _segment(rest[0], flags | relations)):
        rest.pop(0)
        for t in words:
            if t in flags:
                f["is_priority"] = True
            else:
                f["relation"] = t
    # 現状: free text (may be "-" or "(再掲)"); absent when the next cell is clearly a later field.
    if rest and not _is_kpi(rest[0]) and not _only_words(rest[0], policies):
        f["current_state"] = rest.pop(0)
    if rest and (_only_words(rest[0], policies) or _is_placeholder(rest[0])):
        f["implementation_policy"] = rest.pop(0)
    if rest and (_is_kpi(rest[0]) or nz.is_missing(rest[0])):
        f["kpi_text"] = rest.pop(0)
    if rest and _is_note(rest[0], vocab):
        f["notes"] = rest.pop(0)
    row.schedule = cells[len(cells) - len(rest) :] if rest else []
    if f.get("is_priority") is None:
        f["is_priority"] = False


def _only_words(text: str, words: set[str]) -> bool:
    return _segment(text, words) is not None


def _is_placeholder(text: str) -> bool:
    return nz.is_missing(text) or label_key(text) in ("(再掲)", "再掲")


def _is_kpi(text: str) -> bool:
    return bool(_KPI.search(nz.clean_text(text)))


def _is_note(text: str, vocab: Vocabulary) -> bool:
    s = nz.clean_text(text)
    markers = vocab.words(KIND, "related_target_marker") + vocab.words(KIND, "repost_marker")
    return nz.is_missing(s) or any(s.startswith(f"({m})") or s == m for m in markers)


def kpi_references(text: str | None) -> list[dict[str, Any]]:
    """``2-3_商工会・商工会議所の相談・指導件数(件) 2-4_…の増`` → one dict per cited code."""
    if not text:
        return []
    refs = []
    for m in _KPI.finditer(nz.clean_text(text)):
        raw_name = m.group(3).strip()
        related = raw_name.endswith("の増")
        name, _, _ = nz.strip_marks(raw_name)
        name = re.sub(r"の増$", "", name)
        name, unit = nz.split_name_and_unit(name, vocabulary().units)
        # 補助金利用数_デジタル化促進支援 / 補助金利用数=… → 補助金利用数 (デジタル化促進支援)
        parts = re.split(r"[_＿=＝]", name, maxsplit=1)
        if len(parts) == 2 and parts[1].strip():
            name = f"{parts[0].strip()} ({parts[1].strip()})"
        refs.append(
            {
                "indicator_code": f"{m.group(1)}-{m.group(2)}",
                "name": name or None,
                "unit": unit,
                "is_related_target": related,
            }
        )
    return refs


def code_path(text: str) -> str | None:
    """``4-1-b`` / ``3-①-a`` / ``2-①のa`` → ``4-1-b`` / ``3-1-a`` / ``2-1-a``."""
    m = _CODE_PATH.match(nz.clean_text(text).replace(" ", ""))
    if not m:
        return None
    measure = m.group(2)
    return f"{m.group(1)}-{nz.CIRCLED.get(measure, measure)}-{m.group(3)}"


def _split_measure_title(title: str) -> tuple[str, str | None]:
    """``新技術…促進（中小企業の…(再掲)）`` → (``新技術…促進``, ``中小企業の…(再掲)``)."""
    m = _TRAILING_PAREN.search(title)
    if m and "再掲" in m.group(1):
        return title[: m.start()].strip(), nz.clean_text(m.group(1))
    return title, None


def _emit(rows: list[_Row], years: list[int], result: ParseResult, geometry: _Geometry) -> None:
    for rec, variants in merge_by_code(
        (
            (r.policy_code,),
            {"policy_code": r.policy_code, "title": r.policy_title, "source_page": r.cells[0].page},
            f"row {r.number}",
        )
        for r in rows
    ):
        result.add("policies", rec)
        for field_name, where, value in variants:
            result.warn(f"policy {rec['policy_code']}: {field_name} differs on {where}: {value!r}")
    measure_items = []
    for r in rows:
        title, note = _split_measure_title(r.measure_title)
        measure_items.append(
            (
                (r.policy_code, r.measure_code),
                {
                    "policy_code": r.policy_code,
                    "measure_code": r.measure_code,
                    "title": title,
                    "note": note,
                    "source_page": r.cells[0].page,
                },
                f"row {r.number}",
            )
        )
    for rec, variants in merge_by_code(measure_items, fields=("title",)):
        result.add("measures", rec)
        for _, where, value in variants:
            result.warn(
                f"measure {rec['policy_code']}-{rec['measure_code']}: title differs on {where}: {value!r}"
            )

    by_path = {f"{r.policy_code}-{r.measure_code}-{r.initiative_code}": r for r in rows if r.initiative_code}
    seq: dict[tuple[str, str], int] = {}
    for r, nxt in zip(rows, [*rows[1:], None], strict=True):
        band_end = nxt.top if nxt is not None and nxt.cells[0].page == r.cells[0].page else None
        _emit_row(r, years, by_path, seq, result, geometry, band_end)


def _emit_row(
    r: _Row,
    years: list[int],
    by_path: dict[str, _Row],
    seq: dict,
    result: ParseResult,
    geometry: _Geometry,
    band_end: float | None,
) -> None:
    f = r.fields
    where = f"row {r.number}"
    description = f.get("description") or ""
    reposted_from = None
    if m := _REPOST_OF.search(description):
        reposted_from = code_path(m.group(1))
        if reposted_from is None:
            result.warn(f"{where}: cannot read the 再掲 reference {m.group(0)!r}")
    reposted_to = [p for m in _REPOST_AT.finditer(description) if (p := code_path(m.group(1)))]
    title = nz.clean_text(f.get("title") or "", join_wrapped=True)
    if label_key(title) in ("(再掲)", "再掲", "") and reposted_from in by_path:
        original = by_path[reposted_from]
        title = nz.clean_text(original.fields.get("title") or "", join_wrapped=True)
        result.warn(f"{where}: short name printed as (再掲); taken from the original {reposted_from}")
    if not title:
        title = description[:40]
        result.warn(f"{where}: no short name (取組略称); the description's start is used as title")
    refs = kpi_references(f.get("kpi_text")) + [
        {**ref, "is_related_target": True} for ref in kpi_references(f.get("notes"))
    ]
    key = (r.policy_code, r.measure_code)
    seq[key] = seq.get(key, 0) + 1
    page = r.cells[0].page
    result.add(
        "initiatives",
        {
            "policy_code": r.policy_code,
            "measure_code": r.measure_code,
            "initiative_code": r.initiative_code,
            "title": title,
            "description": description or None,
            "is_priority": f.get("is_priority"),
            "relation_to_previous_plan": f.get("relation"),
            "implementation_policy": None
            if _is_placeholder(f.get("implementation_policy") or "-")
            else f["implementation_policy"],
            "kpi_codes": list(dict.fromkeys(ref["indicator_code"] for ref in refs)),
            "reposted_from": reposted_from,
            "reposted_to": reposted_to or None,
            "notes": None if nz.is_missing(f.get("notes")) else f.get("notes"),
            "current_state": None
            if _is_placeholder(f.get("current_state") or "-")
            else f.get("current_state"),
            "seq": seq[key],
            "row_number": r.number,
            "source_page": page,
            "source_row": r.cells[0].line or r.cells[0].row + 1,
        },
    )
    for ref in refs:
        result.add(
            "kpi_references",
            {
                "row_number": r.number,
                "policy_code": r.policy_code,
                "measure_code": r.measure_code,
                "initiative_code": r.initiative_code,
                **ref,
                "source_page": page,
            },
        )
    items, notes = _schedule(r, years, geometry, band_end)
    for note in notes:
        result.warn(f"{where}: {note}")
    for year, activity, carried in items:
        result.add(
            "schedule_items",
            {
                "policy_code": r.policy_code,
                "measure_code": r.measure_code,
                "initiative_code": r.initiative_code,
                "initiative_title": title,
                "initiative_seq": seq[key],
                "lane": 1,
                "fiscal_year": year,
                "activity": activity,
                "is_carried_forward": carried,
                "source_page": page,
            },
        )


def _schedule(
    r: _Row, years: list[int], geometry: _Geometry, band_end: float | None
) -> tuple[list[tuple[int, str, bool]], list[str]]:
    """Schedule of one row: years from the cells' columns and arrows (PDF), or from cell order."""
    cells = [c for c in r.schedule if c.text.strip()]
    if not cells or not years:
        return [], []
    notes: list[str] = []
    columns = geometry.columns.get(r.cells[0].page, [])
    texts = [nz.clean_text(c.text, join_wrapped=True) for c in cells]
    if columns and all(c.bbox for c in cells):
        lane: dict[int, str] = {}
        for c, text in zip(cells, texts, strict=True):
            year = year_at(c, columns)
            if year is None:
                notes.append(f"schedule text {text!r} stands outside the year columns; ignored")
            elif not nz.is_missing(text):
                lane[year] = f"{lane[year]} {text}" if year in lane else text
        spans = None
        if geometry.arrows and r.top is not None:
            spans = arrow_spans(geometry.arrows, r.cells[0].page, r.top, band_end or r.top + 400, columns)
        items, disagreements = schedule_years(lane, years, spans)
        return items, notes + disagreements
    # Text exports keep no column positions: the first cell is the first year, and so on.
    lane = {}
    for i, text in enumerate(texts):
        year = years[min(i, len(years) - 1)]
        if not nz.is_missing(text):
            lane[year] = f"{lane[year]} {text}" if year in lane else text
    if len(texts) > len(years):
        notes.append(f"{len(texts)} schedule cells for {len(years)} years; the last ones merged")
    if len(texts) > 1:
        notes.append(
            "schedule years inferred from cell order (the text export keeps no column positions): "
            + ", ".join(f"{y}: {t}" for y, t in lane.items())
        )
    return list(carry_forward(lane, years)), notes
