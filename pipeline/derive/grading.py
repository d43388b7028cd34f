"""Grading rules (評価基準 / 指標評価): a printed rule parsed into a structured :class:`Rule`, and
the grade of one actual by that rule. No I/O but the words of labels.yaml ``grading_rules``.

What is read (any mix of half- and full-width letters, digits, ％, ＝, ：):

* **bands** (評価区分), band-first (``100%以上=A、99%~80%=B、79%以下=C``, ``100%以上⇒A``) or
  grade-first (``A：100%以上``, ``【A】110%以上``, ``「Ａ」…``, ``A（100％以上）``, ``A 目標どおり（…）``,
  ``A…目標値以上``) or as inequalities (``80％≦B＜100％``, ``A：達成率≧100％``, ``100% ＞ B ≧ 80%``);
  bounds 以上 / 以下 / 未満 / 超 / ≧ / ≦ / ＜ / ＞ / ranges with ~ 〜 ～ －, open ranges (``100%～``),
  percent, 割 (tenths), ratios (``1.0以上``), 目標値 (= 100%) and 目標値の8割; a bare ``100%`` top
  band means 100% or more; その他 is the rest. Grades: letters, S–D, ◎○△×, Ⅴ–Ⅰ, ①②,
  numeric levels (``5：``, ``6点：``), 達成 / 未達成; ``－`` marks "not graded".
* **basis** (評価の基礎): achievement rate (達成率, the default), progress rate (進捗率 =
  (実績値−基準値) ÷ (目標値−基準値)), or conditions on the baseline and the target
  (``S：目標値超え　A：基準値を10%超上回る　B：基準値±10%の範囲　C：基準値を10%超下回る``,
  ``S：目標値を達成　A：基準値を上回る（目標未達成）　B：基準値と同水準（△10%以内）``).
* **pro rata** (按分): ``目標値の20%/年``, ``1年目は目標値の20%、2年目は40%…``, 按分 — the value
  expected in year k is baseline + k × 20% × (target − baseline) (k ÷ the plan's years for 按分),
  and the rate is taken against it.
* **which target** (年度目標 / 最終目標), when the rule names one.
* **qualitative** rules (``A：順調　B：概ね順調　C：やや遅れている　D：遅れている``): grades in
  words only, each holding a word of labels.yaml ``grading_rules.qualitative`` — kept with their
  levels; no grade is ever computed from them.
* **rounding** (端数処理) printed with the rule (``小数点以下切り捨て``, ``小数点第2位を四捨五入``),
  applied to the rate before it is banded.

Anything not fully understood — overlapping bands, a pace without figures (経過年数の割合), a
table printed elsewhere (別表), a legend, a tally — gives ``None``: never a guessed band.

Grading keeps the README decisions: a rate in a gap the printed bounds leave (99–100 in
``100%以上=A、99%~80%=B``) falls to the band below (99.5% → B); lower-is-better rates are
target ÷ actual × 100; target 0 is met or missed; a rate below every band gets no grade.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cache

from core import normalize as nz

ACHIEVEMENT = "achievement_rate"
PROGRESS = "progress_rate"
VS_BASELINE = "vs_baseline_target"
QUALITATIVE = "qualitative"
NO_RULE = "; no grading rule printed: not graded"
UNGRADED_MARK = "－"
NOT_UNDERSTOOD = "grading rule not understood"  # in the basis of an actual whose rule is not read


@dataclass(frozen=True)
class Band:
    """One grade's range of the rate (評価区分), in percent; ``None`` bounds are open."""

    grade: str
    lower: float | None
    lower_inclusive: bool | None
    upper: float | None
    upper_inclusive: bool | None

    def contains(self, rate: float) -> bool:
        low = self.lower is None or rate > self.lower or (bool(self.lower_inclusive) and rate == self.lower)
        up = self.upper is None or rate < self.upper or (bool(self.upper_inclusive) and rate == self.upper)
        return low and up


@dataclass(frozen=True)
class Condition:
    """One grade of a rule relative to the baseline or the target (基準値・目標値との比較).

    ``op`` is ``>``, ``>=``, ``<``, ``<=`` or ``within``, as for a higher-is-better indicator
    (unless the rule states its own direction); ``margin_pct`` is a percentage of the reference
    value (基準値を10%超上回る → ``>`` baseline, margin 10).
    """

    grade: str
    ref: str  # "target" | "baseline"
    op: str
    margin_pct: float = 0.0


@dataclass(frozen=True)
class Rounding:
    """端数処理 of the rate: ``floor`` (切り捨て), ``round`` (四捨五入, half up), ``ceil`` (切り上げ)."""

    method: str
    digits: int


@dataclass(frozen=True)
class Schedule:
    """A pro-rata target (按分・年割り): the value expected in year k of the plan is
    baseline + share × (target − baseline), share = k × ``per_year_pct`` % (目標値の20%/年,
    1年目は20%、2年目は40%…) or k ÷ the plan's years when ``per_year_pct`` is None (按分)."""

    per_year_pct: float | None = None


