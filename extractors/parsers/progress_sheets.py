"""進捗管理シート (progress sheets) → policies, measures, initiatives, schedule, KPIs.

One sheet per 推進する施策 (measure). Each sheet repeats its 方針 (policy) and 方向性
(direction), lists 主な取り組み (initiatives) against year columns, and prints the KPI
table of its policy. Blocks are found by their shape first and named by the vocabulary
(``schemas/labels.yaml``):

* a label/value block at the top (方針 / 施策の柱, 方向性 / 取組方針, 推進する施策 / 主要施策 …);
  a label the vocabulary does not know is read by its position in the block (a coded value
  after the policy is the measure …) and reported;
* a schedule table: a header whose cells are a run of years in any notation (2023, R5,
  令和５年度, FY2023 …);
* a KPI table: a header with baseline / target / actual-like columns, rows holding numbers;
  a line without numbers that starts with a note marker is a note, never a KPI;
* rule lines mapping grades to bands (評価基準), whatever label precedes them.

Every cell read into a record or recognised as a label is marked used; every other
non-empty cell is reported with why (``unparsed_cells``). Pure: grid in, :class:`ParseResult` out.
"""

from __future__ import annotations

import re
from functools import lru_cache

from core import normalize as nz
from core.models import Cell, ExtractionError, Grid, ParseResult
from schemas.vocabulary import Vocabulary, label_key, vocabulary

from .common import has_number, is_rule_line, row_cells, stated_value, year_columns, year_header
from .progress_records import Initiative, Lane, Sheet, emit, report_unused_notes

KIND = "progress_sheets"
RULE_TYPES = {"grading_rule": "indicator_grade", "overall_rule": "overall"}  # 指標評価 / 総合評価
RULE_BLOCKS = {"grading_rule": "grading rule line", "overall_rule": "overall rule line"}
BLOCK_LABELS = [
    "policy",
    "direction",
    "measure",
    "initiatives",
    "results",
    "issues",
    "created",
    "department",
    "remarks",
    "background",
]
#: Recognised, but no table has a column for them: their values are reported, not stored.
IGNORED_BLOCKS = ("remarks", "background")
#: KPI columns read into records; the others (番号 …) are recognised and reported.
KPI_STORED = (
    "name",
    "unit",
    "baseline",
    "target",
    "final_target",
    "actual",
    "achievement_rate",
    "grade",
    "department",
    "remarks",
)
KPI_VALUES = ("baseline", "target", "final_target", "interim_target", "actual")
#: The block a label belongs to, for comparing the blocks of sheets (the rest: headings).
_BLOCK_OF = {"initiatives": "schedule", "results": "reports", "issues": "reports"}
_COLON = re.compile(r"^\s*([^:：]{1,12})\s*[:：]\s*(.*)$")
_BRACKETED = re.compile(r"^\s*[【［〔\[]\s*([^】］〕\]]{1,14}?)\s*[】］〕\]]\s*(.*)$")  # 【評価の目安】◎：…
_NOTE_MARK = re.compile(r"^[(（\[【〔]?\s*(?:注|備考|※|\*|＊)")
_MAX_LABEL = 15  # a label is short: longer first cells are text, not labels


def parse(grid: Grid, vocab: Vocabulary | None = None) -> ParseResult:
    """Parse every progress sheet in ``grid``."""
    vocab = _Lookup(vocab or vocabulary())
    result = ParseResult(kind=KIND)
    sheets = _Reader(grid, vocab, result).read()
    kept = [s for s in sheets if s.policy or s.measure]
    for s in sheets:
        if s not in kept:
            _release(s, result)
    if not kept:
        raise ExtractionError("no progress sheet found (no 方針 / 推進する施策 rows were recognised)")
    last = sheets[-1]
    last.cut = cut_short(last, [s for s in kept if s is not last])
    if last.cut and last not in kept:  # a sheet cut before its 方針 gives no records: say so here
        result.mark_cut(last.cut)
    # A document that prints → in every continued year means nothing by an empty cell.
    marked = any(lane.marks for s in kept for ini in s.initiatives for lane in ini.lanes)
    emit(kept, result, [s for s in grid.shapes if s.kind == "arrow"], explicit_marks=marked)
    report_unused_notes(kept, result)
    return result


