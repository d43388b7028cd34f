"""The nightly refresh as plain functions: discover → plan the work (skip unchanged
documents, find the plans to recompute) → process plans (a batch of whole plans at a time:
extract, derive, validate; :mod:`pipeline.refresh.batch`) → compare → merge with the rows
carried over → load (by delta when the warehouse holds the last run) → report.

Every decision of a run is made here, callable and testable without Prefect. How the steps
run is injected (:class:`Steps`): plain calls in this process by default; the Prefect flow
(:mod:`flows.nightly_refresh`) passes its tasks, and a Dask task runner runs the batches in
other processes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.discover.manifest import Manifest, load_manifest
from pipeline.discover.sources import materialize
from pipeline.load import Delta, complete_interrupted_publish, load_all, read_history, replace_tables
from pipeline.load.lock import curated_lock
from pipeline.load.warehouse import redact
from pipeline.refresh.batch import BatchResult, PlanBatch, plan_batches, process_batch
from pipeline.refresh.progress import notify
from pipeline.refresh.summary import RunSummary, new_run_id
from pipeline.report.html import ReportInput, write_report
from pipeline.state.integrity import recorded_rows, recorded_warehouse
from pipeline.state.previous import PAIR_TABLE, Comparisons, Previous, carry_plans, merge, validation_counts
from pipeline.state.versions import derivation_version
from pipeline.state.work import WorkPlan, affected_plans, assemble, plan_work
from schemas import TABLES


class _Done:
    """A batch processed at once, in this process (what ``Steps.submit`` returns by default)."""

    def __init__(self, value: BatchResult) -> None:
        self.value = value

    def result(self) -> BatchResult:
        return self.value


def _process_now(batch: PlanBatch) -> _Done:
    return _Done(process_batch(batch))


@dataclass(frozen=True)
class Steps:
    """How a refresh runs its steps. Defaults: plain calls in this process.

    ``submit`` starts a batch and returns an object with ``result()``; ``remote`` says the
    batches run in other processes, so their documents' progress is reported when they are
    back (in this process each document is reported as it is extracted).
    """

    discover: Callable[[Path, str | None, str | None], Manifest] = load_manifest
    plan: Callable[[Manifest, list[dict[str, Any]]], WorkPlan] = plan_work
    submit: Callable[[PlanBatch], Any] = _process_now
    load: Callable[..., tuple[dict[str, int], str]] = load_all
    remote: bool = False
    flow_run_id: str | None = None  # the Prefect flow run the steps belong to (recorded in runs)
    stop: Callable[[], None] | None = None  # Ctrl-C/SIGTERM: stops the batches running elsewhere


@dataclass
class Decision:
    """What tonight's run must do, decided from the manifest and the last run."""

    manifest: Manifest
    previous: Previous
    work: WorkPlan
    affected: set[str] = field(default_factory=set)  # plans to recompute
    rebuild: bool = False  # every plan recomputed (derivation code or schema changed)
    unchanged: bool = False  # nothing to extract, remove or recompute
    last_run: dict[str, Any] = field(default_factory=dict)
    warehouse_problem: str | None = None  # the warehouse does not hold the last run: no delta


def refresh(
    raw_dir: str | Path = "raw",
    curated_dir: str | Path = "curated",
    warehouse: str | None = None,
    prefer: str | None = None,
    workers: int = 1,
    steps: Steps | None = None,
    pdf_engine: str | None = None,
) -> RunSummary:
    """Refresh ``curated/`` and the warehouse from the documents under ``raw_dir``.

    ``prefer`` (``pdf`` | ``text``) picks which format of a document listed with alternates
    is extracted; by default the manifest's ``path``. ``pdf_engine`` reads every PDF with that
    engine (``pdfium``, the default, or ``plumber``). One run at a time per curated folder
    (:mod:`pipeline.load.lock`): a second one fails at once with ``RunLocked``.
    """
    curated = Path(curated_dir)
    started = dt.datetime.now(dt.UTC)
    steps = steps or Steps()
    summary = RunSummary(run_id=new_run_id(started), started_at=started, flow_run_id=steps.flow_run_id)
    on_stop = [steps.stop] if steps.stop else []
    with curated_lock(curated, f"run {summary.run_id}", on_stop) as stale:
        summary.messages += [f"removed {name}, left in {curated} by an interrupted run" for name in stale]
        raw = materialize(raw_dir, curated / ".raw-mirror")  # an fsspec URL is mirrored locally
        warehouse = warehouse or default_warehouse(curated)
        summary.messages += complete_interrupted_publish(curated, warehouse)
        return run_locked(raw, curated, warehouse, (prefer, pdf_engine), workers, summary, steps)


