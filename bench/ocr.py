"""OCR bench: scans made from the bundled PDFs, read back by the OCR reader.

Each page of ``tests/fixtures/samples/**.pdf`` is rendered at 200 or 300 dpi in grey, rotated
a little (±0.4°), blurred, given noise and JPEG-compressed, and wrapped back into an
image-only PDF (pypdfium2). The bench prints seconds per page, the character and number
accuracy of the OCR cells against the text layer of the same pages (cells matched by box),
and the table-level record F1 of the scanned documents against the born-digital records.

    .venv/bin/python bench/ocr.py                 # every page, 300 dpi
    .venv/bin/python bench/ocr.py --pages 1 --doc kama/progress_sheets
    .venv/bin/python bench/ocr.py --templates      # the six other-template PDFs instead

``--templates`` scans ``tests/fixtures/templates/*.pdf`` (LibreOffice exports of templates the
reader was not written for) the same way, extracts each scan as a run would (kind
auto-detected) and scores it per table against the fixture's ``.expected.json`` with
``tests/extract/f1.py`` (the scorer of the template tests); the wrong numbers are counted
against the born-digital extraction of the same PDF (whose F1 against the JSON is 1.000).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "fixtures" / "samples"


def scan_page(page, *, dpi: int, angle: float, blur: float, noise: float, jpeg: int, seed: int) -> bytes:
    """One page as a JPEG scan: rendered grey at ``dpi``, rotated, blurred, noisy, compressed."""
    from PIL import Image, ImageFilter

    img = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    arr = np.asarray(img, dtype=np.float32)
    if noise:
        arr = arr + np.random.default_rng(seed).normal(0.0, noise, arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=jpeg)
    return buf.getvalue()


def scan_pdf(
    src: Path | bytes,
    pages: list[int] | None = None,
    *,
    dpi: int = 300,
    angle: float = 0.3,
    blur: float = 0.5,
    noise: float = 6.0,
    jpeg: int = 80,
    seed: int = 0,
) -> bytes:
    """An image-only PDF of ``pages`` (1-based; None: all) of ``src``, each page a scan
    (:func:`scan_page`) placed on a page of the original size. The rotation alternates sign."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(src if isinstance(src, bytes) else str(src))
    out = pdfium.PdfDocument.new()
    numbers = pages or list(range(1, len(doc) + 1))
    for k, number in enumerate(numbers):
        page = doc[number - 1]
        width, height = page.get_size()
        sign = 1 if k % 2 == 0 else -1
        jpg = scan_page(page, dpi=dpi, angle=sign * angle, blur=blur, noise=noise, jpeg=jpeg, seed=seed + k)
        image = pdfium.PdfImage.new(out)
        image.load_jpeg(io.BytesIO(jpg), inline=True)
        image.set_matrix(pdfium.PdfMatrix().scale(width, height))
        new = out.new_page(width, height)
        new.insert_obj(image)
        new.gen_content()
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


DOCS = {
    "kama/progress_sheets": "progress_sheets",
    "kama/action_plan": "action_plan",
    "chiba/strategy_framework": "strategy_framework",
}
TARGET = {"progress_sheets": 0.90, "strategy_framework": 0.90, "action_plan": 0.80}


def _plain(text: str) -> str:
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", text).split())


def cell_accuracy(ref, got) -> dict[str, float]:
    """Character and number accuracy of the OCR cells against the text-layer cells they
    cover (same page, boxes overlapping by more than half): CER, exact cells, exact number
    cells, and number cells wrong yet not flagged by a low confidence."""
    from rapidfuzz.distance import Levenshtein

    from extractors.readers.ocr import LOW_CONFIDENCE, is_numeric

    by_page: dict[int, list] = {}
    for row in got.rows:
        for c in row:
            if c.bbox:
                by_page.setdefault(c.page, []).append(c)
    chars = errors = cells = exact = numbers = numbers_ok = silent = found = 0
    for row in ref.rows:
        for r in row:
            want = _plain(r.text)
            if not want or not r.bbox:
                continue
            match = _best_overlap(r, by_page.get(r.page, []))
            found += match is not None
            have = _plain(match.text) if match else ""
            chars += len(want)
            errors += Levenshtein.distance(want, have)
            cells += 1
            exact += want == have
            if is_numeric(want):
                numbers += 1
                numbers_ok += want == have
                low = match is not None and (match.confidence or 0) < LOW_CONFIDENCE
                silent += want != have and not low
    return {
        "cells": cells,
        "found": found / max(cells, 1),
        "cer": errors / max(chars, 1),
        "exact": exact / max(cells, 1),
        "numbers": numbers,
        "numbers_exact": numbers_ok / max(numbers, 1),
        "numbers_silent": silent,
    }


