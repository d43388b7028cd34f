"""`plan-etl labels`: what each label was read as, and the unknown ones with the line to add."""

from __future__ import annotations

from click.testing import CliRunner
from conftest import RAW

from cli.main import main
from extractors.extract import parse_grid
from extractors.labels import label_readings
from extractors.readers import read_text
from schemas.vocabulary import vocabulary


def _readings(text: str):
    grid = read_text(text.encode("utf-8"))
    result = parse_grid(grid, "progress_sheets")
    return label_readings(grid, result, vocabulary())


def test_every_label_of_the_real_sheets_is_known():
    readings = _readings((RAW / "kama/progress_sheets.txt").read_text(encoding="utf-8"))
    assert [r for r in readings if r.meaning is None] == []
    meanings = {r.text: r.meaning for r in readings}
    assert meanings["方針"] == "progress_sheets.policy"
    assert meanings["推進する施策"] == "progress_sheets.measure"
    assert meanings["当初値"] == "progress_sheets.kpi_columns.baseline"


def test_an_unknown_label_is_named_with_the_line_to_add():
    text = (
        (RAW / "kama/progress_sheets.txt").read_text(encoding="utf-8").replace("方向性\t", "施策の考え方\t")
    )
    unknown = [r for r in _readings(text) if r.meaning is None]
    assert len(unknown) == 21 and {r.text for r in unknown} == {"施策の考え方"}  # one per sheet
    assert "add 「施策の考え方」 to progress_sheets.direction in schemas/labels.yaml" in unknown[0].note


def test_cli_lists_only_the_unknown_labels(tmp_path):
    doc = tmp_path / "sheets.txt"
    text = (
        (RAW / "kama/progress_sheets.txt").read_text(encoding="utf-8").replace("方向性\t", "施策の考え方\t")
    )
    doc.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["labels", str(doc), "--unknown"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "21 labels, 21 unknown" in result.output
