"""Which terminal a browser runs on, and the rule that a desk session is used only there.

An operator enrols a terminal's browser once by entering the terminal credential; the server
then gives the browser a binding secret of its own (`services.binding_issue`), kept in a signed,
HttpOnly cookie and checked again on every request. The terminal credential never reaches the
browser. Enrolling again rotates the secret (the earlier binding stops working); revoking the
binding or the credential unbinds the browser at once.

`bound_desk_session` is the one rule that desk pages and the visit API share: the signed-in
staff member's open desk session, only when this browser is bound to that session's terminal
(a staff session cookie copied to another browser gets nothing). It costs one query (issue 15):
the desk session with its staff member (who becomes `request.user`, so the user is not loaded
again) and terminal, and the browser's binding of that terminal, found by the cookie's prefix.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core import signing
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare

from .constants import TERMINAL_COOKIE, TERMINAL_COOKIE_MAX_AGE
from .models import DeskSession, Terminal, TerminalBinding
from .services import binding_authenticate, binding_parts, binding_secret_matches

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


def _cookie(request: HttpRequest) -> str | None:
    try:
        raw: str | None = request.get_signed_cookie(TERMINAL_COOKIE, salt=_SALT)
    except (KeyError, signing.BadSignature):
        return None
    return raw


def current_terminal(request: HttpRequest) -> Terminal | None:
    """The terminal this browser is bound to, or None (unbound, tampered or revoked)."""
    if hasattr(request, "_madoguchi_terminal"):
        cached: Terminal | None = request._madoguchi_terminal
        return cached
    raw = _cookie(request)
    terminal = binding_authenticate(raw=raw) if raw else None
    request._madoguchi_terminal = terminal  # type: ignore[attr-defined]
    return terminal


def bound_desk_session(request: HttpRequest) -> DeskSession | None:
    """The signed-in staff member's open desk session, if this browser is bound to its
    terminal; else None. Answered once per request."""
    if hasattr(request, "_madoguchi_desk_session"):
        cached: DeskSession | None = request._madoguchi_desk_session
        return cached
    desk = _bound_desk_session(request)
    request._madoguchi_desk_session = desk  # type: ignore[attr-defined]
    return desk


def _session_user_ok(session: object, staff: object) -> bool:
    """The staff member may use this session, as Django's `get_user` decides: active, and the
    session's hash of the password (so a password change signs the session out)."""
    if not getattr(staff, "is_active", False):
        return False
    stored = session.get(HASH_SESSION_KEY) or ""  # type: ignore[attr-defined]
    if not stored:
        return False
    candidates = (
        staff.get_session_auth_hash(),  # type: ignore[attr-defined]
        *staff.get_session_auth_fallback_hash(),  # type: ignore[attr-defined]
    )
    return any(constant_time_compare(stored, c) for c in candidates)


def _bound_desk_session(request: HttpRequest) -> DeskSession | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    desk_session_id = session.get("desk_session_id")
    user_id = session.get(SESSION_KEY)
    if (
        not desk_session_id
        or user_id is None
        or session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS
    ):
        return None
    raw = _cookie(request)
    parts = binding_parts(raw)
    if parts is None:
        return None
    prefix, secret = parts
    binding = TerminalBinding.objects.filter(prefix=prefix, terminal_id=OuterRef("terminal_id"))
    desk = (
        DeskSession.objects.select_related("terminal", "staff", "staff__organisation")
        .annotate(
            binding_hash=Subquery(binding.values("secret_hash")[:1]),
            binding_revoked=Subquery(binding.values("revoked_at")[:1]),
            credential_revoked=Subquery(binding.values("credential__revoked_at")[:1]),
        )
        .filter(pk=desk_session_id, staff_id=user_id, closed_at__isnull=True)
        .first()
    )
    if (
        desk is None
        or not binding_secret_matches(desk.binding_hash, secret)
        or desk.binding_revoked is not None
        or desk.credential_revoked is not None
        or not desk.terminal.is_active
        or not _session_user_ok(session, desk.staff)
    ):
        return None
    # The user and the terminal as this query found them (one query for all three).
    request.user = desk.staff
    request._madoguchi_terminal = desk.terminal  # type: ignore[attr-defined]
    return desk
