"""Visits: the refusal, lapse rules, starting and ending, agent reports, procedures.

Just over 400 lines on purpose: every function here takes the visit's row lock in the one order
(docs/audit.md), which is easiest to check when they stand together."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.identity import services as identity
from madoguchi.identity.constants import NoncePurpose
from madoguchi.identity.models import HolderCertificate, Nonce
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.language import english
from madoguchi.prepared import Prepared, insert, raw, update_fields
from madoguchi.refusals import Refusal, Text
from madoguchi.terminals.models import DeskSession, Terminal, TerminalCredential

from .. import procedures as registry
from .. import text as text_rules
from ..constants import AgentEventKind, ProcedureStatus, VisitEndReason
from ..events import (
    VISITS_CARD_INSERTED,
    VISITS_CARD_REMOVED,
    VISITS_ENDED,
    VISITS_PROCEDURE_DISCARDED,
    VISITS_PROCEDURE_PREPARED,
    VISITS_STARTED,
)
from ..models import Procedure, Visit


class VisitRefused(Refusal):
    """A refused visit operation (the desk's own codes; other refusals pass through as they are)."""

    code = "visit_refused"
    status = 409
    messages: ClassVar[Mapping[str, tuple[Text, int]]] = {
        "no_open_visit": (
            _("There is no open visit on this terminal."),
            404,
        ),
        "visit_ended": (
            _("The visit has ended; nothing was committed."),
            409,
        ),
        "certificate_mismatch": (
            _(
                "The card that signed is not the card that started the visit; nothing was committed."
            ),
            403,
        ),
        "nothing_pending": (
            _("There is no pending procedure to commit."),
            409,
        ),
        "challenge_other_visit": (
            _("The completion challenge belongs to another visit; nothing was committed."),
            409,
        ),
        "desk_session_closed": (_("Sign in again."), 401),
        "holder_changing": (
            _(
                "The card's holder was being changed (a renewed card linked to its old holder) "
                "as the visit started; no visit was started. Start the visit again with the card."
            ),
            409,
        ),
        "unknown_procedure": (_("This procedure is not available (%(kind)s)."), 400),
        "unknown_procedure_unnamed": (
            _(
                "This procedure is not available: the kind sent is not the name of any "
                "procedure (lower-case letters, digits and underscores, at most 40)."
            ),
            400,
        ),
        "procedure_not_pending": (_("No such pending procedure."), 404),
        "too_many_pending": (
            _(
                "This visit already holds %(limit)s procedures waiting for the resident's "
                "confirmation, more than one visit needs; nothing was added. Have the resident "
                "confirm them, or discard the ones not needed, then add this one."
            ),
            409,
        ),
        "second_signature_required": (
            _(
                "The legal representative's card must sign the same content too; nothing was "
                "committed."
            ),
            403,
        ),
        "second_signature_unexpected": (
            _("No second card authenticated in this visit; nothing was committed."),
            400,
        ),
        "second_certificate_mismatch": (
            _(
                "The second signature is not from the legal representative's card that "
                "authenticated in this visit (a card was swapped); nothing was committed."
            ),
            403,
        ),
    }


class FieldsRefused(VisitRefused):
    """Fields carry text that cannot be accepted; `errors` maps each field path to what is wrong
    (English, for the API's `fields`); pages mark the fields with `FIELD_MESSAGE`."""

    code = "text_not_allowed"
    status = 400
    message = _(
        "Some fields contain characters that cannot be accepted (control characters or broken "
        "characters): %(fields)s. Nothing was stored; enter them again."
    )

    def __init__(self, *, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(
            detail="; ".join(f"{name}: {why}" for name, why in sorted(errors.items())),
            params={"fields": ", ".join(sorted(errors))},
        )

    @property
    def form_fields(self) -> set[str]:
        """The top-level field names at fault (a page's form fields)."""
        return {name.split(".")[0].split("[")[0] for name in self.errors}

    def as_body(self) -> dict[str, Any]:
        return {**super().as_body(), "fields": self.errors}

    def text_naming(self, labels: Mapping[str, Any]) -> str:
        """The message in the active language naming the fields by a page's `labels` (its
        form's field labels), not by their codes; a field without a label keeps its name."""
        japanese = not english()
        names = [str(labels.get(name) or name) for name in sorted(self.form_fields)]
        return str(self.message) % {"fields": ("、" if japanese else ", ").join(names)}


FIELD_MESSAGE = _(
    "This field contains a character that cannot be accepted (a control character or a "
    "broken character). Enter it again."
)


# --- lapse rules ----------------------------------------------------------------------------


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


# --- ending ---------------------------------------------------------------------------------


# A visit's procedures, compiled once per process (issue 15).
_PROCEDURES = Prepared(
    lambda visit_id: Procedure.objects.filter(visit_id=visit_id).order_by("pk"), visit_id=-15
)


def end_locked(
    visit: Visit, reason: VisitEndReason, *, at: datetime | None = None, actor: Any = None
) -> None:
    """End a locked, open visit (inside the caller's transaction)."""
    visit.ended_at = at or timezone.now()
    visit.end_reason = reason
    # The verified card read is kept only while the visit is open.
    visit.card_birth_date, visit.card_sex, visit.card_name = None, "", ""
    # The UPDATE's SQL written once per process (issue 15: `save()` compiled it on every end).
    update_fields(visit, ["ended_at", "end_reason", "card_birth_date", "card_sex", "card_name"])
    # Every procedure of the visit in one read (issue 15): the pending ones are discarded here,
    # the committed kinds are kept for the end hooks (the after-completion checklist check).
    procedures = _PROCEDURES(visit_id=visit.pk)
    for p in procedures:
        p.visit = visit  # as `visit.procedures` gives them
    pending = [p for p in procedures if p.status == ProcedureStatus.PENDING]
    visit.ended_procedure_kinds = {  # type: ignore[attr-defined]
        p.kind for p in procedures if p.status == ProcedureStatus.COMMITTED
    }
    for p in pending:
        p.status = ProcedureStatus.DISCARDED
        update_fields(p, ["status", "updated_at"])
    audit.record(
        VISITS_ENDED,
        actor=actor,
        terminal=visit.terminal,
        subject=visit,
        payload={
            "visit": visit.reference,
            "reason": str(reason.value),
            "discarded": [p.kind for p in pending],
        },
    )
    if pending and reason != VisitEndReason.NEXT_RESIDENT:
        params: dict[str, Any] = {
            "visit": visit.reference,
            "reason": incident_text.end_reason(VisitEndReason(reason).label),
            "count": len(pending),
        }
        # What the resident's card committed earlier in the visit stands: the sentence says so.
        committed = visit.completions.count()
        if committed:
            summary, text = incident_text.sentence(
                incident_text.VISIT_ENDED_WITH_PENDING_AFTER_COMMITTED,
                **params,
                committed=committed,
            )
        else:
            summary, text = incident_text.sentence(incident_text.VISIT_ENDED_WITH_PENDING, **params)
        # In the same transaction as the end it describes.
        incident_record(
            kind=IncidentKind.VISIT_ENDED_WITH_PENDING,
            reason_code=str(reason.value),
            severity=Severity.MEDIUM,
            summary=summary,
            visit=visit,
            terminal=visit.terminal,
            staff=visit.staff,
            detail={"pending": [p.kind for p in pending], "text": text},
        )
    for hook in registry.VISIT_END_HOOKS:
        hook(visit)


def visit_end(*, visit: Visit, reason: VisitEndReason, actor: Any = None) -> Visit:
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.ended_at is None:
            end_locked(locked, reason, actor=actor)
    return locked


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
# The same locked read, found through the terminal's credential instead of the terminal: the
# agent's card removal checks its credential in it (issue 15, ninth round), as the presence
# report does in its UPDATE. Only an unrevoked credential of an active terminal finds a visit.
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


def _require_open(desk_session: DeskSession, *, touch: bool = True) -> Visit:
    """Inside a transaction: the desk session's open visit, locked and touched, or refuse."""
    now = timezone.now()
    if touch:
        touched = _touch_open(desk_session, now)
        if touched is not None:
            return touched
    visit = _open_visit_locked(desk_session.terminal, now)
    if visit is None or visit.desk_session_id != desk_session.pk:
        raise VisitRefused.of("no_open_visit")
    if touch:
        visit.last_activity_at = now
        visit.save(update_fields=["last_activity_at"])
    return visit


# --- starting ------------------------------------------------------------------------------


def auth_challenge(*, desk_session: DeskSession) -> Nonce:
    if not desk_session.is_open:
        raise VisitRefused.of("desk_session_closed")
    return identity.nonce_issue(purpose=NoncePurpose.AUTHENTICATION, desk_session=desk_session)


# The desk session's row, locked, with its terminal and staff member; compiled once per
# process (issue 15, sixth round).
_DESK_SESSION_LOCKED = Prepared(
    lambda pk: (
        DeskSession.objects.select_for_update(of=("self",))
        .select_related("terminal", "staff")
        .filter(pk=pk)
    ),
    pk=-16,
)


def visit_start(*, desk_session: DeskSession, token: str, nonce: str) -> Visit:
    """Start a visit from an authentication token. An open visit on the terminal ends first."""
    try:
        cert = identity.authenticate(token=token, nonce_value=nonce, desk_session=desk_session)
    except identity.IdentityRefused as exc:
        summary, text = incident_text.sentence(
            incident_text.CARD_AUTH_REFUSED, reason=incident_text.refusal(exc)
        )
        incident_record(
            kind=IncidentKind.VISIT_START_REFUSED,
            reason_code=exc.code,
            severity=Severity.LOW,
            summary=summary,
            terminal=desk_session.terminal,
            staff=desk_session.staff,
            detail={"code": exc.code, "detail": exc.detail[:300], "text": text},
        )
        raise
    now = timezone.now()
    with transaction.atomic():
        _holder_locked(cert)
        found = _DESK_SESSION_LOCKED(pk=desk_session.pk)
        if not found:
            raise DeskSession.DoesNotExist
        session = found[0]
        if not session.is_open:
            raise VisitRefused.of("desk_session_closed")
        # The session's latest visit stops being shown at the desk (its receipt, its
        # after-completion items): what it left undone is recorded now.
        for hook in registry.DESK_MOVES_ON_HOOKS:
            hook(session)
        previous = _open_visit_locked(session.terminal, now)
        if previous is not None:
            end_locked(previous, VisitEndReason.SUPERSEDED, actor=session.staff)
        visit = insert(
            Visit(
                terminal=session.terminal,
                desk_session=session,
                staff=session.staff,
                holder_id=cert.holder_id,
                certificate=cert,
                started_at=now,
                last_activity_at=now,
                last_presence_at=now,
            )
        )
        audit.record(
            VISITS_STARTED,
            actor=session.staff,
            terminal=session.terminal,
            subject=visit,
            payload={"visit": visit.reference, "certificate": cert.fingerprint},
        )
    return visit


# The visit's certificate and its holder, locked in one statement, in the order a renewal merge
# locks them (`identity.services._renewal_link`: the certificate, then the holders). NO KEY
# UPDATE: a merge's FOR UPDATE waits for it (and it for a merge), while the rows that refer to
# them (the visit, its completions) are still inserted beside it.
_CERTIFICATE_LOCKED = Prepared(
    lambda pk: (
        HolderCertificate.objects.select_for_update(no_key=True, of=("self", "holder"))
        .select_related("holder")
        .filter(pk=pk)
    ),
    pk=-17,
)


def _holder_locked(cert: HolderCertificate) -> None:
    """Lock the visit's certificate and holder first, as a renewal merge does before it moves
    the certificate and deletes the interim holder (`identity.services._merge_interim`). The
    card was read outside this transaction: a merge under way is waited for and `cert.holder_id`
    is the holder the certificate has after it (the old card's holder, once an interim holder is
    merged into it); a merge that comes second waits for this visit, finds it open and is
    refused. A holder that changes again meanwhile refuses the start, saying why."""
    for _attempt in range(2):
        found = _CERTIFICATE_LOCKED(pk=cert.pk)
        if found:
            cert.holder_id = found[0].holder_id  # its cached holder is dropped if it changed
            return
    raise VisitRefused.of("holder_changing")


# --- agent reports -------------------------------------------------------------------------


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
    )


# --- procedures ----------------------------------------------------------------------------


_PROCEDURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def unknown_procedure(kind: str) -> VisitRefused:
    """The refusal of a kind no handler takes. The kind is repeated only when it has the shape
    of a procedure's name: the client's own bytes (markup, control characters, a megabyte) are
    never echoed back; the code stays `unknown_procedure`."""
    if _PROCEDURE_NAME.fullmatch(kind):
        return VisitRefused.of("unknown_procedure", kind=kind)
    refused = VisitRefused.of("unknown_procedure_unnamed")
    refused.code = "unknown_procedure"
    return refused


def procedure_prepare(*, desk_session: DeskSession, kind: str, fields: dict[str, Any]) -> Procedure:
    """Validate a procedure's fields (handlers may call outside systems) and store it pending.

    Cleaning runs outside the visit's lock, since it may wait on an outside system; the visit
    is checked again, locked, before the procedure is stored.
    """
    handler = registry.get(kind)
    if handler is None:
        raise unknown_procedure(kind)
    visit = visit_current(desk_session=desk_session)
    if visit is None:
        raise VisitRefused.of("no_open_visit")
    bad = text_rules.bad_fields(fields)
    if bad:
        raise FieldsRefused(errors=text_rules.shown_errors(bad))
    _refuse_beyond_pending_limit(visit)  # before the look-up the procedure may make
    cleaned = handler.clean(visit, fields)  # raises ProcedureInvalid (a Refusal) as it is
    with transaction.atomic():
        locked = _require_open(desk_session)
        if locked.pk != visit.pk:
            raise VisitRefused.of("no_open_visit")
        _refuse_beyond_pending_limit(locked)  # again under the visit's lock
        procedure = insert(Procedure(visit=locked, kind=kind, fields=cleaned))
        audit.record(
            VISITS_PROCEDURE_PREPARED,
            actor=desk_session.staff,
            terminal=locked.terminal,
            subject=procedure,
            payload={"visit": locked.reference, "kind": kind},
        )
    return procedure


# How many procedures a visit holds pending, compiled once per process (issue 15, thirteenth
# round: the ORM's count() built and compiled its query twice on every prepare). One row, the
# count, or none when the visit holds none.
_PENDING_COUNT = Prepared(
    lambda visit_id: (
        Procedure.objects.filter(visit_id=visit_id, status=ProcedureStatus.PENDING)
        .values("visit_id")
        .annotate(pending=Count("pk"))
        .values_list("pending", flat=True)
    ),
    visit_id=-16,
)


def _refuse_beyond_pending_limit(visit: Visit) -> None:
    """Refuse one more procedure when the visit already holds `VISIT_PENDING_PROCEDURES_MAX`
    pending (a fuzz left 280 in one visit, each an outside look-up; a desk never needs that)."""
    limit = int(settings.VISIT_PENDING_PROCEDURES_MAX)
    counted = _PENDING_COUNT.rows(visit_id=visit.pk)
    pending = int(counted[0]) if counted else 0
    if pending >= limit:
        raise VisitRefused.of("too_many_pending", detail=f"{pending} pending", limit=limit)


def procedure_discard(*, desk_session: DeskSession, procedure_id: int) -> None:
    with transaction.atomic():
        visit = _require_open(desk_session)
        p = (
            visit.procedures.select_for_update()
            .filter(pk=procedure_id, status=ProcedureStatus.PENDING)
            .first()
        )
        if p is None:
            raise VisitRefused.of("procedure_not_pending")
        p.status = ProcedureStatus.DISCARDED
        update_fields(p, ["status", "updated_at"])
        audit.record(
            VISITS_PROCEDURE_DISCARDED,
            actor=desk_session.staff,
            terminal=visit.terminal,
            subject=p,
            payload={"visit": visit.reference, "kind": p.kind},
        )
