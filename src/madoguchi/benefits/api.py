"""The legal representative in the resident's visit (desk page: staff session + CSRF).

`POST /api/v1/visits/current/representative/challenge` then, after the representative's own card
signed it, `POST /api/v1/visits/current/representative` (docs/benefits.md "The exception").
The card handover (`POST /api/v1/visits/current/handover`) must have been started first.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema

from madoguchi.desk.api import FOR_THE_VISIT, Challenge, expected_visit
from madoguchi.identity.services import expires_in
from madoguchi.plaintext import PlainText
from madoguchi.refusals import REFUSAL_STATUSES as codes_4xx
from madoguchi.refusals import ErrorOut as Error
from madoguchi.terminals.auth import DeskSessionAuth
from madoguchi.terminals.models import DeskSession

from . import services
from .constants import RELATIONSHIP_JA, Relationship

representative_router = Router(auth=DeskSessionAuth(), tags=["visits"])


class RepresentativeIn(Schema):
    token: str
    nonce: str
    relationship: PlainText = Relationship.PARENT.value  # parent | guardian | adult_guardian
    kana: PlainText = ""  # the representative's kana (unless a certified reading exists)
    kana_confirmed: bool = False


class RepresentativeOut(Schema):
    relationship: str
    relationship_ja: str
    certificate: str  # the representative card's fingerprint (it signs the completion too)
    kana_source: str


def _desk(request: HttpRequest) -> DeskSession:
    return request.desk_session  # type: ignore[attr-defined]


@representative_router.post(
    "/challenge", response={200: Challenge, codes_4xx: Error}, **FOR_THE_VISIT
)
def challenge(request: HttpRequest) -> Any:
    nonce = services.representative_challenge(
        _desk(request), expected_visit=expected_visit(request)
    )
    return {
        "nonce": nonce.value,
        "origin": settings.MADOGUCHI_ORIGIN,
        "expires_in": expires_in(nonce),
    }


@representative_router.post(
    "", response={200: RepresentativeOut, codes_4xx: Error}, **FOR_THE_VISIT
)
def authenticate(request: HttpRequest, body: RepresentativeIn) -> Any:
    rep = services.representative_authenticate(
        _desk(request),
        body.token,
        body.nonce,
        relationship=body.relationship,
        kana=body.kana,
        kana_confirmed=body.kana_confirmed,
        expected_visit=expected_visit(request),
    )
    return {
        "relationship": rep.relationship,
        "relationship_ja": RELATIONSHIP_JA[Relationship(rep.relationship)],
        "certificate": rep.certificate.fingerprint,
        "kana_source": rep.kana_source,
    }
