"""Nightly refresh at scale: a synthetic corpus of one plan document per local government.

    .venv/bin/python bench/refresh.py [--count 1788] [--pdf-share 0.05] [--workers 1 2] [--keep DIR]
                                      [--pdf-engine pdfium|plumber]

Builds the corpus from the bundled real documents (names and numbers varied so that every
file is distinct; text and PDF mixed), starts a Prefect server on loopback (and prints its
start-up time on its own line), then prints: full refresh wall time and documents/s per
worker count, a no-op refresh, a refresh with one document changed, peak memory, and the
share of wall time spent outside extraction.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.settings import configure_environment  # noqa: E402

configure_environment()

KINDS = [("progress_sheets", "kama/progress_sheets"), ("action_plan", "kama/action_plan")]
PREFECTURES = 47


def _vary_text(text: str, rng: random.Random, n: int) -> str:
    """Same structure, other numbers and names: digits of KPI baselines shift."""
    out = []
    for line in text.split("\n"):
        if "\t" in line and any(ch.isdigit() for ch in line) and rng.random() < 0.5:
            line = line.replace("4,755", f"{4000 + n:,}").replace("\t10\t", f"\t{10 + n % 7}\t")
        out.append(line)
    return "\n".join(out).replace("嘉麻市", f"市町村{n:04d}").replace("千葉県", f"県{n % PREFECTURES:02d}")


def build_corpus(raw: Path, count: int, pdf_share: float, seed: int = 7) -> int:
    rng = random.Random(seed)
    plans = []
    for n in range(count):
        prefectural = n < PREFECTURES
        kind, stem = ("strategy_framework", "chiba/strategy_framework") if prefectural else KINDS[n % 2]
        folder = raw / (f"pref-{n:02d}" if prefectural else f"pref-{n % PREFECTURES:02d}/city-{n:04d}")
        folder.mkdir(parents=True, exist_ok=True)
        if rng.random() < pdf_share:
            name = f"{kind}.pdf"
            # A trailing comment after %%EOF makes each copy distinct bytes; readers ignore it.
            (folder / name).write_bytes(
                (ROOT / "raw" / f"{stem}.pdf").read_bytes() + f"\n% copy {n}\n".encode()
            )
        else:
            name = f"{kind}.txt"
            text = (ROOT / "raw" / f"{stem}.txt").read_text(encoding="utf-8")
            (folder / name).write_text(_vary_text(text, rng, n), encoding="utf-8")
        level = "prefectural" if prefectural else "municipal"
        issuer = f"pref-{n:02d}" if prefectural else f"gov-{n:04d}"
        plans.append(
            f"  - plan_id: plan-{n:04d}\n    level: {level}\n    issuer: {issuer}\n"
            f"    prefecture: pref-{n % PREFECTURES:02d}\n    fiscal_years: [2023, 2027]\n"
            f"    documents:\n      - path: {folder.relative_to(raw).as_posix()}/{name}\n        kind: {kind}\n"
        )
    (raw / "sources.yaml").write_text("plans:\n" + "".join(plans), encoding="utf-8")
    return count


def peak_mb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(self_kb, child_kb) / 1024


#: The PDF engine of every run (``--pdf-engine``; None: the default engine).
PDF_ENGINE: str | None = None


def timed_run(raw: Path, curated: Path, workers: int, dask_address: str | None = None):
    from flows.nightly_refresh import run_refresh

    t = time.perf_counter()
    summary = run_refresh(raw, curated, workers=workers, dask_address=dask_address, pdf_engine=PDF_ENGINE)
    return time.perf_counter() - t, summary


def full_refresh(raw: Path, curated: Path, workers: int):
    """A full refresh; with several workers on a local Dask cluster started beforehand, whose
    start-up is printed on its own line (as a team's standing cluster would not pay it)."""
    if workers <= 1:
        return measured(raw, curated, workers)
    from distributed import LocalCluster

    t = time.perf_counter()
    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        preload=["flows.worker"],
    ) as cluster:
        print(
            f"dask cluster of {workers} workers start-up, workers preloaded with flows.worker (paid apart, "
            f"as by a standing cluster; `--workers N` pays it per run): {time.perf_counter() - t:.1f} s"
        )
        return measured(raw, curated, workers, cluster.scheduler_address)


def measured(raw: Path, curated: Path, workers: int, dask_address: str | None = None):
    """A timed run and the CPU each process spent during it."""
    before = cpu_by_process()
    wall, summary = timed_run(raw, curated, workers, dask_address)
    after = cpu_by_process()
    return wall, summary, {k: v - before.get(k, 0.0) for k, v in after.items()}


def cpu_by_process() -> dict[str, float]:
    """CPU seconds so far of this process and its descendants, by role (user + system)."""
    import psutil

    me = psutil.Process()
    out: dict[str, float] = {}
    for proc in [me, *me.children(recursive=True)]:
        try:
            cmd = " ".join(proc.cmdline())
            times = proc.cpu_times()
        except psutil.Error:
            continue
        role = (
            "flow + dask scheduler (this process)"
            if proc.pid == me.pid
            else "prefect server"
            if "prefect" in cmd and "server" in cmd
            else "dask workers"
            if "multiprocessing" in cmd
            else "other"
        )
        out[role] = out.get(role, 0.0) + times.user + times.system
    return out


