"""PDF page loader on pypdfium2: the primitives the reader needs, in pdfplumber's conventions.

pdfplumber (on pdfminer) interprets every page in Python; pdfium does it in C. This module
takes from pdfium's raw API the characters (text, box, font, size, upright) and the path
objects (lines, rects, curves with stroke/fill/line width) of a page and turns them into the
dicts pdfplumber would give for the same page: top-left origin (``top = height - y1``), char
boxes from each font's descriptor descent as pdfminer computes them, paths split into
sub-paths and classified as line/rect/curve the way pdfminer does. The table finding, word
grouping and arrow detection of :mod:`extractors.readers.pdf` then run on them unchanged.

pdfium's text page is a reading-order layer, not a list of drawn glyphs. What it changes,
and what this loader does about it:

* text objects whose glyphs have no ink (a space drawn on its own) are dropped, and a space
  that follows another space is collapsed: both come back as space characters, found from
  the pen positions (a gap in a text object that is a whole number of space advances);
* characters are in reading order: they are put back in content-stream order (object order);
* multi-character mappings (ligatures) are split in several characters at the same place:
  they are joined again;
* glyphs without a Unicode mapping come back as raw codes (pdfium's mapping-error flag): such a
  document is read by pdfplumber, whose ``(cid:N)`` count makes the "OCR needed" error.

Anything the loader cannot reproduce exactly — rotated pages, vertical or rotated text,
scaled or mirrored text matrices, Type3 fonts, marked-content ``ActualText``, glyphs without a
Unicode mapping, a gap in a text object that is not whole spaces (a glyph pdfium dropped), an
inkless text object in a CID font that is not embedded (the substitute font may lack the
glyph: a character, not a space) — raises :class:`Unsupported`; the
reader then reads that document with pdfplumber. pdfium is not thread-safe: every call into
it holds :data:`PDFIUM_LOCK`.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field
from typing import Any

import pypdfium2.raw as R

#: pdfium keeps global state: one caller at a time in this process.
PDFIUM_LOCK = threading.RLock()

_SPACE_TOLERANCE = 0.12  # a gap is "k spaces" when within 12 % of a space advance of k of them
_KERN_TOLERANCE = 0.3  # gaps below 30 % of a space advance are kerning (TJ adjustments)


class Unsupported(Exception):
    """The page holds something this loader does not reproduce exactly (the reason)."""


@dataclass
class PagePrimitives:
    """One page as pdfplumber dicts: ``chars``, ``lines``, ``rects``, ``curves``."""

    number: int
    width: float
    height: float
    chars: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    rects: list[dict[str, Any]] = field(default_factory=list)
    curves: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PageGeometry:
    """What pdfplumber knows of a page before reading it (from the page dictionary)."""

    number: int
    height: float
    width: float
    mediabox: tuple[float, float, float, float]  # pdfplumber's (top-left origin)
    raw_mediabox: tuple[float, float, float, float]  # pdfminer's (PDF user space)
    rotation: int
    initial_doctop: float
    descents: dict[str, float]  # font base name → descent (fraction of the font size)
    form_descents: Any = None  # () → the same with the fonts of the page's forms
    ligature_width: Any = None  # (base font, text) → width of the one glyph mapped to text
    substituted: set[str] = field(default_factory=set)  # CID fonts not embedded (base names)
    vertical: set[str] = field(default_factory=set)  # fonts of vertical writing (base names)


class _Float32Decimals(dict[float, float]):
    """float32 value → the shortest decimal that rounds to it (what the file wrote), filled
    on first use: a hit is one dict lookup in C."""

    def __missing__(self, value: float) -> float:
        out = float(f"{ctypes.c_float(value).value:.7g}")
        # %.7g may need one more digit to round-trip a float32 exactly
        if ctypes.c_float(out).value != ctypes.c_float(value).value:
            out = float(f"{ctypes.c_float(value).value:.9g}")
        if len(self) > 200_000:
            self.clear()
        self[value] = out
        return out


_F32 = _Float32Decimals()
_f32 = _F32.__getitem__  # f32 without a Python call, for the loops over glyphs and path points


def f32(value: float) -> float:
    """The shortest decimal that rounds to pdfium's float32 ``value`` (what the file wrote)."""
    return _F32[value]


def _addr(ptr: Any) -> int:
    return ctypes.cast(ptr, ctypes.c_void_p).value or 0


def _proto(name: str, restype: Any, *argtypes: Any) -> Any:
    """pdfium function ``name`` taking and returning handles as plain ints (no pointer objects
    to build, cast or hash in the per-glyph loop)."""
    return ctypes.CFUNCTYPE(restype, *argtypes)(ctypes.cast(getattr(R, name), ctypes.c_void_p).value)


