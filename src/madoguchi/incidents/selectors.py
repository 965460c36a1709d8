"""Reading incidents."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from madoguchi.audit.models import AuditEvent
from madoguchi.audit.selectors import events_for_subject, visit_events
from madoguchi.era import parse_date
from madoguchi.terminals.selectors import visible_terminals

from .access import visible_incidents_q
from .constants import IncidentKind
from .events import INCIDENT_COMPLETION_REFUSED_AGAIN, INCIDENT_PIN_LOCK_SEEN_AGAIN
from .models import Incident
from .text import COMMITTED


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start and end of a local (Asia/Tokyo) day, as aware datetimes."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    return start, start + timedelta(days=1)


def parse_day(value: str) -> date | None:
    """A day from a request (`YYYY-MM-DD`, as the pages write it, or as a person types it in the
    day's text field: 2026/12/1, 令和8年12月1日; `era.parse_date`), or None when it is not a
    date, a day before 1873-01-01 (`era.FIRST_DAY`: no Japanese page could date it; 1872-12-31
    was a server error on each) or a day whose local bounds fall outside what the server can
    compute (9999-12-31)."""
    try:
        day = parse_date(value)
        for bound in day_bounds(day):
            bound.astimezone(UTC)  # as the database stores it
    except (ValueError, OverflowError):  # EraError is a ValueError
        return None
    return day


def incidents_for_terminal_day(terminal: Any, day: date) -> QuerySet[Incident]:
    """Every incident of a desk's day: recorded at the terminal, or in one of its visits."""
    start, end = day_bounds(day)
    return (
        Incident.objects.filter(Q(terminal=terminal) | Q(visit__terminal=terminal))
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .select_related("staff", "visit", "terminal")
        .order_by("occurred_at", "pk")
        .distinct()
    )


def incident_by_pk(pk: int) -> Incident | None:
    return Incident.objects.filter(pk=pk).first()


def visit_holder_ids(incident_ids: list[int]) -> list[Any]:
    """The holders of the visits of these incidents (whose residents see a read of them), and
    of those visits' second cards (a legal representative's, whose account they show)."""
    if not incident_ids:
        return []
    pairs = Incident.objects.filter(pk__in=incident_ids).values_list(
        "visit__holder_id", "visit__companion_certificate__holder_id"
    )
    return [pk for pair in pairs for pk in pair if pk is not None]


def incidents_of_day(user: Any, day: date) -> QuerySet[Incident]:
    """The incidents of `day` that `user` may see (`visible_incidents_q`), newest first, each
    with the case opened from it and that case's timeline (its state), for all rows in two
    statements: the list says which incidents someone is handling."""
    start, end = day_bounds(day)
    return (
        Incident.objects.filter(visible_incidents_q(user, visible_terminals(user)))
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .select_related("terminal", "staff", "visit", "case")
        .prefetch_related("case__timeline")
        .distinct()
        .order_by("-occurred_at")
    )


def with_committed_counts(incidents: Iterable[Incident]) -> list[Incident]:
    """The incidents as a list, each visit that ended with procedures pending given the number
    of completions it committed (its sentence says whether they stand), counted for all of
    them in one statement: a list's statements do not grow with its rows."""
    rows = list(incidents)
    ended = [
        i
        for i in rows
        if i.visit_id is not None and i.kind == IncidentKind.VISIT_ENDED_WITH_PENDING
    ]
    if not ended:
        return rows
    visit_model = Incident._meta.get_field("visit").related_model
    counts = dict(
        visit_model._default_manager.filter(pk__in={i.visit_id for i in ended})  # type: ignore[union-attr]
        .annotate(committed=Count("completions"))
        .values_list("pk", "committed")
    )
    for incident in ended:
        setattr(incident.visit, COMMITTED, counts.get(incident.visit_id, 0))
    return rows


# The attributes `with_times_seen` sets on an incident met again: how many times (the first and
# each added to it), and when last. A PIN-lock incident: the card's locked PIN met again that
# day (`incidents.pin_lock_seen_again`); a completion-refused incident: the ended visit's
# completion refused again for the same reason that day (`incidents.completion_refused_again`).
TIMES_SEEN = "times_seen"
LAST_SEEN = "last_seen_at"
_SEEN_AGAIN = {
    IncidentKind.PIN_LOCKED: INCIDENT_PIN_LOCK_SEEN_AGAIN.name,
    IncidentKind.COMPLETION_REFUSED: INCIDENT_COMPLETION_REFUSED_AGAIN.name,
}


def with_times_seen(incidents: Iterable[Incident]) -> list[Incident]:
    """The incidents as a list, each met again given its times seen (`TIMES_SEEN`: the first
    and each event of `_SEEN_AGAIN` on it) and the last time (`LAST_SEEN`), counted for all of
    them in one statement."""
    rows = list(incidents)
    repeatable = {str(i.pk): i for i in rows if i.kind in _SEEN_AGAIN}
    if not repeatable:
        return rows
    again = (
        AuditEvent.objects.filter(
            event_name__in=sorted(_SEEN_AGAIN.values()),
            subject_type=f"{Incident._meta.app_label}.{Incident._meta.model_name}",
            subject_id__in=list(repeatable),
        )
        .values("subject_id", "event_name")
        .annotate(n=Count("seq"), last=Max("time"))
        .values_list("subject_id", "event_name", "n", "last")
    )
    for subject_id, event_name, n, last in again:
        incident = repeatable[subject_id]
        if _SEEN_AGAIN[IncidentKind(incident.kind)] == event_name:
            setattr(incident, TIMES_SEEN, 1 + n)
            setattr(incident, LAST_SEEN, last)
    return rows


def audit_trail(incident: Incident) -> list[AuditEvent]:
    """The incident's own audit events and its visit's trail (if any), as the case page shows
    it (`audit.selectors.visit_events`): the completion the resident signed and what it
    committed included."""
    events = list(events_for_subject(incident))
    if incident.visit is not None:
        events += list(visit_events(incident.visit))
    return sorted({e.seq: e for e in events}.values(), key=lambda e: e.seq)
