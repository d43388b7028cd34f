"""`plan-etl compare` on curated tables of the bundled samples: one error line for a plan that
cannot be compared, the terminal table at 80 columns, and the HTML report in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import RAW, build_tables, extract_records

from cli.main import main

KAMA, CHIBA = "kama-sme-2", "chiba-genki-5"


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    """Curated tables of the bundled samples (text exports), plus a plan with no documents and
    one with no level, and one whose only document failed."""
    import pyarrow.parquet as pq

    records = extract_records(RAW, prefer="text")
    records["plans"] = records["plans"] + [
        {"plan_id": "empty-city", "issuer": "空町", "level": "municipal", "prefecture": "千葉県"},
        {"plan_id": "no-level", "issuer": "某町", "level": None},
        {"plan_id": "unread", "issuer": "読町", "level": "municipal"},
    ]
    doc = records["documents"][0]
    records["documents"] = records["documents"] + [
        dict(doc, doc_id="x" * 64, plan_id="no-level", source_path="no-level/a.txt"),
        dict(doc, doc_id="y" * 64, plan_id="unread", source_path="unread/a.pdf", status="failed"),
    ]
    out = tmp_path_factory.mktemp("curated")
    for name, table in build_tables(records).items():
        pq.write_table(table, out / f"{name}.parquet")
    return out


def run(curated: Path, *args: str):
    return CliRunner().invoke(main, ["compare", *args, "--curated", str(curated)], env={"COLUMNS": "80"})


@pytest.mark.parametrize(
    ("plans", "message"),
    [
        (
            (KAMA, "nowhere"),
            "error: unknown plan 'nowhere' (known: chiba-genki-5, empty-city, kama-sme-2, no-level, unread)",
        ),
        ((KAMA, "empty-city"), "error: plan 'empty-city' has no documents: nothing to compare"),
        (("no-level", CHIBA), "error: plan 'no-level' has level None, not one of municipal, prefectural"),
        ((KAMA, KAMA), "error: 'kama-sme-2' compared with itself"),
        (
            (KAMA, "unread"),
            "error: plan 'unread': no measure or indicator was read from its documents (unread/a.pdf failed)",
        ),
    ],
)
def test_a_plan_that_cannot_be_compared_is_one_line_and_exit_2(curated, tmp_path, plans, message):
    html = tmp_path / "r.html"
    result = run(curated, *plans, "--html", str(html))
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith(message)
    assert "Traceback" not in result.output and not html.exists()


def test_no_curated_tables_is_one_line(tmp_path):
    result = run(tmp_path / "none", KAMA, CHIBA)
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "run `plan-etl run` first" in result.output


def test_terminal_table_at_80_columns_names_each_kpi_once(curated):
    result = run(curated, KAMA, CHIBA)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines() if "│" in line) <= 80
    assert result.output.count("経営革新計画の策定事業者数") == 1
    assert "2-4 経営革新計画の策定事業者数 (【再掲】4-3, also 6-2)" in result.output
    assert "10% · 15 · 2" in result.output  # 創業・起業, Kama: 2 of 21 measures, 15 initiatives, 2 KPIs


def _chromium() -> str:
    """The headless browser, installed by the project's own script when the machine lacks it."""
    for attempt in range(2):
        for name in ("chromium", "chromium-browser", "google-chrome"):
            if path := shutil.which(name):
                return path
        if attempt == 0:
            script = Path(__file__).resolve().parents[2] / "scripts" / "install-browser.sh"
            installed = subprocess.run(["bash", str(script)], capture_output=True, text=True)
            if installed.returncode != 0:
                pytest.skip(f"no Chromium, and scripts/install-browser.sh failed: {installed.stderr[-300:]}")
    pytest.skip("no Chromium after scripts/install-browser.sh (Debian's chromium and fonts-noto-cjk)")


def _headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
    ]
    flags += [
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path}",
    ]
    return subprocess.run(
        [_chromium(), *flags, *args], capture_output=True, text=True, timeout=60, check=True
    )


def test_report_renders_in_chromium_with_each_kpi_once(curated, tmp_path):
    from PIL import Image

    html = tmp_path / "report.html"
    assert run(curated, KAMA, CHIBA, "--html", str(html)).exit_code == 0
    dom = _headless(tmp_path / "p1", "--dump-dom", html.as_uri()).stdout
    kpis = re.findall(r'<tr data-kpi="([0-9a-f]+)"', dom)
    assert len(kpis) == 20 + 32 and len(set(kpis)) == len(kpis)  # Kama's 20 KPIs, Chiba's 32, once each
    assert dom.count("経営革新計画の策定事業者数") == 1 and dom.count("【再掲】 4-3") == 1
    png = tmp_path / "report.png"
    _headless(tmp_path / "p2", "--window-size=1280,1600", f"--screenshot={png}", html.as_uri())
    image = Image.open(png).convert("L")
    assert image.size == (1280, 1600)
    dark = sum(image.histogram()[:128])  # text and the heat map's dark cells
    assert dark > 0.005 * 1280 * 1600, "the report rendered blank"
