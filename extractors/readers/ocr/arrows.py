"""Schedule arrows (矢印) in the page image: a thin horizontal shaft ending in a filled triangle,
found as column spans and erased, so neither their shaft splits a cell nor their head leaks
into its text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import SCALE


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
    through the shaft's row at least 2.2× its thickness (or 3 pixels more than the shaft is
    tall just before), both ways alike (but a ragged column), tapering to the tip."""
    limit = int(8 * SCALE)
    lo = max(0, x1 - int(12 * SCALE))
    runs = []
    for c in range(lo, min(body.shape[1], x1 + 3)):
        if not body[y, c]:
            runs.append((c, 0, 0))
            continue
        up, down = _run_through(body[:, c], y, limit)
        runs.append((c, up, down))
    # the shaft as the scan drew it, left of the head: a blurred 1 pt shaft is 4 px thick, and
    # a head 3.5 pt wide is then tall over fewer columns than 2.2 × 4 asks (Kama p.12)
    shaft = [u + d + 1 for _, u, d in runs[: len(runs) // 4] if u or d]
    need = min(2.2 * thick, float(np.median(shaft)) + 3) if shaft else 2.2 * thick
    tall = [(c, u, d) for c, u, d in runs if u + d + 1 >= need and u < limit and d < limit]
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
    lopsided = sum(min(u, d) < 0.5 * max(u, d) - 2 for _, u, d in block[:third])
    if lopsided > third // 3:  # one ragged column at the base of a scanned head is no matter
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
