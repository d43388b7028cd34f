"""Label vocabulary (``labels.yaml``): how documents name their blocks and columns."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from core import normalize

HERE = Path(__file__).parent
_PARENS = re.compile(r"[(（][^()（）]*[)）]")


@lru_cache(maxsize=1 << 16)
def label_key(text: str | None) -> str:
    """The form labels are compared in: NFKC, no spaces, no parenthesized notes.

    ``指標 (KPI)`` → ``指標``; ``総合評価 (案)`` → ``総合評価``; ``推 進 す る 施 策`` → ``推進する施策``.
    """
    s = normalize.clean_text(text)
    stripped = _PARENS.sub("", s)
    s = stripped if stripped.strip() else s
    return re.sub(r"\s+", "", s)


class Vocabulary:
    """Lookup over ``labels.yaml``."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.units: frozenset[str] = frozenset(str(u) for u in data.get("units", []))
        """The one unit list: units printed in parentheses after an indicator name."""

    def kind_markers(self) -> dict[str, list[str]]:
        return {k: [label_key(m) for m in v] for k, v in self.data["kinds"].items()}

    def section(self, kind: str) -> dict[str, Any]:
        return self.data[kind]

    def matches(self, kind: str, label: str, text: str | None) -> bool:
        """Does ``text`` carry the label ``label`` of document kind ``kind``?"""
        spec = self.data[kind][label]
        if isinstance(spec, list):
            spec = {"spellings": spec}
        key = label_key(text)
        if not key:
            return False
        for spelling in spec["spellings"]:
            sp = label_key(spelling)
            if key == sp:
                return True
            if spec.get("prefix") and key.startswith(sp):
                return True
            if spec.get("contains") and sp in key:
                return True
        return False

    def classify(self, kind: str, text: str | None, labels: list[str]) -> str | None:
        """The first of ``labels`` that ``text`` carries, or None."""
        for label in labels:
            if self.matches(kind, label, text):
                return label
        return None

    def column_meaning(self, kind: str, table: str, header: str | None) -> str | None:
        """Meaning of a table header cell, e.g. ``2023目標`` → ``target``; ``指標 (KPI)`` → ``name``.

        Exact spellings win over containment, and the first key in the YAML wins ties.
        """
        key = label_key(header)
        return self._meaning_of_key(kind, table, key) if key else None

    @lru_cache(maxsize=1 << 14)  # noqa: B019 - one Vocabulary per process (see vocabulary())
    def _meaning_of_key(self, kind: str, table: str, key: str) -> str | None:
        columns = self._column_keys(kind, table)
        for meaning, keys in columns:
            if key in keys:
                return meaning
        for meaning, keys in columns:
            if any(k in key for k in keys):
                return meaning
        return None

    @lru_cache(maxsize=256)  # noqa: B019 - as above
    def _column_keys(self, kind: str, table: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each column meaning with its spellings in compare form, in YAML order."""
        columns: dict[str, list[str]] = self.data[kind][table]
        return tuple((m, tuple(label_key(s) for s in sp)) for m, sp in columns.items())

    def words(self, kind: str, name: str) -> list[str]:
        return [normalize.clean_text(w) for w in self.data[kind][name]]


@cache
def vocabulary() -> Vocabulary:
    return Vocabulary(yaml.safe_load((HERE / "labels.yaml").read_text(encoding="utf-8")))