@dataclass(frozen=True)
class Rule:
    """A parsed grading rule (評価基準). Bands and conditions are listed best first; a
    qualitative rule (順調 / 概ね順調 / 遅れている: no numbers) has only ``levels``."""

    basis: str
    bands: tuple[Band, ...] = ()
    conditions: tuple[Condition, ...] = ()
    rounding: Rounding | None = None
    direction: str | None = None  # printed in the rule itself (減少を目指す指標), else None
    ungraded: tuple[str, ...] = ()  # marks for "not graded" (－：目標値未設定のため評価なし)
    levels: tuple[str, ...] = ()  # the grades of a qualitative rule, best first
    schedule: Schedule | None = None  # a pro-rata target (目標値の20%/年)
    target_of: str | None = None  # "annual" (年度目標) | "final" (最終目標) as the rule says, else None
    text: str = field(default="", compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def grades(self) -> tuple[str, ...]:
        """Grade symbols, best → worst."""
        return tuple(b.grade for b in self.bands) or tuple(c.grade for c in self.conditions) or self.levels

    @property
    def complete(self) -> bool:
        """False when a rate can fall below every band (no open bottom band)."""
        return bool(self.conditions) or (bool(self.bands) and self.bands[-1].lower is None)


# --- text folding -------------------------------------------------------------------

_ROMAN_HIDE = {c: c + 0xC000 for c in range(0x2160, 0x2180)}  # Ⅰ–ⅿ → private use, so NFKC keeps them
_ROMAN_SHOW = {v: k for k, v in _ROMAN_HIDE.items()}
_CANON = str.maketrans({"〜": "~", "≥": "≧", "≤": "≦", "−": "-", "‐": "-", "–": "-", "→": "⇒", "〇": "○"})
_KANJI_NUM = re.compile(
    r"(?:[一二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九])(?=割|分|%|パーセント)"
)
_KANJI = {c: i for i, c in enumerate("〇一二三四五六七八九")}


def _kanji_int(token: str) -> int:
    """``八`` → 8, ``十`` → 10, ``二十五`` → 25 (tens and ones only)."""
    tens, sep, ones = token.partition("十")
    if not sep:
        return _KANJI[tens]
    return (_KANJI[tens] if tens else 1) * 10 + (_KANJI[ones] if ones else 0)


def fold(text: str) -> str:
    """NFKC (keeping Ⅴ and ① as printed), one spelling per operator, white space folded."""
    s = nz.clean_text(str(text).translate(_ROMAN_HIDE)).translate(_ROMAN_SHOW)
    s = s.translate(_CANON).replace(">=", "≧").replace("<=", "≦").replace("=>", "⇒")
    s = s.replace("パーセント", "%")
    s = _KANJI_NUM.sub(lambda m: str(_kanji_int(m.group())), s)
    s = re.sub(r"(\d+)割(\d)分", lambda m: f"{int(m.group(1)) * 10 + int(m.group(2))}%", s)
    return re.sub(r"\s+", " ", s).strip()


# --- notes: rounding, formulas, remarks ---------------------------------------------------

_ROUNDING = re.compile(
    r"小数点(?:以下)?(?:第(?P<pos>\d)位)?(?:以下)?を?(?P<how>切り?捨て|四捨五入|切り?上げ)|(?:整数未満|1%未満)を?(?P<how2>切り?捨て|四捨五入|切り?上げ)"
)
_NOTE_PAREN = re.compile(r"\(([^()]*)\)")
_NOTE_WORDS = re.compile(r"^(?:※|注|\*)|ただし|但し|いずれも|四捨五入|切り?捨て|切り?上げ|÷|算出")
_TRAILING_NOTE = re.compile(r"\s*※.*$")
_FORMULA = re.compile(r"(?:(?:進捗率|達成率|達成度)\s*[=:]\s*)?\S*÷\S*")
_REJECT = re.compile(r"\d+年目|別表|別紙|経過年数")


def _rounding(text: str) -> Rounding | None:
    m = _ROUNDING.search(text)
    if not m:
        return None
    how = m.group("how") or m.group("how2")
    method = "round" if how == "四捨五入" else "ceil" if "上げ" in how else "floor"
    pos = m.group("pos")
    return Rounding(method, max(int(pos) - 1, 0) if pos else 0)


def _take_notes(s: str) -> tuple[str, list[str]]:
    """Remove remarks printed with the rule (（※…）, （ただし…）, ※… to the end, formulas)."""
    notes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        if _NOTE_WORDS.search(m.group(1)) or _ROUNDING.search(m.group(1)):
            notes.append(m.group(1))
            return " "
        return m.group(0)

    s = _NOTE_PAREN.sub(keep, s)
    if m := _TRAILING_NOTE.search(s):
        notes.append(m.group().strip())
        s = s[: m.start()]
    for m in _FORMULA.finditer(s):
        notes.append(m.group())
    s = _FORMULA.sub(" ", s)
    return re.sub(r"\s+", " ", s).strip(), notes


# --- clauses: (grade, body) pairs --------------------------------------------------------

_G = r"(?:[A-Za-z](?![A-Za-z])|[\u2160-\u217f]|[◎○●△▲×✕]|[\u2460-\u2473]|\d{1,2}(?![\d.%割])(?:点|ポイント)?)"
_WORD_GRADE = r"(?:未達成|(?:概ね|おおむね|ほぼ|一部|大幅)?達成)"
_DASH = r"[-―ー—]"
_GRADE_FIRST = re.compile(
    r"【(?P<b1>[^】]{1,6})】|「(?P<b2>[^」]{1,6})」|(?:^|(?<=[、,/・ :=)]))(?P<c>[\u2460-\u2473])\s*[:=]?"
    rf"|(?:^|(?<=[、,/・ :=)]))(?:(?P<g>{_G}|{_DASH})(?:\s*(?:[:=]|\.\.\.|⇒)|(?=\s*\()|\s+(?=\S))"
    rf"|(?P<w>{_WORD_GRADE})\s*[:=])"
)
_BAND_FIRST = re.compile(
    rf"(?P<body>[^、,/・=:⇒]+?)(?:\s*(?:[:=]|⇒)\s*(?P<g>{_G}|{_WORD_GRADE})"
    r"|\s+(?P<p>\d{1,2}(?:点|ポイント)))(?=$|[、,/・ ])"
)
_INEQ_GRADE = re.compile(
    r"(?<=[≦≧<>=])([A-Za-z\u2160-\u217f◎○●△▲×])(?![A-Za-z])|([A-Za-z\u2160-\u217f◎○●△▲×])(?=[≦≧<>])"
)
_DELIMS = "、,/・ "


def _grade_symbol(token: str) -> str:
    token = token.strip()
    if re.fullmatch(_DASH, token):
        return UNGRADED_MARK
    number = re.fullmatch(r"(\d+)(?:点|ポイント)", token)
    return number.group(1) if number else token


def _is_label(prefix: str) -> bool:
    """Text before the first clause: a label (評価基準：, ランク, （減少を目指す指標）), never numbers."""
    p = prefix.strip(" :")
    return len(p) <= 20 and not re.search(r"[\d%<>≦≧~]", p)


def _grade_first(s: str) -> list[tuple[str, str]] | None:
    """Grade before band: ``A：100%以上　B：…``, ``【A】…``, ``A（100%以上）``, ``A…目標値以上``."""
    marks = list(_GRADE_FIRST.finditer(s))
    if not marks or not _is_label(s[: marks[0].start()]):
        return None
    out = []
    for m, nxt in zip(marks, [*marks[1:], None], strict=True):
        grade = next(g for g in (m.group("b1"), m.group("b2"), m.group("c"), m.group("g"), m.group("w")) if g)
        body = s[m.end() : nxt.start() if nxt else len(s)].strip(_DELIMS)
        out.append((_grade_symbol(grade), body))
    return out


def _band_first(s: str) -> list[tuple[str, str]] | None:
    """Band before grade: ``100%以上=A、99%~80%=B``, ``100%以上⇒A``, ``120%以上：S``."""
    out, end = [], 0
    for m in _BAND_FIRST.finditer(s):
        gap = s[end : m.start()]
        if (end == 0 and not _is_label(gap)) or (end and gap.strip(_DELIMS)):
            return None
        out.append((_grade_symbol(m.group("g") or m.group("p")), m.group("body").strip(_DELIMS)))
        end = m.end()
    return out if out and not s[end:].strip(_DELIMS) else None


def _inequalities(s: str) -> list[tuple[str, str]] | None:
    """``達成率100％≦A、80％≦B＜100％、C＜80％``: each clause names its grade as the variable."""
    out = []
    for i, chunk in enumerate(re.split(r"[、,/・]", s)):
        chunk = chunk.replace(" ", "")
        if i == 0:
            chunk = re.sub(r"^[^\d:<>≦≧]{1,12}:", "", chunk)
        found = {a or b for a, b in _INEQ_GRADE.findall(chunk)}
        if len(found) != 1:
            return None
        out.append((found.pop(), _INEQ_GRADE.sub("@", chunk)))
    return out


# --- bodies: one interval each ---------------------------------------------------------------


@dataclass(frozen=True)
class _Iv:
    lower: float | None = None
    lower_inclusive: bool | None = None
    upper: float | None = None
    upper_inclusive: bool | None = None
    bare: bool = False  # a bare value: the top band (100% or more) or a single point
    rest: bool = False  # その他: whatever the other bands leave
    unitless: bool = False  # no % or 割: a ratio when every bound is small


_REST = "#"
_WORDS = [
    (r"(?:最終|年度|単年度|各年度の?|当該年度の?|中間)?目標値?に対する", ""),
    (r"(?:目標)?未達成", "100%未満"),
    (r"目標値?を?達成", "100%以上"),
    (r"目標値?を?(?:上回る|超える|超え)", "100%超"),
    (r"目標値の?(?=\d)", ""),
    (r"目標値(?=以上|以下|未満|超)", "100%"),
    (r"その他|それ以外|上記以外", _REST),
    (r"超え", "超"),
    (r"達成率|達成度|進捗率", "@"),
]
_PROGRESS_WORDS = [(r"基準値(?:より|から)?改善", "0%超"), (r"基準値(?:より|から)?悪化", "0%未満")]
_TOKEN = re.compile(
    r"(?P<V>(?:(?<![\d%割])-)?\d+(?:\.\d+)?(?P<unit>%|割)?)|(?P<P>以上|以下|未満|超)|(?P<R>[~-])|(?P<C>[≧≦<>=])|(?P<X>@)"
)


def _tokens(text: str) -> list[tuple[str, str, str | None]] | None:
    """Tokens (kind, text, unit) covering all of ``text``, or None."""
    out, pos = [], 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:
            return None
        out.append((m.lastgroup if m.lastgroup != "unit" else "V", m.group(), m.group("unit")))
        pos = m.end()
    return out if pos == len(text) and out else None


def _value(token: str, unit: str | None, default_unit: str | None) -> float:
    v = nz.parse_number(token[: len(token) - len(unit)] if unit else token) or 0.0
    return v * 10 if (unit or default_unit) == "割" else v


def _postfix(iv: dict, v: float, op: str | None) -> bool:
    """Apply ``v 以上`` / ``超`` / ``以下`` / ``未満``; False when the side is already set."""
    side = "lower" if op in ("以上", "超") else "upper"
    if iv.get(side) is not None:
        return False
    iv[side], iv[side + "_inclusive"] = v, op in ("以上", "以下")
    return True


def _compare(iv: dict, v: float, op: str, value_left: bool) -> bool:
    """``v ≦ X`` (value_left) or ``X ≧ v``."""
    if op == "=":
        iv.update(lower=v, lower_inclusive=True, upper=v, upper_inclusive=True)
        return True
    lower = (op in "≦<") if value_left else (op in "≧>")
    side = "lower" if lower else "upper"
    if iv.get(side) is not None:
        return False
    iv[side], iv[side + "_inclusive"] = v, op in "≦≧"
    return True


def _ends(toks: list[tuple[str, str, str | None]], vals: list[float]) -> list[tuple[float, str | None]]:
    """The values of a range with the postfix printed after each (``100%未満~85%``)."""
    ends, k = [], 0
    for i, (kind, _, _) in enumerate(toks):
        if kind == "V":
            post = toks[i + 1][1] if i + 1 < len(toks) and toks[i + 1][0] == "P" else None
            ends.append((vals[k], post))
            k += 1
    return ends


def _interpret(toks: list[tuple[str, str, str | None]]) -> _Iv | None:
    """Token kinds: V value, P postfix (以上…), R range (~ -), C comparison (≧ ≦ < > =), X variable."""
    sig = "".join(k for k, _, _ in toks)
    units = {u for k, _, u in toks if k == "V" and u}
    default = next(iter(units)) if len(units) == 1 else None
    vals = [_value(t, u, default) for k, t, u in toks if k == "V"]
    ops = [t for k, t, _ in toks if k in "PC"]
    iv: dict = {"unitless": not units}
    if sig.startswith("C"):
        sig = "X" + sig
    if sig == "XCV":
        ok = _compare(iv, vals[0], ops[0], value_left=False)
    elif sig == "VCX":
        ok = _compare(iv, vals[0], ops[0], value_left=True)
    elif sig == "VCXCV":
        ok = _compare(iv, vals[0], ops[0], value_left=True) and _compare(
            iv, vals[1], ops[1], value_left=False
        )
    elif sig in ("VP", "VPVP"):
        ok = all(_postfix(iv, v, op) for v, op in zip(vals, ops, strict=True))
    elif re.fullmatch(r"VP?RVP?", sig):
        (lo, lo_op), (hi, hi_op) = sorted(_ends(toks, vals), key=lambda e: e[0])
        iv.update(lower=lo, lower_inclusive=lo_op not in ("未満", "超"))
        iv.update(upper=hi, upper_inclusive=hi_op not in ("未満", "超"))
        ok = True
    elif sig in ("VR", "RV"):
        side = "lower" if sig == "VR" else "upper"
        iv.update({side: vals[0], side + "_inclusive": True})
        ok = True
    elif sig == "V" and units:
        iv.update(lower=vals[0], lower_inclusive=True, upper=vals[0], upper_inclusive=True, bare=True)
        ok = True
    else:
        ok = False
    return _Iv(**iv) if ok and _nonempty(_Iv(**iv)) else None


def _nonempty(iv: _Iv) -> bool:
    if iv.lower is None or iv.upper is None:
        return True
    return iv.lower < iv.upper or (iv.lower == iv.upper and bool(iv.lower_inclusive and iv.upper_inclusive))


def _core(text: str, basis: str) -> _Iv | None:
    """One constraint (``80%以上100%未満``, ``達成率≧100%``, ``目標値の8割以上``…) → interval."""
    for pattern, repl in (_PROGRESS_WORDS if basis == PROGRESS else []) + _WORDS:
        text = re.sub(pattern, repl, text)
    if text == _REST:
        return _Iv(rest=True)
    text = re.sub(r"(?<![≦≧<>=])@(?![≦≧<>=])", "", text)
    toks = _tokens(text)
    return _interpret(toks) if toks else None


def _descriptive(text: str) -> bool:
    return not re.search(r"[\d%<>≦≧~=]", text)


def _intersect(a: _Iv, b: _Iv) -> _Iv | None:
    lo = max((a, b), key=lambda i: (-math.inf if i.lower is None else i.lower, not i.lower_inclusive))
    hi = min((a, b), key=lambda i: (math.inf if i.upper is None else i.upper, bool(i.upper_inclusive)))
    iv = _Iv(lo.lower, lo.lower_inclusive, hi.upper, hi.upper_inclusive, unitless=a.unitless and b.unitless)
    return iv if _nonempty(iv) else None


def _band_body(body: str, basis: str) -> _Iv | None:
    """A clause body: a constraint, a constraint with words in （）, or words with it in （）."""
    body = body.replace(" ", "")
    m = re.fullmatch(r"([^()]*)\(([^()]*)\)", body)
    if not m:
        named = re.fullmatch(rf"{_WORD_GRADE}(?P<rest>[\d@<>≦≧].*)", body)  # ◎ 達成 100%以上
        return _core(named.group("rest") if named else body, basis) if body else None
    outer, inner = m.group(1), m.group(2)
    a, b = (_core(outer, basis) if outer else None), _core(inner, basis)
    if a and b:
        return _intersect(a, b)
    if a and _descriptive(inner):
        return a
    if b and (_descriptive(outer) or (a is None and not re.search(r"[%割<>≦≧~=]", outer))):
        return b
    return None


# --- rules ---------------------------------------------------------------------------------


def _scale(ivs: list[tuple[str, _Iv]]) -> float:
    """Ratios (``1.0以上``, ``0.8未満``) → percent; every other rule is in percent already."""
    bounded = [iv for _, iv in ivs if not iv.rest]
    if not all(iv.unitless for iv in bounded):
        return 1.0
    bounds = [abs(x) for iv in bounded for x in (iv.lower, iv.upper) if x is not None]
    return 100.0 if bounds and max(bounds) <= 2 else 1.0


def _ordered(bands: list[Band]) -> tuple[Band, ...] | None:
    """Best first, each band's missing upper bound taken from the band above; None on overlaps."""

    def key(b: Band) -> tuple[float, bool, float]:
        lo = -math.inf if b.lower is None else b.lower
        return lo, not b.lower_inclusive, math.inf if b.upper is None else b.upper

    out = sorted(bands, key=key, reverse=True)
    for i in range(1, len(out)):
        prev, cur = out[i - 1], out[i]
        if prev.lower is None:
            return None  # only the bottom band may be open below
        point = cur.lower is not None and cur.lower == cur.upper
        if point and i > 0 and not (prev.lower == cur.lower and not prev.lower_inclusive):
            return None  # a bare "80%" under "100%以上": unclear, not a guess
        if cur.upper is None:
            cur = out[i] = replace(cur, upper=prev.lower, upper_inclusive=not prev.lower_inclusive)
        if cur.upper > prev.lower or (
            cur.upper == prev.lower and cur.upper_inclusive and prev.lower_inclusive
        ):
            return None
    return tuple(out)


def _bands(clauses: list[tuple[str, str]], basis: str) -> tuple[Band, ...] | None:
    ivs = []
    for grade, body in clauses:
        iv = _band_body(body, basis)
        if iv is None or (iv.unitless and iv.bare):
            return None
        ivs.append((grade, iv))
    k = _scale(ivs)
    bands = []
    for i, (grade, iv) in enumerate(ivs):
        if iv.rest and i != len(ivs) - 1:
            return None
        upper = None if iv.bare and i == 0 else iv.upper  # a bare top band: that much or more
        bands.append(
            Band(
                grade,
                None if iv.lower is None else iv.lower * k,
                iv.lower_inclusive,
                None if upper is None else upper * k,
                None if upper is None else iv.upper_inclusive,
            )
        )
    return _ordered(bands)


_COND_SUBJECT = re.compile(r"^(?:実績値|直近値|現状値|現在値|実績)が?")
_COND_CMP = re.compile(r"^(?P<op>[≧≦<>])(?P<ref>目標値|基準値)$")
_COND_WORD = re.compile(
    r"^(?P<ref>目標値|基準値)(?:を|より|から|の)?(?:(?P<m>\d+(?:\.\d+)?)%(?P<q>超|以上)?)?"
    r"(?P<w>上回(?:る|っている)|超え(?:る|ている)?|超|改善|達成(?:している)?|以上|以下|未満"
    r"|下回(?:る|っている)|悪化|下落(?:している)?)$"
)
# 基準値±10%の範囲, 基準値から±10%以内, 基準値と同水準(△10%以内): △ is the minus sign of
# Japanese accounts; the band above the reference is always taken by an earlier condition.
_COND_WITHIN = re.compile(
    r"^(?P<ref>目標値|基準値)(?:の|から|と)?(?:同水準)?\(?[±△](?P<m>\d+(?:\.\d+)?)%"
    r"(?:の範囲内?|以内|の範囲以内)?\)?$"
)
_COND_OPS = {
    "≧": ">=",
    "以上": ">=",
    "達成": ">=",
    "≦": "<=",
    "以下": "<=",
    "<": "<",
    "未満": "<",
    "下回": "<",
    "悪化": "<",
    "下落": "<",
}
_INCLUSIVE = {">": ">=", "<": "<="}
_REFS = {"目標値": "target", "基準値": "baseline"}


def _condition(grade: str, body: str) -> Condition | None:
    """``目標値超え``, ``基準値を10%超上回る``, ``基準値±10%の範囲``, ``直近値＞目標値``,
    ``実績値が基準値以下`` → a condition; anything else → None."""
    body = body.replace(" ", "")
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    body = re.sub(r"(?<=.)\([^()\d%]*\)$", "", body)  # 基準値を上回る(目標未達成): a remark
    body = _COND_SUBJECT.sub("", body)
    if m := _COND_WITHIN.match(body):
        return Condition(grade, _REFS[m.group("ref")], "within", float(m.group("m")))
    if m := _COND_CMP.match(body):
        return Condition(grade, _REFS[m.group("ref")], _COND_OPS.get(m.group("op"), ">"))
    if m := _COND_WORD.match(body):
        margin = float(m.group("m")) if m.group("m") else 0.0
        op = _COND_OPS.get(m.group("w")[:2], _COND_OPS.get(m.group("w"), ">"))
        if m.group("q") == "以上":  # 基準値を10%以上下回る: 10% below counts
            op = _INCLUSIVE.get(op, op)
        return Condition(grade, _REFS[m.group("ref")], op, margin)
    return None


_UNGRADED_WORDS = re.compile(
    r"評価なし|評価しない|評価対象外|未把握|未確定|判定不能|(?:評価|判定|把握)できない"
)


def _assemble(clauses: list[tuple[str, str]], basis: str, direction: str | None) -> Rule | None:
    ungraded = tuple(
        g for g, b in clauses if g == UNGRADED_MARK or (_UNGRADED_WORDS.search(b) and not re.search(r"\d", b))
    )
    graded = [(g, b) for g, b in clauses if g not in ungraded]
    if len(graded) < 2 or len({g for g, _ in graded}) != len(graded):
        return None
    if basis == ACHIEVEMENT and any("基準値" in b for _, b in graded):
        conditions = [_condition(g, b) for g, b in graded]
        if not all(conditions):
            return None
        return Rule(VS_BASELINE, conditions=tuple(conditions), direction=direction, ungraded=ungraded)
    bands = _bands(graded, basis)
    return Rule(basis, bands=bands, direction=direction, ungraded=ungraded) if bands else None


_BRACKETED_LABEL = re.compile(r"^【([^】]{1,20})】")
_SCHEDULE = re.compile(
    r"目標値?の(?P<pct>\d+(?:\.\d+)?)%(?:/年|ずつ)|1年(?:あたり|当たり|ごと)に?目標値?の(?P<per>\d+(?:\.\d+)?)%"
    r"|1年目は目標値?の(?P<first>\d+(?:\.\d+)?)%(?:、2年目は(?P<second>\d+(?:\.\d+)?)%)?"
)


@cache
def _words(kind: str) -> re.Pattern[str]:
    """Words of the grading vocabulary (labels.yaml ``grading_rules``) as one pattern."""
    from schemas.vocabulary import vocabulary

    words = [fold(w) for w in vocabulary().data.get("grading_rules", {}).get(kind, [])]
    return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))) or r"(?!)")


