"""The warehouse and curated/ always agree, whatever happened between runs: a deleted or
restored warehouse is reloaded, a missing, truncated or old-schema curated table makes the
next run rebuild from the documents — and says so."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import read_warehouse
from refresh_site import assert_equal_to_clean as _equal_to_clean
from refresh_site import clean_site, site_warehouse
from refresh_site import run_site as _run

from schemas import TABLES


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return clean_site(tmp_path_factory.mktemp("clean"))


@pytest.fixture
def state(clean, tmp_path):
    """A copy of the clean state (documents, curated/ with its warehouse)."""
    shutil.copytree(clean / "raw", tmp_path / "raw")
    shutil.copytree(clean / "curated", tmp_path / "curated", symlinks=True)  # (links into .generations/)
    return tmp_path


def _edit_warehouse(base, sql: str) -> None:
    import duckdb

    con = duckdb.connect(str(base / "curated" / "warehouse.duckdb"))
    con.execute(sql)
    con.close()


def test_a_deleted_warehouse_is_reloaded_from_curated(state, clean):
    (state / "curated" / "warehouse.duckdb").unlink()
    summary = _run(state)
    assert summary.extracted == 0 and summary.warehouse_load == "replace"
    assert any("tables missing" in m and "reloaded from" in m for m in summary.messages)
    _equal_to_clean(state, clean)


def test_a_warehouse_restored_from_an_older_run_is_reloaded(state, clean):
    older = state / "older.duckdb"
    shutil.copy(state / "curated" / "warehouse.duckdb", older)
    _run(state)  # a run the backup does not hold
    shutil.copy(older, state / "curated" / "warehouse.duckdb")
    summary = _run(state)
    assert any("it holds 1 runs, not the 2" in m for m in summary.messages)
    _equal_to_clean(state, clean)


def test_a_truncated_runs_table_is_read_back_from_the_warehouse(state, clean):
    path = state / "curated" / "runs.parquet"
    path.write_bytes(path.read_bytes()[:100])
    summary = _run(state)
    assert any(
        "runs.parquet cannot be read" in m and "history of 1 runs was read back" in m
        for m in summary.messages
    )
    assert summary.extracted == 0  # the other tables are what the last run recorded (checked)
    assert pq.read_table(path).num_rows == 2
    _equal_to_clean(state, clean)


@pytest.mark.parametrize("what", ["runs.parquet", "curated/"])
def test_run_history_survives_a_deleted_curated(state, clean, what):
    if what == "runs.parquet":  # the file in the current generation, and its path
        (state / "curated" / "runs.parquet").resolve().unlink()
        (state / "curated" / "runs.parquet").unlink()
    else:  # every table and generation: only the warehouse is left
        (state / "curated" / "warehouse.duckdb").rename(state / "warehouse.duckdb")
        shutil.rmtree(state / "curated")
        (state / "curated").mkdir()
        (state / "warehouse.duckdb").rename(state / "curated" / "warehouse.duckdb")
    first = pq.read_table(clean / "curated" / "runs.parquet")["run_id"].to_pylist()
    summary = _run(state)
    assert any("history of 1 runs was read back from duckdb:///" in m for m in summary.messages)
    assert summary.extracted == (0 if what == "runs.parquet" else 3)
    assert what == "runs.parquet" or summary.warehouse_load == "replace"  # nothing carried: no delta
    runs = pq.read_table(state / "curated" / "runs.parquet")["run_id"].to_pylist()
    assert runs == [*first, summary.run_id]
    assert sorted(r["run_id"] for r in read_warehouse(site_warehouse(state), "runs")) == sorted(runs)
    _equal_to_clean(state, clean)


def test_schema_of_runs_kept_across_versions(state):
    path = state / "curated" / "runs.parquet"
    old = pq.read_table(path).drop_columns(["plans_recomputed"])
    pq.write_table(old, path)
    summary = _run(state)
    assert summary.extracted == 0  # runs of an older version are conformed, not a reason to rebuild
    runs = pq.read_table(path)
    assert runs.num_rows == 2 and runs.schema == TABLES["runs"].arrow_schema()
    assert isinstance(runs, pa.Table)


def test_runs_record_rows_size_and_checksum_of_every_table(state):
    from pipeline.state.integrity import file_check, recorded_checks

    last = pq.read_table(state / "curated" / "runs.parquet").to_pylist()[-1]
    checks = recorded_checks(last)
    assert set(checks) == set(TABLES) - {"runs"}
    assert checks["indicators"]["rows"] == 62 and checks["initiatives"]["rows"] == 169
    for name, check in checks.items():
        assert {**check, "warehouse": None} == {
            **file_check(state / "curated" / f"{name}.parquet"),
            "warehouse": None,
        }
        assert len(check["warehouse"]) == 16  # DuckDB: a checksum of the table's rows too


def test_a_curated_table_edited_in_place_is_caught_by_its_checksum(state, clean):
    path = state / "curated" / "indicators.parquet"
    table = pq.read_table(path)
    index = table.schema.get_field_index("target_value")
    values = table["target_value"].to_pylist()
    values[0] = (values[0] or 0) + 1  # same rows, same columns: only the checksum tells
    pq.write_table(table.set_column(index, table.schema.field(index), pa.array(values, pa.float64())), path)
    summary = _run(state)
    assert summary.extracted == 3
    [message] = [m for m in summary.messages if "indicators.parquet" in m]
    assert "run " in message and "rebuilt" in message
    _equal_to_clean(state, clean)


def test_warehouse_rows_lost_under_the_same_run_are_reloaded(state, clean):
    _edit_warehouse(state, "DELETE FROM indicators WHERE plan_id = 'kama-sme-2'")
    summary = _run(state)
    assert summary.extracted == 0 and summary.warehouse_load == "replace"
    assert any(
        "indicators has 33 rows, not the 62 of run" in m and "reloaded from" in m for m in summary.messages
    )
    _equal_to_clean(state, clean)


def test_a_deleted_curated_path_is_linked_again_to_the_current_tables(state, clean):
    (state / "curated" / "indicators.parquet").unlink()  # the path, not the generation's file
    summary = _run(state)
    assert summary.extracted == 0
    assert any("1 table paths linked again" in m for m in summary.messages)
    _equal_to_clean(state, clean)


def test_warehouse_rows_changed_in_place_are_caught_by_its_checksum(state, clean):
    _edit_warehouse(
        state, "UPDATE indicators SET target_value = target_value + 1 WHERE indicator_code = '2-3'"
    )
    summary = _run(state)
    assert summary.extracted == 0 and summary.warehouse_load == "replace"
    assert any(
        "indicators does not hold the rows run" in m and "reloaded from" in m for m in summary.messages
    )
    _equal_to_clean(state, clean)


def test_a_no_op_run_carries_the_warehouse_checksums_it_verified(state):
    from pipeline.state.integrity import recorded_checks

    first = recorded_checks(pq.read_table(state / "curated" / "runs.parquet").to_pylist()[-1])
    summary = _run(state)
    assert summary.extracted == 0 and not summary.messages  # a no-op: only runs was loaded
    second = recorded_checks(pq.read_table(state / "curated" / "runs.parquet").to_pylist()[-1])
    assert second == first and all(len(c["warehouse"]) == 16 for c in second.values())
