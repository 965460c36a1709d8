"""Writes for terminals, their credentials and desk sessions. Each writes its audit event."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.audit import throttle
from madoguchi.prepared import Prepared
from madoguchi.refusals import Refusal

if TYPE_CHECKING:  # accounts builds on terminals (sign-in opens desk sessions)
    from madoguchi.accounts.models import Organisation, User

from madoguchi.audit.events import (
    TERMINALS_CREDENTIAL_ISSUED,
    TERMINALS_CREDENTIAL_REJECTED,
    TERMINALS_CREDENTIAL_REVOKED,
    TERMINALS_DESK_SESSION_CLOSED,
    TERMINALS_DESK_SESSION_OPENED,
    TERMINALS_REGISTERED,
)

from .constants import BINDING_SCHEME, CREDENTIAL_SCHEME, DeskSessionCloseReason
from .events import BROWSER_BOUND, BROWSER_UNBOUND
from .models import DeskSession, Terminal, TerminalBinding, TerminalCredential

# Sent inside the closing transaction, so that what hangs off a desk session (the open visit)
# ends in the same transaction; terminals must not import the apps that build on them.
# Receivers get `session` and `reason`.
desk_session_closed = Signal()
# Sent before several sessions close in one transaction, with `sessions` (a list): receivers
# lock what hangs off them now, since closing the first one records audit events and no row
# may be locked after the audit log's head (see audit.services._lock_head).
desk_sessions_closing = Signal()


class TerminalError(Refusal):
    """A refused terminal operation. `code` is stable; `message` is for people (translated)."""

    code = "terminal_error"
    status = 403
    message = _("The terminal operation was refused.")


class CredentialRejected(TerminalError):
    code = "terminal_credential_rejected"
    status = 401
    message = _("This terminal's credential is not valid. Ask an operator to register it again.")


class TerminalInactive(TerminalError):
    code = "terminal_inactive"
    message = _("This terminal has been disabled by an operator.")


class TerminalLost(TerminalError):
    """This browser was a terminal and is no longer (`binding.lost_binding`): the desk pages
    and the API's 401 say why and what to do. They said "signed out, or idle too long" beside
    "this browser is not a registered terminal" after `make scenario` enrolled itself as the
    terminal a browser of a walk of the README was (2026-12-03)."""

    code = "terminal_lost"
    status = 401
    messages = {
        "terminal_enrolled_elsewhere": (
            _(
                "This browser is no longer terminal %(terminal)s: another browser was enrolled "
                "as that terminal at %(time)s (a terminal is one browser). To use the desk here, "
                "enrol this browser again on the terminal enrolment page, then sign in."
            ),
            401,
        ),
        "terminal_credential_revoked": (
            _(
                "This browser is no longer terminal %(terminal)s: the terminal's credential was "
                "revoked. Ask an operator for a new credential and enrol this browser again."
            ),
            401,
        ),
        "terminal_unbound": (
            _(
                "This browser is no longer terminal %(terminal)s: an operator revoked its "
                "enrolment. Ask an operator before enrolling it again."
            ),
            401,
        ),
        "terminal_disabled": (
            _(
                "Terminal %(terminal)s has been disabled by an operator: the desk cannot be "
                "used on it. Ask an operator."
            ),
            401,
        ),
    }


@dataclass(frozen=True)
class IssuedCredential:
    credential: TerminalCredential
    raw: str  # shown once, never stored


def _hash_secret(secret: str) -> str:
    # Secrets are 256-bit random values: a plain SHA-256 is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode()).hexdigest()


def _run_by(os_user: str) -> dict[str, str]:
    """The payload's `os_user` for a change a shell command makes (none from a page)."""
    return {"os_user": os_user} if os_user else {}


def terminal_register(
    *, name: str, location: str, contractor: Organisation, actor: User | None, os_user: str = ""
) -> Terminal:
    with transaction.atomic():
        terminal = Terminal.objects.create(name=name, location=location, contractor=contractor)
        audit.record(
            TERMINALS_REGISTERED,
            actor=actor,
            terminal=terminal,
            subject=terminal,
            payload={
                "name": name,
                "location": location,
                "contractor": contractor.name,
                **_run_by(os_user),
            },
        )
    return terminal


