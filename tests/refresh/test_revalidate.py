"""`plan-etl validate` before any run makes the state whole the way a run would: a warehouse
and curated/ of an older version are brought to today's columns (every table loaded again),
and a publish a killed run left is completed — then both equal a clean run's."""

from __future__ import annotations

import functools
import shutil

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import read_warehouse
from refresh_site import assert_equal_to_clean, clean_site, run_site, site_warehouse

from cli.main import main
from pipeline.load import load_all
from pipeline.refresh.run import Steps
from schemas import TABLES


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return clean_site(tmp_path_factory.mktemp("clean"))


@pytest.fixture
def site(tmp_path, clean, monkeypatch):
    shutil.copytree(clean, tmp_path, dirs_exist_ok=True, symlinks=True)
    monkeypatch.chdir(tmp_path)  # the runs name the warehouse duckdb:///curated/warehouse.duckdb
    return tmp_path


def _validate(site):
    result = CliRunner().invoke(main, ["validate", "--curated", "curated", "--brief"], env={"COLUMNS": "400"})
    assert result.exit_code == 1, result.output  # the samples fail error-level checks (sheet_policy_title)
    assert "Traceback" not in result.output and "error:" not in result.output, result.output
    return [line for line in result.output.splitlines() if line.startswith("note:")]


def _make_older(curated) -> None:
    """What an older plan-etl left: plain files (no generations), no validation_findings
    table, runs and indicators without the columns added since (curated/ and the warehouse)."""
    for path in curated.glob("*.parquet"):
        table = pq.read_table(path)
        path.unlink()
        if path.stem != "validation_findings":
            dropped = {"runs": ["prefect_flow_run_id"], "indicators": ["ocr_confidence", "ocr_low_cells"]}
            pq.write_table(table.drop_columns(dropped.get(path.stem, [])), path)
    (curated / ".current").unlink()
    shutil.rmtree(curated / ".generations")
    with duckdb.connect(str(curated / "warehouse.duckdb")) as con:
        con.execute("DROP TABLE validation_findings")
        con.execute("ALTER TABLE runs DROP COLUMN prefect_flow_run_id")
        con.execute("ALTER TABLE indicators DROP COLUMN ocr_confidence")


def test_validate_brings_an_older_warehouse_and_curated_to_todays_columns(site, clean):
    _make_older(site / "curated")
    notes = _validate(site)
    assert len(notes) == 1 and notes[0].endswith("— every table loaded again in today's columns"), notes
    assert "indicators.parquet has the columns of another version" in notes[0]
    with duckdb.connect(str(site / "curated" / "warehouse.duckdb"), read_only=True) as con:
        for name, table in TABLES.items():
            columns = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
            assert columns == table.column_names, name
    findings = read_warehouse(site_warehouse(site), "validation_findings")
    assert len(findings) == pq.read_metadata(site / "curated" / "validation_findings.parquet").num_rows > 0
    assert_equal_to_clean(site, clean)
    assert _validate(site) == []  # whole now: nothing more to convert


class Killed(BaseException):
    """The process dying at a step of the publish (nothing in plan-etl catches it)."""


def test_validate_completes_a_publish_a_killed_run_left(site, clean, monkeypatch):
    def kill_at_switch(step: str) -> None:
        if step == "switch":
            raise Killed(step)

    monkeypatch.setattr("pipeline.refresh.run.derivation_version", lambda: "0.1.0+changed")  # work to load
    with pytest.raises(Killed):
        run_site(site, Steps(load=functools.partial(load_all, on_publish=kill_at_switch)))
    runs = [r["run_id"] for r in read_warehouse(site_warehouse(site), "runs")]
    assert len(runs) == 2 and pq.read_metadata(site / "curated" / "runs.parquet").num_rows == 1
    notes = _validate(site)
    assert any(n.startswith("note: completed the publish of run") for n in notes), notes
    assert sorted(pq.read_table(site / "curated" / "runs.parquet")["run_id"].to_pylist()) == sorted(runs)
    assert_equal_to_clean(site, clean)