def preflight(
    raw_dir: str | Path,
    curated_dir: str | Path,
    warehouse: str | None = None,
    prefer: str | None = None,
    pdf_engine: str | None = None,
) -> str:
    """Check what a run needs before any work starts — the per-document limits set in the
    environment, the manifest and its paths, the warehouse URL and that the warehouse can be
    opened — and return the warehouse URL. Raises RunFailed, ManifestError or WarehouseError
    with one line that says what to fix."""
    from extractors.limits import ExtractionLimits
    from pipeline.discover.sources import is_url
    from pipeline.load.warehouse import open_warehouse

    try:
        ExtractionLimits.from_environment()
    except ValueError as exc:
        raise RunFailed(str(exc)) from None
    warehouse = warehouse or default_warehouse(Path(curated_dir))
    if not is_url(str(raw_dir)):
        load_manifest(Path(raw_dir), prefer, pdf_engine)
    open_warehouse(warehouse).check()
    return warehouse


def default_warehouse(curated: Path) -> str:
    """``duckdb:///<curated>/warehouse.duckdb``."""
    return f"duckdb:///{(curated / 'warehouse.duckdb').as_posix()}"


def run_locked(
    raw: Path,
    curated: Path,
    warehouse: str,
    reading: tuple[str | None, str | None],
    workers: int,
    summary: RunSummary,
    steps: Steps,
) -> RunSummary:
    """A refresh, once the curated folder's lock is held (``reading``: prefer, PDF engine)."""
    decision = decide(raw, curated, reading, summary, steps, warehouse)
    if decision.last_run.get("warehouse") == redact(warehouse):  # the state check, warehouse side
        decision.warehouse_problem = warehouse_problem(warehouse, decision)
    if decision.unchanged and decision.last_run.get("warehouse") == redact(warehouse):
        if decision.warehouse_problem is None:
            return record_noop(summary, curated, warehouse, decision.previous)
        summary.messages.append(
            f"{redact(warehouse)}: {decision.warehouse_problem} — reloaded from {curated}"
        )
        return reload_warehouse(summary, curated, warehouse, decision, steps)
    if decision.warehouse_problem:
        summary.messages.append(f"{redact(warehouse)}: {decision.warehouse_problem} — every table replaced")
    todo, rest = plan_batches(
        decision.manifest.plans,
        decision.work,
        decision.affected,
        workers,
        previous=decision.previous,
        run_id=summary.run_id,
        now=summary.started_at,
    )
    notify("start", {"total": len(decision.work.extract), "skipped": len(decision.work.reuse)})
    with summary.stage("process plans"):  # extract → assemble → derive → validate, per batch of plans
        tables, results, comparisons = process_plans(todo, decision, steps)
    summary.add_batches(results)
    with summary.stage("assemble"):
        records = assemble_run(rest, results, decision.previous)
    summary.set_documents(records["documents"])
    with summary.stage("compare"):  # the pairs of the last batch
        tables[PAIR_TABLE], records[PAIR_TABLE] = comparisons.finish()
    records["plans"] = [p.record() for _, p in sorted(decision.manifest.plans.items())]
    return finish(summary, decision, tables, records, curated, warehouse, steps)


def decide(
    raw: Path,
    curated: Path,
    reading: tuple[str | None, str | None],
    summary: RunSummary,
    steps: Steps,
    warehouse: str | None = None,
) -> Decision:
    """Discover the documents and compare them with the last run: what to extract, which
    plans to recompute, whether anything changed at all."""
    with summary.stage("discover"):
        manifest = steps.discover(raw, *reading)
        summary.messages += manifest.warnings
        previous = last_state(
            curated.resolve(), summary, warehouse
        )  # the last run's tables, each read once, as Arrow
        previous_docs = previous.rows("documents")
        work = steps.plan(manifest, previous_docs)
    summary.note_work(manifest, work)
    with summary.stage("plan"):
        last_run = (previous.rows("runs") or [{}])[-1]
        # (tables of another schema were found by last_state: nothing of them is carried)
        rebuild = last_run.get("derivation_version") != derivation_version()
        affected = (
            set(manifest.plans)
            if rebuild
            else affected_plans(manifest, work, previous_docs, previous.rows("plans"))
        )
        carried = {d["doc_id"] for _, d in work.reuse} | {f["doc_id"] for _, f, _ in work.quarantined}
        carried |= {g["doc_id"] for _, _, g in work.quarantined if g}
        unchanged = not (work.extract or work.removed or affected) and carried == {
            d["doc_id"] for d in previous_docs
        }
    return Decision(manifest, previous, work, affected, rebuild, unchanged, last_run)


