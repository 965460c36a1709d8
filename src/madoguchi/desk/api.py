"""Visit endpoints for the desk page (staff session + CSRF) and the agent (terminal credential)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import parse_etags
from ninja import Router, Schema, Status
from pydantic import ValidationError

from madoguchi.identity.access import record_read, representative_holder_ids
from madoguchi.identity.services import expires_in
from madoguchi.plaintext import Fingerprint, PlainText
from madoguchi.refusals import REFUSAL_STATUSES as codes_4xx
from madoguchi.refusals import ErrorOut as Error
from madoguchi.refusals import MalformedRequest
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.auth import DeskSessionAuth, TerminalAuth
from madoguchi.terminals.models import DeskSession

from . import selectors, services
from .constants import AgentEventKind, VisitEndReason

visits_router = Router(auth=DeskSessionAuth(), tags=["visits"])
agent_router = Router(auth=TerminalAuth(), tags=["agent"])

# The visit a call was made for: the desk page's script sends the reference of the visit its
# page shows (`data-visit-ref`) on every call. A writing call that names another visit than the
# desk's open one, or any while none is open, is refused `visit_changed` (409) before its body
# is read: a tab left on the previous resident's visit acts on nothing. Without the header a
# call acts on the open visit, as it did before the header existed (API clients, the scenario
# driver, the bench); clients should send it (docs/desk.md "A tab left on an earlier visit").
# The service the call acts through compares it again under the visit's lock
# (`expected_visit`), so a visit that starts between this early check and the act is refused
# the same way.
VISIT_HEADER = "X-Madoguchi-Visit"


class ForTheVisitAuth(DeskSessionAuth):
    """`DeskSessionAuth` (the session, its browser binding, CSRF), then the visit the call names
    in `VISIT_HEADER`, if it names one: ninja runs authentication before it reads any parameter
    or the body, so a refusal here comes before anything of the call is read or done."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        staff = super().authenticate(request, key)
        if staff is not None:
            _refuse_for_another_visit(request)
        return staff


def expected_visit(request: HttpRequest) -> str | None:
    """The visit the call was made for (`VISIT_HEADER`), or None when it names none. The writing
    services compare it again under the visit's row lock, in the transaction that acts
    (`services.refuse_unless_expected`): a visit that starts between the check above and the
    act is refused the same way (docs/security.md, side doors round 14)."""
    return request.headers.get(VISIT_HEADER)


def _refuse_for_another_visit(request: HttpRequest) -> None:
    sent = expected_visit(request)
    if sent is None:
        return
    current = selectors.open_visit_reference(_desk(request))
    if sent != current:
        # As the desk pages' forms for another visit (desk.views._shown_for_another_visit):
        # refused and said, neither audited nor an incident (staff's own tab, nothing done).
        raise services.VisitRefused.of("visit_changed", detail=f"open: {current or 'none'}")


# What a writing call of the open visit declares: the auth above and, in the OpenAPI schema,
# its optional header.
FOR_THE_VISIT: dict[str, Any] = {
    "auth": ForTheVisitAuth(),
    "openapi_extra": {
        "parameters": [
            {
                "in": "header",
                "name": VISIT_HEADER,
                "required": False,
                "description": (
                    "The reference of the visit this call was made for (the desk page's "
                    "visit). Another visit than the one open at the desk, or any while none "
                    "is open: refused with 409 visit_changed before anything is read or "
                    "recorded. Absent: the call acts on the open visit. Clients should send it."
                ),
                "schema": {"type": "string"},
            }
        ]
    },
}


class Challenge(Schema):
    nonce: str
    origin: str
    expires_in: int


class TokenIn(Schema):
    token: str
    nonce: str


class VisitOut(Schema):
    reference: str
    started_at: str
    seconds_left: int
    card_confirmed_seconds_ago: int
    procedures: list[dict[str, Any]]
    completions: int
    handover: bool  # staff started the card handover (a legal representative's card)
    second_card: bool  # the representative's own card authenticated: it signs the completion too


class VisitStateOut(Schema):
    reference: str
    ends_at: str
    seconds_left: int
    card_confirmed_at: str
    card_confirmed_seconds_ago: int


class CompletionChallengeOut(Challenge):
    transaction: str  # base64 of the canonical bytes the card signs
    display: list[str]


class CompletionOut(Schema):
    reference: str
    committed_at: str
    transaction_digest: str
    procedures: list[str]


class CompleteIn(TokenIn):
    # In a visit with a second card (legal representative): that card's token over the same
    # nonce and bytes. Refused if given in a visit without one, and if missing in one with one.
    second_token: str = ""


class BasicFourIn(Schema):
    """The input-support files exactly as the card agent read them (base64). Never EF0001."""

    ef0002: str
    ef0003: str
    ef0004: str = ""


class BasicFourOut(Schema):
    name: str
    verified: bool  # EF0003's SHA-256 and J-LIS signature checked by the server


class HandoverOut(Schema):
    reference: str
    handover_at: str


