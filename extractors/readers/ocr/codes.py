"""Columns of codes read as one (コード列): 取組コード a, b, c … and 体系分類 ①, ② — a code
misread is told by its column and by the name beside it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.normalize import to_halfwidth_digits

from .marks import _CIRCLED

if TYPE_CHECKING:
    from .page import _Item


_AS_LETTER = {"8": "a", "3": "a", "0": "o"}  # a lone a read by the jpn model as 8
_AS_CIRCLED = {"@": "②", "◎": "◎"}  # ② read as @; a circled digit told a ◎ by its shape (marks)


def code_column(items: list[_Item], j: int, notes: list[str]) -> None:
    """A column of codes (取組コード a, b, c … or 体系分類 ①, ②) read as one: where most of
    its short cells are lowercase letters (or circled numbers), the others are the same kind
    of code misread — a lone a read as 8, c as C, ② as @ — and are read as such (in place).
    A letter column needs three letters read well; a circled column one, beside misread ones."""
    short = [it.cells[j][0] for it in items if j < len(it.cells) and 0 < len(it.cells[j][0]) <= 3]
    letters = sum(len(t) == 1 and "a" <= t <= "z" for t in short)
    circled = sum(len(t) == 1 and t in _CIRCLED for t in short)
    like = sum(len(t) == 1 and ("A" <= t <= "Z" or t in _AS_LETTER) for t in short)
    like = like if letters > circled else sum(t in _AS_CIRCLED for t in short)
    # a page whose circled codes are mostly misread (@ @ @ @ @ ③): one well read is enough
    enough = letters >= 3 if letters > circled else circled >= 1 and circled + like >= 3
    if not enough or max(letters, circled) + like < 0.8 * len(short):
        return
    rows = [it for it in items if j < len(it.cells) and 0 < len(it.cells[j][0]) <= 3]
    valid = (lambda t: len(t) == 1 and "a" <= t <= "z") if letters > circled else (lambda t: t in _CIRCLED)
    read = [it.cells[j][0] for it in rows]  # as read: a fix never becomes a neighbour
    for k, it in enumerate(rows):
        text, box, conf = it.cells[j]
        before = next((t for t in reversed(read[:k]) if valid(t)), None)
        after = next((t for t in read[k + 1 :] if valid(t)), None)
        fixed = _code_between(text, before, after, letters > circled)
        if fixed != text:
            it.cells[j] = (fixed, box, conf)
            notes.append(f"「{text}」 read as 「{fixed}」 (a column of codes)")


def code_by_name(items: list[_Item], j: int, notes: list[str]) -> None:
    """A column of circled codes (体系分類2コード) beside the name it codes (体系分類2): rows
    whose name reads the same carry the same code, so a code unlike the one at least two
    others with its name carry is misread (② read as ① at confidence 13 on Kama's action
    plan p.6) and takes theirs (in place)."""
    rows = [
        it
        for it in items
        if j + 1 < len(it.cells) and len(it.cells[j][0]) == 1 and it.cells[j][0] in _CIRCLED
        if it.cells[j + 1][0].strip()  # a merged name cell's lower rows say nothing
    ]
    if len(rows) < 3:
        return
    by_name: dict[str, dict[str, int]] = {}
    for it in rows:
        codes = by_name.setdefault("".join(it.cells[j + 1][0].split()), {})
        codes[it.cells[j][0]] = codes.get(it.cells[j][0], 0) + 1
    for it in rows:
        codes = by_name["".join(it.cells[j + 1][0].split())]
        best = max(codes, key=codes.__getitem__)
        text, box, conf = it.cells[j]
        if best != text and codes[best] >= 2 and codes[best] > codes[text]:
            it.cells[j] = (best, box, conf)
            notes.append(f"「{text}」 read as 「{best}」 (the code of {codes[best]} rows of the same name)")


def _code_between(text: str, before: str | None, after: str | None, letters: bool) -> str:
    """A code of a column of codes between ``before`` and ``after`` (the nearest well-read
    codes): the one between them where they are one apart (d, 6, f → e), the same where they
    agree (③, ②, ③ → ③), else what the misreading usually is (8 → a, C → c, @ → ②)."""
    if letters and len(text) == 1 and "a" <= text <= "z" or not letters and text in _CIRCLED:
        if before and after and before == after and text != before and not letters:
            return before  # circled numbers run ①①②②: one unlike both its neighbours is misread
        return text
    if before and after and ord(after) - ord(before) == 2:
        return chr(ord(before) + 1)
    if before and after and before == after and not letters:
        return before
    if letters:
        fixed = _AS_LETTER.get(text, text.lower() if len(text) == 1 and "A" <= text <= "Z" else text)
        if fixed == text and after and not before and after > "a":  # first on its page: 6, f → e
            fixed = chr(ord(after) - 1)
        return fixed
    fixed = _AS_CIRCLED.get(text, text)
    edge = before if not after else after if not before else None  # last (first) on its page
    return edge if fixed == text and edge else fixed


_ROMAN_START = re.compile(r"^[Ⅰ-Ⅻ](?=-|\s?[\u3400-\u9fff])")
_ARABIC_START = re.compile(r"^[2-9]-\d")
# Ⅰ read as 1 (or ]) at a code path's start, with a KPI code's _ the jpn model's space became
# (not 1 before a kanji: 1回開催)
_ONE_START = re.compile(r"^(?:1|\])(-\d{1,2})(_?)(?=\s?[-\u3400-\u9fff(（])|^[\]I](?=\s?[\u3400-\u9fff])")


def roman_first_level(rows: list[list[Any]]) -> list[str]:
    """A document whose code paths start with a roman numeral (Ⅱ-1-(ア), Ⅱ 働く人…) and never
    with 2-, 3- …: its paths starting 1- (or ]-) are Ⅰ- read as a digit (Ⅰ-1-(ア) read as
    1-1-(ア)), and are read as Ⅰ (in place). Needs two cells read with a roman numeral."""
    from dataclasses import replace

    texts = [c.text for row in rows for c in row]
    if sum(bool(_ROMAN_START.match(t)) for t in texts) < 2 or any(_ARABIC_START.match(t) for t in texts):
        return []
    notes = []
    for row in rows:
        for k, c in enumerate(row):
            m = _ONE_START.match(c.text)
            if m:
                text = "Ⅰ" + (m[1] or "") + (" " if m[2] else "") + c.text[m.end() :]
                notes.append(
                    f"p.{c.page}: OCR 「{c.text}」 read as 「{text}」 (the document's codes are roman)"
                )
                row[k] = replace(c, text=text)
    return notes


# A one-character heading word as the jpn model misreads it in Mincho, measured on scans of
# the template fixtures (柱1： read as 欄1 : and 梓2 :): the word → its misreadings. Longer
# heading words (基本目標 read as 基本日極) are snapped as labels are (correct.lookalike_labels).
_HEADING_MISREAD = {"柱": "欄梓"}
# a heading's shape: a short word, a number, a separator (柱1：…, 第1 …, 基本目標Ⅰ …)
_HEADING_SHAPE = re.compile(
    r"^(?P<word>[\u3400-\u9fff]{1,4}?)\s?(?P<num>[0-9０-９Ⅰ-Ⅻ]{1,2}|[Il|\]])\s?(?P<sep>[:：.．、\s])"
)
_HEADING_CELL = re.compile(r"^(?P<word>[\u3400-\u9fff])(?P<num>[0-9０-９Ⅰ-Ⅻ]{1,2})$")


def heading_words(rows: list[list[Any]]) -> list[str]:
    """Headings read by their shape (見出し語): a short word, a number and a separator at the
    start of a wide merged row (the row's one cell, as wide as most of its page's rows) whose
    word is a misreading of a heading word of ``labels.yaml`` (:data:`_HEADING_MISREAD`:
    柱1： read as 欄1 :) take the heading word; once the document's headings are read so, a
    cell holding only a misread word and a number (梓1 in a counts header) is the heading
    word too. In place; the notes."""
    from dataclasses import replace

    words = _heading_vocabulary()
    misread = {m: w for w, ms in _HEADING_MISREAD.items() if w in words for m in ms}
    seen: dict[str, str] = {}
    notes: list[str] = []
    for row in rows:
        filled = [c for c in row if c.text.strip()]
        if len(filled) != 1 or filled[0] is not row[0] or not _wide(row[0], rows):
            continue
        m = _HEADING_SHAPE.match(row[0].text)
        if m and m["word"] in misread:
            seen[m["word"]] = misread[m["word"]]
    for row in rows:
        for k, c in enumerate(row):
            m = _HEADING_SHAPE.match(c.text) or _HEADING_CELL.match(c.text)
            if m and m["word"] in seen:
                text = seen[m["word"]] + c.text[len(m["word"]) :]
                notes.append(f"p.{c.page}: OCR 「{c.text}」 read as 「{text}」 (a heading of the document)")
                row[k] = replace(c, text=text)
    return notes + _heading_sequence(rows, words)


_ROMAN = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ"


def _heading_number(num: str) -> int:
    """A heading's number as read: 2, ２, Ⅱ; a one-like stroke (I, l, |, ]) is 1."""
    if num in _ROMAN:
        return _ROMAN.index(num) + 1
    return 1 if num in "Il|]" else int(to_halfwidth_digits(num))


