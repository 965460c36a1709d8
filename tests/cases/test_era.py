"""Japanese era formatting: boundaries, 元年, weekdays, month-only and unknown dates."""

from datetime import date

import pytest

from madoguchi.era import EraError, era_year, format_era, format_month


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2023, 7, 5), "令和5年7月5日（水）"),
        (date(2023, 7, 24), "令和5年7月24日（月）"),
        (date(2023, 7, 25), "令和5年7月25日（火）"),
        (date(2023, 8, 21), "令和5年8月21日（月）"),
        (date(2019, 5, 1), "令和元年5月1日（水）"),
        (date(2019, 4, 30), "平成31年4月30日（火）"),
        (date(2019, 12, 31), "令和元年12月31日（火）"),
        (date(2020, 1, 1), "令和2年1月1日（水）"),
        (date(1989, 1, 8), "平成元年1月8日（日）"),
        (date(1989, 1, 7), "昭和64年1月7日（土）"),
        (date(1926, 12, 25), "昭和元年12月25日（土）"),
        (date(1912, 7, 30), "大正元年7月30日（火）"),
        # 明治 counts its years from 1868, though days are dated only from 明治6年, the
        # Gregorian calendar's first day in Japan (they were 5 years short: 明治38年 for 1910).
        (date(1912, 7, 29), "明治45年7月29日（月）"),
        (date(1911, 5, 28), "明治44年5月28日（日）"),
        (date(1873, 1, 1), "明治6年1月1日（水）"),
    ],
)
def test_day_precision(d, expected):
    assert format_era(d) == expected


def test_every_weekday_label():
    # 2023-07-03 is a Monday.
    labels = [format_era(date(2023, 7, 3 + i))[-3:] for i in range(7)]
    assert labels == ["（月）", "（火）", "（水）", "（木）", "（金）", "（土）", "（日）"]


def test_month_precision_notes_the_unknown_day():
    assert format_era(date(2022, 8, 17), "month") == "令和4年8月（日付は不明）"
    assert format_era(date(2019, 5, 20), "month") == "令和元年5月（日付は不明）"
    assert format_era(date(2019, 4, 20), "month") == "平成31年4月（日付は不明）"
    assert format_month(date(2022, 9, 30)) == "令和4年9月"


def test_unknown_date():
    assert format_era(None, "unknown") == "日付は不明"
    assert format_era(date(2023, 1, 1), "unknown") == "日付は不明"
    assert format_era(None, "day") == "日付は不明"


def test_without_weekday_and_era_year():
    assert format_era(date(2019, 5, 1), weekday=False) == "令和元年5月1日"
    assert era_year(date(2024, 1, 1)) == ("令和", 6)
    with pytest.raises(EraError):
        era_year(date(1800, 1, 1))
    with pytest.raises(ValueError, match="week"):
        format_era(date(2023, 1, 1), "week")


@pytest.mark.parametrize(
    "typed",
    [
        "昭和50年9月30日",
        "昭和５０年９月３０日生",
        "1975/9/30",
        "1975年9月30日",
        "1975-09-30",
        "1975.09.30",
        # as forms and registers abbreviate it (the era's initial for its name), and as a
        # date field without separators (they were refused as no date)
        "S50.9.30",
        "s50/9/30",
        "Ｓ５０．９．３０",
        "昭和50.9.30",
        "S 50-9-30",
        "19750930",
        # the era's first kanji for its name, and kanji numerals as a family register writes
        # them (each was refused as no date)
        "昭50.9.30",
        "昭和五十年九月三十日",
        "昭和五十年九月三十日生",
        "一九七五年九月三十日",
    ],
)
def test_a_birth_date_is_read_as_the_card_and_people_write_it(typed):
    """The health-insurance form refused 1975/09/30 and 昭和50年9月30日 (the card prints the era
    form) with 「日付を正しく入力してください」: only 1975-09-30 was understood."""
    from madoguchi.era import parse_date

    assert parse_date(typed) == date(1975, 9, 30)


@pytest.mark.parametrize(
    "typed",
    [
        "昭和65年1月8日",
        "平成元年1月7日",
        "令和0年5月1日",
        "1975/13/1",
        "昭和",
        "明治46年1月1日",
        "明治5年12月1日",
        "S65.1.8",
        "H31.5.1",
        "X50.9.30",
        "S50.9/30",
        "19751330",
        "昭和六十五年一月八日",
        "昭65.1.8",
        "昭和五十十年九月三十日",
        "昭和〇年九月三十日",
    ],
)
def test_a_date_outside_its_era_or_the_calendar_is_refused(typed):
    """(明治5年 was a year of the old calendar, before the Gregorian one was adopted.)"""
    from madoguchi.era import EraError, parse_date

    with pytest.raises(EraError):
        parse_date(typed)


