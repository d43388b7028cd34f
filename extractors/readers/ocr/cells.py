"""Rulings → cells (罫線からセル): the row and column lines of each ruled region give elementary
cells; neighbours whose shared edge has no line pixels are one merged cell."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .engine import SCALE

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
