"""``plan-etl``: a thin command line over the library (click + rich)."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.text import Text

from core import __version__
from extractors.kinds import KINDS

curated_option = click.option(
    "--curated",
    "curated_dir",
    default="curated",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder of the Parquet tables (and of the default DuckDB warehouse).",
)


def raw_option(help: str, **kwargs: Any):
    """``--raw DIR``: the folder of the documents (default ``raw``)."""
    return click.option("--raw", "raw_dir", default="raw", show_default=True, help=help, **kwargs)


def output_option(text: str):
    """``-o/--output FILE``, required."""
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help=text
    )


pdf_engine_option = click.option(
    "--pdf-engine",
    type=click.Choice(["pdfium", "plumber"]),
    default=None,
    help="PDF reader: pdfium (fast, the default) or plumber (pdfplumber, the reference).",
)


ocr_option = click.option(
    "--ocr",
    type=click.Choice(["auto", "always", "never"]),
    default=None,
    help="Scanned PDFs: auto (OCR a PDF without a usable text layer, the default), always "
    "(read every PDF page from its image), never (such a PDF fails).",
)


def _ocr_mode(ocr: str | None, pdf_engine: str | None) -> str | None:
    """The PDF engine for ``--ocr``: ``always`` reads PDFs with the OCR engine; the mode is
    also set as PLAN_ETL_OCR, which the readers (and worker processes started after) read."""
    import os

    if ocr:
        os.environ["PLAN_ETL_OCR"] = ocr
    return "ocr" if ocr == "always" else pdf_engine


class _UsageLine(click.UsageError):
    """A usage error shown as one ``error:`` line (exit 2) instead of click's usage block."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def usage_line(exc: click.UsageError) -> str:
    """Click's usage error as one line with the help to read: ``missing option --year
    (plan-etl actuals-template --help)``."""
    text = " ".join(exc.format_message().split()).rstrip(".")
    text = re.sub(r"'(--?[\w-]+)'", r"\1", text).replace(". Did you mean", "; did you mean")
    where = exc.ctx.command_path if exc.ctx else "plan-etl"
    return f"{text[:1].lower()}{text[1:]} ({where} --help)"


@contextlib.contextmanager
def _one_line_usage(debug: bool) -> Iterator[None]:
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # `plan-etl` alone prints the help
    except click.UsageError as exc:
        if debug or isinstance(exc, _UsageLine):
            raise
        raise _UsageLine(usage_line(exc), exc.ctx) from exc


