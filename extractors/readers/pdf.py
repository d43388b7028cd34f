"""PDF → grid (pdfplumber). Each page is parsed once; tables, free text lines and schedule
arrows come from the same page object.

* Ruled tables (``find_tables`` with the lines strategy) become grid rows, one per table
  row, each cell with its box; merged cells come back empty. A cell's wrapped lines are
  kept as ``\\n`` so a parser can read lines (slides) or fold them (sheets).
* Words outside every table become text lines (titles, rules, headings, legends).
* Arrows — a horizontal line ending in a small filled triangle — become
  :class:`~core.models.Shape` objects: the schedule's years are read from them.

camelot-py (lattice) finds the same grids on these documents but is slower per page here
(see ``bench/extract.py``), so pdfplumber is the reader for every kind.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from statistics import median
from typing import Any

from core.models import Cell, ExtractionError, Grid, Shape

TABLE_SETTINGS: dict[str, Any] = {
    "vertical_strategy": "lines",
    "horizontal_strategy": "lines",
    "snap_tolerance": 3,
    "join_tolerance": 3,
    "intersection_tolerance": 3,
}
WORD_SETTINGS: dict[str, Any] = {"x_tolerance": 1.5, "y_tolerance": 3, "keep_blank_chars": False}
LINE_TOLERANCE = 3.0  # points: words whose tops differ less are on one line


@dataclass(frozen=True)
class PdfLimits:
    """Budget per document: pages beyond ``max_pages``, or read after ``max_seconds``, are not
    read and the document is ``partial`` (sources.yaml ``limits:`` sets both)."""

    max_pages: int = 500
    max_seconds: float = 300.0


_CID = re.compile(r"\(cid:\d+\)")

# Hard limits of a PDF (PDFの上限), checked before the work they bound: a document past one
# fails in seconds with its reason (the budget above makes a long document partial instead).
MAX_PDF_PAGES = 2000  # pages of a document (counted by pdfium before pdfplumber lists them)
MAX_PAGE_AREA = 2 * 2384 * 3370  # pt² of one page: twice A0 (the bundled pages: A4 and A3)
MAX_RULING_CROSSINGS = 40_000  # horizontal × vertical rulings of a page (the bundled: at most 8,840)


ENGINES = ("pdfium", "plumber")
DEFAULT_ENGINE = "pdfium"


def read_pdf(
    path: Path,
    data: bytes,
    *,
    password: str | None = None,
    limits: PdfLimits | None = None,
    engine: str = DEFAULT_ENGINE,
    ocr: str = "never",
) -> Grid:
    """Read a PDF into a :class:`Grid`, or raise :class:`ExtractionError` with the cause.

    ``engine="pdfium"`` reads the pages with pypdfium2 (:mod:`extractors.readers.pdfium`) and
    gives the same grid as ``engine="plumber"`` (pdfplumber, the reference); a document it
    cannot reproduce exactly is read with pdfplumber, and ``grid.engine`` says so.
    ``ocr``: ``"never"`` (the text layer only), ``"auto"`` (a document without a usable text
    layer is read by OCR, :mod:`extractors.readers.ocr`) or ``"always"`` (by OCR).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown PDF engine {engine!r} (known: {', '.join(ENGINES)})")
    limits = limits or PdfLimits()
    pdf = _open(path, data, password)
    if ocr == "always":
        pdf.close()
        return _ocr(path, data, password, limits, None)
    _check_page_count(path, data, password)
    with pdf:
        try:
            pages = pdf.pages
        except Exception as exc:
            raise ExtractionError(
                f"{path.name}: broken or truncated PDF ({type(exc).__name__}: {exc})"
            ) from exc
        used = "plumber"
        result = None
        if engine == "pdfium":
            from .pdfium import PdfiumDocument, Unsupported

            try:
                with PdfiumDocument(data, password) as doc:
                    result = _read_pages(
                        path, pages, limits, lambda page: doc.page(pdf, page), _read_primitives
                    )
                used = "pdfium"
            except Unsupported as exc:
                used = f"plumber (pdfium fallback: {exc})"
        if result is None:
            result = _read_pages(path, pages, limits, lambda page: page, _read_page)
        total_pages = len(pages)
    rows, shapes, chars, read = result
    problem = "no text layer (scanned?) — OCR needed" if chars == 0 else None
    problem = problem or text_layer_problem("\n".join(c.text for r in rows for c in r))
    if problem:
        if ocr == "auto":
            return _ocr(path, data, password, limits, problem)
        raise ExtractionError(f"{path.name}: {problem}")
    grid = Grid(rows=rows, format="pdf", pages=total_pages, shapes=shapes, engine=used)
    if read < total_pages:
        budget = "page budget" if read >= limits.max_pages else f"time budget of {limits.max_seconds:g} s"
        grid.missing.append(f"only the first {read} of {total_pages} pages were read ({budget})")
    return grid


