"""The HTML validation report lists every finding of a failed expectation (not the 25 of
``details``) and links each to its document by a path relative to the report: a PDF finding
to ``file.pdf#page=N``, a text export's to the file with its line."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import pytest
from conftest import RAW

PLANTED = 40  # initiatives given a code that is not a letter


@pytest.mark.parametrize("name", ["action_plan.pdf", "action_plan.txt"])
def test_every_finding_is_listed_and_linked_to_its_page_or_line(tmp_path, name):
    from extractors.extract import extract_document
    from pipeline.report.html import SHOWN_OPEN, ReportInput, write_report
    from pipeline.validate.gx import validate_all

    outcome = extract_document(RAW / "kama" / name, rel_path=f"kama/{name}", plan_id="kama-sme-2")
    initiatives = [dict(r) for r in outcome.tables["initiatives"]]
    for r in initiatives[:PLANTED]:
        r["initiative_code"] += "9"
    tables = {"documents": [outcome.document], "initiatives": initiatives}
    results, findings = validate_all(tables, "run-1")
    shown = ReportInput(results, findings, [outcome.document], raw_dir=RAW)
    report = write_report(shown, tmp_path / "curated" / "validation" / "index.html")
    page = report.read_text(encoding="utf-8")
    items = re.findall(r'<li><a href="([^"]+)">([^<]+)</a> ([^<]+ is not a letter)</li>', page)
    assert len(items) == PLANTED  # (the other findings: the planted letters break the a, b, c rule)
    pages = set()
    for (href, place, message), planted in zip(items, initiatives[:PLANTED], strict=True):
        target, _, fragment = html.unescape(href).partition("#")
        assert (report.parent / unquote(target)).resolve() == (RAW / "kama" / name).resolve()
        assert f"initiative code '{planted['initiative_code']}'" in html.unescape(message)
        if name.endswith(".pdf"):
            assert (fragment, place) == (f"page={planted['source_page']}", f"p.{planted['source_page']}")
            pages.add(planted["source_page"])
        else:
            assert (fragment, place) == ("", f"line {planted['source_row']}")
    assert name.endswith(".txt") or pages == {1, 2, 3}  # the first 40 initiatives of the PDF: pages 1–3
    assert f"{PLANTED - SHOWN_OPEN} more findings (all {PLANTED})" in page


def test_a_document_not_at_hand_is_named_without_a_link(tmp_path):
    from pipeline.report.html import ReportInput, write_report

    result = {"suite": "rules", "expectation": "e", "severity": "error", "plan_id": "p", "success": False}
    result |= {"source_doc_id": "d", "unexpected_count": 1, "details": "m — gone.pdf p.3: x"}
    finding = {k: result[k] for k in ("suite", "expectation", "plan_id", "source_doc_id")}
    finding |= {"source_page": 3, "source_row": None, "message": "gone.pdf p.3: x"}
    document = {"doc_id": "d", "source_path": "gone.pdf"}
    shown = ReportInput([result], [finding], [document], raw_dir=tmp_path)
    page = write_report(shown, tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<li>gone.pdf p.3: x</li>" in page and "<a href" not in page
