from datetime import date

from django import template

from madoguchi.cases.era import format_era

register = template.Library()


@register.filter
def era(value: date | None, precision: str = "day") -> str:
    return format_era(value, precision or "day")
