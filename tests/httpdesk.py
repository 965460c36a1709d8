"""A desk browser over real HTTP: the terminal enrolled and the staff member signed in through
the forms, as a browser does (the API's cookie, CSRF token and browser binding follow)."""

from __future__ import annotations

import httpx

from madoguchi.core.bench.completion import _form_post
from madoguchi.terminals import services as terminal_services
from tests import factories


def enrol_and_sign_in(http: httpx.Client, base: str, terminal, staff) -> str:
    """Enrol ``http``'s browser on ``terminal`` and sign ``staff`` in; the terminal's raw
    credential (the agent's bearer token)."""
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    assert _form_post(http, base, "/terminal/enrol/", {"credential": raw}).status_code == 200
    r = _form_post(
        http,
        base,
        "/accounts/sign-in/",
        {"username": staff.username, "password": factories.PASSWORD, "otp_token": ""},
    )
    assert r.status_code == 302, r.text[:300]
    return raw