def _schedule(s: str) -> tuple[Schedule | None, str]:
    """A pro-rata target printed with the rule (目標値の20%/年, 1年目は目標値の20%、2年目は40%,
    按分) and the text without that phrase; an inconsistent one (20%, then 50%) gives (None, s)."""
    m = _SCHEDULE.search(s) or _words("pro_rata").search(s)
    if not m:
        return None, s
    pct = next((m.group(g) for g in ("pct", "per", "first") if m.re is _SCHEDULE and m.group(g)), None)
    if pct and m.re is _SCHEDULE and m.group("second") and float(m.group("second")) != 2 * float(pct):
        return None, s
    opened, closed = s.rfind("(", 0, m.start()), s.find(")", m.end())
    if opened != -1 and ")" not in s[opened : m.start()] and closed != -1:
        start, end = opened, closed + 1  # (目標値の20%/年を基準に)
    else:  # the run of text around it: 目標値の20%/年を基準とした達成度
        start, end = s.rfind(" ", 0, m.start()) + 1, s.find(" ", m.end())
        end = len(s) if end == -1 else end
    return Schedule(float(pct) if pct else None), (s[:start] + " " + s[end:]).strip()


def _target_of(s: str) -> str | None:
    """Which target the rule rates against, when it says so: 最終目標 or 年度目標."""
    if _words("final_target").search(s):
        return "final"
    return "annual" if _words("annual_target").search(s) else None


