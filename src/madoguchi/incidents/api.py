"""Incident endpoints for the desk page (staff session with an open desk session + CSRF)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from madoguchi.plaintext import Fingerprint, RequestId
from madoguchi.refusals import REFUSAL_STATUSES, ErrorOut
from madoguchi.terminals.auth import DeskSessionAuth

from . import services

incidents_router = Router(auth=DeskSessionAuth(), tags=["incidents"])


class PinBlockedIn(Schema):
    applet: Literal["auth", "support"]
    # The agent's request id is 22 characters (128 random bits) and a certificate's SHA-256
    # fingerprint 64 hex digits (95 with colons): anything far longer is not one, and would be
    # stored in the incident as sent.
    request_id: RequestId = Field(default="", max_length=64)
    cert_fingerprint: Fingerprint = Field(default="", max_length=128)


class IncidentOut(Schema):
    id: int
    kind: str
    reason_code: str
    created: bool


@incidents_router.post(
    "/pin-blocked", response={200: IncidentOut, 201: IncidentOut, REFUSAL_STATUSES: ErrorOut}
)
def pin_blocked(request: HttpRequest, body: PinBlockedIn) -> Any:
    """The card agent answered `pin_blocked`: record a PIN_LOCKED incident (once per request)."""
    incident, created = services.incident_pin_blocked(
        desk_session=request.desk_session,  # type: ignore[attr-defined]
        applet=body.applet,
        request_id=body.request_id,
        cert_fingerprint=body.cert_fingerprint,
    )
    return Status(
        201 if created else 200,
        {
            "id": incident.pk,
            "kind": incident.kind,
            "reason_code": incident.reason_code,
            "created": created,
        },
    )
