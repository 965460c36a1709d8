from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from madoguchi.era import Precision, format_era, format_local_time

register = template.Library()


@register.filter
def era(value: date | None, precision: str = "day") -> str:
    """A case date as its reader reads it: the era on a Japanese page (令和8年12月1日（火）),
    the calendar on an English one (2026-12-01; 2026-12 (day unknown); date unknown)."""
    if (get_language() or "ja").startswith("ja"):
        return format_era(value, precision or "day")
    if value is None or Precision(precision or "day") is Precision.UNKNOWN:
        return "date unknown"
    if Precision(precision) is Precision.MONTH:
        return f"{value:%Y-%m} (day unknown)"
    return value.isoformat()


@register.filter
def era_time(value: datetime | None, seconds: bool = False) -> str:
    """A moment in the city's time as its reader reads it: 令和8年12月1日 16:25 on a Japanese
    page (as the letters date things), 2026-12-01 16:25 on an English one."""
    if value is None:
        return "—"
    japanese = (get_language() or "ja").startswith("ja")
    return format_local_time(timezone.localtime(value), japanese=japanese, seconds=seconds)
