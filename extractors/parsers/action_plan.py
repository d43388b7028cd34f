"""取組一覧 (action plan table) → policies, measures, initiatives, schedule, KPI references.

The table is found by its header, not by one template's words: a row whose cells name at
least three columns of ``labels.yaml`` (``action_plan.columns``: code, policy, measure,
short name, description, 区分, KPI, 備考 …) and, under or beside it, a schedule header that is
a run of years in any notation (``2023 (R5)``, ``Ｒ６年度``, ``令和5年度``, ``FY2023``).

A data row is read in one of two ways, both by meaning:

* **by its cells' content** when it starts with a running number and a policy number (Kama's
  template, whose text export lets columns drift between rows: a 重 flag in a cell of its own
  or merged with 継続, a measure code merged with its title): number, policy code, policy
  title, measure code (+ title), initiative letter, 取組, 取組略称, flags (重) and relation to
  the previous plan (継続/新規/改), 現状, 実施方針区分, KPI codes (``2-3_…``), 備考, schedule;
* **by the meaning of its column** otherwise: the header names each column (a compound code
  ``1-1-2`` / ``(1)-①-ア`` gives policy, measure and initiative; ``Ⅰ　…`` / ``(1)　…`` give the
  titles), the year header gives each schedule cell its year. ``→`` cells continue the
  activity to their left; in a document that writes its arrows so, an empty year cell means
  nothing planned.

Policy and measure headings may be band rows across the table (``【1】創業の…`` then
``ア　創業前の支援``: the first code style is the policy level, the second the measure level) over
rows that print only their own code; a header row may name the columns and the years at once.
A legend (``凡例　●：実施　○：検討・準備``) names the schedule's marks: a mark is the activity its
legend names, and in a document that writes marks or ``→`` an empty year means nothing planned.

A 担当課 / 所管 column is the initiative's ``department``. A period column (``実施時期`` /
``実施年度``: ``R7～R9``, ``2025〜2027年度``, ``令和7年度～``, ``通年``, ``随時``) instead of or beside the
year columns gives a schedule item for each fiscal year of the period (``from_period``; the
activity is the period as printed): an open-ended one and 通年 / 随時 run over the plan's period
as the title or a line above the table prints it (``計画期間：令和7年度～令和11年度``) or else the
year columns, and one that gives no year is reported. A term (``短期`` / ``短期～中期``, labels.yaml
``schedule_terms``) runs over the years the document defines for it in a line or note above or
below the table (``※実施時期　短期：令和7～8年度　中期：令和9～11年度``); a term it defines in words
only, or not at all, is reported (never guessed). Header ``取組`` beside ``取組内容`` (two
description-like columns, no short-name column): the first is the name.

Legend and note lines (``※…``) are notes. A 関連KPI一覧 table names the cited KPIs and gives
indicators (code, name, unit, baseline and target, their years from its header 基準値(R5) /
目標値(R10)); a KPI named with an inline target (``相談件数：年60件``, ``補助件数：5年間で25件``) is an
indicator of its row's measure, its target year from a note (``※指標・目標値は令和11年度の値``).
Every cell is marked as read or reported with why it was not (nothing is dropped silently).
Where a value had to be inferred the row gets a warning.

Pure: grid in, :class:`ParseResult` out.
"""

from __future__ import annotations

import functools
import re
import unicodedata
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
    year_header,
)

KIND = "action_plan"
_LETTER = re.compile(r"^[a-zａ-ｚ]$")
_KPI = re.compile(r"(?<![\d.])(\d+)\s*[-‐－]\s*(\d+)\s*[_＿]\s*(.*?)(?=\s*\d+\s*[-‐－]\s*\d+\s*[_＿]|$)")
# A code inside brackets may hold a bracketed component of its own: (1-(2)-①の再掲).
_CODE_IN_BRACKETS = r"((?:[^()（）]|[（(][^()（）]*[)）])*?)"
_REPOST_OF = re.compile(rf"[（(]\s*{_CODE_IN_BRACKETS}\s*の\s*再掲\s*[)）]")
_REPOST_AT = re.compile(rf"[（(]\s*{_CODE_IN_BRACKETS}\s*[でに]\s*再掲\s*[)）]")
_TRAILING_PAREN = re.compile(r"\s*[（(]((?:[^()（）]|[（(][^()（）]*[)）])*)[)）]\s*$")
_LEGEND_MARK = re.compile(r"(\S)\s*[:=]?\s*(\w[^\s、,]*)")
_BRACKETED = re.compile(r"^([【〔\[［])\s*([^】〕\]］]{1,8}?)\s*([】〕\]］])\s*(.*)$")
_KANA_OR_LETTER = re.compile(r"^([ア-ン]|[a-zA-Z])(?:\s+|[.、)]\s*)(\S.*)$")
_BRACKETED_PART = re.compile(r"[【〔\[]\s*([0-9]{1,3}|[ア-ン]|[IVX]{1,4})\s*[】〕\]]")  # Ⅲ: III after NFKC
_REPOST_CITED = re.compile(r"再掲\s*[:：]\s*((?:[^\s、,，()（）]|[（(][^()（）\s]*[)）])+)")
_CITATION_SEP = re.compile(r"\s*[／/、,，・;；]\s*|\s+(?=\D)")
# A term defined in years of the plan: 1~2年目, 3~5年, 概ね3年以内, 5年間, 3年目.
_RELATIVE_YEARS = re.compile(
    r"^(?:概ね|おおむね|約)?(?:(\d{1,2})[~〜～])?(\d{1,2})年度?(目|以内|目まで|間)?$"
)
_INLINE_KPI = re.compile(
    r"^(?P<name>[^:：]+?)\s*[:：]\s*(?P<when>\D*?(?:\d+\s*年間\D*?)?)(?P<qty>\d[\d,.]*\s*[^\d\s]{0,4})$"
)


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
    # By-column rows: schedule cells with their year (None = not placed by column).
    years_of: dict[tuple[int, int], int] | None = None
    # (year, period as printed) from a 実施時期 / 実施年度 period cell (R7～R9, 通年).
    period: list[tuple[int, str]] = field(default_factory=list)
    period_cells: list[Cell] = field(default_factory=list)  # read after the last line (terms, 計画期間)

    @property
    def top(self) -> float | None:
        boxes = [c.bbox for c in self.cells if c.bbox]
        return min(b[1] for b in boxes) if boxes else None


