"""Staff sign-in and sign-out. Every attempt, success or not, is an audit event."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login

from madoguchi.audit import services as audit
from madoguchi.audit import throttle
from madoguchi.audit.events import (
    ACCOUNTS_LOCKED_OUT,
    ACCOUNTS_SIGN_IN_FAILED,
    ACCOUNTS_SIGNED_IN,
    ACCOUNTS_SIGNED_OUT,
    ACCOUNTS_TOTP_FAILED,
    EventType,
)
from madoguchi.plaintext import long_number
from madoguchi.refusals import ByLanguage, Refusal
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.constants import DeskSessionCloseReason
from madoguchi.terminals.models import DeskSession, Terminal

from .constants import OrganisationKind, Role
from .events import SESSION_LAPSED
from .models import User

# What the sign-in page says for every refusal but a lockout: it must not tell an attacker that
# the password was right before the terminal and second-factor checks passed. The true reason
# (`code`, `message`) is kept in the audit event.
SIGN_IN_REFUSED = _(
    "Sign-in failed. Check the user name, password and authenticator code (city officials, "
    "operators and administrators), and that desk staff sign in on a registered terminal."
)


class SignInRefused(Refusal):
    code = "sign_in_refused"
    status = 401
    message = _("Sign-in was refused.")
    # Refusals that may say why (they tell an attacker nothing about names or passwords).
    says_why = False

    @property
    def public_message(self) -> str:
        """What the sign-in page shows: one message for every refusal (see SIGN_IN_REFUSED),
        but a lockout's or a throttled address's own."""
        return str(self.message) if self.says_why else str(SIGN_IN_REFUSED)


class BadCredentials(SignInRefused):
    code = "bad_credentials"
    message = _("The user name or password is wrong.")


class AccountLocked(SignInRefused):
    code = "locked_out"
    message = _(
        "Too many failed attempts: this account is locked for a while. "
        "Ask a supervisor if you need to sign in now."
    )
    says_why = True


class TooManyAttempts(SignInRefused):
    code = "too_many_attempts"
    status = 429
    message = _(
        "Too many failed sign-ins from this computer: wait a minute, then try again. "
        "Ask a supervisor if you need to sign in now."
    )
    says_why = True


# The refusals a sign-in attempt from one address counts against SIGN_IN_FAILURES_PER_MINUTE.
_FAILED_SIGN_INS = [ACCOUNTS_SIGN_IN_FAILED, ACCOUNTS_TOTP_FAILED, ACCOUNTS_LOCKED_OUT]


class SecondFactorRequired(SignInRefused):
    code = "totp_required"
    message = _("Enter the 6-digit code from your authenticator app.")


class SecondFactorWrong(SignInRefused):
    code = "totp_wrong"
    message = _("The authenticator code is wrong or expired.")


class SecondFactorMissing(SignInRefused):
    code = "totp_not_enrolled"
    message = _("This account needs an authenticator app, and none is registered. Ask an operator.")


class TerminalRequired(SignInRefused):
    code = "terminal_required"
    message = _(
        "Desk staff can sign in only on a registered terminal. "
        "Ask an operator to register this terminal."
    )


class TerminalOfAnotherOrganisation(SignInRefused):
    code = "terminal_of_another_organisation"
    message = _(
        "This terminal is registered to another organisation's desks: desk staff sign in only "
        "on their own organisation's terminals. Ask an operator."
    )
    # Said only once the password (and any code) was right: it names nothing an attacker lacks.
    says_why = True


# What a refused sign-in's audit line keeps of the name typed, when the name holds a long number.
NAME_WITHHELD = "(a long number, not recorded)"


def typed_name(username: str) -> str:
    """The name typed into the sign-in, as its audit line keeps it: the box is free text, and
    an individual number typed into it must not be kept (the audit log refuses a 12-digit value
    outright, which made the refusal a server error). No member's name holds one: `staff add`
    refuses it."""
    return NAME_WITHHELD if long_number(username) else username[:150]


def _refuse(
    exc: SignInRefused,
    *,
    username: str,
    terminal: Terminal | None,
    user: User | None = None,
    request: HttpRequest | None = None,
) -> SignInRefused:
    """Audit a refused sign-in with its true reason (rate-limited: unauthenticated)."""
    event = ACCOUNTS_LOCKED_OUT if isinstance(exc, AccountLocked) else ACCOUNTS_SIGN_IN_FAILED
    if isinstance(exc, SecondFactorWrong):
        event = ACCOUNTS_TOTP_FAILED
    throttle.record_unauthenticated(
        event,
        source=throttle.client_source(request),
        reason=exc.code,
        actor=user,
        terminal=terminal,
        subject=user,
        payload={"username": typed_name(username), "reason": exc.code},
    )
    return exc


def _second_factor(user: User, otp_token: str) -> Any:
    """The authenticator this sign-in's code comes from; refused when no code was given, the
    member has no confirmed authenticator, or the code is not one of theirs."""
    if not otp_token:
        raise SecondFactorRequired()
    if not any(True for _d in _confirmed_devices(user)):
        raise SecondFactorMissing()
    device = match_token(user, otp_token.strip())
    if device is None:
        raise SecondFactorWrong()
    return device


def staff_sign_in(
    *,
    request: HttpRequest,
    username: str,
    password: str,
    otp_token: str = "",
    terminal: Terminal | None,
) -> User:
    """Authenticate a staff member; open a desk session when on a terminal.

    Desk staff must be on a registered terminal. City officials and operators must pass TOTP.
    Raises a SignInRefused subclass (already audited) on any refusal. The lockout counts per
    user name (axes); an address that keeps failing, whatever names it tries (a password
    spray), is refused before any password is checked for the rest of the minute
    (``SIGN_IN_FAILURES_PER_MINUTE``).
    """
    failures = throttle.count_any_this_minute(
        _FAILED_SIGN_INS, source=throttle.client_source(request)
    )
    if failures >= settings.SIGN_IN_FAILURES_PER_MINUTE:
        raise _refuse(TooManyAttempts(), username=username, terminal=terminal, request=request)
    if long_number(username):
        # Nobody's name (`typed_name`): refused as an unknown name, before the password check,
        # so that the lockout's own table (axes keeps each name tried) does not keep it either.
        raise _refuse(BadCredentials(), username=username, terminal=terminal, request=request)
    user = authenticate(request, username=username, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise _refuse(AccountLocked(), username=username, terminal=terminal, request=request)
        raise _refuse(BadCredentials(), username=username, terminal=terminal, request=request)
    assert isinstance(user, User)

    device = None
    if user.requires_totp:
        try:
            device = _second_factor(user, otp_token)
        except SignInRefused as exc:
            raise _refuse(
                exc, username=username, terminal=terminal, user=user, request=request
            ) from None

    is_desk_staff = user.has_role(Role.DESK_STAFF)
    if is_desk_staff and terminal is None:
        raise _refuse(
            TerminalRequired(), username=username, terminal=None, user=user, request=request
        )

    if is_desk_staff and terminal is not None and terminal.contractor_id != user.organisation_id:
        # A desk runs under the organisation the terminal is registered to: its supervisor sees
        # the desk, its daily report carries the desk's visits. A member of another contractor
        # (another city's, say) would serve this city's residents under a company that is not
        # theirs, unseen by their own supervisor.
        raise _refuse(
            TerminalOfAnotherOrganisation(),
            username=username,
            terminal=terminal,
            user=user,
            request=request,
        )

    with transaction.atomic():
        session = None
        if terminal is not None and is_desk_staff:
            session = terminal_services.desk_session_open(terminal=terminal, staff=user)
        login(request, user)
        if device is not None:
            otp_login(request, device)
        # Which authenticator this sign-in's code came from ("" none): the session lasts only
        # as long as the member's second factor is that one (`second_factor_lapse`).
        request.session[SECOND_FACTOR] = device.persistent_id if device is not None else ""
        if session is not None:
            request.session["desk_session_id"] = session.pk
        audit.record(
            ACCOUNTS_SIGNED_IN,
            actor=user,
            terminal=terminal,
            subject=user,
            payload={
                "username": user.username,
                "second_factor": device is not None,
                "desk_session": session.pk if session else None,
            },
        )
    return user


def _confirmed_devices(user: User):  # type: ignore[no-untyped-def]

    return devices_for_user(user, confirmed=True)


def staff_sign_out(*, request: HttpRequest) -> None:
    """Close the desk session (which ends any open visit) and the staff session."""
    _end_staff_session(request, DeskSessionCloseReason.SIGNED_OUT, ACCOUNTS_SIGNED_OUT, {})


def _end_staff_session(
    request: HttpRequest,
    reason: DeskSessionCloseReason,
    event: EventType,
    payload: dict[str, object],
) -> None:
    user = request.user
    desk_session_id = request.session.get("desk_session_id")
    with transaction.atomic():
        terminal = None
        if desk_session_id:
            session = DeskSession.objects.filter(pk=desk_session_id).first()
            if session is not None:
                terminal = session.terminal
                terminal_services.desk_session_close(
                    session=session,
                    reason=reason,
                    actor=user if isinstance(user, User) else None,
                )
        if isinstance(user, User):
            audit.record(
                event,
                actor=user,
                terminal=terminal,
                subject=user,
                payload={"username": user.username, **payload},
            )
        logout(request)


# --- the staff session's two limits ------------------------------------------------------------
#
# A staff session ends STAFF_IDLE_SECONDS after its browser's last request and
# STAFF_SESSION_SECONDS after its sign-in, whatever was saved in it since (a saved session
# gets a new expiry from Django, so the desk's resident name or an official's read reason
# kept it alive without end). Both times are kept in the session, as seconds since the epoch
# (the wall clock, not `timezone.now`, which tests move to other days).

SIGNED_IN_AT = "madoguchi_signed_in_at"
SEEN_AT = "madoguchi_seen_at"
SECOND_FACTOR = "madoguchi_second_factor"
# The last request's time is written when it is this old: a write on every request would be
# a session UPDATE on each of the desk's calls. The idle limit is late by at most this much.
SEEN_RESOLUTION_SECONDS = 60


class SessionLapsed(Refusal):
    """A staff session ended by one of its limits; the sign-in page and the API say which."""

    status = 401
    messages = {
        "session_idle": (
            _(
                "You were signed out because this browser made no request for "
                "%(idle)s. Sign in again."
            ),
            401,
        ),
        "session_expired": (
            _(
                "You were signed out because you signed in more than %(hours)s hours ago. "
                "Sign in again."
            ),
            401,
        ),
        "second_factor": (
            _(
                "You were signed out because this account's authenticator was replaced, or "
                "its role now needs one, since you signed in. Sign in again with the code of "
                "the authenticator it has now."
            ),
            401,
        ),
    }

    @classmethod
    def lapse(cls, code: str) -> SessionLapsed:
        """The refusal of `code`, with the limits as configured."""
        hours = settings.STAFF_SESSION_SECONDS / 3600
        return cls.of(
            code,
            idle=_idle_limit(settings.STAFF_IDLE_SECONDS),
            hours=f"{hours:g}" if hours >= 1 else f"{hours:.2g}",
        )


def _idle_limit(seconds: int) -> ByLanguage:
    """The idle limit as said: minutes, one of them singular; under a minute, seconds (a
    20-second limit read "1 minutes")."""
    if seconds < 60:
        return ByLanguage(f"{seconds}秒", f"{seconds} second{'' if seconds == 1 else 's'}")
    minutes = round(seconds / 60)
    return ByLanguage(f"{minutes}分", f"{minutes} minute{'' if minutes == 1 else 's'}")


def session_stamp(session: Any, now: float) -> None:
    """Start a staff session's limits (at sign-in)."""
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def session_check(session: Any, now: float) -> SessionLapsed | None:
    """The limit a signed-in staff session has passed at `now`, or None (and the request is
    then its last activity). A session signed in before the limits existed starts them now."""
    signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in, int | float) or not isinstance(seen, int | float):
        session_stamp(session, now)
        return None
    if now - signed_in >= settings.STAFF_SESSION_SECONDS:
        return SessionLapsed.lapse("session_expired")
    if now - seen >= settings.STAFF_IDLE_SECONDS:
        return SessionLapsed.lapse("session_idle")
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_AT] = now
        # Its desk session (if any) is seen too: the sweeper closes one whose browser never
        # comes back (`terminals.services.desk_session_close_idle`).
        terminal_services.desk_session_seen(session.get("desk_session_id"))
    return None