def _qualitative(clauses: list[tuple[str, str]]) -> Rule | None:
    """Grades described in words only (A：順調 B：概ね順調 C：やや遅れている D：遅れている):
    a rule nobody can compute, kept so that the printed grade is kept."""
    ungraded = tuple(g for g, b in clauses if g == UNGRADED_MARK or _UNGRADED_WORDS.search(b))
    graded = [(g, b) for g, b in clauses if g not in ungraded]
    if len(graded) < 2 or len({g for g, _ in graded}) != len(graded):
        return None
    words = _words("qualitative")
    if all(b and _descriptive(b) and "割" not in b and words.search(b) for _, b in graded):
        return Rule(QUALITATIVE, levels=tuple(g for g, _ in graded), ungraded=ungraded)
    return None


def parse_rule(text: str | None) -> Rule | None:
    """A printed grading rule (評価基準) → :class:`Rule`; None when it is not fully understood."""
    if not text or not text.strip():
        return None
    s = fold(text)
    schedule, s = _schedule(s)
    if _REJECT.search(s):
        return None  # a pace without figures or a table printed elsewhere: needs plan config
    target_of = "final" if schedule else _target_of(s)
    body, notes = _take_notes(s)
    if not body:
        return None
    formula_on_baseline = any("÷" in n and "基準値" in n for n in notes)
    basis = PROGRESS if "進捗率" in body or formula_on_baseline else ACHIEVEMENT
    direction = (
        "lower"
        if re.search(r"減少を目指す|減少を目標|低いほど", body)
        else "higher"
        if re.search(r"増加を目指す|増加を目標|高いほど", body)
        else None
    )
    # 【評価の目安】◎：… — a label in brackets, read as a grade 【A】 only when that parses.
    candidates = dict.fromkeys((body, _BRACKETED_LABEL.sub(r"\1: ", body)))
    for candidate in candidates:
        for split in (_grade_first, _band_first, _inequalities):
            clauses = split(candidate)
            if clauses and (rule := _assemble(clauses, basis, direction)):
                rule = replace(rule, rounding=_rounding(s), schedule=schedule, target_of=target_of)
                return replace(rule, text=str(text), notes=tuple(notes))
    for candidate in candidates if schedule is None else ():
        if (clauses := _grade_first(candidate)) and (rule := _qualitative(clauses)):
            return replace(rule, direction=direction, text=str(text), notes=tuple(notes))
    return None