@dataclass
class _Bands:
    """Policy and measure headings printed as band rows across the table (``【1】創業の…`` /
    ``ア　創業を志す人への支援``) over the rows they hold. The first code style seen is the policy
    level, the second the measure level."""

    styles: list[str] = field(default_factory=list)
    policy: tuple[str, str] | None = None  # (code, title)
    measure: tuple[str, str] | None = None


@dataclass(frozen=True)
class _Marks:
    """How the document writes its schedule: continuation marks (``→``) and legend marks
    (``●：実施``). ``explicit``: every planned year is written, so an empty year is nothing planned."""

    continuation: frozenset[str] = frozenset()
    meanings: dict[str, str] = field(default_factory=dict)
    explicit: bool = False


@dataclass
class _Header:
    """The table header: column → meaning (``labels.yaml`` action_plan.columns), column → year."""

    meanings: dict[int, str] = field(default_factory=dict)
    years: dict[int, int] = field(default_factory=dict)


@dataclass
class _State:
    """What the row loop has learnt so far."""

    header: _Header | None = None
    years: list[int] = field(default_factory=list)
    columns: dict[int | None, YearColumns] = field(default_factory=dict)  # page → year columns (PDFs)
    rows: list[_Row] = field(default_factory=list)
    kpi_list: dict[str, dict[str, Any]] = field(default_factory=dict)  # code → name, unit
    kpi_columns: dict[int, str] | None = None  # the 関連KPI一覧 header, while reading that table
    bands: _Bands = field(default_factory=lambda: _Bands())
    marks: dict[str, str] = field(default_factory=dict)  # legend mark → meaning (●：実施)
    plan_period: list[int] = field(default_factory=list)  # 計画期間 printed above the table
    kpi_years: dict[str, int] = field(default_factory=dict)  # KPI list header: 基準値(R5) → baseline 2023
    target_year: int | None = None  # a note naming the targets' year (指標・目標値は令和11年度の値)
    terms: dict[str, list[int]] = field(default_factory=dict)  # 短期：令和7～8年度 → 短期: [2025, 2026]


@dataclass
class _Geometry:
    """Year columns per page and schedule arrows (PDFs; empty for text exports)."""

    columns: dict[int | None, YearColumns]
    arrows: list[Shape]


def parse(grid: Grid, vocab: Vocabulary | None = None) -> ParseResult:
    """Parse every coded row of an action-plan table."""
    vocab = vocab or vocabulary()
    result = ParseResult(kind=KIND)
    state = _State()
    for raw in grid.rows:
        cells = row_cells(raw)
        if not any(c.text.strip() for c in cells):
            state.kpi_columns = None  # a blank line ends the KPI list
            continue
        _read_line(cells, state, vocab, result)
    if not state.rows:
        raise ExtractionError(
            "no action-plan rows found (no row starting with a number and a policy code, "
            "and no row under a header naming a code column)"
        )
    plan_years = state.plan_period or state.years
    for row in state.rows:
        _read_period(row, plan_years, state.terms, vocab, result)
    if not state.years and not any(r.period for r in state.rows):
        result.warn(
            "no year columns (2023 (R5) …) and no period (実施時期 R7～R9) found; schedule years unknown"
        )
    arrows = [s for s in grid.shapes if s.kind == "arrow"]
    _emit(state, result, _Geometry(state.columns, arrows), _schedule_marks(state, vocab, result))
    return result


def _read_line(cells: list[Cell], state: _State, vocab: Vocabulary, result: ParseResult) -> None:
    """One grid row: a year header, a column header, a legend, a KPI-list row or a data row."""
    if _read_period_line(cells, state, vocab, result):
        return
    run = year_header(cells)
    years = [(c, run[c.col]) for c in cells if c.col in run]
    if years:
        labels = [c for c in cells if c.text.strip() and c.col not in run]
        if _is_header(labels, vocab):  # one header row naming the columns and the years
            state.header = _read_header(labels, state.header, vocab, result)
        _read_year_header(cells, years, state, vocab, result)
        return
    if _is_header(cells, vocab):
        state.header = _read_header(cells, state.header, vocab, result)
        state.kpi_columns = None
        return
    if _read_kpi_list(cells, state, vocab, result):
        return
    if _is_legend(cells, vocab):
        result.use(*cells)  # a legend or note line (※区分 新規：…): a note, not a row
        text = " ".join(c.text for c in cells)
        state.marks.update(_legend_marks(text, vocab))
        state.terms.update(_term_definitions(text, state.plan_period or state.years, vocab, result))
        targets = vocab.section(KIND)["kpi_list_columns"]["target"]
        if any(w in nz.clean_text(text) for w in targets) and (year := nz.parse_fiscal_year(text)):
            state.target_year = year
        return
    if state.header is not None and _read_band(cells, state.bands, result):
        return
    row = _read_row(cells, vocab)
    if row is None and state.header is not None:
        row = _read_by_columns(cells, state, vocab, result)
    if row is not None:
        state.rows.append(row)
        result.use(*row.cells)
        return
    _not_a_row(cells, state, vocab, result)


def _is_legend(cells: list[Cell], vocab: Vocabulary) -> bool:
    """A line of one or two cells starting with a legend or note mark (※, 注, 凡例)."""
    filled = [nz.clean_text(c.text) for c in cells if c.text.strip()]
    return 0 < len(filled) <= 2 and filled[0].startswith(tuple(vocab.words(KIND, "legend")))


