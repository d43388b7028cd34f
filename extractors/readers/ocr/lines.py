"""Line recognition (行認識): a cell split into text lines by its ink profile, each line read
alone (one line, no layout analysis), numeric-looking lines read again with digits only;
ink outside the tables cut into lines of words."""

from __future__ import annotations

import re

import numpy as np

from .cells import Box, _Table
from .engine import SCALE, _Engine
from .marks import mark_reading
from .text import is_numeric, looks_numeric, maybe_number, tidy


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


_CODE_SPACE = re.compile(r"^(\d{1,2}-\d{1,2})\s+(?=[^\s\d_])")


def underscore(text: str, glyphs: np.ndarray) -> str:
    """A code joined to its name by an underscore (1-2_市の支援…, KPI codes) that Tesseract
    read as a space: the space is ``_`` where a gap between glyphs right after the code (in its
    first three heights) is inked only at the text's foot, a stroke just under its baseline."""
    if not _CODE_SPACE.match(text):
        return text
    runs = _runs(glyphs.sum(axis=1) >= max(2, 0.05 * glyphs.shape[1]), 0)
    if not runs:
        return text
    top, bottom = max(runs, key=lambda r: r[1] - r[0])  # the line itself, not a neighbour's rim
    height = bottom - top
    foot = max(1, int(0.15 * height))
    body = glyphs[top : bottom - foot].any(axis=0)[: 3 * height]
    under = glyphs[bottom - foot : bottom + int(0.45 * height)].any(axis=0)[: 3 * height]
    start = int(np.argmax(body)) if body.any() else len(body)
    for a, b in _runs(~body[start:], 0):
        if b - a >= 0.4 * height and under[start + a : start + b].mean() >= 0.6:
            return _CODE_SPACE.sub(r"\1_", text)
    return text


MARK_CONFIDENCE = 80.0  # a mark told by its shape (marks.shape_of): a clear shape, not a guess


def read_box(
    engine: _Engine,
    ink: np.ndarray,
    box: Box,
    line_height: float | None = None,
    notes: list[str] | None = None,
) -> tuple[str, float | None]:
    """A cell's text (lines joined by newlines) and its lowest line confidence (None: empty).
    A cell of one line that is one symbol is read by its shape (:func:`.marks.mark_reading`),
    the change noted in ``notes``."""
    texts, confs = [], []
    lines = text_lines(ink, box, line_height=line_height)
    for line in lines:
        if line[3] - line[1] < 1.2 * SCALE + 2 * int(1.5 * SCALE) + 1:
            text, conf = "—", 90.0  # a flat stroke alone on its line: a dash, by its shape
        else:
            text, conf = read_line(engine, line)
            glyphs = ink[line[1] : line[3], line[0] : line[2]] > 0
            text = underscore(text, glyphs)
            mark = mark_reading(text, conf, glyphs) if len(lines) == 1 else None
            if mark:
                if notes is not None:
                    notes.append(f"「{text}」 read as 「{mark}」 (by its shape)")
                text, conf = mark, MARK_CONFIDENCE
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
