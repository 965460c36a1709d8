"""Side doors, round 22: what shows nothing is one thing, checked once.

A summary of zero-width characters was refused as an empty one (round 21), but the Hangul
fillers (U+3164, U+FFA0, U+115F, U+1160) and the blank Braille pattern (U+2800) show nothing
too, and passed: `logsafe.as_read` left out only format characters and marks. The same reading
is the long-number rule's, so an individual number with a Hangul filler between its groups
passed that rule and the logs' scrub. And the check read the text NFKC-normalised, which
turns a visible 「゛」 (U+309B) into a space and a combining mark: it took it for nothing.

`plaintext.blank` is now the one check (`logsafe.shows_nothing`: Unicode's
Default_Ignorable_Code_Point, combining marks, and the blank-looking characters outside the
property), and a name (a desk's, a staff member's) or a line of the city's contact that shows
nothing is refused as well."""

from __future__ import annotations

import unicodedata

import pytest
from django.core.exceptions import ValidationError

from madoguchi import logsafe
from madoguchi.plaintext import blank, long_number, plain_line, plain_name

NOTHING = [
    "",
    " \u3000\n",
    "\u200b",
    "\u2060\ufeff",
    "\u0301",
    "\u3164",  # HANGUL FILLER
    "\uffa0",  # HALFWIDTH HANGUL FILLER
    "\u115f\u1160",  # HANGUL CHOSEONG and JUNGSEONG FILLER
    "\u2800",  # BRAILLE PATTERN BLANK
    "\u034f",  # COMBINING GRAPHEME JOINER
    "\ufe0f",  # VARIATION SELECTOR-16
    "\U000e0041\U000e007f",  # tag characters
    "\u180e",  # MONGOLIAN VOWEL SEPARATOR
    "\U0001d159",  # MUSICAL SYMBOL NULL NOTEHEAD
    "\u3164 \u2800\u200b\u3000",
]

WORDS = [
    "調査\u200b開始",
    "e\u0301",
    "\u3164A",
    "゛",  # U+309B, NFKC a space and a combining mark: it shows
    "´",  # U+00B4 likewise
    "\u0600",  # ARABIC NUMBER SIGN, a format character that shows
    "\ufffc",  # OBJECT REPLACEMENT CHARACTER, shown as a box
]


@pytest.mark.parametrize("text", NOTHING)
def test_text_that_shows_nothing_is_blank(text):
    assert blank(text)


@pytest.mark.parametrize("text", WORDS)
def test_text_that_shows_something_is_not_blank(text):
    assert not blank(text)


def test_the_property_is_unicodes_default_ignorable_code_point():
    """The table is Unicode's property, code point by code point, as another library keeps it
    (fontTools, installed with WeasyPrint, has its own copy for merging fonts)."""
    merge = pytest.importorskip("fontTools.merge.unicode")
    differ = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if logsafe.default_ignorable(chr(code)) != merge.is_Default_Ignorable(code)
    ]
    assert differ == []


def test_every_format_character_but_the_visible_ones_is_default_ignorable():
    """The property's definition: every Cf is in it except the prepended concatenation marks,
    the interlinear annotation characters and the Egyptian hieroglyph format controls."""
    visible = {
        *range(0x0600, 0x0606),
        0x06DD,
        0x070F,
        0x0890,
        0x0891,
        0x08E2,
        0x110BD,
        0x110CD,
        *range(0xFFF9, 0xFFFC),
        *range(0x13430, 0x13440),
    }
    for code in range(0x110000):
        if unicodedata.category(chr(code)) == "Cf" and code not in visible:
            assert logsafe.default_ignorable(chr(code)), f"U+{code:04X}"


FILLERS = ["\u3164", "\uffa0", "\u115f", "\u1160", "\u2800", "\u034f", "\ufe0f"]


@pytest.mark.parametrize("filler", FILLERS)
def test_a_long_number_with_fillers_between_its_digits_is_a_long_number(filler):
    number = filler.join(["1234", "5678", "9012"])
    assert long_number(f"番号は {number} です")
    assert logsafe.scrub(f"before {number} after") == "before [number] after"
    phone = filler.join(["090", "1234", "5678"])
    assert not long_number(f"電話 {phone} まで")


@pytest.mark.parametrize("check", [plain_name, plain_line])
@pytest.mark.parametrize("text", ["\u3164", "\u200b", " \u2800 "])
def test_a_name_or_a_line_that_shows_nothing_is_refused(check, text):
    with pytest.raises(ValidationError) as refused:
        check(text)
    assert refused.value.code == "shows_nothing"
    check("本庁 1番窓口")


KANJI = [
    "一二三四 五六七八 九〇一二",
    "一二三四五六七八九〇一二",
    "七〇一〇-〇〇〇〇-〇〇〇〇-〇〇〇一",
]


@pytest.mark.parametrize("number", KANJI)
def test_a_long_number_in_kanji_digits_is_a_long_number(number):
    """An individual number written a kanji a digit, as read out or written vertically, passed
    the rule (docs/security.md, side doors round 22)."""
    assert long_number(f"番号は{number}です")
    assert logsafe.scrub(f"before {number} after") == "before [number] after"


@pytest.mark.parametrize(
    "text",
    [
        "令和八年十二月一日",
        "二〇二六年一二月一日",  # a day, eight digits
        "千二百三十四万五千六百七十八円",  # a quantity: 十 百 千 万 are not digits
        "個人番号 ○○○○ ○○○○ ○○○○ は書かない",  # ○ masks a number
        "一石二鳥、四苦八苦、三々五々",
        "電話 〇九〇-一二三四-五六七八",  # eleven digits: a telephone number
    ],
)
def test_kanji_that_are_not_a_long_number_are_words(text):
    assert not long_number(text)