def _legend_marks(text: str, vocab: Vocabulary) -> dict[str, str]:
    """``凡例　●：実施　○：検討・準備`` → {●: 実施, ○: 検討・準備}: symbol marks a legend explains
    (a word key such as ``新規：…`` or a continuation mark ``→`` is no schedule mark)."""
    continuation = set(vocab.words(KIND, "schedule_continuation"))
    marks = {}
    for m in _LEGEND_MARK.finditer(nz.clean_text(text)):
        mark, meaning = m.group(1), m.group(2)
        if unicodedata.category(mark).startswith("S") and mark not in continuation:
            marks[mark] = meaning
    return marks


def _band_code(text: str) -> tuple[str, list[str], str] | None:
    """A band heading's (code style, code path, title): ``【1】創業の…`` → (``【】``, [1], …),
    ``ア　創業を…`` → (``kana``, [ア], …), ``(2)　販路`` → (``()``, [2], …), ``1-2 販路`` →
    (``path``, [1, 2], …); None when the text starts with no code or has no title."""
    s = nz.clean_text(text)
    if m := _BRACKETED.match(s):
        number = re.search(r"([0-9]+|(?<![A-Za-z])[IVX]{1,4}|[ア-ン])$", nz.clean_text(m.group(2)))  # Ⅲ: III
        if number is None or not m.group(4):
            return None
        code = nz.split_leading_code(number.group(1))[0]  # 1, Ⅲ → a number; ア as printed
        code = number.group(1) if code is None else code
        return (m.group(1) + m.group(3), [str(code)], m.group(4).strip()) if code else None
    parts, title = nz.split_code_path(s)
    if not parts and (m := _KANA_OR_LETTER.match(s)):
        style = "kana" if re.match(r"[ア-ン]", m.group(1)) else "letter"
        return style, [m.group(1).lower()], m.group(2)
    if not parts or not title:
        return None
    if len(parts) > 1:
        return "path", parts, title
    prefix = s[: s.find(title)] if title in s else s[:1]
    style = re.sub(r"[①-⑳]", "①", re.sub(r"[Ⅰ-Ⅻ]+|[IVX]+", "Ⅰ", re.sub(r"[0-9]+", "9", prefix.strip())))
    return style, parts, title


def _read_band(cells: list[Cell], bands: _Bands, result: ParseResult) -> bool:
    """A policy or measure heading printed across the table (one cell, a code and a title):
    remembered for the rows under it. True when the line was one."""
    filled = [c for c in cells if c.text.strip()]
    band = _band_code(filled[0].text) if len(filled) == 1 else None
    if band is None:
        return False
    style, parts, title = band
    if style == "path":
        bands.policy = (parts[0], bands.policy[1] if bands.policy and bands.policy[0] == parts[0] else "")
        bands.measure = (parts[1], title)
    elif style in bands.styles or len(bands.styles) < 2:
        if style not in bands.styles:
            bands.styles.append(style)
        if bands.styles.index(style) == 0:
            bands.policy, bands.measure = (parts[0], title), None
        else:
            bands.measure = (parts[0], title)
    else:
        why = f"action plan: a heading of a third code style ({style!r}) under the policy and measure bands"
        result.unplaced_cell(filled[0], why + "; no table holds it")
        return True
    result.use(filled[0])
    return True


def _not_a_row(cells: list[Cell], state: _State, vocab: Vocabulary, result: ParseResult) -> None:
    """A line that is no row: the document's title, or cells reported with why."""
    text = " ".join(nz.clean_text(c.text) for c in cells if c.text.strip())
    markers = vocab.kind_markers().get(KIND, [])
    if not state.rows and any(m in label_key(text) for m in markers):
        result.use(*cells)  # the document's title line (…アクションプラン 取組一覧)
        return
    where = "before the table header" if state.header is None else "in the table"
    for c in cells:
        if c.text.strip():
            result.unplaced_cell(c, f"action plan: line {where} is not an initiative row (no code read)")


# --- header -------------------------------------------------------------------------------------


@functools.cache
def _markers(vocab: Vocabulary) -> frozenset[str]:
    return frozenset(label_key(m) for m in vocab.words(KIND, "header_markers"))


def _is_header(cells: list[Cell], vocab: Vocabulary) -> bool:
    """Three or more cells name a column (header markers or column meanings)."""
    markers = _markers(vocab)
    keys = [label_key(c.text) for c in cells if c.text.strip() and len(c.text) < 40]
    hits = sum(
        1
        for k in keys
        if k in markers
        or any(m in k for m in markers if len(m) > 3)
        or vocab.column_meaning(KIND, "columns", k) is not None
    )
    return hits >= 3


def _read_header(
    cells: list[Cell], previous: _Header | None, vocab: Vocabulary, result: ParseResult
) -> _Header:
    """Name each header cell by meaning; a label the vocabulary does not know is reported."""
    header = _Header(years=dict(previous.years) if previous else {})
    schedule_words = {label_key(w) for w in vocab.words(KIND, "schedule_header")}
    for c in cells:
        if not c.text.strip():
            continue
        key = label_key(c.text)
        meaning = vocab.column_meaning(KIND, "columns", c.text)
        if meaning is not None:
            header.meanings[c.col] = meaning
        elif key in schedule_words or any(w in key for w in schedule_words if len(w) > 3):
            header.meanings[c.col] = "schedule"
        else:
            why = f"action plan header: column label {nz.clean_text(c.text)!r} is not in labels.yaml"
            result.unplaced_cell(c, why + " (action_plan.columns)")
            result.warn(f"{why}; its column is not read")
            continue
        result.use(c)
    descriptions = [col for col, m in sorted(header.meanings.items()) if m == "description"]
    if len(descriptions) == 2 and "short_name" not in header.meanings.values():
        header.meanings[descriptions[0]] = "short_name"  # 取組 | 取組内容: the first is the name
    return header


