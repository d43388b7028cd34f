"""Bad input and faults: every broken document gets a clear error; nothing is lost or half-loaded."""

from __future__ import annotations

import random
import signal
import subprocess
import sys

import pytest
from conftest import RAW, ROOT, build_tables, by, extract_records, load_records, read_warehouse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.extract import extract_document
from pipeline.discover.manifest import ManifestError, load_manifest

CHIBA = (RAW / "chiba" / "strategy_framework.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("cp932", CHIBA.encode("cp932", errors="replace")),  # the keycap 4⃣ of the title has no CP932 code
        ("utf-8-sig", CHIBA.encode("utf-8-sig")),
        ("utf-16", CHIBA.encode("utf-16")),
        ("utf-8", CHIBA.replace("\n", "\r\n").encode("utf-8")),  # CRLF line ends
    ],
)
def test_encodings_are_decoded_and_recorded(tmp_path, encoding, data):
    path = tmp_path / "chiba.txt"
    path.write_bytes(data)
    out = extract_document(path)
    assert (out.document["status"], out.document["encoding"]) == ("ok", encoding)
    assert len(by(out.tables["indicators"], indicator_type="output")) == 24


def test_mis_encoded_text_fails_clearly(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_bytes(b"\x81\x39\xfe\xfe not any known encoding \xff\xfe\xfd" * 3)
    out = extract_document(path)
    assert out.document["status"] == "failed" and "broken.txt" in out.document["error"]


def test_unknown_kind(tmp_path):
    path = tmp_path / "minutes.txt"
    path.write_text("議事録\n出席者\t10名\n", encoding="utf-8")
    out = extract_document(path)
    assert out.document["status"] == "failed"
    assert (
        "unknown document kind" in out.document["error"]
        and "set kind: in sources.yaml" in out.document["error"]
    )


def test_sheet_without_kpi_table_is_partial_with_the_rest_extracted(tmp_path):
    lines = (RAW / "kama" / "progress_sheets.txt").read_text(encoding="utf-8").split("\n")
    first_kpi = next(i for i, line in enumerate(lines) if line.startswith("指標 (KPI)"))
    del lines[first_kpi : first_kpi + 3]  # the KPI table of sheet 1
    path = tmp_path / "sheets.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    out = extract_document(path)
    assert out.document["status"] == "partial"
    assert "sheet 1" in out.document["error"] and "no KPI table" in out.document["error"]
    assert len(out.tables["measures"]) == 21 and len(by(out.tables["indicators"], policy_code="1")) == 2


def test_page_budget_makes_a_large_document_partial(tmp_path):
    from extractors.readers.pdf import PdfLimits

    out = extract_document(RAW / "kama" / "progress_sheets.pdf", limits=PdfLimits(max_pages=3))
    assert out.document["status"] == "partial"
    assert "only the first 3 of 21 pages were read (page budget)" in out.document["error"]
    assert len(out.tables["measures"]) == 3


def test_limits_come_from_sources_yaml(tmp_path):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "limits: {max_pages: 50, max_seconds: 30}\nplans: []\n", encoding="utf-8"
    )
    [doc] = load_manifest(tmp_path).documents
    assert (doc.limits.max_pages, doc.limits.max_seconds) == (50, 30)
    (tmp_path / "sources.yaml").write_text("limits: {pages: 5}\nplans: []\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="limits takes max_pages and max_seconds"):
        load_manifest(tmp_path)


# --- fuzzing -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8")))
def test_arbitrary_bytes_never_crash_extraction(tmp_path, data):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    out = extract_document(path)
    assert out.document["status"] in ("ok", "partial", "failed")
    if out.document["status"] == "failed":
        assert out.document["error"].startswith("fuzz.txt") and "internal error" not in out.document["error"]


SEEDS = ["kama/progress_sheets.txt", "kama/action_plan.txt", "chiba/strategy_framework.txt"]


@settings(max_examples=45, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SEEDS), st.integers(0, 2**32 - 1), st.sampled_from(["delete", "shuffle"]))
def test_damaged_seed_documents_extract_what_remains_or_fail_cleanly(tmp_path, seed, salt, how):
    rng = random.Random(salt)
    lines = (RAW / seed).read_text(encoding="utf-8").split("\n")
    if how == "delete":
        lines = [line for line in lines if rng.random() > 0.3]
    else:
        rng.shuffle(lines)
    path = tmp_path / "damaged.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    out = extract_document(path)
    assert out.document["status"] in ("ok", "partial", "failed")
    assert "internal error" not in (out.document["error"] or ""), out.document["error"]


# --- a process killed in the middle of a load -------------------------------------------------

KILLER = """
import sys, time
from pipeline.load import load_tables
from pipeline.load.warehouse import open_warehouse
from schemas import TABLES

def pause(name, done):  # stop half-way (after the first table) until killed
    if done == 1:
        print("PLAN_ETL_PAUSED_IN_LOAD", file=sys.stderr, flush=True)
        time.sleep(60)

tables = {t: TABLES[t].to_arrow([]) for t in TABLES}  # an empty state, loaded over the real one
load_tables(open_warehouse(sys.argv[1]), tables, after_table=pause)
"""


def _kill_mid_load(url: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", KILLER, url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "PLAN_ETL_PAUSED_IN_LOAD" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _real_state():
    return extract_records(RAW, prefer="text")


@pytest.fixture(scope="module")
def state():
    return _real_state()


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_sigkill_during_load_leaves_the_previous_state(tmp_path, state, backend, request):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}" if backend == "duckdb" else request.getfixturevalue("pg_url")
    load_records(url, state)
    before = {t: len(read_warehouse(url, t)) for t in ("documents", "policies", "initiatives", "indicators")}
    assert before["initiatives"] == 169
    _kill_mid_load(url)
    after = {t: len(read_warehouse(url, t)) for t in before}
    assert after == before


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_failed_parquet_staging_changes_neither_warehouse_nor_curated(
    tmp_path, state, monkeypatch, backend, request
):
    """Parquet is staged while the warehouse loads; the warehouse commits only once the files
    are staged, so a failed staging (disk full) rolls the warehouse back."""
    import pyarrow.parquet as pq

    import pipeline.load as load
    from pipeline.load import WarehouseError, load_all

    url = f"duckdb:///{tmp_path / 'w.duckdb'}" if backend == "duckdb" else request.getfixturevalue("pg_url")
    tables = build_tables(state)
    load_all(tmp_path, url, tables)
    before = pq.read_table(tmp_path / "initiatives.parquet").num_rows
    assert len(read_warehouse(url, "initiatives")) == before == 169

    def disk_full(curated_dir, tables):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(load, "stage_curated", disk_full)
    empty = build_tables({t: [] for t in tables})
    with pytest.raises(WarehouseError, match="nothing was changed: .*No space left"):
        load_all(tmp_path, url, empty)
    assert len(read_warehouse(url, "initiatives")) == 169
    assert pq.read_table(tmp_path / "initiatives.parquet").num_rows == 169
    assert not list(tmp_path.glob(".staging-*"))
