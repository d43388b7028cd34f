"""The document's own majority reading (文書内の多数決): a kanji or katakana read against a
phrase the document reads right elsewhere is corrected, and each correction reported."""

from __future__ import annotations

from core.models import Cell

_CONTEXT = 4  # characters around a misread character that must match the majority reading's
_SUPPORT = 2  # times the majority reading occurs in the document (twice the misreading's, too)


def _kanji(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def _swappable(ch: str) -> bool:
    """A character OCR confuses with a look-alike: kanji or katakana (not ー, not hiragana:
    や / の differ in real text as often as in a misreading)."""
    return _kanji(ch) or "\u30a1" <= ch <= "\u30fa"


def _key(line: str, i: int, left: int, right: int) -> str | None:
    """The key of ``line``'s character ``i`` with ``left`` and ``right`` characters around it,
    the character masked; None where they run past the line or are not all kanji or kana
    with two kanji at least (three kanji or katakana around a katakana)."""
    if i < left or i + right >= len(line):
        return None
    around = line[i - left : i] + line[i + 1 : i + 1 + right]
    if not all(_kanji(ch) or "\u3041" <= ch <= "\u30fa" for ch in around):
        return None
    kanji = sum(_kanji(ch) for ch in around)
    katakana = sum("\u30a1" <= ch <= "\u30fa" for ch in around) if not _kanji(line[i]) else 0
    if kanji < 2 and kanji + katakana < 3:
        return None  # hiragana around say little (の?を); a katakana word does (?ジタル化)
    return f"{left}{line[i - left : i]}\0{line[i + 1 : i + 1 + right]}"


def _context(line: str, i: int) -> str | None:
    """The key of ``line``'s character ``i`` in its context (:func:`_key`): :data:`_CONTEXT`
    characters around it, half each side (more on one side at a line's start or end)."""
    left = min(_CONTEXT // 2, i)
    right = min(_CONTEXT - left, len(line) - i - 1)
    left = min(_CONTEXT - right, i)
    return _key(line, i, left, right) if left + right == _CONTEXT else None


def _word_start(line: str, i: int) -> str | None:
    """The key of a katakana starting ``line`` by the katakana word after it (テジタル化 →
    ?ジタル化), which the document prints anywhere in a line: a dakuten lost at a cell's left
    edge is a misreading the same cells repeat, so only the middle of lines outvotes it."""
    if i or not "\u30a1" <= line[0] <= "\u30fa" or not "\u30a1" <= line[1:2] <= "\u30fa":
        return None
    return _key(line, 0, 0, _CONTEXT)


class Consensus:
    """The document's own majority reading (文書内の多数決): a kanji or katakana that OCR reads
    one way in a context the document prints at least :data:`_SUPPORT` times (and twice as
    often) with another character — 経営指導貞等 → 経営指導員等, テジタル化 → デジタル化,
    休助事業 → 補助事業 — is read as the majority does. The context is :data:`_CONTEXT`
    characters around it (two each side; four after a line's start or before its end; a
    katakana starting a line: the four after it anywhere, :func:`_word_start`), all kanji or
    kana, two kanji at least; the character's pairs with its neighbours occur nowhere else in
    the document (but once), so a real variant — 移住定住企業 beside 移住定住起業, whose 企業
    is everywhere — stays. Numbers, codes, hiragana and Latin letters are never changed."""

    def __init__(self, texts: list[str]) -> None:
        self.fills: dict[str, dict[str, int]] = {}
        self.pairs: dict[str, int] = {}
        for line in (part for text in texts for part in text.split("\n")):
            for k in range(len(line) - 1):
                self.pairs[line[k : k + 2]] = self.pairs.get(line[k : k + 2], 0) + 1
            for i, ch in enumerate(line):
                if not _swappable(ch):
                    continue
                after = _key(line, i, 0, _CONTEXT)  # for :func:`_word_start`, wherever it is
                for key in (_context(line, i), "w" + after if after else None):
                    if key:
                        fill = self.fills.setdefault(key, {})
                        fill[ch] = fill.get(ch, 0) + 1

    def majority(self, line: str, i: int) -> str | None:
        """The majority reading of ``line``'s character ``i``, or None (it is the majority's,
        or no other reading is frequent enough)."""
        start = _word_start(line, i)
        key = ("w" + start if start else _context(line, i)) if _swappable(line[i]) else None
        fills = self.fills.get(key, {}) if key else {}
        best = max(fills, key=fills.__getitem__, default=None)
        read = fills.get(line[i], 0)
        if not best or best == line[i] or fills[best] < max(_SUPPORT, 2 * read):
            return None
        if start:  # the same misreading repeated: its pair is outvoted four times over
            return best if self.pairs.get(best + line[1], 0) >= 4 * self.pairs.get(line[:2], 0) else None
        pairs = [line[max(0, i - 1) : i + 1], line[i : i + 2]]
        return best if all(self.pairs.get(p, 0) <= read + 1 for p in pairs if len(p) == 2) else None

    def correct(self, line: str) -> str:
        """``line`` with each misread character (:meth:`majority`) replaced."""
        return "".join(self.majority(line, i) or ch for i, ch in enumerate(line))


def agree(rows: list[list[Cell]]) -> tuple[list[list[Cell]], list[str]]:
    """The rows with every cell's text set to the document's majority reading
    (:class:`Consensus`), and a note for each cell changed (page, row, column, before, after)."""
    from dataclasses import replace

    consensus = Consensus([c.text for row in rows for c in row])
    out, notes = [], []
    for row in rows:
        cells = []
        for c in row:
            fixed = "\n".join(consensus.correct(part) for part in c.text.split("\n"))
            if fixed != c.text:
                notes.append(
                    f"p.{c.page}: OCR row {c.row} col {c.col} 「{c.text}」 read as 「{fixed}」 "
                    "(the document's majority reading)"
                )
                c = replace(c, text=fixed)
            cells.append(c)
        out.append(cells)
    return out, notes
