"""Signed completion: the transaction, its challenge, the commit, and a refused commit."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.identity import services as identity
from madoguchi.identity.constants import NoncePurpose
from madoguchi.identity.models import Nonce
from madoguchi.identity.tokens import ErrorCode, canonical_transaction_bytes
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import completion_refused_again, incident_record
from madoguchi.prepared import Prepared, insert
from madoguchi.refusals import Refusal
from madoguchi.terminals.models import DeskSession

from .. import procedures as registry
from ..constants import TRANSACTION_VERSION, ProcedureStatus, VisitEndReason
from ..events import (
    VISITS_COMPLETED,
    VISITS_COMPLETION_CHALLENGE,
    VISITS_COMPLETION_REFUSED,
)
from ..models import Completion, Procedure, Visit
from .visits import VisitRefused, end_locked, lapse, refuse_unless_expected, unknown_procedure
from .visits.current import _open_visit_locked, _require_open, _touch_open

# --- completion ----------------------------------------------------------------------------


# A visit's pending procedures, compiled once per process (issue 15).
_PENDING = Prepared(
    lambda visit_id: Procedure.objects.filter(
        visit_id=visit_id, status=ProcedureStatus.PENDING
    ).order_by("pk"),
    visit_id=-15,
)
# The same, locked, for the completion's commit.
_PENDING_LOCKED = Prepared(
    lambda visit_id: (
        Procedure.objects.select_for_update()
        .filter(visit_id=visit_id, status=ProcedureStatus.PENDING)
        .order_by("pk")
    ),
    visit_id=-15,
)


def build_transaction(visit: Visit, pending: list[Procedure] | None = None) -> dict[str, Any]:
    """The transaction a completion commits, from exactly what is pending now (`pending`, when
    the caller has just read them under the visit's lock). The pending procedures are kept on
    the visit (`visit.pending_procedures`) for the checks of this request (issue 15: read once)."""
    if pending is None:
        pending = _PENDING(visit_id=visit.pk)
        for p in pending:
            p.visit = visit  # as `visit.procedures` gives them
    visit.pending_procedures = pending  # type: ignore[attr-defined]
    entries = []
    display = [f"受付 {visit.reference}"]
    for p in pending:
        handler = registry.get(p.kind)
        if handler is None:  # a procedure whose handler was switched off: refuse to sign it
            raise unknown_procedure(p.kind)
        entries.append({"id": p.pk, "kind": p.kind, **handler.transaction_entry(p)})
        display.extend(handler.display_lines(p))
    tx = {
        "v": TRANSACTION_VERSION,
        "type": "madoguchi.completion",
        "origin": settings.MADOGUCHI_ORIGIN,
        "visit": str(visit.public_id),
        "terminal": visit.terminal.name,
        "staff": visit.staff.username,
        "certificate": visit.certificate.fingerprint,
        "procedures": entries,
        "display": display,
    }
    if visit.companion_certificate_id is not None:  # a second card signs the same bytes
        tx["second_certificate"] = visit.companion_certificate.fingerprint  # type: ignore[union-attr]
    return tx


@dataclass(frozen=True)
class CompletionChallenge:
    nonce: Nonce
    transaction: dict[str, Any]
    transaction_bytes: bytes


def completion_challenge(
    *, desk_session: DeskSession, expected_visit: str | None = None
) -> CompletionChallenge:
    """Issue a completion nonce and the exact bytes the card is to sign. `expected_visit`: the
    visit the call was made for; another is refused under the lock."""
    with transaction.atomic():
        visit = _require_open(desk_session, expected_visit=expected_visit)
        tx = build_transaction(visit)
        if not tx["procedures"]:
            raise VisitRefused.of("nothing_pending")
        for check in registry.PRE_COMPLETION_CHECKS:
            check(visit)
        tx_bytes = canonical_transaction_bytes(tx)
        digest = hashlib.sha256(tx_bytes).hexdigest()
        nonce = identity.nonce_issue(
            purpose=NoncePurpose.COMPLETION,
            desk_session=desk_session,
            visit_id=visit.pk,
            transaction_digest=digest,
        )
        audit.record(
            VISITS_COMPLETION_CHALLENGE,
            actor=desk_session.staff,
            terminal=visit.terminal,
            subject=visit,
            payload={"visit": visit.reference, "digest": digest},
        )
    return CompletionChallenge(nonce=nonce, transaction=tx, transaction_bytes=tx_bytes)


def completion_commit(
    *,
    desk_session: DeskSession,
    token: str,
    nonce: str,
    second_token: str = "",
    expected_visit: str | None = None,
) -> Completion:
    """Commit the pending procedures if, and only if, the visit's card signed exactly them (and,
    in a visit with a second card, that card too: `second_token`, same nonce, same bytes).

    The same request again (the same nonce and, byte for byte, the same signed tokens) for a
    completion already committed, a client retrying after it lost the answer, gets that
    completion back: nothing written, ended or recorded (`_committed_by_the_same_request`).

    On any refusal: nothing of the procedures is written, the visit ends, an incident records why.
    Except `visit_changed` (`expected_visit`, the visit the call was made for, is not the
    challenged visit, compared under its lock before any signature is checked): a tab's call
    for another visit, refused as the early check refuses it, nothing ended or recorded (the
    nonce stays spent).
    """
    spent: identity.SpentNonce | None = None
    visit_id: int | None = None
    tokens = (token, second_token)
    try:
        try:
            # The challenge is spent in the commit's own transaction (its row locked until the
            # commit or the rollback): a commit that did not happen (a 503, a deadlock) leaves
            # it unspent for the same request again, and the same request sent at once waits on
            # that row, then finds the completion (`_committed_by_the_same_request`).
            with transaction.atomic():
                spent = identity.nonce_spend(
                    value=nonce, purpose=NoncePurpose.COMPLETION, desk_session=desk_session
                )
                visit_id = spent.nonce.visit_id
                if visit_id is None:
                    raise VisitRefused.of("challenge_other_visit")
                if not spent.record.used:
                    return _commit_locked(desk_session, visit_id, spent, tokens, expected_visit)
            again = _committed_by_the_same_request(visit_id, spent, tokens, expected_visit)
            if again is not None:
                return again
            with transaction.atomic():  # refused as a replay (`nonce_used`), as before
                return _commit_locked(desk_session, visit_id, spent, tokens, expected_visit)
        except _Lapsed as lapsed:
            # Nothing was written; the visit ends as lapsed (its own transaction), then refused.
            with transaction.atomic():
                _open_visit_locked(desk_session.terminal, timezone.now())
            assert visit_id is not None  # lapsed: the challenged visit was read
            raise _visit_ended(visit_id, f"ended: {lapsed.reason}") from lapsed
    except Refusal as exc:
        if spent is None or not spent.record.used:
            _spend_after_refusal(desk_session, nonce)
        if exc.code == "visit_changed":
            raise
        raise _refuse_completion(desk_session, exc, visit_id) from exc


def _spend_after_refusal(desk_session: DeskSession, nonce: str) -> None:
    """A refused completion's challenge stays spent (its own statement, the commit's transaction
    rolled back): no second try with it. Another session's or an unknown one spends nothing."""
    with contextlib.suppress(identity.IdentityRefused):
        identity.nonce_spend(
            value=nonce, purpose=NoncePurpose.COMPLETION, desk_session=desk_session
        )