def credential_issue(
    *, terminal: Terminal, actor: User | None, os_user: str = ""
) -> IssuedCredential:
    prefix = secrets.token_hex(6)
    while prefix.isdigit():  # 12 digits would read as an individual number (audit refuses it)
        prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        credential = TerminalCredential.objects.create(
            terminal=terminal, prefix=prefix, secret_hash=_hash_secret(secret), created_by=actor
        )
        audit.record(
            TERMINALS_CREDENTIAL_ISSUED,
            actor=actor,
            terminal=terminal,
            subject=credential,
            payload={"prefix": prefix, **_run_by(os_user)},
        )
    return IssuedCredential(credential=credential, raw=f"{CREDENTIAL_SCHEME}_{prefix}_{secret}")


def credential_revoke(
    *, credential: TerminalCredential, actor: User | None, os_user: str = ""
) -> TerminalCredential:
    with transaction.atomic():
        credential = TerminalCredential.objects.select_for_update().get(pk=credential.pk)
        if credential.revoked_at is None:
            credential.revoked_at = timezone.now()
            credential.save(update_fields=["revoked_at"])
            sessions = list(
                DeskSession.objects.select_for_update().filter(
                    terminal=credential.terminal, closed_at__isnull=True
                )
            )
            desk_sessions_closing.send(sender=DeskSession, sessions=sessions)
            bindings = list(
                TerminalBinding.objects.select_for_update().filter(
                    credential=credential, revoked_at__isnull=True
                )
            )
            for session in sessions:
                _close(session, DeskSessionCloseReason.TERMINAL_REVOKED, actor, **_run_by(os_user))
            for bound in bindings:
                _unbind(bound, actor, "credential_revoked", os_user=os_user)
            audit.record(
                TERMINALS_CREDENTIAL_REVOKED,
                actor=actor,
                terminal=credential.terminal,
                subject=credential,
                payload={"prefix": credential.prefix, **_run_by(os_user)},
            )
    return credential


# A credential's or binding's prefix as issued (`secrets.token_hex(6)`; the column holds 16):
# anything else is not one, and is never sent to the database (a NUL would be a 500 there).
_PREFIX = re.compile(r"[A-Za-z0-9-]{1,16}")


def _split(raw: str, scheme: str) -> tuple[str, str] | None:
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != scheme or not parts[2]:
        return None
    if not _PREFIX.fullmatch(parts[1]):
        return None
    return parts[1], parts[2]


def _parse(raw: str) -> tuple[str, str] | None:
    return _split(raw, CREDENTIAL_SCHEME)


def credential_key(raw: str) -> tuple[str, str] | None:
    """A raw credential's prefix and the hash of its secret, as stored (None: not shaped as a
    credential); for a statement that checks the credential itself (the agent's presence
    report). Whether such a credential exists, is revoked or its terminal disabled is that
    statement's to check; a refusal still goes through `credential_authenticate`."""
    parsed = _parse(raw or "")
    if parsed is None:
        return None
    return parsed[0], _hash_secret(parsed[1])


def _credential(prefix: str) -> QuerySet[TerminalCredential]:
    """The credential with `prefix`, with its terminal (as `.first()` reads it)."""
    return TerminalCredential.objects.select_related("terminal").filter(prefix=prefix)[:1]


# Compiled once per process: the agent presents its credential on every event (issue 15,
# sixth round: building this query was ~6% of the server's CPU on the completion path).
_CREDENTIAL = Prepared(_credential, prefix="-credential-prefix-")


def credential_authenticate(*, raw: str, source: str = "", client: str = "local") -> Terminal:
    """Return the terminal a raw credential belongs to, or raise (and audit) CredentialRejected."""
    parsed = _parse(raw or "")
    credential = None
    if parsed is not None:
        prefix, secret = parsed
        found = _CREDENTIAL(prefix=prefix)
        credential = found[0] if found else None
        if credential is not None and not hmac.compare_digest(
            credential.secret_hash, _hash_secret(secret)
        ):
            credential = None
    if credential is None or credential.revoked_at is not None:
        reason = "revoked" if credential else "unknown"
        # Unauthenticated: rate-limited (one event per kind, client and minute, plus a count).
        throttle.record_unauthenticated(
            TERMINALS_CREDENTIAL_REJECTED,
            source=client,
            reason=reason,
            terminal=credential.terminal if credential else None,
            subject=("terminals.terminalcredential", credential.prefix) if credential else None,
            payload={"reason": reason, "via": source},
        )
        raise CredentialRejected
    if not credential.terminal.is_active:
        raise TerminalInactive
    return credential.terminal


