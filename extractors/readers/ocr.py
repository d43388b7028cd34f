"""Scanned PDF pages → grid, by OCR (Tesseract ``jpn`` through tesserocr, OpenCV for the rulings).

Used for PDFs without a usable text layer (``read_document`` hands them over), for documents
with ``ocr: true`` in ``sources.yaml`` and for ``--ocr always``. Each page is

1. rendered with pypdfium2 at 300 dpi in grey and binarized (Otsu);
2. deskewed: the median slope of the long horizontal rulings (0.35° of skew halves the table
   structure found on a dense A3 page);
3. searched for rulings by morphology (camelot's lattice ``find_lines``); schedule arrows — a
   horizontal shaft ending in a filled triangle — become :class:`~core.models.Shape` objects
   and are erased, so neither their shaft splits a cell nor their head leaks into its text;
4. cut into cells: the row and column lines of each ruled region give elementary cells, and
   neighbours whose shared edge has no line pixels are one merged cell;
5. read: each cell is split into text lines by its ink profile and each line is recognised
   alone (page segmentation mode 7: one line), numeric-looking cells are read again with a
   digits-only whitelist; ink outside the tables is read as text lines.

The grid is the one the PDF readers give (rows of cells with page, row, column, text and box in
PDF points, top-left origin; ``engine="ocr"``), so the parsers are unchanged; every cell
carries its Tesseract confidence (0–100, the lowest of its lines). :func:`correct_cell`
holds the domain-aware corrections (numbers, codes, grades, labels snapped to the vocabulary).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract is 2–3× slower on 2 cores without it

import numpy as np  # noqa: E402

from core.models import Cell, ExtractionError, Grid, Shape  # noqa: E402

OCR_VERSION = "2"  # bump when the image processing changes what a page reads as
DPI = 300
SCALE = DPI / 72  # pixels per PDF point
LOW_CONFIDENCE = 60.0  # cells read with less are reported (documents warnings)
MARGIN = 10  # white pixels around each line given to Tesseract
EDGE_REACH = 8  # pixels either side of a cell's edge where its ruling is erased
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
INSTALL_HINT = (
    "install Tesseract to read it: bash scripts/install-ocr.sh "
    "(apt-get install tesseract-ocr tesseract-ocr-jpn; pip install tesserocr)"
)
DIGITS = "0123456789,.()%-"
_NUMERIC = re.compile(r"^[\d０-９,，.．()（）%％\-−ー一—－~〜\s]+$")
_CONFUSABLE = str.maketrans({"S": "5", "O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "B": "8", "Z": "2"})
_CJK = r"\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff01-\uff60"
# Spaces Tesseract puts between Japanese characters go; a space between a number and a word
# stays (第1 成長の後押し: the heading's number and title; the normalizer drops it later).
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+(?=[(（])|(?<=[)）])\s+(?=[{_CJK}])")


@cache
def tessdata() -> str | None:
    """The folder holding ``jpn.traineddata`` (``TESSDATA_PREFIX`` first), or None."""
    for folder in (os.environ.get("TESSDATA_PREFIX"), *TESSDATA_DIRS):
        if folder and (Path(folder) / "jpn.traineddata").is_file():
            return str(folder).rstrip("/") + "/"
    return None


def unavailable() -> str | None:
    """Why OCR cannot run here (tesserocr or the Japanese data missing), or None."""
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return "tesserocr is not installed"
    if tessdata() is None:
        return "Tesseract's Japanese data (jpn.traineddata) is not installed"
    return None


@cache
def engine_version() -> str:
    """What can change the OCR output: this reader's version, Tesseract's and the data's."""
    import tesserocr

    data = Path(tessdata() or "") / "jpn.traineddata"
    digest = hashlib.sha256(data.read_bytes()).hexdigest()[:12] if data.is_file() else "none"
    tess = tesserocr.tesseract_version().split()[1]
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return f"ocr{OCR_VERSION}-{source}/tesseract-{tess}/jpn-{digest}/dpi{DPI}"


class _Engine:
    """One Tesseract engine, loaded once per process and used by one page at a time."""

    _instance: _Engine | None = None
    _create = threading.Lock()

    def __init__(self) -> None:
        import tesserocr

        # RAW_LINE (13): one line, no layout analysis. Tesseract 5.5's SINGLE_LINE (7) returns
        # nothing for short lines (課題等, 実施) that 13 reads, and 13 is ~25 % faster.
        self.api = tesserocr.PyTessBaseAPI(path=tessdata(), lang="jpn", psm=tesserocr.PSM.RAW_LINE)
        self.api.SetVariable("user_defined_dpi", str(DPI))
        self.lock = threading.Lock()

    @classmethod
    def get(cls) -> _Engine:
        with cls._create:
            if cls._instance is None:
                cls._instance = _Engine()
            return cls._instance

    def set_page(self, grey: np.ndarray) -> None:
        from PIL import Image

        self.page = grey
        self.api.SetImage(Image.fromarray(grey))
        self.on_page = True

    def read(
        self, box: tuple[int, int, int, int], digits: bool = False, alone: bool = False
    ) -> tuple[str, float]:
        """Text and confidence of one line in ``box`` (x0, y0, x1, y1 pixels) of the page;
        ``alone``: the line cut out and recognised on a white margin of :data:`MARGIN` pixels
        (a lone ９ read on the page is ``e)`` at 61, alone 9 at 96)."""
        from PIL import Image

        x0, y0, x1, y1 = box
        if alone:
            crop = self.page[max(0, y0) : max(y0 + 1, y1), max(0, x0) : max(x0 + 1, x1)]
            canvas = np.full((crop.shape[0] + 2 * MARGIN, crop.shape[1] + 2 * MARGIN), 255, np.uint8)
            canvas[MARGIN : MARGIN + crop.shape[0], MARGIN : MARGIN + crop.shape[1]] = crop
            self.api.SetImage(Image.fromarray(canvas))
            self.on_page = False
        else:
            if not self.on_page:
                self.set_page(self.page)
            self.api.SetRectangle(x0, y0, max(1, x1 - x0), max(1, y1 - y0))
        self.api.SetVariable("tessedit_char_whitelist", DIGITS if digits else "")
        text = self.api.GetUTF8Text().strip()
        conf = float(self.api.MeanTextConf()) if text else 0.0
        return text, conf


# --- the page image -------------------------------------------------------------------------


def render(pdf: Any, index: int) -> np.ndarray:
    """Page ``index`` (0-based) of a pypdfium2 document as a grey image at :data:`DPI`."""
    from .pdfium import PDFIUM_LOCK

    with PDFIUM_LOCK:
        page = pdf[index]
        try:
            bitmap = page.render(scale=SCALE, grayscale=True)
            image = bitmap.to_numpy()
        finally:
            page.close()
    image = np.ascontiguousarray(image)
    return image[:, :, 0] if image.ndim == 3 else image