class OneLineGroup(click.Group):
    """The command group whose usage errors (a missing or unknown option, a bad choice, an
    unknown command …) are one ``error:`` line with a ``--help`` hint, exit 2, in every
    command; ``--debug`` keeps click's usage block."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        with _one_line_usage(debug="--debug" in args):
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line_usage(debug=bool(ctx.params.get("debug"))):
            return super().invoke(ctx)


@click.group("plan-etl", cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plan-etl")
@click.option("--debug", is_flag=True, help="Show the traceback of an error instead of one line.")
def main(debug: bool) -> None:
    """Turn Japanese SME promotion plans (PDF and text) into a validated warehouse."""


@main.command()
@raw_option("Folder (or fsspec URL, e.g. s3://bucket/plans/) with the documents and sources.yaml.")
@curated_option
@click.option(
    "--warehouse",
    default=None,
    metavar="URL",
    help="duckdb:///path.duckdb (default: <curated>/warehouse.duckdb) or postgresql://…",
)
@click.option(
    "--prefer",
    type=click.Choice(["pdf", "text"]),
    default=None,
    help="For documents listed with alternates, extract this format (default: the manifest's path).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Extract on a local Dask cluster of this many processes (through Prefect).",
)
@click.option("--dask-address", default=None, metavar="tcp://HOST:PORT", help="Use an existing Dask cluster.")
@pdf_engine_option
@ocr_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary line and errors.")
def run(
    raw_dir: str,
    curated_dir: Path,
    warehouse: str | None,
    prefer: str | None,
    workers: int,
    dask_address: str | None,
    pdf_engine: str | None,
    ocr: str | None,
    quiet: bool,
) -> None:
    """Run the nightly refresh: discover, extract, normalize, validate, load.

    A plain local run (no PREFECT_API_URL, no --workers/--dask-address) runs in this process
    without Prefect; with a Prefect API or Dask it runs as the Prefect flow."""
    import os

    from rich.console import Console

    from pipeline.refresh.run import preflight
    from pipeline.report.terminal import print_summary, progress_bar

    console = Console(stderr=False)
    pdf_engine = _ocr_mode(ocr, pdf_engine)
    with _expected_errors(console):
        warehouse = preflight(raw_dir, curated_dir, warehouse, prefer, pdf_engine)
        with progress_bar(console, disable=quiet) as notify:
            if os.environ.get("PREFECT_API_URL") or workers > 1 or dask_address:
                from flows.nightly_refresh import run_refresh

                summary = run_refresh(
                    raw_dir, curated_dir, warehouse, notify, prefer, workers, dask_address, pdf_engine
                )
            else:
                from pipeline.refresh.progress import listening
                from pipeline.refresh.run import refresh

                with listening(notify):
                    summary = refresh(raw_dir, curated_dir, warehouse, prefer, pdf_engine=pdf_engine)
    print_summary(console, summary, quiet=quiet)
    sys.exit(1 if summary.failed else 0)


@contextlib.contextmanager
def _expected_errors(console: Any) -> Iterator[None]:
    """An expected error (manifest, warehouse, lock, Ctrl-C) ends the command with one line and
    exit 2 (130 for Ctrl-C); ``--debug`` shows the traceback."""
    from extractors.limits import LimitSettingError
    from pipeline.discover.manifest import ManifestError
    from pipeline.load import WarehouseError
    from pipeline.load.lock import RunLocked
    from pipeline.refresh.run import RunFailed

    try:
        yield
    except (ManifestError, WarehouseError, RunLocked, RunFailed, LimitSettingError) as exc:
        if _debug():
            raise
        console.print(Text.assemble(("error:", "bold red"), " ", _first_line(exc)), soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        if _debug():
            raise
        console.print("[bold red]interrupted[/]: nothing was loaded by this run; the previous tables stay")
        sys.exit(130)
    except Exception as exc:  # a bug: one line too, the traceback with --debug
        if _debug():
            raise
        console.print(
            Text.assemble(
                ("error:", "bold red"),
                f" internal error ({type(exc).__name__}: {_first_line(exc)}) — nothing was loaded by this "
                "run; rerun with --debug for the traceback and please report it",
            ),
            soft_wrap=True,
        )
        sys.exit(3)


def _first_line(exc: BaseException) -> str:
    """An error's message in one line (a database's message may add a caret diagram; --debug
    shows it all)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), help="Document kind (auto-detected when omitted).")
@click.option(
    "--unknown", "unknown_only", is_flag=True, help="List only the labels the vocabulary does not know."
)
def labels(file: Path, kind: str | None, unknown_only: bool) -> None:
    """What each label of a document was read as, and the unknown ones with the line to add
    to schemas/labels.yaml."""
    from rich.console import Console
    from rich.table import Table

    from core.models import ExtractionError
    from extractors.extract import parse_grid
    from extractors.labels import label_readings
    from extractors.readers import read_document
    from schemas.vocabulary import vocabulary

    console = Console()
    try:
        grid = read_document(file, file.read_bytes())
        result = parse_grid(grid, kind)
    except ExtractionError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    readings = [r for r in label_readings(grid, result, vocabulary()) if not (unknown_only and r.meaning)]
    table = Table(title=f"{file.name}: labels read as {result.kind}")
    for column in ("where", "label", "read as", "note"):
        table.add_column(column, overflow="fold")
    for r in readings:
        table.add_row(r.where, Text(r.text), r.meaning or "[yellow]unknown[/]", Text(r.note))
    console.print(table)
    unknown = sum(1 for r in readings if r.meaning is None)
    console.print(f"{len(readings)} labels, {unknown} unknown", soft_wrap=True)