def _best_overlap(ref, cells):
    """The OCR cell covering more than half of ``ref``'s box, or the best-covering line."""
    x0, y0, x1, y1 = ref.bbox
    area = max((x1 - x0) * (y1 - y0), 1e-6)
    best, share = None, 0.0
    for c in cells:
        w = min(x1, c.bbox[2]) - max(x0, c.bbox[0])
        h = min(y1, c.bbox[3]) - max(y0, c.bbox[1])
        if w > 0 and h > 0:
            s = w * h / max(area, (c.bbox[2] - c.bbox[0]) * (c.bbox[3] - c.bbox[1]))
            if s > share:
                best, share = c, s
    return best if share > 0.3 else None


def _record_key(rec: dict) -> tuple:
    """A record as compared: lineage, ids and OCR columns left out, texts by name_key."""
    from core.names import name_key

    items = []
    for k, v in sorted(rec.items()):
        if k.startswith(("source_", "ocr_")) or k.endswith("_id") or k in ("plan_id", "extraction_method"):
            continue
        if isinstance(v, str) and not k.endswith("_code"):
            v = name_key(v)
        if isinstance(v, list):
            v = tuple(v)
        items.append((k, v))
    return tuple(items)


def record_f1(got: dict, want: dict) -> dict[str, tuple[float, float, float]]:
    """Table-level (precision, recall, F1) of records; codes, numbers and years exact, texts
    compared by :func:`core.names.name_key`; lineage and derived ids left out."""

    out = {}
    totals = [0, 0, 0]
    for table in sorted(want):
        if table == "unparsed_cells":
            continue
        pool = [_record_key(r) for r in got.get(table, [])]
        wanted = [_record_key(r) for r in want[table]]
        hit = 0
        for w in wanted:
            if w in pool:
                pool.remove(w)
                hit += 1
        out[table] = _prf(len(wanted), len(got.get(table, [])), hit)
        totals = [totals[0] + len(wanted), totals[1] + len(got.get(table, [])), totals[2] + hit]
    out["ALL"] = _prf(*totals)
    return out


def misses(got: dict, want: dict) -> dict[str, list[dict[str, tuple[Any, Any]]]]:
    """Per table, each born-digital record the scan did not give (:func:`record_f1`'s key),
    as the fields in which it differs from the unmatched scanned record closest to it
    (born-digital value, scanned value); a record with no scanned one left: every field."""
    out = {}
    for table in sorted(want):
        if table == "unparsed_cells":
            continue
        pool = [dict(_record_key(r)) for r in got.get(table, [])]
        lost = []
        for w in want[table]:
            key = dict(_record_key(w))
            if key in pool:
                pool.remove(key)
            else:
                lost.append(key)
        diffs = []
        for key in lost:
            near = max(pool, key=lambda g: sum(g.get(k) == v for k, v in key.items()), default={})
            diffs.append(
                {k: (key.get(k), near.get(k)) for k in key.keys() | near.keys() if key.get(k) != near.get(k)}
            )
        out[table] = diffs
    return out


def number_check(got: dict, want: dict) -> dict[str, Any]:
    """The numbers that would reach the warehouse wrong. Records equal to a born-digital one
    (:func:`record_f1`'s key) are right; each other scanned record is paired with the unmatched
    born-digital record sharing most of its fields (half of its other fields at least), and each of its
    numbers that differs is wrong — flagged when the record's OCR confidence
    (:func:`extractors.extract.mark_ocr`) is below the low-confidence threshold."""
    from extractors.readers.ocr import LOW_CONFIDENCE

    wrong, flagged, examples = 0, 0, []
    for table, records in want.items():
        if table == "unparsed_cells":
            continue
        left = [w for w in records]
        extra = []
        keys = [_record_key(w) for w in left]
        for g in got.get(table, []):
            k = _record_key(g)
            if k in keys:
                i = keys.index(k)
                keys.pop(i), left.pop(i)
            else:
                extra.append(g)
        for g in extra:
            nums = [k for k, v in g.items() if _is_number(v) and not k.startswith(("source_", "ocr_"))]
            other = [
                k for k in g if k not in nums and not k.startswith(("source_", "ocr_")) and k[-3:] != "_id"
            ]
            if not nums or not left:
                continue
            # the partner sharing most fields, numbers included: a record whose text is misread
            # pairs with its own born-digital record, not with a neighbour of other numbers
            best = max(left, key=lambda w: sum(_same(g.get(k), w.get(k)) for k in other + nums))
            if sum(_same(g.get(k), best.get(k)) for k in other) * 2 < len(other):
                continue
            left.remove(best)
            for k in nums:
                if g[k] != best.get(k):
                    low = (g.get("ocr_confidence") or 100.0) < LOW_CONFIDENCE
                    wrong, flagged = wrong + 1, flagged + low
                    if not low:
                        examples.append(
                            f"{table}.{k} {best.get(k)!r} read {g[k]!r} (p.{g.get('source_page')})"
                        )
    return {"wrong": wrong, "flagged": flagged, "unflagged": examples}