@pytest.mark.parametrize(
    ("typed", "day"),
    [("明治44年5月28日", date(1911, 5, 28)), ("明治45年7月29日", date(1912, 7, 29)),
     ("明治６年１月１日生", date(1873, 1, 1)), ("大正元年7月30日", date(1912, 7, 30)),
     ("明四十四年五月二十八日", date(1911, 5, 28)), ("大元.7.30", date(1912, 7, 30))],
)  # fmt: skip
def test_a_meiji_birth_date_is_the_day_it_names(typed, day):
    """A resident born in 明治44年 (there are some) was refused: 明治44年 was read as 1916,
    a 大正 year, and so as no day of the 明治 era."""
    from madoguchi.era import parse_date

    assert parse_date(typed) == day


@pytest.mark.parametrize("year", [1873, 1911, 1912, 1926, 1975, 1989, 2019, 2026])
def test_every_day_reads_back_as_it_is_written(year):
    """What `format_era` writes, `parse_date` reads as the same day, across every era's
    boundary year."""
    from datetime import timedelta

    from madoguchi.era import parse_date

    day = date(year, 1, 1)
    while day.year == year:
        assert parse_date(format_era(day, weekday=False)) == day
        assert parse_date(format_era(day)[: -len("（水）")]) == day
        day += timedelta(days=1)


def test_the_health_insurance_form_takes_the_birth_date_as_printed_on_the_card():
    from madoguchi.benefits.procedures.health_insurance import HealthInsuranceForm

    base = {"insurer_number": "139998", "insured_symbol": "市国12", "insured_number": "3456",
            "branch": "00", "resident_sex": "1"}  # fmt: skip
    form = HealthInsuranceForm({**base, "resident_birth_date": "昭和50年9月30日"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["resident_birth_date"] == date(1975, 9, 30)
    wrong = HealthInsuranceForm({**base, "resident_birth_date": "昭和65年1月8日"})
    assert not wrong.is_valid()
    assert "昭和50年9月30日" in str(wrong.errors["resident_birth_date"])


@pytest.mark.parametrize(
    ("language", "value", "precision", "expected"),
    [
        ("ja", date(2023, 7, 5), "day", "令和5年7月5日（水）"),
        ("ja", date(2022, 8, 17), "month", "令和4年8月（日付は不明）"),
        ("ja", None, "unknown", "日付は不明"),
        ("en", date(2023, 7, 5), "day", "2023-07-05"),
        ("en", date(2022, 8, 17), "month", "2022-08 (day unknown)"),
        ("en", date(2022, 8, 17), "unknown", "date unknown"),
        ("en", None, "day", "date unknown"),
    ],
)
def test_a_case_date_reads_as_its_page_reads_it(language, value, precision, expected):
    # The case pages' dates go through the one template library of dates (`dates`).
    from django.template import Context, Template
    from django.utils import translation

    page = Template("{% load dates %}{{ value|known_day:precision }}")
    with translation.override(language):
        assert page.render(Context({"value": value, "precision": precision})) == expected


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["case", "legacy-link", "1", "--actor", "x", "--resident", "A氏", "--provider", "p",
             "--linked-on", "2023-13-45"],
            "argument --linked-on: 2023-13-45 is not a day of the calendar.",
        ),
        (
            ["vcard", "issue", "--name", "鈴木　一郎", "--birth", "昭和65年1月1日", "--sex", "1",
             "--address", "大阪府"],
            "argument --birth: 昭和65年1月1日 is not a day of the 昭和 era.",
        ),
        (
            ["vcard", "issue", "--name", "鈴木　一郎", "--birth", "last spring", "--sex", "1",
             "--address", "大阪府"],
            "argument --birth: last spring is not a date written as 昭和50年9月30日 or 1975-09-30.",
        ),
    ],
    ids=["case-linked-on", "vcard-era", "vcard-words"],
)  # fmt: skip
def test_a_date_option_that_is_no_day_says_why(args, says):
    """argparse's own refusal was "invalid fromisoformat value: '2023-13-45'"."""
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as refused:
        call_command(*args)
    assert str(refused.value) == f"Error: {says}"


def test_a_date_option_takes_the_days_people_write():
    from madoguchi.era import date_argument

    assert date_argument("2023-06-01") == date(2023, 6, 1)
    assert date_argument("令和5年6月1日") == date(2023, 6, 1)
    assert date_argument("２０２３/６/１") == date(2023, 6, 1)
    assert date_argument("R5.6.1") == date(2023, 6, 1)
    assert date_argument("R元.5.1") == date(2019, 5, 1)
