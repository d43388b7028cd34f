"""The curated folder, published whole (公開, crash-safe): each load writes a *generation*, a
folder holding every table of the run, and one atomic switch makes it current.

```
curated/
  .generations/<generation>/<table>.parquet   one folder per load (tables a load does not
                                              change are hard links to the previous one's)
  .generations/<generation>/staged.json       written last: which run, and its checksums
  .current -> .generations/<generation>       the switch: a symlink replaced by rename
  <table>.parquet -> .current/<table>.parquet the paths users read (CONTRACT.md), unchanged
```

The generation is written while the warehouse loads; the warehouse commits only once it is
complete; then ``.current`` is switched with one ``os.replace`` — so ``curated/*.parquet``
is always one whole run, whatever moment a process dies at. The next run (holding the lock)
completes a generation whose warehouse commit happened (:func:`complete_publish`) and
removes one whose commit did not. The generation before the current one is kept, so a
reader that resolved ``.current`` before a switch can finish reading it.

Where symlinks cannot be made (``os.symlink`` fails: FAT and some network filesystems, Windows
without the privilege), ``.current`` is a pointer file holding ``.generations/<generation>``,
written by rename, and each ``<table>.parquet`` a hard link to (else a copy of) the current
generation's file, also put in place by rename. The switch is still one rename and a killed
publish is completed the same way; but a reader of the table paths may, during a publish, see
tables of two runs (one by one, each whole): read through the pointer file to avoid it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import filecmp
import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.state.integrity import CHECKS_COLUMN, file_check, recorded_warehouse, with_checks

GENERATIONS = ".generations"
CURRENT = ".current"
MARKER = "staged.json"
OnStep = Callable[[str], Any]  # called before each step of a publish (what a test kills at)


def read_curated(curated_dir: Path, table: str) -> list[dict[str, Any]]:
    """The rows of ``curated/<table>.parquet`` as dicts (empty when the file is absent)."""
    import pyarrow.parquet as pq

    path = curated_dir / f"{table}.parquet"
    if not path.exists():
        return []
    return pq.read_table(path).to_pylist()


def stage_curated(curated_dir: Path, tables: dict) -> Path:
    """Write a new generation's tables: every table given but ``runs`` (Arrow), and the tables
    of ``curated_dir`` not given, hard-linked. Its ``runs`` and marker are written by
    :func:`record_generation` once the warehouse's tables are loaded."""
    import pyarrow.parquet as pq

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = curated_dir / GENERATIONS / f"{stamp}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    for name, table in tables.items():
        if name != "runs":
            pq.write_table(table, staging / f"{name}.parquet", compression="zstd")
    _link_kept(curated_dir, staging, set(tables) | {"runs"})
    return staging


def record_generation(
    staging: Path, curated_dir: Path, runs: Any | None, warehouse: Mapping[str, str] | None = None
) -> Any | None:
    """Write the generation's ``runs`` (given, else the current one), its last row recording
    every other table — rows, size and CRC-32 of its file, and the warehouse table's checksum
    when the warehouse has a cheap one — then the generation's marker. Returns ``runs``."""
    import pyarrow.parquet as pq

    given = runs is not None
    if not given and (curated_dir / "runs.parquet").exists():  # the last run's record gets these tables
        runs = pq.read_table(curated_dir / "runs.parquet")
    if runs is None:
        return None
    index = runs.num_rows - (2 if given else 1)  # the last run's row (before tonight's, if given)
    last_run = runs.slice(index, 1).to_pylist()[0] if warehouse is not None and index >= 0 else None
    kept = recorded_warehouse(last_run)  # the tables this load did not change: as last recorded
    checks = {p.stem: file_check(p) for p in sorted(staging.glob("*.parquet")) if p.stem != "runs"}
    for name, value in {**kept, **(warehouse or {})}.items():
        if name in checks:
            checks[name]["warehouse"] = value
    runs = with_checks(runs, checks)
    pq.write_table(runs, staging / "runs.parquet", compression="zstd")
    last = runs.slice(runs.num_rows - 1).to_pylist()[0] if runs.num_rows else {}
    marker = {"runs": runs.num_rows, "run_id": last.get("run_id"), CHECKS_COLUMN: last.get(CHECKS_COLUMN)}
    _write_atomic(staging / MARKER, json.dumps(marker))
    return runs


def _link_kept(curated_dir: Path, staging: Path, written: set[str]) -> None:
    """Hard-link (else copy) the current tables a load does not write into its generation."""
    from schemas import TABLES

    for name in TABLES:
        source = curated_dir / f"{name}.parquet"
        if name in written or not source.exists():
            continue
        try:
            os.link(source.resolve(), staging / source.name)
        except OSError:  # another filesystem, or no hard links: a copy
            shutil.copyfile(source, staging / source.name)


