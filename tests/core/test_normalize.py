import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import normalize as nz
from schemas.vocabulary import vocabulary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(1) 中小企業の創業の促進を図る", (1, "中小企業の創業の促進を図る")),
        ("（２）成長産業への参入促進", (2, "成長産業への参入促進")),
        ("①創業希望者の発掘・確保及び育成", (1, "創業希望者の発掘・確保及び育成")),
        ("⑤ 展示会・商談会等を活用した販路開拓の促進", (5, "展示会・商談会等を活用した販路開拓の促進")),
        ("第３ 人材の確保・育成・定着", (3, "人材の確保・育成・定着")),
        ("第三 人材", (3, "人材")),
        ("１ 意欲的な取組の促進", (1, "意欲的な取組の促進")),
        ("2023年度の事業実績", (None, "2023年度の事業実績")),
        ("創業塾", (None, "創業塾")),
    ],
)
def test_split_leading_code(text, expected):
    assert nz.split_leading_code(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("①", 1), ("⑳", 20), ("(2)", 2), ("（２）", 2), ("第３", 3), ("4", 4), ("a", None), ("", None)],
)
def test_parse_code_number(text, expected):
    assert nz.parse_code_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4,755", 4755.0),
        ("38.7", 38.7),
        ("４，７５５", 4755.0),
        ("305,125", 305125.0),
        ("—", None),
        ("―", None),
        ("-", None),
        ("--", None),
        ("", None),
        ("abc", None),
        ("1,2", None),
        ("0", 0.0),
    ],
)
def test_parse_number(text, expected):
    assert nz.parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15 (25)", (15.0, 25.0)),
        ("4,800 (9,555)", (4800.0, 9555.0)),
        ("１５（２５）", (15.0, 25.0)),
        ("3", (3.0, None)),
        ("—", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_target(text, expected):
    assert nz.parse_target(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("創業塾、創業セミナーの参加人数 (人)", ("創業塾、創業セミナーの参加人数", "人")),
        ("補助金利用数 (件) (デジタル化促進支援)", ("補助金利用数 (デジタル化促進支援)", "件")),
        ("観光入込客数 (千人 /年)", ("観光入込客数", "千人/年")),
        ("全体観光消費額 (千 円)", ("全体観光消費額", "千円")),
        ("経営革新計画の策定 事業者数 (社)", ("経営革新計画の策定事業者数", "社")),
        ("医療機器等の共同開発件数（累計）", ("医療機器等の共同開発件数(累計)", None)),
        ("企業におけるデジタル化進捗割合（％）", ("企業におけるデジタル化進捗割合", "%")),
    ],
)
def test_split_name_and_unit(text, expected):
    assert nz.split_name_and_unit(text, vocabulary().units) == expected


def test_strip_marks():
    assert nz.strip_marks("【再掲】 経営革新計画の策定事業者数 (社)") == (
        "経営革新計画の策定事業者数 (社)",
        True,
        False,
    )
    assert nz.strip_marks("企業におけるデジタル化進捗割合 (%) *") == (
        "企業におけるデジタル化進捗割合 (%)",
        False,
        True,
    )
    assert nz.strip_marks("年間商品販売額【再掲】") == ("年間商品販売額", True, False)


@pytest.mark.parametrize(
    ("text", "date", "fy"),
    [
        ("R5年1月末時点", dt.date(2023, 1, 31), 2022),
        ("R5年3月1日現在", dt.date(2023, 3, 1), 2022),
        ("R4年12月末時点", dt.date(2022, 12, 31), 2022),
        ("R5年1月時点", dt.date(2023, 1, 31), 2022),
        ("令和4年度実績", None, 2022),
        ("R４年度実績", None, 2022),
        ("令和元年5月1日現在", dt.date(2019, 5, 1), 2019),
        ("平成30年4月1日時点", dt.date(2018, 4, 1), 2018),
    ],
)
def test_parse_as_of(text, date, fy):
    asof = nz.parse_as_of(text)
    assert (asof.date, asof.fiscal_year) == (date, fy)
    assert asof.text == nz.clean_text(text)


def test_parse_as_of_rejects_impossible_dates():
    assert nz.parse_as_of("R5年2月30日時点") is None
    assert nz.parse_as_of("R5年13月時点") is None
    assert nz.parse_as_of("時点") is None


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2023", 2023),
        ("2023 (R5)", 2023),
        ("R6", 2024),
        ("令和6年度", 2024),
        ("R１０", 2028),
        ("2023目標", 2023),
        ("令和６年度目標", 2024),
        ("H30", 2018),
        ("主な取り組み", None),
    ],
)
def test_parse_fiscal_year(text, year):
    assert nz.parse_fiscal_year(text) == year


def test_clean_text_keeps_circled_numbers_and_folds_space():
    assert nz.clean_text("①　創業\u3000 支援 ") == "① 創業 支援"
    assert nz.clean_text("①", keep_circled=False) == "1"
    assert nz.clean_text("ＤＸ（デジタル）") == "DX(デジタル)"


def test_is_missing():
    assert all(nz.is_missing(t) for t in ("", " ", "—", "―", "-", "--", "-----", None))
    assert not nz.is_missing("0")


def test_quantity():
    assert nz.parse_quantity("13,386件") == (13386.0, "件")
    assert nz.parse_quantity("30.5％") == (30.5, "%")
    assert nz.parse_quantity("件数") == (None, None)


# --- property tests: normalizers are total on arbitrary text ----------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
JAPANESE = st.text(
    alphabet="０１２３４５６７８９0123456789,.()（）①②⑳第年月日度末時点現在実績令和平成RHS元 -—―件人%★【再掲】*",
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, JAPANESE))
def test_normalizers_never_raise(text):
    nz.clean_text(text, join_wrapped=True)
    nz.split_leading_code(text)
    nz.parse_code_number(text)
    nz.parse_number(text)
    nz.parse_target(text)
    nz.parse_quantity(text)
    nz.split_name_and_unit(text, vocabulary().units)
    nz.strip_marks(text)
    nz.parse_fiscal_year(text)
    asof = nz.parse_as_of(text)
    if asof is not None and asof.date is not None:
        assert asof.fiscal_year == nz.fiscal_year_of(asof.date)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_parse_number_roundtrips_grouped_and_fullwidth(n):
    grouped = f"{n:,}"
    assert nz.parse_number(grouped) == float(n)
    assert nz.parse_number(
        grouped.translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))
    ) == float(n)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("R7～R9", (2025, 2027)),
        ("2025〜2027年度", (2025, 2027)),
        ("令和7～9年度", (2025, 2027)),  # the second year in the first's era
        ("R7からR9まで", (2025, 2027)),
        ("Ｒ７ ～ Ｒ９", (2025, 2027)),
        ("令和7年度～", (2025, None)),  # open-ended
        ("R9～R7", None),  # backwards
        ("R8", None),  # one year is no span (parse_year_heading's)
        ("短期～中期", None),
        ("通年", None),
    ],
)
def test_parse_year_span(text, span):
    assert nz.parse_year_span(text) == span


def test_find_year_span_inside_a_line():
    assert nz.find_year_span("架空市産業振興アクションプラン　取組一覧（令和6年度～令和10年度）") == (
        2024,
        2028,
    )
    assert nz.find_year_span("計画期間：2025年度～2029年度") == (2025, 2029)
    assert nz.find_year_span("令和7年度～") is None and nz.find_year_span("取組一覧") is None
