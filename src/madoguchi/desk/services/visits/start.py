"""Starting a visit from the card's authentication: the challenge, then the visit bound to the
certificate, the terminal's earlier open visit ended first."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.identity import services as identity
from madoguchi.identity.constants import NoncePurpose
from madoguchi.identity.models import HolderCertificate, Nonce
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.prepared import Prepared, insert
from madoguchi.terminals.models import DeskSession

from ... import procedures as registry
from ...constants import VisitEndReason
from ...events import VISITS_STARTED
from ...models import Visit
from .current import _open_visit_locked
from .end import end_locked
from .refusals import VisitRefused


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
