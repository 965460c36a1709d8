"""The day an oversight page shows, from its query string: a date that cannot be read is said
so on the page (the page then shows today), never taken silently for today."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.era import EraError, parse_date

from .selectors import parse_day


def day_from_query(request: HttpRequest, name: str) -> date:
    raw = request.GET.get(name, "")
    day = parse_day(raw)
    if day is not None:
        return day
    today = timezone.localdate()
    if raw and _before_first_day(raw):
        messages.warning(
            request,
            _(
                "“%(value)s” is before 1 January 1873 (明治6年1月1日), when Japan adopted the "
                "Gregorian calendar: there are no records of it; today's records (%(today)s) "
                "are shown."
            )
            % {"value": raw[:40], "today": today.isoformat()},
        )
    elif raw:
        messages.warning(
            request,
            _("“%(value)s” is not a date (write it as %(example)s); today's records are shown.")
            % {"value": raw[:40], "example": today.isoformat()},
        )
    return today


def _before_first_day(raw: str) -> bool:
    """Whether `raw` is a day before `era.FIRST_DAY` (1872-12-31, 明治5年12月31日)."""
    try:
        parse_date(raw)
    except EraError as exc:
        return exc.kind == "before"
    return False
