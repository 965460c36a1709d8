"""API authentication: a staff member's open desk session, or a terminal's credential (the agent).

Lives with the desk session and the credential it checks, so that every app's API router (desk,
incidents) can use it without importing one another.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from ninja.security import HttpBearer, SessionAuth

from .models import DeskSession, Terminal
from .services import TerminalError, credential_authenticate


class DeskSessionAuth(SessionAuth):
    """A signed-in staff member with an open desk session (CSRF checked by SessionAuth).

    One query: the desk session joined with its staff member and terminal, found from the
    session's user id and desk session id; the staff member is then checked as Django's
    ``get_user`` checks a session's user (active, a configured backend, the session's password
    hash), and becomes ``request.user`` (so the user is not loaded a second time; issue 15).
    """

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        session = request.session
        desk_session_id = session.get("desk_session_id")
        user_id = session.get(SESSION_KEY)
        backend = session.get(BACKEND_SESSION_KEY)
        if (
            not desk_session_id
            or user_id is None
            or backend not in settings.AUTHENTICATION_BACKENDS
        ):
            return None
        desk = (
            DeskSession.objects.select_related("terminal", "staff")
            .filter(pk=desk_session_id, staff_id=user_id, closed_at__isnull=True)
            .first()
        )
        if desk is None or not desk.staff.is_active:
            return None
        staff = desk.staff
        stored = session.get(HASH_SESSION_KEY) or ""
        if not stored or not any(
            constant_time_compare(stored, candidate)
            for candidate in (
                staff.get_session_auth_hash(),
                *staff.get_session_auth_fallback_hash(),
            )
        ):
            return None
        request.user = staff
        request.desk_session = desk  # type: ignore[attr-defined]
        return staff


class TerminalAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Terminal | None:
        try:
            terminal = credential_authenticate(raw=token, source="agent")
        except TerminalError:
            return None
        request.terminal = terminal  # type: ignore[attr-defined]
        return terminal
