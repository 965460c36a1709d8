"""The registry of audit event types.

Every event the system records has a stable numeric id and a dotted name, grouped by domain in
numbered blocks (as Zulip numbers its audit log event types). Ids and names are part of the
hashed log: once an event type has been recorded, never renumber or rename it; add a new one.

How to add an event type (either way works; both are checked at import time):

1. Edit this module: add a constant in your domain's block below, e.g.
   ``BENEFITS_APPLICATION_SUBMITTED = register(EventType(4001, "benefits.application_submitted",
   ja="...", en="..."))``.
2. Or register from your own app, in a module imported by its ``AppConfig.ready()``::

       from madoguchi.audit.events import EventType, register
       APPLICATION_SUBMITTED = register(EventType(id=4001, name="benefits.application_submitted",
                                                  ja="申請 {application} を受け付けました",
                                                  en="Application {application} submitted"))

``ja`` and ``en`` are ``str.format`` templates over the payload keys, plus ``{actor}``,
``{terminal}`` and ``{subject}`` (the recorded labels). A key missing from an event renders as
``?`` instead of failing, so old events stay displayable after a template changes.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.utils import translation

from madoguchi.language import english

# Blocks of 1000 ids, one per domain. The names are the domains' usual name prefixes.
BLOCKS: dict[int, str] = {
    1000: "accounts",
    2000: "terminals and desk sessions",
    3000: "identity and visits",
    4000: "benefits",
    5000: "incidents",
    6000: "cases",
    7000: "the forensic scan",
    9000: "audit",
}

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class EventRegistryError(Exception):
    """An event type definition is invalid or clashes with one already registered."""


class UnknownEventError(LookupError):
    """An event name or id that is not in the registry."""


# A display helper: readable values for a line's template, from its payload and language.
Describe = Callable[[Mapping[str, Any], str], Mapping[str, Any]]


@dataclass(frozen=True)
class EventType:
    id: int
    name: str
    ja: str
    en: str
    # Display only (never hashed): adds readable values for the templates, e.g. a checklist
    # item's label for its code, given the payload and the language.
    describe: Describe | None = dataclass_field(default=None, compare=False, repr=False)

    @property
    def block(self) -> int:
        return self.id - self.id % 1000

    def template(self, lang: str) -> str:
        return self.en if english(lang) else self.ja

    def title(self, lang: str = "ja") -> str:
        """What kind of event this is, in words: its template with each value left out
        ("… がサインインしました"), for lists where its code alone would show; ``{by}`` (the
        OS user, said only when there is one, `by_os_user`) is left out."""
        return re.sub(r"\{[^{}]*\}", "…", self.template(lang).replace("{by}", ""))

    def words(self, context: Mapping[str, Any], lang: str = "ja") -> dict[str, Any]:
        """`context` with the values its `describe` says in words, in `lang`."""
        describe = self.describe or _described.get(self.id)
        if describe is None:
            return dict(context)
        return {**context, **describe(context, lang)}

    def render(self, context: Mapping[str, Any], lang: str = "ja") -> str:
        """The display text, with missing keys shown as ``?``."""
        return string.Formatter().vformat(
            self.template(lang), (), _Lenient(self.words(context, lang))
        )


class _Lenient(dict[str, Any]):
    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return "?"


_by_id: dict[int, EventType] = {}
_by_name: dict[str, EventType] = {}
# Display helpers attached by the app that owns an event's codes (this module sits below them).
_described: dict[int, Describe] = {}


def describe_with(event: EventType, describe: Describe) -> None:
    """Attach a display helper to an event type registered here (display only: the payload
    and its hash are unchanged), e.g. the sign-in failure's reason in words from accounts."""
    registered = get(event)
    if registered.describe is not None or _described.get(registered.id, describe) != describe:
        raise EventRegistryError(f"Event {registered.name!r} already has a display helper.")
    _described[registered.id] = describe


def _check_template(event: EventType, template: str, lang: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise EventRegistryError(
            f"Event {event.name!r}: the {lang} template is not a valid format string: {exc}."
        ) from exc
    for field in fields:
        if not field or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field):
            raise EventRegistryError(
                f"Event {event.name!r}: the {lang} template uses {{{field}}}; only plain "
                "payload key names (and actor, terminal, subject) are allowed."
            )


