"""``plan-etl actuals-template``: a plain, friendly workbook in which staff type each
indicator's 実績 for one fiscal year. Placed in ``raw/``, the filled workbook is read by the
flow (kind ``actuals``) and evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from extractors.parsers.actuals import header_labels, meta_labels

COLUMNS = [
    "indicator_id",
    "indicator_code",
    "policy",
    "name",
    "unit",
    "fiscal_year",
    "target",
    "actual",
    "note",
]
WIDTHS = {
    "indicator_id": 18,
    "indicator_code": 10,
    "policy": 6,
    "name": 48,
    "unit": 8,
    "fiscal_year": 8,
    "target": 12,
    "actual": 12,
    "note": 30,
}


def template_rows(indicators: list[dict[str, Any]], year: int) -> list[dict[str, Any]]:
    """One row per indicator of the plan (policy, type and name order)."""

    def order(i: dict[str, Any]) -> tuple:
        parts = [int(p) for p in str(i.get("policy_code") or "0").split(".") if p.isdigit()]
        return (
            parts,
            {"kpi": 0, "outcome": 1, "output": 2}.get(i["indicator_type"], 3),
            i.get("measure_code") or "",
        )

    rows = []
    for ind in sorted(indicators, key=order):
        target = ind.get("target_value") if ind.get("target_fiscal_year") == year else None
        rows.append(
            {
                "indicator_id": ind["indicator_id"],
                "indicator_code": ind.get("indicator_code"),
                "policy": ind.get("policy_code"),
                "name": ind["name"],
                "unit": ind.get("unit"),
                "fiscal_year": year,
                "target": target,
                "actual": None,
                "note": None,
            }
        )
    return rows


def write_template(path: Path, plan: dict[str, Any], indicators: list[dict[str, Any]], year: int) -> int:
    """Write the workbook; return the number of indicator rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    labels, meta = header_labels(), meta_labels()
    wb = Workbook()
    ws = wb.active
    ws.title = "実績入力"
    ws["A1"] = f"実績入力シート — {plan.get('title') or plan['plan_id']}"
    ws["A1"].font = Font(size=14, bold=True)
    ws.append([meta["plan_id"], plan["plan_id"]])
    ws.append([meta["plan_title"], plan.get("title") or ""])
    ws.append([meta["fiscal_year"], year])
    ws.append(
        [
            "記入方法",
            "「実績」欄に数値だけを入力してください（単位・カンマ不要）。目標が空欄なら分かる範囲で記入してください。",
        ]
    )
    ws.append([])
    ws.append([labels[c] for c in COLUMNS])
    header_row = ws.max_row
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[header_row]:
        cell.font, cell.fill = Font(bold=True), fill
    rows = template_rows(indicators, year)
    for r in rows:
        ws.append([r[c] for c in COLUMNS])
    first, last = header_row + 1, header_row + max(len(rows), 1)
    numeric = DataValidation(
        type="decimal",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="数値を入力してください",
        error="実績・目標には 0 以上の数値を入力してください。",
    )
    ws.add_data_validation(numeric)
    for col in ("target", "actual"):
        letter = chr(ord("A") + COLUMNS.index(col))
        numeric.add(f"{letter}{first}:{letter}{last}")
    actual_fill = PatternFill("solid", fgColor="FFF2CC")
    for row in ws.iter_rows(
        min_row=first, max_row=last, min_col=COLUMNS.index("actual") + 1, max_col=COLUMNS.index("actual") + 1
    ):
        for cell in row:
            cell.fill = actual_fill
    for i, col in enumerate(COLUMNS):
        ws.column_dimensions[chr(ord("A") + i)].width = WIDTHS[col]
    ws.freeze_panes = f"A{first}"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return len(rows)
