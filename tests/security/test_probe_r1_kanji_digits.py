"""Probe R1 (regression probe of side doors round 22): the long-number rule now reads kanji
digits, so a word that starts with 一 or 二 right after a telephone number made the number
twelve digits long. A telephone number passes the rule (docs/security.md), and 一度, 一人,
二人 and 一郎 are words, not a digit; the logs' scrub keeps the rest of a line as written."""

from __future__ import annotations

import pytest

from madoguchi import logsafe
from madoguchi.plaintext import long_number


@pytest.mark.parametrize(
    "text",
    [
        "携帯 090-1234-5678 一度折り返し希望",
        "本人の携帯090-1234-5678、一人で来庁",
        "電話090-1234-5678一緒に来庁された",
        "090-1234-5678 二人で来庁",
        "連絡先 090-1234-5678 一郎さん",
    ],
)
def test_a_telephone_number_before_a_word_starting_with_a_kanji_digit_is_not_a_long_number(
    text,
):
    assert not long_number(text)


def test_the_scrub_keeps_the_rest_of_a_line_with_a_kanji_number_as_written():
    """Only the number becomes [number]: the line's katakana ー is not a hyphen and 一 in a
    name is not 1 (「ユーザー山田一郎」 was logged as 「ユ-ザ-山田1郎」)."""
    line = "エラー: 一二三四五六七八九〇一二 ユーザー山田一郎"
    assert logsafe.scrub(line) == "エラー: [number] ユーザー山田一郎"


@pytest.mark.parametrize(
    "text",
    [
        "一二三四 五六七八 九〇一二",
        "一二三四－五六七八－九〇一二",
        "番号は一二三四、五六七八、九〇一二です",
    ],
)
def test_a_long_number_in_kanji_digits_alone_is_still_one(text):
    assert long_number(text)
    # The logs' rule takes spaces and dashes between groups, not 、 (`logsafe.LONG_NUMBER`).
    assert ("[number]" in logsafe.scrub(text)) == ("、" not in text)


@pytest.mark.parametrize(
    "text",
    [
        "二〇二六年一二月〇一日",
        "山田一郎",
        "〇六－一二三四－五六七八",
        "二〇二六-一二-〇一 - 二〇二六-一二-〇二",  # a range of dates, as with ASCII digits
        "一二三四五六七八九〇一5",  # eleven kanji digits and one other: not one run
    ],
)
def test_kanji_digits_join_only_kanji_digits(text):
    assert not long_number(text)


def test_the_scrub_masks_only_the_characters_of_a_number_seen_as_read():
    """A number seen only as read (a zero-width space between its groups) is masked with its
    invisible characters; the line's ー, full-width letters and kanji stay as written."""
    line = "ユーザー 1234\u200b5678\u200b9012 ＡＢ 一郎"
    assert logsafe.scrub(line) == "ユーザー [number] ＡＢ 一郎"
    assert logsafe.scrub("携帯 090-1234-5678 一度") == "携帯 090-1234-5678 一度"
