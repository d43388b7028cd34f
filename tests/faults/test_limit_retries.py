"""A document stopped by the per-document time or memory limit (issue 19 §5) is not quarantined
like a document that cannot be read: a busy night may stop what a quiet one reads. The next
run retries it and says so, up to ``LIMIT_ATTEMPTS`` extractions of the same bytes; then it is
quarantined with its reason. A failure of the document itself (a parse error) is quarantined
at once, as before.

A time limit of 1 ms stops any document deterministically (reading the Kama progress sheets
takes a few hundred times longer)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from faults_site import Site, assert_new_state, copy_site, error_lines

from extractors import extractor_version
from extractors.limits import LIMIT_ATTEMPTS, limit_attempts, stopped_by
from pipeline.discover.manifest import DocumentSpec, Manifest, Plan
from pipeline.state.work import plan_work

KPI = "デジタルを活用し、新サービスを開始した企業数"
SHEETS = "kama/progress_sheets.txt"
STOPPED = (
    f"failed: {SHEETS}: stopped after 0.001 s — longer than one document may take "
    "(PLAN_ETL_DOCUMENT_SECONDS); the other documents go on"
)
BUSY = {"PLAN_ETL_DOCUMENT_SECONDS": "0.001"}


@pytest.fixture
def site(tmp_path) -> Site:
    site = copy_site(tmp_path)
    path = site.raw / SHEETS  # a revision: tonight's run extracts it
    path.write_text(path.read_text(encoding="utf-8").replace(KPI, KPI + "(改訂)"), encoding="utf-8")
    return site


def _indicator_names(state: dict) -> set[str]:
    return {i["name"] for i in state["warehouse"]["indicators"]}


def test_a_document_stopped_by_the_time_limit_is_read_by_the_next_run(site):
    first = site.run(env=BUSY)
    assert first.exit_code == 1
    [line] = error_lines(first)
    assert line.startswith(STOPPED + " (attempt 1 of 2: the next run tries it again) — the ")
    assert line.endswith("rows of the previous version (doc " + line.split("(doc ")[1])
    assert KPI in _indicator_names(assert_new_state(site))  # the previous version's rows stay

    second = site.run()  # a quieter night
    assert second.exit_code == 0, second.output
    assert error_lines(second) == []
    assert f"note: retrying {SHEETS}, stopped by the time limit last run (attempt 2 of 2)" in second.output
    assert "3 documents — 1 extracted, 2 unchanged, 0 failed" in second.output
    state = assert_new_state(site)
    assert KPI + "(改訂)" in _indicator_names(state) and KPI not in _indicator_names(state)


def test_a_document_stopped_on_every_attempt_is_then_quarantined_with_its_reason(site):
    site.run(env=BUSY)
    second = site.run(env=BUSY)
    assert second.exit_code == 1
    assert f"note: retrying {SHEETS}, stopped by the time limit last run (attempt 2 of 2)" in second.output
    [line] = error_lines(second)
    assert line.startswith(
        STOPPED + " (attempt 2 of 2: quarantined until the file or the extractor changes) — the "
    )
    third = site.run()  # not extracted again, even on a quiet night
    assert third.exit_code == 1
    assert "retrying" not in third.output
    assert f"note: {SHEETS}: quarantined — it failed before with these very bytes ({STOPPED[8:]}" in (
        third.output
    )
    assert "3 documents — 0 extracted, 2 unchanged, 1 failed (1 quarantined)" in third.output
    assert KPI in _indicator_names(assert_new_state(site))  # the previous version's rows still


# --- the decision alone (no run) ---------------------------------------------------------


def _planned(tmp_path: Path, error: str) -> tuple[list[str], list[str], list[tuple[str, str, int]]]:
    """plan_work for one document whose last extraction, of these very bytes, failed so."""
    path = tmp_path / "a" / "x.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.7 x")
    manifest = Manifest(
        raw_dir=tmp_path, plans={"a": Plan("a")}, documents=[DocumentSpec(path, "a/x.pdf", "a")]
    )
    failed = {
        "source_path": "a/x.pdf",
        "plan_id": "a",
        "doc_id": hashlib.sha256(path.read_bytes()).hexdigest(),
        "kind": None,
        "status": "failed",
        "error": error,
        "extractor_version": extractor_version(),
    }
    work = plan_work(manifest, [failed])
    return (
        [s.rel_path for s in work.extract],
        [s.rel_path for s, _, _ in work.quarantined],
        [(s.rel_path, limit, n) for s, limit, n in work.retried],
    )


TIME = "a/x.pdf: stopped after 600 s — longer than one document may take (PLAN_ETL_DOCUMENT_SECONDS)"
MEMORY = (
    "a/x.pdf: the extraction process was killed (out of memory?) while reading it — over the "
    "4,096 MiB memory limit or a crash in a reader library (PLAN_ETL_DOCUMENT_MEMORY_MB)"
)
OUT_OF_MEMORY = "a/x.pdf: ran out of memory while extracting it — over the memory limit of one document"
PARSE = "a/x.pdf: unknown document kind (label markers found: progress_sheets 0); set kind: in sources.yaml"


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (TIME, [("a/x.pdf", "time", 1)]),
        (
            TIME + "; the other documents go on (attempt 1 of 2: the next run tries it again)",
            [("a/x.pdf", "time", 1)],
        ),
        (MEMORY, [("a/x.pdf", "memory", 1)]),
        (OUT_OF_MEMORY + " (attempt 1 of 2: the next run tries it again)", [("a/x.pdf", "memory", 1)]),
        (TIME + " (attempt 2 of 2: quarantined until the file or the extractor changes)", []),
        (PARSE, []),
    ],
    ids=["time", "time, attempt 1", "memory", "out of memory", "time, attempt 2", "parse error"],
)
def test_only_a_limit_stopped_document_under_its_attempts_is_retried(tmp_path, error, retried):
    extract, quarantined, planned = _planned(tmp_path, error)
    assert planned == retried
    assert (extract, quarantined) == ((["a/x.pdf"], []) if retried else ([], ["a/x.pdf"]))


def test_the_attempts_and_the_limit_are_read_from_the_error():
    assert LIMIT_ATTEMPTS == 2
    assert (stopped_by(TIME), stopped_by(MEMORY), stopped_by(OUT_OF_MEMORY), stopped_by(PARSE)) == (
        "time",
        "memory",
        "memory",
        None,
    )
    assert limit_attempts(TIME) == 1 and limit_attempts(TIME + " (attempt 2 of 2: quarantined …)") == 2
