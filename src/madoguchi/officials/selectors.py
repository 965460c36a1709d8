"""What city officials and contractor supervisors may see.

City officials (and operators) see every desk of the city; a contractor supervisor sees only the
terminals, visits and incidents of their own contractor.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.sessions.models import Session
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.audit import selectors as audit_selectors
from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.models import (
    HealthInsuranceRegistration,
    LedgerTransfer,
    PaymentLink,
    PayoutItem,
    PublicFundAccount,
)
from madoguchi.desk.events import VISITS_CARD_INSERTED, VISITS_CARD_REMOVED
from madoguchi.desk.models import Visit
from madoguchi.incidents.access import visible_incidents_q
from madoguchi.incidents.models import Incident
from madoguchi.terminals.models import DeskSession, Terminal
from madoguchi.terminals.selectors import visible_terminals

CITY_ROLES = {Role.CITY_OFFICIAL.value, Role.OPERATOR.value}
ALLOWED_ROLES = CITY_ROLES | {Role.SUPERVISOR.value}


def can_view(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.roles & ALLOWED_ROLES))


def sees_whole_city(user: Any) -> bool:
    return bool(user.is_superuser or user.roles & CITY_ROLES)


def terminals_for(user: Any) -> QuerySet[Terminal]:
    """The desks of `user`'s organisation: a city's contractors' for officials and operators
    (never another city's), a contractor's own for its supervisors (`visible_terminals`)."""
    return visible_terminals(user)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def visits_for(user: Any, day: date | None = None) -> QuerySet[Visit]:
    qs = (
        Visit.objects.select_related("terminal", "staff")
        .annotate(n_completions=Count("completions", distinct=True))
        .annotate(n_incidents=Count("incidents", distinct=True))
        .filter(terminal__in=terminals_for(user))
        .order_by("-started_at")
    )
    if day is not None:
        start, end = day_bounds(day)
        qs = qs.filter(started_at__gte=start, started_at__lt=end)
    return qs


def desk_sessions_for(user: Any, day: date) -> QuerySet[DeskSession]:
    start, end = day_bounds(day)
    return (
        DeskSession.objects.select_related("terminal", "staff")
        .filter(terminal__in=terminals_for(user))
        .filter(Q(opened_at__lt=end) & (Q(closed_at__isnull=True) | Q(closed_at__gte=start)))
        .order_by("terminal__name", "opened_at")
    )


def signed_in_now(sessions: list[DeskSession], now: datetime | None = None) -> set[int]:
    """The open desk sessions among ``sessions`` whose staff sign-in is still alive: a desk
    session is closed only by a sign-out, a later sign-in or a revocation, so one whose staff
    session expired (or was cleared) stays open in the table although nobody can use it."""
    open_ids = {s.pk for s in sessions if s.closed_at is None}
    if not open_ids:
        return set()
    live: set[int] = set()
    rows = Session.objects.filter(expire_date__gt=now or timezone.now())
    for row in rows.only("session_key", "session_data", "expire_date").iterator():
        try:
            held = int(row.get_decoded().get("desk_session_id") or 0)
        except (TypeError, ValueError):
            continue
        if held in open_ids:
            live.add(held)
    return live


def incidents_for(user: Any) -> QuerySet[Incident]:
    """The incidents `user` may read, by the incidents app's one rule (`visible_incidents_q`):
    those of the desks they see, and deskless ones of their organisation or its city."""
    qs = Incident.objects.select_related("visit", "terminal", "staff").order_by("-occurred_at")
    return qs.filter(visible_incidents_q(user, terminals_for(user)))


def audit_trail(visit: Visit) -> list[AuditEvent]:
    """Every audit event about the visit, its procedures and completions, what they committed
    (the link, account or registration; its point postings and the payouts that paid them:
    "linked", "payout sent"), in log order."""
    events: dict[int, AuditEvent] = {}
    links = list(PaymentLink.objects.filter(visit=visit))
    subjects: list[Any] = [
        visit,
        *visit.procedures.all(),
        *visit.completions.all(),
        *links,
        *PublicFundAccount.objects.filter(visit=visit),
        *HealthInsuranceRegistration.objects.filter(visit=visit),
        *LedgerTransfer.objects.filter(link__in=links),
        *{item.batch for item in PayoutItem.objects.filter(link__in=links).select_related("batch")},
    ]
    ids: dict[str, list[str]] = {}
    for subject in subjects:
        ids.setdefault(subject._meta.label_lower, []).append(str(subject.pk))
    about = Q()
    for subject_type, subject_ids in ids.items():
        about |= Q(subject_type=subject_type, subject_id__in=subject_ids)
    for e in AuditEvent.objects.filter(about):
        events[e.seq] = e
    # Card events name no subject: take the terminal's from the visit's start to its end.
    card = audit_selectors.events_for_terminal(visit.terminal).filter(
        event_name__in=[VISITS_CARD_INSERTED.name, VISITS_CARD_REMOVED.name],
        time__gte=visit.started_at - timedelta(seconds=5),
    )
    if visit.ended_at is not None:
        card = card.filter(time__lte=visit.ended_at + timedelta(seconds=5))
    for e in card:
        events[e.seq] = e
    return [events[k] for k in sorted(events)]
