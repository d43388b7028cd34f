"""Prefectural strategy framework (社会目標 / 補助指標 slides) → directions, measures,
main projects, outcome and output indicators, declared counts.

Each slide is one 基本的方向 (direction): a table with the columns 施策項目 (measures,
nested ``１ … （２）…`` → ``1.2``), 主要事業 (main projects) and 補助指標 (output indicators
with their latest value and as-of date), plus the direction heading ``第N …`` and its
社会目標 (outcome indicators) — which a text export may print before or after the table.
So the document is cut at each table header, and each piece is read by what its lines
are, not where they stand. A last slide declares how many indicators there are.

Pure: grid in, :class:`ParseResult` out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from core import normalize as nz
from core.models import Cell, ExtractionError, Grid, ParseResult
from schemas.vocabulary import Vocabulary, label_key, vocabulary

from .common import stated_direction, stated_value

KIND = "strategy_framework"
_DIRECTION = re.compile(r"^第\s*(\d+)\s+(\S.*)$")
_BARE_DIRECTION = re.compile(r"^第\s*(\d+)$")
_TOP = re.compile(r"^(\d{1,2})\s+(\S+)(?:\s+(.*))?$")
_SUB = re.compile(r"^\((\d{1,2})\)\s*(\S+)(?:\s+(.*))?$")
_VALUE = re.compile(
    r"(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>[^\d\s()]{0,4}?)\s*"
    r"\((?P<asof>[^()]*(?:時点|現在|実績)[^()]*)\)\s*$"
)
_QUANTITY_LINE = re.compile(r"^\d[\d,]*(?:\.\d+)?\s*[^\d\s()]{1,4}$")


@dataclass
class _Line:
    text: str  # NFKC-normalized
    row: int
    page: int | None
    in_cell: bool = False  # from a cell of a table row (PDF), not a line of a text export
    cell: Cell | None = None  # the grid cell the line comes from (to mark it as read)


@dataclass
class _Measure:
    policy: str
    code: str
    title: str
    line: _Line
    blocks: list[list[_Line]] = field(default_factory=list)
    title_open: bool = True  # the next short line may continue a wrapped title


def parse(grid: Grid, vocab: Vocabulary | None = None) -> ParseResult:
    vocab = vocab or vocabulary()
    result = ParseResult(kind=KIND)
    lines = _read_lines(grid)
    header_at = [i for i, ln in enumerate(lines) if ln and vocab.matches(KIND, "table_header", ln.text)]
    if header_at:
        _parse_slides(grid, lines, header_at, vocab, result)
    else:
        _parse_tables(grid, vocab, result)
    _declared_beyond_read(result)
    return result


def _declared_beyond_read(result: ParseResult) -> None:
    """Declared counts (指標の数) above the indicators read: the document is partial, the
    direction and the numbers named (validation compares them too, as a finding)."""
    indicators = result.tables.get("indicators", [])
    for d in result.tables.get("declared_counts", []):
        kind, scope = d["indicator_type"], d["scope"]
        found = sum(
            1 for i in indicators if i["indicator_type"] == kind and scope in ("total", i["policy_code"])
        )
        if d["declared_count"] > found:
            where = "in total" if scope == "total" else f"for direction {scope}"
            result.mark_cut(
                f"the document declares {d['declared_count']} {kind} indicators {where} (line "
                f"{d['source_row']}); {found} were read — the file may be cut"
            )


def _parse_slides(
    grid: Grid, lines: list[_Line | None], header_at: list[int], vocab: Vocabulary, result: ParseResult
) -> None:
    """A framework printed as slides: the declared counts, then each table with its direction."""
    counts_at = next((k for k, ln in enumerate(lines) if ln and _BARE_DIRECTION.match(ln.text)), None)
    if counts_at is not None:
        end = next((h for h in header_at if h > counts_at), len(lines))
        end = next(
            (k for k in range(counts_at, end) if lines[k] and lines[k].page != lines[counts_at].page), end
        )
        _parse_counts(lines[counts_at:end], vocab, result)
        lines[counts_at:end] = [None] * (end - counts_at)
    for ln in lines[: header_at[0]]:
        if ln is not None and ln.cell is not None:
            result.unplaced_cell(
                ln.cell, "strategy framework: text before the first strategy table (prose, no record)"
            )
    directions_seen: list[str] = []
    segments = _segments(lines, header_at)
    for start, end in segments:
        segment = lines[start:end]
        code = _parse_direction(segment, vocab, result)
        if code is None:
            cut = " (the file ends inside this table: it may be cut)" if end == segments[-1][1] else ""
            (result.mark_cut if cut else result.mark_missing)(
                f"table at line {lines[start].row}: no 第N direction heading found; rows skipped{cut}"
            )
            continue
        directions_seen.append(code)
        header_rows = {
            (ln.page, ln.row) for ln in segment if ln and vocab.matches(KIND, "table_header", ln.text)
        }
        body = [None if ln is not None and (ln.page, ln.row) in header_rows else ln for ln in segment]
        result.use(*(ln.cell for ln in segment if ln is not None and (ln.page, ln.row) in header_rows))
        _parse_table(code, body, vocab, result)
    if not directions_seen:
        raise ExtractionError("no direction (第N …) found next to any strategy table")
    for ln in _read_lines(grid):
        if ln is not None and ln.cell is not None and (ln.cell.row, ln.cell.col) not in result.consumed:
            key = (ln.cell.row, ln.cell.col)
            result.unplaced.setdefault(
                key, "strategy framework: a title or prose line outside the tables, no record"
            )


def _read_lines(grid: Grid) -> list[_Line | None]:
    """Grid rows → lines. A row of several cells (a slide's table row) gives each cell's
    lines followed by a blank line, so blocks look the same as in a text export."""
    lines: list[_Line | None] = []
    for raw in grid.rows:
        cells = [c for c in raw if c.text.strip()]
        if not cells:
            lines.append(None)
            continue
        multi = len(raw) > 1
        for c in cells:
            for part in c.text.split("\n"):
                if part.strip():
                    lines.append(_Line(nz.clean_text(part), c.line or c.row + 1, c.page, multi, c))
            if multi:
                lines.append(None)
    return lines


def _segments(lines: list[_Line | None], header_at: list[int]) -> list[tuple[int, int]]:
    """One segment per strategy table: its page (PDF slides), or header to next header (text)."""
    pages = {ln.page for ln in lines if ln}
    if None not in pages:
        out = []
        for h in header_at:
            page = lines[h].page
            idx = [k for k, ln in enumerate(lines) if ln and ln.page == page]
            out.append((idx[0], idx[-1] + 1))
        return out
    return list(zip(header_at, [*header_at[1:], len(lines)], strict=True))


# --- direction heading and outcomes -------------------------------------------------------------


def _is_legend(text: str, vocab: Vocabulary) -> bool:
    return any(text.startswith(m) for m in vocab.words(KIND, "legend"))


def _parse_direction(segment: list[_Line | None], vocab: Vocabulary, result: ParseResult) -> str | None:
    """Find the 第N heading and the 社会目標 line(s); blank them out of ``segment``."""
    code = None
    outcome_labels = vocab.words(KIND, "outcome_label")
    outcomes: list[tuple[str, _Line]] = []
    for k, ln in enumerate(segment):
        if ln is None:
            continue
        if _is_legend(ln.text, vocab):
            result.use(ln.cell)
            segment[k] = None
            continue
        m = _DIRECTION.match(ln.text)
        if m and code is None:
            code = _add_direction_heading(m, ln, result)
            segment[k] = None
            continue
        if any(ln.text.startswith(label) for label in outcome_labels) and re.search(r"[:：]", ln.text):
            outcomes.append((_take_outcome_line(segment, k, result), ln))
    if code is None:
        return None
    for text, ln in outcomes:
        _add_outcomes(code, text, ln, result)
    return code


def _add_direction_heading(m: re.Match[str], ln: _Line, result: ParseResult) -> str:
    """A 第N heading: the policy (方針) record; its code."""
    code = str(int(m.group(1)))
    title = re.split(r"\s*(?:・・・|…)", m.group(2))[0].strip()
    row = {"policy_code": code, "title": nz.clean_text(title, join_wrapped=True), "direction": None}
    result.add("policies", {**row, "source_page": ln.page, "source_row": ln.row})
    result.use(ln.cell)
    return code


def _take_outcome_line(segment: list[_Line | None], k: int, result: ParseResult) -> str:
    """The text after 社会目標： at ``segment[k]``, with the lines it continues onto (a trailing 、)."""
    ln = segment[k]
    assert ln is not None
    text = re.split(r"[:：]", ln.text, maxsplit=1)[1]
    result.use(ln.cell)
    segment[k] = None
    j = k + 1
    while text.rstrip().endswith(("、", ",")) and j < len(segment):
        nxt = segment[j]
        if nxt is not None:
            text += nxt.text
            result.use(nxt.cell)
            segment[j] = None
        j += 1
    return text


def _add_outcomes(code: str, text: str, ln: _Line, result: ParseResult) -> None:
    """One outcome indicator (社会目標) per name in the 、-separated list."""
    for raw_name in filter(None, (p.strip() for p in re.split(r"[、,]", text))):
        name, reposted, _ = nz.strip_marks(raw_name)
        name, unit = nz.split_name_and_unit(name, vocabulary().units)
        result.add(
            "indicators",
            {
                "indicator_id": f"outcome|{code}||{name}",
                "policy_code": code,
                "measure_code": None,
                "indicator_type": "outcome",
                "name": name,
                "name_as_written": raw_name,
                "unit": unit,
                "is_reposted": reposted,
                "source_page": ln.page,
                "source_row": ln.row,
            },
        )


def _parse_counts(region: list[_Line | None], vocab: Vocabulary, result: ParseResult) -> None:
    """The declared-counts slide: per direction, how many outcome and output indicators."""
    directions = [int(m.group(1)) for ln in region if ln and (m := _BARE_DIRECTION.match(ln.text))]
    has_total = any(
        ln and ln.text in vocab.words(KIND, "total_label") or (ln and ln.text.endswith(" 計"))
        for ln in region
    )
    labels = {"outcome": vocab.words(KIND, "outcome_label"), "output": vocab.words(KIND, "output_label")}
    current: str | None = None
    prose = False
    numbers: dict[str, list[list]] = {"outcome": [], "output": []}
    for ln in region:
        if ln is None:
            continue
        kind = next((k for k, words in labels.items() if any(ln.text.startswith(w) for w in words)), None)
        if kind and not re.search(r"[:：]", ln.text):
            current, prose = kind, False
        if ln.text.startswith(("➢", "・", "○", "〇")):
            current, prose = None, True  # prose after the table ("➢第５次戦略では、９の社会目標を設定")
        if current is None:
            if prose and ln.cell is not None:
                result.unplaced_cell(
                    ln.cell, "declared counts slide: prose or title after the table, no record"
                )
            else:
                result.use(ln.cell)  # a direction column head (第１ 成長の後押し)
            continue
        result.use(ln.cell)
        notes = re.findall(r"\(([^()]*)\)", ln.text)
        body = re.sub(r"\([^()]*\)", " ", ln.text)
        for token in body.split():
            if re.fullmatch(r"\d+", token):
                numbers[current].append([int(token), None, ln])
        for note in notes:
            if "再掲" in note and numbers[current]:
                numbers[current][-1][1] = note
    _emit_counts(region, directions, has_total, numbers, result)


def _emit_counts(
    region: list[_Line | None],
    directions: list[int],
    has_total: bool,
    numbers: dict[str, list[list]],
    result: ParseResult,
) -> None:
    """The declared counts read from the slide, matched to its columns in order; a table with
    fewer counts than columns, or none, is partial (a file cut inside its last slide)."""
    scopes = [str(d) for d in directions] + (["total"] if has_total else [])
    if directions and not any(numbers.values()):
        first = next(ln for ln in region if ln)
        result.mark_cut(
            f"declared counts at line {first.row}: the direction columns (第{directions[0]} …) and no "
            "count under them — the file may be cut"
        )
    for kind, values in numbers.items():
        if values and len(values) < len(scopes):
            result.mark_cut(
                f"declared {kind} counts: {len(values)} numbers for {len(scopes)} columns "
                f"({', '.join(scopes)}) — the counts table is incomplete; the file may be cut"
            )
        elif values and len(values) != len(scopes):
            result.warn(
                f"declared {kind} counts: {len(values)} numbers for {len(scopes)} columns "
                f"({', '.join(scopes)}); matched in order"
            )
        for scope, (value, note, ln) in zip(scopes, values, strict=False):
            result.add(
                "declared_counts",
                {
                    "indicator_type": kind,
                    "scope": scope,
                    "declared_count": value,
                    "note": note,
                    "source_page": ln.page,
                    "source_row": ln.row,
                },
            )


# --- the table: measures, projects, output indicators ----------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _parse_table(policy: str, segment: list[_Line | None], vocab: Vocabulary, result: ParseResult) -> None:
    measures: list[_Measure] = []
    parent: str | None = None
    block: list[_Line] | None = None
    for ln in segment:
        if ln is None:
            block = None
            if measures:
                measures[-1].title_open = False
            continue
        is_value = bool(_VALUE.search(ln.text) or _QUANTITY_LINE.match(ln.text))
        top, sub = _TOP.match(ln.text), _SUB.match(ln.text)
        if (top or sub) and not is_value:
            m = top or sub
            number, title, rest = m.group(1), m.group(2), m.group(3)
            if ln.in_cell and rest:  # a slide cell holds only the measure: the rest is its title
                title, rest = f"{title} {rest}", None
            code = str(int(number)) if top else f"{parent or '0'}.{int(number)}"
            if top:
                parent = code
            measures.append(_Measure(policy, code, title, ln, title_open=not rest))
            result.use(ln.cell)
            block = None
            if rest:
                block = [_Line(rest, ln.row, ln.page, cell=ln.cell)]
                measures[-1].blocks.append(block)
            continue
        if not measures:
            result.warn(
                f"line {ln.row}: text before the first measure of direction {policy}: {ln.text[:30]!r}"
            )
            if ln.cell is not None:
                result.unplaced_cell(ln.cell, f"direction {policy}: text before its first measure")
            continue
        result.use(ln.cell)  # a wrapped title, a main project or an output indicator of the measure
        current = measures[-1]
        wrapped_title = ln.in_cell or (_width(ln.text) <= 20 and not _VALUE.search(ln.text))
        if current.title_open and not current.blocks and wrapped_title:
            current.title += ln.text
            continue
        current.title_open = False
        if block is None:
            block = []
            current.blocks.append(block)
        block.append(ln)
    for m in measures:
        _emit_measure(m, result)


def _emit_measure(m: _Measure, result: ParseResult) -> None:
    """A measure (施策) with its projects (主な取組) and output indicators (補助指標)."""
    result.add(
        "measures",
        {
            "policy_code": m.policy,
            "measure_code": m.code,
            "title": nz.clean_text(m.title, join_wrapped=True),
            "source_page": m.line.page,
            "source_row": m.line.row,
        },
    )
    if not m.blocks:
        return
    *project_blocks, indicator_block = m.blocks
    if not project_blocks and not any(_VALUE.search(ln.text) for ln in indicator_block):
        project_blocks, indicator_block = [indicator_block], []
    _emit_projects(m, project_blocks, result)
    for name_lines, value in _indicators(indicator_block):
        _emit_output(m, name_lines, value, result)


def _emit_projects(m: _Measure, blocks: list[list[_Line]], result: ParseResult) -> None:
    """One initiative per paragraph of the measure's project blocks, numbered in order."""
    paragraphs = [para for blk in blocks for para in _paragraphs(blk)]
    for seq, para in enumerate(paragraphs, start=1):
        text = nz.clean_text("".join(ln.text for ln in para), join_wrapped=True)
        result.add(
            "initiatives",
            {
                "policy_code": m.policy,
                "measure_code": m.code,
                "initiative_code": None,
                "title": nz.clean_text(text, join_wrapped=True),
                "description": text,
                "seq": seq,
                "row_number": None,
                "source_page": para[0].page,
                "source_row": para[0].row,
            },
        )


def _emit_output(m: _Measure, name_lines: list[_Line], value: dict | None, result: ParseResult) -> None:
    """One output indicator (補助指標) and its latest value, or a warning that it has none."""
    raw_name = nz.clean_text("".join(ln.text for ln in name_lines), join_wrapped=True)
    name, reposted, _ = nz.strip_marks(raw_name)
    name, unit_in_name = nz.split_name_and_unit(name, vocabulary().units)
    first = name_lines[0] if name_lines else None
    page, row = (first.page, first.row) if first else (None, None)
    local_id = f"output|{m.policy}|{m.code}|{name}"
    result.add(
        "indicators",
        {
            "indicator_id": local_id,
            "policy_code": m.policy,
            "measure_code": m.code,
            "indicator_type": "output",
            "name": name,
            "name_as_written": raw_name,
            "unit": value["unit"] if value else unit_in_name,
            "is_reposted": reposted,
            "source_page": page,
            "source_row": row,
        },
    )
    if not value:
        result.warn(f"direction {m.policy}, measure {m.code}: output indicator {name!r} has no latest value")
        return
    asof = value["asof"]
    result.add(
        "indicator_values",
        {
            "indicator_id": local_id,
            "fiscal_year": asof.fiscal_year,
            "value": value["value"],
            "as_of_date": asof.date,
            "as_of_text": asof.text,
            "kind": "latest",
            "source_page": page,
        },
    )


def _paragraphs(lines: list[_Line]) -> list[list[_Line]]:
    """Split wrapped text into paragraphs: a line clearly shorter than the block's full lines ends one."""
    if not lines:
        return []
    full = max(_width(ln.text) for ln in lines)
    paras: list[list[_Line]] = [[]]
    for ln in lines:
        paras[-1].append(ln)
        if _width(ln.text) < 0.75 * full:
            paras.append([])
    return [p for p in paras if p]


def _indicators(lines: list[_Line]) -> list[tuple[list[_Line], dict | None]]:
    """Group indicator lines: a name (possibly wrapped) ends at its value or at a short line."""
    out: list[tuple[list[_Line], dict | None]] = []
    if not lines:
        return out
    full = max(_width(ln.text) for ln in lines)
    name: list[_Line] = []
    for k, ln in enumerate(lines):
        m = _VALUE.search(ln.text)
        if m or _QUANTITY_LINE.match(ln.text):
            before = ln.text[: m.start()].strip() if m else ""
            if before:
                name.append(_Line(before, ln.row, ln.page, cell=ln.cell))
            value = None
            if m and (asof := nz.parse_as_of(m.group("asof"))):
                unit = nz.clean_text(m.group("unit")) or None
                value = {"value": nz.parse_number(m.group("num")), "unit": unit, "asof": asof}
            if name:
                out.append((name, value))
            name = []
            continue
        name.append(ln)
        nxt = lines[k + 1].text if k + 1 < len(lines) else None
        next_is_value = nxt is not None and (_QUANTITY_LINE.match(nxt) or (_VALUE.match(nxt)))
        if _width(ln.text) < 0.6 * full and not next_is_value:
            out.append((name, None))
            name = []
    if name:
        out.append((name, None))
    return out


# --- tabular templates: headings and tables of their own columns ---------------------------------

_BOUND_WORDS = re.compile(r"(以下|以上|未満|超)$")
# A legend by its shape: a mark (◆, *, ★ …) and an ellipsis, then what the mark means.
_LEGEND_SHAPE = re.compile(r"^(?P<mark>[^\w\s().…・:]{1,2})\s*(?:…+|\.{2,}|・・・|:)\s*(?P<meaning>\S.*)$")
_RANGE = re.compile(r"(?<=\d)\s*[~〜]\s*(?=\d)")
# Columns of an indicator's row stored as they are printed: 担当課 → department, 備考 → remarks.
_ROW_TEXTS = {"department": "担当課 (department)", "remarks": "備考 (remarks)"}


@dataclass
class _Tables:
    """What the reader of a tabular framework has seen so far."""

    policy: str | None = None
    mode: str | None = None  # "outcome" | "measures" | "counts" while under a table header
    columns: dict[int, str] = field(default_factory=dict)
    measure: str | None = None
    seq: int = 0
    marks: dict[str, str] = field(default_factory=dict)  # ◆ → 今回新たに設定した指標 (a legend line)
    started: bool = False
    header_years: dict[str, nz.AsOf] = field(default_factory=dict)  # 目標値（R10年度） → target: FY2028
    tier: str | None = None  # a block label line (【数値目標】) names the next table's indicators
    block: _Block | None = None  # the indicator block being read (工程表: 指標名 | 指標の分類 …)


@dataclass
class _Block:
    """One indicator of a progress table (工程表): 指標名 | 指標の分類 over its name and tier, a
    header of figure columns, a 数値 row and a 時点 row — each row's cells by grid column."""

    head: dict[int, str]  # column → name | tier
    name: Cell | None = None
    tier: str | None = None
    columns: dict[int, str] = field(default_factory=dict)  # column → baseline | opening | … | target
    rows: dict[str, dict[int, Cell]] = field(default_factory=dict)  # value | when → column → cell


def _parse_tables(grid: Grid, vocab: Vocabulary, result: ParseResult) -> ParseResult:
    """A framework printed as tables (基本目標Ⅰ headings, 成果指標 / 施策 / 指標の数 tables)."""
    state = _Tables()
    for raw in grid.rows:
        cells = [c for c in raw if c.text.strip()]
        if not cells:
            state.mode = None  # a blank line ends a table
            continue
        if not _table_line(cells, state, vocab, result):
            for c in cells:
                result.unplaced_cell(c, "strategy framework: line outside any heading or table it could read")
    _close_block(state, vocab, result)
    policies = result.tables.get("policies")
    if not policies:
        raise ExtractionError("no direction heading (第１ / 基本目標Ⅰ …) found next to any strategy table")
    if not any(result.tables.get(t) for t in ("measures", "indicators", "declared_counts")):
        rows = ", ".join(str(p["source_row"]) for p in policies)
        result.mark_cut(
            f"direction headings (line {rows}) but no strategy table (施策 / 成果指標 / 指標の数) "
            "under any of them — the file may be cut"
        )
    return result


def _table_line(cells: list[Cell], state: _Tables, vocab: Vocabulary, result: ParseResult) -> bool:
    """One line of a tabular framework; False when it is none of what such a document holds."""
    first = nz.clean_text(cells[0].text)
    legend = _LEGEND_SHAPE.match(first)
    if len(cells) == 1 and (_is_legend(first, vocab) or legend):
        mark = legend.group("mark") if legend else re.split(r"…|\.{2,}|・・・", first)[0]
        state.marks[mark] = legend.group("meaning") if legend else first
        result.use(cells[0])
        return True
    if len(cells) == 1 and first.startswith(tuple(vocab.words(KIND, "note_marks"))):
        result.use(cells[0])  # a note line under a table (※現状値は…)
        return True
    if len(cells) == 1 and (heading := _heading(first, vocab)) is not None:
        _add_policy(heading, cells[0], state, vocab, result)
        return True
    if len(cells) == 1 and state.policy and vocab.matches(KIND, "outcome_label", _unbracket(first)):
        state.tier = "outcome"  # 【数値目標】 over a table whose header says only 指標
        result.use(cells[0])
        return True
    if _block_header(cells, vocab):
        _close_block(state, vocab, result)
        state.mode, state.block = (
            "block",
            _Block({c.col: k for c, k in zip(cells, ("name", "tier"), strict=True)}),
        )
        result.use(*cells)
        return True
    if state.mode == "block" and state.block is not None and state.policy is not None:
        return _block_row(cells, state, vocab, result)
    if _table_header(cells, state, vocab):
        _use_header(cells, state.columns, result)
        return True
    rows = {"outcome": _outcome_row, "measures": _measure_row, "counts": _counts_row}
    if state.mode in rows and (state.mode == "counts" or state.policy is not None):
        return rows[state.mode](cells, state, vocab, result)
    if not state.started and len(cells) == 1:
        state.started = True
        result.use(cells[0])  # the document's title line
        return True
    return False


def _unbracket(text: str) -> str:
    """A block label without its brackets: 【数値目標】 / 〔数値目標〕 / <数値目標> → 数値目標."""
    return re.sub(r"^[【〔\[<《■◆●]\s*(.*?)\s*[】〕\]>》]?$", r"\1", text)


def _use_header(cells: list[Cell], columns: dict[int, str], result: ParseResult) -> None:
    """A table header's cells: read (the first, and those of a named column), or reported (an
    unknown label)."""
    for c in cells:
        label = nz.clean_text(c.text)
        if c.col in columns or c is cells[0]:
            result.use(c)
        else:
            why = f"strategy table header: column label {label!r} is not in labels.yaml"
            result.unplaced_cell(c, why)
            result.warn(f"{why}; its column is not read")


def _heading(text: str, vocab: Vocabulary) -> tuple[str, str] | None:
    """``基本目標Ⅰ　挑戦する…`` / ``第１ 成長の後押し`` → (code, title); None for other lines."""
    prefixes = sorted(vocab.words(KIND, "direction_heading_prefixes"), key=len, reverse=True)
    for prefix in prefixes:
        if text.startswith(prefix):
            number, title = nz.split_leading_code(text[len(prefix) :])
            if number is not None:
                return str(number), re.sub(r"^[:：.．、]\s*", "", title)
    return None


def _add_policy(
    heading: tuple[str, str], cell: Cell, state: _Tables, vocab: Vocabulary, result: ParseResult
) -> None:
    code, title = heading
    _close_block(state, vocab, result)
    state.policy, state.mode, state.measure = code, None, None
    state.started = True
    result.use(cell)
    result.add(
        "policies",
        {
            "policy_code": code,
            "title": nz.clean_text(title, join_wrapped=True),
            "direction": None,
            "source_page": cell.page,
            "source_row": cell.line or cell.row + 1,
        },
    )


def _table_header(cells: list[Cell], state: _Tables, vocab: Vocabulary) -> bool:
    """Is this the header of an outcome, measure or counts table? Sets the table's columns."""
    if len(cells) < 2:
        return False
    first = cells[0].text
    if vocab.matches(KIND, "counts_header", first):
        scopes = {c.col: _count_scope(c.text, vocab) for c in cells[1:]}
        if all(s is not None for s in scopes.values()):
            state.mode, state.columns = "counts", {k: v for k, v in scopes.items() if v}
            return True
    meanings = {c.col: m for c in cells[1:] if (m := vocab.column_meaning(KIND, "outcome_columns", c.text))}
    named = state.tier == "outcome" and vocab.matches(KIND, "indicator_name_header", first)
    if (vocab.matches(KIND, "outcome_label", first) or named) and meanings:
        state.mode, state.columns, state.tier = "outcome", {cells[0].col: "name", **meanings}, None
        state.header_years = _header_years(cells, state.columns)
        return True
    columns = {c.col: m for c in cells if (m := _measure_column(c.text, vocab))}
    if len(set(columns.values())) >= 2 and len(columns) >= len(cells) / 2:
        state.mode, state.columns, state.measure = "measures", columns, None
        return True
    return False


def _measure_column(text: str, vocab: Vocabulary) -> str | None:
    """A measure table's column: its table_columns meaning, or ``output`` for any spelling of
    the output tier (KPI（重要業績評価指標）, 業績指標 …: one list of them, output_label)."""
    meaning = vocab.column_meaning(KIND, "table_columns", text)
    return meaning or ("output" if vocab.matches(KIND, "output_label", text) else None)


def _header_years(cells: list[Cell], columns: dict[int, str]) -> dict[str, nz.AsOf]:
    """The year a column's header names: 目標値（R10年度） → ``target``: FY2028; 目標値（H31） →
    FY2019 (a bare era year in a header is a fiscal year); 最新値（2023年） → a calendar year."""
    years: dict[str, nz.AsOf] = {}
    for c in cells:
        for t in re.findall(r"\(([^()]*)\)", nz.clean_text(c.text)):
            year = _as_of_or_year(t, nz.parse_fiscal_year)
            if year is not None and c.col in columns:
                years[columns[c.col]] = year
                break
    return years


def _count_scope(text: str, vocab: Vocabulary) -> str | None:
    """A column head of the counts table: a direction (基本目標Ⅰ → ``1``) or the total (計)."""
    s = nz.clean_text(text)
    if label_key(s) in {label_key(w) for w in vocab.words(KIND, "total_label")}:
        return "total"
    heading = _heading(s, vocab)
    if heading is None:
        number = nz.parse_code_number(s)
        return str(number) if number is not None else None
    return heading[0] if not heading[1] else None


def _figure(text: str | None, marks: Collection[str] = ()) -> tuple[float | None, str | None, nz.AsOf | None]:
    """A value cell: ``4.1％（R3年度）`` → (4.1, ``%``, FY2021); ``80件以下（R9年）`` → (80, ``件``, no
    fiscal year: a calendar year); ``231社（R6年3月末時点）`` → (231, ``社``, 2024-03-31); ``―`` → Nones.
    The year may stand before the figure (``（R4年度）812社``); a legend's mark before it is dropped
    (the caller reports it: :func:`_mark_of`)."""
    s = nz.clean_text(text)
    mark = _mark_of(s, marks)
    s = s[len(mark) :].strip() if mark else s
    s = re.sub(r"^目標値?\s*(?=\d)", "", s)  # 目標1,000社以上: a target said as one
    m = re.match(r"^(?:\((?P<pre>[^()]*)\))?\s*(?P<body>[^()]*?)\s*(?:\((?P<asof>[^()]*)\))?$", s)
    if not m or nz.is_missing(s):
        return None, None, None
    asof_text = m.group("asof") or m.group("pre")
    asof = nz.parse_as_of(asof_text) if asof_text else None
    if _RANGE.search(m.group("body")):  # 4.5〜5.0％: no single figure (the caller reports it)
        return None, nz.parse_quantity(_RANGE.split(m.group("body"))[-1])[1], asof
    value, unit = nz.parse_quantity(m.group("body"))
    if unit:
        unit = _BOUND_WORDS.sub("", unit).strip() or None
    return value, unit, asof


def _mark_of(text: str, marks: Collection[str]) -> str | None:
    """The legend mark a cell starts with (``＊4.0％`` → ``*``), or None."""
    s = nz.clean_text(text)
    return next((m for m in sorted(marks, key=len, reverse=True) if m and s.startswith(m)), None)


def _outcome_row(cells: list[Cell], state: _Tables, vocab: Vocabulary, result: ParseResult) -> bool:
    """成果指標 | 基準値 | 目標値 | 現状値 — an outcome indicator with the years inside its cells
    (or the target's year in its column header: 目標値（R10年度））."""
    by = {state.columns[c.col]: c for c in cells if c.col in state.columns}
    if "name" not in by:
        return False
    name, reposted, _ = nz.strip_marks(_unmark(by["name"].text, state))
    name, unit = nz.split_name_and_unit(name, vocab.units)
    figures = {k: _figure(by[k].text, state.marks) if k in by else (None, None, None) for k in _FIGURES}
    if figures["actual"][0] is not None and figures["actual"][2] is None and "actual" in state.header_years:
        figures["actual"] = (*figures["actual"][:2], state.header_years["actual"])  # 最新値（R5年度）
    baseline, target, actual = figures["baseline"], figures["target"], figures["actual"]
    unit_cell = nz.clean_text(by["unit"].text) if "unit" in by else None
    unit = unit or unit_cell or next((f[1] for f in figures.values() if f[1]), None)
    local_id = f"outcome|{state.policy}||{name}"
    record = _indicator(local_id, state.policy or "", None, "outcome", name, by["name"], unit, reposted)
    target_text = nz.clean_text(by["target"].text) if "target" in by else None
    record.update(
        baseline_value=baseline[0],
        baseline_text=nz.clean_text(by["baseline"].text) if "baseline" in by else None,
        baseline_fiscal_year=_fiscal_year(baseline[2] or state.header_years.get("baseline")),
        target_value=target[0],
        target_fiscal_year=_fiscal_year(target[2] or state.header_years.get("target")),
        target_text=stated_value(target_text),
        direction=stated_direction(target_text, vocab.data.get("target_direction")),
        **_row_texts(by),
        marks=_marks(by, ("name", "baseline", "target"), state),
    )
    result.add("indicators", record)
    _outcome_cells(name, by, figures, state, result)
    for c in cells:
        if c.col not in state.columns:
            result.unplaced_cell(c, f"outcome {name!r}: a cell under no named column")
    if actual[0] is not None:
        _latest(local_id, actual, by["actual"], result, _marks(by, ("actual",), state))
    return True


def _fiscal_year(year: nz.AsOf | None) -> int | None:
    return year.fiscal_year if year else None


def _row_texts(by: dict[str, Cell]) -> dict[str, str | None]:
    """An indicator row's 担当課 and 備考 as printed (a dash for none is None)."""
    texts = {key: nz.clean_text(by[key].text, join_wrapped=True) if key in by else None for key in _ROW_TEXTS}
    return {key: stated_value(t) for key, t in texts.items()}


def _marks(by: dict[str, Cell], keys: tuple[str, ...], state: _Tables) -> list[str] | None:
    """The legend marks printed on these cells of a row, each with what its legend says it
    means: ``◆: 今回新たに設定した指標`` on a name, ``target *: …`` on a value."""
    marks = [
        f"{'' if key in ('name', 'output', 'actual', 'value') else key + ' '}{mark}: {state.marks[mark]}"
        for key in keys
        if key in by and (mark := _mark_of(by[key].text, state.marks))
    ]
    return marks or None


_FIGURES = ("baseline", "target", "actual")


def _outcome_cells(
    name: str, by: dict[str, Cell], figures: dict, state: _Tables, result: ParseResult
) -> None:
    """Mark an outcome row's cells read (a target in words or a range, 増加 / 4.5〜5.0％, is
    target_text; marks, 担当課 and 備考 have their columns), or report a latest value not read."""
    for key, cell in by.items():
        text = nz.clean_text(cell.text)
        if key == "actual" and figures["actual"][0] is None and not nz.is_missing(text):
            result.unplaced_cell(cell, f"outcome {name!r}: latest value not read")
            result.warn(f"direction {state.policy}: outcome {name!r}: latest value {text!r} not read")
            continue
        result.use(cell)


def _measure_row(cells: list[Cell], state: _Tables, vocab: Vocabulary, result: ParseResult) -> bool:
    """施策 | 主な取組 | 活動指標 | 実績 — a measure (``1-1 …`` → ``1.1``) or a continuation row."""
    by = {state.columns[c.col]: c for c in cells if c.col in state.columns}
    if "measure" in by:
        parts, title = nz.split_code_path(by["measure"].text)
        if not parts:
            return False
        if len(parts) >= 2 and parts[0] != state.policy:
            result.warn(f"measure {'-'.join(parts)} stands under direction {state.policy}; its code is kept")
        code = ".".join(parts) if len(parts) >= 2 else f"{state.policy}.{parts[0]}"
        state.measure, state.seq = code, 0
        result.add(
            "measures",
            {
                "policy_code": state.policy,
                "measure_code": code,
                "title": nz.clean_text(title, join_wrapped=True),
                "source_page": by["measure"].page,
                "source_row": by["measure"].line or by["measure"].row + 1,
            },
        )
    if state.measure is None:
        return False
    if "project" in by:
        state.seq += 1
        _project(by["project"], state, result)
    if "output" in by:
        _output(by, state, vocab, result)
    elif "value" in by:
        result.unplaced_cell(by["value"], f"measure {state.measure}: a value with no output indicator")
    for key, c in by.items():
        if key in _ROW_TEXTS and "output" not in by:
            result.unplaced_cell(
                c, f"measure {state.measure}: {_ROW_TEXTS[key]} of a row without an indicator has no column"
            )
        elif key != "value" or "output" in by:
            result.use(c)
    for c in cells:
        if c.col not in state.columns:
            result.unplaced_cell(c, f"measure {state.measure}: a cell under no named column")
    return True


def _unmark(text: str, state: _Tables) -> str:
    """An indicator name without the legend's mark (◆ = newly set)."""
    s = nz.clean_text(text)
    for mark in state.marks:
        if mark and s.startswith(mark):
            s = s[len(mark) :]
    return s


def _indicator(
    local_id: str,
    policy: str,
    measure: str | None,
    kind: str,
    name: str,
    cell: Cell,
    unit: str | None,
    reposted: bool,
) -> dict:
    return {
        "indicator_id": local_id,
        "policy_code": policy,
        "measure_code": measure,
        "indicator_type": kind,
        "name": name,
        "name_as_written": nz.clean_text(cell.text, join_wrapped=True),
        "unit": unit,
        "is_reposted": reposted,
        "source_page": cell.page,
        "source_row": cell.line or cell.row + 1,
    }


def _latest(
    local_id: str,
    figure: tuple,
    cell: Cell,
    result: ParseResult,
    marks: list[str] | None = None,
    kind: str = "latest",
) -> None:
    value, _, asof = figure
    if asof is None:
        result.warn(f"{local_id}: {kind} value {nz.clean_text(cell.text)!r} has no as-of date")
    result.add(
        "indicator_values",
        {
            "indicator_id": local_id,
            "fiscal_year": asof.fiscal_year if asof else None,
            "value": value,
            "as_of_date": asof.date if asof else None,
            "as_of_text": asof.text if asof else None,
            "kind": kind,
            "marks": marks,
            "source_page": cell.page,
        },
    )


def _project(cell: Cell, state: _Tables, result: ParseResult) -> None:
    text = nz.clean_text(cell.text, join_wrapped=True)
    result.add(
        "initiatives",
        {
            "policy_code": state.policy,
            "measure_code": state.measure,
            "initiative_code": None,
            "title": text,
            "description": text,
            "seq": state.seq,
            "row_number": None,
            "source_page": cell.page,
            "source_row": cell.line or cell.row + 1,
        },
    )


def _output(by: dict[str, Cell], state: _Tables, vocab: Vocabulary, result: ParseResult) -> None:
    """An output indicator (活動指標) of a measure row, with its 担当課 / 備考 and legend marks,
    and its latest value; a 【再掲】 one's value is its original's."""
    cell, value_cell = by["output"], by.get("value")
    name, reposted, _ = nz.strip_marks(_unmark(cell.text, state))
    name, unit = nz.split_name_and_unit(name, vocab.units)
    figure = _figure(value_cell.text, state.marks) if value_cell else (None, None, None)
    local_id = f"output|{state.policy}|{state.measure}|{name}"
    record = _indicator(
        local_id, state.policy or "", state.measure, "output", name, cell, unit or figure[1], reposted
    )
    record.update(**_row_texts(by), marks=_marks(by, ("output",), state))
    result.add("indicators", record)
    if figure[0] is None:
        if value_cell is not None:
            result.unplaced_cell(value_cell, f"output indicator {name!r}: value not read")
        result.warn(
            f"direction {state.policy}, measure {state.measure}: output indicator {name!r} has no latest value"
        )
    elif not reposted:
        _latest(local_id, figure, value_cell, result, _marks(by, ("value",), state))


def _counts_row(cells: list[Cell], state: _Tables, vocab: Vocabulary, result: ParseResult) -> bool:
    """成果指標 | ２ | ２ | ４ — declared counts per direction and in total (``７（再掲含む）``)."""
    label = cells[0].text
    kind = "outcome" if vocab.matches(KIND, "outcome_label", label) else None
    kind = kind or ("output" if vocab.matches(KIND, "output_label", label) else None)
    if kind is None:
        return False
    result.use(cells[0])
    for c in cells[1:]:
        s = nz.clean_text(c.text)
        number = nz.parse_number(re.sub(r"\(.*\)$", "", s).strip())
        scope = state.columns.get(c.col)
        if number is None or scope is None:
            result.unplaced_cell(c, f"declared {kind} counts: not a count under a direction column")
            continue
        note = re.search(r"\(([^()]*)\)$", s)
        result.use(c)
        result.add(
            "declared_counts",
            {
                "indicator_type": kind,
                "scope": scope,
                "declared_count": int(number),
                "note": note.group(1) if note else None,
                "source_page": c.page,
                "source_row": c.line or c.row + 1,
            },
        )
    return True


# --- a progress table (工程表) of one indicator per block ----------------------------------------

_BLOCK_VALUES = {"opening": "actual", "actual": "latest"}  # 年度当初値 → an actual, 今年度実績値 → latest


def _block_header(cells: list[Cell], vocab: Vocabulary) -> bool:
    """指標名 | 指標の分類 — the head of one indicator whose tier is a column value."""
    return (
        len(cells) == 2
        and vocab.matches(KIND, "indicator_name_header", cells[0].text)
        and vocab.matches(KIND, "tier_header", cells[1].text)
    )


def _tier(text: str, vocab: Vocabulary) -> str | None:
    """指標の分類's value: 成果指標 → ``outcome``, 活動指標 → ``output`` (outcome_label / output_label)."""
    if vocab.matches(KIND, "outcome_label", text):
        return "outcome"
    return "output" if vocab.matches(KIND, "output_label", text) else None


def _block_row(cells: list[Cell], state: _Tables, vocab: Vocabulary, result: ParseResult) -> bool:
    """A row of an indicator block: the name and tier, the figure columns' header, 数値 or 時点."""
    block = state.block
    if block is None:
        return False
    if block.name is None:
        by = {block.head.get(c.col): c for c in cells}
        tier = _tier(by["tier"].text, vocab) if "tier" in by else None
        if "name" not in by or tier is None:
            return False
        block.name, block.tier = by["name"], tier
        result.use(*(c for c in cells if c.col in block.head))
        return True
    row = vocab.column_meaning(KIND, "block_rows", cells[0].text)
    row = row if row in ("value", "when") else None
    if row is not None and block.columns:
        block.rows[row] = {c.col: c for c in cells[1:]}
        result.use(cells[0])
        if row == "when":
            _close_block(state, vocab, result)
        return True
    columns = {c.col: m for c in cells if (m := vocab.column_meaning(KIND, "block_columns", c.text))}
    if not columns or block.columns:
        return False
    block.columns = columns
    _use_header(cells, columns, result)
    return True


def _close_block(state: _Tables, vocab: Vocabulary, result: ParseResult) -> None:
    """The indicator of a finished block: its record, its values, its unread cells reported."""
    block, state.block = state.block, None
    if block is None or block.name is None or not block.rows.get("value"):
        return
    name, reposted, _ = nz.strip_marks(_unmark(block.name.text, state))
    name, unit = nz.split_name_and_unit(name, vocab.units)
    values, whens = block.rows["value"], block.rows.get("when", {})
    figures = {}
    for col, meaning in block.columns.items():
        cell = values.get(col)
        when = _when(whens[col].text) if col in whens else None
        value, figure_unit, asof = _figure(cell.text, state.marks) if cell else (None, None, None)
        figures[meaning] = (value, figure_unit, when or asof)
    unit = unit or next((f[1] for f in figures.values() if f[1]), None)
    local_id = f"{block.tier}|{state.policy}||{name}"
    record = _indicator(
        local_id, state.policy or "", None, block.tier or "", name, block.name, unit, reposted
    )
    by = {m: values[c] for c, m in block.columns.items() if c in values}
    texts = {k: nz.clean_text(by[k].text) if k in by else None for k in ("baseline", "target")}
    baseline, target = (figures.get(k, (None, None, None)) for k in ("baseline", "target"))
    record.update(
        baseline_value=baseline[0],
        baseline_text=texts["baseline"],
        baseline_fiscal_year=_fiscal_year(baseline[2]),
        target_value=target[0],
        target_fiscal_year=_fiscal_year(target[2]),
        target_text=stated_value(texts["target"]),
        direction=stated_direction(texts["target"], vocab.data.get("target_direction")),
        department=None,
        remarks=None,
        marks=_marks({"name": block.name}, ("name",), state),
    )
    result.add("indicators", record)
    _block_cells(local_id, block, figures, result)


def _when(text: str) -> nz.AsOf | None:
    """A 時点 cell in any notation (R4.3, H25末, 2023年3月末, R2〜R6, R5年度, a bare R5)."""
    return None if nz.is_missing(text) else _as_of_or_year(nz.clean_text(text), nz.parse_year_heading)


def _as_of_or_year(text: str, bare_year: Callable[[str], int | None]) -> nz.AsOf | None:
    """An as-of statement (R4.3, 2023年3月末, R5年度), or else a fiscal year with no date read by
    ``bare_year`` (a bare R5 / H31); None when the text gives neither."""
    asof = nz.parse_as_of(text)
    if asof is not None:
        return asof
    year = bare_year(text)
    return nz.AsOf(text, None, year) if year else None


def _block_cells(local_id: str, block: _Block, figures: dict, result: ParseResult) -> None:
    """Each column's 数値 and 時点 cells: read (baseline and target are the indicator's, 年度当初値
    and 今年度実績値 values), or reported (a column the schema has no field for)."""
    for col, meaning in block.columns.items():
        cells = [r[col] for r in block.rows.values() if col in r]
        value_cell = block.rows["value"].get(col)
        if meaning in _BLOCK_VALUES and value_cell is not None and figures[meaning][0] is not None:
            _latest(local_id, figures[meaning], value_cell, result, kind=_BLOCK_VALUES[meaning])
        elif meaning not in ("baseline", "target"):
            for c in cells:
                why = f"{local_id}: {meaning} ({_block_label(meaning)}) has no column"
                result.unplaced_cell(c, why)
            continue
        result.use(*cells)
    placed = set(block.columns)
    for r in block.rows.values():
        for col, c in r.items():
            if col not in placed:
                result.unplaced_cell(c, f"{local_id}: a figure under no named column")


def _block_label(meaning: str) -> str:
    """A block column's name as printed, for a reason that names it."""
    return {"year_target": "今年度目標値, the year's own target", "opening": "年度当初値"}.get(
        meaning, meaning
    )
