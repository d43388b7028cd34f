"""What the per-document limits cost (issues 17 §3, 19): a normal run of the bundled documents
with each batch's extraction in a child process under its limits (``isolated``, what runs
do) vs in the run's own process (``in-process``, as before the limits).

Each round runs ``plan-etl``'s refresh once per mode, each in a fresh Python process (peak
memory is a per-process high-water mark), the modes interleaved; it prints per mode the
median wall time of the run and of its "process plans" stage, the peak RSS of the run's
process (ru_maxrss) and of its extraction child (VmHWM), and the ratios isolated / in-process. Then the
time and peak memory of each hostile document against its limit.

    .venv/bin/python bench/faults.py [--repeat 3] [--prefer pdf|text]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "fixtures" / "samples"
XLSX = ROOT / "tests" / "fixtures" / "xlsx"
MODES = ("in-process", "isolated")


def one_run(mode: str, prefer: str) -> None:
    """In a fresh process: one refresh of the bundled documents; prints its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    import pipeline.refresh.batch as batch
    from extractors.extract import extract_document
    from pipeline.refresh.run import refresh

    if mode == "in-process":  # the extraction as it ran before the limits

        def in_process(plan_batch, cache, extractor):
            return [
                extract_document(s.path, **batch.document_arguments(s, plan_batch, cache))
                for s in plan_batch.work.extract
            ]

        batch.extract_isolated = in_process
        batch.IsolatedExtractor.start = lambda self: None  # no child
    child_peak = [0.0]
    _watch_children(child_peak)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(SAMPLES, Path(tmp) / "raw")
        started = time.perf_counter()
        summary = refresh(Path(tmp) / "raw", Path(tmp) / "curated", prefer=prefer)
        wall = time.perf_counter() - started
    assert not summary.failed, summary.failed
    print(
        json.dumps(
            {
                "wall": wall,
                "process plans": summary.stage_seconds.get("process plans", 0.0),
                "rss run": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss child": child_peak[0],
            }
        )
    )


def _watch_children(peak: list[float]) -> None:
    """Record the extraction child's peak RSS (VmHWM, MB) before it is stopped. (Not
    ru_maxrss of the children: Linux counts there the run's own RSS at the fork.)"""
    from extractors.limits import IsolatedExtractor

    close = IsolatedExtractor.close

    def watched(self) -> None:
        if self.pid:
            with open(f"/proc/{self.pid}/status") as status:
                hwm = next(line for line in status if line.startswith("VmHWM:"))
            peak[0] = max(peak[0], int(hwm.split()[1]) / 1024)
        close(self)

    IsolatedExtractor.close = watched


def _measure(mode: str, prefer: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", mode, "--prefer", prefer],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _hostile() -> None:
    """Each hostile document of tests/faults against its limit: seconds and peak MB to fail."""
    sys.path.insert(0, str(ROOT / "tests" / "faults"))
    from hostile import TEXT, pdf, ruled_grid

    cases = {
        "2,001-page PDF": ("p.pdf", lambda: pdf(TEXT, pages=2001)),
        "14,400 pt MediaBox": ("m.pdf", lambda: pdf(TEXT, width=14400, height=14400)),
        "231×231 ruled grid": ("g.pdf", lambda: pdf(ruled_grid(231), width=842, height=1191)),
        "21 MB text export": ("s.txt", lambda: (b"x" * 999 + b"\n") * 21_000),
        "20,001-char line": ("l.txt", lambda: b"x" * 20_001),
        **{
            f"xlsx {label}": (name, lambda name=name: (XLSX / name).read_bytes())
            for label, name in (
                ("dimension bomb", "dimension_bomb.xlsx"),
                ("A1000000 bomb", "row_million.xlsx"),
                ("zip-ratio bomb", "ratio_bomb.xlsx"),
            )
        },
    }
    print("hostile document      seconds  peak MB (a fresh child each; must-show: the 4.8 KB")
    print("                                       dimension bomb under 5 s and 200 MB)")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (name, make) in cases.items():
            path = Path(tmp) / name
            path.write_bytes(make())
            code = (
                f"import sys, time, resource; sys.path.insert(0, {str(ROOT)!r}); "
                "from extractors.extract import extract_document; from pathlib import Path; "
                f"t = time.perf_counter(); o = extract_document(Path({str(path)!r})); "
                "assert o.document['status'] == 'failed', o.document; "
                "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
            )
            seconds, peak = _seconds_and_peak(code)
            print(f"{label:<21} {seconds:7.2f}  {peak:7.0f}")
    _extract_command()


def _extract_command() -> None:
    """The dimension bomb as ``plan-etl extract`` reads it under the limits (extract_limited):
    the whole command, interpreter start and extraction child included."""
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); t = time.perf_counter(); "
        "from pathlib import Path; from extractors.limits import IsolatedExtractor; "
        "e = IsolatedExtractor(); "
        f"o = e.extract(Path({str(XLSX / 'dimension_bomb.xlsx')!r})); "
        "hwm = next(l for l in open(f'/proc/{e.pid}/status') if l.startswith('VmHWM:')); e.close(); "
        "assert o.document['status'] == 'failed', o.document; "
        "print(time.perf_counter() - t, int(hwm.split()[1]) / 1024)"
    )
    seconds, peak = _seconds_and_peak(code)
    print(f"{'bomb, limited child':<21} {seconds:7.2f}  {peak:7.0f}  (start to failed outcome)")


def _seconds_and_peak(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; it prints its seconds and peak MB."""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    seconds, peak = out.stdout.split()
    return float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--prefer", choices=["pdf", "text"], default="pdf")
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run(args.one, args.prefer)
        return
    figures: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for _ in range(args.repeat):
        for mode in MODES:
            figures[mode].append(_measure(mode, args.prefer))
    keys = ("wall", "process plans", "rss run", "rss child")
    median = {m: {k: statistics.median(f[k] for f in figures[m]) for k in keys} for m in MODES}
    print(f"bundled documents ({args.prefer}), median of {args.repeat} interleaved runs per mode")
    print(f"{'mode':<11} {'run s':>7} {'plans s':>8} {'run MB':>7} {'child MB':>9}")
    for m in MODES:
        f = median[m]
        print(f"{m:<11} {f['wall']:7.2f} {f['process plans']:8.2f} {f['rss run']:7.0f} {f['rss child']:9.0f}")
    iso, inp = median["isolated"], median["in-process"]
    print(
        f"isolated / in-process: run time {iso['wall'] / inp['wall']:.2f}×, process plans "
        f"{iso['process plans'] / inp['process plans']:.2f}×, peak RSS of the run's process "
        f"{iso['rss run'] / inp['rss run']:.2f}×, largest process "
        f"{max(iso['rss run'], iso['rss child']) / max(inp['rss run'], inp['rss child']):.2f}×, "
        f"both peaks summed (an upper bound of the memory used at once) "
        f"{(iso['rss run'] + iso['rss child']) / (inp['rss run'] + inp['rss child']):.2f}×"
    )
    _hostile()


if __name__ == "__main__":
    main()