def _read_year_header(
    cells: list[Cell], years: list[tuple[Cell, int]], state: _State, vocab: Vocabulary, result: ParseResult
) -> None:
    """A run of years: the schedule's columns (and, for PDFs, their x ranges on the page)."""
    state.years = sorted({y for _, y in years})
    state.columns[cells[0].page] = year_columns(cells, nz.parse_year_heading)
    if state.header is None:
        state.header = _Header()
    state.header.years = {c.col: y for c, y in years}
    result.use(*(c for c, _ in years))
    schedule_words = {label_key(w) for w in vocab.words(KIND, "schedule_header")}
    for c in cells:
        seen = (c.row, c.col) in result.consumed or (c.row, c.col) in result.unplaced
        if c.text.strip() and nz.parse_year_heading(c.text) is None and not seen:
            if label_key(c.text) in schedule_words or _is_header([c, c, c], vocab):
                result.use(c)
            else:
                result.unplaced_cell(c, "action plan: text in the year header row that is not a year")


# --- 関連KPI一覧 -----------------------------------------------------------------------------------


def _read_kpi_list(cells: list[Cell], state: _State, vocab: Vocabulary, result: ParseResult) -> bool:
    """The KPI list (関連KPI一覧): its heading, header and rows. True when the line belonged to it."""
    filled = [c for c in cells if c.text.strip()]
    if len(filled) == 1 and vocab.matches(KIND, "kpi_list_heading", filled[0].text):
        result.use(filled[0])
        return True
    meanings = {c.col: m for c in filled if (m := vocab.column_meaning(KIND, "kpi_list_columns", c.text))}
    if {"code", "name"} <= set(meanings.values()) and not year_header(filled):
        state.kpi_columns = meanings
        state.kpi_years = {
            m: year
            for c in filled
            if (m := meanings[c.col]) in ("baseline", "target")
            if (year := nz.parse_fiscal_year(c.text))
        }
        result.use(*filled)
        return True
    if state.kpi_columns is None:
        return False
    row = {state.kpi_columns[c.col]: c for c in filled if c.col in state.kpi_columns}
    codes = _cited_codes(row["code"].text, vocab) if "code" in row else []
    if len(codes) != 1 or "name" not in row:
        return False
    name, unit = nz.split_name_and_unit(nz.strip_marks(row["name"].text)[0], vocab.units)
    if "unit" in row:
        unit = nz.clean_text(row["unit"].text) or unit
    texts = {m: nz.clean_text(row[m].text) for m in ("baseline", "target") if m in row}
    state.kpi_list[codes[0]] = {
        "name": name,
        "name_as_written": nz.clean_text(row["name"].text),
        "unit": unit,
        **texts,
        "source_page": row["code"].page,
        "source_row": row["code"].line or row["code"].row + 1,
    }
    result.use(row["code"], row["name"], row.get("unit"), row.get("baseline"), row.get("target"))
    for c in filled:
        if (c.row, c.col) not in result.consumed:
            what = state.kpi_columns.get(c.col, "unnamed column")
            result.unplaced_cell(c, f"KPI list ({what}): the action_plan kind has no column for it")
    return True


def _plan_period(text: str) -> list[int]:
    """The plan's fiscal years printed above the table (``取組一覧（令和6年度～令和10年度）``,
    ``計画期間：2025年度～2029年度``), or [] when the line states no closed period."""
    span = nz.find_year_span(text)
    return list(range(span[0], span[1] + 1)) if span else []


def _read_period_line(cells: list[Cell], state: _State, vocab: Vocabulary, result: ParseResult) -> bool:
    """Above the header: a line stating the plan's period (``計画期間：令和7年度～令和11年度``) or
    defining its terms (``短期：R7～R8　中期：R9～R11``) is read. True when the line was that (a
    line of one or two cells that is no legend); a legend or a wider line is read further."""
    if state.header is not None:
        return False
    text = " ".join(c.text for c in cells)
    filled = [c for c in cells if c.text.strip()]
    if _is_legend(cells, vocab) or len(filled) > 2:
        if not state.plan_period and not _term_pattern(vocab).search(nz.clean_text(text)):
            state.plan_period = _plan_period(text)
        return False
    if terms := _term_definitions(text, state.plan_period, vocab, result):
        state.terms.update(terms)
    elif not state.plan_period and (period := _plan_period(text)):
        state.plan_period = period
    else:
        return False
    result.use(*filled)
    return True


@functools.cache
def _term_pattern(vocab: Vocabulary) -> re.Pattern[str]:
    """``短期：令和7～8年度`` / ``中期（R9～R11）``: a term of labels.yaml schedule_terms and what follows."""
    terms = "|".join(re.escape(t) for t in sorted(vocab.words(KIND, "schedule_terms"), key=len, reverse=True))
    return re.compile(rf"({terms})\s*(?:[:：]|[（(])\s*([^\s、,，;；)）]+)")


def _term_definitions(
    text: str, plan_years: list[int], vocab: Vocabulary, result: ParseResult
) -> dict[str, list[int]]:
    """``※実施時期　短期：令和7～8年度　中期：令和9～11年度`` → {短期: [2025, 2026], 中期: [2027 …]}:
    the fiscal years a document gives its terms. A term defined in words (``長期：次期計画以降…``)
    gets none and a warning: its cells are then reported, never guessed. A definition in years
    of the plan (``短期：1～2年目``, ``概ね3年以内``) counts from the plan's first year."""
    out: dict[str, list[int]] = {}
    for m in _term_pattern(vocab).finditer(nz.clean_text(text)):
        years = _relative_years(m.group(2), plan_years) or _period_years(m.group(2), plan_years, vocab)
        if isinstance(years, str):
            result.warn(
                f"schedule term {m.group(1)} is defined as {m.group(2)!r}: no fiscal years, its cells reported"
            )
        else:
            out[m.group(1)] = years
    return out


def _relative_years(value: str, plan_years: list[int]) -> list[int] | None:
    """``1~2年目`` / ``3~5年`` / ``概ね3年以内`` / ``5年間`` / ``3年目`` → those years of the plan
    (counted from its first fiscal year); None when the text is none of them, the plan's period is
    unknown or the years run past it."""
    m = _RELATIVE_YEARS.match(value)
    if m is None or not plan_years:
        return None
    last = int(m.group(2))
    first = int(m.group(1)) if m.group(1) else (last if m.group(3) == "目" else 1)
    return plan_years[first - 1 : last] if 1 <= first <= last <= len(plan_years) else None