def _heading_sequence(rows: list[list[Any]], words: set[str]) -> list[str]:
    """The document's headings of one word (基本目標Ⅰ, 基本目標Ⅱ …, wide merged rows) count
    up: one that repeats the number before it as a one-like stroke (基本目標Ⅱ read as
    基本目標I) is the next number, in the document's notation (roman where any cell writes
    the word with a roman numeral) — a guess: its confidence is lowered. In place; the notes."""
    from dataclasses import replace

    from .engine import LOW_CONFIDENCE

    roman = any(re.match(rf"^(?:{'|'.join(map(re.escape, words))})[Ⅰ-Ⅻ]", c.text) for r in rows for c in r)
    last: dict[str, int] = {}
    notes: list[str] = []
    for row in rows:
        filled = [c for c in row if c.text.strip()]
        m = _HEADING_SHAPE.match(row[0].text) if len(filled) == 1 and filled[0] is row[0] else None
        if not m or m["word"] not in words or not _wide(row[0], rows):
            continue
        number, before = _heading_number(m["num"]), last.get(m["word"], 0)
        if number == before and m["num"] in "1Il|]" and before < len(_ROMAN):
            number = before + 1
            code = _ROMAN[number - 1] if roman else str(number)
            c = row[0]
            text = c.text[: m.start("num")] + code + c.text[m.end("num") :]
            conf = min(c.confidence if c.confidence is not None else 100.0, LOW_CONFIDENCE - 1)
            notes.append(f"p.{c.page}: OCR 「{c.text}」 read as 「{text}」 (the headings count up; a guess)")
            row[0] = replace(c, text=text, confidence=conf)
        last[m["word"]] = number
    return notes


def _heading_vocabulary() -> set[str]:
    """The heading words of ``labels.yaml`` (strategy_framework.direction_heading_prefixes)."""
    from schemas.vocabulary import vocabulary

    return set(vocabulary().words("strategy_framework", "direction_heading_prefixes"))


def _wide(cell: Any, rows: list[list[Any]]) -> bool:
    """Is ``cell`` as wide as half the widest cell of its page (a merged heading row)?"""
    if not cell.bbox:
        return False
    widths = [c.bbox[2] - c.bbox[0] for row in rows for c in row if c.bbox and c.page == cell.page]
    return cell.bbox[2] - cell.bbox[0] >= 0.5 * max(widths)