def _commit_locked(
    desk_session: DeskSession,
    visit_id: int,
    spent: identity.SpentNonce,
    tokens: tuple[str, str],
    expected_visit: str | None,
) -> Completion:
    """In the caller's transaction: lock the challenged visit and its pending procedures, check
    the signatures over the bytes rebuilt from them, and write the completion."""
    token, second_token = tokens
    current = _challenged_visit_locked(desk_session, visit_id, expected_visit)
    pending = _PENDING_LOCKED(visit_id=current.pk)
    for p in pending:
        p.visit = current  # as `current.procedures` gives them
    tx = build_transaction(current, pending)
    tx_bytes = canonical_transaction_bytes(tx)
    try:
        _check_signature(desk_session, current, spent, token, tx_bytes)
    except Refusal as exc:
        if exc.code == ErrorCode.TRANSACTION_CHANGED:
            _explain_change(pending)
        raise
    second = _check_second_signature(desk_session, current, spent, second_token, tx_bytes)
    if not tx["procedures"]:
        raise VisitRefused.of("nothing_pending")
    for check in registry.PRE_COMPLETION_CHECKS:
        check(current)
    return _write_completion(desk_session, current, spent, (token, second), tx_bytes, pending)


def _committed_by_the_same_request(
    visit_id: int,
    spent: identity.SpentNonce,
    tokens: tuple[str, str],
    expected_visit: str | None,
) -> Completion | None:
    """The completion this very request committed before, if this is the same request again:
    its challenge (`spent`, already used, issued for the visit `visit_id`), still valid (not
    past its expiry, as for its first use), and byte for byte its token and its second token
    (`tokens`). The challenge is spent in its completion's transaction, so a used one's
    completion is committed and read here: a first request still committing held the
    challenge's row, and this one waited for it in `nonce_spend`. Anything else (another token
    over a used challenge, a challenge whose use was refused, an expired one) is None: refused
    as before, as a replay. Named (`expected_visit`), the call must be for the completion's
    visit."""
    if timezone.now() >= spent.record.expires_at:
        return None
    completion = (
        Completion.objects.select_related("visit")
        .filter(nonce_id=spent.nonce.pk, visit_id=visit_id)
        .first()
    )
    if completion is None:
        return None
    token, second_token = tokens
    same = hmac.compare_digest(completion.token.encode(), token.encode()) and (
        hmac.compare_digest(completion.second_token.encode(), second_token.encode())
    )
    if not same:
        return None
    if expected_visit is not None and expected_visit != completion.visit.reference:
        return None
    return completion