def register(event: EventType) -> EventType:
    """Add an event type to the registry and return it; refuse clashes and bad definitions."""
    if not isinstance(event.id, int) or isinstance(event.id, bool) or event.id <= 0:
        raise EventRegistryError(f"Event {event.name!r}: the id must be a positive integer.")
    if event.block not in BLOCKS or event.id == event.block:
        blocks = ", ".join(f"{b + 1}-{b + 999} {d}" for b, d in BLOCKS.items())
        raise EventRegistryError(
            f"Event {event.name!r}: id {event.id} is not inside a domain block ({blocks})."
        )
    if not NAME_RE.fullmatch(event.name):
        raise EventRegistryError(
            f"Event name {event.name!r} must be dotted lower-case words, e.g. 'accounts.signed_in'."
        )
    if not event.ja or not event.en:
        raise EventRegistryError(f"Event {event.name!r}: both ja and en templates are required.")
    _check_template(event, event.ja, "ja")
    _check_template(event, event.en, "en")
    if event.id in _by_id:
        raise EventRegistryError(
            f"Event id {event.id} is already registered as {_by_id[event.id].name!r}; "
            f"cannot register {event.name!r} with the same id."
        )
    if event.name in _by_name:
        raise EventRegistryError(
            f"Event name {event.name!r} is already registered with id {_by_name[event.name].id}."
        )
    _by_id[event.id] = event
    _by_name[event.name] = event
    return event


