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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from madoguchi.era import format_era_time
from madoguchi.refusals import ByLanguage

from .constants import TERMINAL_COOKIE, TERMINAL_COOKIE_MAX_AGE
from .models import DeskSession, Terminal, TerminalBinding
from .services import (
    TerminalLost,
    binding_authenticate,
    binding_parts,
    binding_presented,
    binding_secret_matches,
)

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
    """The binding cookie's value if its signature holds; checked once per request (the desk
    authentication reads it twice)."""
    if hasattr(request, "_madoguchi_binding_cookie"):
        cached: str | None = request._madoguchi_binding_cookie
        return cached
    try:
        raw: str | None = request.get_signed_cookie(TERMINAL_COOKIE, salt=_SALT)
    except (KeyError, signing.BadSignature):
        raw = None
    request._madoguchi_binding_cookie = raw  # type: ignore[attr-defined]
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


# Why a browser is no longer its terminal -> the refusal's code (`services.TerminalLost`).
_LOST = {
    "rotated": "terminal_enrolled_elsewhere",
    "credential_revoked": "terminal_credential_revoked",
    "revoked": "terminal_unbound",
    "disabled": "terminal_disabled",
}


@dataclass(frozen=True)
class LostBinding:
    """A browser that was a terminal and is no longer: the terminal, why (`rotated`: another
    browser was enrolled as it; `credential_revoked`; `revoked` by an operator; `disabled`: the
    terminal itself) and when."""

    terminal: Terminal
    reason: str
    at: datetime | None

    def refusal(self) -> TerminalLost:
        """What the desk's pages and its API's 401 say to this browser."""
        local = timezone.localtime(self.at) if self.at is not None else None
        time = ByLanguage(
            format_era_time(local) if local else "", f"{local:%Y-%m-%d %H:%M}" if local else ""
        )
        return TerminalLost.of(_LOST[self.reason], terminal=self.terminal.name, time=time)


def lost_binding(request: HttpRequest) -> LostBinding | None:
    """Why this browser's binding no longer makes it a terminal, or None (it still does, or it
    never was one). The desk's sign-in page said "signed out, or idle too long" to staff whose
    browser had lost its terminal to another browser's enrolment (`make scenario` enrols one
    as desk-02: a walk of the README, 2026-12-03). The cookie's signature is the server's, so
    its binding is named only when its secret matches too."""
    binding = binding_presented(_cookie(request))
    if binding is None:
        return None
    if binding.revoked_at is not None:
        rotated = TerminalBinding.objects.filter(
            terminal=binding.terminal, pk__gt=binding.pk, created_at__lte=binding.revoked_at
        ).exists()
        if binding.credential.revoked_at is not None and not rotated:
            return LostBinding(binding.terminal, "credential_revoked", binding.revoked_at)
        return LostBinding(
            binding.terminal, "rotated" if rotated else "revoked", binding.revoked_at
        )
    if binding.credential.revoked_at is not None:
        return LostBinding(binding.terminal, "credential_revoked", binding.credential.revoked_at)
    if not binding.terminal.is_active:
        return LostBinding(binding.terminal, "disabled", None)
    return None


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


def _session_and_desk(request: HttpRequest, session: object) -> DeskSession | None:
    """The staff session row and the bound terminal's open desk session in one query (issue 15:
    the session is otherwise a query of its own on every desk request). Only for Django's
    database session store, before anything in the request loaded the session; the session
    read here is the one Django's store would read (its key, not expired), decoded by the
    store, and installed as the store's cache, so the request sees the same session. Returns
    the desk session (with its staff member, the staff member's organisation, its terminal and
    the binding's state) with the checks of `_bound_desk_session` still to do, or None."""
    if type(session) is not DatabaseStore or hasattr(session, "_session_cache"):
        return None
    key = session.session_key
    parts = binding_parts(_cookie(request))
    if not key or parts is None:
        return None
    found = _desk_row(parts[0], key)
    if found is None:
        return None
    desk, session_data = found
    if session_data is None:
        return None  # no such session (signed out, expired): the store reads it if needed
    session._session_cache = session.decode(session_data)  # type: ignore[attr-defined]
    session.accessed = True  # as the store's own read sets it
    return desk