# --- grading -------------------------------------------------------------------------------

_MODES = {"floor": ROUND_FLOOR, "round": ROUND_HALF_UP, "ceil": ROUND_CEILING}
_MODE_WORDS = {"floor": "rounded down", "round": "rounded half up", "ceil": "rounded up"}
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def rounded(rate: float, rounding: Rounding | None) -> float:
    """The rate after the rule's 端数処理 (decimal, so 99.95 → 100.0 half up)."""
    if rounding is None:
        return rate
    q = Decimal(1).scaleb(-rounding.digits)
    return float(Decimal(repr(round(rate, 9))).quantize(q, rounding=_MODES[rounding.method]))


def band_grade(bands: tuple[Band, ...] | list[Band], rate: float) -> str | None:
    """The first band (best first) holding the rate; in a gap between two bands, the band below;
    below every band, None."""
    rate = round(rate, 9)  # 56.99999999999999 is 57
    for band in bands:
        if band.contains(rate):
            return band.grade
    below = [b for b in bands if b.upper is not None and b.upper <= rate]
    return max(below, key=lambda b: b.upper or 0.0).grade if below else None


def _finish(rule: Rule | None, rate: float, basis: str) -> tuple[float | None, str | None, str]:
    if rule is None or not rule.bands:
        return rate, None, basis + NO_RULE
    if rule.rounding:
        rate = rounded(rate, rule.rounding)
        basis += (
            f"; rate {_MODE_WORDS[rule.rounding.method]} to {rule.rounding.digits} decimals as the rule says"
        )
    grade_ = band_grade(rule.bands, rate)
    if grade_ is None:
        basis += f"; the rate is below every band of 「{rule.text}」: not graded"
    return rate, grade_, basis