def last_state(curated: Path, summary: RunSummary, warehouse: str | None = None) -> Previous:
    """The last run's tables; when one is missing, unreadable, of another schema or not what
    the last run recorded, say so in one line and rebuild: every document is read again and
    every table written anew. The run history is kept — read back from the warehouse when
    ``runs.parquet`` is gone or unreadable."""
    given = _history(curated, summary, warehouse)
    previous = Previous(curated, given=given)
    problems = previous.problems()
    if not problems:
        return previous
    shown = problems[:3] + ([f"… ({len(problems)} tables in all)"] if len(problems) > 3 else [])
    summary.messages.append(f"{'; '.join(shown)} — every document is read again and every table rebuilt")
    runs_whole = bool(given) or previous.runs_problem() is None
    return Previous(curated, only=("runs",) if runs_whole else (), given=given)


def _history(curated: Path, summary: RunSummary, warehouse: str | None) -> dict[str, Any]:
    """``runs`` read back from the warehouse when ``curated/runs.parquet`` is missing or
    unreadable and the warehouse has some ({} otherwise)."""
    problem = Previous(curated).runs_problem()
    runs = read_history(warehouse) if problem and warehouse else None
    if runs is None:
        return {}
    summary.messages.append(
        f"{problem}: the history of {runs.num_rows} runs was read back from {redact(warehouse)}"
    )
    return {"runs": runs}


def process_plans(
    todo: list[PlanBatch], decision: Decision, steps: Steps
) -> tuple[dict[str, Any], list[BatchResult], Comparisons]:
    """Run the batches; meanwhile read the rows of the plans not recomputed and compare the
    pairs of plans each returning batch completes."""
    futures = [steps.submit(batch) for batch in todo]
    # While the tasks run: the rows of the plans not recomputed, read from the last run
    # (Parquet decoding runs beside a task's Python work, even in this process).
    manifest, previous = decision.manifest, decision.previous
    tables = carry_plans(previous, set(manifest.plans) - decision.affected)
    plan_rows = [p.record() for _, p in sorted(manifest.plans.items())]
    comparisons = Comparisons(previous, plan_rows, decision.affected)
    results: list[BatchResult] = []
    for batch, future in zip(todo, futures, strict=True):
        results.append(future.result())
        if steps.remote:  # ran elsewhere: its documents were not heard yet
            for document in results[-1].extracted:
                notify("document", {"path": document["source_path"], "status": document["status"]})
        # The pairs this batch completes are compared while the next batches run.
        comparisons.add(set(batch.plans), results[-1].tables["theme_assignments"])
    return tables, results, comparisons


def assemble_run(rest: WorkPlan, results: list[BatchResult], previous: Previous) -> dict[str, Any]:
    """The run's ``documents`` rows and the batches' tables concatenated (Arrow)."""
    _, docs = assemble(rest, [], previous, set())  # the documents of plans not recomputed
    for result in results:
        docs.update(result.documents)
    records: dict[str, Any] = (
        {name: _concat(name, [r.tables[name] for r in results]) for name in results[0].tables}
        if results
        else {}
    )
    records["documents"] = [docs[key] for key in sorted(docs)]
    return records