class _Lookup:
    """The vocabulary's lookups for this kind, memoized per text: the same labels recur on
    every sheet, and each lookup otherwise normalizes every spelling again."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self.units = vocab.units

    def matches(self, kind: str, label: str, text: str | None) -> bool:
        return _matches(self.vocab, label, text or "")

    def classify(self, kind: str, text: str | None, labels: list[str]) -> str | None:
        return next((label for label in labels if _matches(self.vocab, label, text or "")), None)

    def column_meaning(self, kind: str, table: str, header: str | None) -> str | None:
        return _column_meaning(self.vocab, table, header or "")


@lru_cache(maxsize=1 << 16)
def _matches(vocab: Vocabulary, label: str, text: str) -> bool:
    return vocab.matches(KIND, label, text)


@lru_cache(maxsize=1 << 16)
def _column_meaning(vocab: Vocabulary, table: str, header: str) -> str | None:
    return vocab.column_meaning(KIND, table, header)


def _inline_label(text: str) -> tuple[str, str] | None:
    """A label printed in the value's cell: ``課題：…`` or ``【評価の目安】◎：…`` → (label, rest)."""
    s = nz.clean_text(text)
    for pattern in (_BRACKETED, _COLON):
        m = pattern.match(s)
        if m:
            return m.group(1), m.group(2)
    return None


def cut_short(last: Sheet, others: list[Sheet]) -> str | None:
    """Why the document's last sheet looks cut (途中で切れたシート), or None: it lacks blocks
    that every other sheet of the document has (its KPI table, its rule lines …), or it ends
    on a table's header with no row under it."""
    ends = f"{last.where()} ends after its {last.blocks[-1]}" if last.blocks else last.where()
    required = [b for b in others[0].blocks if all(b in o.blocks for o in others)] if others else []
    lacking = [b for b in required if b not in last.blocks]
    if lacking:
        which = "the other sheet has" if len(others) == 1 else f"the other {len(others)} sheets have"
        what = " or ".join([", ".join(lacking[:-1]), lacking[-1]] if len(lacking) > 1 else lacking)
        return f"{ends}: no {what}, which {which} — the file may be cut"
    rows = {"schedule": len(last.initiatives), "KPI table": len(last.kpis)}
    if last.blocks and rows.get(last.blocks[-1]) == 0:
        return f"{ends}: its header has no row under it — the file may be cut"
    return None


def _release(sheet: Sheet, result: ParseResult) -> None:
    """A sheet without policy or measure gives no records: report the cells it had taken."""
    for key in sheet.cells:
        result.consumed.discard(key)
        result.unplaced.setdefault(key, f"part of {sheet.where()}, which has no 方針 / 施策 row")