@dataclass(frozen=True)
class IssuedBinding:
    binding: TerminalBinding
    raw: str  # goes into the browser's cookie, never stored


def binding_issue(
    *, raw_credential: str, actor: User | None = None, client: str = "local"
) -> IssuedBinding:
    """Enrol a browser: check the terminal credential, issue a new binding secret for the
    browser and revoke the terminal's earlier bindings (one enrolled browser per terminal)."""
    terminal = credential_authenticate(raw=raw_credential, source="enrolment", client=client)
    parsed = _parse(raw_credential)
    assert parsed is not None  # credential_authenticate accepted it
    prefix = secrets.token_hex(6)
    while prefix.isdigit():
        prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        credential = TerminalCredential.objects.get(prefix=parsed[0])
        earlier = list(
            TerminalBinding.objects.select_for_update().filter(
                terminal=terminal, revoked_at__isnull=True
            )
        )
        binding = TerminalBinding.objects.create(
            terminal=terminal,
            credential=credential,
            prefix=prefix,
            secret_hash=_hash_secret(secret),
        )
        for old in earlier:
            _unbind(old, actor, "rotated")
        audit.record(
            BROWSER_BOUND,
            actor=actor,
            terminal=terminal,
            subject=binding,
            payload={"prefix": prefix, "credential": credential.prefix},
        )
    return IssuedBinding(binding=binding, raw=f"{BINDING_SCHEME}_{prefix}_{secret}")


def binding_revoke(*, terminal: Terminal, actor: User | None, os_user: str = "") -> int:
    """Unbind every browser of a terminal (they must be enrolled again). Returns how many."""
    with transaction.atomic():
        bindings = list(
            TerminalBinding.objects.select_for_update().filter(
                terminal=terminal, revoked_at__isnull=True
            )
        )
        for bound in bindings:
            _unbind(bound, actor, "revoked", os_user=os_user)
    return len(bindings)


def _unbind(
    binding: TerminalBinding, actor: User | None, reason: str, *, os_user: str = ""
) -> None:
    binding.revoked_at = timezone.now()
    binding.save(update_fields=["revoked_at"])
    audit.record(
        BROWSER_UNBOUND,
        actor=actor,
        terminal=binding.terminal,
        subject=binding,
        payload={"prefix": binding.prefix, "reason": reason, **_run_by(os_user)},
    )


def binding_parts(raw: str | None) -> tuple[str, str] | None:
    """(prefix, secret) of a browser's raw binding secret, or None when it is not one."""
    return _split(raw or "", BINDING_SCHEME)


def binding_secret_matches(secret_hash: str | None, secret: str) -> bool:
    """Whether a binding secret is the one stored as `secret_hash` (constant time)."""
    return secret_hash is not None and hmac.compare_digest(secret_hash, _hash_secret(secret))


def binding_presented(raw: str | None) -> TerminalBinding | None:
    """The binding (with its terminal and credential) whose secret a browser presents, revoked
    or not; None when there is no such binding or the secret is wrong."""
    parts = binding_parts(raw)
    if parts is None:
        return None
    binding = (
        TerminalBinding.objects.select_related("terminal", "credential")
        .filter(prefix=parts[0])
        .first()
    )
    if binding is None or not binding_secret_matches(binding.secret_hash, parts[1]):
        return None
    return binding


def binding_authenticate(*, raw: str) -> Terminal | None:
    """The terminal a browser's binding secret belongs to; None when unknown, revoked, its
    credential revoked or the terminal disabled. (Failures are not audited one by one: a
    browser presents its cookie on every request.)"""
    binding = binding_presented(raw)
    if binding is None:
        return None
    if binding.revoked_at is not None or binding.credential.revoked_at is not None:
        return None
    if not binding.terminal.is_active:
        return None
    return binding.terminal


