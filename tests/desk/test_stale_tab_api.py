"""The desk page's script calls the visit API (`/api/v1/visits/current/…`) for the card flow:
the resident's name (basic four), a procedure, the completion's challenge and commit, the card
handover, the legal representative, the end. A call named no visit and acted on the desk's
*current* one: a background tab left on resident A's visit (throttled, so its once-a-second
poll had not yet noticed) could prepare A's account into resident B's visit, start B's handover
or end B's visit. The page now sends the visit it shows in `X-Madoguchi-Visit`; a writing call
for another visit, or when no visit is open, is refused (409 `visit_changed`) before its body
is read, nothing recorded. A call without the header acts on the current visit as before (API
clients). docs/security.md, side doors round 14."""

import base64
import json

import pytest

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.models import VisitRepresentative
from madoguchi.desk import selectors, services
from madoguchi.desk.api import VISIT_HEADER
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.identity.models import Nonce
from madoguchi.incidents.models import Incident
from tests import cardkit, checklistkit
from tests.desk import test_text_rules

staff_client = test_text_rules.staff_client  # the enrolled terminal with desk staff signed in
_start = test_text_rules._start
ORIGIN = test_text_rules.ORIGIN

API = "/api/v1/visits"
PROCEDURE = {"kind": "test_link", "fields": {"account": "PAY-A-1", "points": 5}}
SAID_JA = "この画面は前の来庁のものです"


@pytest.fixture
def support_keys(settings, pki, tmp_path):
    settings.CARD_SUPPORT_KEYS = [cardkit.support_key_spec(pki.ca, tmp_path)]


def _post(client, path, body, visit=None, raw=None):
    headers = {VISIT_HEADER: visit} if visit is not None else {}
    data = raw if raw is not None else json.dumps(body)
    r = client.post(API + path, data, content_type="application/json", headers=headers)
    return r.status_code, r.json() if r.content else {}


def _snapshot(visit: Visit) -> tuple:
    """What a call could have recorded: rows of every kind the visit API writes, and the
    visit's own state."""
    visit.refresh_from_db()
    return (
        AuditEvent.objects.count(),
        Procedure.objects.count(),
        Nonce.objects.count(),
        Incident.objects.count(),
        Completion.objects.count(),
        VisitRepresentative.objects.count(),
        visit.ended_at,
        visit.end_reason,
        visit.handover_at,
        visit.card_name,
        visit.card_birth_date,
        visit.last_activity_at,
    )


def _a_then_b(client, trusted):
    """Resident A's visit, as A's tab saw it (a pending procedure and the completion's
    challenge, the card's signature in hand), then A's visit ended and B's started."""
    a_card, b_card = trusted.card("A"), trusted.card("B")
    a = _start(client, a_card)
    status, _ = _post(client, "/current/procedures", PROCEDURE, visit=a.reference)
    assert status == 200
    checklistkit.tick_before(client.desk)
    status, ch = _post(client, "/current/completion-challenge", {}, visit=a.reference)
    assert status == 200, ch
    signed = cardkit.completion_token(
        a_card, ORIGIN, ch["nonce"], base64.b64decode(ch["transaction"])
    )
    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=client.desk.staff)
    b = _start(client, b_card)
    return a, b, a_card, {"token": signed, "nonce": ch["nonce"]}


def test_a_stale_tabs_api_call_does_not_act_on_the_next_residents_visit(trusted, staff_client):
    """The door as it was: A's tab prepares A's account into B's visit, then ends B's visit."""
    a, b, _, _ = _a_then_b(staff_client, trusted)

    status, body = _post(staff_client, "/current/procedures", PROCEDURE, visit=a.reference)
    assert (status, body["code"]) == (409, "visit_changed"), body
    assert SAID_JA in body["message_ja"]
    assert "earlier visit" in body["message"]
    assert not Procedure.objects.filter(visit=b).exists()

    status, body = _post(staff_client, "/current/end", {}, visit=a.reference)
    assert (status, body["code"]) == (409, "visit_changed"), body
    b.refresh_from_db()
    assert b.ended_at is None


WRITING_CALLS = [
    "/current/basic-four",
    "/current/procedures",
    "/current/completion-challenge",
    "/current/complete",
    "/current/handover",
    "/current/representative/challenge",
    "/current/representative",
    "/current/end",
]


def _body(path, a_card, signed):
    """The body A's tab sends to `path` (what desk.js builds from A's card and page)."""
    return {
        "/current/basic-four": lambda: cardkit.basic_four_files(a_card),
        "/current/procedures": lambda: PROCEDURE,
        "/current/complete": lambda: signed,
        "/current/representative": lambda: signed | {"kana": "ヤマダ タロウ"},
    }.get(path, dict)()