class ProcedureIn(Schema):
    kind: str
    fields: dict[str, Any]


class EndIn(Schema):
    reason: Literal["next_resident"] = "next_resident"


class AgentEventIn(Schema):
    kind: AgentEventKind
    cert_fingerprint: Fingerprint | None = None
    reader: PlainText = ""
    at: str | None = None


def _desk(request: HttpRequest) -> DeskSession:
    return request.desk_session  # type: ignore[attr-defined]


@visits_router.post("/auth-challenge", response={200: Challenge, codes_4xx: Error})
def auth_challenge(request: HttpRequest) -> Any:
    nonce = services.auth_challenge(desk_session=_desk(request))
    return {
        "nonce": nonce.value,
        "origin": settings.MADOGUCHI_ORIGIN,
        "expires_in": expires_in(nonce),
    }


@visits_router.post("/start", response={200: VisitOut, codes_4xx: Error})
def start(request: HttpRequest, body: TokenIn) -> Any:
    visit = services.visit_start(desk_session=_desk(request), token=body.token, nonce=body.nonce)
    return selectors.visit_summary(visit, new=True)


@visits_router.get("/current", response={200: VisitOut, codes_4xx: Error})
def current(request: HttpRequest) -> Any:
    visit = services.visit_current(desk_session=_desk(request))
    if visit is None:
        raise services.VisitRefused.of("no_open_visit")
    summary = selectors.visit_summary(visit)
    # The summary carries what the desk page shows (names, kana, masked accounts): a read the
    # resident sees on their page, as the page's is (the desk page polls `/current/state`).
    record_read(
        request,
        visit.holder,
        page="desk.api.visit",
        subject=visit,
        others=representative_holder_ids(visit),
    )
    return summary


@visits_router.get(
    "/current/state", response={200: VisitStateOut, 204: None, 304: None, codes_4xx: Error}
)
def current_state(request: HttpRequest, response: HttpResponse) -> Any:
    """The desk page's poll (every second): the open visit's state in one query, and 304 Not
    Modified while it has not changed (If-None-Match with the last ETag). No open visit is a
    normal state at a desk (the resident took the card and left), not an error: 204 No Content,
    where `GET /current` refuses with 404 no_open_visit."""
    state = selectors.visit_state(_desk(request))
    if state is None:
        response["Cache-Control"] = "no-store"
        return Status(204, None)
    response["ETag"] = state.etag
    response["Cache-Control"] = "no-store"
    if _none_match(request.headers.get("If-None-Match", ""), state.etag):
        return Status(304, None)
    now = timezone.now()
    return {
        "reference": state.reference,
        "ends_at": state.ends_at.isoformat(),
        "seconds_left": max(0, int((state.ends_at - now).total_seconds())),
        "card_confirmed_at": state.card_confirmed_at.isoformat(),
        "card_confirmed_seconds_ago": max(0, int((now - state.card_confirmed_at).total_seconds())),
    }


def _none_match(header: str, etag: str) -> bool:
    """If-None-Match as RFC 9110 compares it (weak comparison): a list of tags, a weak tag
    (`W/"…"`, what a compressing proxy makes of a strong one) and `*` match too; an exact
    string only matched before round 19, so such a client got the whole state each second."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return etag.removeprefix("W/") in {t.removeprefix("W/") for t in parse_etags(header)}


@visits_router.post("/current/end", response={200: dict, codes_4xx: Error}, **FOR_THE_VISIT)
def end(request: HttpRequest, body: EndIn) -> Any:
    visit = services.visit_current(desk_session=_desk(request))
    expected = expected_visit(request)
    services.refuse_unless_expected(visit, expected)
    if visit is None:
        raise services.VisitRefused.of("no_open_visit")
    services.visit_end(
        visit=visit,
        reason=VisitEndReason(body.reason),
        actor=request.user,
        expected_visit=expected,
    )
    return {"ended": visit.reference}


@visits_router.post("/current/procedures", response={200: dict, codes_4xx: Error}, **FOR_THE_VISIT)
def prepare(request: HttpRequest, body: ProcedureIn) -> Any:
    p = services.procedure_prepare(
        desk_session=_desk(request),
        kind=body.kind,
        fields=body.fields,
        expected_visit=expected_visit(request),
    )
    return {
        "id": p.pk,
        "kind": p.kind,
        "fields": selectors.shown_fields(p.fields),
        "status": p.status,
    }


@visits_router.post(
    "/current/completion-challenge",
    response={200: CompletionChallengeOut, codes_4xx: Error},
    **FOR_THE_VISIT,
)
def completion_challenge(request: HttpRequest) -> Any:
    ch = services.completion_challenge(
        desk_session=_desk(request), expected_visit=expected_visit(request)
    )
    return {
        "nonce": ch.nonce.value,
        "origin": settings.MADOGUCHI_ORIGIN,
        "expires_in": expires_in(ch.nonce),
        "transaction": base64.b64encode(ch.transaction_bytes).decode(),
        "display": ch.transaction["display"],
    }


@visits_router.post(
    "/current/complete", response={200: CompletionOut, codes_4xx: Error}, **FOR_THE_VISIT
)
def complete(request: HttpRequest, body: CompleteIn) -> Any:
    # The completion acts on the visit its challenge was issued for (the nonce names it): named
    # in the header, that visit must be the one the call was made for and still open (compared
    # under its lock, `visit_changed` as the check above: nothing ended, no incident).
    c = services.completion_commit(
        desk_session=_desk(request),
        token=body.token,
        nonce=body.nonce,
        second_token=body.second_token,
        expected_visit=expected_visit(request),
    )
    return {
        "reference": c.visit.reference,
        "committed_at": c.committed_at.isoformat(),
        "transaction_digest": c.transaction_digest,
        "procedures": getattr(c, "committed_kinds", None) or [p.kind for p in c.procedures.all()],
    }


@visits_router.post(
    "/current/handover", response={200: HandoverOut, codes_4xx: Error}, **FOR_THE_VISIT
)
def handover(request: HttpRequest) -> Any:
    """Start the card handover: the resident's card may leave the reader and the legal
    representative's own card be placed on it without ending the visit (audited)."""
    visit = services.visit_handover_start(
        desk_session=_desk(request), expected_visit=expected_visit(request)
    )
    assert visit.handover_at is not None
    return {"reference": visit.reference, "handover_at": visit.handover_at.isoformat()}


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise MalformedRequest(params={"problems": f"'{what}' is not base64"}) from None


