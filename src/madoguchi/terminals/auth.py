"""API authentication: a staff member's open desk session, or a terminal's credential (the agent).

Lives with the desk session and the credential it checks, so that every app's API router (desk,
incidents) can use it without importing one another.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja.security import HttpBearer, SessionAuth

from madoguchi.audit.throttle import client_source

from .binding import bound_desk_session
from .models import Terminal
from .services import TerminalError, credential_authenticate

# What a 401 of the API answers in `WWW-Authenticate` (RFC 9110 15.5.2: every 401 carries a
# challenge): the scheme of the operation's authentication, left on the request as it runs
# (`challenge`), for the API's refusal handler (`madoguchi.api`).
_CHALLENGE = "_madoguchi_challenge"
REALM = "madoguchi"


def challenge(request: HttpRequest) -> str | None:
    """The challenge of the authentication the request met, or None if it met none."""
    return getattr(request, _CHALLENGE, None)


class DeskSessionAuth(SessionAuth):
    """A signed-in staff member with an open desk session, on the browser bound to its terminal
    (CSRF checked by SessionAuth).

    A cookie has no registered HTTP authentication scheme; its 401 names one of its own,
    `Cookie` (as the expired draft-broyer-http-cookie-auth wrote it): where to sign in and the
    cookie that carries the sign-in. No browser acts on it (only `Basic`, `Digest`, `Negotiate`
    open a dialog), so the desk page's own script still reads the refusal's body."""

    def __call__(self, request: HttpRequest) -> Any:
        login = reverse(settings.LOGIN_URL)
        setattr(
            request,
            _CHALLENGE,
            f'Cookie realm="{REALM}", form-action="{login}", '
            f'cookie-name="{settings.SESSION_COOKIE_NAME}"',
        )
        return super().__call__(request)

    def _get_key(self, request: HttpRequest) -> str | None:
        # No session cookie: nobody is signed in, and the answer is 401 `unauthenticated`
        # (docs/security.md), not the CSRF check's 403, which ninja makes first and which
        # told an anonymous client of the API that its page was out of date.
        if not request.COOKIES.get(self.param_name):
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        # The same rule as the desk pages: only on the browser bound to the session's terminal.
        # One query; the staff member it finds becomes request.user (not loaded a second time).
        session = bound_desk_session(request)
        if session is None:
            return None
        request.desk_session = session  # type: ignore[attr-defined]
        return session.staff


class TerminalAuth(HttpBearer):
    """A terminal's credential (the card agent's), as an OAuth bearer token: a 401 challenges
    `Bearer realm="madoguchi"`, with `error="invalid_token"` when one was sent (RFC 6750 3)."""

    def __call__(self, request: HttpRequest) -> Any:
        sent = request.headers.get(self.header, "").split(" ")[0].lower() == self.openapi_scheme
        said = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if sent else "")
        setattr(request, _CHALLENGE, said)
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Terminal | None:
        try:
            terminal = credential_authenticate(
                raw=token, source="agent", client=client_source(request)
            )
        except TerminalError:
            return None
        request.terminal = terminal  # type: ignore[attr-defined]
        return terminal
