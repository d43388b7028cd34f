"""Validation stage: run the Great Expectations suites of ``schemas/suites.yaml``.

Two kinds of suite, both executed by GX (Core 1.x, ephemeral context):

* **table suites** — per table: generated structural expectations (columns, non-null, keys,
  non-empty titles) plus the value expectations listed in ``suites.yaml``. Each table is
  validated once; failures are attributed to their document through the unexpected rows.
* **rules** — :mod:`pipeline.validate.rules` turns the tables into check rows (rule, ok, details);
  GX runs one expectation per rule over them (``ok`` must be true), per plan.

Every expectation gives one ``validation_results`` row per plan and document it concerns,
with ``details`` in words a municipal officer can act on.
"""

from __future__ import annotations

import os
import string
import threading
from functools import cache
from typing import Any

import yaml

from pipeline.validate.rules import Records, run_rules
from pipeline.validate.rules import registered as rules_registry
from schemas import HERE as SCHEMA_DIR
from schemas import TABLES
from schemas.vocabulary import vocabulary

MAX_DETAILS = 25  # findings spelled out per result row; the count covers all
TITLE_COLUMNS = ("title", "name")
# plan_comparison is computed from theme_assignments (validated) pair by pair and has no plan_id:
# its structure comes from the schema. validation_results and runs describe runs, not plans.
SKIP_TABLES = ("validation_results", "validation_findings", "runs", "plan_comparison")


@cache
def suites() -> dict[str, Any]:
    return yaml.safe_load((SCHEMA_DIR / "suites.yaml").read_text(encoding="utf-8"))


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _format(template: str, row: dict[str, Any]) -> str:
    try:
        return string.Formatter().vformat(template, (), _Fields(row))
    except (ValueError, IndexError, KeyError):
        return template


@cache
def _gx():
    """The GX module and one ephemeral context per process (suites are added to it once)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in [n for n in logging.root.manager.loggerDict if n.startswith("great_expectations")] + [
        "great_expectations"
    ]:  # after the import: GX sets INFO on its own loggers
        logging.getLogger(name).setLevel(logging.WARNING)

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, ctx


def _expectation(gx, spec: dict[str, Any], index: int):
    """A GX expectation object from a suites.yaml entry (``meta.spec`` finds the entry again)."""
    name = spec["expectation"]
    cls = getattr(gx.expectations, "".join(p.capitalize() for p in name.split("_")))
    kwargs = {
        k: v
        for k, v in spec.items()
        if k not in ("expectation", "severity", "meaning", "message", "derive", "row_condition", "name")
    }
    if kwargs.get("value_set") == "$units":
        kwargs["value_set"] = sorted(vocabulary().units)
    if spec.get("row_condition"):
        kwargs.update(row_condition=spec["row_condition"], condition_parser="pandas")
    return cls(**kwargs, meta={"spec": index})


def _table_specs(table: str) -> list[dict[str, Any]]:
    schema = TABLES[table]
    specs: list[dict[str, Any]] = [
        {
            "expectation": "expect_table_columns_to_match_set",
            "column_set": schema.column_names,
            "exact_match": False,
            "severity": "error",
            "meaning": f"{table} has every column of its schema",
            "message": "{where}",
        }
    ]
    for col in schema.columns:
        if not col.nullable:
            specs.append(
                {
                    "expectation": "expect_column_values_to_not_be_null",
                    "column": col.name,
                    "severity": "error",
                    "meaning": f"{table}.{col.name} is always filled",
                    "message": f"{{where}}: no {col.name}",
                }
            )
        if col.name in TITLE_COLUMNS and col.type == "text":
            specs.append(
                {
                    "expectation": "expect_column_value_lengths_to_be_between",
                    "column": col.name,
                    "min_value": 1,
                    "severity": "error",
                    "meaning": f"{table}.{col.name} is never empty",
                    "message": f"{{where}}: empty {col.name}",
                }
            )
    if len(schema.key) > 1:
        specs.append(
            {
                "expectation": "expect_compound_columns_to_be_unique",
                "column_list": list(schema.key),
                "severity": "error",
                "meaning": f"{table} rows are unique by ({', '.join(schema.key)})",
                "message": "{where}: repeated " + ", ".join(f"{k}={{{k}}}" for k in schema.key),
            }
        )
    elif schema.key:
        k = schema.key[0]
        specs.append(
            {
                "expectation": "expect_column_values_to_be_unique",
                "column": k,
                "severity": "error",
                "meaning": f"{table}.{k} is unique",
                "message": f"{{where}}: repeated {k} {{{k}}}",
            }
        )
    return specs + list(suites()["tables"].get(table, []))


def _where(row: dict[str, Any], paths: dict[str, str]) -> str:
    path = paths.get(row.get("source_doc_id") or "", row.get("source_path") or row.get("plan_id") or "")
    if row.get("source_page") is not None:
        return f"{path} p.{int(row['source_page'])}"
    if row.get("source_row") is not None:
        return f"{path} line {int(row['source_row'])}"
    return str(path)


def validate(tables: Records, run_id: str, arrow: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run every suite over ``tables``; return ``validation_results`` rows."""
    return validate_all(tables, run_id, arrow)[0]