def _visit_ended(visit_id: int, detail: str) -> VisitRefused:
    """`visit_ended`, saying truthfully what the ended visit holds: nothing more can be committed
    in it, and a completion it had was committed (its time), never "nothing was committed"."""
    last = (
        Completion.objects.filter(visit_id=visit_id)
        .order_by("-committed_at")
        .values_list("committed_at", flat=True)
        .first()
    )
    if last is None:
        return VisitRefused.of("visit_ended", detail)
    refusal = VisitRefused.of(
        "visit_ended_after_completion",
        detail,
        time=f"{timezone.localtime(last):%H:%M}",
    )
    refusal.code = "visit_ended"  # one code for the client; the sentence says the rest
    return refusal


class _Lapsed(Exception):
    """The challenged visit lapsed before its completion (it is then ended as lapsed)."""

    def __init__(self, reason: VisitEndReason) -> None:
        super().__init__(reason)
        self.reason = reason


def _challenged_visit_locked(
    desk_session: DeskSession, visit_id: int, expected_visit: str | None = None
) -> Visit:
    """The visit the completion challenge was issued for, locked once and touched: the visit
    the call was made for (`expected_visit`, if named; else `visit_changed`), still open, not
    lapsed (else `_Lapsed`), and still this desk session's open visit (a terminal has at most
    one open visit, so an open visit of this terminal is its open visit). The common case in
    one statement (`_touch_open`); otherwise read under the lock to say why."""
    now = timezone.now()
    touched = _touch_open(desk_session, now, visit_id)
    if touched is not None:
        refuse_unless_expected(touched, expected_visit)  # rolled back with the touch
        return touched
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("terminal", "staff", "certificate")
        .get(pk=visit_id)
    )
    # Named, the call is for the open visit: an ended one is none (as the early check says).
    refuse_unless_expected(visit if visit.ended_at is None else None, expected_visit)
    if visit.ended_at is not None:
        raise _visit_ended(visit.pk, f"ended: {visit.end_reason}")
    if visit.terminal_id != desk_session.terminal_id:
        raise VisitRefused.of("challenge_other_visit")
    lapsed = lapse(visit, now)
    if lapsed is not None:
        raise _Lapsed(lapsed[0])
    if visit.desk_session_id != desk_session.pk:
        raise VisitRefused.of("no_open_visit")
    visit.last_activity_at = now
    visit.save(update_fields=["last_activity_at"])
    return visit


def _explain_change(pending: list[Procedure]) -> None:
    """The signed transaction no longer matches what is pending: let each procedure's handler
    raise the refusal that says why (see `desk.procedures`, ``recheck``), if it knows one."""
    for p in pending:
        recheck = getattr(registry.get(p.kind), "recheck", None)
        if recheck is not None:
            recheck(p)


def _check_signature(
    desk_session: DeskSession, visit: Visit, spent: identity.SpentNonce, token: str, tx_bytes: bytes
) -> None:
    """The token signs exactly `tx_bytes`, with the card that started the visit."""
    validated = identity.verify_completion(
        token=token, spent=spent, desk_session=desk_session, transaction_bytes=tx_bytes
    )
    if validated.fingerprint_sha256 != visit.certificate.fingerprint:
        raise VisitRefused.of(
            "certificate_mismatch",
            f"visit {visit.certificate.fingerprint[:16]} "
            f"signer {validated.fingerprint_sha256[:16]}",
        )


