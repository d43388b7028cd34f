"""A refresh's unit of work: batches of whole plans."""

from __future__ import annotations

from conftest import RAW

from pipeline.discover.manifest import DocumentSpec, Plan, load_manifest
from pipeline.refresh.batch import MAX_BATCH_DOCUMENTS, plan_batches, process_batch
from pipeline.state.previous import Previous
from pipeline.state.work import WorkPlan


def _many_plans(n_plans: int, docs_per_plan: int):
    specs = [
        DocumentSpec(RAW / "x.txt", f"p{p:04d}/d{d}.txt", f"p{p:04d}")
        for p in range(n_plans)
        for d in range(docs_per_plan)
    ]
    return {f"p{p:04d}": Plan(f"p{p:04d}") for p in range(n_plans)}, WorkPlan(extract=specs)


def test_batches_hold_whole_plans_each_once_and_enough_of_them():
    plans, work = _many_plans(1788, 1)
    kw = {"previous": Previous(None), "run_id": "r", "now": None}
    for workers in (1, 2):
        todo, rest = plan_batches(plans, work, set(plans), workers, **kw)
        assert sorted(p for b in todo for p in b.plans) == sorted(plans)  # every plan once, in order
        assert [s.rel_path for b in todo for s in b.work.extract] == [s.rel_path for s in work.extract]
        assert all(len(b.work.extract) <= MAX_BATCH_DOCUMENTS for b in todo) and rest.extract == []
        assert len(todo) >= 4 * workers  # a worker finishing early finds another batch
    plans, work = _many_plans(3, 5)  # a plan's documents never straddle two batches
    todo, _ = plan_batches(plans, work, set(plans), 4, **kw)
    assert [len(b.plans) for b in todo] == [1, 1, 1] and [len(b.work.extract) for b in todo] == [5, 5, 5]
    todo, rest = plan_batches(plans, WorkPlan(reuse=[(s, {}) for s in work.extract]), {"p0001"}, 1, **kw)
    assert (
        [list(b.plans) for b in todo] == [["p0001"]]
        and len(todo[0].work.reuse) == 5
        and len(rest.reuse) == 10
    )


def test_batches_of_one_plan_give_the_tables_of_one_batch_of_all():
    """Derivation and validation see one plan at a time: how plans are batched changes nothing
    (once rows are in the warehouse's plan order, as the flow's merge puts them)."""
    from pipeline.state.previous import canonical_order

    manifest = load_manifest(RAW, prefer="text")
    work = WorkPlan(extract=list(manifest.documents))
    kw = {"previous": Previous(None), "run_id": "r", "now": None}
    together, _ = plan_batches(manifest.plans, work, set(manifest.plans), 1, **kw)
    together[0] = together[0].__class__(
        manifest.plans, work, Previous(None), "r", None
    )  # one batch of both plans
    apart, _ = plan_batches(manifest.plans, work, set(manifest.plans), 4, **kw)
    assert len(apart) == 2
    one = process_batch(together[0])
    parts = [process_batch(b) for b in apart]
    for name, table in one.tables.items():
        rows = [r for part in parts for r in canonical_order(name, part.tables[name]).to_pylist()]
        assert canonical_order(name, table).to_pylist() == rows, name
    assert one.tables["indicators"].num_rows > 0 and one.tables["validation_results"].num_rows > 0
