"""Domain-aware correction of one cell (セルの補正): numbers, dashes, era codes, KPI codes,
units, bullets, star grades, labels snapped to the vocabulary; guesses keep a low confidence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from .engine import LOW_CONFIDENCE
from .marks import legend_marks
from .text import _CJK, _CONFUSABLE, is_numeric, looks_numeric

_STARS = re.compile(r"(?<==)([\u3400-\u9fff★☆]{1,5})(?=[、,]|$)")
# ★ as the jpn model misreads it in a legend, when the 、 after the grade was lost too
_STAR_LIKE = re.compile(r"(?<==)([文太大女雄☆★]{1,5})(?=[\u3040-\u9fff])")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(\.\d{3})+(?![\d.,])")
# 1.636 件: a count with a thousands point before its unit (decimals have 1–2 places)
_THOUSANDS_IN_TEXT = re.compile(r"(?<![\d.,])(\d{1,3})\.(\d{3})(?=\s*[件人名社者回団体事業所か所%％])")
# 1-2_市の… read as 1-2_ 市の… (a space read for the _ itself: lines.underscore, by the ink)
_KPI_CODE = re.compile(r"^(\d{1,2}-\d{1,2})_\s+(?=[^\s\d_])", re.M)
# 割合 (%) read as 割合 %) (at a line's end, or before a footnote's *)
_UNIT_OPEN = re.compile(r"(?<=[^\s(（])\s*([%人件社回])\)(?=\s*\*?$)", re.M)
_BULLET = re.compile(rf"^\*(?=[{_CJK}])", re.M)
_REIWA = re.compile(r"[金信今合冷]和(?=\s*[\d元])")  # 令和 4 年度 read as 金和 / 信和
_ERA_CODE = re.compile(r"\bR[S$](\d)")
# 【施策の総合評価】 read as {施策の総合評価】: a label's opening lenticular bracket as { [ (
_OPEN_LENTICULAR = re.compile(r"^[{\[(（〔](?=[^【】{}\[\]()（）]{2,12}】)", re.M)
_TIMES = re.compile(r"(?<=\d)[同向](?=[\u3040-\u9fff(（]|$)", re.M)  # 年2回開催 read as 年2同開催 / 年2向
# the kanji 一 read as the long-vowel mark ー, which follows kana only (ー次産品 → 一次産品)
_LONG_AS_ONE = re.compile(r"(?<![\u3041-\u30fa\dA-Za-z\-~〜ー])ー(?=[\u3400-\u9fff])", re.M)
_LONG_TWICE = re.compile(r"(?<=[\u30a1-\u30fa])ーー+")  # センターー: a long vowel is one mark
_DASHES = {"ー", "一", "－", "-", "―", "‐"}  # a lone 1 is a 1, never a dash
# A code path at a cell's start (1-1 創業…, 1-ア-2, Ⅱ-1-(ア)) as the jpn model misreads it in
# Mincho: a 1 after a hyphen read as ] or |, a 1 before one as 1], the hyphen between digits
# as 一 or ー, the roman numeral Ⅱ as II / IT / HI / Il (Ⅰ as I). Each (pattern, replacement).
_CODE_PATH = (
    (re.compile(r"^(\d{1,2})[\]|](?=-)"), r"\1"),  # 1]-ア-2
    (re.compile(r"^((?:[\dⅠ-Ⅻ]{1,2}-)+)[\]|l](?=$|[^\d\]|l])"), r"\g<1>1"),  # 1-] 創業, Ⅱ-]
    (re.compile(r"^(\d{1,2})[一ー](?=\d)"), r"\1-"),  # 1一2 創業
    (re.compile(r"^(?:II|Il|lI|ll)(?=-|\s?[\u3400-\u9fff])"), "Ⅱ"),
    (re.compile(r"^(?!11)[IHlLT1|]{2}(?=-)"), "Ⅱ"),  # IT- HI- HL-, not IT化 nor 11-
    (re.compile(r"^III(?=-|\s?[\u3400-\u9fff])"), "Ⅲ"),
    (re.compile(r"^I(?=-\d|-[\]|l])"), "Ⅰ"),
)
# the spaces Tesseract puts inside a leading code path (1 -1-(ア), ] -1 販路): none printed
_PATH_LEAD = re.compile(r"^[\dⅠ-ⅫIHlT\]|]{1,3}(?:\s*[-一ー]\s*(?:[\d\]|lア-ン]{1,2}|[(（][ア-ン][)）]))+")
# Ⅱ after a heading's word (基本目標Ⅱ read as 基本目標IL / 基本目標Il)
_ROMAN_AFTER_HEADING = re.compile(r"(?<=目標|方針|方向|戦略)(?:II|IL|Il|lI|ll|1I|I1|IT)(?![A-Za-z])")
_CODE_PATH_AFTER = re.compile(r"^(Ⅱ|Ⅲ|Ⅰ)-[\]|l](?=$|[^\d])")
# a date whose 日 was read as 1, | or ] (令和6年4月301 → 令和6年4月30日): a guess
_DAY = re.compile(r"^((?:令和|平成|R)\s*\d{1,2}\s*年\s*\d{1,2}\s*月\s*)(\d{1,2})[1|\]lI]{1,2}$")


def _strings(node: Any) -> Iterator[str]:
    """Every string in a tree of ``labels.yaml`` (dicts and lists), depth first."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict | list):
        for v in node.values() if isinstance(node, dict) else node:
            yield from _strings(v)


