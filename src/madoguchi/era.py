"""Japanese era dates (和暦) for what the city writes in Japanese: 令和5年7月5日（水）.

Pure Python, no Django, at the bottom of the layers: the case report and letters, the
resident's page, receipt and e-mail all date things this one way. The era boundaries are the days the eras began; year 1 is 元年.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum

# (first day, name, the Gregorian year of the era's year 1), newest first. 明治 began in 1868,
# but its days are dated here only from 明治6年1月1日, when Japan adopted the Gregorian calendar:
# its year 1 is 1868 all the same (1910 is 明治43年, not 明治38年).
ERAS: tuple[tuple[date, str, int], ...] = (
    (date(2019, 5, 1), "令和", 2019),
    (date(1989, 1, 8), "平成", 1989),
    (date(1926, 12, 25), "昭和", 1926),
    (date(1912, 7, 30), "大正", 1912),
    (date(1873, 1, 1), "明治", 1868),
)
_FIRST_YEAR = {name: first_year for _, name, first_year in ERAS}
# The first day dated here, 明治6年1月1日: a day before it has no date in an era.
FIRST_DAY = ERAS[-1][0]
WEEKDAYS = "月火水木金土日"
UNKNOWN_DAY = "日付は不明"


class Precision(StrEnum):
    DAY = "day"
    MONTH = "month"
    UNKNOWN = "unknown"


class EraError(ValueError):
    """Why a text is not a day. `kind`: "era" (the day is not in the era named, `era`),
    "calendar" (no such day: 2月30日), "before" (a day before `FIRST_DAY`, which no era dates:
    1872-12-31, 0002-01-01) or "unread" (not written as a date at all), for a form to say it
    in its own words."""

    def __init__(self, message: str, kind: str = "unread", era: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.era = era


def era_year(d: date) -> tuple[str, int]:
    """The era name and year of the era for a day."""
    for start, name, first_year in ERAS:
        if d >= start:
            return name, d.year - first_year + 1
    raise EraError(
        f"{d.isoformat()} is before the Gregorian calendar was adopted in Japan.", "before"
    )


def _year_text(n: int) -> str:
    return "元" if n == 1 else str(n)


def format_era(
    d: date | None, precision: Precision | str = Precision.DAY, *, weekday: bool = True
) -> str:
    """令和5年7月5日（水）; 令和4年8月（日付は不明） for a month; 日付は不明 when unknown.

    For a month, the era is the one in force on its first day (May 2019 is 令和元年5月)."""
    precision = Precision(precision)
    if precision is Precision.UNKNOWN or d is None:
        return UNKNOWN_DAY
    if precision is Precision.MONTH:
        name, year = era_year(d.replace(day=1))
        return f"{name}{_year_text(year)}年{d.month}月（{UNKNOWN_DAY}）"
    name, year = era_year(d)
    text = f"{name}{_year_text(year)}年{d.month}月{d.day}日"
    return f"{text}（{WEEKDAYS[d.weekday()]}）" if weekday else text


def format_month(d: date) -> str:
    """令和4年8月 (no note)."""
    name, year = era_year(d.replace(day=1))
    return f"{name}{_year_text(year)}年{d.month}月"


def format_era_time(moment: datetime, *, seconds: bool = False) -> str:
    """令和8年12月1日 16:25 (a local time; the caller converts it to the city's zone)."""
    clock = f"{moment:%H:%M:%S}" if seconds else f"{moment:%H:%M}"
    return f"{format_era(moment.date(), weekday=False)} {clock}"


def format_local_time(moment: datetime, *, japanese: bool, seconds: bool = False) -> str:
    """A local time as a page in that language dates it: 令和8年12月1日 16:25 in Japanese, as
    the letters do; 2026-12-01 16:25 in English."""
    if japanese:
        return format_era_time(moment, seconds=seconds)
    return f"{moment:%Y-%m-%d %H:%M:%S}" if seconds else f"{moment:%Y-%m-%d %H:%M}"


# 昭和50年9月30日, or as forms and registers abbreviate it: S50.9.30, 昭50.9.30, 昭和50/9/30 (an
# era's initial, M T S H R, or its first kanji, 明 大 昭 平 令, for its name).
_ERA_DATE = re.compile(
    r"(明治|大正|昭和|平成|令和|[MTSHR明大昭平令])(元|\d{1,2})"
    r"(?:年(\d{1,2})月(\d{1,2})日|([-/.])(\d{1,2})\5(\d{1,2}))"
)
_ERA_OF_INITIAL = {
    "M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和",
    "明": "明治", "大": "大正", "昭": "昭和", "平": "平成", "令": "令和",
}  # fmt: skip
_WESTERN_DATE = re.compile(
    r"(\d{4})(?:([-/.])(\d{1,2})\2(\d{1,2})|年(\d{1,2})月(\d{1,2})日|(\d{2})(\d{2}))"
)
# Numbers in kanji, as a family register (戸籍) and vertical writing date things: 五十五, 十二,
# 三十一, and a year digit by digit, 一九七五 or 二〇二三.
_KANJI_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")}
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十]+")