@main.command()
@curated_option
@raw_option(
    "Folder of the documents: the report links each finding to its PDF page or line there.",
    type=click.Path(path_type=Path),
)
@click.option("--warehouse", default=None, metavar="URL", help="Also replace validation_results there.")
@click.option("--brief", is_flag=True, help="Show at most three findings per check.")
def validate(curated_dir: Path, raw_dir: Path, warehouse: str | None, brief: bool) -> None:
    """Run the validation suites over the curated tables; exit 1 on failed error-level checks.

    Completes a publish an interrupted run left, and brings tables of an older version of
    plan-etl (curated/ or the warehouse) to today's columns, as `plan-etl run` does."""
    import datetime as dt

    from rich.console import Console

    from pipeline.refresh.revalidate import revalidate
    from pipeline.refresh.summary import new_run_id
    from pipeline.report.terminal import print_validation

    console = Console()
    if not (curated_dir / "documents.parquet").exists():
        console.print(f"[red]error:[/] no tables in {escape(str(curated_dir))}: run `plan-etl run` first")
        sys.exit(2)
    run_id = new_run_id(dt.datetime.now(dt.UTC))
    with _expected_errors(console):
        warehouse = warehouse or _warehouse_of_last_run(curated_dir)
        done = revalidate(curated_dir, warehouse, run_id, raw_dir)
    for message in done.messages:
        console.print(Text.assemble(("note:", "yellow"), " ", message), soft_wrap=True)
    print_validation(console, done.results, verbose=not brief)
    console.print(Text(f"report: {done.report}"), soft_wrap=True)
    failed_errors = [r for r in done.results if not r["success"] and r["severity"] == "error"]
    sys.exit(1 if failed_errors else 0)


def _warehouse_of_last_run(curated_dir: Path) -> str:
    """The warehouse the last run loaded (runs record it, its password masked: give the
    password with PGPASSWORD or ~/.pgpass), else the default DuckDB file."""
    from pipeline.load.curated import read_curated
    from pipeline.refresh.run import default_warehouse

    runs = read_curated(curated_dir, "runs")
    recorded = runs[-1].get("warehouse") if runs else None
    return recorded.replace(":***@", "@") if recorded else default_warehouse(curated_dir)


@main.command()
@click.argument("query")
@curated_option
@click.option("--warehouse", default=None, metavar="URL", help="Default: the warehouse the last run loaded.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the rows as CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def sql(query: str, curated_dir: Path, warehouse: str | None, as_csv: bool, as_json: bool) -> None:
    """Run a SQL query (read-only) on the warehouse the last run loaded and print the rows."""
    from rich.console import Console

    from pipeline.report.query import run_sql
    from pipeline.report.tabular import to_csv, to_json
    from pipeline.report.terminal import print_rows

    console = Console()
    with _expected_errors(console):
        rows = run_sql(warehouse or _warehouse_of_last_run(curated_dir), query)
    if as_json:
        click.echo(to_json(rows))
    elif as_csv:
        click.echo(to_csv({"rows": rows}), nl=False)
    else:
        print_rows(console, f"{len(rows)} rows", rows)


@main.command()
@click.argument("table")
@output_option("FILE.csv or FILE.xlsx")
@curated_option
def export(table: str, output: Path, curated_dir: Path) -> None:
    """Write a curated table, every column, to a CSV (UTF-8 with BOM, for Excel) or .xlsx file."""
    from rich.console import Console

    from pipeline.report.query import export_table

    with _expected_errors(Console()):
        n = export_table(curated_dir, table, output)
    click.echo(f"wrote {output}: {n} rows of {table}")


@main.command()
@click.argument("plan_a")
@click.argument("plan_b")
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write an HTML report."
)
@curated_option
def compare(plan_a: str, plan_b: str, html_path: Path | None, curated_dir: Path) -> None:
    """Compare two plans by theme (municipal vs prefectural, or any two): distinct measures,
    initiatives and KPIs, coverage as a share of each plan's measures."""
    from rich.console import Console

    from pipeline.derive.compare import NotComparable, check_comparable, comparison_report
    from pipeline.load.curated import read_curated
    from pipeline.report.terminal import print_comparison
    from schemas import TABLES

    console = Console()
    if not (curated_dir / "plans.parquet").exists():
        console.print(
            f"[bold red]error:[/] no tables in {escape(str(curated_dir))}: run `plan-etl run` first",
            soft_wrap=True,
        )
        sys.exit(2)
    records = {name: read_curated(curated_dir, name) for name in TABLES}
    try:
        check_comparable(records, plan_a, plan_b)
    except NotComparable as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(2)
    report = comparison_report(records, plan_a, plan_b)
    print_comparison(console, report)
    if html_path:
        from pipeline.report.compare_html import comparison_html

        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(comparison_html(report), encoding="utf-8")
        console.print(f"report: {escape(str(html_path))}", soft_wrap=True)


