from datetime import date

from django import template
from django.utils.translation import get_language

from madoguchi.cases.era import Precision, format_era

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