def _same(a: Any, b: Any) -> bool:
    from core.names import name_key

    if isinstance(a, str) and isinstance(b, str):
        return name_key(a) == name_key(b)
    return a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _prf(expected: int, produced: int, hit: int) -> tuple[float, float, float]:
    p = hit / produced if produced else (1.0 if not expected else 0.0)
    r = hit / expected if expected else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def bench_document(name: str, *, dpi: int, pages: int | None, cache: Path | None) -> dict:
    """Scan ``name`` (its first ``pages`` pages), read the scan by OCR, compare."""
    import time

    from core.models import ExtractionError
    from extractors.extract import mark_ocr, parse_grid
    from extractors.readers.ocr import read_ocr
    from extractors.readers.pdf import read_pdf

    src = SAMPLES / f"{name}.pdf"
    kind = DOCS[name]
    ref = read_pdf(src, src.read_bytes())
    numbers = list(range(1, (pages or ref.pages) + 1))
    scan = scan_pdf(src, numbers, dpi=dpi)
    path = Path(f"/tmp/{name.replace('/', '_')}.scan{dpi}.pdf")
    started, cpu = time.perf_counter(), time.process_time()
    got = read_ocr(path, scan, cache_dir=cache)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if pages:
        ref.rows = [r for r in ref.rows if r and (r[0].page or 0) <= pages]
        ref.shapes = [s for s in ref.shapes if s.page <= pages]
    want = parse_grid(ref, kind)
    try:
        tables, failure = parse_grid(got, kind).tables, None
    except ExtractionError as exc:  # the scan's grid does not parse: no records, and why
        tables, failure = {}, str(exc)
    mark_ocr(tables, got)
    return {
        "doc": name,
        "dpi": dpi,
        "pages": len(numbers),
        "s_per_page": seconds / len(numbers),
        "cpu_per_page": cpu / len(numbers),  # the machine is shared: CPU time says what OCR costs
        "arrows": f"{len(got.shapes)}/{len(ref.shapes)}",
        **cell_accuracy(ref, got),
        "f1": record_f1(tables, want.tables),
        "record_numbers": number_check(tables, want.tables),
        "misses": misses(tables, want.tables),
        "failure": failure,
        "warnings": [w for w in got.warnings if "OCR confidence" in w],
    }


def report(r: dict, show: int = 0) -> None:
    """One document's line, then its F1 per table with the fields its missed records got
    wrong most often, and ``show`` missed records per table (:func:`misses`)."""
    from collections import Counter

    kind = DOCS[r["doc"]]
    f1 = r["f1"]["ALL"][2]
    verdict = "ok" if f1 >= TARGET[kind] else f"below {TARGET[kind]:.2f}"
    print(
        f"{r['doc']:<26} {r['dpi']} dpi {r['pages']:>2} p  {r['s_per_page']:5.1f} s/page (CPU {r['cpu_per_page']:.1f})  "
        f"cells found {r['found']:.3f}  exact {r['exact']:.3f}  CER {r['cer']:.3f}  "
        f"numbers {r['numbers_exact']:.3f} of {r['numbers']} ({r['numbers_silent']} wrong unflagged)  "
        f"arrows {r['arrows']}  low-confidence cells {len(r['warnings'])}  record F1 {f1:.3f} ({verdict})"
    )
    n = r["record_numbers"]
    print(
        f"    record numbers wrong: {n['wrong']} ({n['flagged']} flagged by low confidence, "
        f"{len(n['unflagged'])} unflagged)"
    )
    for example in n["unflagged"][:30]:
        print(f"      unflagged: {example}")
    if r["failure"]:
        print(f"    the scan's grid does not parse: {r['failure']}")
    for table, (p, rc, f) in r["f1"].items():
        if table != "ALL":
            fields = Counter(k for diff in r["misses"].get(table, []) for k in diff)
            why = ", ".join(f"{k} {n}" for k, n in fields.most_common(4))
            print(
                f"    {table:<22} P {p:.3f}  R {rc:.3f}  F1 {f:.3f}"
                + (f"  (fields wrong: {why})" if why else "")
            )
    print_misses(r["misses"], show)


