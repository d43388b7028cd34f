"""Table-level F1 of parsed records against a fixture's ``.expected.json`` (issue 16).

Rows are compared on the columns the expected JSON lists (lineage and ids left out);
``indicator_values`` rows are keyed by their indicator's (policy_code, name).
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def iso(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Dates as ISO strings, as the expected JSON writes them."""
    return {
        t: [{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()} for r in rows]
        for t, rows in tables.items()
    }


def _norm(value: Any) -> Any:
    if isinstance(value, float) and value == int(value):
        return int(value)
    if isinstance(value, list):
        return tuple(value)
    return value


def _with_names(tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """indicator_values rows with the (policy_code, name) of their indicator."""
    names = {r["indicator_id"]: (r.get("policy_code"), r.get("name")) for r in tables.get("indicators", [])}
    rows = []
    for r in tables.get("indicator_values", []):
        policy_code, name = names.get(r["indicator_id"], (None, None))
        rows.append({**r, "policy_code": policy_code, "name": name})
    return rows


def table_scores(
    got: dict[str, list[dict[str, Any]]], expected: dict[str, list[dict[str, Any]]]
) -> dict[str, tuple[float, float, float]]:
    """(precision, recall, F1) per expected table, plus ``ALL`` over every row."""
    scores: dict[str, tuple[float, float, float]] = {}
    totals = [0, 0, 0]  # expected, produced, matching
    for table, rows in expected.items():
        produced = _with_names(got) if table == "indicator_values" else list(got.get(table, []))
        cols = sorted({k for r in rows for k in r})
        want = [tuple(_norm(r.get(c)) for c in cols) for r in rows]
        pool = [tuple(_norm(r.get(c)) for c in cols) for r in produced]
        hit = 0
        for w in want:
            if w in pool:
                pool.remove(w)
                hit += 1
        scores[table] = _prf(len(want), len(produced), hit)
        totals = [totals[0] + len(want), totals[1] + len(produced), totals[2] + hit]
    scores["ALL"] = _prf(*totals)
    return scores


def _prf(expected: int, produced: int, hit: int) -> tuple[float, float, float]:
    p = hit / produced if produced else (1.0 if not expected else 0.0)
    r = hit / expected if expected else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
