"""The page image (画像): rendered, binarized, deskewed by its long rulings, white-on-dark
banners turned dark-on-white, the rulings found by morphology."""

from __future__ import annotations

from typing import Any

import numpy as np

from .engine import SCALE


def render(pdf: Any, index: int) -> np.ndarray:
    """Page ``index`` (0-based) of a pypdfium2 document as a grey image at :data:`DPI`."""
    from ..pdfium import PDFIUM_LOCK

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