def binarize(grey: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0 (Otsu's threshold; a near-white page stays white)."""
    import cv2

    level, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if level > 215:  # a blank page: Otsu splits the noise
        ink = ((grey < 160) * 255).astype(np.uint8)
    return ink


def lines_mask(ink: np.ndarray, direction: str, length_pt: float) -> np.ndarray:
    """Ruling pixels in ``direction``: runs of at least ``length_pt`` points (camelot's lattice
    morphology, :func:`camelot.image_processing.find_lines`)."""
    from camelot.image_processing import find_lines

    extent = ink.shape[1] if direction == "horizontal" else ink.shape[0]
    scale = max(1, int(extent / (length_pt * SCALE)))
    mask, _ = find_lines(ink, direction=direction, line_scale=scale)
    return mask


def skew_angle(ink: np.ndarray) -> float:
    """The page's skew in degrees: the median slope of its long horizontal rulings (0 when it
    has none)."""
    import cv2

    mask = lines_mask(ink, "horizontal", 25)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    slopes = []
    for k in range(1, n):
        x, y, w, h = stats[k, :4]
        if w < ink.shape[1] / 6 or h > w / 8:
            continue
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == k)
        if len(xs) > 50:
            slopes.append(np.polyfit(xs.astype(float), ys.astype(float), 1)[0])
    return float(np.degrees(np.arctan(np.median(slopes)))) if slopes else 0.0


def deskew(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The page turned straight, its white-on-dark banners turned dark-on-white
    (:func:`uninvert`): (grey, ink, the angle it was turned by)."""
    import cv2

    ink = binarize(grey)
    angle = skew_angle(ink)
    if abs(angle) >= 0.03:
        h, w = grey.shape
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        grey = cv2.warpAffine(grey, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
        ink = binarize(grey)
    else:
        angle = 0.0
    if uninvert(grey, ink):
        ink = binarize(grey)
    return grey, ink, angle


def uninvert(grey: np.ndarray, ink: np.ndarray) -> bool:
    """Turn solid dark boxes (a slide's heading banner: 第1 成長の後押し in white on dark grey)
    into dark text on white, in place; True when there was one. A box is a component of ink
    at least 20 × 8 pt that fills 80 % of its bounding box; its fill becomes white, what is
    lighter than the fill (the letters) dark, so a swatch without letters vanishes."""
    import cv2

    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    found = False
    for x, y, w, h, area in stats[1:]:
        if w < 20 * SCALE or h < 8 * SCALE or area < 0.8 * w * h:
            continue
        box = grey[y : y + h, x : x + w].astype(np.float32)
        fill = float(np.median(box))
        if fill > 160:  # light shading: the text on it is dark already
            continue
        lifted = (box - fill - 25) * (255.0 / max(1.0, 230.0 - fill))
        grey[y : y + h, x : x + w] = (255 - np.clip(lifted, 0, 255)).astype(np.uint8)
        found = True
    return found


def despeckle(ink: np.ndarray, area: int = 6) -> np.ndarray:
    """``ink`` without specks of at most ``area`` pixels (scan noise)."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] > area
    keep[0] = False
    return (keep[labels] * 255).astype(np.uint8)


# --- arrows ---------------------------------------------------------------------------------


@dataclass
class _Arrow:
    x0: int
    x1: int  # the tip
    y: int
    head: tuple[int, int, int, int]  # x0, y0, x1, y1 of the triangle


def _run_through(column: np.ndarray, y: int, limit: int) -> tuple[int, int]:
    """How far ink runs up and down from row ``y`` in ``column`` (at most ``limit`` each way)."""
    up = 0
    while up < limit and y - up - 1 >= 0 and column[y - up - 1]:
        up += 1
    down = 0
    while down < limit and y + down + 1 < len(column) and column[y + down + 1]:
        down += 1
    return up, down


def _head(body: np.ndarray, x1: int, y: int, thick: int) -> tuple[int, int, int, int] | None:
    """The filled triangle ending a shaft at (``x1``, ``y``), or None: columns whose ink runs
    through the shaft's row at least 2.2× its thickness, both ways alike, tapering to the tip."""
    limit = int(8 * SCALE)
    lo = max(0, x1 - int(12 * SCALE))
    runs = []
    for c in range(lo, min(body.shape[1], x1 + 3)):
        if not body[y, c]:
            runs.append((c, 0, 0))
            continue
        up, down = _run_through(body[:, c], y, limit)
        runs.append((c, up, down))
    tall = [(c, u, d) for c, u, d in runs if u + d + 1 >= 2.2 * thick and u < limit and d < limit]
    if len(tall) < 2 * SCALE:
        return None
    block = [tall[-1]]
    for item in reversed(tall[:-1]):
        if block[-1][0] - item[0] > 2:
            break
        block.append(item)
    block.reverse()
    heights = [u + d + 1 for _, u, d in block]
    third = max(1, len(block) // 3)
    if len(block) < 2 * SCALE or np.mean(heights[:third]) < 1.3 * np.mean(heights[-third:]):
        return None
    if any(min(u, d) < 0.5 * max(u, d) - 2 for _, u, d in block[:third]):
        return None
    half = max(max(u, d) for _, u, d in block)
    return block[0][0], y - half - 2, block[-1][0] + 3, y + half + 3


def find_arrows(ink: np.ndarray, hmask: np.ndarray, vmask: np.ndarray) -> list[_Arrow]:
    """Thin horizontal shafts (at least 30 pt long, at most 1.5 pt thick) ending in a filled
    triangle."""
    import cv2

    body = (ink > 0) & ~(vmask > 0)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hmask, connectivity=8)
    arrows = []
    for k in range(1, n):
        x, y, w, h = stats[k, :4]
        if w < 30 * SCALE or h > 3 * SCALE:
            continue
        rows = (labels[y : y + h, x : x + w] == k).sum(axis=1)
        yc = y + int(np.argmax(rows))
        thick = max(2, int((rows > 0.5 * rows.max()).sum()))
        if thick > 1.5 * SCALE:
            continue
        head = _head(body, x + w - 1, yc, thick)
        if head:
            arrows.append(_Arrow(int(x), head[2] - 3, yc, head))
    return arrows


def erase_arrows(arrows: list[_Arrow], *masks: np.ndarray, pad: int = 3) -> None:
    """Clear each arrow's shaft and head from ``masks`` (in place)."""
    for a in arrows:
        hx0, hy0, hx1, hy1 = a.head
        for m in masks:
            m[max(0, a.y - 3 * pad) : a.y + 3 * pad + 1, max(0, a.x0 - pad) : hx0 + 1] = 0
            m[max(0, hy0 - pad) : hy1 + pad, max(0, hx0 - pad) : hx1 + pad] = 0


# --- tables ---------------------------------------------------------------------------------

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels


@dataclass
class _Table:
    bbox: Box
    cells: dict[tuple[int, int], Box] = field(default_factory=dict)  # (row line, col line) → box


def _cluster(values: list[float], tolerance: float) -> list[int]:
    """Values within ``tolerance`` of their neighbour as one (their median), sorted."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tolerance:
            out[-1].append(v)
        else:
            out.append([v])
    return [int(np.median(g)) for g in out]


class _Coverage:
    """Share of an edge drawn: prefix sums of line pixels near each row / column line."""

    def __init__(self, mask: np.ndarray, positions: list[int], axis: int, reach: int = 4) -> None:
        self.sums = {}
        for p in positions:
            band = (
                mask[max(0, p - reach) : p + reach + 1]
                if axis == 0
                else mask[:, max(0, p - reach) : p + reach + 1]
            )
            drawn = (band > 0).any(axis=axis)
            self.sums[p] = np.concatenate([[0], np.cumsum(drawn)])

    def share(self, p: int, a: int, b: int, trim: int = 5) -> float:
        a, b = a + trim, b - trim
        if b <= a:
            return 1.0
        s = self.sums[p]
        return float(s[b] - s[a]) / (b - a)


def _segments(mask: np.ndarray, horizontal: bool) -> list[int]:
    """Positions (y of horizontal, x of vertical segments) of the ruling pieces in ``mask``."""
    import cv2

    n, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return [float(centroids[k][1 if horizontal else 0]) for k in range(1, n)]


def _region_cells(h: np.ndarray, v: np.ndarray) -> dict[tuple[int, int], Box]:
    """Cells of one ruled region (its own coordinates): elementary cells between the row and
    column lines, merged where their shared edge is not drawn; groups not closed by lines or
    not rectangular are dropped (the outside of an irregular region)."""
    ys, xs = _cluster(_segments(h, True), 6), _cluster(_segments(v, False), 6)
    if len(ys) < 2 or len(xs) < 2:
        return {}
    hc, vc = _Coverage(h, ys, 0), _Coverage(v, xs, 1)
    parent = {(i, j): (i, j) for i in range(len(ys) - 1) for j in range(len(xs) - 1)}

    def root(a: tuple[int, int]) -> tuple[int, int]:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in list(parent):
        if j + 1 < len(xs) - 1 and vc.share(xs[j + 1], ys[i], ys[i + 1]) < 0.5:
            parent[root((i, j + 1))] = root((i, j))
        if i + 1 < len(ys) - 1 and hc.share(ys[i + 1], xs[j], xs[j + 1]) < 0.5:
            parent[root((i + 1, j))] = root((i, j))
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key in parent:
        groups.setdefault(root(key), []).append(key)
    cells = {}
    for members in groups.values():
        i0, i1 = min(m[0] for m in members), max(m[0] for m in members) + 1
        j0, j1 = min(m[1] for m in members), max(m[1] for m in members) + 1
        if len(members) != (i1 - i0) * (j1 - j0):
            continue
        closed = min(
            hc.share(ys[i0], xs[j0], xs[j1]),
            hc.share(ys[i1], xs[j0], xs[j1]),
            vc.share(xs[j0], ys[i0], ys[i1]),
            vc.share(xs[j1], ys[i0], ys[i1]),
        )
        if closed >= 0.5 and xs[j1] - xs[j0] >= 5 * SCALE and ys[i1] - ys[i0] >= 5 * SCALE:
            cells[(i0, j0)] = (xs[j0], ys[i0], xs[j1], ys[i1])
    return cells


def find_tables(hmask: np.ndarray, vmask: np.ndarray) -> list[_Table]:
    """Ruled regions (rulings that touch) with their cells, in page pixels."""
    import cv2

    joined = cv2.dilate(cv2.bitwise_or(hmask, vmask), np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    tables = []
    for k in range(1, n):
        x, y, w, h = (int(s) for s in stats[k, :4])
        if w < 15 * SCALE or h < 8 * SCALE:
            continue
        inside = labels[y : y + h, x : x + w] == k
        sub_h = np.where(inside, hmask[y : y + h, x : x + w], 0).astype(np.uint8)
        sub_v = np.where(inside, vmask[y : y + h, x : x + w], 0).astype(np.uint8)
        cells = _region_cells(sub_h, sub_v)
        if cells:
            moved = {key: (b[0] + x, b[1] + y, b[2] + x, b[3] + y) for key, b in cells.items()}
            tables.append(_Table((x, y, x + w, y + h), moved))
    return [t for t in tables if not any(o is not t and _inside(t.bbox, o.bbox) for o in tables)]


def _inside(inner: Box, outer: Box) -> bool:
    """``inner`` lies within ``outer`` (a bold glyph's box, 盤's 皿, inside a table's cell)."""
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


# --- text -----------------------------------------------------------------------------------


def _runs(profile: np.ndarray, gap: int) -> list[list[int]]:
    """[start, end) of the runs of non-zero ``profile`` values, bridging gaps up to ``gap``."""
    runs: list[list[int]] = []
    for i in np.flatnonzero(profile):
        if runs and i - runs[-1][1] <= gap:
            runs[-1][1] = int(i) + 1
        else:
            runs.append([int(i), int(i) + 1])
    return runs


def text_lines(ink: np.ndarray, box: Box, inset: int = 4, line_height: float | None = None) -> list[Box]:
    """The text lines in ``box`` of the cleaned ink, top to bottom, each trimmed to its ink and
    padded: rows of ink split where a gap is; slivers (a 二's stroke) join their neighbour."""
    x0, y0, x1, y1 = box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset
    if x1 <= x0 or y1 <= y0:
        return []
    sub = ink[y0:y1, x0:x1] > 0
    runs = _runs(sub.sum(axis=1), 1)
    if not runs:
        return []
    heights = [b - a for a, b in runs if b - a >= 0.35 * 6 * SCALE] or [b - a for a, b in runs]
    typical = float(np.median(heights))
    typical = min(typical, line_height) if line_height else typical  # one run alone: the page's
    runs = [part for run in runs for part in _split_tall(run, sub.sum(axis=1), typical)]
    merged: list[list[int]] = []
    for run in runs:
        if merged and (
            (run[1] - run[0] < 0.45 * typical or merged[-1][1] - merged[-1][0] < 0.45 * typical)
            and run[0] - merged[-1][1] < 0.4 * typical
            and run[1] - merged[-1][0] < 1.5 * typical
        ):
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    lines = []
    pad = int(1.5 * SCALE)
    for a, b in merged:
        cols = np.flatnonzero(sub[a:b].any(axis=0))
        flat = b - a < 1.2 * SCALE
        if sub[a:b].sum() < 10 or (flat and not 1.2 * SCALE <= cols[-1] - cols[0] <= 20 * SCALE):
            continue  # specks; a flat run 1.2–20 pt wide is a dash (— or a 6 pt -), kept
        lines.append(
            (
                x0 + max(0, cols[0] - pad),
                y0 + max(0, a - pad),
                x0 + min(x1 - x0, cols[-1] + 1 + pad),
                y0 + min(y1 - y0, b + pad),
            )
        )
    return lines


def line_height(ink: np.ndarray, tables: list[_Table]) -> float | None:
    """The page's usual height of a line of text in its cells (the median run of ink rows at
    least 2 pt tall), or None when its cells hold no text."""
    heights = []
    for t in tables:
        for x0, y0, x1, y1 in t.cells.values():
            profile = (ink[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4] > 0).sum(axis=1)
            heights += [b - a for a, b in _runs(profile, 1) if b - a >= 2 * SCALE]
    return float(np.median(heights)) if heights else None


def _split_tall(run: list[int], profile: np.ndarray, typical: float) -> list[list[int]]:
    """A run of ink rows as tall as two lines or more (lines set so tight that they touch:
    経営指導員等による支 / 援及びフォローアップ) cut at the emptiest row near each expected
    boundary; other runs as they are."""
    a, b = run
    parts = round((b - a) / typical) if typical > 0 else 1
    if parts < 2 or (b - a) < 1.6 * typical:
        return [run]
    cuts, step, reach = [a], (b - a) / parts, max(1, int(0.25 * typical))
    for k in range(1, parts):
        at = int(a + k * step)
        lo, hi = max(a + 1, at - reach), min(b - 1, at + reach)
        cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else at)
    cuts.append(b)
    return [[cuts[k], cuts[k + 1]] for k in range(parts)]


def tidy(text: str) -> str:
    """Tesseract's line as the text layer would give it: no spaces between Japanese
    characters, NFC, one space between words."""
    text = unicodedata.normalize("NFC", text.replace("\n", " "))
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(rf"(?<=[{_CJK}])\s*([:：])\s*", r"\1", text)
    return _CJK_SPACE.sub("", text)


def is_numeric(text: str) -> bool:
    """A number as printed (4,755 / 15 (25) / 38.7 / 100%), not a code or a word."""
    return bool(text) and bool(_NUMERIC.match(text)) and any(ch.isdigit() for ch in text)


def looks_numeric(text: str) -> bool:
    """A number, perhaps with letters Tesseract mistakes digits for (4,7S5, 1O0, l5)."""
    folded = text.translate(_CONFUSABLE).replace(" ", "")
    return is_numeric(folded) and sum(ch.isdigit() for ch in text) >= len(folded) / 2


_NOT_A_NUMBER = re.compile(r"[\u3040-\u309f\u3400-\u9fff]")  # hiragana or kanji: 第1, 計


_CODE = re.compile(r"^([A-DS]|[RH]\d{1,2}|[①-⑳]|★+|—)$")  # grades, era years, circled numbers, dashes


def maybe_number(text: str) -> bool:
    """A short line that may be a number misread (a lone ９ as O or |, ２４ as 2フ 4): at
    most four characters, no hiragana or kanji, not a grade, era year or circled number."""
    plain = text.replace(" ", "")
    return 0 < len(plain) <= 4 and not _NOT_A_NUMBER.search(plain) and not _CODE.match(plain)


def read_line(engine: _Engine, box: Box) -> tuple[str, float]:
    """One line: recognised with the Japanese model, read again with digits only when it looks
    numeric (the better-confident reading that still looks numeric is kept)."""
    text, conf = engine.read(box)
    text = tidy(text)
    if looks_numeric(text):
        digits, dconf = engine.read(box, digits=True)
        digits = tidy(digits)
        if is_numeric(digits) and (dconf >= conf - 5 or not is_numeric(text)):
            return digits, dconf
    elif maybe_number(text):  # a short misread (a lone digit): read alone, kept when surer
        alone, aconf = engine.read(box, alone=True)
        alone = tidy(alone)
        if aconf > conf and (is_numeric(alone) or not is_numeric(text)):
            return alone, aconf
    return text, conf


def read_box(
    engine: _Engine, ink: np.ndarray, box: Box, line_height: float | None = None
) -> tuple[str, float | None]:
    """A cell's text (lines joined by newlines) and its lowest line confidence (None: empty)."""
    texts, confs = [], []
    for line in text_lines(ink, box, line_height=line_height):
        if line[3] - line[1] < 1.2 * SCALE + 2 * int(1.5 * SCALE) + 1:
            text, conf = "—", 90.0  # a flat stroke alone on its line: a dash, by its shape
        else:
            text, conf = read_line(engine, line)
        if text:
            texts.append(text)
            confs.append(conf)
    return "\n".join(texts), (min(confs) if confs else None)


def outside_boxes(ink: np.ndarray) -> list[Box]:
    """Text lines of the ink outside every table: characters smeared sideways into words,
    words on one line less than 2.5 heights apart joined (one recognition per line)."""
    import cv2

    smear = cv2.dilate(ink, np.ones((3, int(3 * SCALE)), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(smear, connectivity=8)
    words = sorted(
        (int(x), int(y), int(x + w), int(y + h))
        for x, y, w, h, area in stats[1:]
        if 2.5 * SCALE <= h <= 40 * SCALE and w >= 2 * SCALE and area >= 30
    )
    lines: list[list[int]] = []
    for x0, y0, x1, y1 in words:
        for line in lines:
            overlap = min(y1, line[3]) - max(y0, line[1])
            height = max(y1 - y0, line[3] - line[1])
            if overlap >= 0.5 * min(y1 - y0, line[3] - line[1]) and x0 - line[2] <= 2.5 * height:
                line[:] = [line[0], min(y0, line[1]), max(x1, line[2]), max(y1, line[3])]
                break
        else:
            lines.append([x0, y0, x1, y1])
    pad = int(1.5 * SCALE)
    return [
        (max(0, x0), max(0, y0 - pad), x1, y1 + pad)
        for x0, y0, x1, y1 in lines
        if (ink[y0:y1, x0:x1] > 0).sum() >= 30
    ]


@dataclass
class _Item:
    """A grid row in the making: its top and left (points) and its cells' text, box, confidence."""

    top: float
    left: float
    cells: list[tuple[str, tuple[float, float, float, float] | None, float | None]]


def _points(box: Box) -> tuple[float, float, float, float]:
    return tuple(round(v / SCALE, 2) for v in box)  # type: ignore[return-value]


def table_items(
    engine: _Engine, ink: np.ndarray, table: _Table, notes: list[str], line_height: float | None = None
) -> list[_Item]:
    """A table's rows as pdfplumber gives them: one row per distinct cell top, one column per
    distinct cell left; a merged cell is in its first row, the rows it covers have None there."""
    tops = sorted({i for i, _ in table.cells})
    lefts = sorted({j for _, j in table.cells})
    items = []
    for i in tops:
        cells: list[tuple[str, Any, float | None]] = []
        for j in lefts:
            box = table.cells.get((i, j))
            if box is None:
                cells.append(("", None, None))
                continue
            text, conf = read_box(engine, ink, box, line_height)
            text, note, conf = correct_cell(text, conf)
            if note:
                notes.append(note)
            cells.append((text, _points(box), conf))
        boxes = [b for _, b, _ in cells if b]
        items.append(_Item(min(b[1] for b in boxes), min(b[0] for b in boxes), cells))
    for j in range(len(lefts)):
        code_column(items, j, notes)
        code_by_name(items, j, notes)
    return items


_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_AS_LETTER = {"8": "a", "3": "a", "0": "o"}  # a lone a read by the jpn model as 8
_AS_CIRCLED = {"@": "②"}  # ② read as @


def code_column(items: list[_Item], j: int, notes: list[str]) -> None:
    """A column of codes (取組コード a, b, c … or 体系分類 ①, ②) read as one: where most of
    its short cells are lowercase letters (or circled numbers), the others are the same kind
    of code misread — a lone a read as 8, c as C, ② as @ — and are read as such (in place).
    A letter column needs three letters read well; a circled column one, beside misread ones."""
    short = [it.cells[j][0] for it in items if j < len(it.cells) and 0 < len(it.cells[j][0]) <= 3]
    letters = sum(len(t) == 1 and "a" <= t <= "z" for t in short)
    circled = sum(len(t) == 1 and t in _CIRCLED for t in short)
    like = sum(len(t) == 1 and ("A" <= t <= "Z" or t in _AS_LETTER) for t in short)
    like = like if letters > circled else sum(t in _AS_CIRCLED for t in short)
    # a page whose circled codes are mostly misread (@ @ @ @ @ ③): one well read is enough
    enough = letters >= 3 if letters > circled else circled >= 1 and circled + like >= 3
    if not enough or max(letters, circled) + like < 0.8 * len(short):
        return
    rows = [it for it in items if j < len(it.cells) and 0 < len(it.cells[j][0]) <= 3]
    valid = (lambda t: len(t) == 1 and "a" <= t <= "z") if letters > circled else (lambda t: t in _CIRCLED)
    read = [it.cells[j][0] for it in rows]  # as read: a fix never becomes a neighbour
    for k, it in enumerate(rows):
        text, box, conf = it.cells[j]
        before = next((t for t in reversed(read[:k]) if valid(t)), None)
        after = next((t for t in read[k + 1 :] if valid(t)), None)
        fixed = _code_between(text, before, after, letters > circled)
        if fixed != text:
            it.cells[j] = (fixed, box, conf)
            notes.append(f"「{text}」 read as 「{fixed}」 (a column of codes)")


def code_by_name(items: list[_Item], j: int, notes: list[str]) -> None:
    """A column of circled codes (体系分類2コード) beside the name it codes (体系分類2): rows
    whose name reads the same carry the same code, so a code unlike the one at least two
    others with its name carry is misread (② read as ① at confidence 13 on Kama's action
    plan p.6) and takes theirs (in place)."""
    rows = [
        it
        for it in items
        if j + 1 < len(it.cells) and len(it.cells[j][0]) == 1 and it.cells[j][0] in _CIRCLED
        if it.cells[j + 1][0].strip()  # a merged name cell's lower rows say nothing
    ]
    if len(rows) < 3:
        return
    by_name: dict[str, dict[str, int]] = {}
    for it in rows:
        codes = by_name.setdefault("".join(it.cells[j + 1][0].split()), {})
        codes[it.cells[j][0]] = codes.get(it.cells[j][0], 0) + 1
    for it in rows:
        codes = by_name["".join(it.cells[j + 1][0].split())]
        best = max(codes, key=codes.__getitem__)
        text, box, conf = it.cells[j]
        if best != text and codes[best] >= 2 and codes[best] > codes[text]:
            it.cells[j] = (best, box, conf)
            notes.append(f"「{text}」 read as 「{best}」 (the code of {codes[best]} rows of the same name)")


def _code_between(text: str, before: str | None, after: str | None, letters: bool) -> str:
    """A code of a column of codes between ``before`` and ``after`` (the nearest well-read
    codes): the one between them where they are one apart (d, 6, f → e), the same where they
    agree (③, ②, ③ → ③), else what the misreading usually is (8 → a, C → c, @ → ②)."""
    if letters and len(text) == 1 and "a" <= text <= "z" or not letters and text in _CIRCLED:
        if before and after and before == after and text != before and not letters:
            return before  # circled numbers run ①①②②: one unlike both its neighbours is misread
        return text
    if before and after and ord(after) - ord(before) == 2:
        return chr(ord(before) + 1)
    if before and after and before == after and not letters:
        return before
    if letters:
        fixed = _AS_LETTER.get(text, text.lower() if len(text) == 1 and "A" <= text <= "Z" else text)
        if fixed == text and after and not before and after > "a":  # first on its page: 6, f → e
            fixed = chr(ord(after) - 1)
        return fixed
    fixed = _AS_CIRCLED.get(text, text)
    edge = before if not after else after if not before else None  # last (first) on its page
    return edge if fixed == text and edge else fixed


def text_items(engine: _Engine, ink: np.ndarray, notes: list[str]) -> list[_Item]:
    """Lines of text outside the tables: boxes read one by one, then joined into lines as the
    PDF reader joins words (:func:`extractors.readers.pdf._lines`)."""
    from .pdf import _join_words, _line_box, _lines

    words = []
    for box in outside_boxes(ink):
        text, conf = read_line(engine, box)
        text, note, conf = correct_cell(text, conf, in_table=False)
        if note:
            notes.append(note)
        if text:
            x0, top, x1, bottom = _points(box)
            words.append({"text": text, "x0": x0, "top": top, "x1": x1, "bottom": bottom, "conf": conf})
    items = []
    for line in _lines(words):
        for part in _apart(line):
            bbox = _line_box(part)
            items.append(_Item(bbox[1], bbox[0], [(_join_words(part), bbox, min(w["conf"] for w in part))]))
    return items


def _apart(line: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A line's words in groups more than three heights apart (a heading and a legend beside
    it): lines of their own, as a text layer prints text boxes whose tops differ a little."""
    groups = [[line[0]]]
    for prev, w in zip(line, line[1:], strict=False):
        if w["x0"] - prev["x1"] > 3 * max(w["bottom"] - w["top"], 1.0):
            groups.append([w])
        else:
            groups[-1].append(w)
    return groups


# --- pages and documents --------------------------------------------------------------------


def _clean(
    grey: np.ndarray, ink: np.ndarray, rulings: np.ndarray, arrows: list[_Arrow]
) -> tuple[np.ndarray, np.ndarray]:
    """Ink without rulings and arrows, and the grey page the recogniser sees: that ink's
    pixels (and a pixel around them) on white — no shading, no noise, no lines."""
    import cv2

    ink = ink.copy()
    ink[cv2.dilate(rulings, np.ones((5, 5), np.uint8)) > 0] = 0
    erase_arrows(arrows, ink, pad=6)
    near = cv2.dilate(ink, np.ones((3, 3), np.uint8)) > 0
    return np.where(near, grey, 255).astype(np.uint8), ink


def _rulings(lines: np.ndarray, tables: list[_Table], long_pt: float = 30) -> np.ndarray:
    """The line pixels to erase: inside the tables, and lines at least ``long_pt`` long
    elsewhere — not a heading's bold strokes, which the line masks also hold."""
    import cv2

    out = np.zeros_like(lines)
    edges = np.zeros_like(lines)  # a band along every cell's edges: a large character's strokes
    for t in tables:  # inside a cell are no ruling (目's strokes are 12 pt long in a slide's font)
        for x0, y0, x1, y1 in t.cells.values():
            cv2.rectangle(edges, (x0, y0), (x1, y1), 255, thickness=2 * EDGE_REACH + 1)
    out[edges > 0] = lines[edges > 0]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    long = np.flatnonzero(np.maximum(stats[:, 2], stats[:, 3]) >= long_pt * SCALE)
    long = long[long > 0]
    if len(long):
        out[np.isin(labels, long)] = 255
    return out


def read_page(
    engine: _Engine, grey: np.ndarray, number: int, row_offset: int
) -> tuple[list[list[Cell]], list[Shape], list[str]]:
    """One page image → its grid rows (tables and text lines, top to bottom), its arrows and
    the corrections made to its cells' text (:func:`correct_cell`)."""
    import cv2

    grey, ink, angle = deskew(grey)
    hmask, vmask = lines_mask(ink, "horizontal", 12), lines_mask(ink, "vertical", 10)
    arrows = find_arrows(ink, hmask, vmask)
    erase_arrows(arrows, hmask)  # a shaft is no ruling: it must not split its cells
    tables = find_tables(hmask, vmask)
    clean_grey, clean_ink = _clean(grey, ink, _rulings(cv2.bitwise_or(hmask, vmask), tables), arrows)
    engine.set_page(clean_grey)
    notes: list[str] = []
    height = line_height(clean_ink, tables)
    items = [item for t in tables for item in table_items(engine, clean_ink, t, notes, height)]
    outside = clean_ink.copy()
    for t in tables:
        x0, y0, x1, y1 = t.bbox
        outside[y0:y1, x0:x1] = 0
    items += text_items(engine, outside, notes)
    items.sort(key=lambda it: (round(it.top, 1), it.left))
    rows = []
    for k, item in enumerate(items):
        r = row_offset + k
        rows.append(
            [
                Cell(text=t, row=r, col=j, page=number, bbox=b, confidence=c)
                for j, (t, b, c) in enumerate(item.cells)
            ]
        )
    shapes = [
        Shape("arrow", number, (a.x0 / SCALE, float(a.y / SCALE - 1), a.x1 / SCALE, float(a.y / SCALE + 1)))
        for a in arrows
    ]
    return rows, shapes, [f"p.{number}: OCR {n}" for n in notes]


def confidence_warnings(grid: Grid, name: str, threshold: float = LOW_CONFIDENCE) -> list[str]:
    """The document read by OCR, its lowest cell confidence, and every cell read with less
    than ``threshold``, named by page, row and column."""
    cells = [c for row in grid.rows for c in row if c.confidence is not None and c.text.strip()]
    if not cells:
        return [f"{name}: read by OCR ({grid.pages} pages), no text read"]
    low = min(cells, key=lambda c: c.confidence or 0.0)
    out = [
        f"{name}: read by OCR ({grid.pages} pages, {len(cells)} cells); lowest confidence "
        f"{low.confidence:.0f} on p.{low.page} row {low.row} col {low.col}"
    ]
    for c in cells:
        if (c.confidence or 0.0) < threshold:
            text = c.text.replace("\n", " ")
            out.append(
                f"{name}: OCR confidence {c.confidence:.0f} on p.{c.page} row {c.row} col {c.col}: 「{text}」"
            )
    return out


def _cache_file(cache_dir: Path, data: bytes, limits: Any) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    budget = hashlib.sha256(repr(limits).encode()).hexdigest()[:8]
    version = hashlib.sha256(engine_version().encode()).hexdigest()[:16]
    return cache_dir / version / f"{digest}.{budget}.json"


def _load_cached(path: Path) -> Grid | None:
    """A grid stored by :func:`_store`, or None (missing or unreadable: read again)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        rows = [
            [Cell(**{**c, "bbox": tuple(c["bbox"]) if c["bbox"] else None}) for c in r] for r in raw["rows"]
        ]
        shapes = [Shape(s["kind"], s["page"], tuple(s["bbox"])) for s in raw["shapes"]]
        return Grid(
            rows=rows,
            format="pdf",
            pages=raw["pages"],
            shapes=shapes,
            missing=raw["missing"],
            engine="ocr",
            warnings=raw["warnings"],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, grid: Grid) -> None:
    payload = {
        "rows": [[asdict(c) for c in r] for r in grid.rows],
        "shapes": [asdict(s) for s in grid.shapes],
        "pages": grid.pages,
        "missing": grid.missing,
        "warnings": grid.warnings,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is skipped


def read_ocr(
    path: Path,
    data: bytes,
    *,
    password: str | None = None,
    limits: Any = None,
    cache_dir: Path | None = None,
) -> Grid:
    """Read every page of a PDF from its image into a :class:`Grid` (``engine="ocr"``), or
    raise :class:`ExtractionError`. ``limits`` (:class:`~extractors.readers.pdf.PdfLimits`)
    bounds pages and seconds; ``cache_dir`` keeps the grid by the file's sha256 and
    :func:`engine_version`, so the same bytes are never read twice."""
    why = unavailable()
    if why:
        raise ExtractionError(f"{path.name}: no text layer (scanned?) — OCR needed; {why}: {INSTALL_HINT}")
    entry = _cache_file(cache_dir, data, limits) if cache_dir else None
    grid = _load_cached(entry) if entry else None
    if grid is None:
        grid = _read_pages(path, data, password, limits)
        if entry and not grid.missing:
            _store(entry, grid)
    if not any(c.text.strip() for row in grid.rows for c in row):
        raise ExtractionError(
            f"{path.name}: no text layer (scanned?) — OCR needed, and OCR read no text on its {grid.pages} pages"
        )
    grid.warnings = confidence_warnings(grid, path.name) + [f"{path.name}: {w}" for w in grid.warnings]
    return grid


def _read_pages(path: Path, data: bytes, password: str | None, limits: Any) -> Grid:
    """OCR of each page within the page and time budget."""
    import pypdfium2 as pdfium

    from .pdf import PdfLimits
    from .pdfium import PDFIUM_LOCK

    limits = limits or PdfLimits()
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data, password=password)
        except pdfium.PdfiumError as exc:
            raise ExtractionError(f"{path.name}: cannot be opened for OCR ({exc})") from exc
        total = len(pdf)
    engine = _Engine.get()
    rows: list[list[Cell]] = []
    shapes: list[Shape] = []
    corrections: list[str] = []
    started, read = time.monotonic(), 0
    with engine.lock:
        for index in range(min(total, limits.max_pages)):
            if time.monotonic() - started > limits.max_seconds:
                break
            page_rows, page_shapes, page_notes = read_page(engine, render(pdf, index), index + 1, len(rows))
            corrections += page_notes
            rows += page_rows
            shapes += page_shapes
            read = index + 1
    with PDFIUM_LOCK:
        pdf.close()
    rows, agreed = agree(rows)
    corrections += agreed
    grid = Grid(rows=rows, format="pdf", pages=total, shapes=shapes, engine="ocr", warnings=corrections)
    if read < total:
        budget = "page budget" if read >= limits.max_pages else f"time budget of {limits.max_seconds:g} s"
        grid.missing.append(f"only the first {read} of {total} pages were read by OCR ({budget})")
    return grid


# --- domain-aware correction ----------------------------------------------------------------

_STARS = re.compile(r"(?<==)([\u3400-\u9fff★☆]{1,5})(?=[、,]|$)")
# ★ as the jpn model misreads it in a legend, when the 、 after the grade was lost too
_STAR_LIKE = re.compile(r"(?<==)([文太大女雄☆★]{1,5})(?=[\u3040-\u9fff])")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(\.\d{3})+(?![\d.,])")
# 1.636 件: a count with a thousands point before its unit (decimals have 1–2 places)
_THOUSANDS_IN_TEXT = re.compile(r"(?<![\d.,])(\d{1,3})\.(\d{3})(?=\s*[件人名社者回団体事業所か所%％])")
_KPI_CODE = re.compile(r"^(\d{1,2}-\d{1,2})(?:\s+|_\s+)(?=[^\s\d_])", re.M)  # 1-2_市の… read as 1-2 市の…
# 割合 (%) read as 割合 %) (at a line's end, or before a footnote's *)
_UNIT_OPEN = re.compile(r"(?<=[^\s(（])\s*([%人件社回])\)(?=\s*\*?$)", re.M)
_BULLET = re.compile(rf"^\*(?=[{_CJK}])", re.M)
_REIWA = re.compile(r"[金信今合冷]和(?=\s*[\d元])")  # 令和 4 年度 read as 金和 / 信和
_ERA_CODE = re.compile(r"\bR[S$](\d)")
# the kanji 一 read as the long-vowel mark ー, which follows kana only (ー次産品 → 一次産品)
_LONG_AS_ONE = re.compile(r"(?<![\u3041-\u30fa\dA-Za-z\-~〜ー])ー(?=[\u3400-\u9fff])", re.M)
_DASHES = {"ー", "一", "－", "-", "―", "‐", "1"}


@cache
def _label_keys() -> dict[str, str]:
    """Every label of ``labels.yaml`` by its compare key (3 characters or more)."""
    from schemas.vocabulary import label_key, vocabulary

    out: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, str):
            key = label_key(node)
            if len(key) >= 3:
                out.setdefault(key, node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in vocabulary().data.items() if k != "units"})
    return out


def snap_label(text: str) -> str | None:
    """The vocabulary label ``text`` is one character away from (a misread label), or None."""
    from rapidfuzz.distance import Levenshtein

    keys = _label_keys()
    if not 3 <= len(text) <= 12 or text in keys or re.search(r"[\s\d]", text):
        return None
    near = [
        k for k in keys if abs(len(k) - len(text)) <= 1 and Levenshtein.distance(k, text, score_cutoff=1) <= 1
    ]
    return keys[near[0]] if len(near) == 1 else None


def correct_cell(
    text: str, confidence: float | None, in_table: bool = True
) -> tuple[str, str | None, float | None]:
    """A cell's OCR text corrected by what plan documents hold, what was changed (None:
    nothing) and its confidence: numbers with letters read for digits (4,7S5 → 4,755), a dash
    read as ー/一/1 in a low-confidence single-character cell (—), era codes (RS5 → R5), star
    grades in rating legends (=文文太 → =★★★), labels one character from the vocabulary
    (当初俺 → 当初値). Readings that are guesses (:func:`_guess`) keep a confidence below
    :data:`LOW_CONFIDENCE`, so they are reported, never taken on trust."""
    fixed = text
    if looks_numeric(text) and not is_numeric(text.replace(" ", "")):
        fixed = text.translate(_CONFUSABLE)
    if is_numeric(fixed.replace(" ", "")):  # 4.755, 4.800 (9,555): a thousands comma read as a
        fixed = _THOUSANDS.sub(lambda m: m[0].replace(".", ","), fixed)  # point (decimals: 1–2 places)
    if text in _DASHES and (confidence or 0) < LOW_CONFIDENCE and text != "1":
        fixed = "—"
    if "\n" in fixed or not looks_numeric(fixed):  # 1.636 件 in a line of text
        fixed = _THOUSANDS_IN_TEXT.sub(r"\1,\2", fixed)
    fixed = _ERA_CODE.sub(r"R\1", fixed)
    fixed = _LONG_AS_ONE.sub("一", fixed)
    fixed = _REIWA.sub("令和", fixed)
    fixed = _KPI_CODE.sub(r"\1_", fixed)
    fixed = _UNIT_OPEN.sub(r" (\1)", fixed)
    if in_table:  # a table cell's bullet ・ read as * (a line of text outside keeps its footnote *)
        fixed = _BULLET.sub("・", fixed)
    starred = False
    if "評価" in fixed and "=" in fixed:
        fixed = _STARS.sub(lambda m: "★" * len(m.group(1)), fixed)
        fixed = _STAR_LIKE.sub(lambda m: "★" * len(m.group(1)) + "、", fixed)
        fixed, starred = star_grades(fixed)
    if "\n" not in fixed:
        label = snap_label(fixed)
        if label:
            fixed = label
    fixed, doubtful = _guess(fixed)
    doubtful = doubtful or starred
    if doubtful and confidence is not None:
        confidence = min(confidence, LOW_CONFIDENCE - 1)
    return fixed, (None if fixed == text else f"「{text}」 read as 「{fixed}」"), confidence


_GRADE = re.compile(r"=(★*)(?=[、,]|$)", re.M)


def star_grades(text: str) -> tuple[str, bool]:
    """A star legend's grades (評価できる=★★★、一定の評価はできる=★★、評価できない=★) as
    they must be: fewer stars each, one at least. A grade between two that are two stars
    apart has the one count between them (★★★, ★, ★ → ★★★, ★★, ★); a last grade read
    without stars after more than one is a guess, ★ (and doubtful: the text and True)."""
    grades = list(_GRADE.finditer(text))
    counts = [len(m[1]) for m in grades]
    fixed, guessed = list(counts), False
    for k in range(1, len(counts) - 1):
        if counts[k - 1] - counts[k + 1] == 2 and counts[k] != counts[k - 1] - 1:
            fixed[k] = counts[k - 1] - 1
    if len(counts) >= 2 and counts[-1] == 0 and counts[-2] > 1:
        fixed[-1], guessed = 1, True
    for m, want in sorted(zip(grades, fixed, strict=True), key=lambda g: -g[0].start()):
        text = text[: m.start(1)] + "★" * want + text[m.end(1) :]
    return text, guessed


_LONE_ONE = {"ユ"}  # a lone full-width １ as Tesseract's jpn model reads it (a lone | is a ruling's rest)
_SPLIT_PERCENT = re.compile(r"(\d) 9%")  # 30.5 ％ read as 30.5 9%: the wide ％ split in two
_PERCENT_NINE = re.compile(r"\d\.\d9%")  # 29.3% read as 29.39% (or a real 29.39%: cannot tell)


def _guess(text: str) -> tuple[str, bool]:
    """Misreadings measured on scans whose right reading is a guess: the text (corrected
    where the guess is the likely one) and whether it is doubtful."""
    if 0 < len(text) <= 2 and set(text) <= _LONE_ONE | {"1"} and not text.isdigit():  # ユ, ユ1
        return "1", True
    fixed = _SPLIT_PERCENT.sub(r"\1 %", text)
    return fixed, fixed != text or bool(_PERCENT_NINE.search(fixed))


# --- the document's own majority reading ------------------------------------------------------

_CONTEXT = 4  # characters around a misread character that must match the majority reading's
_SUPPORT = 2  # times the majority reading occurs in the document (twice the misreading's, too)


def _kanji(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def _swappable(ch: str) -> bool:
    """A character OCR confuses with a look-alike: kanji or katakana (not ー, not hiragana:
    や / の differ in real text as often as in a misreading)."""
    return _kanji(ch) or "\u30a1" <= ch <= "\u30fa"


def _context(line: str, i: int) -> str | None:
    """The key of ``line``'s character ``i`` in its context: :data:`_CONTEXT` characters
    around it, half each side (more on one side at a line's start or end), the character
    masked; None where the context is not all kanji or kana with two kanji at least (three
    kanji or katakana around a katakana)."""
    left = min(_CONTEXT // 2, i)
    right = min(_CONTEXT - left, len(line) - i - 1)
    left = min(_CONTEXT - right, i)
    if left + right < _CONTEXT:
        return None
    around = line[i - left : i] + line[i + 1 : i + 1 + right]
    if not all(_kanji(ch) or "\u3041" <= ch <= "\u30fa" for ch in around):
        return None
    kanji = sum(_kanji(ch) for ch in around)
    katakana = sum("\u30a1" <= ch <= "\u30fa" for ch in around) if not _kanji(line[i]) else 0
    if kanji < 2 and kanji + katakana < 3:
        return None  # hiragana around say little (の?を); a katakana word does (?ジタル化)
    return f"{left}{line[i - left : i]}\0{line[i + 1 : i + 1 + right]}"


class Consensus:
    """The document's own majority reading (文書内の多数決): a kanji or katakana that OCR reads
    one way in a context the document prints at least :data:`_SUPPORT` times (and twice as
    often) with another character — 経営指導貞等 → 経営指導員等, テジタル化 → デジタル化,
    休助事業 → 補助事業 — is read as the majority does. The context is :data:`_CONTEXT`
    characters around it (two each side; four after a line's start or before its end), all
    kanji or kana, two kanji at least; the character's pairs with its neighbours occur
    nowhere else in the document (but once), so a real variant — 移住定住企業 beside
    移住定住起業, whose 企業 is everywhere — stays. Numbers, codes, hiragana and Latin letters
    are never changed."""

    def __init__(self, texts: list[str]) -> None:
        self.fills: dict[str, dict[str, int]] = {}
        self.pairs: dict[str, int] = {}
        for line in (part for text in texts for part in text.split("\n")):
            for k in range(len(line) - 1):
                self.pairs[line[k : k + 2]] = self.pairs.get(line[k : k + 2], 0) + 1
            for i, ch in enumerate(line):
                key = _context(line, i) if _swappable(ch) else None
                if key:
                    fill = self.fills.setdefault(key, {})
                    fill[ch] = fill.get(ch, 0) + 1

    def majority(self, line: str, i: int) -> str | None:
        """The majority reading of ``line``'s character ``i``, or None (it is the majority's,
        or no other reading is frequent enough)."""
        key = _context(line, i) if _swappable(line[i]) else None
        fills = self.fills.get(key, {}) if key else {}
        best = max(fills, key=fills.__getitem__, default=None)
        read = fills.get(line[i], 0)
        if not best or best == line[i] or fills[best] < max(_SUPPORT, 2 * read):
            return None
        pairs = [line[max(0, i - 1) : i + 1], line[i : i + 2]]
        return best if all(self.pairs.get(p, 0) <= read + 1 for p in pairs if len(p) == 2) else None

    def correct(self, line: str) -> str:
        """``line`` with each misread character (:meth:`majority`) replaced."""
        return "".join(self.majority(line, i) or ch for i, ch in enumerate(line))


def agree(rows: list[list[Cell]]) -> tuple[list[list[Cell]], list[str]]:
    """The rows with every cell's text set to the document's majority reading
    (:class:`Consensus`), and a note for each cell changed (page, row, column, before, after)."""
    from dataclasses import replace

    consensus = Consensus([c.text for row in rows for c in row])
    out, notes = [], []
    for row in rows:
        cells = []
        for c in row:
            fixed = "\n".join(consensus.correct(part) for part in c.text.split("\n"))
            if fixed != c.text:
                notes.append(
                    f"p.{c.page}: OCR row {c.row} col {c.col} 「{c.text}」 read as 「{fixed}」 "
                    "(the document's majority reading)"
                )
                c = replace(c, text=fixed)
            cells.append(c)
        out.append(cells)
    return out, notes
