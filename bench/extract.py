"""Extraction speed on the bundled documents: pages/s per kind and format.

Prints, for each PDF, the rate of plan-etl's full extraction (read + parse + normalize)
next to references measured in the same run on the same pages: pypdfium2 raw text (the
ceiling), pdfplumber ``extract_text`` alone, and camelot lattice (``--camelot``). Text
exports are timed too. Median of ``--repeat`` runs.

    .venv/bin/python bench/extract.py [--repeat 3] [--camelot]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractors.extract import extract_document  # noqa: E402

DOCS = [
    ("progress_sheets", "kama/progress_sheets"),
    ("action_plan", "kama/action_plan"),
    ("strategy_framework", "chiba/strategy_framework"),
]


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def pdfium_text(path: Path) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    for page in pdf:
        page.get_textpage().get_text_range()
    pdf.close()


def plumber_text(path: Path) -> None:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()


def camelot_lattice(path: Path) -> None:
    import camelot

    camelot.read_pdf(str(path), pages="all", flavor="lattice", engine="vector")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--camelot", action="store_true", help="also time camelot lattice (slow)")
    args = ap.parse_args()
    print(
        f"{'document':<28}{'pages':>6}{'pdfium':>9}{'plumber':>9}{'camelot':>9}{'plan-etl':>10}{'vs plumber':>12}"
    )
    print(f"{'':<28}{'':>6}{'pages/s':>9}{'pages/s':>9}{'pages/s':>9}{'pages/s':>10}{'':>12}")
    for kind, stem in DOCS:
        pdf = ROOT / "raw" / f"{stem}.pdf"
        outcome = extract_document(pdf, kind=kind)
        pages = outcome.document["pages"]
        ceiling = pages / timed(lambda p=pdf: pdfium_text(p), args.repeat)
        plumber = pages / timed(lambda p=pdf: plumber_text(p), args.repeat)
        cam = pages / timed(lambda p=pdf: camelot_lattice(p), 1) if args.camelot else float("nan")
        ours = pages / timed(lambda p=pdf, k=kind: extract_document(p, kind=k), args.repeat)
        print(
            f"{stem + '.pdf':<28}{pages:>6}{ceiling:>9.1f}{plumber:>9.1f}{cam:>9.1f}{ours:>10.1f}"
            f"{ours / plumber:>11.0%}"
        )
    print()
    print(f"{'text export':<28}{'lines':>6}{'docs/s':>9}{'lines/s':>10}")
    for kind, stem in DOCS:
        txt = ROOT / "raw" / f"{stem}.txt"
        lines = txt.read_text(encoding="utf-8").count("\n") + 1
        seconds = timed(lambda p=txt, k=kind: extract_document(p, kind=k), args.repeat)
        print(f"{stem + '.txt':<28}{lines:>6}{1 / seconds:>9.1f}{lines / seconds:>10.0f}")


if __name__ == "__main__":
    main()
