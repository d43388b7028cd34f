"""Excel workbooks (.xlsx) → grid: the same grid a text export of the sheets gives.

Staff keep 進捗管理シート as 方眼紙 (graph-paper) workbooks: narrow columns, every logical cell
a merged range, one worksheet per measure. The kind parsers read the *logical* columns of a
text export, so the reader collapses the physical grid:

* **One grid row per sheet row.** Rows with no text are kept as empty rows (blank rows
  separate blocks, as blank lines do in a text export); one empty row separates worksheets.
  ``Cell.page`` is the worksheet (1-based, in workbook order), ``Cell.line`` the sheet's row
  number, ``Cell.bbox`` None.
* **A merged range is one cell** with its top-left text, in the row where it starts; the
  rows below that it covers get an empty cell in its column (as a text export leaves the
  title cell of an initiative's second schedule line empty). Cells a merge covers are not
  emitted, and a value hidden under a merge (not its top-left) is not read — Excel shows none.
* **Columns are logical.** A sheet's logical columns are the distinct start columns of its
  cells (merged ranges, empty ones included, and other cells with a value); a cell's ``col``
  is the rank of its start column. A header row and its data rows so share their column
  numbers whatever the physical widths (and across blank rows), and empty physical columns
  that no cell starts in create nothing. A *block* is a run of rows with text; within a row,
  each column its block uses that the row neither starts nor covers (an empty unmerged cell
  under a year header) becomes an empty cell, from the row's first cell on — an empty
  schedule cell stays an empty cell under its year, as in a text export. Column numbers may
  skip (a label row of a 方眼紙 sheet: 方針 at 0, its value at 2): parsers read cells by
  ``col``, never by position in the row.
* **Values are printed** as a person reads them: integers ``4755`` (``4,755`` with a
  ``#,##0`` format), floats without binary noise (``0.1+0.2`` → ``0.3``), fixed decimals per
  the format (``0.0``), percentages ``38.7%``, dates ``2024年3月31日`` (what
  :func:`core.normalize.parse_as_of` reads) — in their era, ``令和6年4月30日``, when the
  format prints one (``[$-411]ggge"年"m"月"d"日"``; 元年 with ``x-gannen``) —, booleans
  ``TRUE``/``FALSE``. Literal text and currency signs of a number format are not printed.
* **Formulas**: their cached values (``data_only``). A formula cell without one is an empty
  cell; when no formula of the workbook has a cached value (written by a program, never
  opened in Excel), ``grid.missing`` says so and the document is partial.
* **Hidden** rows, columns and sheets are content: they are read like any other.

**Safety** (issue 19 §5): before openpyxl parses anything the zip's entries are checked
(sizes, total, compression ratio), each sheet's XML is scanned as a stream for its declared
dimension and the positions of its cells, and the values are read with ``read_only=True``
up to the sheet's used range only — a declared dimension is never allocated. Anything
beyond :class:`XlsxLimits` fails with one clear line.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from openpyxl.utils import get_column_letter

from core.models import Cell, ExtractionError, Grid

MB = 1024 * 1024
Merge = tuple[int, int, int, int]  # min_row, min_col, max_row, max_col (1-based, inclusive)
Span = tuple[int, int, str, bool]  # start col, end col, text, starts in this row


@dataclass(frozen=True)
class XlsxLimits:
    """What a plan workbook may hold; anything larger is refused before it is parsed."""

    max_rows: int = 20_000  # per sheet
    max_columns: int = 200  # per sheet
    max_sheets: int = 200
    max_cells: int = 200_000  # cells with a value or formula, whole workbook
    max_merges: int = 50_000  # per sheet
    max_part_bytes: int = 20 * MB  # one XML part, unpacked
    max_total_bytes: int = 100 * MB  # all entries, unpacked
    max_ratio: float = 100.0  # unpacked / packed, for entries of ``ratio_floor_bytes`` or more
    ratio_floor_bytes: int = 1 * MB
    max_entries: int = 10_000
    max_seconds: float = 60.0


@dataclass
class SheetScan:
    """What the stream scan of one sheet's XML found (no values, only where they are)."""

    rows: int = 0  # last row with a value or formula
    cols: int = 0  # last column with a value or formula
    cells: int = 0
    merges: list[Merge] = field(default_factory=list)
    formulas: int = 0
    formulas_cached: int = 0


