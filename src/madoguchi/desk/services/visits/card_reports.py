"""The agent's card reports: insertion, removal and presence, applied to the terminal's open
visit (presence renews it; a removal or another card ends it), or passed on when there is none."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.prepared import Prepared
from madoguchi.terminals.models import Terminal, TerminalCredential

from ...constants import AgentEventKind, VisitEndReason
from ...events import VISITS_CARD_INSERTED, VISITS_CARD_REMOVED
from ...models import Visit
from .current import _open_visit_locked, _unless_lapsed, _visit_tables
from .end import end_locked

# The open visit's locked read (`current._OPEN_VISIT_LOCKED`), found through the terminal's
# credential instead of the terminal: the agent's card removal checks its credential in it
# (issue 15, ninth round), as the presence report does in its UPDATE. Only an unrevoked
# credential of an active terminal finds a visit.
_OPEN_VISIT_LOCKED_BY_CREDENTIAL = Prepared(
    lambda prefix, secret_hash: (
        Visit.objects.select_for_update(of=("self", "terminal", "staff", "certificate"))
        .select_related("terminal__contractor", "staff", "certificate")
        .filter(
            terminal__credentials__prefix=prefix,
            terminal__credentials__secret_hash=secret_hash,
            terminal__credentials__revoked_at__isnull=True,
            terminal__is_active=True,
            ended_at__isnull=True,
        )
        .order_by("pk")[:1]
    ),
    prefix="-credential-prefix-",
    secret_hash="-credential-secret-hash-",
)

# Sent after a card report that found no open visit on the terminal (a removal, or a presence
# report), outside the visit's transaction: what else is bound to the card in that reader (the
# resident page on a kiosk) ends there. Receivers get `terminal`, `kind`, `cert_fingerprint`
# and `observed_at`. Not sent when the report concerns an open visit, so the desk's visit path
# costs no statement for it.
card_reported = Signal()


def agent_event(
    *,
    terminal: Terminal,
    kind: AgentEventKind,
    cert_fingerprint: str | None,
    observed_at: datetime | None = None,
    presence_tried: bool = False,
) -> Visit | None:
    """Apply a card event the terminal's agent reported. Returns the visit it ended, if any.

    `observed_at` is when the agent saw it. An event observed before the visit started (a report
    delivered late, after a retry) says nothing about the visit's card and is not applied to it.
    A removal or presence report on a terminal without an open visit is passed on
    (`card_reported`). `presence_tried`: the one-statement presence touch was already tried
    for this report and changed nothing (`presence_by_credential`); the locked path decides.
    """
    ended, had_visit = _agent_event_visit(
        terminal, kind, cert_fingerprint, observed_at, presence_tried
    )
    _pass_on(terminal, kind, cert_fingerprint, observed_at, had_visit)
    return ended


def _pass_on(
    terminal: Terminal,
    kind: AgentEventKind,
    cert_fingerprint: str | None,
    observed_at: datetime | None,
    had_visit: bool,
) -> None:
    """After the event's transaction: a removal or presence report that found no open visit
    goes to `card_reported`."""
    if not had_visit and kind != AgentEventKind.INSERTED:
        card_reported.send(
            sender=Terminal,
            terminal=terminal,
            kind=str(kind),
            cert_fingerprint=cert_fingerprint,
            observed_at=observed_at or timezone.now(),
        )


def removal_by_credential(
    *, prefix: str, secret_hash: str, cert_fingerprint: str | None, observed_at: datetime | None
) -> bool:
    """The agent's card removal with its credential checked in the open visit's locked read
    (issue 15, ninth round: the credential lookup was a statement of its own on every removal):
    the open visit of the terminal whose credential has `prefix` and `secret_hash`, not revoked,
    the terminal active, gets the removal as `agent_event` gives it (ended, the audit event,
    a lapsed one ended for its lapse). False (nothing done): no such visit — a refused
    credential or a terminal without an open visit — which the caller then takes through the
    credential check and `agent_event`, its refusal audited there."""
    now = timezone.now()
    kind = AgentEventKind.REMOVED
    with transaction.atomic():
        found = _OPEN_VISIT_LOCKED_BY_CREDENTIAL(prefix=prefix, secret_hash=secret_hash)
        if not found:
            return False
        terminal = found[0].terminal
        visit = _unless_lapsed(found[0], now)
        _, had_visit = _apply_locked(terminal, visit, kind, cert_fingerprint, observed_at, now)
    _pass_on(terminal, kind, cert_fingerprint, observed_at, had_visit)
    return True


def _presence_touch(
    terminal: Terminal, cert_fingerprint: str, now: datetime, observed_at: datetime
) -> bool:
    """In one statement: the terminal's open visit of this card, not lapsed at `now` and started
    no later than `observed_at`, gets its presence time; whether there was one. The SQL is
    written here rather than built by the ORM (issue 15, sixth round: building and compiling
    the UPDATE with its join was ~4% of the server's CPU on the completion path); the
    conditions are the ones the ORM's filter had."""
    return _presence_update("terminal_id = %s", [terminal.pk], cert_fingerprint, now, observed_at)


def _presence_update(
    terminal_sql: str,
    terminal_params: list[Any],
    cert_fingerprint: str,
    now: datetime,
    observed_at: datetime,
) -> bool:
    at = connection.ops.adapt_datetimefield_value
    visits, certs = _visit_tables()
    sql = (
        # Never backwards: a report whose statement ran late (its `now` taken before a newer
        # report's, then waiting on the row) keeps the newer time (CASE: PostgreSQL and SQLite).
        f"UPDATE {visits} SET last_presence_at = "  # noqa: S608
        "CASE WHEN last_presence_at < %s THEN %s ELSE last_presence_at END "
        f"WHERE {terminal_sql} AND ended_at IS NULL "
        "AND last_presence_at > %s AND last_activity_at > %s "
        "AND started_at > %s AND started_at <= %s "
        f"AND certificate_id IN (SELECT c.id FROM {certs} c WHERE c.fingerprint = %s)"
    )
    params = [
        at(now),
        at(now),
        *terminal_params,
        at(now - timedelta(seconds=settings.VISIT_PRESENCE_TIMEOUT_SECONDS)),
        at(now - timedelta(seconds=settings.VISIT_INACTIVITY_SECONDS)),
        at(now - timedelta(seconds=settings.VISIT_ABSOLUTE_SECONDS)),
        at(observed_at),
        cert_fingerprint,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.rowcount)


def presence_by_credential(
    *, prefix: str, secret_hash: str, cert_fingerprint: str, observed_at: datetime | None
) -> bool:
    """The agent's presence report in one statement, its credential checked in it (issue 15,
    seventh round: the credential lookup was a statement and a transaction of its own on every
    report): the open visit of this card on the terminal whose credential has `prefix` and
    `secret_hash`, not revoked, the terminal active, gets its presence time as
    `agent_event` would give it. False (nothing changed): anything else, which the caller
    then takes through the credential check and `agent_event` (refusal and its audit event,
    another card, a lapsed visit, no visit)."""
    credentials = connection.ops.quote_name(TerminalCredential._meta.db_table)
    terminals = connection.ops.quote_name(Terminal._meta.db_table)
    terminal_sql = (
        f"terminal_id = (SELECT cr.terminal_id FROM {credentials} cr "  # noqa: S608
        f"INNER JOIN {terminals} t ON t.id = cr.terminal_id "
        "WHERE cr.prefix = %s AND cr.secret_hash = %s AND cr.revoked_at IS NULL "
        "AND t.is_active = %s)"
    )
    now = timezone.now()
    return _presence_update(
        terminal_sql,
        [prefix, secret_hash, True],
        cert_fingerprint,
        now,
        observed_at or now,
    )


def _agent_event_visit(
    terminal: Terminal,
    kind: AgentEventKind,
    cert_fingerprint: str | None,
    observed_at: datetime | None,
    presence_tried: bool = False,
) -> tuple[Visit | None, bool]:
    """The card report applied to the terminal's open visit: (the visit it ended, whether the
    terminal had an open visit)."""
    now = timezone.now()
    # The common case, in one statement: the open visit of this terminal, of this card, not
    # lapsed, gets its presence time. Anything else takes the locked path below.
    if (
        kind == AgentEventKind.PRESENCE
        and cert_fingerprint is not None
        and not presence_tried
        and _presence_touch(terminal, cert_fingerprint, now, observed_at or now)
    ):
        return None, True
    with transaction.atomic():
        # Lock order everywhere: the visit row first, the audit log's head last.
        visit = _open_visit_locked(terminal, now)
        return _apply_locked(terminal, visit, kind, cert_fingerprint, observed_at, now)


def _apply_locked(
    terminal: Terminal,
    visit: Visit | None,
    kind: AgentEventKind,
    cert_fingerprint: str | None,
    observed_at: datetime | None,
    now: datetime,
) -> tuple[Visit | None, bool]:
    """Inside the event's transaction, the terminal's open visit locked (None: it had none, or
    it lapsed and was ended): the event applied as `_agent_event_visit` says."""
    if kind in (AgentEventKind.INSERTED, AgentEventKind.REMOVED):
        audit.record(
            VISITS_CARD_INSERTED if kind == AgentEventKind.INSERTED else VISITS_CARD_REMOVED,
            actor=None,
            terminal=terminal,
            subject=None,
            payload={"certificate": cert_fingerprint},
        )
    if visit is None or (observed_at is not None and observed_at < visit.started_at):
        return None, visit is not None
    if visit.handover_at is not None:
        return _handover_event(visit, kind, cert_fingerprint, now), True
    if kind == AgentEventKind.REMOVED or (
        kind == AgentEventKind.PRESENCE and cert_fingerprint is None
    ):
        end_locked(visit, VisitEndReason.CARD_REMOVED, at=now)
        return visit, True
    if cert_fingerprint != visit.certificate.fingerprint:
        _end_swapped(visit, cert_fingerprint, now)
        return visit, True
    _presence_locked(visit, now)
    return None, True


def _handover_event(
    visit: Visit, kind: AgentEventKind, cert_fingerprint: str | None, now: datetime
) -> Visit | None:
    """A card event during the card handover (locked visit): the reader may be empty (the
    presence allowance bounds it), may hold the resident's card or the second card — before the
    representative authenticated, any one card; after, only theirs. A third card ends it."""
    if kind == AgentEventKind.REMOVED or cert_fingerprint is None:
        return None  # changing hands; lapse() ends the visit if no card comes back in time
    allowed = {visit.certificate.fingerprint}
    if visit.companion_certificate_id is not None:
        allowed.add(visit.companion_certificate.fingerprint)  # type: ignore[union-attr]
    if visit.companion_certificate_id is not None and cert_fingerprint not in allowed:
        _end_swapped(visit, cert_fingerprint, now)
        return visit
    _presence_locked(visit, now)
    return None


def _presence_locked(visit: Visit, now: datetime) -> None:
    """The locked visit's card confirmed at `now`; never moved backwards (a report that waited
    for the lock can carry an earlier `now` than one applied meanwhile)."""
    if visit.last_presence_at < now:
        visit.last_presence_at = now
        visit.save(update_fields=["last_presence_at"])


def _end_swapped(visit: Visit, cert_fingerprint: str | None, now: datetime) -> None:
    """End a locked visit because a card it does not accept was placed; record the incident."""
    end_locked(visit, VisitEndReason.CARD_SWAPPED, at=now)
    summary, text = incident_text.sentence(incident_text.CARD_SWAPPED, visit=visit.reference)
    incident_record(
        kind=IncidentKind.CARD_SWAPPED,
        reason_code="card_swapped",
        severity=Severity.MEDIUM,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={
            "visit_certificate": visit.certificate.fingerprint,
            "reported_certificate": cert_fingerprint,
            "text": text,
        },
        occurred_at=visit.ended_at,
    )
