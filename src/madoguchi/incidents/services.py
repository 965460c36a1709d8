"""Recording incidents.

`incident_record` joins the caller's transaction when there is one (a savepoint): an incident
about a refusal must therefore be recorded after the refused work has rolled back, as
`desk.services.completion._refuse_completion` does, or it would roll back with it."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from madoguchi.locks import key_lock
from madoguchi.plaintext import blank, fingerprint_hex
from madoguchi.prepared import insert
from madoguchi.terminals.models import DeskSession, Terminal

from .constants import IncidentKind, Severity, Source
from .events import (
    INCIDENT_COMPLETION_REFUSED_AGAIN,
    INCIDENT_PIN_LOCK_SEEN_AGAIN,
    INCIDENT_RECORDED,
)
from .models import Incident
from .text import COMPLAINT, COMPLAINT_REPORTED_BY, PIN_LOCKED, by_language, sentence


def incident_record(
    *,
    kind: IncidentKind,
    reason_code: str,
    severity: Severity,
    summary: str,
    visit: Any = None,
    terminal: Terminal | None = None,
    staff: User | None = None,
    detail: dict[str, Any] | None = None,
    source: Source = Source.AUTOMATIC,
    recorded_by: User | None = None,
    organisation: Any = None,
    occurred_at: datetime | None = None,
) -> Incident:
    """Record an incident (and its audit event). `occurred_at`: when the anomaly happened, if
    not now (a visit's lapse applied after it, dated at the visit's end: the report of that
    day lists it)."""
    if terminal is None and visit is not None:
        terminal = visit.terminal
    if organisation is None:
        organisation = _recording_organisation(terminal, recorded_by, staff)
    with audit.inner_atomic():  # no savepoint inside a caller's transaction (issue 15)
        incident = insert(
            Incident(
                kind=kind,
                reason_code=reason_code,
                severity=severity,
                summary=summary,
                visit=visit,
                terminal=terminal,
                staff=staff,
                detail=detail or {},
                source=source,
                recorded_by=recorded_by,
                organisation=organisation,
                occurred_at=occurred_at or timezone.now(),
            )
        )
        audit.record(
            INCIDENT_RECORDED,
            actor=recorded_by or staff,
            terminal=terminal,
            subject=incident,
            payload={
                "kind": str(kind),
                "reason": reason_code,
                "severity": str(severity),
                "visit": visit.pk if visit is not None else None,
                "source": str(source),
            },
        )
    return incident


def _recording_organisation(
    terminal: Terminal | None, recorded_by: User | None, staff: User | None
) -> Any:
    """The desk's contractor; else the organisation of whoever recorded it; else None (a
    system incident without a desk: the city's officials only)."""
    if terminal is not None:
        return terminal.contractor
    for user in (recorded_by, staff):
        if user is not None and user.organisation_id is not None:
            return user.organisation
    return None


def completion_refused_again(
    *,
    visit: Any,
    reason_code: str,
    terminal: Terminal | None,
    staff: User | None,
    payload: dict[str, Any],
) -> Incident | None:
    """The completion-refused incident already recorded today (the city's day) for `visit`, an
    ended visit, with this reason, the refusal just made added to it (an
    `incidents.completion_refused_again` event with `payload`); None when there is none (the
    caller records the incident). A client retrying with a stale token, or someone posting
    copied bodies, after the visit ended was a new HIGH incident each time, flooding the
    daily report and the officials' lists (side doors, round 21). The caller holds the
    visit's lock: two refusals at once add to one incident, or record it once."""
    start = timezone.make_aware(
        datetime.combine(timezone.localdate(), time.min), timezone.get_current_timezone()
    )
    first = (
        Incident.objects.filter(
            visit=visit,
            kind=IncidentKind.COMPLETION_REFUSED,
            reason_code=reason_code,
            occurred_at__gte=start,
        )
        .order_by("occurred_at", "pk")
        .only("pk")
        .first()
    )
    if first is not None:
        audit.record(
            INCIDENT_COMPLETION_REFUSED_AGAIN,
            actor=staff,
            terminal=terminal,
            subject=first,
            payload=payload,
        )
    return first


PIN_APPLETS = {"auth": "jpki_auth", "support": "input_support"}
PIN_APPLETS_JA = {"jpki_auth": "利用者証明用電子証明書の", "input_support": "券面事項入力補助用の"}
PIN_APPLETS_EN = {"jpki_auth": "user-authentication", "input_support": "input-support"}


# The lock space of a PIN-lock report's request id (the bytes "pinb"), `locks.key_lock`.
_PIN_LOCK_SPACE = 0x70696E62


