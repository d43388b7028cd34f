"""Marks told by their shape (記号の形): a cell holding one symbol — ● 実施, ○ 検討, ◎ 拡充,
△ / × grades, → continuation — read from its ink, not by the recogniser. Tesseract's ``jpn``
model reads these lone symbols in Mincho as kanji at confidence 0 (● as 免, 和, 競), as
``@`` (◎), ``O`` / ``〇`` (○), ``人A`` (△), ``ーテ`` / ``に2`` (→)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .engine import LOW_CONFIDENCE, SCALE
from .text import is_numeric

MARKS = "●○◎△×→"
# what a lone letter, digit or kana read with this confidence or more is kept as (a grade A,
# a code ア, a count 3): the shape is asked only when the recogniser is unsure
SURE = 80.0
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"  # a code, its ring around a digit (④ is no ◎)
_AS_RING = {"O", "o", "〇", "○", "°"}  # a ring read as a letter O or the kanji zero (not 0: a digit)


def _holes(glyph: np.ndarray) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Outer contours, holes and the outer contours' boxes (x, y, w, h) of a binary glyph."""
    import cv2

    contours, hierarchy = cv2.findContours(glyph.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return 0, 0, []
    big = [k for k, c in enumerate(contours) if cv2.contourArea(c) >= (0.6 * SCALE) ** 2 or len(c) > 8]
    outer = [k for k in big if hierarchy[0][k][3] < 0]
    holes = [k for k in big if hierarchy[0][k][3] >= 0]
    return len(outer), len(holes), [cv2.boundingRect(contours[k]) for k in outer]


def shape_of(glyph: np.ndarray) -> str | None:
    """The mark a lone glyph's ink (True = ink, trimmed or not) is, or None: ● a filled disc,
    ○ a ring, ◎ a ring around a ring, △ a ring narrow at the top and closed at the bottom,
    × two strokes crossing with no hole, → a flat stroke whose right end is tallest."""
    ys, xs = np.nonzero(glyph)
    if len(ys) < 20:
        return None
    g = glyph[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = g.shape
    if h < 1.5 * SCALE or h > 30 * SCALE:  # a → of a 9 pt font is 2 pt tall
        return None
    outer, holes, boxes = _holes(g)
    aspect, fill = w / h, g.mean()
    if aspect >= 1.6 and holes == 0 and outer == 1 and w >= 3 * SCALE:
        heights = g.sum(axis=0)  # a shaft: thin on the left; a head: tallest on the right
        right, left = heights[int(0.75 * w) :], heights[: int(0.5 * w)]
        if len(left) and np.median(left) <= 0.35 * h and right.max() >= 3 * max(np.median(left), 1):
            return "→"
        return None
    if not 0.75 <= aspect <= 1.33 or h < 2 * SCALE:
        return None
    if outer == 1 and holes == 0 and fill >= 0.6:
        return "●"
    if outer == 2 and holes == 2:
        inner = min(boxes, key=lambda b: b[2] * b[3])
        if 0.75 <= inner[2] / max(inner[3], 1) <= 1.33 and 0.3 <= inner[3] / h <= 0.8:
            return "◎"
        return None
    band = max(1, h // 8)
    top, bottom = g[:band].any(axis=0).mean(), g[-band:].any(axis=0).mean()
    if outer == 1 and holes == 1 and fill < 0.5:
        if bottom >= 0.75 and top <= 0.4:
            return "△"
        if 0.3 <= top <= 0.8 and 0.3 <= bottom <= 0.8:
            return "○"
        return None
    if outer == 1 and holes == 0 and fill < 0.55:
        mid = g[int(0.35 * h) : int(0.65 * h) + 1, int(0.35 * w) : int(0.65 * w) + 1]
        corners = [g[:band, :band], g[:band, -band:], g[-band:, :band], g[-band:, -band:]]
        if mid.any() and all(c.any() for c in corners) and top < 0.6 and bottom < 0.6:
            return "×"
    return None


def mark_reading(text: str, confidence: float, glyph: np.ndarray) -> str | None:
    """The mark a line read as ``text`` (with ``confidence``) is by its shape, when the
    recogniser's reading is no sure letter, digit or kana and the shape is a mark; else None."""
    plain = text.replace(" ", "")
    if (
        len(plain) > 4
        or (plain and plain in MARKS + _CIRCLED)
        or (is_numeric(plain) and sum(ch.isdigit() for ch in plain) > 1)
    ):
        return None
    sure = len(plain) == 1 and confidence >= SURE and plain not in _AS_RING and plain not in ("@", "※")
    if sure:
        return None
    mark = shape_of(glyph)
    if mark == "○" and plain and plain not in _AS_RING and confidence >= SURE:
        return None
    return mark


# a mark in a legend or rule line as the jpn model misreads it (⑨:, 〇:, へ:, x:)
_MISREAD_MARK = {"◎": "⑥⑨@69", "○": "〇Oo", "△": "へ人ム", "×": "xXメ"}
_AS_MARK = {ch: mark for mark, chars in _MISREAD_MARK.items() for ch in chars}
_ITEM = re.compile(
    r"(?:(?<=^)|(?<=[\s】:：])|(?<=凡例)|(?<=以上)|(?<=未満)|(?<=[\u3040-\u30ff\u3400-\u9fff]))(.)\s*(?=[:：])"
)
_LEGEND_WORDS = ("凡例", "目安", "評価", "基準")


def legend_marks(text: str) -> str:
    """A legend or rule line (凡例 ●：実施 ○：検討 …, 【評価の目安】◎：… △：… ×：…) with
    its marks read as marks: a character before a colon that the jpn model reads a mark as
    (⑨ → ◎, 〇 → ○, へ / 人 → △, x → ×), in a line naming a legend or holding two marks."""
    items = [
        m
        for m in _ITEM.finditer(text)
        if m[1] in MARKS
        or m[1] in _AS_MARK
        and (not m[1].isdigit() or text[m.start(1) - 1 : m.start(1)] in "】 ")
    ]
    if len(items) < 2 or not (
        any(w in text for w in _LEGEND_WORDS) or sum(m[1] in MARKS for m in items) >= 1
    ):
        return text
    chars = list(text)
    for m in items:
        chars[m.start(1)] = _AS_MARK.get(m[1], m[1])
    return _spaced("".join(chars))


def _spaced(text: str) -> str:
    """A legend's items apart as printed (凡例　●：実施　○：検討), not run together as Tesseract
    reads them (凡例●:実施○:検討)."""
    return re.sub(rf"\s*([{MARKS}])\s*([:：])\s*", r" \1\2", text).strip()


_LEGEND_START = re.compile(r"^(凡例\s*)([\u3400-\u9fff])(\s*[:：])")


def legend_gap(rows: list[list[Any]]) -> list[str]:
    """A legend's first mark read as a kanji (凡例供：実施) is the one mark the document's
    cells hold that its legend lines do not name, when exactly one is missing (in place; the
    cell's confidence lowered below the threshold: a guess). The notes of what changed."""
    from dataclasses import replace

    used = {c.text for row in rows for c in row if len(c.text) == 1 and c.text in MARKS}
    notes = []
    for row in rows:
        for k, c in enumerate(row):
            m = _LEGEND_START.match(c.text)
            named = set(_ITEM_MARK.findall(c.text))
            missing = sorted(used - named - {"→"})
            if m and len(missing) == 1:
                text = _spaced(m[1] + missing[0] + c.text[m.end(2) :])
                notes.append(
                    f"p.{c.page}: OCR 「{c.text}」 read as 「{text}」 (the one mark its legend lacks)"
                )
                row[k] = replace(c, text=text, confidence=min(c.confidence or 0.0, LOW_CONFIDENCE - 1))
    return notes


_ITEM_MARK = re.compile(rf"([{MARKS}])\s*[:：]")