def in_words(key: str, words: Mapping[str, tuple[str, str]]) -> Describe:
    """A display helper saying the payload's `key` (a stored code) in words: `words` maps each
    code to its Japanese and English; an unknown code stays as it is."""

    def describe(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
        code = str(payload.get(key, "?"))
        said = words.get(code)
        if said is None:
            return {key: code}
        return {key: said[1] if english(lang) else said[0]}

    return describe


def in_labels(key: str, choices: Any) -> Describe:
    """A display helper saying the payload's `key` as the label of a Django `choices` class
    (translated into the line's language); an unknown value stays as it is."""

    def describe(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
        code = str(payload.get(key, "?"))
        if code not in choices.values:
            return {key: code}
        with translation.override(lang):
            return {key: str(choices(code).label)}

    return describe


def by_os_user(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """A display helper for an event a shell command may record (no staff actor): ``{by}`` says
    the OS user who ran it, as the payload's `os_user` names them, and is empty otherwise (the
    same event made on a page names its member as the actor)."""
    user = payload.get("os_user")
    if not user:
        return {"by": ""}
    return {"by": f" (OS user {user})" if english(lang) else f"（OS ユーザー {user}）"}


def together(*describes: Describe) -> Describe:
    """One display helper made of several (each adds its own values)."""

    def describe(payload: Mapping[str, Any], lang: str) -> dict[str, Any]:
        said: dict[str, Any] = {}
        for each in describes:
            said.update(each(payload, lang))
        return said

    return describe


def get(key: str | int | EventType) -> EventType:
    """Look an event type up by name, id, or check that an EventType is the registered one."""
    if isinstance(key, EventType):
        registered = _by_id.get(key.id)
        if registered != key:
            raise UnknownEventError(
                f"Event type {key.name!r} (id {key.id}) is not registered; call register() first."
            )
        return registered
    found = _by_id.get(key) if isinstance(key, int) else _by_name.get(key)
    if found is None:
        raise UnknownEventError(
            f"Unknown audit event {key!r}: register it in madoguchi.audit.events first."
        )
    return found


def all_events() -> list[EventType]:
    return sorted(_by_id.values(), key=lambda e: e.id)


# --- 1000: accounts ------------------------------------------------------------------------------
ACCOUNTS_SIGNED_IN = register(
    EventType(1001, "accounts.signed_in", ja="{actor} がサインインしました", en="{actor} signed in")
)
ACCOUNTS_SIGN_IN_FAILED = register(
    EventType(
        1002,
        "accounts.sign_in_failed",
        ja="ユーザー名 {username} のサインインに失敗しました（理由: {reason}）",
        en="Sign-in failed for user name {username} (reason: {reason})",
    )
)
ACCOUNTS_LOCKED_OUT = register(
    EventType(
        1003,
        "accounts.locked_out",
        ja="ユーザー名 {username} を連続失敗のためロックしました",
        en="User name {username} locked out after repeated failures",
    )
)
ACCOUNTS_SIGNED_OUT = register(
    EventType(
        1004, "accounts.signed_out", ja="{actor} がサインアウトしました", en="{actor} signed out"
    )
)
ACCOUNTS_TOTP_FAILED = register(
    EventType(
        1005,
        "accounts.totp_failed",
        ja="{actor} のワンタイムパスワード確認に失敗しました",
        en="One-time password check failed for {actor}",
    )
)
ACCOUNTS_TOTP_DEVICE_ADDED = register(
    EventType(
        1006,
        "accounts.totp_device_added",
        ja="{username} のワンタイムパスワード端末を登録しました",
        en="One-time password device added for {username}",
    )
)

# --- 2000: terminals and desk sessions -----------------------------------------------------------
TERMINALS_REGISTERED = register(
    EventType(
        2001,
        "terminals.registered",
        ja="端末 {terminal} を登録しました{by}",
        en="Terminal {terminal} registered{by}",
        describe=by_os_user,
    )
)
TERMINALS_CREDENTIAL_ISSUED = register(
    EventType(
        2002,
        "terminals.credential_issued",
        ja="端末 {terminal} の認証情報を発行しました{by}",
        en="Credential issued for terminal {terminal}{by}",
        describe=by_os_user,
    )
)
TERMINALS_CREDENTIAL_REVOKED = register(
    EventType(
        2003,
        "terminals.credential_revoked",
        ja="端末 {terminal} の認証情報を失効させました{by}",
        en="Credential revoked for terminal {terminal}{by}",
        describe=by_os_user,
    )
)
TERMINALS_CREDENTIAL_REJECTED = register(
    EventType(
        2004,
        "terminals.credential_rejected",
        ja="端末の認証情報を拒否しました（理由: {reason}）",
        en="Terminal credential rejected (reason: {reason})",
    )
)
TERMINALS_DESK_SESSION_OPENED = register(
    EventType(
        2005,
        "terminals.desk_session_opened",
        ja="{actor} が端末 {terminal} で窓口セッションを開始しました",
        en="{actor} opened a desk session on terminal {terminal}",
    )
)
TERMINALS_DESK_SESSION_CLOSED = register(
    EventType(
        2006,
        "terminals.desk_session_closed",
        ja="端末 {terminal} の窓口セッションを終了しました（理由: {reason}）{by}",
        en="Desk session on terminal {terminal} closed (reason: {reason}){by}",
    )
)
# 2007 (terminals.desk_session_refused) was registered and never recorded: a refused desk
# sign-in is `accounts.sign_in_failed`, with its reason. The id is not reused.

# --- 3000: identity and visits ---------------------------------------------------------------------
# --- 4000: benefits --------------------------------------------------------------------------------
# --- 5000: incidents -------------------------------------------------------------------------------
# --- 6000: cases -----------------------------------------------------------------------------------

# --- 9000: the audit log itself --------------------------------------------------------------------
AUDIT_CHECKPOINT_WRITTEN = register(
    EventType(
        9001,
        "audit.checkpoint_written",
        ja="監査ログのチェックポイントを書き出しました（{size} 件、ルート {root}）",
        en="Audit log checkpoint written ({size} events, root {root})",
    )
)
# Recorded and committed before a `madoguchi migrate --unapply` drops anything: the record of an
# unapply no longer depends on the command running to its end (Ctrl-C, kill -9).
AUDIT_MIGRATIONS_UNAPPLYING = register(
    EventType(
        9003,
        "audit.migrations_unapplying",
        ja="データベースのマイグレーション {count} 件を取り消します（{migrations}、OS ユーザー {os_user}）",
        en="About to unapply {count} database migrations ({migrations}; OS user {os_user})",
        describe=lambda payload, lang: {
            "migrations": (", " if english(lang) else "、").join(payload.get("migrations") or ())
        },
    )
)
AUDIT_MIGRATIONS_UNAPPLIED = register(
    EventType(
        9002,
        "audit.migrations_unapplied",
        ja="データベースのマイグレーション {count} 件を取り消しました（{migrations}、OS ユーザー {os_user}）",
        en="{count} database migrations unapplied ({migrations}; OS user {os_user})",
        describe=lambda payload, lang: {
            "migrations": (", " if english(lang) else "、").join(payload.get("migrations") or ())
        },
    )
)
