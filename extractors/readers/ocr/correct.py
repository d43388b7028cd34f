"""Domain-aware correction of one cell (セルの補正): numbers, dashes, era codes, KPI codes,
units, bullets, star grades, labels snapped to the vocabulary; guesses keep a low confidence."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .engine import LOW_CONFIDENCE
from .text import _CJK, _CONFUSABLE, is_numeric, looks_numeric

_STARS = re.compile(r"(?<==)([\u3400-\u9fff★☆]{1,5})(?=[、,]|$)")
# ★ as the jpn model misreads it in a legend, when the 、 after the grade was lost too
_STAR_LIKE = re.compile(r"(?<==)([文太大女雄☆★]{1,5})(?=[\u3040-\u9fff])")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(\.\d{3})+(?![\d.,])")
# 1.636 件: a count with a thousands point before its unit (decimals have 1–2 places)
_THOUSANDS_IN_TEXT = re.compile(r"(?<![\d.,])(\d{1,3})\.(\d{3})(?=\s*[件人名社者回団体事業所か所%％])")
_KPI_CODE = re.compile(r"^(\d{1,2}-\d{1,2})(?:\s+|_\s+)(?=[^\s\d_])", re.M)  # 1-2_市の… read as 1-2 市の…
# 割合 (%) read as 割合 %) (at a line's end, or before a footnote's *)
_UNIT_OPEN = re.compile(r"(?<=[^\s(（])\s*([%人件社回])\)(?=\s*\*?$)", re.M)
_BULLET = re.compile(rf"^\*(?=[{_CJK}])", re.M)
_REIWA = re.compile(r"[金信今合冷]和(?=\s*[\d元])")  # 令和 4 年度 read as 金和 / 信和
_ERA_CODE = re.compile(r"\bR[S$](\d)")
# the kanji 一 read as the long-vowel mark ー, which follows kana only (ー次産品 → 一次産品)
_LONG_AS_ONE = re.compile(r"(?<![\u3041-\u30fa\dA-Za-z\-~〜ー])ー(?=[\u3400-\u9fff])", re.M)
_LONG_TWICE = re.compile(r"(?<=[\u30a1-\u30fa])ーー+")  # センターー: a long vowel is one mark
_DASHES = {"ー", "一", "－", "-", "―", "‐", "1"}


@cache
def _label_keys() -> dict[str, str]:
    """Every label of ``labels.yaml`` by its compare key (3 characters or more)."""
    from schemas.vocabulary import label_key, vocabulary

    out: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, str):
            key = label_key(node)
            if len(key) >= 3:
                out.setdefault(key, node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in vocabulary().data.items() if k != "units"})
    return out


def snap_label(text: str) -> str | None:
    """The vocabulary label ``text`` is one character away from (a misread label), or None."""
    from rapidfuzz.distance import Levenshtein

    keys = _label_keys()
    if not 3 <= len(text) <= 12 or text in keys or re.search(r"[\s\d]", text):
        return None
    near = [
        k for k in keys if abs(len(k) - len(text)) <= 1 and Levenshtein.distance(k, text, score_cutoff=1) <= 1
    ]
    return keys[near[0]] if len(near) == 1 else None


def correct_cell(
    text: str, confidence: float | None, in_table: bool = True
) -> tuple[str, str | None, float | None]:
    """A cell's OCR text corrected by what plan documents hold, what was changed (None:
    nothing) and its confidence: numbers with letters read for digits (4,7S5 → 4,755), a dash
    read as ー/一/1 in a low-confidence single-character cell (—), era codes (RS5 → R5), star
    grades in rating legends (=文文太 → =★★★), labels one character from the vocabulary
    (当初俺 → 当初値). Readings that are guesses (:func:`_guess`) keep a confidence below
    :data:`LOW_CONFIDENCE`, so they are reported, never taken on trust."""
    fixed = text
    if looks_numeric(text) and not is_numeric(text.replace(" ", "")):
        fixed = text.translate(_CONFUSABLE)
    if is_numeric(fixed.replace(" ", "")):  # 4.755, 4.800 (9,555): a thousands comma read as a
        fixed = _THOUSANDS.sub(lambda m: m[0].replace(".", ","), fixed)  # point (decimals: 1–2 places)
    if text in _DASHES and (confidence or 0) < LOW_CONFIDENCE and text != "1":
        fixed = "—"
    if "\n" in fixed or not looks_numeric(fixed):  # 1.636 件 in a line of text
        fixed = _THOUSANDS_IN_TEXT.sub(r"\1,\2", fixed)
    fixed = _ERA_CODE.sub(r"R\1", fixed)
    fixed = _LONG_AS_ONE.sub("一", fixed)
    fixed = _LONG_TWICE.sub("ー", fixed)
    fixed = _REIWA.sub("令和", fixed)
    fixed = _KPI_CODE.sub(r"\1_", fixed)
    fixed = _UNIT_OPEN.sub(r" (\1)", fixed)
    if in_table:  # a table cell's bullet ・ read as * (a line of text outside keeps its footnote *)
        fixed = _BULLET.sub("・", fixed)
    starred = False
    if "評価" in fixed and "=" in fixed:
        fixed = _STARS.sub(lambda m: "★" * len(m.group(1)), fixed)
        fixed = _STAR_LIKE.sub(lambda m: "★" * len(m.group(1)) + "、", fixed)
        fixed, starred = star_grades(fixed)
    if "\n" not in fixed:
        label = snap_label(fixed)
        if label:
            fixed = label
    fixed, doubtful = _guess(fixed)
    doubtful = doubtful or starred
    if doubtful and confidence is not None:
        confidence = min(confidence, LOW_CONFIDENCE - 1)
    return fixed, (None if fixed == text else f"「{text}」 read as 「{fixed}」"), confidence


_GRADE = re.compile(r"=(★*)(?=[、,]|$)", re.M)


def star_grades(text: str) -> tuple[str, bool]:
    """A star legend's grades (評価できる=★★★、一定の評価はできる=★★、評価できない=★) as
    they must be: fewer stars each, one at least. A grade between two that are two stars
    apart has the one count between them (★★★, ★, ★ → ★★★, ★★, ★); a last grade read
    without stars after more than one is a guess, ★ (and doubtful: the text and True)."""
    grades = list(_GRADE.finditer(text))
    counts = [len(m[1]) for m in grades]
    fixed, guessed = list(counts), False
    for k in range(1, len(counts) - 1):
        if counts[k - 1] - counts[k + 1] == 2 and counts[k] != counts[k - 1] - 1:
            fixed[k] = counts[k - 1] - 1
    if len(counts) >= 2 and counts[-1] == 0 and counts[-2] > 1:
        fixed[-1], guessed = 1, True
    for m, want in sorted(zip(grades, fixed, strict=True), key=lambda g: -g[0].start()):
        text = text[: m.start(1)] + "★" * want + text[m.end(1) :]
    return text, guessed


_LONE_ONE = {"ユ"}  # a lone full-width １ as Tesseract's jpn model reads it (a lone | is a ruling's rest)
_SPLIT_PERCENT = re.compile(r"(\d) 9%")  # 30.5 ％ read as 30.5 9%: the wide ％ split in two
_PERCENT_NINE = re.compile(r"\d\.\d9%")  # 29.3% read as 29.39% (or a real 29.39%: cannot tell)


def _guess(text: str) -> tuple[str, bool]:
    """Misreadings measured on scans whose right reading is a guess: the text (corrected
    where the guess is the likely one) and whether it is doubtful."""
    if 0 < len(text) <= 2 and set(text) <= _LONE_ONE | {"1"} and not text.isdigit():  # ユ, ユ1
        return "1", True
    fixed = _SPLIT_PERCENT.sub(r"\1 %", text)
    return fixed, fixed != text or bool(_PERCENT_NINE.search(fixed))