def _term_years(s: str, terms: dict[str, list[int]], vocab: Vocabulary) -> list[int] | str:
    """``短期`` / ``短期~中期`` → the fiscal years the document defines for them (短期：R7～R8), from
    the first's first to the last's last; a str says why none (a term it does not define)."""
    words = set(vocab.words(KIND, "schedule_terms"))
    pieces = [re.sub(r"まで$", "", p) for p in re.split(r"[~～〜]|から", s)]
    if not 1 <= len(pieces) <= 2 or not all(p in words for p in pieces):
        return "not a period (R7～R9, 短期, 短期～中期, 通年 …)"
    undefined = [p for p in pieces if p not in terms]
    if undefined:
        return (
            f"the document gives {'・'.join(undefined)} no fiscal years "
            "(a definition such as 短期：R7～R8); not guessed"
        )
    first, last = min(terms[pieces[0]]), max(terms[pieces[-1]])
    return list(range(first, last + 1)) if first <= last else f"{s}: the terms' years run backwards"


def _period_years(
    text: str, plan_years: list[int], vocab: Vocabulary, terms: dict[str, list[int]] | None = None
) -> list[int] | str:
    """A 実施時期 / 実施年度 cell → its fiscal years: ``R7～R9`` / ``2025〜2027年度`` / ``令和7～9年度``
    → 2025, 2026, 2027; ``令和7年度～`` → to the plan's last year; ``R8`` → 2026; ``通年`` / ``随時``
    (labels.yaml schedule_every_year) → every year of the plan; ``短期`` / ``短期～中期``
    (schedule_terms) → the years the document defines for them (``terms``). A str says why it
    gives no years."""
    s = re.sub(r"\s+", "", nz.to_halfwidth_digits(nz.clean_text(text)))
    if any(t in s for t in vocab.words(KIND, "schedule_terms")):
        return _term_years(s, terms or {}, vocab)
    if s in vocab.words(KIND, "schedule_every_year"):
        return (
            plan_years or "a period for every year, and the plan states no period (計画期間 / year columns)"
        )
    single = nz.parse_year_heading(s)
    if single is not None:
        return [single]
    span = nz.parse_year_span(s)
    if span is None:
        if re.match(r"^.+(?:[～〜~]|から)", s) and nz.parse_fiscal_year(s) is not None:
            return "a period whose years cannot be read"
        return "not a period (R7～R9, 令和7年度～, 通年 …)"
    first, last = span
    if last is None:
        if not plan_years:
            return "an open-ended period (～) and the plan states no last year (計画期間 / year columns)"
        last = max(plan_years)
    return list(range(first, last + 1)) if first <= last else "a period whose years cannot be read"


def _cited_codes(text: str | None, vocab: Vocabulary) -> list[str]:
    """``KPI 1-1／KPI 1-2`` / ``指標2-1`` / ``1-3`` → [``1-1``, ``1-2``] …; [] unless the whole text
    is citations (a free text is no citation)."""
    s = nz.clean_text(text)
    if nz.is_missing(s):
        return []
    prefixes = sorted((label_key(p) for p in vocab.words(KIND, "kpi_prefixes")), key=len, reverse=True)
    codes = []
    for token in filter(None, _CITATION_SEP.split(s)):
        token = next((token[len(p) :] for p in prefixes if token.upper().startswith(p.upper())), token)
        if not token:
            continue
        parts, rest = nz.split_code_path(token.strip())
        if not parts or rest:
            return []
        codes.append("-".join(parts))
    return codes


# --- rows read by their columns -------------------------------------------------------------------


def _read_by_columns(cells: list[Cell], state: _State, vocab: Vocabulary, result: ParseResult) -> _Row | None:
    """A data row read by the meaning of its columns (the header), or None when its code column
    holds no code."""
    header = state.header
    assert header is not None
    named: dict[str, list[Cell]] = {}
    schedule: dict[tuple[int, int], int] = {}
    for c in cells:
        if not c.text.strip():
            continue
        year = _year_of(c, header, state.columns)
        if year is not None:
            schedule[(c.row, c.col)] = year
            continue
        named.setdefault(header.meanings.get(c.col, "unknown"), []).append(c)
    codes = _row_codes(named, state.bands, result)
    if codes is None:
        return None
    policy, measure, initiative, policy_title, measure_title = codes
    number = _row_number(named, len(state.rows) + 1)
    row = _Row(cells, number, policy, policy_title, measure, measure_title, initiative)
    row.schedule = [c for c in cells if (c.row, c.col) in schedule]
    row.years_of = schedule
    _fields_by_column(row, named, vocab, result)
    row.period_cells = named.get("schedule", [])
    row.cells = [c for c in row.cells if c not in row.period_cells]  # read or reported at the end
    return row


def _read_period(
    row: _Row, plan_years: list[int], terms: dict[str, list[int]], vocab: Vocabulary, result: ParseResult
) -> None:
    """Cells of a schedule-named column outside the year columns (実施時期 R7～R9, 通年, 短期): one
    (year, period as printed) per fiscal year of the period; a cell that gives no years is reported."""
    for c in row.period_cells:
        text = nz.clean_text(c.text, join_wrapped=True)
        years = _period_years(text, plan_years, vocab, terms)
        if isinstance(years, str):
            _not_read(row, [c], f"a schedule cell outside the year columns: {years}", result)
        else:
            row.period += [(year, text) for year in years]
            result.use(c)


def _year_of(cell: Cell, header: _Header, columns: dict[int | None, YearColumns]) -> int | None:
    page_columns = columns.get(cell.page)
    if cell.bbox is not None and page_columns:
        return year_at(cell, page_columns)
    return header.years.get(cell.col)


