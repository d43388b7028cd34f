"""Arrow-level merge of a run's fresh rows with the rows carried over from the last run."""

from __future__ import annotations

import pyarrow.parquet as pq


def test_merge_inserts_recomputed_plans_where_a_sort_would_put_them():
    from pipeline.state.previous import merge

    def row(plan, n):
        return {"plan_id": plan, "policy_code": str(n), "title": f"{plan}-{n}", "source_doc_id": "d"}

    from schemas import TABLES

    kept = TABLES["policies"].to_arrow([row(p, n) for p in ("a", "c", "e") for n in (2, 1)])
    fresh = [row("d", 9), row("b", 5), row("d", 8), row("f", 1)]
    out = merge({"policies": kept}, {"policies": fresh})["policies"].to_pylist()
    assert [(r["plan_id"], r["policy_code"]) for r in out] == [
        ("a", "2"),
        ("a", "1"),
        ("b", "5"),
        ("c", "2"),
        ("c", "1"),
        ("d", "9"),
        ("d", "8"),
        ("e", "2"),
        ("e", "1"),
        ("f", "1"),
    ]
    unsorted = TABLES["policies"].to_arrow([row("c", 1), row("a", 1)])  # e.g. written by an old version
    out = merge({"policies": unsorted}, {"policies": [row("b", 1)]})["policies"]
    assert out["plan_id"].to_pylist() == ["a", "b", "c"]


def test_kept_plans_are_the_previous_table_less_the_other_plans_blocks(tmp_path):
    """Previous.plans slices the recomputed and removed plans out of a table in plan order
    (rows of no plan dropped), and filters a table in any other order: the same rows."""
    import pyarrow.parquet as pq

    from pipeline.state.previous import Previous
    from schemas import TABLES

    def row(plan, n):
        return {
            "run_id": "r",
            "suite": "s",
            "expectation": str(n),
            "severity": "error",
            "plan_id": plan,
            "success": True,
            "unexpected_count": 0,
            "details": "",
        }

    rows = [row(p, n) for p in ("a", "b", "c", "d", "e") for n in (2, 1)] + [row(None, 0)]
    keep = {"a", "c", "e", "x"}  # b recomputed, d removed from the manifest, x new
    expected = [(r["plan_id"], r["expectation"]) for r in rows if r["plan_id"] in keep]
    for name, table in {"sorted": rows, "unsorted": rows[::-1]}.items():
        folder = tmp_path / name
        folder.mkdir()
        pq.write_table(TABLES["validation_results"].to_arrow(table), folder / "validation_results.parquet")
        out = Previous(folder).plans("validation_results", keep).to_pylist()
        got = [(r["plan_id"], r["expectation"]) for r in out]
        assert got == (expected if name == "sorted" else expected[::-1]), name
    previous = Previous(tmp_path / "sorted")
    assert previous.plans("validation_results", set()).num_rows == 0
    assert previous.plans("validation_results", {"a", "b", "c", "d", "e"}).num_rows == 10


def test_runs_written_by_an_older_version_keep_their_history(tmp_path):
    import pyarrow as pa

    from pipeline.state.previous import Previous

    old = pa.table({"run_id": ["r1"], "status": ["ok"], "documents_seen": [3]})  # before new columns
    pq.write_table(old, tmp_path / "runs.parquet")
    rows = Previous(tmp_path).rows("runs")
    assert (
        rows[0]["run_id"] == "r1" and rows[0]["documents_seen"] == 3 and rows[0]["plans_recomputed"] is None
    )
    assert Previous(None).rows("runs") == []