def _kanji_number(match: re.Match[str]) -> str:
    """A run of kanji numerals as digits: 五十五 → 55, 十二 → 12, 三十 → 30, 一九七五 → 1975;
    a run that is no number (十十, 五十十) is left as it is, for the date check to refuse."""
    run = match.group()
    if "十" not in run:
        return "".join(_KANJI_DIGITS[c] for c in run)
    tens, _, units = run.partition("十")
    if len(tens) > 1 or len(units) > 1 or "十" in units or "〇" in tens + units:
        return run
    return str(int(_KANJI_DIGITS.get(tens, "1")) * 10 + int(_KANJI_DIGITS.get(units, "0")))


def parse_date(text: str) -> date:
    """A day as the card prints it or a person writes it: 昭和50年9月30日 (元年 for year 1, a
    trailing 生 as on the card), as forms abbreviate it (S50.9.30, 昭50.9.30, 昭和50/9/30: the
    era's initial M T S H R or its first kanji for its name), in kanji numerals as a family
    register writes it (昭和五十年九月三十日), 1975年9月30日, 1975-09-30, 1975/9/30, 1975.9.30,
    19750930; full-width digits and spaces are accepted. An era date must fall within its era
    (昭和65年 does not exist); EraError says so, as for any day that does not exist. A day
    before `FIRST_DAY` (1872-12-31, 0002-01-01) is refused too (kind "before"): no page or
    letter could date it in the era, and each that tried was a server error."""
    compact = "".join(unicodedata.normalize("NFKC", text).split()).removesuffix("生").upper()
    compact = _KANJI_NUMBER.sub(_kanji_number, compact)
    try:
        if m := _ERA_DATE.fullmatch(compact):
            era, year_text, month1, day1, _, month2, day2 = m.groups()
            name = _ERA_OF_INITIAL.get(era, era)
            month, day = month1 or month2, day1 or day2
            year = 1 if year_text == "元" else int(year_text)
            d = date(_FIRST_YEAR[name] + year - 1, int(month), int(day))
            if year < 1 or era_year(d) != (name, year):
                raise EraError(f"{text} is not a day of the {name} era.", "era", name)
            return d
        if m := _WESTERN_DATE.fullmatch(compact):
            y, _, mo, dd, mo2, dd2, mo3, dd3 = m.groups()
            d = date(int(y), int(mo or mo2 or mo3), int(dd or dd2 or dd3))
            if d < FIRST_DAY:
                raise EraError(
                    f"{text} is before {FIRST_DAY.isoformat()}, when Japan adopted the "
                    "Gregorian calendar: no day before it is dated here.",
                    "before",
                )
            return d
    except EraError:
        raise
    except ValueError as exc:
        raise EraError(f"{text} is not a day of the calendar.", "calendar") from exc
    raise EraError(f"{text} is not a date written as 昭和50年9月30日 or 1975-09-30.")


def date_argument(text: str) -> date:
    """`parse_date` as a command-line option's type: a day that is none is one line saying why
    (argparse's own was "invalid fromisoformat value"), and an era date is taken too."""
    import argparse

    try:
        return parse_date(text)
    except EraError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
