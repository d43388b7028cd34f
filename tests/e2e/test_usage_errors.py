"""Click's usage errors (a missing or unknown option, a bad choice, an unknown command) are one
``error:`` line with the command's ``--help``, exit 2, in every command; ``--debug`` keeps
click's usage block. (Wall time of each: bench/mistakes.py.)"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import main


def _one_line(args: list[str]) -> str:
    result = CliRunner().invoke(main, args, env={"COLUMNS": "80"})
    lines = result.output.splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Usage:" not in result.output and "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("command", sorted(main.commands))
def test_an_unknown_option_of_every_command_is_one_line(command):
    line = _one_line([command, "--no-such-option"])
    assert line == f"error: no such option --no-such-option (plan-etl {command} --help)"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["actuals-template", "kama-sme-2", "-o", "a.xlsx"],
            "error: missing option --year (plan-etl actuals-template --help)",
        ),
        (
            ["run", "--prefer", "word"],
            "error: invalid value for --prefer: 'word' is not one of 'pdf', 'text' (plan-etl run --help)",
        ),
        (
            ["run", "--prefe", "text"],
            "error: no such option --prefe; did you mean --prefer? (plan-etl run --help)",
        ),
        (
            ["run", "--workers", "0"],
            "error: invalid value for --workers: 0 is not in the range 1<=x<=256 (plan-etl run --help)",
        ),
        (["rnu"], "error: no such command 'rnu'; did you mean 'run'? (plan-etl --help)"),
        (["--nope"], "error: no such option --nope (plan-etl --help)"),
        (["extract"], "error: missing argument 'FILE' (plan-etl extract --help)"),
        (
            ["labels", "/no/such/file.pdf"],
            "error: invalid value for 'FILE': File '/no/such/file.pdf' does not exist "
            "(plan-etl labels --help)",
        ),
    ],
)
def test_usage_mistakes_are_one_line_with_the_help_to_read(args, expected):
    assert _one_line(args) == expected


def test_debug_keeps_clicks_usage_block_and_help_still_works():
    debug = CliRunner().invoke(main, ["--debug", "actuals-template", "kama-sme-2", "-o", "a.xlsx"])
    assert debug.exit_code == 2
    assert "Usage: plan-etl actuals-template" in debug.output and "Missing option '--year'" in debug.output
    helped = CliRunner().invoke(main, ["run", "--help"])
    assert helped.exit_code == 0 and "--prefer [pdf|text]" in helped.output
