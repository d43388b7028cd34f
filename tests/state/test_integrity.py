"""The state check names every damaged curated table: deleted, truncated, of an older schema, or
edited in place (same rows and columns: only its CRC-32 tells). The repair itself is run end to
end for a few tables in tests/refresh/test_state_repair.py; here every table is damaged in turn
and only the check runs (cheap: footers and one CRC-32 pass)."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest
from conftest import RAW

from pipeline.refresh.run import refresh
from pipeline.state.integrity import recorded_checks
from pipeline.state.previous import Previous
from schemas import TABLES


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    base = tmp_path_factory.mktemp("clean")
    refresh(RAW, base / "curated", f"duckdb:///{base / 'warehouse.duckdb'}", prefer="text")
    return base / "curated"


def _damage(path, how: str) -> None:
    target = path.resolve()
    if how == "delete":
        target.unlink()
    elif how == "truncate":
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif how == "older schema":
        table = pq.read_table(target)
        pq.write_table(table.drop_columns([table.column_names[-1]]), target)
    else:  # edited in place: the same table written again with its rows reversed
        table = pq.read_table(target)
        pq.write_table(table.take(list(reversed(range(table.num_rows)))), target, compression="zstd")


@pytest.mark.parametrize("how", ["delete", "truncate", "older schema", "edited"])
def test_every_damaged_table_is_named(clean, tmp_path, how):
    assert Previous(clean).problems() == []
    checked = sorted(recorded_checks(Previous(clean).rows("runs")[-1]))
    assert checked == sorted(set(TABLES) - {"runs"})
    for name in checked:
        copy = tmp_path / name
        shutil.copytree(clean, copy, symlinks=True, ignore=shutil.ignore_patterns("*.duckdb"))
        if how == "edited" and pq.read_metadata(copy / f"{name}.parquet").num_rows < 2:
            continue  # one row or none: reversed, it is the same file
        _damage(copy / f"{name}.parquet", how)
        problems = Previous(copy).problems()
        assert len(problems) == 1 and f"{name}.parquet" in problems[0], (name, problems)