def second_factor_lapse(request: HttpRequest) -> SessionLapsed | None:
    """The `second_factor` lapse of a session signed in on the staff sign-in, or None: the
    member's role now signs in with an authenticator and the sign-in had no code, or the
    authenticator whose code opened it is gone (`madoguchi staff totp --replace` after a lost
    phone). Read by the pages of the roles that sign in with one (`incidents.access`); a
    session that was never signed in on the sign-in page (none of its mark) is left to them."""
    signed_with = request.session.get(SECOND_FACTOR)
    if not isinstance(signed_with, str):
        return None
    user = request.user
    if not user.is_authenticated or not getattr(user, "requires_totp", False):
        return None
    device = getattr(user, "otp_device", None)  # django-otp: None once the device is gone
    if signed_with and device is not None and device.persistent_id == signed_with:
        return None
    return SessionLapsed.lapse("second_factor")


def staff_session_lapsed(*, request: HttpRequest, refusal: SessionLapsed) -> None:
    """End a staff session that passed a limit as a sign-out would (its desk session closed as
    expired, which ends any open visit), recorded with the limit it passed."""
    _end_staff_session(
        request, DeskSessionCloseReason.EXPIRED, SESSION_LAPSED, {"limit": refusal.code}
    )


def official_outside_a_city(roles: set[str], organisation: Any) -> bool:
    """A city official acts for a city (its cases, findings, desks). A member of a contractor
    (a desk company), or of no organisation, with the role would run the city's case steps
    (suspending a resident's link, comparing accounts, closing) on the cases the contractor's
    own desk staff opened: `staff add`, `staff grant` and the admin's organisation refuse it."""
    return Role.CITY_OFFICIAL.value in roles and (
        organisation is None or organisation.kind != OrganisationKind.CITY
    )