def _by_achievement(
    rule: Rule | None, actual: float, target: float | None, direction: str
) -> tuple[float | None, str | None, str]:
    """達成率: actual ÷ target × 100, or target ÷ actual × 100 when lower is better."""
    grades = rule.grades if rule and rule.bands else ()
    if target is None:
        return None, None, "no target for this year: not graded"
    if target == 0:
        met = actual >= 0 if direction == "higher" else actual <= 0
        bottom = grades[-1] if grades and rule and rule.complete else None
        grade_ = (grades[0] if met else bottom) if grades else None
        return None, grade_, f"target 0: {'met' if met else 'missed'} (no rate can be computed)"
    if direction == "lower":
        if actual == 0:
            return None, grades[0] if grades else None, "lower is better and the actual is 0: met"
        return _finish(rule, target / actual * 100, "lower is better: rate = target ÷ actual × 100")
    return _finish(rule, actual / target * 100, "rate = actual ÷ target × 100")


def _by_progress(
    rule: Rule, actual: float, target: float | None, baseline: float | None
) -> tuple[float | None, str | None, str]:
    """進捗率: (actual − baseline) ÷ (target − baseline) × 100 (either direction)."""
    if target is None or baseline is None:
        return None, None, "progress rate needs the baseline and the target: not graded"
    if target == baseline:
        return None, None, "target equals the baseline: no progress rate, not graded"
    rate = (actual - baseline) / (target - baseline) * 100
    return _finish(rule, rate, "progress rate = (actual − baseline) ÷ (target − baseline) × 100")