def finish(
    summary: RunSummary,
    decision: Decision,
    tables: dict[str, Any],
    records: dict[str, Any],
    curated: Path,
    warehouse: str,
    steps: Steps,
) -> RunSummary:
    """Merge the fresh rows with those carried over, load them, write the report."""
    summary.finished_at = dt.datetime.now(dt.UTC)
    records["runs"] = decision.previous.rows("runs") + [run_row(summary, warehouse, len(decision.affected))]
    # The warehouse changes by plan when it still holds the last run (the loader checks); not
    # when the history was read back from it (curated/ had nothing to carry: every table replaced).
    last_run = decision.last_run
    delta = (
        None
        if decision.rebuild or not last_run or decision.warehouse_problem or decision.previous.given
        else Delta(
            base_run=last_run["run_id"],
            base_runs=len(records["runs"]) - 1,
            keep=frozenset(decision.manifest.plans) - decision.affected,
            rows=recorded_rows(last_run),
            checksums=recorded_warehouse(last_run),
        )
    )
    with summary.stage("merge"):
        tables = merge(tables, records)
        summary.validation_counts = validation_counts(tables["validation_results"])
    with summary.stage("report"):  # written before the load, put in place once it committed
        final = curated / "validation" / "index.html"
        shown = (tables["validation_results"], tables["validation_findings"], tables["documents"])
        staged = stage_report(ReportInput(*shown, raw_dir=decision.manifest.raw_dir), final)
    with summary.stage("load"):
        try:
            summary.row_counts, summary.warehouse_load = steps.load(curated, warehouse, tables, delta)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
    os.replace(staged, final)
    summary.report_path = str(final)
    notify("done", {"run_id": summary.run_id})
    return summary


def warehouse_problem(warehouse: str, decision: Decision) -> str | None:
    """Does the warehouse still hold exactly the last run (deleted, restored from an older
    backup, loaded by another machine)? None when it does."""
    from pipeline.load.warehouse import open_warehouse

    runs, last = len(decision.previous.rows("runs")), decision.last_run
    return open_warehouse(warehouse).state_problem(
        Delta(last["run_id"], runs, frozenset(), rows=recorded_rows(last), checksums=recorded_warehouse(last))
    )


def reload_warehouse(
    summary: RunSummary, curated: Path, warehouse: str, decision: Decision, steps: Steps
) -> RunSummary:
    """Nothing changed in the documents, but the warehouse lost the last run: load every
    table of ``curated/`` into it again (with tonight's run appended)."""
    previous = decision.previous
    summary.set_documents(previous.rows("documents"))
    tables = {name: previous.table(name) for name in TABLES}
    summary.validation_counts = validation_counts(tables["validation_results"])
    summary.finished_at = dt.datetime.now(dt.UTC)
    runs = previous.rows("runs") + [run_row(summary, warehouse, 0)]
    tables["runs"] = TABLES["runs"].to_arrow(runs)
    with summary.stage("load"):
        summary.row_counts, summary.warehouse_load = steps.load(curated, warehouse, tables, None)
    notify("done", {"run_id": summary.run_id})
    return summary


class RunFailed(Exception):
    """A run could not finish (e.g. the disk is full); nothing was changed. One line."""


def stage_report(report: ReportInput, path: Path) -> Path:
    """The validation report written beside ``path`` (moved into place once the load
    committed): a full disk stops the run before anything changed."""
    staged = path.with_name(f".{path.name}.staging")
    try:
        return write_report(report, staged)
    except OSError as exc:
        staged.unlink(missing_ok=True)
        raise RunFailed(f"writing the validation report {path} failed, nothing was changed: {exc}") from exc


def record_noop(summary: RunSummary, curated: Path, warehouse: str, previous: Previous) -> RunSummary:
    """Nothing changed: append the run to ``runs`` and leave every other table as it is."""
    summary.set_documents(previous.rows("documents"))
    summary.validation_counts = validation_counts(previous.table("validation_results"))
    report = curated / "validation" / "index.html"
    summary.report_path = str(report) if report.exists() else None
    summary.finished_at = dt.datetime.now(dt.UTC)
    with summary.stage("load"):
        replace_tables(curated, warehouse, {"runs": previous.rows("runs") + [run_row(summary, warehouse, 0)]})
    notify("done", {"run_id": summary.run_id})
    return summary


def run_row(summary: RunSummary, warehouse: str, plans_recomputed: int) -> dict[str, Any]:
    """The run's ``runs`` row."""
    return {
        **summary.run_record(),
        "warehouse": redact(warehouse),
        "derivation_version": derivation_version(),
        "plans_recomputed": plans_recomputed,
        "prefect_flow_run_id": summary.flow_run_id,
    }


def _concat(name: str, tables: list[Any]):
    import pyarrow as pa

    return pa.concat_tables(tables) if tables else TABLES[name].arrow_schema().empty_table()