_VP, _FP = ctypes.c_void_p, ctypes.POINTER(ctypes.c_float)
_TEXT_OBJECT_ADDR = _proto("FPDFText_GetTextObject", _VP, _VP, ctypes.c_int)
_GET_OBJECT = _proto("FPDFPage_GetObject", _VP, _VP, ctypes.c_int)
_FORM_GET_OBJECT = _proto("FPDFFormObj_GetObject", _VP, _VP, ctypes.c_ulong)
_OBJ_TYPE = _proto("FPDFPageObj_GetType", ctypes.c_int, _VP)
_OBJ_MATRIX = _proto("FPDFPageObj_GetMatrix", ctypes.c_int, _VP, _VP)
_OBJ_BOUNDS = _proto("FPDFPageObj_GetBounds", ctypes.c_int, _VP, _FP, _FP, _FP, _FP)
_OBJ_MARKS = _proto("FPDFPageObj_CountMarks", ctypes.c_int, _VP)
_TEXT_FONT = _proto("FPDFTextObj_GetFont", _VP, _VP)
_TEXT_FONT_SIZE = _proto("FPDFTextObj_GetFontSize", ctypes.c_int, _VP, _VP)
_FONT_NAME = _proto("FPDFFont_GetBaseFontName", ctypes.c_ulong, _VP, ctypes.c_char_p, ctypes.c_ulong)
_GLYPH_WIDTH = _proto("FPDFFont_GetGlyphWidth", ctypes.c_int, _VP, ctypes.c_uint, ctypes.c_float, _VP)
_FORM_COUNT = _proto("FPDFFormObj_CountObjects", ctypes.c_int, _VP)
_PAGE_COUNT = _proto("FPDFPage_CountObjects", ctypes.c_int, _VP)


_MATRIX = (ctypes.c_float * 6)()  # an FS_MATRIX: a, b, c, d, e, f
_MATRIX_AT = ctypes.addressof(_MATRIX)


def _matrix(obj: int) -> tuple[float, float, float, float, float, float]:
    if not _OBJ_MATRIX(obj, _MATRIX_AT):
        return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    a, b, c, d, e, f = _MATRIX
    return (_f32(a), _f32(b), _f32(c), _f32(d), _f32(e), _f32(f))


def _mult(m1: tuple[float, ...], m0: tuple[float, ...]) -> tuple[float, float, float, float, float, float]:
    """``m1`` then ``m0`` (pdfminer's mult_matrix order)."""
    (a1, b1, c1, d1, e1, f1), (a0, b0, c0, d0, e0, f0) = m1, m0
    return (
        a0 * a1 + c0 * b1,
        b0 * a1 + d0 * b1,
        a0 * c1 + c0 * d1,
        b0 * c1 + d0 * d1,
        a0 * e1 + c0 * f1 + e0,
        b0 * e1 + d0 * f1 + f0,
    )


@dataclass
class _Objects:
    order: dict[int, int] = field(default_factory=dict)  # text object address → content order
    texts: list[tuple[Any, tuple[float, ...]]] = field(default_factory=list)  # (object, form matrix)
    paths: list[tuple[int, tuple[float, ...] | None]] = field(default_factory=list)


def _walk(container: int, count: Any, get: Any, form: tuple[float, ...] | None, out: _Objects) -> None:
    for i in range(count(container)):
        obj = get(container, i)
        kind = _OBJ_TYPE(obj)
        if kind == R.FPDF_PAGEOBJ_TEXT:
            out.order[obj] = len(out.order)
            out.texts.append((obj, form))
            if _OBJ_MARKS(obj):
                _check_marks(ctypes.cast(obj, R.FPDF_PAGEOBJECT))
        elif kind == R.FPDF_PAGEOBJ_PATH:
            out.paths.append((obj, form))
        elif kind == R.FPDF_PAGEOBJ_FORM:
            inner = _matrix(obj) if form is None else _mult(_matrix(obj), form)
            _walk(obj, _FORM_COUNT, _FORM_GET_OBJECT, inner, out)


