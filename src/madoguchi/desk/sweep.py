"""The sweeper: lapses applied to visits nobody touches any more, and what they held purged.

Lapses are applied whenever a visit is touched (services._open_visit_locked); an abandoned
terminal touches nothing, so without the sweeper a lapsed visit would stay open, holding its
pending procedures' private fields (full insured numbers kept until commit), until the terminal
is used again. `madoguchi sweep` (run every SWEEP_INTERVAL_SECONDS by `madoguchi serve`) ends
each lapsed visit as the next touch would (same end time, same reason, same incident), and then
removes private fields (keys starting with "_") from every procedure that can no longer be
committed. A desk session left open whose latest visit ended longer ago than a staff sign-in
lasts (`SESSION_COOKIE_AGE`) moves on as a next visit would make it (`DESK_MOVES_ON_HOOKS`:
the after-completion items that visit left unticked become their incident). A desk session
whose browser made no request for STAFF_IDLE_SECONDS is closed (`close_idle_desks`), as its
staff session's idle limit would close it at the browser's next request. A day's report runs
the first two for its desk before it is frozen (`settle_desk_day`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.audit import throttle
from madoguchi.terminals.models import DeskSession
from madoguchi.terminals.services import desk_session_close_idle, idle_desk_sessions

from .constants import ProcedureStatus
from .events import VISITS_PRIVATE_FIELDS_PURGED
from .models import Procedure, Visit
from .procedures import DESK_MOVES_ON_HOOKS
from .services import end_locked, lapse


@dataclass(frozen=True)
class SweepResult:
    ended: int
    purged: int


def sweep(now: datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    ended = 0
    for visit_id in list(Visit.objects.filter(ended_at__isnull=True).values_list("pk", flat=True)):
        ended += _end_if_lapsed(visit_id, now)
    close_idle_desks(now)
    settle_left_desks(now)
    throttle.flush(now=now)  # the repeat counts of unauthenticated events of finished minutes
    return SweepResult(ended=ended, purged=purge_private_fields())


def _end_if_lapsed(visit_id: int, now: datetime) -> bool:
    """End the visit, in a transaction of its own, if it is open and has lapsed by `now`: at
    the time of its lapse, its incident dated so. Whether it ended it."""
    with transaction.atomic():
        visit = (
            Visit.objects.select_for_update()
            .select_related("terminal", "staff", "certificate")
            .filter(pk=visit_id, ended_at__isnull=True)
            .first()
        )
        if visit is None:
            return False
        lapsed = lapse(visit, now)
        if lapsed is None:
            return False
        # Lock order: the visit row (and, inside end_locked, its procedures) before audit.
        list(visit.procedures.select_for_update().filter(status=ProcedureStatus.PENDING))
        end_locked(visit, lapsed[0], at=lapsed[1])
        return True


def settle_desk_day(terminal: Any, day_end: datetime, now: datetime | None = None) -> None:
    """What the sweeper would do for one desk at this moment, before the report of the day
    ending at `day_end` is frozen (`reports.services.daily_report_submit`), by its own rules
    and limits and nothing earlier: its open visit ended if it has lapsed by now (its incident
    dated at the lapse), its desk sessions idle for STAFF_IDLE_SECONDS closed, and each of its
    open desk sessions whose latest visit ended before the day's end and before the sweeper's
    cutoff (SESSION_COOKIE_AGE ago, `settle_left_desks`) moved on (the after-completion items
    that visit left unticked become their incident, dated at its end). A desk whose staff may
    still tick its last visit's items is not cut off: what the sweeper records for it later is
    dated at that visit's end, listed on the officials' incidents page for that day even once
    its report was submitted (docs/reports.md)."""
    now = now or timezone.now()
    open_visits = Visit.objects.filter(terminal=terminal, ended_at__isnull=True)
    for visit_id in list(open_visits.values_list("pk", flat=True)):
        _end_if_lapsed(visit_id, now)
    mine = set(
        DeskSession.objects.filter(terminal=terminal, closed_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    for session_id in idle_desk_sessions(now):
        if session_id in mine:
            desk_session_close_idle(session_id, now)
    cutoff = min(day_end, now - timedelta(seconds=int(settings.SESSION_COOKIE_AGE)))
    sessions = DeskSession.objects.filter(
        terminal=terminal, closed_at__isnull=True, visits__ended_at__lt=cutoff
    )
    for session_id in list(sessions.values_list("pk", flat=True).distinct()):
        _move_on_if_left(session_id, cutoff)


def close_idle_desks(now: datetime) -> int:
    """Close the desk sessions whose browser made no request for STAFF_IDLE_SECONDS: one left
    open (the browser closed, the machine switched off) stayed open, with its visit and the
    ended visit's unticked items, until the next sign-in on the terminal. Each closes as the
    staff session's idle limit closes it, in a transaction of its own. Returns how many."""
    return sum(desk_session_close_idle(pk, now) for pk in idle_desk_sessions(now))