def validate_all(
    tables: Records, run_id: str, arrow: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run every suite over ``tables``; return ``validation_results`` rows (``details``
    summarises at most 25 findings) and ``validation_findings`` rows (every finding, one row
    each, with its document, page and line). ``arrow`` may hold some of the tables already
    as Arrow (a batch converts them anyway): not converted twice."""
    gx, ctx = _gx()
    arrow = arrow or {}
    paths = {d["doc_id"]: d["source_path"] for d in tables.get("documents", [])}
    results: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for table in TABLES:
        if table in SKIP_TABLES or not tables.get(table):
            continue
        data = arrow[table] if table in arrow else TABLES[table].to_arrow(tables[table])
        results += _run_table_suite(gx, ctx, table, data, paths, run_id, findings)
    results += _run_rules(gx, ctx, tables, run_id, findings)
    return results, findings


def prepare() -> None:
    """Import GX and build every suite now (a Dask worker does it when it starts: the first
    batch it validates would otherwise pay ~3 s for it)."""
    gx, ctx = _gx()
    for table in TABLES:
        if table not in SKIP_TABLES:
            _suite(gx, ctx, f"table_{table}", _table_specs(table))
    _suite(gx, ctx, "rules", _rule_specs())


_SUITE_LOCK = threading.Lock()


def _suite(gx, ctx, name: str, specs: list[dict[str, Any]]):
    """The suite ``name`` and the batch definition it runs on (a whole pandas DataFrame):
    built on first use, then reused (building a suite costs GX more than running it on one
    plan's rows)."""
    with _SUITE_LOCK:
        try:
            suite = ctx.suites.get(name)
        except gx.exceptions.DataContextError:
            suite = None
        try:
            source = ctx.data_sources.get("plan_etl")
        except KeyError:
            source = ctx.data_sources.add_pandas("plan_etl")
        if suite is not None:
            return suite, source.get_asset(name).get_batch_definition(name)
        asset = source.add_dataframe_asset(name)
        batch = asset.add_batch_definition_whole_dataframe(name)
        suite = ctx.suites.add(gx.ExpectationSuite(name=name))
        for i, spec in enumerate(specs):
            suite.add_expectation(_expectation(gx, spec, i))
        return suite, batch


def _run(gx, ctx, name: str, specs: list[dict[str, Any]], frame, result_format: str):
    """Validate ``frame`` with the suite ``name``. Through the batch, not a stored validation
    definition: a long-lived process (``plan-etl serve``, a Dask worker) would otherwise keep
    every result it ever produced in the context's in-memory result store."""
    suite, batch_definition = _suite(gx, ctx, name, specs)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=result_format)


def _spec_of(result, specs: list[dict[str, Any]]) -> dict[str, Any]:
    """GX returns results out of suite order: the spec index travels in the expectation's meta."""
    return specs[int(result.expectation_config.meta["spec"])]


def _run_table_suite(gx, ctx, table: str, arrow, paths: dict[str, str], run_id: str, findings: list):
    import pandas as pd

    specs = _table_specs(table)
    frame = arrow.to_pandas(types_mapper=pd.ArrowDtype)  # Arrow-backed: no Python object per cell
    for spec in specs:
        for col, expr in (spec.get("derive") or {}).items():
            frame[col] = pd.eval(expr, local_dict={c: frame[c] for c in frame.columns}, engine="python")
    res = _run(gx, ctx, f"table_{table}", specs, frame, "COMPLETE")
    groups = _groups(arrow)
    out = []
    for r in res.results:
        spec = _spec_of(r, specs)
        # Only the failing rows become dicts (a table of a thousand plans has millions of cells).
        where = [i for i in (r.result.get("unexpected_index_list") or []) if isinstance(i, int)]
        bad = [{k: _py(v) for k, v in row.items()} for row in frame.iloc[where].to_dict("records")]
        bad_by_group: dict[tuple, list[dict[str, Any]]] = {}
        for b in bad:
            bad_by_group.setdefault((b.get("plan_id"), b.get("source_doc_id")), []).append(b)
        for plan_id, doc in groups:
            mine = bad_by_group.get((plan_id, doc), [])
            success = r.success if not bad else not mine
            found = [
                {**b, "message": _format(spec["message"], {**b, "where": _where(b, paths)})} for b in mine
            ]
            row = _result(
                run_id,
                f"table:{table}",
                _label(spec),
                spec,
                plan_id,
                doc,
                success,
                len(mine) if bad else (r.result.get("unexpected_count") or 0),
                [f["message"] for f in found],
            )
            out.append(row)
            findings += [_finding(row, f) for f in found]
    return out


def _groups(arrow) -> list[tuple[str | None, str | None]]:
    """The distinct (plan_id, source_doc_id) of a table, in a stable order."""
    cols = [c for c in ("plan_id", "source_doc_id") if c in arrow.column_names]
    if not cols:
        return [(None, None)] if arrow.num_rows else []
    keys = arrow.select(cols).group_by(cols).aggregate([]).to_pylist()
    return sorted({(k.get("plan_id"), k.get("source_doc_id")) for k in keys}, key=str)


def _py(value: Any) -> Any:
    """pandas' missing values (NaN, NA, NaT) → None."""
    import pandas as pd

    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):  # lists and arrays
        return value


