"""Extraction speed on the bundled documents: pages/s per kind and format.

Prints, for each PDF, side by side in one run and on the same pages: pypdfium2 raw text (the
ceiling), pdfplumber ``extract_text`` (the peer baseline), camelot lattice (``--camelot``),
plan-etl's reader with each engine (``plumber``: pdfplumber, the reference; ``pdfium``:
pypdfium2, the default) and plan-etl's full extraction (read + parse + normalize, default
engine); then the pdfium engine's and the full extraction's rates over ``extract_text``'s
(issue 21 asks ≥ 3× for the full extraction), the latter also by CPU time. Each figure is the median of ``--repeat``
rounds, the methods interleaved within a round; the load average before and after is printed
(the machine may be shared: the ratios hold better than the rates). Then a parser-only re-extraction
of the three PDFs: full extraction reading them vs taking their grids from the grid cache
(``extractors.cache``). Text exports are timed too.

    .venv/bin/python bench/extract.py [--repeat 5] [--camelot]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractors.cache import load  # noqa: E402
from extractors.extract import extract_document  # noqa: E402
from extractors.readers.pdf import read_pdf  # noqa: E402

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


def interleaved(
    methods: dict[str, Callable[[], object]], rounds: int, cpu: dict[str, float] | None = None
) -> dict[str, float]:
    """Median seconds per method; each round runs every method once, in turn. ``cpu``, when
    given, receives each method's median CPU seconds (this process's: steadier than the wall
    clock when other processes share the cores)."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    cpu_times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for name, fn in methods.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - t)
            cpu_times[name].append(time.process_time() - c)
    if cpu is not None:
        cpu.update({name: statistics.median(ts) for name, ts in cpu_times.items()})
    return {name: statistics.median(ts) for name, ts in times.items()}


def print_grid_cache(rounds: int) -> None:
    """Seconds to re-extract the three bundled PDFs (read + parse) when they are read and
    when their grids come from a warm grid cache, interleaved rounds, median."""
    pdfs = [(kind, ROOT / "raw" / f"{stem}.pdf") for kind, stem in DOCS]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / ".grid-cache"
        for kind, pdf in pdfs:  # warm the cache
            extract_document(pdf, kind=kind, grid_cache=cache)

        def run(grid_cache: Path | None) -> None:
            for kind, pdf in pdfs:
                outcome = extract_document(pdf, kind=kind, grid_cache=grid_cache)
                assert outcome.document["grid_source"] == ("cache" if grid_cache else "read")

        entries = list(cache.rglob("*.pickle"))
        seconds = interleaved(
            {
                "read": lambda: run(None),
                "cache": lambda: run(cache),
                "grids read": lambda: [read_pdf(pdf, pdf.read_bytes()) for _, pdf in pdfs],
                "grids unpickled": lambda: [load(entry) for entry in entries],
            },
            rounds,
        )
    print(
        f"parser-only re-extraction from the grid cache ({len(pdfs)} PDFs, read + parse): "
        f"read {seconds['read']:.2f} s, from the cache {seconds['cache']:.2f} s "
        f"({seconds['read'] / seconds['cache']:.1f}× faster); the grids alone: read "
        f"{seconds['grids read']:.2f} s, unpickled {seconds['grids unpickled']:.3f} s "
        f"({seconds['grids read'] / seconds['grids unpickled']:.0f}×)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--camelot", action="store_true", help="also time camelot lattice (slow)")
    args = ap.parse_args()
    cols = ["pdfium text", "extract_text", "camelot", "plumber eng", "pdfium eng", "full"]
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"{'document':<28}{'pages':>6}"
        + "".join(f"{c:>13}" for c in cols)
        + f"{'pdfium eng /':>14}{'full /':>14}{'full / (CPU)':>14}"
    )
    print(f"{'':<28}{'':>6}" + "".join(f"{'pages/s':>13}" for _ in cols) + f"{'extract_text':>14}" * 3)
    for kind, stem in DOCS:
        pdf = ROOT / "raw" / f"{stem}.pdf"
        data = pdf.read_bytes()
        grid = read_pdf(pdf, data, engine="pdfium")
        pages = grid.pages
        methods: dict[str, Callable[[], object]] = {
            "pdfium text": lambda p=pdf: pdfium_text(p),
            "extract_text": lambda p=pdf: plumber_text(p),
            "plumber eng": lambda p=pdf, d=data: read_pdf(p, d, engine="plumber"),
            "pdfium eng": lambda p=pdf, d=data: read_pdf(p, d, engine="pdfium"),
            "full": lambda p=pdf, k=kind: extract_document(p, kind=k),
        }
        cpu: dict[str, float] = {}
        seconds = interleaved(methods, args.repeat, cpu)
        seconds["camelot"] = timed(lambda p=pdf: camelot_lattice(p), 1) if args.camelot else float("nan")
        rates = {name: pages / seconds[name] for name in cols}
        ratio = rates["pdfium eng"] / rates["extract_text"]
        full_ratio = rates["full"] / rates["extract_text"]
        full_cpu_ratio = cpu["extract_text"] / cpu["full"]
        print(
            f"{stem + '.pdf':<28}{pages:>6}"
            + "".join(f"{rates[c]:>13.1f}" for c in cols)
            + f"{ratio:>13.2f}×{full_ratio:>13.2f}×{full_cpu_ratio:>13.2f}×"
            + ("" if grid.engine == "pdfium" else f"  ({grid.engine})")
        )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print()
    print_grid_cache(args.repeat)
    print()
    print(f"{'text export':<28}{'lines':>6}{'docs/s':>9}{'lines/s':>10}")
    for kind, stem in DOCS:
        txt = ROOT / "raw" / f"{stem}.txt"
        lines = txt.read_text(encoding="utf-8").count("\n") + 1
        seconds = timed(lambda p=txt, k=kind: extract_document(p, kind=k), args.repeat)
        print(f"{stem + '.txt':<28}{lines:>6}{1 / seconds:>9.1f}{lines / seconds:>10.0f}")


if __name__ == "__main__":
    main()