@pytest.mark.parametrize("path", WRITING_CALLS)
def test_every_writing_call_for_another_visit_is_refused_recording_nothing(
    trusted, staff_client, support_keys, path
):
    a, b, a_card, signed = _a_then_b(staff_client, trusted)
    body = _body(path, a_card, signed)
    before = _snapshot(b)

    status, answer = _post(staff_client, path, body, visit=a.reference)

    assert (status, answer["code"]) == (409, "visit_changed"), answer
    assert SAID_JA in answer["message_ja"]
    assert _snapshot(b) == before
    # Refused before its body is read: a body that is not even JSON gets the same answer.
    status, answer = _post(staff_client, path, None, visit=a.reference, raw="{not json")
    assert (status, answer["code"]) == (409, "visit_changed"), answer
    assert _snapshot(b) == before


def test_a_call_naming_the_current_visit_or_none_acts_on_it(trusted, staff_client):
    """The page's own call (its visit in the header) is taken, and so is an API client's that
    sends no header (the scenario driver, the bench, an integrator): as before."""
    a, b, _, _ = _a_then_b(staff_client, trusted)
    status, body = _post(staff_client, "/current/procedures", PROCEDURE, visit=a.reference)
    assert status == 409, body

    status, body = _post(staff_client, "/current/procedures", PROCEDURE, visit=b.reference)
    assert status == 200, body
    status, body = _post(staff_client, "/current/procedures", PROCEDURE)
    assert status == 200, body
    assert Procedure.objects.filter(visit=b).count() == 2

    status, body = _post(staff_client, "/current/handover", {}, visit=b.reference)
    assert (status, body["reference"]) == (200, b.reference), body

    status, body = _post(staff_client, "/current/end", {}, visit=b.reference)
    assert (status, body) == (200, {"ended": b.reference})


def test_a_call_for_a_visit_when_none_is_open_is_refused(trusted, staff_client):
    a = _start(staff_client, trusted.card("A"))
    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=staff_client.desk.staff)
    before = AuditEvent.objects.count(), Nonce.objects.count()

    status, body = _post(staff_client, "/current/completion-challenge", {}, visit=a.reference)
    assert (status, body["code"]) == (409, "visit_changed"), body
    # An empty header names no visit: refused the same way, never taken as "no header".
    status, body = _post(staff_client, "/current/handover", {}, visit="")
    assert (status, body["code"]) == (409, "visit_changed"), body
    assert (AuditEvent.objects.count(), Nonce.objects.count()) == before
    # Without the header, as before: there is no open visit.
    status, body = _post(staff_client, "/current/handover", {})
    assert (status, body["code"]) == (404, "no_open_visit"), body


def test_the_openapi_schema_declares_the_header_on_every_writing_call(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in WRITING_CALLS:
        params = paths[API + path]["post"].get("parameters", [])
        named = [(p["in"], p["required"]) for p in params if p["name"] == VISIT_HEADER]
        assert named == [("header", False)], path
    # Not on the calls that start a visit (no visit yet).
    for path in ("/start", "/auth-challenge"):
        params = paths[API + path]["post"].get("parameters", [])
        assert VISIT_HEADER not in [p["name"] for p in params]


@pytest.mark.parametrize("path", [p for p in WRITING_CALLS if p != "/current/complete"])
def test_a_visit_that_changes_after_the_check_is_refused_by_the_service(
    trusted, staff_client, support_keys, monkeypatch, path
):
    """The check before the body reads the open visit; the service then reads or locks it
    again. B's visit starting between the two (the same few milliseconds) is played by the
    check still seeing A's: the service finds B's and refuses, nothing recorded. (A completion
    acts on the visit its challenge names, not on the open one: another's is an incident.)"""
    a, b, a_card, signed = _a_then_b(staff_client, trusted)
    monkeypatch.setattr(selectors, "open_visit_reference", lambda desk_session: a.reference)
    before = _snapshot(b)

    status, answer = _post(staff_client, path, _body(path, a_card, signed), visit=a.reference)

    assert (status, answer["code"]) == (409, "visit_changed"), answer
    assert SAID_JA in answer["message_ja"]
    assert _snapshot(b) == before
    # The page's own call, naming the visit the service finds, is taken as before.
    monkeypatch.undo()
    status, answer = _post(staff_client, "/current/handover", {}, visit=b.reference)
    assert status == 200, answer