def incident_pin_blocked(
    *, desk_session: DeskSession, applet: str, request_id: str = "", cert_fingerprint: str = ""
) -> tuple[Incident, bool]:
    """The card agent told the desk page a card's PIN is locked. Recorded once per agent
    request (the page may retry). Returns (incident, created)."""
    reason = PIN_APPLETS.get(applet, "unknown")
    summary, text = sentence(
        PIN_LOCKED,
        applet=by_language(
            ja=PIN_APPLETS_JA.get(reason, ""), en=PIN_APPLETS_EN.get(reason, reason)
        ),
    )
    with transaction.atomic():
        if request_id:
            # The look and the record as one step: a retry sent at the same moment records
            # the lockout once (side doors, round 5).
            key_lock(_PIN_LOCK_SPACE, f"{desk_session.terminal_id}:{request_id}")
            existing = Incident.objects.filter(
                kind=IncidentKind.PIN_LOCKED,
                terminal=desk_session.terminal,
                detail__request_id=request_id,
            ).first() or _seen_again_in(desk_session, request_id)
            if existing is not None:
                return existing, False
        # The desk session's open visit, through the relation desk's Visit declares (incidents
        # sit below desk: they reference visits by relation, never by importing desk).
        visit = desk_session.visits.filter(ended_at__isnull=True).first()
        certificate = _locked_certificate(cert_fingerprint, visit)
        if certificate:
            open_incident = _open_pin_lock(desk_session, reason, certificate)
            if open_incident is not None:
                audit.record(
                    INCIDENT_PIN_LOCK_SEEN_AGAIN,
                    actor=desk_session.staff,
                    terminal=desk_session.terminal,
                    subject=open_incident,
                    payload={
                        "request_id": request_id[:64],
                        "applet": reason,
                        "visit": visit.pk if visit is not None else None,
                    },
                )
                return open_incident, False
        incident = incident_record(
            kind=IncidentKind.PIN_LOCKED,
            reason_code=reason,
            severity=Severity.LOW,
            summary=summary,
            visit=visit,
            terminal=desk_session.terminal,
            staff=desk_session.staff,
            detail={
                "request_id": request_id[:64],
                "applet": reason,
                "certificate": certificate,
                "text": text,
            },
        )
    return incident, True


def _locked_certificate(cert_fingerprint: str, visit: Any) -> str:
    """The locked card's certificate fingerprint (64 lower-case hex digits): as the page sent
    it (the agent's card in the reader), else the open visit's card; "" when neither says."""
    sent = fingerprint_hex(cert_fingerprint) if cert_fingerprint else None
    if sent:
        return sent
    certificate = getattr(visit, "certificate", None) if visit is not None else None
    return str(getattr(certificate, "fingerprint", "") or "")[:64]


def _open_pin_lock(desk_session: DeskSession, reason: str, certificate: str) -> Incident | None:
    """The PIN-lock incident already open for this card's locked PIN: the same certificate
    and PIN, recorded today (the city's day) by the same organisation. One resident trying
    again (at this desk or another) is one incident, not one per try (a walk of the desk day,
    2026-12-02). Looked up under the card's lock, so two tries at once record one."""
    organisation = _recording_organisation(desk_session.terminal, None, desk_session.staff)
    key_lock(_PIN_LOCK_SPACE, f"card:{reason}:{certificate}")
    start = timezone.make_aware(
        datetime.combine(timezone.localdate(), time.min), timezone.get_current_timezone()
    )
    return (
        Incident.objects.filter(
            kind=IncidentKind.PIN_LOCKED,
            reason_code=reason,
            organisation=organisation,
            detail__certificate=certificate,
            occurred_at__gte=start,
        )
        .order_by("occurred_at", "pk")
        .first()
    )


def _seen_again_in(desk_session: DeskSession, request_id: str) -> Incident | None:
    """The incident an agent request's repeat was added to (the page retried its report)."""
    event = (
        AuditEvent.objects.filter(
            event_name=INCIDENT_PIN_LOCK_SEEN_AGAIN.name,
            terminal_id=str(desk_session.terminal_id),
            payload__request_id=request_id,
        )
        .only("subject_id")
        .first()
    )
    if event is None:
        return None
    return Incident.objects.filter(pk=int(event.subject_id)).first()


def incident_complaint(
    *,
    recorded_by: User,
    terminal: Terminal | None,
    summary: str,
    severity: Severity = Severity.MEDIUM,
    visit: Any = None,
    reported_by: str = "",
) -> Incident:
    """A complaint entered by staff (manual incident). A summary that shows nothing
    (`plaintext.blank`: white space, U+200B, a Hangul filler) is none; who complained, when it
    shows nothing, is not said."""
    if blank(summary):
        raise ValueError("A complaint needs a summary.")
    if blank(reported_by):
        reported_by = ""
    # The summary is what staff typed (kept as typed for the API); the page frames it in its
    # own language.
    if reported_by:
        _english, text = sentence(
            COMPLAINT_REPORTED_BY, reported_by=reported_by.strip()[:200], text=summary
        )
    else:
        _english, text = sentence(COMPLAINT, text=summary)
    return incident_record(
        kind=IncidentKind.COMPLAINT,
        reason_code="complaint",
        severity=severity,
        summary=summary,
        visit=visit,
        terminal=terminal,
        staff=recorded_by,
        detail={"reported_by": reported_by[:200], "text": text},
        source=Source.MANUAL,
        recorded_by=recorded_by,
    )