def _check_second_signature(
    desk_session: DeskSession,
    visit: Visit,
    spent: identity.SpentNonce,
    token: str,
    tx_bytes: bytes,
) -> str:
    """In a visit with a second card (the legal representative's): `token` signs exactly the
    same bytes with the same nonce, with that card. Without one: no second token."""
    if visit.companion_certificate_id is None:
        if token:
            raise VisitRefused.of("second_signature_unexpected")
        return ""
    if not token:
        raise VisitRefused.of("second_signature_required")
    validated = identity.verify_completion(
        token=token, spent=spent, desk_session=desk_session, transaction_bytes=tx_bytes
    )
    expected = visit.companion_certificate.fingerprint  # type: ignore[union-attr]
    if validated.fingerprint_sha256 != expected:
        raise VisitRefused.of(
            "second_certificate_mismatch",
            f"representative {expected[:16]} signer {validated.fingerprint_sha256[:16]}",
        )
    return token


def _write_completion(
    desk_session: DeskSession,
    visit: Visit,
    spent: identity.SpentNonce,
    tokens: tuple[str, str],
    tx_bytes: bytes,
    pending: list[Procedure],
) -> Completion:
    """Write the completion, let each procedure's handler write its rows, record the event.
    `pending`: the visit's pending procedures, read and locked with the visit; `tokens`: the
    visit's card's and, in a visit with a second card, that card's (else "")."""
    token, second_token = tokens
    completion = insert(
        Completion(
            visit=visit,
            nonce=spent.nonce,
            transaction_bytes=tx_bytes,
            transaction_digest=hashlib.sha256(tx_bytes).hexdigest(),
            token=token,
            certificate=visit.certificate,
            second_token=second_token,
            second_certificate_id=visit.companion_certificate_id if second_token else None,
            committed_at=timezone.now(),
        )
    )
    for p in pending:
        handler = registry.get(p.kind)
        assert handler is not None  # build_transaction refused unknown kinds
        handler.commit(p, completion)
        p.status = ProcedureStatus.COMMITTED
        p.completion = completion
        p.save(update_fields=["status", "completion", "updated_at"])
    audit.record(
        VISITS_COMPLETED,
        actor=desk_session.staff,
        terminal=visit.terminal,
        subject=completion,
        payload={
            "visit": visit.reference,
            "count": len(pending),
            "kinds": [p.kind for p in pending],
            "digest": completion.transaction_digest,
            "certificate": visit.certificate.fingerprint,
            **(
                {"second_certificate": visit.companion_certificate.fingerprint}  # type: ignore[union-attr]
                if second_token
                else {}
            ),
        },
    )
    completion.committed_kinds = [p.kind for p in pending]  # type: ignore[attr-defined]
    return completion


def _refuse_completion(desk_session: DeskSession, exc: Refusal, visit_id: int | None) -> Refusal:
    """After a refused completion (its transaction rolled back): end the visit, record why.

    Every refusal is a `visits.completion_refused` audit event. The one that ends the visit, or
    the first of its reason for a visit already ended, is a HIGH `completion_refused`
    incident; the same reason again that day for the ended visit (a client retrying with a
    stale token, copied bodies posted again) is added to that incident instead
    (`incidents.services.completion_refused_again`): the lists say how many times and when
    last, the daily report counts one. A different reason is an incident of its own. Looked
    up and recorded under the visit's lock, so refusals at once record one."""
    summary, text = incident_text.sentence(
        incident_text.COMPLETION_REFUSED, reason=incident_text.refusal(exc)
    )
    with transaction.atomic():
        visit = None
        if visit_id is not None:
            visit = Visit.objects.select_for_update().filter(pk=visit_id).first()
        if visit is None:
            visit = _open_visit_locked(desk_session.terminal, timezone.now())
        ended_before = visit is not None and visit.ended_at is not None
        if visit is not None and visit.ended_at is None:
            end_locked(visit, VisitEndReason.COMPLETION_REFUSED, actor=desk_session.staff)
        refused = {
            "visit": visit.reference if visit else None,
            "code": exc.code,
            "detail": exc.detail[:300],
        }
        audit.record(
            VISITS_COMPLETION_REFUSED,
            actor=desk_session.staff,
            terminal=desk_session.terminal,
            subject=visit,
            payload=refused,
        )
        if ended_before and completion_refused_again(
            visit=visit,
            reason_code=exc.code,
            terminal=desk_session.terminal,
            staff=desk_session.staff,
            payload={"visit": refused["visit"], "code": exc.code},
        ):
            return exc
        incident_record(
            kind=IncidentKind.COMPLETION_REFUSED,
            reason_code=exc.code,
            severity=Severity.HIGH,
            summary=summary,
            visit=visit,
            terminal=desk_session.terminal,
            staff=desk_session.staff,
            detail={"code": exc.code, "detail": exc.detail[:300], "text": text},
        )
    return exc
