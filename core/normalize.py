"""Shared normalization for every parser: text, numbers, codes, units, era dates.

One place for the rules that Japanese plan documents need (正規化):

* NFKC *with care*: circled numbers (①) are code markers, so they survive NFKC
  unless a caller asks for them as numbers; white space is folded; a space that
  only exists because a PDF cell wrapped between two Japanese characters is removed
  where the caller says the text is a name (``join_wrapped``).
* numbers as printed: ``4,755``, ``38.7``, full-width digits, ``15 (25)`` (annual and
  cumulative), ``—`` / ``―`` / ``-`` / ``--`` for "no value".
* codes: ``①`` → 1, ``(2)`` / ``（２）`` → 2, ``第３`` → 3, ``１`` → 1.
* units split from indicator names: ``創業塾の参加人数 (人)`` → (name, ``人``).
* Japanese eras and fiscal years: ``R5年1月末時点`` → 2023-01-31, ``令和4年度実績`` → FY2022,
  ``2023 (R5)`` → 2023, ``R6`` → 2024.

Every function here is total: it returns ``None`` (or the input, folded) for text it does
not understand and never raises on arbitrary strings (property-tested with hypothesis).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

__all__ = [
    "CIRCLED",
    "AsOf",
    "clean_text",
    "fiscal_year_of",
    "is_missing",
    "number_text",
    "parse_as_of",
    "parse_code_number",
    "parse_era_year",
    "parse_fiscal_year",
    "parse_number",
    "parse_quantity",
    "parse_target",
    "parse_year_heading",
    "split_code_path",
    "split_item_code",
    "split_leading_code",
    "split_name_and_unit",
    "strip_marks",
    "to_halfwidth_digits",
]

# ①..⑳ (U+2460..2473), ㉑..㉟ (U+3251..325F), ㊱..㊿ (U+32B1..32BF)
CIRCLED: dict[str, int] = {chr(0x2460 + i): i + 1 for i in range(20)}
CIRCLED.update({chr(0x3251 + i): 21 + i for i in range(15)})
CIRCLED.update({chr(0x32B1 + i): 36 + i for i in range(15)})
_CIRCLED_CLASS = "".join(CIRCLED)
_CIRCLED_RE = re.compile(f"[{_CIRCLED_CLASS}]")
_CIRCLED_SPLIT = re.compile(f"([{_CIRCLED_CLASS}])")

#: Spellings of "no value" in these documents (after NFKC).
MISSING_TOKENS = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "----",
        "-----",
        "—",
        "―",
        "–",
        "−",
        "‐",
        "ー",
        "－",
        "なし",
        "該当なし",
        "n/a",
        "N/A",
    }
)

_WS = re.compile(r"[\s\u3000]+")
_CJK = r"\u3001-\u303f\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f\u2460-\u24ff\u3251-\u32bf"
_WRAP_SPACE = re.compile(
    rf"(?<=[{_CJK}]) +(?=[{_CJK}0-9A-Za-z])|(?<=[{_CJK}0-9A-Za-z]) +(?=[{_CJK}])|(?<=[(\[]) +| +(?=[)\]])"
)
_SLASH_SPACE = re.compile(r"\s*/\s*")


def to_halfwidth_digits(text: str) -> str:
    """Full-width digits and signs → ASCII (``１２`` → ``12``); everything else untouched."""
    return text.translate(_FW_DIGITS)


_FW_DIGITS = str.maketrans("０１２３４５６７８９．，－＋", "0123456789.,-+")


def clean_text(text: str | None, *, join_wrapped: bool = False, keep_circled: bool = True) -> str:
    """NFKC-normalize and fold white space (the contract's text form).

    ``keep_circled`` keeps ① as ① (NFKC would turn it into ``1`` and lose that it is a
    code marker). ``join_wrapped`` removes a space next to a Japanese character (and just
    inside brackets) — the trace of a line wrap inside a cell, which a PDF and its text
    export place differently — so both give the same text. Spaces between two Latin words
    and before an opening bracket stay.
    """
    if text is None:
        return ""
    s = str(text)
    if keep_circled and _CIRCLED_RE.search(s):
        s = "".join(p if p in CIRCLED else unicodedata.normalize("NFKC", p) for p in _CIRCLED_SPLIT.split(s))
    else:
        s = unicodedata.normalize("NFKC", s)
    s = _WS.sub(" ", s).strip()
    if join_wrapped:
        s = _WRAP_SPACE.sub("", s)
        s = _SLASH_SPACE.sub("/", s)
    return s


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> tuple[str, int]:
    """Remove control characters (NUL and the other C0/C1 codes, not tab or newline) that
    no document means as text: (text, how many were removed). A NUL would make a PostgreSQL
    load refuse the whole batch."""
    cleaned, n = _CONTROL.subn("", text)
    return cleaned, n


def number_text(text: str | None) -> str:
    """A number as printed, folded: ``４，８００（９，５５\n５）`` → ``4,800(9,555)`` (a wrap inside a
    number is dropped, the space before a parenthesis too)."""
    s = clean_text(text, join_wrapped=True)
    return re.sub(r"(?<=[\d,.])\s+(?=[\d,.(])", "", s)


def is_missing(text: str | None) -> bool:
    """True for empty cells and the dashes documents print for "no value"."""
    if text is None:
        return True
    return clean_text(text) in MISSING_TOKENS


_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")


def parse_number(text: str | None) -> float | None:
    """``4,755`` → 4755.0, ``38.7`` → 38.7, ``１０`` → 10.0, ``—`` → None, ``abc`` → None."""
    if text is None:
        return None
    s = clean_text(text).replace(" ", "")
    if s in MISSING_TOKENS or not _NUMBER.match(s):
        return None
    try:
        return float(s.replace(",", ""))
    except ValueError:  # pragma: no cover - the regex already guarantees a float
        return None


_TARGET = re.compile(r"^(?P<a>[^()]+?)\s*\(\s*(?P<b>[^()]+?)\s*\)$")


def parse_target(text: str | None) -> tuple[float | None, float | None]:
    """``15 (25)`` → (15, 25): the year's target and the cumulative one in parentheses.

    ``3`` → (3, None); ``—`` → (None, None).
    """
    if text is None:
        return None, None
    s = clean_text(text)
    m = _TARGET.match(s)
    if m:
        return parse_number(m.group("a")), parse_number(m.group("b"))
    return parse_number(s), None


_QUANTITY = re.compile(
    r"^(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(?P<unit>[^\d\s()（）][^()（）]{0,7}?)?\s*$"
)


def parse_quantity(text: str | None) -> tuple[float | None, str | None]:
    """``13,386件`` → (13386, ``件``); ``30.5％`` → (30.5, ``%``); ``42社`` → (42, ``社``)."""
    if text is None:
        return None, None
    s = clean_text(text)
    m = _QUANTITY.match(s)
    if not m:
        return None, None
    unit = (m.group("unit") or "").strip() or None
    return parse_number(m.group("num")), unit


# --- codes -------------------------------------------------------------------------

_KANJI_DIGITS = {
    "〇": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_LEADING_CODE = re.compile(
    rf"^\s*(?:"
    rf"(?P<circled>[{_CIRCLED_CLASS}])"
    rf"|[(（]\s*(?P<paren>[0-9０-９]+|[一二三四五六七八九十]+)\s*[)）]"
    rf"|第\s*(?P<dai>[0-9０-９]+|[一二三四五六七八九十]+)(?:\s*[章節条項])?"
    rf"|(?P<roman>[Ⅰ-Ⅻ]|[IVX]{{1,5}}(?=[\s.．、:：)）]|$))"
    rf"|(?P<plain>[0-9０-９]{{1,3}})(?:\s*[.．、)）]|\s+|(?=[^\d０-９.．,，]|$))"
    rf")\s*"
)


_ROMAN = {"I": 1, "V": 5, "X": 10}


def _roman(token: str) -> int | None:
    """``IV`` / ``Ⅳ`` → 4 (NFKC turns Ⅰ into Latin ``I``); None for anything else."""
    s = unicodedata.normalize("NFKC", token).upper()
    if not s or any(ch not in _ROMAN for ch in s):
        return None
    values = [_ROMAN[ch] for ch in s]
    total = sum(-v if v < nxt else v for v, nxt in zip(values, [*values[1:], 0], strict=True))
    return total if 0 < total <= 39 else None


def _int_from(token: str) -> int | None:
    token = to_halfwidth_digits(token.strip())
    if token.isdigit():
        return int(token)
    if (roman := _roman(token)) is not None:
        return roman
    if token and all(ch in _KANJI_DIGITS for ch in token):
        if token == "十":
            return 10
        if token.startswith("十"):
            return 10 + _KANJI_DIGITS.get(token[1:], 0)
        if "十" in token:
            tens, _, ones = token.partition("十")
            return _KANJI_DIGITS[tens] * 10 + (_KANJI_DIGITS[ones] if ones else 0)
        if len(token) == 1:
            return _KANJI_DIGITS[token]
    return None


def split_leading_code(text: str | None) -> tuple[int | None, str]:
    """Split a leading section number from a title.

    ``(1) 中小企業の創業の促進を図る`` → (1, ``中小企業の創業の促進を図る``);
    ``①創業希望者の発掘`` → (1, …); ``第３ 人材の確保`` → (3, …); ``（２）成長産業`` → (2, …);
    ``１ 意欲的な取組の促進`` → (1, …); ``Ⅰ　地域の稼ぐ力`` / ``II 人材`` → (1, …) / (2, …)
    (roman numerals, also after NFKC). No code → (None, text). Compound codes
    (``1-1-2``, ``(1)-①-ア``): :func:`split_code_path`.
    """
    if text is None:
        return None, ""
    s = str(text)
    m = _LEADING_CODE.match(s)
    if not m:
        return None, clean_text(s)
    token = next(g for g in m.groups() if g is not None)
    number = CIRCLED[token] if token in CIRCLED else _int_from(token)
    if number is None:
        return None, clean_text(s)
    return number, clean_text(s[m.end() :])


_PATH_SEP = re.compile(r"\s*(?:[-‐－−―]|の)\s*")
_PATH_TOKEN = re.compile(
    rf"(?:(?P<circled>[{_CIRCLED_CLASS}])|[(（]\s*(?P<paren>[0-9０-９]{{1,3}})\s*[)）]"
    r"|(?P<roman>[\u2160-\u216b])|[(（]\s*(?P<pkana>[ア-ンｱ-ﾝ])\s*[)）]"
    r"|(?P<plain>[0-9０-９]{1,3})(?![0-9０-９.．,，])"
    r"|(?P<kana>[ア-ンｱ-ﾝ])(?![ァ-ヶｦ-ﾟー])|(?P<letter>[a-zA-Zａ-ｚＡ-Ｚ])(?![a-zA-Zａ-ｚＡ-Ｚ]))"
)


def split_code_path(text: str | None) -> tuple[list[str], str]:
    """Split a compound code (コード体系) from a title, one component per level.

    ``1-1-2 見本市出展支援`` → (["1", "1", "2"], ``見本市出展支援``); ``(1)-①-ア`` → (["1", "1", "ア"], "");
    ``2-①のa`` → (["2", "1", "a"], ""); ``1－2　販路`` → (["1", "2"], ``販路``); ``Ⅰ-2-(ア)　展示会``
    → (["1", "2", "ア"], ``展示会``) (a roman numeral Ⅰ…Ⅻ, a katakana in parentheses). Numbers are given
    as digits, letters in lower case, katakana as printed (NFKC). A single code is read by
    :func:`split_leading_code` (``Ⅰ　…`` → (["1"], …)); no code → ([], text).
    """
    if text is None:
        return [], ""
    s = str(text).strip()
    parts: list[str] = []
    pos = 0
    m = _PATH_TOKEN.match(s)
    while m is not None:
        parts.append(_path_part(m))
        pos = m.end()
        sep = _PATH_SEP.match(s, pos)
        m = _PATH_TOKEN.match(s, sep.end()) if sep else None
    if len(parts) >= 2:
        return parts, clean_text(s[pos:])
    number, rest = split_leading_code(s)
    return ([str(number)], rest) if number is not None else ([], clean_text(s))


def _path_part(m: re.Match[str]) -> str:
    if m.group("circled"):
        return str(CIRCLED[m.group("circled")])
    if m.group("roman"):
        return str(_roman(m.group("roman")))
    if m.group("kana") or m.group("pkana"):
        return unicodedata.normalize("NFKC", m.group("kana") or m.group("pkana"))
    if m.group("letter"):
        return unicodedata.normalize("NFKC", m.group("letter")).lower()
    return str(int(to_halfwidth_digits(m.group("paren") or m.group("plain"))))


def parse_code_number(text: str | None) -> int | None:
    """The number of a code written alone: ``①`` → 1, ``(2)`` → 2, ``第３`` → 3, ``4`` → 4."""
    if text is None:
        return None
    s = clean_text(text)
    if s in CIRCLED:
        return CIRCLED[s]
    number, rest = split_leading_code(s)
    return number if number is not None and rest == "" else None


_ITEM_SEP = r"(?:\s*[.．、・:：)）]\s*|\s+)"
_ITEM_CODE = re.compile(
    rf"^\s*(?:[(（]\s*(?P<paren>[ァ-ンｦ-ﾝ]|[0-9０-９]{{1,2}}|[一二三四五六七八九十]{{1,3}}|[a-zａ-ｚ])\s*[)）]\s*"
    rf"|(?P<circled>[{_CIRCLED_CLASS}])\s*"
    rf"|(?P<roman>[Ⅰ-Ⅻ])\s*[.．、]?\s*"
    rf"|(?P<kana>[ア-ンｱ-ﾝ]|[一二三四五六七八九十]{{1,3}}|[0-9０-９]{{1,2}}|[IVX]{{1,4}}){_ITEM_SEP})"
)


def split_item_code(text: str | None) -> tuple[str | None, str]:
    """Split a leading item code (項目番号) from a title, as the code is printed.

    ``ア　創業相談窓口の運営`` → (``ア``, ``創業相談窓口の運営``); ``（イ）…`` → ``イ``;
    ``一、…`` / ``①…`` / ``(1)…`` / ``Ⅱ …`` → ``1`` / ``1`` / ``1`` / ``2``; ``1-2 …`` → ``1-2``.
    Stricter than :func:`split_leading_code`: a bare token needs a separator after it, so
    ``アンテナショップ`` or ``3D…`` keep their first character. No code → (None, text).
    """
    if text is None:
        return None, ""
    parts, rest = split_code_path(text)
    if len(parts) >= 2:
        return "-".join(parts), rest
    s = str(text)
    m = _ITEM_CODE.match(s)
    if not m or not s[m.end() :].strip():
        return None, clean_text(s)
    token = next(g for g in m.groups() if g is not None)
    if token in CIRCLED:
        code = str(CIRCLED[token])
    else:
        number = _int_from(token)
        code = str(number) if number is not None else unicodedata.normalize("NFKC", token)
    return code, clean_text(s[m.end() :])


# --- names, units, marks ----------------------------------------------------------------

_REPOST = re.compile(r"[【\[(（]\s*再掲(?:含む)?\s*[】\])）]")
_FOOTNOTE_MARK = re.compile(r"\s*[*＊※](?:\d)?\s*")
_PAREN = re.compile(r"\s*[(（]\s*([^()（）]*?)\s*[)）]")


def strip_marks(text: str | None) -> tuple[str, bool, bool]:
    """Remove 【再掲】 and footnote marks (``*``, ``※``): (text, is_reposted, has_footnote)."""
    s = clean_text(text)
    reposted = bool(_REPOST.search(s))
    s = _REPOST.sub(" ", s)
    footnote = bool(re.search(r"[*＊※]", s))
    s = _FOOTNOTE_MARK.sub(" ", s)
    return clean_text(s), reposted, footnote


def split_name_and_unit(text: str | None, units: Collection[str]) -> tuple[str, str | None]:
    """Split the unit out of an indicator name.

    ``創業塾、創業セミナーの参加人数 (人)`` → (``創業塾、創業セミナーの参加人数``, ``人``);
    ``補助金利用数 (件) (デジタル化促進支援)`` → (``補助金利用数 (デジタル化促進支援)``, ``件``);
    ``観光入込客数 (千人 /年)`` → (``観光入込客数``, ``千人/年``). The last parenthesized
    group that is one of ``units`` wins (the vocabulary's unit list, ``schemas/labels.yaml``
    ``units:``); other parentheses stay in the name.
    """
    s = clean_text(text, join_wrapped=True)
    unit = None
    for m in reversed(list(_PAREN.finditer(s))):
        candidate = clean_text(m.group(1), join_wrapped=True).replace(" ", "")
        if candidate in units:
            unit = candidate
            s = s[: m.start()] + " " + s[m.end() :]
            break
    name = clean_text(s, join_wrapped=True)
    name = re.sub(r"\s+(?=[、。,])", "", name)
    return name, unit


# --- eras and dates ------------------------------------------------------------------------

ERAS: dict[str, int] = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925}
_ERA = re.compile(r"(?P<era>令和|平成|昭和|(?<![A-Za-z])[RHS])\s*(?P<year>元|\d{1,2})(?!\d)")
_YEAR4 = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})(?!\d)")


def parse_era_year(era: str, year: str) -> int | None:
    """``('令和', '5')`` → 2023; ``('R', '元')`` → 2019; unknown era → None."""
    base = ERAS.get(era)
    if base is None:
        return None
    y = 1 if year == "元" else _int_from(year)
    return None if y is None else base + y


def parse_fiscal_year(text: str | None) -> int | None:
    """A (fiscal) year written any of the usual ways.

    ``2023`` / ``2023年度`` / ``2023 (R5)`` / ``R6`` / ``令和6年度`` / ``R４年度実績`` → the
    Gregorian year of that fiscal year. A four-digit year wins over an era in the same text.
    """
    if text is None:
        return None
    s = to_halfwidth_digits(clean_text(text))
    m = _YEAR4.search(s)
    if m:
        return int(m.group("year"))
    m = _ERA.search(s)
    if m:
        return parse_era_year(m.group("era"), m.group("year"))
    return None


_YEAR_TOKEN = r"(?:(?:19|20)\d{2}|(?:令和|平成|昭和|[RHS])(?:元|\d{1,2}))"
_YEAR_HEADING = re.compile(
    rf"^(?:FY)?{_YEAR_TOKEN}(?:年度|年|度)?(?:\((?:FY)?{_YEAR_TOKEN}(?:年度|年|度)?\))?(?:年度|年|度)?$"
)


def parse_year_heading(text: str | None) -> int | None:
    """The fiscal year of a cell that holds nothing but a year (a year column's heading).

    ``2023`` / ``2023年度`` / ``FY2023`` / ``R5`` / ``Ｒ５`` / ``令和５年度`` / ``H30`` /
    ``2023 (R5)`` / ``令和5(2023)年度`` → the year; ``2023目標`` / ``策定時(R4)`` / ``R5年1月`` → None
    (a year inside a longer heading is :func:`parse_fiscal_year`'s job).
    """
    if text is None:
        return None
    s = re.sub(r"\s+", "", to_halfwidth_digits(clean_text(text)))
    if not _YEAR_HEADING.match(s):
        return None
    return parse_fiscal_year(s)


_SPAN_YEAR = rf"(?:FY)?{_YEAR_TOKEN}(?:年度|年)?"
_YEAR_SPAN = re.compile(
    rf"^({_SPAN_YEAR})(?:[～〜~]|から)((?:{_SPAN_YEAR})|\d{{1,2}}(?:年度|年)?)?(?:まで)?$"
)
_YEAR_SPAN_IN = re.compile(rf"({_SPAN_YEAR})[～〜~]({_SPAN_YEAR})")


def parse_year_span(text: str | None) -> tuple[int, int | None] | None:
    """A span of fiscal years (期間) that is the whole text: ``R7～R9`` / ``2025〜2027年度`` /
    ``令和7～9年度`` (the second year in the first's era) / ``R7からR9まで`` → (2025, 2027);
    ``令和7年度～`` → (2025, None), open-ended. None when the text is no span or its years cannot
    be read (backwards, or over 30 years)."""
    s = re.sub(r"\s+", "", to_halfwidth_digits(clean_text(text)))
    m = _YEAR_SPAN.match(s)
    if m is None:
        return None
    first = parse_fiscal_year(m.group(1))
    if first is None or m.group(2) is None:
        return None if first is None else (first, None)
    last = parse_fiscal_year(m.group(2))
    if last is None:  # 令和7～9年度: the second year is in the first's era
        era_first = re.search(r"(\d{1,2})(?:年度|年)?$", m.group(1))
        last = (
            first - int(era_first.group(1)) + int(re.match(r"\d+", m.group(2)).group()) if era_first else None
        )
    return (first, last) if last is not None and first <= last <= first + 30 else None


def find_year_span(text: str | None) -> tuple[int, int] | None:
    """The first closed span of fiscal years inside a longer text (``取組一覧（令和6年度～令和10年度）``,
    ``計画期間：2025年度～2029年度``) → (2024, 2028); None when there is none."""
    m = _YEAR_SPAN_IN.search(re.sub(r"\s+", "", to_halfwidth_digits(clean_text(text))))
    first, last = (parse_fiscal_year(m.group(1)), parse_fiscal_year(m.group(2))) if m else (None, None)
    return (first, last) if first and last and first <= last <= first + 30 else None


def fiscal_year_of(day: dt.date) -> int:
    """Japanese fiscal year (April–March) of a date: 2023-01-31 → 2022."""
    return day.year if day.month >= 4 else day.year - 1


@dataclass(frozen=True)
class AsOf:
    """When a figure was true, as the document states it (時点 / 現在 / 年度実績)."""

    text: str
    date: dt.date | None
    fiscal_year: int | None


_DATE = re.compile(
    r"(?:(?P<era>令和|平成|昭和|(?<![A-Za-z])[RHS])\s*(?P<ey>元|\d{1,2})|(?P<y4>(?:19|20)\d{2}))\s*年\s*"
    r"(?:(?P<month>\d{1,2})\s*月\s*(?:(?P<day>\d{1,2})\s*日|(?P<end>末))?)?"
    r"\s*(?P<fy>度)?"
)


def parse_as_of(text: str | None) -> AsOf | None:
    """Parse an "as of" statement.

    ``R5年1月末時点`` → 2023-01-31 (FY2022); ``R5年3月1日現在`` → 2023-03-01;
    ``R5年1月時点`` → 2023-01-31 (a month alone is read as its last day);
    ``令和4年度実績`` / ``R４年度実績`` → no date, FY2022. Returns None when no year is found.
    """
    if text is None:
        return None
    raw = clean_text(text)
    s = to_halfwidth_digits(raw)
    m = _DATE.search(s)
    if not m:
        return _as_of_short(re.sub(r"\s+", "", raw), re.sub(r"\s+", "", s))
    year = int(m.group("y4")) if m.group("y4") else parse_era_year(m.group("era"), m.group("ey"))
    if year is None:
        return None
    raw = re.sub(r"\s+", "", raw)  # "R5 年 1 月末時点" and "R5年1月末時点" are the same statement
    if m.group("fy") and not m.group("month"):
        return AsOf(raw, None, year)
    if not m.group("month"):
        return AsOf(raw, None, None)
    return _dated(raw, year, int(m.group("month")), m.group("day"))


def _dated(raw: str, year: int, month: int, day: str | None) -> AsOf | None:
    """An as-of statement of a year, a month and maybe a day (no day: the month's last), or
    None when the month or the day does not exist."""
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    day_no = int(day) if day else last
    if not 1 <= day_no <= last:
        return None
    date = dt.date(year, month, day_no)
    return AsOf(raw, date, fiscal_year_of(date))


_ERA_ONLY = r"(?P<era>令和|平成|昭和|(?<![A-Za-z])[RHS])(?P<ey>元|\d{1,2})"
_ERA_YEAR = rf"(?:{_ERA_ONLY}|(?P<y4>(?:19|20)\d{{2}}))"
_DOTTED = re.compile(rf"^{_ERA_ONLY}\.(?P<month>\d{{1,2}})(?:\.(?P<day>\d{{1,2}}))?(?!\d)")
_YEAR_END = re.compile(rf"^{_ERA_ONLY}末")
_PERIOD = re.compile(rf"^{_ERA_YEAR}(?:\.\d{{1,2}}){{0,2}}(?:年度)?[~〜～]")


def _as_of_short(raw: str, s: str) -> AsOf | None:
    """The short notations of progress tables (工程表 時点): ``R4.3`` / ``R4.3末`` /
    ``R5.3(暫定累計)`` → the month's last day (2022-03-31, FY2021); ``R3.3.31`` → that day;
    ``H25末`` → the end of fiscal H25 (2014-03-31, FY2013); a period ``R2〜R6`` /
    ``R2.4.1〜R7.3.31`` → its end (FY2024; 2025-03-31). None for anything else."""
    period = _PERIOD.match(s)
    if period:
        end = _as_of_short(raw, s[period.end() :])
        if end is not None:
            return AsOf(raw, end.date, end.fiscal_year)
        year = parse_year_heading(s[period.end() :])
        return AsOf(raw, None, year) if year else None
    m = _DOTTED.match(s) or _YEAR_END.match(s)
    if not m:
        return None
    year = parse_era_year(m.group("era"), m.group("ey"))
    if year is None:
        return None
    if m.re is _YEAR_END:
        return AsOf(raw, dt.date(year + 1, 3, 31), year)
    return _dated(raw, year, int(m.group("month")), m.group("day"))
