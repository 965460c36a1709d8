"""The day an oversight page shows, from its query string: a date that cannot be read is said
so on the page (the page then shows today), never taken silently for today."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from .selectors import parse_day


def day_from_query(request: HttpRequest, name: str) -> date:
    raw = request.GET.get(name, "")
    day = parse_day(raw)
    if day is not None:
        return day
    today = timezone.localdate()
    if raw:
        messages.warning(
            request,
            _("“%(value)s” is not a date (write it as %(example)s); today's records are shown.")
            % {"value": raw[:40], "example": today.isoformat()},
        )
    return today
