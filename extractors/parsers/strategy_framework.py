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
from dataclasses import dataclass, field

from core import normalize as nz
from core.models import ExtractionError, Grid, ParseResult
from schemas.vocabulary import Vocabulary, vocabulary

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
    if not header_at:
        raise ExtractionError("no strategy table found (no 施策項目 / 主要事業 / 補助指標 header)")
    counts_at = next((k for k, ln in enumerate(lines) if ln and _BARE_DIRECTION.match(ln.text)), None)
    if counts_at is not None:
        end = next((h for h in header_at if h > counts_at), len(lines))
        end = next(
            (k for k in range(counts_at, end) if lines[k] and lines[k].page != lines[counts_at].page), end
        )
        _parse_counts(lines[counts_at:end], vocab, result)
        lines[counts_at:end] = [None] * (end - counts_at)
    directions_seen: list[str] = []
    for start, end in _segments(lines, header_at):
        segment = lines[start:end]
        code = _parse_direction(segment, vocab, result)
        if code is None:
            result.mark_missing(
                f"table at line {lines[header_at[0]].row}: no 第N direction heading found; rows skipped"
            )
            continue
        directions_seen.append(code)
        header_rows = {
            (ln.page, ln.row) for ln in segment if ln and vocab.matches(KIND, "table_header", ln.text)
        }
        body = [None if ln is not None and (ln.page, ln.row) in header_rows else ln for ln in segment]
        _parse_table(code, body, vocab, result)
    if not directions_seen:
        raise ExtractionError("no direction (第N …) found next to any strategy table")
    return result


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
                    lines.append(_Line(nz.clean_text(part), c.line or c.row + 1, c.page, multi))
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
            segment[k] = None
            continue
        m = _DIRECTION.match(ln.text)
        if m and code is None:
            code = str(int(m.group(1)))
            title = re.split(r"\s*(?:・・・|…)", m.group(2))[0].strip()
            result.add(
                "policies",
                {
                    "policy_code": code,
                    "title": nz.clean_text(title, join_wrapped=True),
                    "direction": None,
                    "source_page": ln.page,
                    "source_row": ln.row,
                },
            )
            segment[k] = None
            continue
        if any(ln.text.startswith(label) for label in outcome_labels) and re.search(r"[:：]", ln.text):
            text = re.split(r"[:：]", ln.text, maxsplit=1)[1]
            segment[k] = None
            j = k + 1
            while text.rstrip().endswith(("、", ",")) and j < len(segment):
                if segment[j] is not None:
                    text += segment[j].text
                    segment[j] = None
                j += 1
            outcomes.append((text, ln))
    if code is None:
        return None
    for text, ln in outcomes:
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
    return code


def _parse_counts(region: list[_Line | None], vocab: Vocabulary, result: ParseResult) -> None:
    """The declared-counts slide: per direction, how many outcome and output indicators."""
    directions = [int(m.group(1)) for ln in region if ln and (m := _BARE_DIRECTION.match(ln.text))]
    has_total = any(
        ln and ln.text in vocab.words(KIND, "total_label") or (ln and ln.text.endswith(" 計"))
        for ln in region
    )
    labels = {"outcome": vocab.words(KIND, "outcome_label"), "output": vocab.words(KIND, "output_label")}
    current: str | None = None
    numbers: dict[str, list[list]] = {"outcome": [], "output": []}
    for ln in region:
        if ln is None:
            continue
        kind = next((k for k, words in labels.items() if any(ln.text.startswith(w) for w in words)), None)
        if kind and not re.search(r"[:：]", ln.text):
            current = kind
        if ln.text.startswith(("➢", "・", "○", "〇")):
            current = None  # prose after the table ("➢第５次戦略では、９の社会目標を設定")
        if current is None:
            continue
        notes = re.findall(r"\(([^()]*)\)", ln.text)
        body = re.sub(r"\([^()]*\)", " ", ln.text)
        for token in body.split():
            if re.fullmatch(r"\d+", token):
                numbers[current].append([int(token), None, ln])
        for note in notes:
            if "再掲" in note and numbers[current]:
                numbers[current][-1][1] = note
    for kind, values in numbers.items():
        scopes = [str(d) for d in directions] + (["total"] if has_total else [])
        if values and len(values) != len(scopes):
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
            block = None
            if rest:
                block = [_Line(rest, ln.row, ln.page)]
                measures[-1].blocks.append(block)
            continue
        if not measures:
            result.warn(
                f"line {ln.row}: text before the first measure of direction {policy}: {ln.text[:30]!r}"
            )
            continue
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
    seq = 0
    for blk in project_blocks:
        for para in _paragraphs(blk):
            seq += 1
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
    for name_lines, value in _indicators(indicator_block):
        raw_name = nz.clean_text("".join(ln.text for ln in name_lines), join_wrapped=True)
        name, reposted, _ = nz.strip_marks(raw_name)
        name, unit_in_name = nz.split_name_and_unit(name, vocabulary().units)
        first = name_lines[0] if name_lines else None
        local_id = f"output|{m.policy}|{m.code}|{name}"
        unit = value["unit"] if value else unit_in_name
        result.add(
            "indicators",
            {
                "indicator_id": local_id,
                "policy_code": m.policy,
                "measure_code": m.code,
                "indicator_type": "output",
                "name": name,
                "name_as_written": raw_name,
                "unit": unit,
                "is_reposted": reposted,
                "source_page": first.page if first else None,
                "source_row": first.row if first else None,
            },
        )
        if value:
            result.add(
                "indicator_values",
                {
                    "indicator_id": local_id,
                    "fiscal_year": value["asof"].fiscal_year,
                    "value": value["value"],
                    "as_of_date": value["asof"].date,
                    "as_of_text": value["asof"].text,
                    "kind": "latest",
                    "source_page": first.page if first else None,
                },
            )
        else:
            result.warn(
                f"direction {m.policy}, measure {m.code}: output indicator {name!r} has no latest value"
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
                name.append(_Line(before, ln.row, ln.page))
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
