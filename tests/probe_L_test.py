"""Probe L (an integrator of the HTTP API, acceptance tester of issues 4, 11 and 15): defects
found over the API with Django's test client. Each test asserts the right behaviour and fails
on the code as it is."""

import base64
import json

from django.db import OperationalError

from madoguchi.desk.models import Completion
from madoguchi.incidents.models import Incident
from madoguchi.terminals import services as terminal_services
from tests import cardkit, checklistkit, factories
from tests.desk.test_text_rules import ORIGIN, _start, staff_client  # noqa: F401 -- fixture

PREPARE = "/api/v1/visits/current/procedures"
CHALLENGE = "/api/v1/visits/current/completion-challenge"
COMPLETE = "/api/v1/visits/current/complete"


def _signed_completion(client, card, visit):
    """Prepare a stand-in procedure, tick the checklist, take the challenge and sign it over
    the API, as the desk page does; the body of POST /complete."""
    r = client.post(
        PREPARE,
        json.dumps({"kind": "test_link", "fields": {"account": "PAY-1", "points": 5}}),
        content_type="application/json",
        HTTP_X_MADOGUCHI_VISIT=visit.reference,
    )
    assert r.status_code == 200, r.content
    checklistkit.tick_before(client.desk)
    r = client.post(CHALLENGE, HTTP_X_MADOGUCHI_VISIT=visit.reference)
    assert r.status_code == 200, r.content
    ch = r.json()
    token = cardkit.completion_token(card, ORIGIN, ch["nonce"], base64.b64decode(ch["transaction"]))
    return json.dumps({"token": token, "nonce": ch["nonce"]})


def test_a_retried_completion_whose_answer_was_lost_is_not_a_replay_incident(
    trusted,
    staff_client,  # noqa: F811
):
    """A client whose POST /complete timed out (the commit went through, the answer was lost)
    sends the same request again. It was answered 403 `nonce_used` ("start again"), the
    resident's visit was ended as `completion_refused` and a HIGH `completion_refused` incident
    (a replay) went into the city's daily report -- for the desk's own retry of a completion
    that was committed. The same request again should get the same completion back (or a
    refusal that says it was completed), with nothing ended or reported."""
    card = trusted.card("A")
    visit = _start(staff_client, card)
    body = _signed_completion(staff_client, card, visit)
    first = staff_client.post(
        COMPLETE, body, content_type="application/json", HTTP_X_MADOGUCHI_VISIT=visit.reference
    )
    assert first.status_code == 200, first.content
    incidents_before = Incident.objects.count()

    again = staff_client.post(
        COMPLETE, body, content_type="application/json", HTTP_X_MADOGUCHI_VISIT=visit.reference
    )

    visit.refresh_from_db()
    assert Completion.objects.filter(visit=visit).count() == 1
    assert Incident.objects.count() == incidents_before, list(
        Incident.objects.values_list("kind", "reason_code", "severity")
    )
    assert visit.ended_at is None, visit.end_reason
    assert again.status_code == 200, again.content
    assert again.json()["transaction_digest"] == first.json()["transaction_digest"]


def test_a_completion_retried_after_its_commit_is_not_told_nothing_was_committed(
    trusted,
    staff_client,  # noqa: F811
):
    """The same retry, from a client that does not send X-Madoguchi-Visit (allowed: "without
    the header a call acts on the open visit"), repeated once more: the answers say "This
    challenge has already been used; start again." and then "The visit has ended; nothing was
    committed." -- while the visit's completion is committed. A client told that will key the
    application in again."""
    card = trusted.card("A")
    visit = _start(staff_client, card)
    body = _signed_completion(staff_client, card, visit)
    assert staff_client.post(COMPLETE, body, content_type="application/json").status_code == 200
    answers = [staff_client.post(COMPLETE, body, content_type="application/json") for _ in range(2)]
    assert Completion.objects.filter(visit=visit).count() == 1
    for r in answers:
        said = r.json().get("message", "")
        assert "nothing was committed" not in said, (r.status_code, said)
        assert "start again" not in said, (r.status_code, said)


def test_the_openapi_description_documents_the_503_the_api_answers(
    trusted,
    monkeypatch,
    staff_client,  # noqa: F811
):
    """docs/visits.md: a request stopped by a deadlock is 503 `database_conflict` with
    Retry-After (and an unreachable database 503 `database_unavailable`): the status a client
    must retry on. /api/v1/openapi.json documents every 4xx for every operation but no 503 for
    any: a client generated from the description has no model for the answer it should retry,
    and schemathesis's status-code check would call the documented behaviour a failure."""
    from madoguchi.desk import api as desk_api

    _start(staff_client, trusted.card("A"))

    class Deadlock(Exception):
        sqlstate = "40P01"

    def stopped(*args, **kwargs):
        try:
            raise Deadlock("deadlock detected")
        except Deadlock as cause:
            raise OperationalError("deadlock detected") from cause

    monkeypatch.setattr(desk_api.services, "visit_current", stopped)
    staff_client.raise_request_exception = False
    r = staff_client.get("/api/v1/visits/current")
    assert r.status_code == 503
    assert r.json()["code"] == "database_conflict"

    schema = staff_client.get("/api/v1/openapi.json").json()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "503" not in operation["responses"]
    ]
    assert not missing, missing


def test_a_401_to_the_agents_bearer_call_says_which_scheme(client, db):
    """RFC 9110 15.5.2: a 401 MUST carry WWW-Authenticate. The agent's endpoint is documented
    as `http` `bearer` in the OpenAPI description, and a missing or wrong bearer is answered 401
    with no WWW-Authenticate at all (nor on the desk's session-authenticated calls)."""
    event = json.dumps({"kind": "presence", "cert_fingerprint": None})
    for auth in ({}, {"HTTP_AUTHORIZATION": "Bearer mdt_notacredential"}):
        r = client.post("/api/v1/agent/events", event, content_type="application/json", **auth)
        assert r.status_code == 401, r.content
        assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), dict(r.headers)
    # The right credential still goes through.
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    r = client.post(
        "/api/v1/agent/events",
        event,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert r.status_code == 204
