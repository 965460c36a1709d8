"""API authentication: a staff member's open desk session, or a terminal's credential (the agent).

Lives with the desk session and the credential it checks, so that every app's API router (desk,
incidents) can use it without importing one another.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from madoguchi.audit.throttle import client_source

from .binding import bound_desk_session
from .models import Terminal
from .services import TerminalError, credential_authenticate


class DeskSessionAuth(SessionAuth):
    """A signed-in staff member with an open desk session, on the browser bound to its terminal
    (CSRF checked by SessionAuth)."""

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
    def authenticate(self, request: HttpRequest, token: str) -> Terminal | None:
        try:
            terminal = credential_authenticate(
                raw=token, source="agent", client=client_source(request)
            )
        except TerminalError:
            return None
        request.terminal = terminal  # type: ignore[attr-defined]
        return terminal