class _Reader:
    """Reads grid rows into :class:`Sheet` objects, block by block."""

    def __init__(self, grid: Grid, vocab: _Lookup, result: ParseResult):
        self.grid, self.vocab, self.result = grid, vocab, result
        self.sheets: list[Sheet] = []
        self.sheet: Sheet | None = None
        self.mode: str | None = None  # None (label/value block) | "schedule" | "kpi"
        self.pending: tuple[str, Cell] | None = None  # a report label whose value is on the next line

    # -- bookkeeping --------------------------------------------------------------------

    def use(self, *cells: Cell | None) -> None:
        self.result.use(*cells)
        if self.sheet is not None:
            self.sheet.cells.update((c.row, c.col) for c in cells if c is not None)

    def unplaced(self, cell: Cell, why: str) -> None:
        self.result.unplaced_cell(cell, why)

    def new_sheet(self, cell: Cell) -> Sheet:
        self.sheet = Sheet(index=len(self.sheets) + 1, first_row=cell.row, page=cell.page)
        self.sheets.append(self.sheet)
        self.mode, self.pending = None, None
        return self.sheet

    def block(self) -> str:
        return {"schedule": "schedule", "kpi": "KPI"}.get(self.mode or "", "label/value")

    # -- rows ---------------------------------------------------------------------------

    def read(self) -> list[Sheet]:
        for raw in self.grid.rows:
            cells = [c for c in row_cells(raw)]
            if any(c.text.strip() for c in cells):
                self.row(cells)
        return self.sheets

    def row(self, cells: list[Cell]) -> None:
        filled = [c for c in cells if c.text.strip()]
        joined = " ".join(c.text for c in filled)
        if self.vocab.matches(KIND, "sheet_title", joined) and len(label_key(joined)) <= 40:
            self.new_sheet(filled[0]).title = nz.clean_text(joined, join_wrapped=True)
            self.sheet.saw("title")
            self.use(*filled)
            return
        if len(filled) <= 2 and (self.rule(filled, joined) or self.printed_grade(filled)):
            return
        if self.schedule_header(cells, filled) or self.kpi_header(cells, filled):
            return
        if self.labelled(cells, filled):
            return
        if all(nz.is_missing(c.text) for c in filled):
            self.use(*filled)  # placeholders such as "--" / "----- --": read, no value
            return
        self.body_row(cells, filled)

    def body_row(self, cells: list[Cell], filled: list[Cell]) -> None:
        """A row inside a block: a report's value, an initiative, a KPI, a note — or unknown."""
        if self.pending and len(filled) == 1 and self.sheet is not None:
            label, _ = self.pending
            self.sheet.reports[label] = nz.clean_text(filled[0].text)
            self.use(filled[0])
            self.pending = None
            return
        if self.sheet is not None and self.is_note(filled):
            self.sheet.footnotes.append((nz.clean_text(filled[0].text), filled[0]))
            self.sheet.cells.add((filled[0].row, filled[0].col))  # read when a KPI refers to it
            self.report_rest(filled[1:], "text beside a note line")
        elif self.sheet is not None and self.mode == "schedule":
            self.initiative_row(cells)
        elif self.sheet is not None and self.mode == "kpi":
            self.kpi_row(cells, filled)
        elif not self.unknown_label(cells, filled):
            where = "before the first sheet" if self.sheet is None else f"in the {self.block()} block"
            for c in filled:
                self.unplaced(c, f"free text {where}, not part of any recognised block")

    def report_rest(self, cells: list[Cell], why: str) -> None:
        for c in cells:
            if c.text.strip() and not nz.is_missing(c.text):
                self.unplaced(c, why)
            elif c.text.strip():
                self.use(c)

    def is_note(self, filled: list[Cell]) -> bool:
        """A note line (※…, （注）…, *…): starts with a note marker and holds no figure in a
        cell of its own, or is a single line of text without figures under a table."""
        first = nz.clean_text(filled[0].text)
        marked = bool(_NOTE_MARK.match(first)) or self.vocab.matches(KIND, "footnote", first)
        if not marked:
            return False
        return len(filled) == 1 or not any(has_number(c.text) for c in filled[1:])

    # -- blocks -------------------------------------------------------------------------

    def rule(self, filled: list[Cell], joined: str) -> bool:
        """A grading rule line (指標評価：… / 総合評価：… / 評価基準 …, or any grades-to-bands line)."""
        text = filled[0].text
        labelled = self.vocab.classify(KIND, text, ["grading_rule", "overall_rule"])
        if labelled is None and (inline := _inline_label(text)):
            labelled = self.vocab.classify(KIND, inline[0], ["grading_rule", "overall_rule"])
        by_label = labelled is not None and (":" in nz.clean_text(joined) or "=" in nz.clean_text(joined))
        if not by_label and not is_rule_line(joined):
            return False
        if self.sheet is None:
            for c in filled:
                self.unplaced(c, "grading rule before the first sheet")
            return True
        rule_type = RULE_TYPES[labelled or "grading_rule"]
        self.sheet.rules[rule_type] = nz.clean_text(joined)
        self.sheet.rule_rows[rule_type] = filled[0].line or filled[0].row + 1
        self.sheet.saw(RULE_BLOCKS[labelled or "grading_rule"])
        self.use(*filled)
        self.mode, self.pending = None, None
        return True

    def printed_grade(self, filled: list[Cell]) -> bool:
        """``総合評価 | Ｂ``: the grade a sheet gives itself under its overall rule label →
        ``sheets.stated_overall_grade`` (B). A grade under an indicator-grade label has no
        column: the label is read, the grade reported (never an unknown label)."""
        if len(filled) != 2 or self.sheet is None or len(nz.clean_text(filled[1].text)) > 4:
            return False
        label = self.vocab.classify(KIND, filled[0].text, ["overall_rule", "grading_rule"])
        if label is None:
            return False
        self.use(filled[0])
        if label == "overall_rule":
            self.use(filled[1])
            self.sheet.stated_overall_grade = stated_value(filled[1].text)
            return True
        self.unplaced(
            filled[1], f"the sheet's printed grade under 「{nz.clean_text(filled[0].text)}」: no column"
        )
        return True

    def schedule_header(self, cells: list[Cell], filled: list[Cell]) -> bool:
        """The schedule's header: a run of years (and the initiatives label before it)."""
        years = year_header(cells)
        if not years:
            return False
        if self.sheet is None:
            self.new_sheet(filled[0])
        label = next((c for c in filled if c.col not in years), None)
        if label is not None and not self.vocab.matches(KIND, "initiatives", label.text):
            self.unknown(label, "schedule", "read as the initiatives column by its position")
        elif label is not None:
            self.use(label)
        self.sheet.years = years
        self.sheet.saw("schedule")
        self.sheet.year_cols = year_columns(cells, nz.parse_year_heading)
        self.use(*(c for c in cells if c.col in years))
        self.report_rest(
            [c for c in filled if c.col not in years and c is not label], "cell beside the years"
        )
        self.mode, self.pending = "schedule", None
        return True

    def kpi_header(self, cells: list[Cell], filled: list[Cell]) -> bool:
        """The KPI table's header: baseline / target / actual-like columns, no figures."""
        if len(filled) < 3 or any(nz.parse_number(c.text) is not None for c in filled):
            return False
        meanings = {c.col: self.vocab.column_meaning(KIND, "kpi_columns", c.text) for c in filled}
        values = {m for m in meanings.values() if m in KPI_VALUES}
        if not values or len({m for m in meanings.values() if m and m != "name"}) < 2:
            return False
        if self.sheet is None:
            self.new_sheet(filled[0])
        self.sheet.kpi_columns, self.sheet.kpi_headers = {}, {}
        name_col = next((col for col, m in meanings.items() if m == "name"), None)
        for c in filled:
            meaning = meanings[c.col]
            if meaning is None and name_col is None:
                meaning, name_col = "name", c.col
                self.unknown(c, "KPI", "read as the indicator name column by its position")
            elif meaning is None:
                self.unknown(c, "KPI", "its column is reported, not read")
                meaning = "unknown"
            else:
                self.use(c)
            self.sheet.kpi_columns[c.col] = meaning
            self.sheet.kpi_headers[c.col] = nz.clean_text(c.text)
        self.sheet.set_kpi_years(self.sheet.kpi_headers)
        self.sheet.has_kpi_table = True
        self.sheet.saw("KPI table")
        self.mode, self.pending = "kpi", None
        return True

    def labelled(self, cells: list[Cell], filled: list[Cell]) -> bool:
        """A label/value row of a known label (方針 / 方向性 / 推進する施策 / 事業実績 …)."""
        first = filled[0]
        label = self.vocab.classify(KIND, first.text, BLOCK_LABELS)
        values = filled[1:]
        inline = ""
        if label is None and (split := _inline_label(first.text)):
            label = self.vocab.classify(KIND, split[0], BLOCK_LABELS)
            inline = split[1]
        if label is None or (first.col != cells[0].col and self.mode in ("schedule", "kpi")):
            return False
        if label == "policy" and self.sheet is not None and self.sheet.policy is not None:
            if self.sheet.measure is None and not self.sheet.initiatives and self.mode is None:
                label = "measure"  # 基本施策 under a 施策の柱: a measure by its position
            else:
                self.new_sheet(first)
        if self.sheet is None:
            self.new_sheet(first)
        self.use(first)
        self.sheet.saw(_BLOCK_OF.get(label, "headings"))
        value = " ".join(t for t in [inline, *(c.text for c in values)] if t.strip())
        self.take(label, first, values, value)
        return True

    def take(self, label: str, first: Cell, values: list[Cell], value: str) -> None:
        """Store a labelled value on the sheet."""
        sheet = self.sheet
        assert sheet is not None
        if label in IGNORED_BLOCKS:
            self.report_rest(
                values, f"value of 「{nz.clean_text(first.text)}」: recognised ({label}), not stored"
            )
            return
        self.use(*values)
        if label == "department":
            self.set_department(value)
        elif label in ("policy", "measure"):
            self.set_heading(label, value)
        elif label == "direction":
            sheet.direction = nz.clean_text(value, join_wrapped=True)
        elif label == "initiatives":
            self.mode = "schedule"  # the years may follow on the next row (PDFs)
        else:
            if self.mode == "schedule" and first.bbox:
                sheet.schedule_end = first.bbox[1]
            self.mode, self.pending = None, None
            if not nz.is_missing(value):
                sheet.reports[label] = nz.clean_text(value)
            elif not values:
                self.pending = (label, first)
            return
        self.pending = None

    def set_department(self, value: str) -> None:
        """所管課 / 担当課 of the sheet; a second, different one is a warning (the first kept)."""
        sheet = self.sheet
        assert sheet is not None
        text = stated_value(value)
        if sheet.department is None:
            sheet.department = text
        elif text != sheet.department:
            self.result.warn(f"{sheet.where()}: department {text!r} differs from {sheet.department!r}")

    def set_heading(self, label: str, value: str) -> None:
        """方針 / 推進する施策 with their code: ``第１ …``, ``(1) …``, ``①…``, ``1-2 …``, ``ア …``."""
        sheet = self.sheet
        assert sheet is not None
        parts, title = nz.split_code_path(value)
        if not parts:
            code, title = nz.split_item_code(value)
            parts = [code] if code else []
        if not parts:
            self.result.warn(f"{sheet.where()}: {label} without a number: {value!r}")
        code = parts[-1] if label == "measure" and parts else "-".join(parts) or "0"
        if label == "measure" and len(parts) >= 2 and sheet.policy and parts[0] != sheet.policy[0]:
            self.result.warn(
                f"{sheet.where()}: measure code {'-'.join(parts)} does not start with its policy's "
                f"code {sheet.policy[0]}"
            )
        setattr(sheet, label, (code, nz.clean_text(title, join_wrapped=True)))

    def unknown(self, cell: Cell, block: str, what: str) -> None:
        """A label-like cell the vocabulary does not know: a warning and an unplaced cell."""
        text = nz.clean_text(cell.text)
        where = self.sheet.where() if self.sheet else "before the first sheet"
        self.result.warn(f"{where}: unknown label 「{text}」 in the {block} block ({what})")
        self.unplaced(cell, f"unknown label 「{text}」 in the {block} block ({what})")

    def unknown_label(self, cells: list[Cell], filled: list[Cell]) -> bool:
        """A short first cell with a value beside it: an unknown label. In the label/value block
        a coded value is read as the policy (or the measure after it), plain text after the
        policy as its direction; otherwise the row is reported."""
        first, values = filled[0], filled[1:]
        if not values or len(label_key(first.text)) > _MAX_LABEL or has_number(first.text):
            return False
        sheet = self.sheet
        value = " ".join(c.text for c in values)
        field = None
        if sheet is not None and self.mode is None and not sheet.initiatives and not sheet.has_kpi_table:
            coded = bool(nz.split_code_path(value)[0] or nz.split_item_code(value)[0])
            if coded and sheet.policy is None:
                field = "policy"
            elif coded and sheet.measure is None:
                field = "measure"
            elif not coded and sheet.policy and sheet.measure is None and sheet.direction is None:
                field = "direction"
        if field is None:
            self.unknown(first, self.block(), "its row is reported, not read")
            for c in values:
                self.unplaced(c, f"value of the unknown label 「{nz.clean_text(first.text)}」")
            return True
        self.unknown(first, "label/value", f"its value was read as the {field} by its position")
        self.use(*values)
        sheet.saw("headings")
        if field == "direction":
            sheet.direction = nz.clean_text(value, join_wrapped=True)
        else:
            self.set_heading(field, value)
        return True

    # -- table rows ---------------------------------------------------------------------

    def initiative_row(self, cells: list[Cell]) -> None:
        """A row of the schedule: an initiative (its title in the first column) or a further
        lane of the initiative above (first column empty)."""
        sheet = self.sheet
        assert sheet is not None
        first = cells[0]
        title_cell = first if first.col not in sheet.years and first.text.strip() else None
        lane_cells = [c for c in cells if c.col in sheet.years]
        texts = {sheet.years[c.col]: nz.clean_text(c.text, join_wrapped=True) for c in lane_cells}
        self.use(title_cell, *(c for c in lane_cells if c.text.strip()))
        self.report_rest(
            [c for c in cells if c.col not in sheet.years and c is not first],
            "cell outside the schedule's year columns",
        )
        boxes = [c.bbox for c in cells if c.bbox]
        marks = {y for y, t in texts.items() if self.vocab.matches(KIND, "continuation", t)}
        lane = Lane(
            {y: t for y, t in texts.items() if not nz.is_missing(t) and y not in marks},
            first.page,
            min(b[1] for b in boxes) if boxes else None,
            marks,
            first.line or first.row + 1,
        )
        if title_cell is not None:
            code, title = nz.split_item_code(title_cell.text)
            code = self.own_code(code)
            title = nz.clean_text(title, join_wrapped=True)
            sheet.initiatives.append(Initiative(title=title, row=first, lanes=[lane], code=code))
        elif sheet.initiatives:
            sheet.initiatives[-1].lanes.append(lane)
        elif lane.texts:
            self.result.warn(f"{sheet.where()}: schedule row without an initiative above it: {lane.texts}")
            for c in lane_cells:
                if c.text.strip():
                    self.unplaced(c, "schedule row without an initiative above it")

    def own_code(self, code: str | None) -> str | None:
        """An initiative's code printed with its measure's path (Ⅰ-1-(ア) on sheet Ⅰ-1) → its own
        level's code (ア); a path that is not the sheet's measure is kept whole and warned."""
        sheet = self.sheet
        if not code or "-" not in code or sheet is None or not sheet.policy or not sheet.measure:
            return code
        *path, own = code.split("-")
        if path in ([sheet.policy[0], sheet.measure[0]], [sheet.measure[0]]):
            return own
        self.result.warn(f"{sheet.where()}: initiative code {code} is not under the sheet's measure")
        return code

    def kpi_row(self, cells: list[Cell], filled: list[Cell]) -> None:
        """A KPI row: its cells by the meaning of their header; other columns are reported."""
        sheet = self.sheet
        assert sheet is not None
        values: dict[str, str] = {}
        name_cell = None
        for c in filled:
            meaning = sheet.kpi_columns.get(c.col)
            if meaning in KPI_STORED:
                values.setdefault(meaning, c.text)
                name_cell = c if meaning == "name" else name_cell
                self.use(c)
            elif meaning is None:
                self.unplaced(c, "cell outside the KPI table's columns")
            else:
                header = sheet.kpi_headers.get(c.col, "")
                self.unplaced(c, f"「{header}」 column of the KPI table: recognised ({meaning}), not stored")
        if len(filled) == 1 and not has_number(filled[0].text):
            self.result.consumed.discard((filled[0].row, filled[0].col))
            self.unplaced(filled[0], "line under the KPI table without any figure: not a KPI")
            return
        if name_cell is None or nz.is_missing(name_cell.text):
            for c in filled:
                self.result.consumed.discard((c.row, c.col))
                self.unplaced(c, "KPI row without an indicator name")
            return
        words = self.vocab.vocab.data.get("target_direction")
        sheet.add_kpi(values, name_cell, self.vocab.units, self.result, words)
