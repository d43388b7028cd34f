"""What a line of OCR text is: tidied as a text layer gives it (no spaces between Japanese
characters), a number as printed, a number misread (文字列の判定)."""

from __future__ import annotations

import re
import unicodedata

_NUMERIC = re.compile(r"^[\d０-９,，.．()（）%％\-−ー一—－~〜\s]+$")
_CONFUSABLE = str.maketrans({"S": "5", "O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "B": "8", "Z": "2"})
_CJK = r"\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff01-\uff60"
# Spaces Tesseract puts between Japanese characters go; a space between a number and a word
# stays (第1 成長の後押し: the heading's number and title; the normalizer drops it later).
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+(?=[(（])|(?<=[)）])\s+(?=[{_CJK}])")


# a grade or mark and its meaning (A : 順調, ◎ : 達成) as the text layer prints them (Ａ：順調)
_GRADE_COLON = re.compile(rf"(?<![^\s:：、,])([A-Za-z◎○△×●◆◇★☆])\s*([:：])\s*(?=[{_CJK}])")

# an item code (項目番号) at a line's start, a lone katakana or one in brackets, and the space
# after it before a kanji or hiragana: the separator the parsers split the code by (ア　創業…)
_ITEM_CODE = re.compile(r"^([ア-ン]|[(（][ア-ン][)）]) (?=[\u3040-\u309f\u3400-\u9fff])")


def tidy(text: str) -> str:
    """Tesseract's line as the text layer would give it: no spaces between Japanese
    characters, NFC, one space between words; a leading item code keeps its separator."""
    text = unicodedata.normalize("NFC", text.replace("\n", " "))
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(rf"(?<=[{_CJK}])\s*([:：])\s*", r"\1", text)
    text = _GRADE_COLON.sub(r"\1\2", text)
    text = re.sub(r"(?<=[】〕』」])\s+", "", text)  # 【評価の目安】 ◎ → 【評価の目安】◎ (a label's close)
    code = _ITEM_CODE.match(text)
    if code:
        return code[1] + " " + _CJK_SPACE.sub("", text[code.end() :])
    return _CJK_SPACE.sub("", text)


def is_numeric(text: str) -> bool:
    """A number as printed (4,755 / 15 (25) / 38.7 / 100%), not a code or a word."""
    return bool(text) and bool(_NUMERIC.match(text)) and any(ch.isdigit() for ch in text)


def looks_numeric(text: str) -> bool:
    """A number, perhaps with letters Tesseract mistakes digits for (4,7S5, 1O0, l5)."""
    folded = text.translate(_CONFUSABLE).replace(" ", "")
    return is_numeric(folded) and sum(ch.isdigit() for ch in text) >= len(folded) / 2


_NOT_A_NUMBER = re.compile(r"[\u3040-\u309f\u3400-\u9fff]")  # hiragana or kanji: 第1, 計


_CODE = re.compile(r"^([A-DS]|[RH]\d{1,2}|[①-⑳]|★+|—)$")  # grades, era years, circled numbers, dashes


def maybe_number(text: str) -> bool:
    """A short line that may be a number misread (a lone ９ as O or |, ２４ as 2フ 4): at
    most four characters, no hiragana or kanji, not a grade, era year or circled number."""
    plain = text.replace(" ", "")
    return 0 < len(plain) <= 4 and not _NOT_A_NUMBER.search(plain) and not _CODE.match(plain)