@cache
def _label_keys() -> dict[str, str]:
    """Every label of ``labels.yaml`` by its compare key (3 characters or more)."""
    from schemas.vocabulary import label_key, vocabulary

    out: dict[str, str] = {}
    for node in _strings({k: v for k, v in vocabulary().data.items() if k != "units"}):
        key = label_key(node)
        if len(key) >= 3:
            out.setdefault(key, node)
    return out


# Kanji the jpn model reads a label's kanji as in Mincho at 9–10 pt, measured on scans of the
# template fixtures (目標 as 日標 / 月標 / 日極, 達成率 as 達成氷, 年度 as 年庶, 記入 as 記人,
# 実績 as 実結, 開催 as 半催, 取り組む as 取り紐む, 自社 as 白社, 相談 as 相譜, 窓口 as 窓|,
# 現在 as 更在, 担い手 as 担い王): the label's kanji → what it is misread as. A reading is
# changed only where the change makes a vocabulary label of three characters or more or a
# plan word (:data:`_PLAN_WORDS`).
_MISREAD_AS = {
    "目": "日月",
    "未": "末木",
    "末": "木林",
    "率": "氷束素",
    "回": "同",
    "標": "極禁本",
    "要": "更明",
    "累": "塁思胃",
    "入": "人",
    "度": "庶序",
    "績": "結",
    "開": "半囲",
    "組": "紐",
    "自": "白",
    "談": "譜",
    "口": "|",
    "現": "更",
    "手": "干千王圭",
    "担": "抽提",
    "県": "四",
    "創": "信",
    "体": "休",
    "認": "誤",
    "大": "人",
    "充": "碗",
    "土": "上",
}
# words of plan tables whose look-alike misreadings are no words (木満, 日標, 年庶, 実結, 記人,
# 半催, 白社, 相譜, 窓|, 更在, 人千不足): corrected as labels are
_PLAN_WORDS = (
    "未満",
    "目標",
    "年度",
    "実績",
    "記入",
    "月末",
    "累計",
    "開催",
    "開始",
    "取組",
    "取り組",
    "自社",
    "独自",
    "相談",
    "窓口",
    "現在",
    "担い手",
    "働き手",
    "人手不足",
    "県内",
    "開業率",
    "創業",
    "体験",
    "認証",
    "認定",
    "拡大",
    "制度",
    "拡充",
    "土台",
)
# misreadings that are common kanji themselves (日本): taken only inside labels of four or more
_COMMON = {"本"}


def _classes() -> dict[str, str]:
    """Each kanji of :data:`_MISREAD_AS` and its misreadings → one representative of its
    class (a union: 人 is a misread of both 入 and 大)."""
    root: dict[str, str] = {}

    def find(ch: str) -> str:
        while root.setdefault(ch, ch) != ch:
            ch = root[ch]
        return ch

    for kanji, misread in _MISREAD_AS.items():
        for ch in misread:
            root[find(ch)] = find(kanji)
    return {ch: find(ch) for ch in root}


_CLASS = _classes()


def _canonical(text: str) -> str:
    return "".join(_CLASS.get(ch, ch) for ch in text)


@cache
def _lookalike_labels() -> tuple[tuple[str, str], ...]:
    """(look-alike class form, label) of every vocabulary label of three or more kanji and kana
    holding a kanji that is misread (:data:`_MISREAD_AS`), longest first."""
    from schemas.vocabulary import vocabulary

    found = {
        word
        for node in _strings(vocabulary().data)
        for word in re.findall(r"[\u3041-\u30fa\u3400-\u9fff]{3,}", node)  # 3+: no 月額/日額
        if any(ch in _MISREAD_AS for ch in word)
    }
    found.update(_PLAN_WORDS)
    return tuple(
        sorted(((_canonical(w), w) for w in found), key=lambda p: (-len(p[1]), p[1]))
    )  # same order every run


def lookalike_labels(text: str) -> str:
    """``text`` with each look-alike misreading of a vocabulary label read as the label
    (基本日極 → 基本目標, 達成氷 → 達成率): where a window of the text is a label with some of
    its kanji read as their look-alikes (:data:`_MISREAD_AS`)."""
    if not any(ch in _CLASS for ch in text):
        return text
    canon, chars = _canonical(text), list(text)
    for form, label in _lookalike_labels():
        at = canon.find(form)
        while at >= 0:
            window = chars[at : at + len(label)]
            if all(
                a == b or a in _MISREAD_AS.get(b, "") and (a not in _COMMON or len(label) >= 4)
                for a, b in zip(window, label, strict=True)
            ):
                chars[at : at + len(label)] = label
            at = canon.find(form, at + len(form))
    return "".join(chars)