def _ocr(path: Path, data: bytes, password: str | None, limits: PdfLimits, problem: str | None) -> Grid:
    """The document read by OCR; ``problem`` (why its text layer was not used) goes first in
    its warnings. Without Tesseract: the problem and how to install it."""
    from .ocr import INSTALL_HINT, read_ocr, unavailable

    missing = unavailable()
    if missing:
        raise ExtractionError(f"{path.name}: {problem or 'OCR asked for'}; {missing}: {INSTALL_HINT}")
    grid = read_ocr(path, data, password=password, limits=limits)
    if problem:
        grid.warnings.insert(0, f"{path.name}: {problem.split(' — ')[0]}: read by OCR")
    return grid


def _open(path: Path, data: bytes, password: str | None) -> Any:
    """pdfplumber's document (both engines: the same errors, page sizes and boxes)."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSEOF, PSException

    try:
        return pdfplumber.open(io.BytesIO(data), password=password or "")
    except Exception as wrapped:  # pdfplumber wraps pdfminer's errors in PdfminerException
        exc = wrapped.args[0] if wrapped.args and isinstance(wrapped.args[0], Exception) else wrapped
        if isinstance(exc, PDFPasswordIncorrect):
            msg = (
                "wrong password in sources.yaml"
                if password
                else "encrypted, no password given (add password: to sources.yaml)"
            )
        elif isinstance(exc, PDFEncryptionError):
            msg = f"encrypted with an unsupported method ({exc})"
        elif isinstance(exc, PSEOF) or "EOF" in str(exc):
            msg = f"broken or truncated PDF (the file ends too early: {type(exc).__name__})"
        elif isinstance(exc, PDFSyntaxError | PSException):
            msg = f"not a readable PDF ({type(exc).__name__}: {exc})"
        else:
            msg = f"broken or truncated PDF ({type(exc).__name__}: {exc or 'no detail'})"
        raise ExtractionError(f"{path.name}: {msg}") from wrapped


def _read_pages(
    path: Path, pages: list[Any], limits: PdfLimits, load: Any, read_page: Any
) -> tuple[list[list[Cell]], list[Shape], int, int]:
    """Every page within the budget: ``load`` gives what ``read_page`` reads (rows, shapes, chars)."""
    from .pdfium import Unsupported

    rows: list[list[Cell]] = []
    shapes: list[Shape] = []
    chars = 0
    started, read = time.monotonic(), 0
    for number, page in enumerate(pages[: limits.max_pages], start=1):
        if time.monotonic() - started > limits.max_seconds:
            break
        read = number
        _check_page_size(page, number)
        try:
            page_rows, page_shapes, n = read_page(load(page), number, len(rows))
        except (ExtractionError, Unsupported):
            raise
        except Exception as exc:
            raise ExtractionError(
                f"{path.name}: page {number} cannot be read ({type(exc).__name__}: {exc})"
            ) from exc
        rows.extend(page_rows)
        shapes.extend(page_shapes)
        chars += n
        page.close()
    return rows, shapes, chars, read


def _check_page_count(path: Path, data: bytes, password: str | None) -> None:
    """Refuse a document of more than :data:`MAX_PDF_PAGES` pages (pdfium counts them at once)."""
    import pypdfium2

    try:
        with pypdfium2.PdfDocument(data, password=password) as doc:
            count = len(doc)
    except Exception:  # pdfplumber opened it: its own errors say what is wrong, page by page
        return
    if count > MAX_PDF_PAGES:
        raise ExtractionError(
            f"{path.name}: {count:,} pages — more than the {MAX_PDF_PAGES:,} pages a plan document may "
            "have; not read"
        )


def _check_page_size(page: Any, number: int) -> None:
    """Refuse a page larger than :data:`MAX_PAGE_AREA` (a huge MediaBox)."""
    if float(page.width) * float(page.height) > MAX_PAGE_AREA:
        raise ExtractionError(
            f"page {number} is {float(page.width):,.0f} × {float(page.height):,.0f} pt — larger than "
            "twice A0; not read"
        )


def _check_rulings(edges: list[dict[str, Any]], number: int) -> None:
    """Refuse a page whose rulings would make more than :data:`MAX_RULING_CROSSINGS` crossings
    (a dense ruled grid: the table finder's work grows with their product)."""
    across = sum(1 for e in edges if e.get("orientation") == "h")
    if across * (len(edges) - across) > MAX_RULING_CROSSINGS:
        raise ExtractionError(
            f"page {number} is ruled with {across:,} horizontal × {len(edges) - across:,} vertical lines — "
            f"more than the {MAX_RULING_CROSSINGS:,} crossings of a plan table; not read"
        )


def text_layer_problem(text: str) -> str | None:
    """Why a text layer cannot be loaded as data: ``(cid:N)`` glyphs (more than 10, or more
    than a tenth of the glyphs: a short document in such a font) or mojibake, else None."""
    if not text.strip():
        return "no text layer (scanned?) — OCR needed"
    cids = len(_CID.findall(text))
    bad = text.count("\ufffd")
    glyphs = len("".join(_CID.sub("?", text).split()))  # each (cid:N) is one glyph
    if cids > 10 or cids > 0.1 * glyphs or bad / len(text) > 0.01:
        return (
            f"the text layer is unreadable ({cids} (cid:N) glyphs, {bad} replacement characters: "
            "fonts without a Unicode map) — OCR needed"
        )
    return None


def _outside(
    words: list[dict[str, Any]], boxes: list[tuple[float, float, float, float]]
) -> list[dict[str, Any]]:
    """The words whose middle is in none of ``boxes``."""
    out = []
    for word in words:
        x = (word["x0"] + word["x1"]) / 2
        y = (word["top"] + word["bottom"]) / 2
        for x0, top, x1, bottom in boxes:
            if x0 <= x <= x1 and top <= y <= bottom:
                break
        else:
            out.append(word)
    return out


def _has_fake_bold(chars: list[dict[str, Any]]) -> bool:
    """Fake-bold text prints each glyph twice at (almost) the same place."""
    dup = len(chars) - len({(c["text"], round(c["x0"]), round(c["top"])) for c in chars})
    return dup > max(3, len(chars) // 100)


def _read_page(page: Any, number: int, row_offset: int) -> tuple[list[list[Cell]], list[Shape], int]:
    """One pdfplumber page (the reference engine): pdfplumber finds tables and cell texts."""
    if _has_fake_bold(page.chars):  # dedupe_chars costs ~0.5 s a page: only when needed
        page = page.dedupe_chars()
    nchars = len(page.chars)
    _check_rulings(page.edges, number)
    tables = [(t.bbox, t.rows, t.extract(**WORD_SETTINGS)) for t in page.find_tables(TABLE_SETTINGS)]
    rows = _page_rows(tables, page.extract_words(**WORD_SETTINGS), number, row_offset)
    return rows, _arrows(page.curves, page.lines, number), nchars


def _read_primitives(prims: Any, number: int, row_offset: int) -> tuple[list[list[Cell]], list[Shape], int]:
    """One page as primitives (:class:`~extractors.readers.pdfium.PagePrimitives`): pdfplumber's
    table finder on their edges, cell texts assembled in one pass over the characters."""
    from pdfplumber import utils

    chars = prims.chars
    if not all(c["upright"] for c in chars):
        from .pdfium import Unsupported

        raise Unsupported(f"page {number} has rotated or vertical characters")
    if _has_fake_bold(chars):
        chars = utils.dedupe_chars(chars)
    mids = sorted(((c["top"] + c["bottom"]) / 2, i) for i, c in enumerate(chars))
    tables = []
    edge_page = _EdgePage(prims, chars)
    _check_rulings(edge_page.edges, number)
    for t in _find_tables(edge_page):
        table_rows = t.rows
        tables.append((t.bbox, table_rows, _cell_texts(table_rows, chars, mids)))
    rows = _page_rows(tables, _words(chars), number, row_offset)
    return rows, _arrows(prims.curves, prims.lines, number), len(chars)


class _EdgePage:
    """What pdfplumber's ``TableFinder`` reads of a page (lines strategy): its edges."""

    def __init__(self, prims: Any, chars: list[dict[str, Any]]) -> None:
        from pdfplumber import utils

        self.chars = chars
        self.bbox = (0, 0, prims.width, prims.height)
        self.edges = (
            [utils.line_to_edge(x) for x in prims.lines]
            + [e for r in prims.rects for e in utils.rect_to_edges(r)]
            + [e for c in prims.curves for e in utils.curve_to_edges(c)]
        )


def _find_tables(page: _EdgePage) -> list[Any]:
    """``page.find_tables(TABLE_SETTINGS)``: pdfplumber's steps on edges as tuples, with the
    crossings found by numpy and the cell search indexed."""
    from pdfplumber import table as T

    settings = T.TableSettings.resolve(TABLE_SETTINGS)
    edges = _merged_edges(page.edges, settings)
    points = _crossings(edges, settings.intersection_x_tolerance, settings.intersection_y_tolerance)
    return [T.Table(page, group) for group in _cells_to_tables(_intersections_to_cells(points))]


# An edge as a tuple: (orientation, x0, top, x1, bottom, width, height), pdfplumber's fields.
_O, _EX0, _ETOP, _EX1, _EBOTTOM, _EWIDTH, _EHEIGHT = range(7)
_EdgeTuple = tuple[str, float, float, float, float, float, float]


def _merged_edges(edges: list[dict[str, Any]], settings: Any) -> list[_EdgeTuple]:
    """``TableFinder.get_edges`` (lines strategy): edges at least ``edge_min_length_prefilter``
    long, snapped to their clusters' mean, joined along each line, at least
    ``edge_min_length`` long — pdfplumber's arithmetic in pdfplumber's order."""
    prefilter = settings.edge_min_length_prefilter
    fields = itemgetter("orientation", "x0", "top", "x1", "bottom", "width", "height")
    v = [fields(e) for e in edges if e["orientation"] == "v" and e["height"] >= prefilter]
    h = [fields(e) for e in edges if e["orientation"] == "h" and e["width"] >= prefilter]
    snapped = _snap(v, _EX0, settings.snap_x_tolerance) + _snap(h, _ETOP, settings.snap_y_tolerance)
    by_group: dict[tuple[str, float], list[_EdgeTuple]] = {}
    for e in sorted(snapped, key=_edge_group):
        by_group.setdefault(_edge_group(e), []).append(e)
    joined: list[_EdgeTuple] = []
    for (orientation, _), line in by_group.items():
        if orientation == "h":
            joined += _join(line, _EX0, _EX1, settings.join_x_tolerance)
        else:
            joined += _join(line, _ETOP, _EBOTTOM, settings.join_y_tolerance)
    minimum = settings.edge_min_length
    return [e for e in joined if e[_EHEIGHT if e[_O] == "v" else _EWIDTH] >= minimum]


def _edge_group(e: _EdgeTuple) -> tuple[str, float]:
    """pdfplumber's ``get_group``: the line an edge is on, ("h", top) or ("v", x0)."""
    return (e[_O], e[_ETOP] if e[_O] == "h" else e[_EX0])


def _snap(edges: list[_EdgeTuple], at: int, tolerance: float) -> list[_EdgeTuple]:
    """pdfplumber's ``snap_objects``: each cluster of edges moved to its mean ``at`` (x0 of
    vertical edges, top of horizontal ones), the other end by the same amount."""
    out: list[_EdgeTuple] = []
    for cluster in _clusters(edges, itemgetter(at), tolerance):
        avg = sum(e[at] for e in cluster) / len(cluster)
        for o, x0, top, x1, bottom, width, height in cluster:
            if at == _EX0:
                value = avg - x0
                out.append((o, x0 + value, top, x1 + value, bottom, width, height))
            else:
                value = avg - top
                out.append((o, x0, top + value, x1, bottom + value, width, height))
    return out


def _join(line: list[_EdgeTuple], lo: int, hi: int, tolerance: float) -> list[_EdgeTuple]:
    """pdfplumber's ``join_edge_group``: edges of one line that overlap or nearly touch become
    one (``resize_object``: the end moves, the length with it)."""
    ordered = sorted(line, key=itemgetter(lo))
    joined = [ordered[0]]
    for e in ordered[1:]:
        last = joined[-1]
        if e[lo] <= last[hi] + tolerance:
            if e[hi] > last[hi]:
                o, x0, top, x1, bottom, width, height = last
                if hi == _EX1:
                    joined[-1] = (o, x0, top, e[hi], bottom, e[hi] - x0, height)
                else:
                    joined[-1] = (o, x0, top, x1, e[hi], width, height + (e[hi] - bottom))
        else:
            joined.append(e)
    return joined


def _crossings(
    edges: list[_EdgeTuple], x_tolerance: float, y_tolerance: float
) -> dict[tuple[float, float], tuple[set[Any], set[Any]]]:
    """pdfplumber's ``edges_to_intersections``: each point where a vertical edge meets a
    horizontal one (within the tolerances), with the boxes of the edges that meet there."""
    import numpy as np

    v = sorted((e for e in edges if e[_O] == "v"), key=itemgetter(_EX0, _ETOP))
    h = sorted((e for e in edges if e[_O] == "h"), key=itemgetter(_ETOP, _EX0))
    if not v or not h:
        return {}
    va, ha = np.array([e[1:5] for e in v]), np.array([e[1:5] for e in h])  # x0, top, x1, bottom
    vx, vtop, vbottom = va[:, 0:1], va[:, 1:2], va[:, 3:4]
    htop, hx0, hx1 = ha[:, 1], ha[:, 0], ha[:, 2]
    meets = (
        (vtop <= htop + y_tolerance)
        & (vbottom >= htop - y_tolerance)
        & (vx >= hx0 - x_tolerance)
        & (vx <= hx1 + x_tolerance)
    )
    points: dict[tuple[float, float], tuple[set[Any], set[Any]]] = {}
    for i, j in zip(*np.nonzero(meets), strict=True):
        ve, he = v[i], h[j]
        vs, hs = points.setdefault((ve[_EX0], he[_ETOP]), (set(), set()))
        vs.add(ve[1:5])
        hs.add(he[1:5])
    return points


def _cells_to_tables(cells: list[tuple[float, ...]]) -> list[list[tuple[float, ...]]]:
    """pdfplumber's ``cells_to_tables`` in one pass: the groups of cells that touch by a corner
    (pdfplumber grows each group pass after pass, the same groups), top-left first, single
    cells dropped. A group's order of cells is the input's (``Table.rows`` sorts them)."""
    parent = list(range(len(cells)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[float, float], int] = {}
    for i, (x0, top, x1, bottom) in enumerate(cells):
        for corner in ((x0, top), (x0, bottom), (x1, top), (x1, bottom)):
            j = root(owner.setdefault(corner, i))
            if j != root(i):
                parent[j] = root(i)
    groups: dict[int, list[tuple[float, ...]]] = {}
    for i, cell in enumerate(cells):
        groups.setdefault(root(i), []).append(cell)
    tables = sorted(groups.values(), key=lambda t: min((c[1], c[0]) for c in t))
    return [t for t in tables if len(t) > 1]


def _intersections_to_cells(
    intersections: dict[tuple[float, float], tuple[set[Any], set[Any]]],
) -> list[tuple[float, ...]]:
    """pdfplumber's ``intersections_to_cells``, with the points below and to the right of a
    point found by position instead of by scanning all points.
    ``intersections``: point → (boxes of its vertical edges, of its horizontal edges)."""
    vsets = {p: vs for p, (vs, _) in intersections.items()}
    hsets = {p: hs for p, (_, hs) in intersections.items()}
    points = sorted(intersections)
    by_x: dict[float, list[tuple[float, float]]] = {}
    by_y: dict[float, list[tuple[float, float]]] = {}
    at: dict[tuple[float, float], tuple[int, int]] = {}
    for pt in points:  # sorted by (x, y): each list in the order pdfplumber scans it
        column, row = by_x.setdefault(pt[0], []), by_y.setdefault(pt[1], [])
        at[pt] = (len(column), len(row))
        column.append(pt)
        row.append(pt)
    cells = []
    for pt in points[:-1]:
        i, j = at[pt]
        cell = _smallest_cell(pt, by_x[pt[0]][i + 1 :], by_y[pt[1]][j + 1 :], vsets, hsets)
        if cell:
            cells.append(cell)
    return cells


def _smallest_cell(
    pt: tuple[float, float], below: list[Any], right: list[Any], vsets: dict[Any, Any], hsets: dict[Any, Any]
) -> tuple[float, float, float, float] | None:
    """pdfplumber's ``find_smallest_cell``: the first point below and the first to the right
    (in that order of loops) that an edge joins to ``pt`` and whose corner an edge joins to
    both. A point below shares ``pt``'s x, so only vertical edges can join them (and the
    corner to the right point); a point to the right its y (and the corner to the one below)."""
    vs, hs = vsets[pt], hsets[pt]
    joined_right = None
    for below_pt in below:
        if vs.isdisjoint(vsets[below_pt]):
            continue
        if joined_right is None:
            joined_right = [p for p in right if not hs.isdisjoint(hsets[p])]
        below_h = hsets[below_pt]
        for right_pt in joined_right:
            corner = (right_pt[0], below_pt[1])
            corner_v = vsets.get(corner)
            if (
                corner_v is not None
                and not corner_v.isdisjoint(vsets[right_pt])
                and not hsets[corner].isdisjoint(below_h)
            ):
                return (pt[0], pt[1], corner[0], corner[1])
    return None


def _cell_texts(
    rows: list[Any], chars: list[dict[str, Any]], mids: list[tuple[float, int]]
) -> list[list[str | None]]:
    """``Table.extract`` without a crop per cell: each row takes the characters whose middle
    is in its band, each character goes to the cell whose columns hold its middle."""
    from bisect import bisect_left, bisect_right

    keys = [m for m, _ in mids]
    out: list[list[str | None]] = []
    for row in rows:
        cells = [c for c in row.cells if c is not None]
        top, bottom = row.bbox[1], row.bbox[3]
        x0s = [c[0] for c in cells]
        found: dict[int, list[int]] = {}
        for v, i in mids[bisect_left(keys, top) : bisect_left(keys, bottom)]:
            char = chars[i]
            h = (char["x0"] + char["x1"]) / 2
            k = bisect_right(x0s, h) - 1
            if k >= 0 and h < cells[k][2] and v < cells[k][3]:
                found.setdefault(k, []).append(i)
        texts: list[str | None] = []
        k = 0
        for cell in row.cells:
            if cell is None:
                texts.append(None)
                continue
            idx = sorted(found.get(k, ()))
            texts.append(_text([chars[i] for i in idx]) if idx else "")
            k += 1
        out.append(texts)
    return out


def _clusters(objs: list[Any], key: Any, tolerance: float) -> list[list[Any]]:
    """pdfplumber's ``cluster_objects``: values (``key`` of each object) chained within
    ``tolerance``, stable order."""
    values = {key(o) for o in objs}
    if not values:
        return []
    if max(values) <= min(values) + tolerance:  # one cluster (the chain's test, on its ends)
        return [list(objs)]
    ids: dict[float, int] = {}
    last: float | None = None
    for v in sorted(values):
        ids[v] = 0 if last is None else ids[last] + (v > last + tolerance)
        last = v
    groups: dict[int, list[Any]] = {}
    for o in objs:
        groups.setdefault(ids[key(o)], []).append(o)
    return [groups[k] for k in sorted(groups)]


_TOP, _X0 = itemgetter("top"), itemgetter("x0")
_WORD_TOP = itemgetter(3)


_CHAR_FIELDS = itemgetter("text", "x0", "x1", "top", "bottom")


def _word_boxes(chars: list[dict[str, Any]]) -> list[tuple[str, float, float, float, float]]:
    """``extract_words(chars, **WORD_SETTINGS)`` for upright characters, without its
    overhead: (text, x0, x1, top, bottom) of each word."""
    from pdfplumber.utils.text import LIGATURES

    x_tol, y_tol = WORD_SETTINGS["x_tolerance"], WORD_SETTINGS["y_tolerance"]
    words: list[tuple[str, float, float, float, float]] = []
    for line in _clusters(chars, _TOP, y_tol):
        parts: list[str] = []
        x0 = x1 = top = bottom = 0.0  # the current word's box
        px0 = px1 = ptop = 0.0  # the previous character's
        for text, cx0, cx1, ctop, cbottom in map(_CHAR_FIELDS, sorted(line, key=_X0)):
            if text.isspace() or text == "":
                if parts:
                    words.append(("".join(parts), x0, x1, top, bottom))
                    parts = []
                if text == "":  # pdfplumber makes it a word of its own
                    words.append(("", cx0, cx1, ctop, cbottom))
                continue
            if parts and (cx0 < px0 or cx0 > px1 + x_tol or abs(ctop - ptop) > y_tol):
                words.append(("".join(parts), x0, x1, top, bottom))
                parts = []
            if parts:  # max()/min() as pdfplumber: the first value unless another is beyond it
                x1 = cx1 if cx1 > x1 else x1
                top = ctop if ctop < top else top
                bottom = cbottom if cbottom > bottom else bottom
            else:  # characters come sorted by x0: the first one starts the word
                x0, x1, top, bottom = cx0, cx1, ctop, cbottom
            parts.append(LIGATURES.get(text, text))
            px0, px1, ptop = cx0, cx1, ctop
        if parts:
            words.append(("".join(parts), x0, x1, top, bottom))
    return words


def _words(chars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``extract_words(chars, **WORD_SETTINGS)`` for upright characters, as pdfplumber's dicts."""
    return [
        {"text": t, "x0": x0, "x1": x1, "top": top, "bottom": bottom, "upright": True}
        for t, x0, x1, top, bottom in _word_boxes(chars)
    ]


def _text(chars: list[dict[str, Any]]) -> str:
    """``utils.extract_text(chars, **WORD_SETTINGS)`` (no layout): words, lines joined by newlines."""
    lines = _clusters(_word_boxes(chars), _WORD_TOP, WORD_SETTINGS["y_tolerance"])
    return "\n".join(" ".join(w[0] for w in line) for line in lines)


def _page_rows(
    tables: list[tuple[Any, list[Any], list[list[str | None]]]],
    words: list[dict[str, Any]],
    number: int,
    row_offset: int,
) -> list[list[Cell]]:
    """Table rows and text lines of a page, top to bottom: one grid row each."""
    items: list[tuple[float, float, list[tuple[str, tuple[float, float, float, float] | None]]]] = []
    for _, table_rows, texts in tables:
        for row, row_texts in zip(table_rows, texts, strict=False):
            cells = [(t or "", bbox) for t, bbox in zip(row_texts, row.cells, strict=False)]
            tops = [b[1] for _, b in cells if b]
            x0s = [b[0] for _, b in cells if b]
            items.append((min(tops), min(x0s), cells))
    outside = _outside(words, [bbox for bbox, _, _ in tables])
    for line in _lines(outside):
        bbox = _line_box(line)
        items.append((bbox[1], bbox[0], [(_join_words(line), bbox)]))
    items.sort(key=lambda it: (round(it[0], 1), it[1]))
    rows = []
    for i, (_, _, cells) in enumerate(items):
        r = row_offset + i
        rows.append([Cell(text=t, row=r, col=j, page=number, bbox=b) for j, (t, b) in enumerate(cells)])
    return rows


def _lines(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    lines: list[list[dict[str, Any]]] = []
    for w in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if lines and abs(lines[-1][0]["top"] - w["top"]) <= LINE_TOLERANCE:
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(line, key=lambda w: w["x0"]) for line in lines]


def _line_box(line: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    """The box (x0, top, x1, bottom) around a line of words."""
    return (
        min(w["x0"] for w in line),
        min(w["top"] for w in line),
        max(w["x1"] for w in line),
        max(w["bottom"] for w in line),
    )


def _join_words(line: list[dict[str, Any]]) -> str:
    out = line[0]["text"]
    for prev, w in zip(line, line[1:], strict=False):
        gap = w["x0"] - prev["x1"]
        size = max(w["bottom"] - w["top"], 1.0)
        # Two text boxes far apart on one line (a heading and a legend) get a wide separator.
        out += ("   " if gap > 3 * size else " ") + w["text"]
    return out


def _arrows(curves: list[dict[str, Any]], lines: list[dict[str, Any]], number: int) -> list[Shape]:
    """Horizontal shafts that end in a small filled triangle (the arrowhead)."""
    heads = [
        c for c in curves if c.get("fill") and (c["x1"] - c["x0"]) < 15 and (c["bottom"] - c["top"]) < 15
    ]
    horizontal = [ln for ln in lines if abs(ln["top"] - ln["bottom"]) < 1.0 and ln["x1"] - ln["x0"] > 5]
    shapes = []
    used: set[int] = set()
    for head in heads:
        cy = (head["top"] + head["bottom"]) / 2
        best = None
        for k, ln in enumerate(horizontal):
            if k in used or abs(ln["top"] - cy) > 2.0:
                continue
            if head["x0"] - 3 <= ln["x1"] <= head["x1"] + 3:
                best = k
                break
        if best is not None:
            used.add(best)
            ln = horizontal[best]
            shapes.append(Shape("arrow", number, (ln["x0"], cy - 1, head["x1"], cy + 1)))
    if not heads and horizontal:
        # No arrowheads drawn: shafts are the horizontal lines clearly thicker than the grid.
        widths = [ln.get("linewidth") or 0 for ln in horizontal]
        grid_width = median(widths) if widths else 0
        for ln in horizontal:
            if grid_width and (ln.get("linewidth") or 0) > 1.5 * grid_width:
                shapes.append(Shape("arrow", number, (ln["x0"], ln["top"] - 1, ln["x1"], ln["bottom"] + 1)))
    return shapes
