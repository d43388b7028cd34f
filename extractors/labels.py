"""What each label of a document was read as: the vocabulary entry it matched, and the
label-like cells no entry knows, each with the closest known label and the line to add to
``schemas/labels.yaml`` (``plan-etl labels FILE``).

Pure: a grid, its parse result and the vocabulary in, readings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from core.models import Cell, Grid, ParseResult
from schemas.vocabulary import Vocabulary, label_key

MAX_LABEL_LENGTH = 24  # a label names a block or a column; longer cells are prose or values


@dataclass(frozen=True)
class LabelReading:
    """One label cell: where it is, its text, the vocabulary entry it was read as (a dotted
    path such as ``progress_sheets.kpi_columns.baseline``), or why it was not."""

    where: str
    text: str
    meaning: str | None
    note: str = ""


def vocabulary_entries(vocab: Vocabulary, kind: str) -> Iterator[tuple[str, list[str]]]:
    """Every (dotted path, spellings) of a kind's section of the vocabulary."""

    def walk(node: Any, path: str) -> Iterator[tuple[str, list[str]]]:
        if isinstance(node, dict) and "spellings" in node:
            yield path, [str(s) for s in node["spellings"]]
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            yield path, [str(s) for s in node]

    yield from walk(vocab.data.get(kind, {}), kind)


def _where(cell: Cell) -> str:
    return f"p.{cell.page} row {cell.row + 1}" if cell.line is None else f"line {cell.line}"


def _looks_like_label(text: str) -> bool:
    key = label_key(text)
    return 0 < len(key) <= MAX_LABEL_LENGTH and not any(ch.isdigit() for ch in key) and "。" not in key


def label_readings(grid: Grid, result: ParseResult, vocab: Vocabulary) -> list[LabelReading]:
    """Each label-like cell of ``grid``: the entry of ``result.kind``'s vocabulary it matches
    exactly, or — when the parser did not read it — the closest entry and what to add."""
    entries = list(vocabulary_entries(vocab, result.kind))
    by_key: dict[str, str] = {}
    for path, spellings in entries:  # the first entry of a spelling wins, as in the parsers
        for s in spellings:
            by_key.setdefault(label_key(s), path)
    choices = {
        label_key(s): (path, s) for path, spellings in entries for s in spellings if len(label_key(s)) > 1
    }
    out: list[LabelReading] = []
    for row in grid.rows:
        for cell in row:
            if not _looks_like_label(cell.text):
                continue
            key = label_key(cell.text)
            if key in by_key:
                out.append(LabelReading(_where(cell), cell.text, by_key[key]))
            elif (cell.row, cell.col) not in result.consumed and _unexplained(cell, result):
                out.append(LabelReading(_where(cell), cell.text, None, _suggest(cell, result, key, choices)))
    return out


def _unexplained(cell: Cell, result: ParseResult) -> bool:
    """Not read, and not explained by the parser as a value (a 担当課 name under its column …)."""
    why = result.unplaced.get((cell.row, cell.col))
    return why is None or "label" in why


def _suggest(cell: Cell, result: ParseResult, key: str, choices: dict[str, tuple[str, str]]) -> str:
    why = result.unplaced.get((cell.row, cell.col)) or f"not read by the {result.kind} parser"
    paths = {path for path, _ in choices.values()}
    read_as = re.search(r"read as the (\w+)", why)  # the parser placed it by position
    if read_as and f"{result.kind}.{read_as.group(1)}" in paths:
        return f"{why} — add 「{key}」 to {result.kind}.{read_as.group(1)} in schemas/labels.yaml"
    best = process.extractOne(key, list(choices), scorer=fuzz.WRatio) if choices else None
    if not best or best[1] < 60:
        return why
    path, spelling = choices[best[0]]
    return f"{why}; closest known label 「{spelling}」 ({path}) — if it means that, add 「{key}」 to {path} in schemas/labels.yaml"
