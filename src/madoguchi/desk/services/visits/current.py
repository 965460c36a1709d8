"""The open visit of a terminal or a desk session: read, locked, or locked and touched in one
statement; a lapsed one is ended on the way."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from madoguchi.identity.models import HolderCertificate
from madoguchi.prepared import Prepared, raw
from madoguchi.terminals.models import DeskSession, Terminal

from ...models import Visit
from .end import end_locked
from .limits import lapse
from .refusals import VisitRefused, refuse_unless_expected

# The open visit's two reads, compiled once per process (issue 15: building and compiling
# them was a tenth of the server's Python time on the completion path).
_OPEN_VISIT_LOCKED = Prepared(
    lambda terminal_id: (
        # The rows locked as before; the terminal's contractor (nullable, not locked) is read
        # with them: an incident recorded with the visit names it (issue 15).
        Visit.objects.select_for_update(of=("self", "terminal", "staff", "certificate"))
        .select_related("terminal__contractor", "staff", "certificate")
        .filter(terminal_id=terminal_id, ended_at__isnull=True)
        .order_by("pk")[:1]
    ),
    terminal_id=-15,
)

_OPEN_VISIT_READ = Prepared(
    lambda terminal_id: (
        Visit.objects.select_related("terminal", "staff", "certificate", "holder")
        .filter(terminal_id=terminal_id, ended_at__isnull=True)
        .order_by("pk")[:1]
    ),
    terminal_id=-15,
)


def _open_visit_locked(terminal: Terminal, now: datetime) -> Visit | None:
    """The terminal's open visit, locked; a lapsed one is ended here and None returned."""
    found = _OPEN_VISIT_LOCKED(terminal_id=terminal.pk)
    if not found:
        return None
    return _unless_lapsed(found[0], now)


def _unless_lapsed(visit: Visit, now: datetime) -> Visit | None:
    """A locked, open visit as it is, or None after ending it if it has lapsed by `now`."""
    lapsed = lapse(visit, now)
    if lapsed is not None:
        end_locked(visit, lapsed[0], at=lapsed[1])
        return None
    return visit


def _open_visit_read(terminal: Terminal, now: datetime) -> Visit | None:
    """The terminal's open visit, read without a row lock; a lapsed one is ended (then under
    the lock, in its own transaction) and None returned. For reads: a visit that ends right
    after this read is caught by the locked checks of whatever writes next."""
    found = _OPEN_VISIT_READ(terminal_id=terminal.pk)
    if not found:
        return None
    visit = found[0]
    if lapse(visit, now) is not None:
        with transaction.atomic():
            _open_visit_locked(terminal, now)
        return None
    return visit


def visit_current(*, desk_session: DeskSession) -> Visit | None:
    """The open visit of this desk session (after applying the lapse rules), or None."""
    visit = _open_visit_read(desk_session.terminal, timezone.now())
    if visit is None or visit.desk_session_id != desk_session.pk:
        return None
    return visit


def _visit_tables() -> tuple[str, str]:
    """The visit and holder certificate tables' names, quoted, for the hand-written statements
    (the models' names, not user input; every value goes in as a parameter)."""
    quote = connection.ops.quote_name
    return quote(Visit._meta.db_table), quote(HolderCertificate._meta.db_table)


def _touch_open(
    desk_session: DeskSession, now: datetime, visit_id: int | None = None
) -> Visit | None:
    """Inside a transaction, in one statement (issue 15): the desk session's open visit on its
    terminal (`visit_id`: only that one), not lapsed at `now`, locked (the UPDATE's row lock)
    and touched (`last_activity_at = now`). None when there is no such visit: absent, ended,
    lapsed, or another desk session's; the caller then takes the locked path
    (`_open_visit_locked`), which ends a lapsed visit and says why.

    The conditions are `lapse()`'s, negated: each limit must still be in the future. The visit
    comes back with its terminal and staff member as the desk session has them (the same rows)
    and its certificate's fingerprint (the rest of the certificate loads if it is read)."""
    presence = int(settings.VISIT_PRESENCE_TIMEOUT_SECONDS)
    handover = max(int(settings.VISIT_HANDOVER_SECONDS), presence)
    at = connection.ops.adapt_datetimefield_value
    visits, certs = _visit_tables()
    sql = (
        f"UPDATE {visits} SET last_activity_at = %s "  # noqa: S608
        "WHERE terminal_id = %s AND ended_at IS NULL AND desk_session_id = %s "
        "AND started_at > %s AND last_activity_at > %s "
        "AND last_presence_at > (CASE WHEN handover_at IS NULL THEN %s ELSE %s END) "
        + ("AND id = %s " if visit_id is not None else "")
        + f"RETURNING *, (SELECT c.fingerprint FROM {certs} c WHERE c.id = certificate_id) "  # noqa: S608
        "AS certificate_fingerprint"
    )
    params: list[Any] = [
        at(now),
        desk_session.terminal_id,
        desk_session.pk,
        at(now - timedelta(seconds=settings.VISIT_ABSOLUTE_SECONDS)),
        at(now - timedelta(seconds=settings.VISIT_INACTIVITY_SECONDS)),
        at(now - timedelta(seconds=presence)),
        at(now - timedelta(seconds=handover)),
    ]
    if visit_id is not None:
        params.append(visit_id)
    rows = raw(Visit, sql, params)  # its column work done once per process (issue 15)
    if not rows:
        return None
    visit = rows[0]
    visit.terminal = desk_session.terminal
    if visit.staff_id == desk_session.staff_id:
        visit.staff = desk_session.staff
    visit.certificate = HolderCertificate.from_db(
        connection.alias,
        ["id", "fingerprint"],
        [visit.certificate_id, visit.certificate_fingerprint],  # type: ignore[attr-defined]
    )
    return visit


def _require_open(
    desk_session: DeskSession, *, touch: bool = True, expected_visit: str | None = None
) -> Visit:
    """Inside a transaction: the desk session's open visit, locked and touched, or refuse; with
    `expected_visit`, refuse another visit (`refuse_unless_expected`, under the lock)."""
    now = timezone.now()
    if touch:
        touched = _touch_open(desk_session, now)
        if touched is not None:
            refuse_unless_expected(touched, expected_visit)  # rolled back with the touch
            return touched
    visit = _open_visit_locked(desk_session.terminal, now)
    if visit is None or visit.desk_session_id != desk_session.pk:
        refuse_unless_expected(None, expected_visit)
        raise VisitRefused.of("no_open_visit")
    refuse_unless_expected(visit, expected_visit)
    if touch:
        visit.last_activity_at = now
        visit.save(update_fields=["last_activity_at"])
    return visit
