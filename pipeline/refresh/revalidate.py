"""``plan-etl validate`` (再検証): the validation suites run again over ``curated/`` and their
tables loaded — after the state is made whole the way a run makes it: a publish a killed
process left is completed (or its generation removed), and tables of an older version of
plan-etl, in ``curated/`` or the warehouse, are brought to today's columns by loading every
table again (as a run reloads a warehouse that lost the last run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.load import complete_interrupted_publish, load_all, replace_tables
from pipeline.load.lock import curated_lock
from pipeline.load.warehouse import open_warehouse, redact
from pipeline.refresh.run import RunFailed
from pipeline.report.html import ReportInput, write_report
from pipeline.state.previous import Previous, canonical_order
from pipeline.validate.gx import validate_all
from schemas import TABLES


@dataclass
class Revalidation:
    """What ``plan-etl validate`` did: the results and findings, the report written, and
    one line per repair of the state (completed publish, tables converted)."""

    results: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    report: Path
    messages: list[str] = field(default_factory=list)


def revalidate(curated: Path, warehouse: str, run_id: str, raw_dir: Path | None = None) -> Revalidation:
    """Validate the tables of ``curated`` again and replace the validation tables in
    ``curated`` and ``warehouse`` (every table when either holds another version's columns);
    write the report, its findings linked to the documents under ``raw_dir``. Holds the
    curated folder's lock; raises RunLocked, RunFailed or WarehouseError in one line."""
    with curated_lock(curated, f"validate {run_id}") as stale:
        messages = [f"removed {name}, left in {curated} by an interrupted run" for name in stale]
        messages += complete_interrupted_publish(curated, warehouse)
        previous = Previous(curated)
        tables = _today(previous)
        results, findings = validate_all({n: t.to_pylist() for n, t in tables.items()}, run_id, tables)
        fresh = {"validation_results": results, "validation_findings": findings}
        problem = _older_version(previous, warehouse)
        if problem is None:
            replace_tables(curated, warehouse, fresh)
        else:
            tables |= {n: canonical_order(n, TABLES[n].to_arrow(rows)) for n, rows in fresh.items()}
            load_all(curated, warehouse, tables)
            messages.append(f"{problem} — every table loaded again in today's columns")
        shown = ReportInput(results, findings, tables["documents"], raw_dir=raw_dir)
        report = write_report(shown, curated / "validation" / "index.html")
    return Revalidation(results, findings, report, messages)


def _today(previous: Previous) -> dict[str, Any]:
    """Every curated table in today's columns (an older version's: added columns empty)."""
    try:
        return {name: previous.table(name) for name in TABLES}
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
        shown = "; ".join(previous.problems()[:1]) or str(exc).splitlines()[0]
        raise RunFailed(f"{shown} — run `plan-etl run` to rebuild the tables first") from exc


def _older_version(previous: Previous, warehouse: str) -> str | None:
    """Why the tables are not all today's (curated/ first, then the warehouse), or None."""
    import pyarrow.parquet as pq

    problems = [p for p in previous.problems() if "another version" in p or p.endswith("is missing")]
    runs = Path(previous.dir) / "runs.parquet"
    if runs.exists() and pq.read_schema(runs).names != TABLES["runs"].column_names:
        problems.append(f"{runs} has the columns of another version of plan-etl")
    if problems:
        return "; ".join(problems[:3]) + (f" … ({len(problems)} tables in all)" if len(problems) > 3 else "")
    target = open_warehouse(warehouse)
    with target.transaction():
        problem = target.schema_problem()
    return f"{redact(warehouse)}: {problem}" if problem else None