def _label(spec: dict[str, Any]) -> str:
    target = spec.get("column") or spec.get("column_A") or ",".join(spec.get("column_list") or []) or ""
    cond = f" where {spec['row_condition']}" if spec.get("row_condition") else ""
    return f"{spec['expectation']}({target}){cond}"


def _finding(result: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """One ``validation_findings`` row: a failing row or check of ``result``'s expectation."""
    return {
        "run_id": result["run_id"],
        "suite": result["suite"],
        "expectation": result["expectation"],
        "severity": result["severity"],
        "plan_id": found.get("plan_id", result["plan_id"]),
        "source_doc_id": found.get("source_doc_id") or result["source_doc_id"],
        "source_page": found.get("source_page"),
        "source_row": found.get("source_row"),
        "message": found["message"],
    }


def _result(run_id, suite, expectation, spec, plan_id, doc, success, count, messages) -> dict[str, Any]:
    shown = messages[:MAX_DETAILS]
    more = f" … and {len(messages) - MAX_DETAILS} more" if len(messages) > MAX_DETAILS else ""
    details = spec["meaning"] if success else f"{spec['meaning']} — " + " | ".join(shown) + more
    return {
        "run_id": run_id,
        "suite": suite,
        "expectation": expectation,
        "severity": spec["severity"],
        "plan_id": plan_id,
        "source_doc_id": doc,
        "success": bool(success),
        "unexpected_count": int(count),
        "details": details,
    }


def _run_rules(gx, ctx, tables: Records, run_id: str, findings: list) -> list[dict[str, Any]]:
    """One GX expectation per rule over its own column of the check rows (``ok`` where the
    row is of that rule, null elsewhere, and GX skips nulls): no per-rule row filter, whose
    cost GX would pay on every run."""
    import pandas as pd

    rules = suites()["rules"]
    specs = _rule_specs()
    checks = [c.record() for c in run_rules(tables)]
    frame = pd.DataFrame(
        checks, columns=["rule", "ok", "details", "plan_id", "source_doc_id", "source_page", "source_row"]
    )
    ok = frame["ok"].astype(object)
    frame = pd.concat(
        [frame, pd.DataFrame({f"ok:{name}": ok.where(frame["rule"] == name, None) for name in rules})], axis=1
    )
    res = _run(gx, ctx, "rules", specs, frame, "BOOLEAN_ONLY")
    by_rule_plan: dict[str, dict[str | None, list[dict[str, Any]]]] = {}
    for c in checks:
        by_rule_plan.setdefault(c["rule"], {}).setdefault(c["plan_id"], []).append(c)
    out = []
    for r in res.results:
        spec = _spec_of(r, specs)
        name = spec["name"]
        # A rule with nothing to check in a plan gives no row for that plan.
        for plan_id, of_plan in sorted(by_rule_plan.get(name, {}).items(), key=lambda kv: str(kv[0])):
            failed = [c for c in of_plan if not c["ok"]]
            docs = {c["source_doc_id"] for c in of_plan}
            doc = docs.pop() if len(docs) == 1 else None
            row = _result(
                run_id,
                "rules",
                name,
                spec,
                plan_id,
                doc,
                not failed,
                len(failed),
                [c["details"] for c in failed],
            )
            out.append(row)
            findings += [_finding(row, {**c, "message": c["details"]}) for c in failed]
    return out


def _rule_specs() -> list[dict[str, Any]]:
    """One expectation per rule: its column of the check rows holds only ``True``. Every
    registered rule has its entry in ``suites.yaml`` and every entry its rule."""
    registered, listed = set(rules_registry()), set(suites()["rules"])
    if registered != listed:
        raise RuntimeError(
            f"validation rules without a suites.yaml entry: {sorted(registered - listed)}; "
            f"suites.yaml rules without a rule: {sorted(listed - registered)}"
        )
    return [
        {
            "expectation": "expect_column_values_to_be_in_set",
            "column": f"ok:{name}",
            "value_set": [True],
            **spec,
            "name": name,
        }
        for name, spec in suites()["rules"].items()
    ]
