"""Side doors an attacker tries (docs/security.md, "Side doors tried"): malformed, oversized or
hostile input is refused with a reason (Japanese on pages, English in the API), never a 500."""

import json
import re

import pytest
from django.test import Client

from tests import factories

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/sign-in/"


@pytest.mark.parametrize(
    "username",
    ["a\x00b", "x" * 5000, "desk\r\nSet-Cookie: a=b", "'; DROP TABLE x; --"],
    ids=["nul", "long", "crlf", "sql"],
)
def test_sign_in_with_a_hostile_user_name_is_refused_not_a_server_error(client, username):
    factories.staff()
    r = client.post(LOGIN, {"username": username, "password": "x"})
    assert r.status_code in (400, 403), r.status_code
    assert "サインイン" in r.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/agent/events", "/api/v1/visits/start", "/me/sign-in"])
@pytest.mark.parametrize(
    "body",
    [b"{", b"[]", b'{"a": ' * 2000 + b"1" + b"}" * 2000, b"\xff\xfe\x00"],
    ids=["truncated", "array", "deep", "not-utf8"],
)
def test_malformed_json_is_refused_not_a_server_error(client, path, body):
    """JSON nested 2,000 deep raised RecursionError (not a ValueError) where the agent's
    credential is checked: any anonymous client could make the server answer 500."""
    r = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION="Bearer x")
    assert 400 <= r.status_code < 500, (r.status_code, r.content[:200])


@pytest.mark.parametrize("path", ["/accounts/sign-out/", "/me/end", "/me/challenge"])
def test_a_page_asked_with_the_wrong_method_says_why_in_japanese(client, path):
    """`require_POST` answered a GET with an empty 405 page."""
    r = client.get(path)
    assert r.status_code == 405
    assert r["Allow"] == "POST"
    html = r.content.decode()
    assert "このアドレスは GET では使えません（使えるのは POST です）" in html
    en = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This address does not take GET requests (it takes POST)" in en


def test_the_api_asked_with_the_wrong_method_answers_its_refusal_body(client):
    """django-ninja answered the bare text "Method not allowed"."""
    r = client.put("/api/v1/agent/events")
    assert r.status_code == 405
    body = r.json()
    assert body["code"] == "method_not_allowed"
    assert "PUT" in body["message"]
    # An API client is told where the operations and their methods are, not to use the page's
    # buttons or go back to the start (the page's sentence).
    assert "/api/v1/openapi.json" in body["message"]
    assert "buttons" not in body["message"]
    assert "この API の操作は PUT では使えません" in body["message_ja"]


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "PATCH", "DELETE", "TRACE"])
def test_the_wrong_method_sentence_reads_right_for_every_method(client, method):
    """The sentence said "a %(method)s request": "a OPTIONS request" in English. It names the
    method without an article now, in the API's refusal and on a page, in both languages."""
    api = client.generic(method, "/api/v1/agent/events").json()
    assert f"This API operation does not take {method} requests (it takes POST)" in api["message"]
    assert f"この API の操作は {method} では使えません" in api["message_ja"]
    page = client.generic(method, "/me/end", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"This address does not take {method} requests (it takes POST)" in page
    page_ja = client.generic(method, "/me/end").content.decode()
    assert f"このアドレスは {method} では使えません（使えるのは POST です）" in page_ja
    assert " a OPTIONS" not in api["message"] + page


def test_the_swagger_page_names_no_outside_script(client):
    """/api/v1/docs loaded Swagger UI from a CDN that the pages' CSP refuses (a blank page, and
    an outside script named on our origin): it is served from our own static files
    (tests/browser/test_api_docs.py opens it in chromium)."""
    html = client.get("/api/v1/docs").content.decode()
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    assert scripts
    assert all(src.startswith("/static/") for src in scripts), scripts
    assert "cdn." not in html.lower()  # a host name; a bare "cdn" can occur in a random nonce
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "madoguchi API"


def test_the_swagger_page_says_its_language(client):
    """django-ninja's own page had no `lang` (a screen reader guessed the language) and no
    main landmark; the API and its page speak English (Swagger UI writes the one h1)."""
    html = client.get("/api/v1/docs").content.decode()
    assert re.search(r'<html lang="en">', html)
    assert re.search(r'<main>\s*<script type="application/json" id="swagger-settings">', html)
    assert '<div id="swagger-ui"></div>\n  </main>' in html
    assert 'id="swagger-settings"' in html
    assert "/api/v1/openapi.json" in html


def test_the_api_description_is_the_public_contract_only(client):
    """/api/v1/openapi.json is public by decision (docs/security.md "The API's description is
    public"): every operation it describes needs a credential and refuses an anonymous call,
    and it carries no server address and no example values. The anonymous client is checked
    for CSRF as a real one is: its POSTs were a 403 `csrf_failed` (round 19), which the test
    client's default (no CSRF check) hid."""
    client = Client(enforce_csrf_checks=True)
    doc = client.get("/api/v1/openapi.json").json()
    assert not doc.get("servers")
    assert '"example' not in json.dumps(doc)
    operations = [
        (path, method, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    ]
    assert operations
    for path, method, operation in operations:
        assert operation.get("security"), (method, path)
        r = client.generic(method.upper(), path, b"{}", content_type="application/json")
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["code"] == "unauthenticated", (method, path)