def publish_curated(staging: Path, curated_dir: Path, on_step: OnStep | None = None) -> None:
    """Make the generation ``staging`` current: switch ``.current`` to it (one rename), make
    sure every table's top-level path links through ``.current``, and remove the generations
    older than the one it replaces. ``on_step`` is called before each step."""
    step = on_step or (lambda name: None)
    before = current_generation(curated_dir)
    if before != staging.name:
        step("switch")
        _symlink_atomic(Path(GENERATIONS) / staging.name, curated_dir / CURRENT)
        _fsync_dir(curated_dir)
    for table in sorted(staging.glob("*.parquet")):
        if not _linked(curated_dir, table.name):
            step(f"link {table.name}")
            _symlink_atomic(Path(CURRENT) / table.name, curated_dir / table.name)
    for old in sorted((curated_dir / GENERATIONS).iterdir()):
        if old.name not in (staging.name, before):
            step(f"remove {old.name}")
            shutil.rmtree(old, ignore_errors=True)


def complete_publish(curated_dir: Path, committed: Callable[[dict[str, Any]], bool]) -> list[str]:
    """After a process died: publish the newest generation newer than the current one whose
    warehouse load committed (``committed(marker)``), remove the others; finish a publish
    interrupted between its steps. Returns what was done, one line each."""
    folder = curated_dir / GENERATIONS
    if not folder.is_dir():
        return []
    current = current_generation(curated_dir)
    pending = sorted(g for g in folder.iterdir() if current is None or g.name > current)
    done: list[str] = []
    chosen = next((g for g in reversed(pending) if (g / MARKER).exists() and committed(_marker(g))), None)
    for generation in pending:
        if generation != chosen:
            shutil.rmtree(generation, ignore_errors=True)
            done.append(f"removed {GENERATIONS}/{generation.name}, left by a run whose load never committed")
    if chosen is not None:
        publish_curated(chosen, curated_dir)
        done.append(
            f"completed the publish of run {_marker(chosen).get('run_id')} in {curated_dir}: its warehouse "
            "load had committed (the process stopped before its files were in place)"
        )
    elif (
        current is not None
        and (folder / current).is_dir()
        and (missing := _links_missing(curated_dir, folder / current))
    ):
        publish_curated(folder / current, curated_dir)
        done.append(
            f"{curated_dir}: {missing} table paths linked again to the tables of run "
            f"{_marker(folder / current).get('run_id')} (a publish cut short, or paths removed)"
        )
    return done


def _links_missing(curated_dir: Path, generation: Path) -> int:
    """How many of the generation's tables have no top-level path linked through ``.current``."""
    return sum(not _linked(curated_dir, table.name) for table in generation.glob("*.parquet"))


def _linked(curated_dir: Path, name: str) -> bool:
    """``curated/<name>`` is the link through ``.current`` (not a file, not missing) or, where
    the folder has no symlinks, the current generation's file itself (a hard link or a copy)."""
    link = curated_dir / name
    if link.is_symlink() or (curated_dir / CURRENT).is_symlink():  # symlinks work here
        return link.is_symlink() and Path(os.readlink(link)) == Path(CURRENT) / name
    current = current_generation(curated_dir)
    table = curated_dir / GENERATIONS / (current or "") / name
    if current is None or not link.is_file() or not table.is_file():
        return False
    return os.path.samefile(link, table) or filecmp.cmp(link, table, shallow=False)


def _marker(generation: Path) -> dict[str, Any]:
    try:
        return json.loads((generation / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def current_generation(curated_dir: Path) -> str | None:
    """The current generation's name: the target of ``.current``, a symlink, or the path it
    holds where it is a pointer file (None before the first publish, or in a copied folder)."""
    link = curated_dir / CURRENT
    if link.is_symlink():
        return Path(os.readlink(link)).name
    if link.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return Path(link.read_text(encoding="utf-8").strip()).name or None
    return None


def _symlink_atomic(target: Path, link: Path) -> None:
    """``link`` → ``target``, replaced in one rename (a real folder there — a copied
    ``curated/`` — is removed first). Where symlinks cannot be made (some filesystems, Windows
    without the privilege), ``.current`` becomes a pointer file holding ``target`` and a table
    path a hard link to (else a copy of) the current generation's file, each put in place by
    one rename."""
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        os.symlink(target, temporary)
    except (OSError, NotImplementedError):
        _place_without_symlink(target, link, temporary)
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    os.replace(temporary, link)


def _place_without_symlink(target: Path, link: Path, temporary: Path) -> None:
    """Write at ``temporary`` what replaces the symlink ``link`` → ``target``: the pointer file
    (``.current``), or the table file of the generation ``.current`` names."""
    if link.name == CURRENT:
        _write_synced(temporary, f"{target.as_posix()}\n")
        return
    source = link.parent / GENERATIONS / (current_generation(link.parent) or "") / link.name
    try:
        os.link(source, temporary)
    except OSError:  # no hard links either: a copy
        shutil.copyfile(source, temporary)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    _write_synced(temporary, text)
    os.replace(temporary, path)


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
