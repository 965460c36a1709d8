"""Which terminal a browser runs on.

An operator enrols a terminal's browser once by entering the terminal credential; the browser
keeps it in a signed, HttpOnly cookie and presents it with every request. Revoking the
credential unbinds the browser at once, because every request checks it again.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse

from .constants import TERMINAL_COOKIE, TERMINAL_COOKIE_MAX_AGE
from .models import Terminal
from .services import TerminalError, credential_authenticate

_SALT = "madoguchi.terminal-binding"


def bind(response: HttpResponse, raw_credential: str, *, secure: bool) -> None:
    response.set_signed_cookie(
        TERMINAL_COOKIE,
        raw_credential,
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
    terminal = None
    try:
        raw = request.get_signed_cookie(TERMINAL_COOKIE, salt=_SALT)
    except (KeyError, signing.BadSignature):
        raw = None
    if raw:
        try:
            terminal = credential_authenticate(raw=raw, source="browser")
        except TerminalError:
            terminal = None
    request._madoguchi_terminal = terminal  # type: ignore[attr-defined]
    return terminal