def desk_session_open(*, terminal: Terminal, staff: User) -> DeskSession:
    """Sign `staff` in on `terminal`. Any other open session of the terminal or of the staff
    member is closed first (recorded as superseded): one staff member per terminal at a time."""
    if not terminal.is_active:
        raise TerminalInactive
    with transaction.atomic():
        # The terminal first: two sign-ins on it take turns before either closes anything (and
        # so neither waits on the other's new session after recording audit events). NO KEY:
        # rows that merely refer to the terminal (visits, nonces, incidents) are not blocked.
        Terminal.objects.select_for_update(no_key=True).filter(pk=terminal.pk).first()
        stale = list(
            DeskSession.objects.select_for_update()
            .filter(Q(terminal=terminal) | Q(staff=staff), closed_at__isnull=True)
            .order_by("pk")
        )
        desk_sessions_closing.send(sender=DeskSession, sessions=stale)
        for session in stale:
            _close(session, DeskSessionCloseReason.SUPERSEDED, staff)
        session = DeskSession.objects.create(terminal=terminal, staff=staff)
        audit.record(
            TERMINALS_DESK_SESSION_OPENED,
            actor=staff,
            terminal=terminal,
            subject=session,
            payload={"staff": staff.username},
        )
    return session


def desk_session_close(
    *, session: DeskSession, reason: DeskSessionCloseReason, actor: User | None
) -> DeskSession:
    with transaction.atomic():
        session = DeskSession.objects.select_for_update().get(pk=session.pk)
        if session.closed_at is None:
            _close(session, reason, actor)
    return session


def desk_session_seen(desk_session_id: Any) -> None:
    """Its browser made a request (`accounts.services.session_check`, at most once a minute)."""
    if desk_session_id:
        DeskSession.objects.filter(pk=desk_session_id, closed_at__isnull=True).update(
            last_seen_at=timezone.now()
        )


def idle_desk_sessions(now: datetime) -> list[int]:
    """Open desk sessions whose browser made no request for STAFF_IDLE_SECONDS."""
    cutoff = now - timedelta(seconds=settings.STAFF_IDLE_SECONDS)
    quiet = Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True, opened_at__lt=cutoff)
    return list(
        DeskSession.objects.filter(quiet, closed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def desk_session_close_idle(desk_session_id: int, now: datetime) -> bool:
    """Close a desk session whose browser never came back (the sweeper), as the staff
    session's idle limit would at its next request: its open visit ends (an incident when
    procedures were pending), the after-completion items its last visit left unticked become
    their incident, audited with reason `idle`. False if it was used or closed meanwhile."""
    cutoff = now - timedelta(seconds=settings.STAFF_IDLE_SECONDS)
    with transaction.atomic():
        session = (
            DeskSession.objects.select_for_update()
            .select_related("terminal", "staff")
            .filter(pk=desk_session_id, closed_at__isnull=True)
            .first()
        )
        if session is None or (session.last_seen_at or session.opened_at) >= cutoff:
            return False
        # Its open visits locked now, before the first audit record (row locks first).
        desk_sessions_closing.send(sender=DeskSession, sessions=[session])
        seen = session.last_seen_at or session.opened_at
        _close(
            session,
            DeskSessionCloseReason.IDLE,
            None,
            idle_seconds=settings.STAFF_IDLE_SECONDS,
            last_seen=timezone.localtime(seen).isoformat(timespec="seconds"),
        )
    return True


def _close(
    session: DeskSession, reason: DeskSessionCloseReason, actor: User | None, **payload: Any
) -> None:
    session.closed_at = timezone.now()
    session.close_reason = reason
    session.save(update_fields=["closed_at", "close_reason"])
    desk_session_closed.send(sender=DeskSession, session=session, reason=reason)
    audit.record(
        TERMINALS_DESK_SESSION_CLOSED,
        actor=actor,
        terminal=session.terminal,
        subject=session,
        payload={"staff": session.staff.username, "reason": str(reason.value), **payload},
    )
