"""Configuration mistakes a new user makes, through the installed ``plan-etl`` command.

    .venv/bin/python bench/mistakes.py [--repeat 3] [--target 3.0]

Each mistake runs in a fresh copy of the bundled samples (tests/fixtures/samples) with no
Prefect server configured (PREFECT_API_URL unset). For each it prints the median wall seconds
over ``--repeat`` runs, the exit code, whether the output is exactly one ``error:`` line with
no traceback, and that line. Exit status 1 when any mistake misses the target (``--target``
seconds, exit 2, one line).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "fixtures" / "samples"
PLAN_ETL = Path(sys.executable).parent / "plan-etl"

Setup = Callable[[Path], list[str]]  # a fresh work folder → the command's arguments


def _manifest_line(work: Path, old: str, new: str) -> None:
    manifest = work / "raw" / "sources.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert old in text, old
    manifest.write_text(text.replace(old, new, 1), encoding="utf-8")


def _closed_port() -> int:
    """A loopback port nothing listens on (a PostgreSQL server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*extra: str) -> Setup:
    return lambda work: ["run", "--raw", str(work / "raw"), "--curated", str(work / "curated"), *extra]


def _unknown_kind(work: Path) -> list[str]:
    _manifest_line(work, "kind: action_plan", "kind: minutes")
    return _run()(work)


def _outside_raw(work: Path) -> list[str]:
    _manifest_line(work, "path: kama/action_plan.pdf", "path: ../../etc/passwd")
    return _run()(work)


MISTAKES: dict[str, Setup] = {
    "run --raw /nope": lambda work: ["run", "--raw", "/nope", "--curated", str(work / "curated")],
    "--warehouse sqlite:///x.db": _run("--warehouse", "sqlite:///x.db"),
    "--warehouse duckdb://x.duckdb (two slashes)": _run("--warehouse", "duckdb://x.duckdb"),
    "sources.yaml kind: minutes": _unknown_kind,
    "sources.yaml path: ../../etc/passwd": _outside_raw,
    "PostgreSQL down": lambda work: _run(
        "--warehouse", f"postgresql://plan@127.0.0.1:{_closed_port()}/plans"
    )(work),
    "serve --raw /nope": lambda work: ["serve", "--raw", "/nope", "--curated", str(work / "curated")],
    # click's usage errors: one line with the command's --help, not click's usage block
    "actuals-template without --year": lambda work: ["actuals-template", "kama-sme-2", "-o", "a.xlsx"],
    "run --prefe text (unknown option)": _run("--prefe", "text"),
    "run --prefer word (bad choice)": _run("--prefer", "word"),
    "run --workers 0 (out of range)": _run("--workers", "0"),
    "plan-etl rnu (unknown command)": lambda work: ["rnu"],
    "extract without FILE": lambda work: ["extract"],
}


def attempt(setup: Setup) -> tuple[float, int, str]:
    """One run of a mistake in a fresh folder: wall seconds, exit code, combined output."""
    with tempfile.TemporaryDirectory(prefix="plan-etl-mistake-") as tmp:
        work = Path(tmp)
        shutil.copytree(SAMPLES, work / "raw")
        args = setup(work)
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env["COLUMNS"] = "200"
        started = time.perf_counter()
        proc = subprocess.run(
            [str(PLAN_ETL), *args], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        seconds = time.perf_counter() - started
    return seconds, proc.returncode, proc.stdout + proc.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per mistake (the median is printed)")
    parser.add_argument("--target", type=float, default=3.0, help="seconds a mistake may take")
    args = parser.parse_args()
    if not PLAN_ETL.exists():
        print(f"no installed plan-etl at {PLAN_ETL}: run `make` first", file=sys.stderr)
        return 2
    print(f"{'mistake':<46} {'wall s':>7} {'exit':>4}  one error: line  output")
    missed = 0
    for name, setup in MISTAKES.items():
        runs = [attempt(setup) for _ in range(args.repeat)]
        seconds = statistics.median(r[0] for r in runs)
        _, code, output = runs[-1]
        lines = [line for line in output.splitlines() if line.strip()]
        one_line = len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in output
        ok = one_line and code == 2 and seconds < args.target
        missed += not ok
        shown = lines[0] if len(lines) == 1 else f"{len(lines)} lines: " + " ⏎ ".join(lines[:3])
        print(f"{name:<46} {seconds:7.2f} {code:>4}  {'yes' if one_line else 'NO ':<15}  {shown}")
    verdict = "every mistake" if not missed else f"{missed} of {len(MISTAKES)} mistakes NOT"
    print(
        f"{verdict} answered with one error: line, exit 2, under {args.target:g} s (median of {args.repeat})"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