def _near_key(text: str) -> str | None:
    """The one vocabulary compare key (:func:`_label_keys`) ``text`` is one character away
    from, or None (none, or more than one)."""
    from rapidfuzz.distance import Levenshtein

    keys = _label_keys()
    if not 3 <= len(text) <= 12 or text in keys or re.search(r"[\s\dⅠ-Ⅻ]", text):
        return None  # 基本目標Ⅱ is no misread 基本目標
    near = [
        k for k in keys if abs(len(k) - len(text)) <= 1 and Levenshtein.distance(k, text, score_cutoff=1) <= 1
    ]
    return near[0] if len(near) == 1 else None


_HEAD = re.compile(r"^([^(（\s\d]{3,12})([(（][^()（）]*[)）])$")


def snap_label(text: str) -> str | None:
    """The vocabulary label ``text`` is one character away from (a misread label), or None;
    a label with a bracketed note (注動指標(アウトプット)) by its head (活動指標(アウトプット))."""
    key = _near_key(text)
    if key:
        return _label_keys()[key]
    head = _HEAD.match(text)
    key = _near_key(head[1]) if head else None
    return key + head[2] if head and key else None


def correct_cell(
    text: str, confidence: float | None, in_table: bool = True
) -> tuple[str, str | None, float | None]:
    """A cell's OCR text corrected by what plan documents hold, what was changed (None:
    nothing) and its confidence: numbers with letters read for digits (4,7S5 → 4,755), a dash
    read as ー/一 in a low-confidence single-character cell (—), era codes (RS5 → R5), star
    grades in rating legends (=文文太 → =★★★), labels one character from the vocabulary
    (当初俺 → 当初値). Readings that are guesses (:func:`_guess`) keep a confidence below
    :data:`LOW_CONFIDENCE`, so they are reported, never taken on trust."""
    fixed = text
    if looks_numeric(text) and not is_numeric(text.replace(" ", "")):
        fixed = text.translate(_CONFUSABLE)
    if is_numeric(fixed.replace(" ", "")):  # 4.755, 4.800 (9,555): a thousands comma read as a
        fixed = _THOUSANDS.sub(lambda m: m[0].replace(".", ","), fixed)  # point (decimals: 1–2 places)
    if text in _DASHES and (confidence or 0) < LOW_CONFIDENCE:
        fixed = "—"
    if "\n" in fixed or not looks_numeric(fixed):  # 1.636 件 in a line of text
        fixed = _THOUSANDS_IN_TEXT.sub(r"\1,\2", fixed)
    fixed = _ERA_CODE.sub(r"R\1", fixed)
    fixed = _TIMES.sub("回", fixed)
    fixed = _OPEN_LENTICULAR.sub("【", fixed)
    fixed = code_path(fixed)
    fixed = lookalike_labels(fixed)
    fixed = legend_marks(fixed)
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


def code_path(text: str) -> str:
    """A cell's leading code path as printed (:data:`_CODE_PATH`: 1-] → 1-1, 1]-ア → 1-ア,
    1一2 → 1-2, IT-] → Ⅱ-1); other text unchanged."""
    text = _PATH_LEAD.sub(lambda m: "".join(m[0].split()), text)
    for pattern, repl in _CODE_PATH:
        text = pattern.sub(repl, text)
    text = _ROMAN_AFTER_HEADING.sub("Ⅱ", text)
    return _CODE_PATH_AFTER.sub(r"\1-1", text)


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
# 1,450件 read as 1 450件: a thousands comma lost, the space where it was (a guess)
_LOST_COMMA = re.compile(r"(?<![\d,.])(\d{1,3}) (\d{3})(?=\s*[件人名社者回店か所%％)）]|$)")
# 29.3% read as 29.39%, 70% as 709% (or a real 29.39% / 709%: cannot tell)
_PERCENT_NINE = re.compile(r"\d\.\d9%|(?<![\d.,])\d{2}9%")


def _guess(text: str) -> tuple[str, bool]:
    """Misreadings measured on scans whose right reading is a guess: the text (corrected
    where the guess is the likely one) and whether it is doubtful."""
    if 0 < len(text) <= 2 and set(text) <= _LONE_ONE | {"1"} and not text.isdigit():  # ユ, ユ1
        return "1", True
    fixed = _DAY.sub(lambda m: m[1] + m[2] + "日", text)
    if fixed != text and int(_DAY.match(text)[2]) > 31:  # 301 → 30日; 151 could be 15日 or 151日
        fixed = text
    fixed = _LOST_COMMA.sub(r"\1,\2", fixed)
    fixed = _SPLIT_PERCENT.sub(r"\1 %", fixed)
    return fixed, fixed != text or bool(_PERCENT_NINE.search(fixed))