@visits_router.post(
    "/current/basic-four", response={200: BasicFourOut, codes_4xx: Error}, **FOR_THE_VISIT
)
def basic_four(request: HttpRequest, body: BasicFourIn) -> Any:
    """The resident's basic four as read by the card agent; the server verifies EF0003 (SHA-256
    and J-LIS signature, with EF0004) and keeps the birth date for this visit only."""
    four = services.visit_basic_four(
        desk_session=_desk(request),
        ef0002=_b64(body.ef0002, "ef0002"),
        ef0003=_b64(body.ef0003, "ef0003"),
        ef0004=_b64(body.ef0004, "ef0004") if body.ef0004 else None,
        expected_visit=expected_visit(request),
    )
    return {"name": four.name, "verified": True}


def _observed_at(at: str | None) -> datetime | None:
    if not at:
        return None
    try:
        observed_at = datetime.fromisoformat(at)
    except ValueError:
        raise MalformedRequest(params={"problems": "'at' is not an ISO 8601 time"}) from None
    if observed_at.tzinfo is None:
        observed_at = observed_at.replace(tzinfo=UTC)
    return observed_at


class AgentEventAuth(TerminalAuth):
    """The terminal's credential, as `TerminalAuth` checks it; for the common reports the check
    and the report are one step: a presence report (the card of the terminal's open visit still
    present) is one statement (issue 15, seventh round: the credential lookup was a statement
    and a transaction of its own on every report), a card removal checks the credential in the
    open visit's locked read (ninth round). Anything else, or a report that found no visit,
    takes `TerminalAuth` and then the view as before (a refused credential is refused and
    audited there)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if _applied_with_credential(request, token):
            request._event_applied = True  # type: ignore[attr-defined]
            return True
        return super().authenticate(request, token)


def _applied_with_credential(request: HttpRequest, token: str) -> bool:
    try:
        body = AgentEventIn.model_validate(json.loads(request.body))
    except (ValueError, RecursionError, ValidationError):  # the view's parsing answers it
        return False
    presence = body.kind == AgentEventKind.PRESENCE and bool(body.cert_fingerprint)
    if not presence and body.kind != AgentEventKind.REMOVED:
        return False
    try:
        observed_at = _observed_at(body.at)
    except MalformedRequest:
        return False
    key = terminal_services.credential_key(token)
    if key is None:
        return False
    fp = body.cert_fingerprint.lower() if body.cert_fingerprint else None
    if not presence:
        return services.removal_by_credential(
            prefix=key[0], secret_hash=key[1], cert_fingerprint=fp, observed_at=observed_at
        )
    assert fp is not None
    request._presence_tried = True  # type: ignore[attr-defined]
    return services.presence_by_credential(
        prefix=key[0], secret_hash=key[1], cert_fingerprint=fp, observed_at=observed_at
    )


@agent_router.post("/events", response={204: None, codes_4xx: Error}, auth=AgentEventAuth())
def agent_events(request: HttpRequest, body: AgentEventIn) -> Any:
    if getattr(request, "_event_applied", False):
        return Status(204, None)
    fp = body.cert_fingerprint.lower() if body.cert_fingerprint else None
    services.agent_event(
        terminal=request.terminal,  # type: ignore[attr-defined]
        kind=body.kind,
        cert_fingerprint=fp,
        observed_at=_observed_at(body.at),
        presence_tried=getattr(request, "_presence_tried", False),
    )
    return Status(204, None)
