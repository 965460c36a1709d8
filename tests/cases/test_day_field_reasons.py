"""Round 19: a day written right that does not exist is refused saying why, not "write it as
2026-12-01"; a day copied from a page with its weekday is read."""

from datetime import date

import pytest
from django.utils import translation

from madoguchi.cases.forms import DayField


def _said(typed: str, lang: str = "ja") -> str:
    from django.core.exceptions import ValidationError

    with translation.override(lang):
        try:
            DayField().clean(typed)
        except ValidationError as exc:
            return " ".join(exc.messages)
    return ""


@pytest.mark.parametrize("typed", ["令和8年2月30日", "2026/2/30"])
def test_a_day_the_month_does_not_have(typed):
    said = _said(typed)
    assert "のように書いてください" not in said
    assert f"{typed} という日はありません" in said


def test_a_day_outside_its_era_names_the_era():
    said = _said("平成31年5月1日")
    assert "平成の期間にない日です" in said
    assert "令和元年5月1日" in said
    assert "is not a day of the 平成 era" in _said("平成31年5月1日", "en")


def test_a_day_with_its_weekday_is_read():
    assert DayField().clean("令和8年12月1日（火）") == date(2026, 12, 1)
    assert DayField().clean("2026-12-01 (火)") == date(2026, 12, 1)


def test_text_that_is_no_date_still_says_how_to_write_one():
    assert "のように書いてください" in _said("きのう")


@pytest.mark.parametrize("typed", ["1872-12-31", "0002-01-01", "明治5年12月31日"])
def test_a_day_before_1873_is_refused_saying_why(typed):
    """Probe F: a case's day before Japan's Gregorian calendar (明治6年1月1日) was taken, and
    every Japanese page, letter and report dating the case then a server error."""
    said = _said(typed)
    assert "明治6年1月1日" in said
    assert "年を確かめてください" in said
    assert "before 1 January 1873" in _said(typed, "en")