@main.command("actuals-template")
@click.argument("plan_id")
@click.option("--year", type=int, required=True, help="Fiscal year the actuals are for (e.g. 2024).")
@output_option("Workbook to write (.xlsx).")
@curated_option
def actuals_template(plan_id: str, year: int, output: Path, curated_dir: Path) -> None:
    """Write an actuals workbook for PLAN_ID: one row per indicator, an empty 実績 column."""
    from pipeline.derive.compare import unknown_plan
    from pipeline.load.curated import read_curated
    from pipeline.report.actuals_template import write_template

    plans = {p["plan_id"]: p for p in read_curated(curated_dir, "plans")}
    if plan_id not in plans:
        click.echo(f"error: {unknown_plan(plan_id, plans)}")
        sys.exit(2)
    indicators = [i for i in read_curated(curated_dir, "indicators") if i["plan_id"] == plan_id]
    n = write_template(output, plans[plan_id], indicators, year)
    click.echo(f"wrote {output}: {n} indicators of {plan_id} for FY{year}; fill 実績 and put it under raw/")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="Document kind (auto-detected when omitted).",
)
@click.option(
    "--columns", default=None, metavar="A,B", help="Only these columns (in every table that has them)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the document row and every record as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every record as CSV (a first column `table`).")
@click.option("--limit", default=50, show_default=True, help="Records printed per table (0: all).")
@click.option("--plan-id", default="", help="Plan id to stamp on the records.")
@pdf_engine_option
@ocr_option
def extract(
    file: Path,
    kind: str | None,
    columns: str | None,
    as_json: bool,
    as_csv: bool,
    limit: int,
    plan_id: str,
    pdf_engine: str | None,
    ocr: str | None,
) -> None:
    """Extract one document and print its normalized records: every column, as a table when
    it fits the terminal, else one block per record."""
    from rich.console import Console

    from extractors.limits import extract_limited
    from pipeline.report.tabular import UnknownColumns, schema_columns, select_columns, to_csv, to_json

    pdf_engine = _ocr_mode(ocr, pdf_engine)
    with _expected_errors(Console(stderr=True)):  # in a child, under a run's per-document limits
        outcome = extract_limited(
            file, rel_path=str(file), plan_id=plan_id or None, kind=kind, pdf_engine=pdf_engine
        )
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    try:
        tables = select_columns(schema_columns(outcome.tables), wanted)
    except UnknownColumns as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(to_json({"document": outcome.document, "tables": tables}))
    elif as_csv:
        click.echo(to_csv(tables), nl=False)
    else:
        from pipeline.report.terminal import print_extract

        print_extract(Console(), outcome.document, tables, limit or None)
    sys.exit(0 if outcome.ok else 1)


@main.command()
@click.option("--cron", default="0 2 * * *", show_default=True, help="When to run (cron, in --timezone).")
@click.option("--timezone", default="Asia/Tokyo", show_default=True)
@raw_option("Folder (or fsspec URL) with the documents and sources.yaml.")
@curated_option
@click.option("--warehouse", default=None, metavar="URL")
def serve(cron: str, timezone: str, raw_dir: str, curated_dir: Path, warehouse: str | None) -> None:
    """Run the nightly refresh on a schedule (Prefect serve) until interrupted."""
    from rich.console import Console

    from pipeline.refresh.run import preflight

    with _expected_errors(Console()):
        warehouse = preflight(raw_dir, curated_dir, warehouse)  # before Prefect is imported (~1–3 s)
        from flows.deployments import serve as serve_deployment

        click.echo(f"serving plan-etl nightly refresh: {cron} ({timezone}); Ctrl-C to stop")
        serve_deployment(
            cron=cron,
            timezone=timezone,
            raw_dir=str(Path(raw_dir).resolve()),
            curated_dir=str(Path(curated_dir).resolve()),
            warehouse=warehouse,
        )


if __name__ == "__main__":  # pragma: no cover
    main()
