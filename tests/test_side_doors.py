"""Side doors an attacker tries (docs/security.md, "Side doors tried"): malformed, oversized or
hostile input is refused with a reason (Japanese on pages, English in the API), never a 500."""

import pytest

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
