"""The previous run's curated tables, read once as Arrow: what a refresh carries over.

A nightly refresh recomputes only the plans whose documents (or manifest entry) changed.
Every other plan's rows stay as Arrow data, never turned into Python objects: they are
selected from the previous tables and the fresh plans' blocks are slotted in by plan, so
that the result is the same, row for row, as a refresh from scratch.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from pipeline.state.integrity import check_file, recorded_checks
from schemas import TABLES

#: Tables whose every row belongs to one plan (``plan_id``) and is derived from that plan's
#: documents alone: recomputed for changed plans, carried over for the others.
PLAN_TABLES = tuple(
    name
    for name, schema in TABLES.items()
    if "plan_id" in schema.column_names and name not in ("plans", "documents", "runs")
)
PAIR_TABLE = "plan_comparison"  # keyed by (plan_a, plan_b): carried over pair by pair


class Previous:
    """The curated Parquet tables of the last run (empty tables when there was none, or
    when ``curated_dir`` is None).

    Each table is read once, on first use, by whichever thread asks first (the flow and a
    task running beside it share one object). Pickled (to a Dask worker), only the folder
    travels: the worker reads what it needs itself.
    """

    def __init__(
        self,
        curated_dir: Path | None,
        only: tuple[str, ...] | None = None,
        given: dict[str, Any] | None = None,
    ) -> None:
        self.dir = curated_dir
        self.only = only  # the tables read; the others are empty (a damaged state: runs only)
        self.given = dict(given or {})  # tables not read from curated/ (runs read back from the warehouse)
        self._tables: dict[str, Any] = dict(self.given)
        self._locks: dict[str, threading.Lock] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"dir": self.dir, "only": self.only, "given": self.given}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["dir"], state.get("only"), state.get("given"))

    def _path(self, name: str) -> Path | None:
        if self.dir is None or (self.only is not None and name not in self.only):
            return None
        path = self.dir / f"{name}.parquet"
        return path if path.exists() else None

    def problems(self) -> list[str]:
        """What makes the last run's tables unusable: a table missing (when a run was
        recorded), unreadable (truncated, corrupt), in another schema, or not the file the last
        run recorded (rows, size, CRC-32: :mod:`pipeline.state.integrity`). [] when the state
        is whole or there was no run; cheap (Parquet footers and one pass of CRC-32)."""
        if self.dir is None or not ("runs" in self.given or (self.dir / "runs.parquet").exists()):
            return []
        found, rows = {}, {}
        for name in TABLES:
            found[name], rows[name] = (None, 0) if name in self.given else self._footer(name)
        if found["runs"] is None:
            last = (self.rows("runs") or [{}])[-1]
            for name, want in recorded_checks(last).items():
                if name in found and found[name] is None:
                    found[name] = check_file(self.dir / f"{name}.parquet", rows[name], want, last["run_id"])
        return [problem for problem in found.values() if problem]

    def runs_problem(self) -> str | None:
        """What is wrong with ``runs.parquet`` (missing, unreadable), None when it is whole."""
        return self._footer("runs")[0] if self.dir is not None else None

    def _footer(self, name: str) -> tuple[str | None, int]:
        """(what is wrong with the table's file by its footer, or None; its row count)."""
        import pyarrow.parquet as pq

        path = self.dir / f"{name}.parquet"
        if not path.exists():
            return f"{path} is missing", 0
        try:
            with pq.ParquetFile(path) as parquet:
                schema, count = parquet.schema_arrow, parquet.metadata.num_rows
        except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
            return f"{path} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})", 0
        if name != "runs" and not _same_columns(schema, TABLES[name].arrow_schema()):
            return f"{path} has the columns of another version of plan-etl", count
        return None, count

    def table(self, name: str):
        """The whole previous table as Arrow, in the current schema (empty if absent)."""
        with self._locks.setdefault(name, threading.Lock()):
            if name not in self._tables:
                import pyarrow.parquet as pq

                path, schema = self._path(name), TABLES[name].arrow_schema()
                self._tables[name] = _conform(pq.read_table(path), schema) if path else schema.empty_table()
        return self._tables[name]

    def select(self, name: str, column: str, values: set[str]):
        """Rows whose ``column`` is one of ``values`` (Arrow; nulls never match)."""
        if not values:  # nothing asked: the table is not even read
            return TABLES[name].arrow_schema().empty_table()
        table = self.table(name)
        if not table.num_rows:
            return table.schema.empty_table()
        return table.filter(_is_in(table, column, values))

    def plans(self, name: str, keep: set[str]):
        """The rows of the plans in ``keep`` (Arrow). A table of the last run is in plan order,
        so this is the table less the blocks of the other plans: zero-copy slices, where a
        filter would copy every kept row (~0.8 s for the 1.5 M rows of 1,788 plans)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        table = self.table(name) if keep else TABLES[name].arrow_schema().empty_table()
        if not table.num_rows:
            return table.schema.empty_table()
        column = table["plan_id"]
        drop = set(pc.unique(column).drop_null().to_pylist()) - keep
        if not _plan_ordered(column) or len(drop) > MAX_INSERTED_PLANS:
            return table.filter(_is_in(table, "plan_id", keep))
        pieces, at = [], 0
        for plan in sorted(drop):
            start, length = _block(column, plan)
            pieces.append(table.slice(at, start - at))
            at = start + length
        pieces.append(table.slice(at, len(column) - column.null_count - at))  # nulls (last) dropped
        return pa.concat_tables([p for p in pieces if p.num_rows] or [table.schema.empty_table()])

    def pairs(self) -> set[tuple[str, str]]:
        """The (plan_a, plan_b) pairs of the previous comparison table."""
        table = self.table(PAIR_TABLE).select(["plan_a", "plan_b"])
        return set(zip(table["plan_a"].to_pylist(), table["plan_b"].to_pylist(), strict=True))

    def select_pairs(self, pairs: set[tuple[str, str]]):
        """The previous comparison rows of ``pairs`` (Arrow)."""
        import pyarrow.compute as pc

        table = self.table(PAIR_TABLE)
        if not pairs or not table.num_rows:
            return table.schema.empty_table()
        key = pc.binary_join_element_wise(table["plan_a"], table["plan_b"], "\x1f")
        return table.filter(_in(key, {f"{a}\x1f{b}" for a, b in pairs}))

    def rows(self, name: str) -> list[dict[str, Any]]:
        return self.table(name).to_pylist()

    def rows_where(self, name: str, column: str, values: set[str]) -> list[dict[str, Any]]:
        """Rows whose ``column`` is one of ``values``, as dicts (small selections only)."""
        return self.select(name, column, values).to_pylist()


def _is_in(table, column: str, values: set[str]):
    return _in(table[column], values)


def _in(array, values: set[str]):
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.fill_null(pc.is_in(array, value_set=pa.array(sorted(values), pa.string())), False)


def _conform(table, schema):
    """A table written by an older version, in today's schema: columns added since are null,
    columns dropped since are left out (so that ``runs`` keeps its history across upgrades)."""
    import pyarrow as pa

    try:
        columns = [
            table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
            for f in schema
        ]
        return pa.Table.from_arrays(columns, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return schema.empty_table()  # a type changed: nothing of it can be carried over


def _same_columns(a, b) -> bool:
    return [(f.name, f.type) for f in a] == [(f.name, f.type) for f in b]


def merge(carried: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """Carried Arrow tables + fresh records (dicts or Arrow) → every table of the run, in
    canonical order.

    Plan tables are sorted by ``plan_id`` and the comparison by ``(plan_a, plan_b)`` with a
    stable sort, so rows keep their per-plan order (documents by path, then as extracted)
    whether a plan was recomputed tonight or carried over from an earlier night.
    """
    import pyarrow as pa

    out = {}
    for name, schema in TABLES.items():
        rows = fresh.get(name, [])
        table = canonical_order(name, schema.to_arrow(rows) if isinstance(rows, list) else rows)
        kept = carried.get(name)
        if kept is None or not kept.num_rows:
            out[name] = table
        elif name in PLAN_TABLES and _insertable(kept, table):
            out[name] = _insert_plans(kept, table)
        else:
            out[name] = canonical_order(name, pa.concat_tables([kept, table]))
    return out


MAX_INSERTED_PLANS = 64  # beyond this many recomputed plans, one sort is cheaper than inserting


def _insertable(kept, fresh) -> bool:
    """Few fresh plans and a kept table in plan order (nulls last): insertion is exact."""
    return len(fresh["plan_id"].unique()) <= MAX_INSERTED_PLANS and _plan_ordered(kept["plan_id"])


def _plan_ordered(column) -> bool:
    """Sorted by plan_id, nulls last (the canonical order of a plan table)."""
    import pyarrow.compute as pc

    values = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    n = len(values) - values.null_count
    if values.slice(n).null_count != values.null_count:
        return False  # a null before the end
    values = values.slice(0, n)
    return n < 2 or not pc.any(pc.less(values[1:], values[:-1])).as_py()


def _block(column, plan: str) -> tuple[int, int]:
    """Where ``plan``'s rows start in a ``plan_id`` column in plan order, and how many there
    are (where they would go, and 0, if there are none)."""
    import pyarrow.compute as pc

    return pc.sum(pc.less(column, plan)).as_py() or 0, pc.sum(pc.equal(column, plan)).as_py() or 0


def _insert_plans(kept, fresh):
    """Both sorted by plan_id, their plans disjoint: slice the fresh plans' blocks into the
    kept table where they belong (no sort, no copy of the kept rows)."""
    import pyarrow as pa

    if not fresh.num_rows:
        return kept
    plans = fresh["plan_id"].unique().to_pylist()
    pieces, at_kept, at_fresh = [], 0, 0
    for plan in plans:
        pos, _ = _block(kept["plan_id"], plan)
        _, n = _block(fresh["plan_id"], plan)
        pieces += [kept.slice(at_kept, pos - at_kept), fresh.slice(at_fresh, n)]
        at_kept, at_fresh = pos, at_fresh + n
    pieces.append(kept.slice(at_kept))
    return pa.concat_tables([p for p in pieces if p.num_rows] or [kept])


def canonical_order(name: str, table):
    """Plan tables by ``plan_id``, the comparison by ``(plan_a, plan_b)``; a stable sort, so
    rows keep their order within a plan. Other tables are returned as they are."""
    import pyarrow.compute as pc

    columns = ["plan_id"] if name in PLAN_TABLES else ["plan_a", "plan_b"] if name == PAIR_TABLE else []
    if not columns or table.num_rows < 2 or (name in PLAN_TABLES and _plan_ordered(table["plan_id"])):
        return table  # already in order (batches of plans arrive in plan order): no sort, no copy
    order = pc.sort_indices(table, sort_keys=[(c, "ascending", "at_end") for c in columns])
    return table.take(order)


def carry_plans(previous: Previous, keep: set[str]) -> dict[str, Any]:
    """What tonight keeps of every plan table: the rows of the plans in ``keep`` (Arrow,
    slices of the previous tables; read while the tasks run)."""
    return {name: previous.plans(name, keep) for name in PLAN_TABLES}


class Comparisons:
    """Tonight's ``plan_comparison``: the previous rows of pairs where neither side changed,
    and fresh rows for the other pairs, computed as soon as both sides' theme assignments are
    known (a plan not recomputed: from the last run; a recomputed one: when its batch is
    back), so that most of the work is done while the remaining batches run.
    """

    def __init__(self, previous: Previous, plans: list[dict[str, Any]], affected: set[str]) -> None:
        from pipeline.derive.compare import comparison_pairs

        self.previous = previous
        keep = {p["plan_id"] for p in plans} - affected
        pairs = comparison_pairs(plans)
        before = previous.pairs() if keep else set()
        self.kept = {p for p in pairs if p[0] in keep and p[1] in keep and p in before}
        self.todo = [p for p in pairs if p not in self.kept]
        self.waiting = set(affected)
        others = {plan for pair in self.todo for plan in pair} - affected
        self.index: dict = {}
        self.sides: dict = {}
        self.rows: list[dict[str, Any]] = []
        self._index(previous.select("theme_assignments", "plan_id", others))

    def _index(self, assignments) -> None:
        """Index theme assignments (Arrow) by plan and theme, only the columns compared."""
        from pipeline.derive.compare import COMPARED, index_assignments

        for key, rows in index_assignments(assignments.select(COMPARED).to_pylist()).items():
            self.index.setdefault(key, []).extend(rows)

    def add(self, plans: set[str], assignments) -> None:
        """The theme assignments (Arrow) of freshly derived ``plans``: compare the pairs now complete."""
        from pipeline.derive.compare import compare_pairs

        self._index(assignments)
        self.waiting -= plans
        ready = [p for p in self.todo if p[0] not in self.waiting and p[1] not in self.waiting]
        if ready:
            done = set(ready)
            self.todo = [p for p in self.todo if p not in done]
            self.rows += compare_pairs(ready, index=self.index, sides=self.sides)

    def finish(self) -> tuple[Any, list[dict[str, Any]]]:
        """(the kept comparison rows as Arrow, the fresh rows); pairs still waiting for a plan
        that produced nothing (a failed plan) are compared with what is known of it."""
        from pipeline.derive.compare import compare_pairs

        self.rows += compare_pairs(self.todo, index=self.index, sides=self.sides)
        self.todo = []
        return self.previous.select_pairs(self.kept), self.rows


def validation_counts(results) -> dict[str, int]:
    """Expectations run and failed, by severity, of a ``validation_results`` Arrow table."""
    import pyarrow.compute as pc

    failed = results.filter(pc.invert(pc.fill_null(results["success"], False)))
    severities = failed["severity"].to_pylist()
    return {
        "total": results.num_rows,
        "error": severities.count("error"),
        "warning": severities.count("warning"),
    }


def fresh_rows(table, keep: frozenset[str] | set[str]):
    """The rows of ``table`` not of a plan in ``keep`` (those a run recomputed), as Arrow."""
    import pyarrow.compute as pc

    if not keep or not table.num_rows:
        return table
    return table.filter(pc.invert(_is_in(table, "plan_id", set(keep))))