def read_xlsx(path: Path, data: bytes, *, limits: XlsxLimits | None = None) -> Grid:
    """Read every worksheet of an .xlsx workbook into one :class:`Grid` (see the module doc)."""
    limits = limits or XlsxLimits()
    name = path.name
    deadline = time.monotonic() + limits.max_seconds
    check_zip(name, data, limits)
    try:
        return _read_workbook(name, data, limits, deadline)
    except ExtractionError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, expat.ExpatError) as exc:
        raise ExtractionError(f"{name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # openpyxl's own errors (InvalidFileException …)
        if type(exc).__module__.startswith("openpyxl"):
            raise ExtractionError(
                f"{name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
            ) from exc
        raise


def _read_workbook(name: str, data: bytes, limits: XlsxLimits, deadline: float) -> Grid:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    try:
        sheets = wb.worksheets
        if len(sheets) > limits.max_sheets:
            raise ExtractionError(
                f"{name}: {len(sheets):,} worksheets — more than the {limits.max_sheets:,} a plan "
                "workbook needs; not read"
            )
        rows: list[list[Cell]] = []
        formulas = cached = cells = 0
        for page, ws in enumerate(sheets, start=1):
            with wb._archive.open(ws._worksheet_path) as stream:
                scan = scan_sheet(name, ws.title, stream, limits, deadline, cells_before=cells)
            cells += scan.cells
            formulas, cached = formulas + scan.formulas, cached + scan.formulas_cached
            if not scan.rows:
                continue
            values = read_values(ws, scan, name, deadline)
            if rows:
                rows.append([])  # a blank row between worksheets, as between pages
            rows.extend(sheet_rows(scan, values, page, len(rows)))
    finally:
        wb.close()
    if not any(c.text.strip() for row in rows for c in row):
        raise ExtractionError(f"{name}: the workbook is empty (no worksheet holds a value)")
    grid = Grid(rows=rows, format="xlsx", pages=len(sheets))
    if formulas and not cached:
        grid.missing.append(
            f"{name}: {formulas:,} formula cell(s) have no saved value (the workbook was written by "
            "a program and never recalculated) — open and save the workbook in Excel/LibreOffice"
        )
    return grid


# --- safety: the zip container and the sheet XML, before openpyxl ---------------------------


def _size(n: int) -> str:
    return f"{n / MB:,.1f} MB" if n >= MB else f"{n / 1024:,.1f} KB"


def check_zip(name: str, data: bytes, limits: XlsxLimits) -> None:
    """Refuse a zip whose entries unpack to more than a workbook can be (zip bombs), or whose
    XML defines entities."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            _check_entries(name, infos, limits)
            _check_prologs(name, zf, infos)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise ExtractionError(
            f"{name}: not a readable .xlsx workbook (damaged zip container: {exc})"
        ) from exc


def _check_entries(name: str, infos: list[zipfile.ZipInfo], limits: XlsxLimits) -> None:
    """Sizes, total and compression ratio of the entries as their headers declare them (zipfile
    stops reading at the declared size: a header that lies fails its CRC check)."""
    if len(infos) > limits.max_entries:
        raise ExtractionError(f"{name}: the zip holds {len(infos):,} entries — not a plan workbook; not read")
    total = 0
    for info in infos:
        size, packed = info.file_size, max(info.compress_size, 1)
        total += size
        if info.filename.lower().endswith(_XML_PARTS) and size > limits.max_part_bytes:
            raise ExtractionError(
                f"{name}: {info.filename} unpacks to {_size(size)} — more than the "
                f"{_size(limits.max_part_bytes)} a workbook part may have; not read"
            )
        if size >= limits.ratio_floor_bytes and size > limits.max_ratio * packed:
            raise ExtractionError(
                f"{name}: {info.filename} expands {size / packed:,.0f}× ({_size(packed)} → {_size(size)}) "
                f"— a zip bomb or a damaged file (the limit is {limits.max_ratio:g}×); not read"
            )
    if total > limits.max_total_bytes:
        raise ExtractionError(
            f"{name}: the workbook unpacks to {_size(total)} — more than the "
            f"{_size(limits.max_total_bytes)} a plan workbook needs; not read"
        )


_XML_PARTS = (".xml", ".rels", ".vml")


def _check_prologs(name: str, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """No XML part may define entities (a DOCTYPE: the "billion laughs" expansion)."""
    for info in infos:
        if info.filename.lower().endswith(_XML_PARTS):
            with zf.open(info) as part:
                head = part.read(4096)
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise ExtractionError(
                    f"{name}: {info.filename} defines XML entities (a DOCTYPE) — not a workbook "
                    "Excel writes; not read"
                )


_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")


def _cell_ref(ref: str) -> tuple[int, int] | None:
    """``AB12`` → (12, 28); None when malformed."""
    m = _REF.match(ref.strip().upper())
    if not m:
        return None
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _range_ref(ref: str) -> Merge | None:
    """``A1:C3`` → (1, 1, 3, 3); a single cell ``B2`` → (2, 2, 2, 2)."""
    first, _, last = ref.partition(":")
    a, b = _cell_ref(first), _cell_ref(last or first)
    if a is None or b is None:
        return None
    return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])


_ADVICE = "delete the unused rows and columns (or raise XlsxLimits) and save the workbook again"


def _beyond(
    name: str, title: str, what: str, limits: XlsxLimits, word: str = "larger than"
) -> ExtractionError:
    return ExtractionError(
        f"{name}: sheet '{title}' {what} — {word} the {limits.max_rows:,} × "
        f"{limits.max_columns:,} cells a plan sheet needs; {_ADVICE}"
    )


class _SheetScanner:
    """expat callbacks over a sheet's XML (no tree is built: memory stays flat)."""

    def __init__(self, name: str, title: str, limits: XlsxLimits, cells_before: int = 0) -> None:
        self.name, self.title, self.limits = name, title, limits
        self.cells_before = cells_before  # filled cells of the sheets before this one
        self.scan = SheetScan()
        self.row = self.col = 0
        self.kids: set[str] = set()  # what the current <c> holds: "v" (a non-empty value), "f", "is"
        self.in_value = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        tag = tag.rpartition(":")[2]
        if tag == "c":
            pos = _cell_ref(attrs.get("r") or "")
            self.row, self.col = pos if pos else (self.row, self.col + 1)
            self.kids = set()
        elif tag == "v":
            self.in_value = True
        elif tag in ("f", "is"):
            self.kids.add(tag)
        elif tag == "row":
            self.row, self.col = int(attrs.get("r") or self.row + 1), 0
        elif tag == "dimension" and (box := _range_ref(attrs.get("ref") or "")):
            if box[2] > self.limits.max_rows or box[3] > self.limits.max_columns:
                what = f"declares {box[2]:,} rows × {box[3]:,} columns"
                raise _beyond(self.name, self.title, what, self.limits)
        elif tag == "mergeCell" and (box := _range_ref(attrs.get("ref") or "")):
            self.scan.merges.append(box)
            if len(self.scan.merges) > self.limits.max_merges:
                raise ExtractionError(
                    f"{self.name}: sheet '{self.title}' has more than {self.limits.max_merges:,} merged ranges"
                )

    def text(self, data: str) -> None:
        if self.in_value and data.strip():
            self.kids.add("v")  # <v/> empty: a formula never calculated

    def end(self, tag: str) -> None:
        tag = tag.rpartition(":")[2]
        self.in_value = self.in_value and tag != "v"
        if tag != "c" or not self.kids:
            return  # a styled empty cell holds nothing
        scan, row, col = self.scan, self.row, self.col
        if row > self.limits.max_rows or col > self.limits.max_columns:
            what = f"has a value at {get_column_letter(min(col, 18_278))}{row} (row {row:,}, column {col:,})"
            raise _beyond(self.name, self.title, what, self.limits, "beyond")
        scan.rows, scan.cols = max(scan.rows, row), max(scan.cols, col)
        scan.cells += 1
        if self.cells_before + scan.cells > self.limits.max_cells:
            raise ExtractionError(
                f"{self.name}: more than {self.limits.max_cells:,} filled cells (at sheet '{self.title}') "
                f"— larger than a plan workbook needs; {_ADVICE}"
            )
        if "f" in self.kids:
            scan.formulas += 1
            scan.formulas_cached += "v" in self.kids


def _no_doctype(*_: Any) -> None:
    raise ValueError("a DOCTYPE in a sheet (entity definitions are not allowed in a workbook)")


def scan_sheet(
    name: str, title: str, stream: IO[bytes], limits: XlsxLimits, deadline: float, cells_before: int = 0
) -> SheetScan:
    """Stream a sheet's XML: its declared dimension, where its values are, its merges.

    Fails as soon as something lies beyond the limits, before openpyxl reads the sheet."""
    scanner = _SheetScanner(name, title, limits, cells_before)
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.StartElementHandler, parser.EndElementHandler = scanner.start, scanner.end
    parser.CharacterDataHandler = scanner.text
    while chunk := stream.read(256 * 1024):
        parser.Parse(chunk, False)
        if time.monotonic() > deadline:
            raise ExtractionError(
                f"{name}: sheet '{title}' takes longer than {limits.max_seconds:g} s to read"
            )
    parser.Parse(b"", True)
    return scanner.scan


# --- values ------------------------------------------------------------------------------


def read_values(ws: Any, scan: SheetScan, name: str, deadline: float) -> dict[tuple[int, int], str]:
    """The printed text of every cell with a value, by (row, column), within the used range."""
    values: dict[tuple[int, int], str] = {}
    rows = ws.iter_rows(min_row=1, max_row=scan.rows, min_col=1, max_col=scan.cols)
    for r, cells in enumerate(rows, start=1):
        if time.monotonic() > deadline:
            raise ExtractionError(f"{name}: sheet '{ws.title}' takes too long to read")
        for c, cell in enumerate(cells, start=1):
            value = getattr(cell, "value", None)
            if value is None:
                continue
            text = cell_text(value, getattr(cell, "number_format", "General") or "General")
            if text != "":
                values[(r, c)] = text
    return values


def cell_text(value: Any, number_format: str = "General") -> str:
    """A cell's value as printed: see the module doc for numbers, dates and percentages."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date) and (era := era_date_text(value, number_format)):
        timed = isinstance(value, dt.datetime) and value.time() != dt.time()
        return f"{era} {value.hour}:{value.minute:02d}" if timed else era
    if isinstance(value, dt.datetime):
        day = f"{value.year}年{value.month}月{value.day}日"
        return day if value.time() == dt.time() else f"{day} {value.hour}:{value.minute:02d}"
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, dt.time):
        return f"{value.hour}:{value.minute:02d}"
    if isinstance(value, int | float):
        return format_number(value, number_format)
    return str(value)


_LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


# The day each era began (改元日), newest first. Kept here, not in core/normalize.py: a reader
# depends on core/models.py alone, so that the grid cache's reader version covers all it uses.
ERA_STARTS: tuple[tuple[str, dt.date], ...] = (
    ("令和", dt.date(2019, 5, 1)),
    ("平成", dt.date(1989, 1, 8)),
    ("昭和", dt.date(1926, 12, 25)),
)


def era_of(day: dt.date) -> tuple[str, int] | None:
    """和暦 of a date: ``2024-04-30`` → ``('令和', 6)``; ``2019-04-30`` → ``('平成', 31)``; None
    before 昭和."""
    for era, start in ERA_STARTS:
        if day >= start:
            return era, day.year - start.year + 1
    return None


_ERA_CODE = re.compile(r"g+|e+", re.I)
_DATE_TOKEN = re.compile(r'"([^"]*)"|\\(.)|\[[^\]]*\]|(g+|e+|y+|m+|d+)|(.)', re.I)
_ERA_LETTER = {"令和": "R", "平成": "H", "昭和": "S"}


def era_date_text(value: dt.date, number_format: str) -> str | None:
    """A date printed by a format with era codes (和暦: ``ggg`` 令和, ``gg`` 令, ``g`` R, ``e`` the
    era's year, 元 for year 1 in a ``x-gannen`` format); None when the format has none.

    >>> era_date_text(dt.date(2024, 4, 30), '[$-411]ggge"年"m"月"d"日";@')
    '令和6年4月30日'
    """
    section = re.split(r"\s*(?=[hH])", number_format.split(";")[0])[0]  # the date part (time after it)
    day = value.date() if isinstance(value, dt.datetime) else value
    codes = _LITERAL.sub("", section)
    era = era_of(day) if codes.lower() != "general" and _ERA_CODE.search(codes) else None
    if era is None:
        return None
    name, year = era
    parts = {
        "g": lambda n: name if n >= 3 else name[0] if n == 2 else _ERA_LETTER[name],
        "e": lambda n: "元" if year == 1 and "gannen" in section else f"{year:0{min(n, 2)}d}",
        "y": lambda n: f"{day.year}" if n > 2 else f"{day.year % 100:02d}",
        "m": lambda n: f"{day.month:0{min(n, 2)}d}",
        "d": lambda n: f"{day.day:0{min(n, 2)}d}",
    }
    out = []
    for m in _DATE_TOKEN.finditer(section):
        literal, escaped, code, other = m.groups()
        if code:
            out.append(parts[code[0].lower()](len(code)))
        else:
            out.append(literal or escaped or (other if other not in (None, "@") else ""))
    return "".join(out)


def format_number(value: float, number_format: str = "General") -> str:
    """A number as its format prints it: grouping (``#,##0``), fixed decimals (``0.0``), percent.

    >>> format_number(4755, "#,##0"), format_number(0.1 + 0.2), format_number(0.3871, "0.0%")
    ('4,755', '0.3', '38.7%')
    """
    if not math.isfinite(value):
        return str(value)
    section = _LITERAL.sub("", number_format.split(";")[0])
    number = Decimal(repr(value)) if isinstance(value, int) else Decimal(f"{value:.15g}")
    percent = "%" in section
    if percent:
        number *= 100
    if not re.search(r"[0#?]", section):  # General (or a format without digit places)
        text = format(number.normalize(), "f") if number != number.to_integral() else f"{number:.0f}"
        return text + ("%" if percent else "")
    integer, _, fraction = section.partition(".")
    places = len(re.match(r"[0#?]*", fraction).group(0))
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{number:,.{places}f}" if "," in integer else f"{number:.{places}f}"
    return text + ("%" if percent else "")


# --- the grid: merged ranges as cells, logical columns -----------------------------------


def row_spans(
    values: dict[tuple[int, int], str], merges: list[Merge], n_rows: int, n_cols: int
) -> Iterator[list[Span]]:
    """Per sheet row, its cells as spans (start col, end col, text, starts here), by column.

    A merged range is one span: its top-left text in its first row, "" in the rows below.
    Merges are clipped to the used range (``n_rows`` × ``n_cols``); one overlapping an earlier
    merge (an invalid file) is ignored."""
    by_row: dict[int, dict[int, str]] = defaultdict(dict)
    for (r, c), text in values.items():
        by_row[r][c] = text
    starting: dict[int, list[Merge]] = defaultdict(list)
    for r0, c0, r1, c1 in sorted(merges):
        if r0 <= n_rows and c0 <= n_cols:
            starting[r0].append((r0, c0, min(r1, n_rows), min(c1, n_cols)))
    active: list[Merge] = []
    for r in range(1, n_rows + 1):
        active = [m for m in active if m[2] >= r]
        for m in starting.get(r, ()):
            if not any(m[1] <= a[3] and a[1] <= m[3] for a in active):
                active.append(m)
        texts = by_row.get(r, {})
        spans: list[Span] = [
            (c0, c1, texts.get(c0, "") if r0 == r else "", r0 == r) for r0, c0, _, c1 in active
        ]
        covered = {c for c0, c1, _, _ in spans for c in range(c0, c1 + 1)}
        spans.extend((c, c, t, True) for c, t in texts.items() if c not in covered)
        yield sorted(spans)


def sheet_rows(
    scan: SheetScan, values: dict[tuple[int, int], str], page: int, first_row: int
) -> list[list[Cell]]:
    """One worksheet → grid rows (``first_row`` is the grid index of its first row)."""
    n_rows = scan.rows
    spans = list(row_spans(values, scan.merges, n_rows, scan.cols))
    rank = {c: k for k, c in enumerate(sorted({s[0] for row in spans for s in row}))}
    blank = [not any(s[3] and s[2].strip() for s in row) for row in spans]
    out: list[list[Cell]] = []
    start = 0
    while start < n_rows:
        if blank[start]:
            out.append([])
            start += 1
            continue
        end = start
        while end < n_rows and not blank[end]:
            end += 1
        columns = sorted({s[0] for row in spans[start:end] for s in row})
        for i in range(start, end):
            out.append(_row_cells(spans[i], rank, columns, first_row + i, page, i + 1))
        start = end
    return out


def _row_cells(
    row: list[Span], rank: dict[int, int], columns: list[int], grid_row: int, page: int, line: int
) -> list[Cell]:
    """A row's spans → cells at their logical columns (``rank``), plus an empty cell for each
    of its block's ``columns`` after the row's first cell that the row neither starts nor covers."""
    texts = {rank[c0]: text for c0, _, text, _ in row}
    used = {c for c0, c1, _, _ in row for c in range(c0, c1 + 1)}
    for col in columns:
        if col > row[0][0] and col not in used:
            texts[rank[col]] = ""
    return [Cell(texts[k], grid_row, k, page=page, line=line) for k in sorted(texts)]