def settle_left_desks(now: datetime) -> int:
    """Desk sessions still open whose latest visit ended before a staff sign-in could still
    show it: each moves on (`DESK_MOVES_ON_HOOKS`), in a transaction of its own with the
    session locked first, as a visit start locks it. Returns how many were looked at."""
    cutoff = now - timedelta(seconds=int(settings.SESSION_COOKIE_AGE))
    sessions = DeskSession.objects.filter(closed_at__isnull=True, visits__ended_at__lt=cutoff)
    return sum(
        _move_on_if_left(session_id, cutoff)
        for session_id in list(sessions.values_list("pk", flat=True).distinct())
    )


def _move_on_if_left(session_id: int, cutoff: datetime) -> bool:
    """The desk session, still open, moves on (`DESK_MOVES_ON_HOOKS`) if its latest visit ended
    before `cutoff`: in a transaction of its own, the session locked first, as a visit start
    locks it. Whether it was looked at."""
    with transaction.atomic():
        session = DeskSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.closed_at is not None:
            return False
        latest = Visit.objects.filter(desk_session=session).order_by("-started_at", "-pk")
        last = latest.values_list("ended_at", flat=True).first()
        if last is None or last >= cutoff:
            return False
        for hook in DESK_MOVES_ON_HOOKS:
            hook(session)
        return True


# A procedure's fields hold a key starting with "_", asked of the database itself: the ended
# procedures are the desk's whole history, and every sweep read them all into Python to look.
_HAS_PRIVATE_KEY = {
    "postgresql": (
        "CASE WHEN jsonb_typeof({table}.fields) = 'object' THEN EXISTS ("
        "SELECT 1 FROM jsonb_object_keys({table}.fields) AS k WHERE left(k, 1) = '_') "
        "ELSE false END"
    ),
    "sqlite": (
        "CASE WHEN json_type({table}.fields) = 'object' THEN EXISTS ("
        "SELECT 1 FROM json_each({table}.fields) WHERE substr(json_each.key, 1, 1) = '_') "
        "ELSE 0 END"
    ),
}


def procedures_holding_private_fields() -> QuerySet[Procedure]:
    """Procedures no longer pending, in an ended visit, whose fields still hold a private key."""
    ended = Procedure.objects.exclude(status=ProcedureStatus.PENDING).filter(
        visit__ended_at__isnull=False
    )
    sql = _HAS_PRIVATE_KEY.get(connections[ended.db].vendor)
    if sql is None:  # another database: every ended procedure is a candidate, checked in Python
        return ended
    where = sql.format(table=connections[ended.db].ops.quote_name(Procedure._meta.db_table))
    holds = RawSQL(where, (), output_field=BooleanField())  # noqa: S611 (no outside value in it)
    return ended.alias(private=holds).filter(private=True)


def purge_private_fields() -> int:
    """Remove keys starting with "_" from the fields of procedures that are no longer pending,
    in one transaction with the audit event that says how many (`visits.private_fields_purged`):
    a procedure's stored fields never change without the log saying so."""
    with transaction.atomic():
        purged = 0
        rows = procedures_holding_private_fields().values_list("pk", "fields")
        for pk, fields in rows.iterator(chunk_size=500):
            if isinstance(fields, dict) and any(str(k).startswith("_") for k in fields):
                clean = {k: v for k, v in fields.items() if not str(k).startswith("_")}
                Procedure.objects.filter(pk=pk).update(fields=clean)
                purged += 1
        if purged:
            audit.record(VISITS_PRIVATE_FIELDS_PURGED, payload={"count": purged})
    return purged
