"""The lapse rules: when a visit ends by itself (its absolute limit, inactivity, lost
presence) and how long it has left."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ...constants import VisitEndReason
from ...models import Visit


def lapse(visit: Visit, now: datetime) -> tuple[VisitEndReason, datetime] | None:
    """If the visit has lapsed by `now`, why and since when; else None."""
    limits = [
        (
            VisitEndReason.ABSOLUTE_LIMIT,
            visit.started_at + timedelta(seconds=settings.VISIT_ABSOLUTE_SECONDS),
        ),
        (
            VisitEndReason.INACTIVITY,
            visit.last_activity_at + timedelta(seconds=settings.VISIT_INACTIVITY_SECONDS),
        ),
        (
            VisitEndReason.PRESENCE_LOST,
            visit.last_presence_at + timedelta(seconds=_presence_allowance(visit)),
        ),
    ]
    passed = [(at, reason) for reason, at in limits if at <= now]
    if not passed:
        return None
    at, reason = min(passed)
    return reason, at


def _presence_allowance(visit: Visit) -> int:
    """Seconds without an allowed card on the reader before the visit ends: longer during an
    explicit card handover (the cards change hands; services/cards.py)."""
    timeout = int(settings.VISIT_PRESENCE_TIMEOUT_SECONDS)
    if visit.handover_at is not None:
        return max(int(settings.VISIT_HANDOVER_SECONDS), timeout)
    return timeout


def seconds_left(visit: Visit, now: datetime | None = None) -> int:
    """Seconds until inactivity or the absolute limit ends the visit (whichever is first)."""
    now = now or timezone.now()
    end = min(
        visit.started_at + timedelta(seconds=settings.VISIT_ABSOLUTE_SECONDS),
        visit.last_activity_at + timedelta(seconds=settings.VISIT_INACTIVITY_SECONDS),
    )
    return max(0, int((end - now).total_seconds()))