def print_misses(misses: dict[str, list[dict[str, tuple[Any, Any]]]], show: int) -> None:
    """``show`` missed records per table (:func:`misses`), field by field."""
    for table, diffs in misses.items() if show else ():
        for diff in diffs[:show]:
            print(
                f"      missed {table}: "
                + "; ".join(f"{k} {a!r} read {b!r}" for k, (a, b) in sorted(diff.items()))
            )


TEMPLATES = ROOT / "tests" / "fixtures" / "templates"


def bench_template(name: str, *, dpi: int, cache: Path | None) -> dict:
    """Scan the template fixture ``name``, extract the scan as a run would (kind auto-detected,
    status and error as ``documents`` gets them), score it against its expected JSON."""
    import json
    import sys
    import tempfile
    import time

    from extractors.extract import extract_document

    sys.path.insert(0, str(ROOT / "tests" / "extract"))
    from f1 import iso, table_scores

    src = TEMPLATES / f"{name}.pdf"
    expected = json.loads((TEMPLATES / f"{name}.expected.json").read_text(encoding="utf-8"))
    born = extract_document(src, plan_id=name)
    scan = scan_pdf(src, dpi=dpi)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.pdf"
        path.write_bytes(scan)
        started, cpu = time.perf_counter(), time.process_time()
        out = extract_document(path, plan_id=name, grid_cache=cache)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    pages = out.document.get("pages") or 1
    tables = {t: rows for t, rows in out.tables.items() if t != "unparsed_cells"}
    want = {t: rows for t, rows in born.tables.items() if t != "unparsed_cells"}
    return {
        "doc": name,
        "kind": out.document.get("kind"),
        "status": out.document.get("status") if out.ok else "failed",  # ok, partial or failed
        "error": out.document.get("error"),
        "pages": pages,
        "s_per_page": seconds / pages,
        "cpu_per_page": cpu / pages,
        "cells": f"{out.document.get('cells_consumed')}/{out.document.get('cells_total')}",
        "f1": table_scores(iso(tables), expected["tables"]),
        "born_f1": table_scores(iso(want), expected["tables"])["ALL"][2],
        "record_numbers": number_check(tables, want),
        "misses": misses(tables, want),
        "low": sum("OCR confidence" in w for w in out.document.get("warnings", [])),
    }


def report_template(r: dict, show: int = 0) -> None:
    """One template's line, its F1 per table against the expected JSON, the wrong numbers."""
    n = r["record_numbers"]
    print(
        f"{r['doc']:<34} {r['pages']} p  {r['s_per_page']:5.1f} s/page (CPU {r['cpu_per_page']:.1f})  "
        f"{r['status']} as {r['kind']}  cells read {r['cells']}  low-confidence cells {r['low']}  "
        f"record F1 {r['f1']['ALL'][2]:.3f} (born-digital {r['born_f1']:.3f})  numbers wrong "
        f"{n['wrong']} ({n['flagged']} flagged, {len(n['unflagged'])} unflagged)"
    )
    if r["error"]:
        print(f"    error: {r['error']}")
    for example in n["unflagged"][:30]:
        print(f"      unflagged: {example}")
    for table, (p, rc, f) in r["f1"].items():
        if table != "ALL":
            print(f"    {table:<22} P {p:.3f}  R {rc:.3f}  F1 {f:.3f}")
    print_misses(r["misses"], show)


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--doc", action="append", choices=sorted(DOCS), help="document (default: all)")
    ap.add_argument("--dpi", type=int, action="append", help="scan resolution (default: 300)")
    ap.add_argument("--pages", type=int, default=None, help="only the first N pages")
    ap.add_argument("--cache", type=Path, default=None, help="OCR cache folder (default: none)")
    ap.add_argument("--misses", type=int, default=0, help="print N missed records per table, field by field")
    ap.add_argument("--templates", action="store_true", help="the six other-template PDFs instead")
    ap.add_argument("--template", action="append", help="only this template fixture (with --templates)")
    args = ap.parse_args()
    if args.templates:
        names = args.template or sorted(
            p.name.removesuffix(".expected.json") for p in TEMPLATES.glob("*.expected.json")
        )
        for dpi in args.dpi or [300]:
            for name in names:
                report_template(bench_template(name, dpi=dpi, cache=args.cache), args.misses)
        return
    for dpi in args.dpi or [300]:
        for name in args.doc or list(DOCS):
            report(bench_document(name, dpi=dpi, pages=args.pages, cache=args.cache), args.misses)


if __name__ == "__main__":
    main()