class _DeskQuery:
    """The SQL of `_desk_row`, written once per process from the models (issue 15: the ORM
    built and compiled this six-table query on every desk request, most of the request's CPU).
    Every value is a parameter; the names are the models'."""

    sql = ""
    # Per model: the model, its fields' attribute names, and per field its converters.
    parts: list[tuple[Any, list[str], list[list[Any]]]] = []

    @classmethod
    def prepare(cls) -> None:
        q = connection.ops.quote_name
        user = DeskSession._meta.get_field("staff").related_model
        organisation = user._meta.get_field("organisation").related_model  # type: ignore[union-attr]
        credential = TerminalBinding._meta.get_field("credential").related_model
        models = ((DeskSession, "ds"), (Terminal, "t"), (user, "u"), (organisation, "o"))
        parts, select = [], []
        for model, alias in models:
            fields = list(model._meta.concrete_fields)  # type: ignore[union-attr]
            converters = []
            for f in fields:
                col = f.get_col(alias)
                fns = [*connection.ops.get_db_converters(col), *f.get_db_converters(connection)]
                converters.append([(fn, col) for fn in fns])
                select.append(f"{alias}.{q(f.column)}")
            parts.append((model, [f.attname for f in fields], converters))

        def table(m: Any) -> str:
            return str(q(m._meta.db_table))

        def c(m: Any, name: str) -> str:
            return str(q(m._meta.get_field(name).column))

        ds, b, cr, se = DeskSession, TerminalBinding, credential, Session
        # parts first: another thread takes a non-empty `sql` as "prepared" (no lock needed).
        cls.parts = parts
        cls.sql = (
            f"SELECT {', '.join(select)}, b.{c(b, 'secret_hash')}, b.{c(b, 'revoked_at')}, "  # noqa: S608
            f"cr.{c(cr, 'revoked_at')}, se.{c(se, 'session_data')} "
            f"FROM {table(ds)} ds "
            f"INNER JOIN {table(Terminal)} t ON t.{c(Terminal, 'id')} = ds.{c(ds, 'terminal')} "
            f"INNER JOIN {table(user)} u ON u.{c(user, 'id')} = ds.{c(ds, 'staff')} "
            f"LEFT OUTER JOIN {table(organisation)} o "
            f"ON o.{c(organisation, 'id')} = u.{c(user, 'organisation')} "
            f"INNER JOIN {table(b)} b "
            f"ON b.{c(b, 'terminal')} = ds.{c(ds, 'terminal')} AND b.{c(b, 'prefix')} = %s "
            f"LEFT OUTER JOIN {table(cr)} cr ON cr.{c(cr, 'id')} = b.{c(b, 'credential')} "
            f"LEFT OUTER JOIN {table(se)} se "
            f"ON se.{c(se, 'session_key')} = %s AND se.{c(se, 'expire_date')} > %s "
            f"WHERE ds.{c(ds, 'closed_at')} IS NULL LIMIT 1"
        )


def _desk_row(prefix: str, session_key: str) -> tuple[DeskSession, str | None] | None:
    """The open desk session of the terminal whose binding has `prefix` (one per terminal),
    loaded as `_with_binding` loads it, and the session row's data (None: no such session,
    or expired)."""
    if not _DeskQuery.sql:
        _DeskQuery.prepare()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_DeskQuery.sql, [prefix, session_key, now])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    objects = []
    for model, names, converters in _DeskQuery.parts:
        part, values = values[: len(names)], values[len(names) :]
        for i, convert in enumerate(converters):
            for fn, col in convert:  # the backend's and the field's, as the ORM applies them
                part[i] = fn(part[i], col, connection)
        objects.append(model.from_db(connection.alias, names, part))
    desk: Any
    desk, terminal, staff, organisation = objects
    staff.organisation = organisation if staff.organisation_id is not None else None
    desk.terminal = terminal
    desk.staff = staff
    desk.binding_hash, desk.binding_revoked, desk.credential_revoked, session_data = values
    return desk, session_data


def _with_binding(desks: Any, prefix: str) -> Any:
    """Desk sessions with staff (and organisation) and terminal, and the state of the browser's
    binding of that terminal (`prefix`)."""
    binding = TerminalBinding.objects.filter(prefix=prefix, terminal_id=OuterRef("terminal_id"))
    return desks.select_related("terminal", "staff", "staff__organisation").annotate(
        binding_hash=Subquery(binding.values("secret_hash")[:1]),
        binding_revoked=Subquery(binding.values("revoked_at")[:1]),
        credential_revoked=Subquery(binding.values("credential__revoked_at")[:1]),
    )


def _bound_desk_session(request: HttpRequest) -> DeskSession | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    joined = _session_and_desk(request, session)
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
    if joined is not None:
        desk: Any = (
            joined
            if str(joined.pk) == str(desk_session_id) and str(joined.staff_id) == str(user_id)
            else None
        )
    else:
        desk = (
            _with_binding(DeskSession.objects, prefix)
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