def _row_number(named: dict[str, list[Cell]], running: int) -> int:
    for c in named.get("row_number", []):
        n = nz.parse_number(c.text)
        if n is not None and n == int(n):
            return int(n)
    return running


def _row_codes(
    named: dict[str, list[Cell]], bands: _Bands, result: ParseResult
) -> tuple[str, str, str | None, str, str] | None:
    """(policy, measure, initiative, policy title, measure title) from the code, policy and
    measure columns, or the band headings over the row where the table has no such column; a
    compound code (``1-1-2``) and the printed policy / measure codes must agree."""
    # A 番号 column holding codes (1-ア-①, not a running number) is the code column.
    code_cells = named.get("initiative_code") or [
        c for c in named.get("row_number", []) if nz.parse_number(c.text) is None
    ]
    path = _code_path_of(code_cells)
    policy_no, policy_title = (
        _code_and_title(named["policy"]) if "policy" in named else bands.policy or (None, "")
    )
    measure_no, measure_title = (
        _code_and_title(named["measure"]) if "measure" in named else bands.measure or (None, "")
    )
    policy, measure, initiative = policy_no, measure_no, None
    if len(path) >= 3:
        policy, measure, initiative = path[0], path[1], path[-1]
    elif len(path) == 2 and policy_no is not None:
        measure, initiative = path
    elif len(path) == 2:
        policy, measure = path
    elif len(path) == 1:
        initiative = path[0]
    elif code_cells:
        return None  # the code column holds something that is no code
    if policy is None or measure is None:
        return None
    where = "-".join(p for p in (policy, measure, initiative) if p)
    for printed, used, what in ((policy_no, policy, "policy"), (measure_no, measure, "measure")):
        if printed is not None and printed != used:
            result.warn(f"row {where}: the {what} column says {printed}, the code {used}; the code is used")
    return policy, measure, initiative, policy_title, measure_title


def _strip_repost_mark(title: str, vocab: Vocabulary) -> str:
    """``(再)空き店舗の活用補助`` / ``【再掲】…`` → the name without the repost mark (the words of
    ``labels.yaml`` action_plan.repost_marker in brackets before the name)."""
    words = "|".join(re.escape(w) for w in sorted(vocab.words(KIND, "repost_marker"), key=len, reverse=True))
    return re.sub(rf"^[【\[(〔]\s*(?:{words})\s*[】\])〕]\s*", "", title) or title


def _code_path_of(cells: list[Cell]) -> list[str]:
    """``1-1-2`` / ``【1】-ア-①`` (a bracketed component) / a lone ``a`` or ``ア`` → its components."""
    path: list[str] = []
    for c in cells:
        text = _BRACKETED_PART.sub(r"\1", nz.clean_text(c.text))
        path, _ = nz.split_code_path(text)
        if not path and re.fullmatch(r"[a-zア-ン]", text.lower()):
            path = [text.lower()]
    return path


def _code_and_title(cells: list[Cell]) -> tuple[str | None, str]:
    """``Ⅰ　地域の稼ぐ力を高める`` / ``(1)　販路の拡大`` / a code cell and a title cell → (code, title)."""
    code, titles = None, []
    for c in cells:
        parts, rest = nz.split_code_path(c.text)
        if parts and code is None:
            code = parts[-1]
        if rest:
            titles.append(nz.clean_text(rest, join_wrapped=True))
    return code, " ".join(titles)


def _fields_by_column(
    row: _Row, named: dict[str, list[Cell]], vocab: Vocabulary, result: ParseResult
) -> None:
    """Fields of a row read by column meaning; cells of columns no record has are reported."""

    def text(meaning: str) -> str | None:
        parts = [nz.clean_text(c.text, join_wrapped=True) for c in named.get(meaning, [])]
        return " ".join(p for p in parts if p) or None

    f = row.fields
    title = text("short_name")
    f["title"] = _strip_repost_mark(nz.strip_marks(title)[0], vocab) if title else None
    f["description"] = text("description")
    f["current_state"] = text("current_state")
    f["kpi_text"] = text("kpi")
    f["notes"] = text("notes")
    f["department"] = text("department")
    flags = set(vocab.words(KIND, "priority_flags"))
    f["is_priority"] = any(_only_words(t, flags) for t in (text("priority") or "").split())
    f["relation"] = text("relation")
    f["implementation_policy"] = text("implementation_policy")
    known = set(vocab.words(KIND, "implementation_policy")) | set(vocab.words(KIND, "relation"))
    for value in (f["relation"], f["implementation_policy"]):
        if value and not _is_placeholder(value) and not _only_words(value, known):
            result.warn(f"row {row.number}: 区分 {value!r} is not a word of labels.yaml; kept as printed")
    kpi = f["kpi_text"]
    if kpi and not nz.is_missing(kpi) and not kpi_references(kpi) and not _cited_codes(kpi, vocab):
        f["inline_kpi"] = inline_kpi(kpi)
        if f["inline_kpi"] is None:
            why = "an indicator cited by name with no code and no target (name：年60件) read"
            _not_read(row, named["kpi"], why, result)
    _not_read(
        row,
        named.get("unknown", []),
        "a column the header does not name; no initiatives column holds it",
        result,
    )


def _not_read(row: _Row, cells: list[Cell], why: str, result: ParseResult) -> None:
    """Cells of a row no record holds: reported with why, not marked read."""
    for c in cells:
        result.unplaced_cell(c, f"action plan row {row.number}: {why}")
    row.cells = [x for x in row.cells if x not in cells]


# --- rows read by their cells' content (drifting columns) ---------------------------------------


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