def _holds(c: Condition, actual: float, ref: float, flip: bool) -> bool:
    m = c.margin_pct / 100 * abs(ref)
    op = _FLIP.get(c.op, c.op) if flip else c.op
    if op == "within":
        return abs(actual - ref) <= m
    return {">": actual > ref + m, ">=": actual >= ref + m, "<": actual < ref - m, "<=": actual <= ref - m}[
        op
    ]


def _by_conditions(
    rule: Rule, actual: float, target: float | None, baseline: float | None, direction: str
) -> tuple[float | None, str | None, str]:
    """The first condition that holds (S: above the target, A: above the baseline …)."""
    values = {"target": target, "baseline": baseline}
    missing = sorted({c.ref for c in rule.conditions if values[c.ref] is None})
    if missing:
        return (
            None,
            None,
            f"the rule compares the actual with the {' and '.join(missing)}, not given: not graded",
        )
    flip = rule.direction is None and direction == "lower"
    basis = "conditions of the rule on the baseline and the target"
    basis += " (lower is better: comparisons reversed)" if flip else ""
    for c in rule.conditions:
        ref = values[c.ref]
        if ref is not None and _holds(c, actual, ref, flip):
            return None, c.grade, basis
    return None, None, basis + f"; no condition of 「{rule.text}」 holds: not graded"