def timeline(spans: list[tuple[float, float, int]], stage: float) -> str:
    """How the workers spent the process-plans stage: tasks per worker, busy share, the wait
    before the first task and the tail after the first worker ran out of work."""
    if not spans:
        return "no tasks"
    start = min(a for a, _, _ in spans)
    end = max(b for _, b, _ in spans)
    by_worker: dict[int, list[tuple[float, float]]] = {}
    for a, b, pid in spans:
        by_worker.setdefault(pid, []).append((a, b))
    busy = sum(b - a for a, b, _ in spans)
    first_idle = min(max(b for _, b in ts) for ts in by_worker.values())
    return (
        f"tasks: {len(spans)} on {len(by_worker)} worker process(es), "
        f"{', '.join(str(len(ts)) for ts in by_worker.values())} each; first to last task {end - start:.1f} s "
        f"of the {stage:.1f} s stage; tasks busy {busy / (len(by_worker) * (end - start)):.0%} of it; "
        f"tail (one worker idle) {end - first_idle:.1f} s"
    )


def cli_run(raw: Path, curated: Path, api_url: str) -> tuple[float, float]:
    """``plan-etl run`` in a new process (what cron does): its wall time, and that time less
    the start-up of such a process (Python, the CLI, Prefect and the flow module imported)."""
    import os
    import subprocess

    env = {**os.environ, "PREFECT_API_URL": api_url}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import cli.main, flows.nightly_refresh"], check=True, env=env, cwd=ROOT
    )
    startup = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "plan-etl"),
            "run",
            "--raw",
            str(raw),
            "--curated",
            str(curated),
            "-q",
            *(["--pdf-engine", PDF_ENGINE] if PDF_ENGINE else []),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t
    return wall, wall - startup


def print_full_refresh(raw: Path, curated: Path, workers: int) -> None:
    """Time a full refresh from scratch and print its figures."""
    shutil.rmtree(curated, ignore_errors=True)
    wall, s, cpu = full_refresh(raw, curated, workers)
    outside = max(0.0, 1 - s.extract_seconds / max(wall * workers, 1e-9))
    engine = PDF_ENGINE or "default (pdfium)"
    print(
        f"full refresh, {workers} worker(s), PDF engine {engine}: {wall:.1f} s, {s.seen / wall:.1f} documents/s, "
        f"{s.extracted} extracted, {len(s.failed)} failed; outside extraction {outside:.0%} "
        f"(extraction {s.extract_seconds:.1f} s of CPU)"
    )
    print("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in s.stage_seconds.items()))
    print(
        "  inside the tasks (CPU, all workers): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in s.task_seconds.items())
    )
    print("  " + timeline(s.task_spans, s.stage_seconds["process plans"]))
    print("  CPU by process: " + ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items()))


def print_incremental(raw: Path, curated: Path, url: str, bring_up_to_date: bool) -> None:
    """Time the no-op and one-change refreshes (in this process and in a fresh one)."""
    if bring_up_to_date:
        wall, s = timed_run(raw, curated, 1)
        print(f"bring the kept state up to date: {wall:.1f} s ({s.extracted} extracted)")
    wall, s = timed_run(raw, curated, 1)
    print(f"no-op refresh: {wall:.2f} s ({s.skipped_unchanged} unchanged)")
    print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in s.stage_seconds.items()))
    changed = next(raw.rglob("*.txt"))
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    wall, s = timed_run(raw, curated, 1)
    print(
        f"one document changed: {wall:.2f} s ({s.extracted} extracted, extraction {s.extract_seconds:.2f} s)"
    )
    print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in s.stage_seconds.items()))
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    wall, own = cli_run(raw, curated, url)
    print(
        f"one document changed, a fresh `plan-etl run` process (as from cron): {wall:.2f} s, "
        f"of which the run itself {own:.2f} s (the rest: starting Python, importing Prefect)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1788)
    ap.add_argument("--pdf-share", type=float, default=0.05)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    ap.add_argument(
        "--incremental-only",
        action="store_true",
        help="with --keep: skip the full refreshes, bring the kept state up to date, "
        "then time the no-op and one-change refreshes",
    )
    ap.add_argument("--pdf-engine", choices=["pdfium", "plumber"], help="PDF engine of every run")
    args = ap.parse_args()
    global PDF_ENGINE
    PDF_ENGINE = args.pdf_engine
    from flows.prefect_server import prefect_server

    base = args.keep or Path(tempfile.mkdtemp(prefix="plan-etl-bench-"))
    raw = base / "raw"
    if not (raw / "sources.yaml").exists():
        t = time.perf_counter()
        build_corpus(raw, args.count, args.pdf_share)
        print(f"corpus: {args.count} documents ({args.pdf_share:.0%} PDF) in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    with prefect_server() as url:
        print(
            f"prefect server start-up (paid once; a run without a server pays it per process): "
            f"{time.perf_counter() - t:.1f} s  [{url}]"
        )
        for workers in [] if args.incremental_only else args.workers:
            print_full_refresh(raw, base / f"curated-{workers}", workers)
        # The incremental refreshes run as cron runs them: sequentially (one worker), on the
        # state of the last full refresh.
        print_incremental(raw, base / f"curated-{args.workers[-1]}", url, args.incremental_only)
    print(f"peak memory: {peak_mb():.0f} MB")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
