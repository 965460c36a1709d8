"""Dates and times as the city's people read them, in the active language.

A Japanese page or document dates things in the era, as the city's letters do (令和8年12月1日,
令和8年12月1日 16:25); an English one in the calendar (2026-12-01, 2026-12-01 16:25). Moments
are shown in the city's time (settings.TIME_ZONE). Pages load the filters as `{% load dates %}`
(`local_day`, `local_time`, and `known_day` for a date known only to the month or not at all,
as a case's are); documents and exports call the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django import template
from django.utils import timezone

from madoguchi.era import Precision, format_era, format_local_time
from madoguchi.language import page_language

register = template.Library()


def japanese() -> bool:
    return page_language() == "ja"


def _parsed(value: Any, parse: Callable[[str], Any]) -> Any:
    """An ISO string read with `parse` (a string it cannot read is kept as it is)."""
    if not isinstance(value, str) or not value:
        return value
    try:
        return parse(value)
    except ValueError:
        return value


@register.filter
def local_day(value: date | datetime | str | None, weekday: bool = False) -> str:
    """令和8年12月1日 on a Japanese page, 2026-12-01 on an English one ("—" for none). A
    datetime is read as its day in the city's time; a string as an ISO day (a report's)."""
    value = _parsed(value, date.fromisoformat)
    if value is None or isinstance(value, str):
        return value or "—"
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_era(value, weekday=weekday) if japanese() else value.isoformat()


@register.filter
def local_time(value: datetime | str | None, seconds: bool = False) -> str:
    """令和8年12月1日 16:25 on a Japanese page, 2026-12-01 16:25 on an English one, in the
    city's time ("—" for none). A string is read as an ISO moment with its offset (a
    report's)."""
    value = _parsed(value, datetime.fromisoformat)
    if value is None or isinstance(value, str):
        return value or "—"
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_local_time(value, japanese=japanese(), seconds=seconds)


# The zones that are Japan's time (settings.TIME_ZONE is Asia/Tokyo; "Japan" is its alias).
JAPAN_ZONES = frozenset({"Asia/Tokyo", "Japan"})


def zone_words(language: str | None = None) -> str:
    """The city's time zone as a heading names it (提出日時（日本時間）): 日本時間 or Japan time
    in Japan's zone; in any other, the zone's own name and, if it has no summer time, its
    offset (UTC、UTC+00:00), so no document says Japan time of times shown in another zone.
    `language`: the active one unless given."""
    zone = timezone.get_current_timezone()
    ja = page_language(language) == "ja"
    name = str(getattr(zone, "key", None) or zone)
    if name in JAPAN_ZONES:
        return "日本時間" if ja else "Japan time"
    year = timezone.now().year
    offsets = {datetime(year, month, 1, tzinfo=zone).utcoffset() for month in (1, 7)}
    if len(offsets) != 1:
        return name
    [offset] = offsets
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{name}{'、' if ja else ', '}UTC{sign}{hours:02d}:{rest:02d}"


@register.filter
def known_day(value: date | None, precision: str = "day") -> str:
    """A date known to the day, to the month or not at all (`era.Precision`, as a case's
    timeline records it): 令和8年12月1日（火）, 令和8年12月（日付は不明）, 日付は不明 on a Japanese
    page; 2026-12-01, 2026-12 (day unknown), date unknown on an English one."""
    known = Precision(precision or "day")
    if japanese():
        return format_era(value, known)
    if value is None or known is Precision.UNKNOWN:
        return "date unknown"
    if known is Precision.MONTH:
        return f"{value:%Y-%m} (day unknown)"
    return local_day(value)
