"""The API's description documents the 503 every operation may answer, and its 401s carry
`WWW-Authenticate` (RFC 9110 15.5.2) naming the operation's scheme (probe L)."""

import json

from django.db import OperationalError

from madoguchi.terminals import services as terminal_services
from tests import factories
from tests.desk.test_text_rules import _start, staff_client  # noqa: F401 -- fixture

EVENTS = "/api/v1/agent/events"


def test_the_openapi_description_documents_the_503_the_api_answers(
    trusted,
    monkeypatch,
    staff_client,  # noqa: F811
):
    """A request stopped by a deadlock is 503 `database_conflict` with Retry-After (an
    unreachable database 503 `database_unavailable`): the status a client retries on. The
    description documented every 4xx of every operation and no 503 for any: a client generated
    from it had no model for the answer to retry."""
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
    assert r.headers["Retry-After"] == "1"

    schema = staff_client.get("/api/v1/openapi.json").json()
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 9
    for name, operation in operations:
        documented = operation["responses"].get("503")
        assert documented is not None, name
        assert "Retry-After" in documented["headers"], name
        ref = documented["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[-1] in schema["components"]["schemas"], name
        assert set(r.json()) <= set(
            schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
        )
        assert "database_conflict" in documented["description"], name
        assert "database_unavailable" in documented["description"], name


def test_a_401_to_the_agents_bearer_call_says_which_scheme(client, db):
    """A missing or wrong bearer was answered 401 with no WWW-Authenticate at all."""
    event = json.dumps({"kind": "presence", "cert_fingerprint": None})
    r = client.post(EVENTS, event, content_type="application/json")
    assert r.status_code == 401, r.content
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="madoguchi"'
    r = client.post(
        EVENTS,
        event,
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer mdt_notacredential",
    )
    assert r.status_code == 401, r.content
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="madoguchi", error="invalid_token"'
    # The right credential still goes through, with no challenge.
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    r = client.post(
        EVENTS, event, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert r.status_code == 204
    assert "WWW-Authenticate" not in r.headers


def test_a_401_of_the_desks_session_calls_names_the_cookie_and_where_to_sign_in(client, db):
    """The desk's calls are authenticated by the session cookie, which has no registered
    scheme: their 401 names one of its own (`Cookie`), where to sign in and the cookie."""
    for path in (
        "/api/v1/visits/current",
        "/api/v1/visits/current/representative",
        "/api/v1/incidents/pin-blocked",
    ):
        method = client.get if path.endswith("current") else client.post
        r = method(path, content_type="application/json")
        assert r.status_code == 401, (path, r.content)
        assert r.json()["code"] == "unauthenticated"
        assert r.headers["WWW-Authenticate"] == (
            'Cookie realm="madoguchi", form-action="/accounts/sign-in/", cookie-name="sessionid"'
        ), path


def test_a_refusal_that_is_not_a_401_carries_no_challenge(
    trusted,
    staff_client,  # noqa: F811
):
    r = staff_client.get("/api/v1/visits/current")
    assert r.status_code == 404, r.content
    assert "WWW-Authenticate" not in r.headers