def inline_kpi(text: str | None) -> dict[str, Any] | None:
    """An indicator cited by name with its target inline: ``相談件数：年60件`` → name 相談件数,
    target 60 件 a year; ``補助件数：5年間で25件`` → a cumulative target of 25 件 over 5 years
    (``cumulative_target``); None when the text is no ``name：target``."""
    m = _INLINE_KPI.match(nz.clean_text(text))
    value, unit = nz.parse_quantity(m.group("qty")) if m else (None, None)
    if m is None or value is None:
        return None
    when = m.group("when").strip()
    printed = f"{when}{nz.clean_text(m.group('qty'))}"
    cumulative = bool(re.search(r"年間|累計|期間", when))
    if cumulative:
        note = f"{printed}: a cumulative target (累計)"
    elif when:
        note = f"{printed}: a target per year (年)" if "年" in when else printed
    else:
        note = None
    return {
        "name": nz.clean_text(m.group("name")),
        "unit": unit,
        "target_value": None if cumulative else value,
        "cumulative_target": value if cumulative else None,
        "target_text": printed,
        "note": note,
    }


def code_path(text: str) -> str | None:
    """``4-1-b`` / ``3-①-a`` / ``2-①のa`` / ``2-1-2`` → ``4-1-b`` / ``3-1-a`` / ``2-1-a`` / ``2-1-2``."""
    parts, rest = nz.split_code_path(nz.clean_text(text).replace(" ", ""))
    return "-".join(parts) if len(parts) == 3 and not rest else None


def _split_measure_title(title: str) -> tuple[str, str | None]:
    """``新技術…促進（中小企業の…(再掲)）`` → (``新技術…促進``, ``中小企業の…(再掲)``)."""
    m = _TRAILING_PAREN.search(title)
    if m and "再掲" in m.group(1):
        return title[: m.start()].strip(), nz.clean_text(m.group(1))
    return title, None


def _schedule_marks(state: _State, vocab: Vocabulary, result: ParseResult) -> _Marks:
    """The continuation marks (``→``) of a document that writes its arrows as text, and its
    symbol marks (``●``, named by its legend ``●：実施`` or kept as printed). In a document that
    writes either, every planned year is written: an empty year cell means nothing planned."""
    continuation = frozenset(vocab.words(KIND, "schedule_continuation"))
    texts = {nz.clean_text(c.text) for r in state.rows for c in r.schedule}
    arrows = continuation if texts & continuation else frozenset()
    symbols = {t for t in texts if len(t) == 1 and unicodedata.category(t).startswith("S")} - continuation
    if unexplained := sorted(symbols - set(state.marks)):
        result.warn(
            f"schedule marks {' '.join(unexplained)} have no legend (凡例 ●：実施 …); kept as printed"
        )
    return _Marks(arrows, dict(state.marks), bool(arrows or symbols))