def _by_schedule(
    rule: Rule,
    actual: float,
    target: float | None,
    baseline: float | None,
    direction: str,
    year: tuple[int | None, int | None],
) -> tuple[float | None, str | None, str]:
    """按分: the rate against the value expected in year k of the plan,
    baseline + share × (target − baseline) (no baseline: 0, as for a cumulative count)."""
    k, n = year
    per_year = rule.schedule.per_year_pct if rule.schedule else None
    if target is None or k is None or k < 1 or (per_year is None and not n):
        return None, None, "a pro-rata rule needs the final target and the year of the plan: not graded"
    share = min(k * per_year / 100, 1.0) if per_year is not None else min(k / n, 1.0)
    base = baseline if baseline is not None else 0.0
    expected = base + share * (target - base)
    rate, grade_, basis = _by_achievement(rule, actual, expected, direction)
    how = f"{per_year:g}%/year" if per_year is not None else f"{k}/{n} of the plan's years"
    return rate, grade_, f"pro-rata target of year {k} = {expected:g} ({how}); {basis}"


def grade(
    rule: Rule | None,
    actual: float | None,
    target: float | None,
    baseline: float | None = None,
    direction: str = "higher",
    year: tuple[int | None, int | None] = (None, None),
) -> tuple[float | None, str | None, str]:
    """(rate, grade, basis) of one actual by ``rule`` (None: no rule, the rate alone).

    A direction printed in the rule (減少を目指す指標) wins over ``direction``. Without an
    actual the grade is the rule's "not graded" mark (－) where it prints one. ``year`` is
    (k, n): the year of the plan (1 = the first after the baseline) and the plan's years, for a
    pro-rata rule. A qualitative rule computes no grade (the rate alone; the basis says why).
    """
    if rule is not None and rule.direction:
        direction = rule.direction
    if actual is None:
        mark = rule.ungraded[0] if rule and rule.ungraded else None
        return None, mark, "no actual: not graded" + (f" (the rule's mark {mark})" if mark else "")
    if rule is not None and rule.basis == QUALITATIVE:
        rate, _, basis = _by_achievement(None, actual, target, direction)
        note = f"; the rule is qualitative, 「{rule.text.strip()}」: no grade can be computed"
        return rate, None, basis.replace(NO_RULE, note) if NO_RULE in basis else basis + note
    if rule is not None and rule.schedule is not None:
        return _by_schedule(rule, actual, target, baseline, direction, year)
    if rule is not None and rule.basis == PROGRESS:
        return _by_progress(rule, actual, target, baseline)
    if rule is not None and rule.basis == VS_BASELINE:
        return _by_conditions(rule, actual, target, baseline, direction)
    return _by_achievement(rule, actual, target, direction)


def not_understood(basis: str, text: str) -> str:
    """The basis of an actual whose printed rule could not be parsed: quotes the rule."""
    note = f"; {NOT_UNDERSTOOD}, 「{text.strip()}」: not graded"
    return basis.replace(NO_RULE, note) if NO_RULE in basis else basis + note