def _check_marks(obj: Any) -> None:
    """Marked content with ``ActualText`` makes pdfium replace the glyphs: not reproduced."""
    buf = (ctypes.c_ushort * 32)()
    out_len = ctypes.c_ulong()
    for k in range(R.FPDFPageObj_CountMarks(obj)):
        mark = R.FPDFPageObj_GetMark(obj, k)
        for j in range(R.FPDFPageObjMark_CountParams(mark)):
            R.FPDFPageObjMark_GetParamKey(mark, j, buf, ctypes.sizeof(buf), out_len)
            key = "".join(chr(c) for c in buf[: max(out_len.value // 2 - 1, 0)])
            if key == "ActualText":
                raise Unsupported("marked content with ActualText")


def load_page(doc: Any, index: int, geo: PageGeometry, cache: dict[Any, Any] | None = None) -> PagePrimitives:
    """Read page ``index`` of an open pdfium document into pdfplumber-style primitives.
    ``cache`` keeps per-glyph facts across the pages of one document (fonts live as long)."""
    if geo.rotation:
        raise Unsupported(f"page {geo.number} is rotated ({geo.rotation}°)")
    with PDFIUM_LOCK:
        page = R.FPDF_LoadPage(doc, index)
        if not page:
            raise Unsupported(f"pdfium cannot load page {geo.number}")
        try:
            objects = _Objects()
            _walk(_addr(page), _PAGE_COUNT, _GET_OBJECT, None, objects)
            prims = PagePrimitives(geo.number, geo.width, geo.height)
            _read_paths(objects, geo, prims)
            textpage = R.FPDFText_LoadPage(page)
            try:
                prims.chars = _read_chars(textpage, objects, geo, {} if cache is None else cache)
            finally:
                R.FPDFText_ClosePage(textpage)
        finally:
            R.FPDF_ClosePage(page)
    return prims


# --- paths --------------------------------------------------------------------------------------


_PATH_COUNT = _proto("FPDFPath_CountSegments", ctypes.c_int, _VP)
_PATH_SEGMENT = _proto("FPDFPath_GetPathSegment", _VP, _VP, ctypes.c_int)
_SEGMENT_TYPE = _proto("FPDFPathSegment_GetType", ctypes.c_int, _VP)
_SEGMENT_POINT = _proto("FPDFPathSegment_GetPoint", ctypes.c_int, _VP, _VP, _VP)
_SEGMENT_CLOSE = _proto("FPDFPathSegment_GetClose", ctypes.c_int, _VP)
_PATH_DRAW_MODE = _proto("FPDFPath_GetDrawMode", ctypes.c_int, _VP, _VP, _VP)
_STROKE_WIDTH = _proto("FPDFPageObj_GetStrokeWidth", ctypes.c_int, _VP, _VP)
_MOVETO, _LINETO, _BEZIERTO = R.FPDF_SEGMENT_MOVETO, R.FPDF_SEGMENT_LINETO, R.FPDF_SEGMENT_BEZIERTO
_POINT = (ctypes.c_float * 2)()
_POINT_X, _POINT_Y = ctypes.addressof(_POINT), ctypes.addressof(_POINT) + ctypes.sizeof(ctypes.c_float)


def _subpaths(obj: int) -> list[list[tuple[str, tuple[float, float]]]]:
    """The path's sub-paths as pdfminer sees them: (operator, end point) in path space."""
    out: list[list[tuple[str, tuple[float, float]]]] = []
    cur: list[tuple[str, tuple[float, float]]] = []
    bezier = 0
    for k in range(_PATH_COUNT(obj)):
        seg = _PATH_SEGMENT(obj, k)
        kind = _SEGMENT_TYPE(seg)
        _SEGMENT_POINT(seg, _POINT_X, _POINT_Y)
        pt = (_f32(_POINT[0]), _f32(_POINT[1]))
        if kind == _MOVETO:
            cur = [("m", pt)]
            out.append(cur)
            bezier = 0
        elif kind == _BEZIERTO:
            bezier += 1
            if bezier % 3:
                continue
            cur.append(("c", pt))
        elif kind == _LINETO:
            cur.append(("l", pt))
        else:
            raise Unsupported("unknown path segment")
        if _SEGMENT_CLOSE(seg) and cur:
            # pdfium closes with a line back to the start, or flags a last point on the start
            if pt == cur[0][1] and cur[-1][0] == "l" and len(cur) > 1:
                cur[-1] = ("h", pt)
            else:
                cur.append(("h", cur[0][1]))
    return out


def _read_paths(objects: _Objects, geo: PageGeometry, prims: PagePrimitives) -> None:
    modes = (ctypes.c_int * 2)()
    fill_at, stroke_at = ctypes.addressof(modes), ctypes.addressof(modes) + ctypes.sizeof(ctypes.c_int)
    width = ctypes.c_float()
    width_at = ctypes.addressof(width)
    x0, y0 = geo.raw_mediabox[:2]
    for obj, form in objects.paths:
        _PATH_DRAW_MODE(obj, fill_at, stroke_at)
        fillmode, stroke = modes[0], modes[1]
        if not fillmode and not stroke:
            continue
        a, b, c, d, e, f = _matrix(obj) if form is None else _mult(_matrix(obj), form)
        lw = _f32(width.value) if _STROKE_WIDTH(obj, width_at) else 0.0
        for sub in _subpaths(obj):
            shape = "".join(op for op, _ in sub)
            pts = [(a * px + c * py + e - x0, b * px + d * py + f - y0) for _, (px, py) in sub]
            _classify(shape, pts, lw, bool(stroke), fillmode != 0, geo, prims)


def _classify(
    shape: str,
    pts: list[tuple[float, float]],
    lw: float,
    stroke: bool,
    fill: bool,
    geo: PageGeometry,
    prims: PagePrimitives,
) -> None:
    """pdfminer's ``paint_path`` for one sub-path: a line, a rect or a curve."""
    if len(shape) > 3 and shape[-2:] == "lh" and pts[-2] == pts[0]:
        shape = shape[:-2] + "h"
        pts = pts[:-2] + pts[-1:]
    if shape in ("mlh", "ml"):
        prims.lines.append(_shape_dict("line", pts[:2], lw, stroke, fill, geo))
        return
    if shape in ("mlllh", "mllll"):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = pts
        closed = pts[0] == pts[4]
        square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (
            y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0
        )
        if closed and square:
            prims.rects.append(_shape_dict("rect", [pts[0], pts[2]], lw, stroke, fill, geo))
            return
    prims.curves.append(_shape_dict("curve", pts, lw, stroke, fill, geo))


def _shape_dict(
    kind: str, pts: list[tuple[float, float]], lw: float, stroke: bool, fill: bool, geo: PageGeometry
) -> dict[str, Any]:
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    mb_x0, mb_top = geo.mediabox[:2]
    top = (geo.height - y1) + mb_top
    out = {
        "object_type": kind,
        "page_number": geo.number,
        "x0": x0 + mb_x0,
        "y0": y0,
        "x1": x1 + mb_x0,
        "y1": y1,
        "width": x1 - x0,
        "height": y1 - y0,
        "top": top,
        "bottom": (geo.height - y0) + mb_top,
        "doctop": geo.initial_doctop + top,
        "linewidth": lw,
        "stroke": stroke,
        "fill": fill,
    }
    if kind != "rect":
        out["pts"] = [(mb_x0 + x, mb_top + geo.height - y) for x, y in pts]
    return out


# --- characters ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Style:
    """A font at a size: what the glyphs of its text objects share."""

    handle: int  # pdfium's font handle
    size: float
    font: str  # pdfplumber's fontname (one per font handle)
    descent: float
    space: float  # advance of the font's space glyph (0: no space glyph)
    advances: dict[int, float]  # unicode → advance (cached for the document)
    unmapped: dict[int, bool]  # unicode → no Unicode mapping (cached for the document)


class _TextObject:
    """What a text object tells about its glyphs: pen start, font, size, space advance."""

    __slots__ = ("obj", "order", "x", "y", "size", "handle", "space", "advances", "unmapped")
    __slots__ += ("template", "rx0", "mb_x0", "chars", "checked_y")

    def __init__(
        self,
        obj: int,
        order: int,
        x: float,
        y: float,
        style: _Style,
        template: dict[str, Any],
        geo: PageGeometry,
    ) -> None:
        self.obj, self.order, self.x, self.y = obj, order, x, y
        self.size, self.handle, self.space = style.size, style.handle, style.space
        self.advances, self.unmapped = style.advances, style.unmapped
        self.template = template  # what its glyphs' char dicts share
        self.rx0 = geo.raw_mediabox[0]  # the mediabox's left edge in PDF user space (pdfminer's)
        self.mb_x0 = geo.mediabox[0]  # the same in pdfplumber's space
        self.chars: list[dict[str, Any]] = []
        self.checked_y: float | None = None  # a baseline from pdfium found equal to ``y``

    @property
    def right(self) -> float:
        """The right end of its bounds (inkless glyphs count by their start)."""
        _OBJ_BOUNDS(self.obj, *_BOUNDS)
        return _BOUNDS[2].value


class _Fonts:
    """Base font name and glyph advances per pdfium font handle (cached)."""

    def __init__(
        self, descents: dict[str, float], more: Any = None, vertical: set[str] | None = None
    ) -> None:
        self.descents = dict(descents)
        self.more = more
        self.vertical = vertical or set()
        self.names: dict[int, str] = {}
        self.widths: dict[tuple[int, int, float], float] = {}
        self.styles: dict[tuple[int, float], _Style] = {}
        self.templates: dict[tuple[int, float, float], dict[str, Any]] = {}
        self._buf = ctypes.create_string_buffer(256)

    def name(self, font: int) -> str:
        name = self.names.get(font)
        if name is None:
            n = _FONT_NAME(font, self._buf, 256)
            base = self._buf.raw[: max(n - 1, 0)].decode("latin-1")
            if base not in self.descents and self.more is not None:
                self.descents.update(self.more())
                self.more = None
            if base not in self.descents and base in self.vertical:
                raise Unsupported(f"vertical text (font {base!r})")
            if base not in self.descents:
                raise Unsupported(f"font {base!r} not found in the page resources (or not supported)")
            # pdfium drops the subset prefix: one name per font handle, as pdfminer has one per subset
            name = self.names[font] = f"{base}#{len(self.names)}"
        return name

    def descent(self, name: str) -> float:
        return self.descents[name.rsplit("#", 1)[0]]

    def style(self, font: int, size: float, cache: dict[Any, Any]) -> _Style:
        """Font ``font`` at ``size``; ``cache`` keeps advances and mapping errors per document."""
        style = self.styles.get((font, size))
        if style is None:
            name = self.name(font)
            advances = cache.setdefault(("advances", font, size), {})
            unmapped = cache.setdefault(("unmapped", font), {})
            style = _Style(
                font, size, name, self.descent(name), self.width(font, 0x20, size), advances, unmapped
            )
            self.styles[(font, size)] = style
        return style

    def width(self, font: int, unicode: int, size: float) -> float:
        key = (font, unicode, size)
        w = self.widths.get(key)
        if w is None:
            w = _glyph_width(font, unicode, size)
            self.widths[key] = w
        return w


_WIDTH = ctypes.c_float()
_WIDTH_AT = ctypes.addressof(_WIDTH)


def _glyph_width(font: int, unicode: int, size: float) -> float:
    """pdfium's advance of ``unicode`` in ``font`` at ``size`` (0 when it has no glyph for it)."""
    return _WIDTH.value if _GLYPH_WIDTH(font, unicode, size, _WIDTH_AT) else 0.0


_SIZE = ctypes.c_float()
_SIZE_AT = ctypes.addressof(_SIZE)
_BOUNDS = tuple(ctypes.c_float() for _ in range(4))


def _upright_position(obj: int, form: tuple[float, ...] | None) -> tuple[float, float]:
    """The text object's pen start (its matrix's translation); Unsupported unless its matrix
    is a plain translation. Without a form, pdfium's float32 matrix is checked as it is (1.0
    and 0.0 are exact in float32: the same test as on :func:`f32` values, fewer calls)."""
    if form is None:
        if not _OBJ_MATRIX(obj, _MATRIX_AT):
            return 0.0, 0.0
        a, b, c, d, e, f = _MATRIX
    else:
        a, b, c, d, e, f = _mult(_matrix(obj), form)
    if b or c or a != 1.0 or d != 1.0:
        raise Unsupported("scaled, rotated or vertical text")
    return (_f32(e), _f32(f)) if form is None else (e, f)


def _text_object(
    obj: int,
    form: tuple[float, ...] | None,
    order: int,
    fonts: _Fonts,
    cache: dict[Any, Any],
    geo: PageGeometry,
) -> _TextObject:
    e, f = _upright_position(obj, form)
    _TEXT_FONT_SIZE(obj, _SIZE_AT)
    style = fonts.style(_TEXT_FONT(obj), _f32(_SIZE.value), cache)
    template = fonts.templates.get((style.handle, style.size, f))
    if template is None:
        template = fonts.templates[(style.handle, style.size, f)] = _char_template(style, f, geo)
    return _TextObject(obj, order, e, f, style, template, geo)


def _char_template(style: _Style, y: float, geo: PageGeometry) -> dict[str, Any]:
    """pdfminer's LTChar box for an upright glyph on baseline ``y``, as a pdfplumber char
    dict: the fields all glyphs of a font, size and baseline share; ``text``, ``x0``, ``x1``
    and ``width`` are each glyph's (:func:`_char`)."""
    f = y - geo.raw_mediabox[1]
    descent = style.descent * style.size
    y0 = (descent + 0) + f  # pdfminer: box (0, descent + rise, adv, descent + rise + size)
    y1 = (descent + 0 + style.size) + f
    mb_top = geo.mediabox[1]
    top = (geo.height - y1) + mb_top
    return {
        "text": "",
        "fontname": style.font,
        "size": y1 - y0,
        "upright": True,
        "x0": 0.0,
        "x1": 0.0,
        "y0": y0,
        "y1": y1,
        "top": top,
        "bottom": (geo.height - y0) + mb_top,
        "doctop": geo.initial_doctop + top,
        "width": 0.0,
        "height": y1 - y0,
        "object_type": "char",
        "page_number": geo.number,
    }


def _char(text: str, x: float, adv: float, t: _TextObject) -> dict[str, Any]:
    """The char dict of a glyph of ``t`` whose pen is at ``x`` (PDF user space) and that
    advances by ``adv``."""
    c = t.template.copy()
    x0 = x - t.rx0
    c["text"], c["x0"], c["x1"], c["width"] = text, x0 + t.mb_x0, x0 + adv + t.mb_x0, adv
    return c


_GENERATED_CANDIDATES = (0x20, 0x0D, 0x0A)  # what pdfium's text page inserts on its own
_TEXT_COUNT = _proto("FPDFText_CountChars", ctypes.c_int, _VP)
_TEXT_UNICODE = _proto("FPDFText_GetUnicode", ctypes.c_uint, _VP, ctypes.c_int)
_TEXT_GENERATED = _proto("FPDFText_IsGenerated", ctypes.c_int, _VP, ctypes.c_int)
_TEXT_ORIGIN = _proto("FPDFText_GetCharOrigin", ctypes.c_int, _VP, ctypes.c_int, _VP, _VP)


def _read_chars(
    textpage: Any, objects: _Objects, geo: PageGeometry, cache: dict[Any, Any]
) -> list[dict[str, Any]]:
    """The page's glyphs in content order, with what pdfium's text page dropped put back."""
    fonts = _Fonts(geo.descents, geo.form_descents, geo.vertical)
    by_addr: dict[int, _TextObject] = {}
    handles = dict(objects.texts)
    tp, xy = _addr(textpage), (ctypes.c_double * 2)()
    xa, ya = ctypes.addressof(xy), ctypes.addressof(xy) + ctypes.sizeof(ctypes.c_double)
    last_key, last_x, last_y = 0, 0.0, 0.0  # the previous glyph: object, x, y
    last_u, fresh = 0, False  # its character, and whether its advance was found for it
    ligatures: list[tuple[_TextObject, dict[str, Any], float]] = []
    get_unicode, origin, text_object = _TEXT_UNICODE, _TEXT_ORIGIN, _TEXT_OBJECT_ADDR
    for i in range(_TEXT_COUNT(tp)):
        u = get_unicode(tp, i)
        if u in _GENERATED_CANDIDATES and _TEXT_GENERATED(tp, i):
            last_key = 0
            continue
        key = text_object(tp, i)
        t = by_addr.get(key)
        if t is None:
            t = by_addr[key] = _text_object(key, handles[key], objects.order[key], fonts, cache, geo)
        origin(tp, i, xa, ya)
        x, y = xy[0], xy[1]
        # the first glyph of an object sits where the file put it (exact after f32); later ones
        # are pdfium's float sums, as close to pdfminer's double sums as f32 would make them.
        # pdfium's y is a float32: equal y ⇔ equal f32(y)
        ox = x if t.chars else _f32(x)
        if key == last_key and ox == last_x and y == last_y and _same_box(tp, i - 1, i):
            c = t.chars[-1]  # one glyph, several characters (ligature, "fi" mapping)
            if len(c["text"]) == 1:
                ligatures.append((t, c, ox))
                if fresh:  # the advance found for the glyph is not its first character's
                    del t.advances[last_u]
            c["text"] += chr(u)
            continue
        last_key, last_x, last_y = key, ox, y
        if y != t.checked_y:
            if _f32(y) != t.y:
                raise Unsupported("glyphs off the baseline of their text object")
            t.checked_y = y
        adv = t.advances.get(u)
        fresh, last_u = adv is None, u
        if adv is None:
            adv = t.advances[u] = _first_advance(tp, i, x, u, t)
        c = t.template.copy()  # _char, inlined: the loop runs once per glyph
        x0 = ox - t.rx0
        c["text"], c["x0"], c["x1"], c["width"] = (
            "-" if u == 2 else chr(u),
            x0 + t.mb_x0,
            x0 + adv + t.mb_x0,
            adv,
        )
        t.chars.append(c)
    for t, c, ox in ligatures:
        _ligature_advance(c, ox, t, geo)
    return _with_dropped_spaces(by_addr, handles, objects, fonts, cache, geo)


def _first_advance(tp: int, i: int, x: float, unicode: int, t: _TextObject) -> float:
    """The advance of a character met for the first time in its font and size; Unsupported
    when the font does not map it to Unicode."""
    bad = t.unmapped.get(unicode)
    if bad is None:
        bad = t.unmapped[unicode] = bool(_TEXT_MAP_ERROR(tp, i)) or unicode == 0
    if bad:  # pdfminer writes (cid:N) for it, pdfium decodes codes its own way: same error
        raise Unsupported("glyphs without a Unicode mapping")
    return _advance(tp, i, x, unicode, t)


def _with_dropped_spaces(
    by_addr: dict[int, _TextObject],
    handles: dict[int, Any],
    objects: _Objects,
    fonts: _Fonts,
    cache: dict[Any, Any],
    geo: PageGeometry,
) -> list[dict[str, Any]]:
    """All text objects' glyphs in content order, with the spaces pdfium dropped: text objects
    it left out (no ink: a space drawn alone) and spaces it collapsed inside an object."""
    for key, form in handles.items():
        if key not in by_addr:  # a text object pdfium dropped: no ink (a space drawn alone)
            t = _text_object(key, form, objects.order[key], fonts, cache, geo)
            if t.right - t.x >= 0.01 or t.space <= 0:
                raise Unsupported("a text object pdfium left out is not a space")
            if t.template["fontname"].rsplit("#", 1)[0] in geo.substituted:
                # its glyph may be a character the substitute font has no ink for, not a space
                raise Unsupported("a text object without ink in a CID font that is not embedded")
            t.chars.append(_char(" ", t.x, t.space, t))
            by_addr[key] = t
    chars: list[dict[str, Any]] = []
    for t in sorted(by_addr.values(), key=lambda t: t.order):
        chars.extend(_fill_gaps(t))
    return chars


_TEXT_MAP_ERROR = _proto("FPDFText_HasUnicodeMapError", ctypes.c_int, _VP, ctypes.c_int)
_TEXT_LOOSE_BOX = _proto("FPDFText_GetLooseCharBox", ctypes.c_int, _VP, ctypes.c_int, _VP)
_BOX, _BOX2 = (ctypes.c_float * 4)(), (ctypes.c_float * 4)()  # FS_RECTF: left, top, right, bottom
_BOX_AT, _BOX2_AT = ctypes.addressof(_BOX), ctypes.addressof(_BOX2)


def _same_box(tp: int, i: int, j: int) -> bool:
    _TEXT_LOOSE_BOX(tp, i, _BOX_AT)
    _TEXT_LOOSE_BOX(tp, j, _BOX2_AT)
    return _BOX[:] == _BOX2[:]


def _ligature_advance(c: dict[str, Any], ox: float, t: _TextObject, geo: PageGeometry) -> None:
    """Give ``c``, a glyph that maps to several characters (a ligature), its own advance as
    pdfminer computes it (the font's width for the glyph's code), not its first character's;
    Unsupported when the font does not tell it."""
    width = geo.ligature_width(c["fontname"].rsplit("#", 1)[0], c["text"]) if geo.ligature_width else None
    if width is None:
        raise Unsupported(f"a glyph mapped to {c['text']!r} whose width the font does not tell")
    adv = width * t.size
    x0 = ox - t.rx0
    c["x1"], c["width"] = x0 + adv + t.mb_x0, adv


def _advance(tp: int, i: int, x: float, unicode: int, t: _TextObject) -> float:
    """The glyph's advance (pdfminer's box width): the font's width for the character; pdfium's
    loose box is as wide or wider (ink past the advance) and serves when the font cannot map
    the character back to its code."""
    _TEXT_LOOSE_BOX(tp, i, _BOX_AT)
    left, _, right, _ = _BOX
    width = _glyph_width(t.handle, unicode, t.size)
    if abs(left - x) < 1e-3 and right > left:
        loose = right - left
        return width if 0 < width <= loose + 1e-4 else _f32(loose)
    return width


def _fill_gaps(t: _TextObject) -> list[dict[str, Any]]:
    """Put back the spaces pdfium collapsed: a gap of whole space advances in the pen's path."""
    out: list[dict[str, Any]] = []
    pen = t.x - t.rx0 + t.mb_x0
    kerning = _KERN_TOLERANCE * t.space if t.space > 0 else float("inf")
    glyph = 0.3 * t.size
    for c in t.chars:
        gap = c["x0"] - pen
        if not (gap < kerning and gap <= glyph):  # else no space, nothing left out
            pen = _spaces_until(c["x0"], pen, t, out)
        out.append(c)
        pen = c["x1"]
    if out and out[-1]["text"] == " " and t.space > 0:
        end = t.right - t.rx0 + t.mb_x0  # start of the last inkless glyph
        if end > pen - _KERN_TOLERANCE * t.space:
            _spaces_until(end + t.space, pen, t, out)
    return out


def _spaces_until(x0: float, pen: float, t: _TextObject, out: list[dict[str, Any]]) -> float:
    gap = x0 - pen
    if t.space <= 0 or gap < _KERN_TOLERANCE * t.space:
        if gap > 0.3 * t.size:
            raise Unsupported("a glyph left out by pdfium (gap in a text object)")
        return pen
    k = round(gap / t.space)
    if k < 1 or abs(gap - k * t.space) > _SPACE_TOLERANCE * t.space:
        raise Unsupported("a glyph left out by pdfium (gap in a text object)")
    for _ in range(k):
        out.append(_char(" ", pen - t.mb_x0 + t.rx0, t.space, t))
        pen += t.space
    return pen


# --- documents ----------------------------------------------------------------------------------


class FontDescents:
    """Base font name → descent (fraction of the size) as pdfminer computes it, per page; font
    dictionaries are read once per document. Fonts of the forms a page draws are read only
    when a glyph needs one. Type3 and vertical fonts are left out (a glyph in one of them
    makes the page unsupported), so are subsets of one font with different descents."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self._fonts: dict[Any, tuple[str, float] | None] = {}
        self._specs: dict[str, list[Any]] = {}  # base font name → its font dictionaries
        self.substituted: set[str] = set()  # CID fonts not embedded: pdfium substitutes glyphs
        self.vertical: set[str] = set()  # fonts of vertical writing (-V encodings)

    def page(self, page_obj: Any, forms: bool = False) -> dict[str, float]:
        from pdfminer.pdftypes import resolve1

        out: dict[str, float] = {}
        ambiguous: set[str] = set()
        stack, seen = [page_obj.resources], set()
        while stack:
            res = resolve1(stack.pop()) or {}
            for spec_ref in (resolve1(res.get("Font")) or {}).values():
                key = getattr(spec_ref, "objid", None) or id(spec_ref)
                if key not in self._fonts:
                    self._fonts[key] = self._descent(spec_ref)
                    if self._fonts[key] is not None:
                        self._specs.setdefault(self._fonts[key][0], []).append(spec_ref)
                if self._fonts[key] is None:
                    continue
                base, descent = self._fonts[key]
                if out.get(base, descent) != descent:
                    ambiguous.add(base)
                out[base] = descent
            for xobj_ref in (resolve1(res.get("XObject")) or {}).values() if forms else ():
                key = getattr(xobj_ref, "objid", None) or id(xobj_ref)
                xobj = resolve1(xobj_ref)
                if key not in seen and _lit(getattr(xobj, "attrs", {}).get("Subtype")) == "Form":
                    seen.add(key)
                    stack.append(xobj.attrs.get("Resources"))
        return {k: v for k, v in out.items() if k not in ambiguous}

    def ligature_width(self, base: str, text: str) -> float | None:
        """The width (per unit of font size, pdfminer's ``char_width``) of the glyph of font
        ``base`` that its ToUnicode map turns into ``text`` (several characters: a ligature);
        None unless the codes mapped so agree on one width. pdfium gives no glyph's width by
        its code, only by a character it maps back to a code."""
        from pdfminer.pdftypes import resolve1

        widths = set()
        for spec_ref in self._specs.get(base, ()):
            font = self.pdf.rsrcmgr.get_font(getattr(spec_ref, "objid", None), resolve1(spec_ref))
            codes = getattr(getattr(font, "unicode_map", None), "cid2unichr", None) or {}
            widths |= {font.char_width(cid) for cid, mapped in codes.items() if mapped == text}
        return widths.pop() if len(widths) == 1 else None

    def _descent(self, spec_ref: Any) -> tuple[str, float] | None:
        from pdfminer.pdftypes import resolve1

        spec = resolve1(spec_ref)
        name, subtype = _lit(spec.get("BaseFont")), _lit(spec.get("Subtype"))
        if subtype == "Type3":
            return None
        if _lit(spec.get("Encoding", "")).endswith("-V"):
            self.vertical.add(_base_name(name))
            return None
        desc = resolve1(spec.get("FontDescriptor"))
        if desc is None and "DescendantFonts" in spec:
            desc = resolve1(resolve1(resolve1(spec["DescendantFonts"])[0]).get("FontDescriptor"))
        if desc is not None and "Descent" in desc:
            d = float(resolve1(desc["Descent"]))
            descent = (-d if d > 0 else d) * 0.001
        else:
            descent = self.pdf.rsrcmgr.get_font(getattr(spec_ref, "objid", None), spec).get_descent()
        base = _base_name(name)
        if subtype == "Type0" and not any(k in (desc or {}) for k in ("FontFile", "FontFile2", "FontFile3")):
            self.substituted.add(base)
        return base, descent


def _base_name(name: str) -> str:
    """A font's base name without its subset prefix (``ABCDEF+``), as pdfium gives it."""
    return name.split("+", 1)[1] if len(name) > 7 and name[6] == "+" else name


def _lit(v: Any) -> str:
    from pdfminer.pdftypes import resolve1
    from pdfminer.psparser import PSLiteral

    v = resolve1(v)
    return v.name if isinstance(v, PSLiteral) else (v.decode("latin-1") if isinstance(v, bytes) else str(v))


def geometry(fonts: FontDescents, page: Any) -> PageGeometry:
    """What pdfplumber's ``page`` (not yet parsed) knows: sizes, boxes, rotation, fonts."""
    from pdfminer.pdftypes import resolve1

    raw = tuple(float(v) for v in resolve1(page.page_obj.mediabox))
    return PageGeometry(
        number=page.page_number,
        height=page.height,
        width=page.width,
        mediabox=tuple(page.mediabox),
        raw_mediabox=(min(raw[0], raw[2]), min(raw[1], raw[3]), max(raw[0], raw[2]), max(raw[1], raw[3])),
        rotation=page.rotation,
        initial_doctop=page.initial_doctop,
        descents=fonts.page(page.page_obj),
        form_descents=lambda: fonts.page(page.page_obj, forms=True),
        ligature_width=fonts.ligature_width,
        substituted=fonts.substituted,
        vertical=fonts.vertical,
    )


class PdfiumDocument:
    """A pdfium document opened from bytes (kept alive with it); a context manager."""

    def __init__(self, data: bytes, password: str | None) -> None:
        self._data = ctypes.create_string_buffer(data, len(data))
        self._fonts: FontDescents | None = None
        self._cache: dict[Any, Any] = {}
        with PDFIUM_LOCK:
            self.raw = R.FPDF_LoadMemDocument64(self._data, len(data), (password or "").encode("utf-8"))
        if not self.raw:
            raise Unsupported(f"pdfium cannot open the document (error {R.FPDF_GetLastError()})")

    def page(self, pdf: Any, page: Any) -> PagePrimitives:
        """Primitives of pdfplumber's ``page`` (of document ``pdf``), read by pdfium."""
        if self._fonts is None or self._fonts.pdf is not pdf:
            self._fonts = FontDescents(pdf)
        return load_page(self.raw, page.page_number - 1, geometry(self._fonts, page), self._cache)

    def close(self) -> None:
        with PDFIUM_LOCK:
            if self.raw:
                R.FPDF_CloseDocument(self.raw)
                self.raw = None

    def __enter__(self) -> PdfiumDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