def _emit(state: _State, result: ParseResult, geometry: _Geometry, marks: _Marks) -> None:
    rows = state.rows
    policies = (
        (
            (r.policy_code,),
            {"policy_code": r.policy_code, "title": r.policy_title, "source_page": r.cells[0].page},
            f"row {r.number}",
        )
        for r in rows
    )
    for rec, variants in merge_by_code(policies):
        result.add("policies", rec)
        for field_name, where, value in variants:
            result.warn(f"policy {rec['policy_code']}: {field_name} differs on {where}: {value!r}")
    measure_items = []
    for r in rows:
        title, note = _split_measure_title(r.measure_title)
        record = {"policy_code": r.policy_code, "measure_code": r.measure_code, "title": title, "note": note}
        measure_items.append(
            ((r.policy_code, r.measure_code), {**record, "source_page": r.cells[0].page}, f"row {r.number}")
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
        key = (r.policy_code, r.measure_code)
        seq[key] = seq.get(key, 0) + 1
        title = _emit_initiative(r, by_path, seq[key], state.kpi_list, result)
        items, notes = _schedule(r, state.years, geometry, band_end, marks, result)
        for note in notes:
            result.warn(f"row {r.number}: {note}")
        lanes = [(1, year, activity, carried, False) for year, activity, carried in items]
        # a period beside year cells is a lane of its own (one row per initiative, lane and year)
        lanes += [(2 if items else 1, year, period, False, True) for year, period in r.period]
        for lane, year, activity, carried, from_period in lanes:
            result.add(
                "schedule_items",
                {
                    "policy_code": r.policy_code,
                    "measure_code": r.measure_code,
                    "initiative_code": r.initiative_code,
                    "initiative_title": title,
                    "initiative_seq": seq[key],
                    "lane": lane,
                    "fiscal_year": year,
                    "activity": activity,
                    "is_carried_forward": carried,
                    "from_period": from_period,
                    "source_page": r.cells[0].page,
                },
            )
    _emit_indicators(state, result)


def _emit_indicators(state: _State, result: ParseResult) -> None:
    """Indicators the action plan states: the 関連KPI一覧's rows (code, name, unit, baseline and
    target, their years from the header) and KPIs cited by name with an inline target
    (相談件数：年60件, their year from a note such as 指標・目標値は令和11年度の値)."""
    for code, k in state.kpi_list.items():
        target, cumulative = nz.parse_target(k.get("target"))
        policy = code.split("-")[0]
        result.add(
            "indicators",
            {
                "indicator_id": f"kpi|{policy}||{k['name']}|{code}",
                "policy_code": policy,
                "measure_code": None,
                "indicator_code": code,
                "indicator_code_source": "document",
                "indicator_type": "kpi",
                "name": k["name"],
                "name_as_written": k["name_as_written"],
                "unit": k["unit"],
                "baseline_value": nz.parse_number(k.get("baseline")),
                "baseline_text": k.get("baseline"),
                "baseline_fiscal_year": state.kpi_years.get("baseline"),
                "target_fiscal_year": state.kpi_years.get("target"),
                "target_value": target,
                "target_text": k.get("target"),
                "cumulative_target": cumulative,
                "is_reposted": False,
                "source_page": k["source_page"],
                "source_row": k["source_row"],
            },
        )
    seen: set[str] = set()
    for r in state.rows:
        k = r.fields.get("inline_kpi")
        local_id = f"kpi|{r.policy_code}|{r.measure_code}|{k['name']}" if k else ""
        if not k or local_id in seen:
            continue
        seen.add(local_id)
        result.add(
            "indicators",
            {
                "indicator_id": local_id,
                "policy_code": r.policy_code,
                "measure_code": r.measure_code,
                "indicator_code": None,
                "indicator_type": "kpi",
                **k,
                "name_as_written": r.fields["kpi_text"],
                "target_fiscal_year": state.target_year,
                "is_reposted": bool(r.fields.get("reposted_from")),
                "source_page": r.cells[0].page,
                "source_row": r.cells[0].line or r.cells[0].row + 1,
            },
        )


def _title(r: _Row, by_path: dict[str, _Row], reposted_from: str | None, result: ParseResult) -> str:
    """The short name (取組略称); a (再掲) one is the original's, a missing one the description's start."""
    where = f"row {r.number}"
    title = nz.clean_text(r.fields.get("title") or "", join_wrapped=True)
    if label_key(title) in ("(再掲)", "再掲", "") and reposted_from in by_path:
        original = by_path[reposted_from]
        title = nz.clean_text(original.fields.get("title") or "", join_wrapped=True)
        result.warn(f"{where}: short name printed as (再掲); taken from the original {reposted_from}")
    if not title:
        title = (r.fields.get("description") or "")[:40]
        result.warn(f"{where}: no short name (取組略称); the description's start is used as title")
    return title


def _references(r: _Row, kpi_list: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """KPI references of a row: ``2-3_name`` texts, or citations (``KPI 1-1／KPI 1-2``) named by the
    KPI list; codes in 備考 are related targets."""
    f = r.fields
    refs = kpi_references(f.get("kpi_text"))
    if not refs:
        for code in _cited_codes(f.get("kpi_text"), vocabulary()):
            named = kpi_list.get(code, {})
            refs.append(
                {
                    "indicator_code": code,
                    "name": named.get("name"),
                    "unit": named.get("unit"),
                    "is_related_target": False,
                }
            )
    return refs + [{**ref, "is_related_target": True} for ref in kpi_references(f.get("notes"))]


def _reposted_from(r: _Row, description: str, result: ParseResult) -> str | None:
    """The original a reposted row cites: ``(1-1-2の再掲)`` in its description, or ``※再掲：2-イ-①``
    in its description or notes (備考)."""
    m = _REPOST_OF.search(description) or _REPOST_CITED.search(f"{description} {r.fields.get('notes') or ''}")
    if m is None:
        return None
    original = code_path(m.group(1))
    if original is None:
        result.warn(f"row {r.number}: cannot read the 再掲 reference {m.group(0)!r}")
    return original


def _emit_initiative(
    r: _Row, by_path: dict[str, _Row], seq: int, kpi_list: dict[str, dict[str, Any]], result: ParseResult
) -> str:
    """The initiatives row and its KPI references; returns the initiative's title."""
    f = r.fields
    description = f.get("description") or ""
    reposted_from = _reposted_from(r, description, result)
    f["reposted_from"] = reposted_from  # its inline KPI (相談件数：年60件) is then a 再掲 one
    reposted_to = [p for m in _REPOST_AT.finditer(description) if (p := code_path(m.group(1)))]
    title = _title(r, by_path, reposted_from, result)
    refs = _references(r, kpi_list)
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
            "department": f.get("department"),
            "seq": seq,
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
    return title


def _lane_items(
    lane: dict[int, str], years: list[int], marks: _Marks, notes: list[str]
) -> list[tuple[int, str, bool]]:
    """A lane's (year, activity, carried): a legend mark is the activity its legend names, ``→``
    cells continue the activity to their left and an empty year is nothing (every planned year
    written), or the carry-forward convention."""
    lane = {year: marks.meanings.get(text, text) for year, text in lane.items()}
    if not marks.explicit:
        return list(carry_forward(lane, years))
    items, current = [], None
    for year in years:
        text = lane.get(year)
        if text is None or nz.is_missing(text):
            current = None
        elif text in marks.continuation:
            if current is None:
                notes.append(f"{year}: {text!r} continues no activity; ignored")
            else:
                items.append((year, current, True))
        else:
            current = text
            items.append((year, text, False))
    return items


def _schedule(
    r: _Row,
    years: list[int],
    geometry: _Geometry,
    band_end: float | None,
    marks: _Marks,
    result: ParseResult,
) -> tuple[list[tuple[int, str, bool]], list[str]]:
    """Schedule of one row: years from the header's columns, the cells' boxes and arrows (PDF), or
    from cell order (a text export that lost its empty cells)."""
    cells = [c for c in r.schedule if c.text.strip()]
    if not cells or not years:
        return [], []
    notes: list[str] = []
    columns = geometry.columns.get(r.cells[0].page, [])
    if r.years_of is not None or (columns and all(c.bbox for c in cells)):
        lane: dict[int, str] = {}
        for c in cells:
            text = nz.clean_text(c.text, join_wrapped=True)
            year = r.years_of.get((c.row, c.col)) if r.years_of is not None else year_at(c, columns)
            if year is None:
                notes.append(f"schedule text {text!r} stands outside the year columns; ignored")
                result.unplaced_cell(c, f"action plan row {r.number}: schedule text outside the year columns")
            elif not nz.is_missing(text):
                lane[year] = f"{lane[year]} {text}" if year in lane else text
        if marks.explicit:
            return _lane_items(lane, years, marks, notes), notes
        spans = None
        if geometry.arrows and r.top is not None:
            spans = arrow_spans(geometry.arrows, r.cells[0].page, r.top, band_end or r.top + 400, columns)
        items, disagreements = schedule_years(lane, years, spans)
        return items, notes + disagreements
    return _schedule_by_order(cells, years, marks, notes)


def _schedule_by_order(
    cells: list[Cell], years: list[int], marks: _Marks, notes: list[str]
) -> tuple[list[tuple[int, str, bool]], list[str]]:
    """Text exports that keep no column positions: the first cell is the first year, and so on."""
    texts = [nz.clean_text(c.text, join_wrapped=True) for c in cells]
    lane: dict[int, str] = {}
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
    return _lane_items(lane, years, marks, notes), notes
