"""The registry of document kinds is the one table every consumer reads."""

from __future__ import annotations

from click.testing import CliRunner

from cli.main import main
from extractors.kinds import KINDS, REGISTRY
from schemas.vocabulary import vocabulary


def test_every_registered_kind_has_markers_and_every_marker_list_a_kind():
    assert set(vocabulary().kind_markers()) == set(KINDS)
    assert KINDS == ("progress_sheets", "action_plan", "strategy_framework", "actuals")


def test_the_cli_offers_every_registered_kind():
    help_text = CliRunner().invoke(main, ["extract", "--help"]).output
    for kind in KINDS:
        assert kind in help_text


def test_a_registered_kind_is_parsed_by_its_parser(monkeypatch):
    from core.models import Cell, Grid, ParseResult
    from extractors.extract import parse_grid
    from extractors.kinds import Kind

    seen = []

    def parse(grid: Grid) -> ParseResult:
        seen.append(grid)
        return ParseResult(kind="minutes")

    monkeypatch.setitem(REGISTRY, "minutes", Kind("minutes", "会議録", parse))
    grid = Grid(rows=[[Cell("会議録", 0, 0)]], format="text")
    assert parse_grid(grid, "minutes").kind == "minutes" and seen == [grid]
