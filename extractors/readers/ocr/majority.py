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


_REPOST = ("【再掲】", "(再掲)", "（再掲）", "再掲", "※")
_MIN_LENGTH = 6  # a phrase the document prints twice: six characters, three kanji at least


def _phrase(text: str) -> str | None:
    """A cell's text as compared with the document's other cells: line breaks, spaces and a
    repost mark (【再掲】, ※) dropped; None for a text too short or with too few kanji to tell."""
    text = "".join(text.split())
    for mark in _REPOST:
        text = text.replace(mark, "")
    return text if len(text) >= _MIN_LENGTH and sum(map(_kanji, text)) >= 3 else None


def _differ(a: str, b: str) -> bool:
    """Do ``a`` and ``b`` (same length) differ in one or two kanji apart and nothing else?
    (Two side by side are another word: 支援策の検討 / 支援策の実施.)"""
    diff = [k for k, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if not 0 < len(diff) <= 2 or len(diff) == 2 and diff[1] - diff[0] == 1:
        return False
    return all(_kanji(a[k]) and _kanji(b[k]) for k in diff)


def variants(rows: list[list[Cell]], threshold: float) -> list[str]:
    """A phrase the document prints twice (a KPI and its 【再掲】, a title and its reference)
    read two ways that differ in one or two kanji (創業王の修了者数【再掲】 beside 角業詩の修了者数),
    neither a majority: one is misread and OCR cannot tell which, so both cells' confidence
    is lowered below ``threshold`` (in place). The notes, one per cell lowered."""
    from dataclasses import replace

    where: dict[str, list[tuple[int, int]]] = {}
    for r, row in enumerate(rows):
        for k, c in enumerate(row):
            phrase = _phrase(c.text)
            if phrase:
                where.setdefault(phrase, []).append((r, k))
    index: dict[tuple[int, int, str], list[str]] = {}
    for phrase in where:  # two substitutions leave one of three parts as it is (pigeonhole)
        n = len(phrase)
        for part, (a, b) in enumerate(((0, n // 3), (n // 3, 2 * n // 3), (2 * n // 3, n))):
            index.setdefault((n, part, phrase[a:b]), []).append(phrase)
    doubtful: set[tuple[int, int]] = set()
    for group in index.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a != b and len(where[a]) == len(where[b]) == 1 and _differ(a, b):
                    doubtful.update(where[a] + where[b])
    notes = []
    for r, k in sorted(doubtful):
        c = rows[r][k]
        if c.confidence is not None and c.confidence >= threshold:
            rows[r][k] = replace(c, confidence=threshold - 1)
            notes.append(
                f"p.{c.page}: OCR row {c.row} col {c.col} 「{c.text}」 doubtful: the document prints "
                "a phrase one or two kanji from it once more (confidence lowered)"
            )
    return notes
