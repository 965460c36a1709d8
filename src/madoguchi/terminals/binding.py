"""Which terminal a browser runs on, and the rule that a desk session is used only there.

An operator enrols a terminal's browser once by entering the terminal credential; the server
then gives the browser a binding secret of its own (`services.binding_issue`), kept in a signed,
HttpOnly cookie and checked again on every request. The terminal credential never reaches the
browser. Enrolling again rotates the secret (the earlier binding stops working); revoking the
binding or the credential unbinds the browser at once.

`bound_desk_session` is the one rule that desk pages and the visit API share: the signed-in
staff member's open desk session, only when this browser is bound to that session's terminal
(a staff session cookie copied to another browser gets nothing).
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse

from .constants import TERMINAL_COOKIE, TERMINAL_COOKIE_MAX_AGE
from .models import DeskSession, Terminal
from .services import binding_authenticate

_SALT = "madoguchi.terminal-binding.v2"


def bind(response: HttpResponse, raw_binding: str, *, secure: bool) -> None:
    response.set_signed_cookie(
        TERMINAL_COOKIE,
        raw_binding,
        salt=_SALT,
        max_age=TERMINAL_COOKIE_MAX_AGE,
        httponly=True,
        secure=secure,
        samesite="Strict",
    )


def current_terminal(request: HttpRequest) -> Terminal | None:
    """The terminal this browser is bound to, or None (unbound, tampered or revoked)."""
    if hasattr(request, "_madoguchi_terminal"):
        cached: Terminal | None = request._madoguchi_terminal
        return cached
    try:
        raw = request.get_signed_cookie(TERMINAL_COOKIE, salt=_SALT)
    except (KeyError, signing.BadSignature):
        raw = None
    terminal = binding_authenticate(raw=raw) if raw else None
    request._madoguchi_terminal = terminal  # type: ignore[attr-defined]
    return terminal


def bound_desk_session(request: HttpRequest) -> DeskSession | None:
    """The signed-in staff member's open desk session, if this browser is bound to its
    terminal; else None."""
    user = getattr(request, "user", None)
    session_id = request.session.get("desk_session_id") if hasattr(request, "session") else None
    if user is None or not user.is_authenticated or not session_id:
        return None
    desk = (
        DeskSession.objects.select_related("terminal", "staff")
        .filter(pk=session_id, staff_id=user.pk, closed_at__isnull=True)
        .first()
    )
    terminal = current_terminal(request)
    if desk is None or terminal is None or desk.terminal_id != terminal.pk:
        return None
    return desk
