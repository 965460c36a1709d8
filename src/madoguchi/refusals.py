"""The one shape of a refusal in the domain apps: a stable code, a translatable message, a status.

Every domain refusal (accounts, terminals, identity, desk, checklists, benefits, cases, reports)
derives from `Refusal`. The message is written once, in English, through gettext; the Japanese
is in the app's catalogue (`make messages`). Pages show `exc.text()` (the active language,
Japanese by default); the API answers `{code, message (English), message_ja}` with `status`
(one exception handler in `madoguchi.api`).

A message may carry `params` (`%(name)s` placeholders). A parameter that itself differs by
language (a checklist item's label, an outside system's own sentence) is a `ByLanguage`.

This module is the lowest layer of the domain apps (docs/adr/1002): it imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from ninja import Schema
from ninja.responses import codes_4xx

from madoguchi.language import english

Text = str | Promise


@dataclass(frozen=True)
class ByLanguage:
    """A value with its own Japanese and English forms (not from a catalogue)."""

    ja: str
    en: str

    def text(self) -> str:
        return self.en if english() else self.ja

    def __str__(self) -> str:
        return self.text()


class Refusal(Exception):
    """A refused operation: `code` is stable, `message` is for people, `status` for the API.

    Subclasses set the class attributes; a call may override any of them. `detail` is for the
    audit log and incidents (English, never shown to residents).
    """

    code: str = "refused"
    message: Text = _("The operation was refused.")
    status: int = 400
    # Known codes of a subclass: code -> (message, status); `of(code)` builds one.
    messages: ClassVar[Mapping[str, tuple[Text, int]]] = {}

    def __init__(
        self,
        code: str | None = None,
        message: Text | None = None,
        *,
        status: int | None = None,
        detail: str = "",
        params: Mapping[str, object] | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if message is not None:
            self.message = message
        if status is not None:
            self.status = status
        self.detail = detail
        self.params = dict(params or {})
        super().__init__(self.code)

    @classmethod
    def of(cls, code: str, detail: str = "", **params: object) -> Self:
        """The refusal of one of the subclass's known codes (`messages`)."""
        message, status = cls.messages[code]
        return cls(code, message, status=status, detail=detail, params=params)

    @classmethod
    def carrying(cls, code: str, *, ja: str, en: str, **kwargs: Any) -> Self:
        """A refusal whose sentence comes from a pure library (no catalogue): `ja` and `en`."""
        return cls(code, "%(reason)s", params={"reason": ByLanguage(ja, en)}, **kwargs)

    def text(self, language: str | None = None) -> str:
        """The message in `language`, or in the active language if None."""
        if language is not None:
            with translation.override(language):
                return self.text()
        text = str(self.message)
        if self.params:
            text = text % {k: str(v) for k, v in self.params.items()}
        return text

    @property
    def message_ja(self) -> str:
        return self.text("ja")

    @property
    def message_en(self) -> str:
        return self.text("en")

    def as_body(self) -> dict[str, str]:
        """The API's error body."""
        return {"code": self.code, "message": self.message_en, "message_ja": self.message_ja}

    def __str__(self) -> str:
        return f"{self.code}: {self.message_en}"


REFUSED_ON = "_madoguchi_refused"
"""Where a refused request keeps its refusal's code, for the server log's line
(``core.logfilters``): an API refusal is logged by Django with its status and path only."""


def note_refused(request: object, code: str) -> None:
    with suppress(AttributeError):  # not a request (a test's stand-in)
        setattr(request, REFUSED_ON, code)


def known_message(code: str, language: str) -> str | None:
    """The sentence of a known refusal code (`messages` of any Refusal class) in `language`;
    None when the code is unknown or its sentence needs parameters the caller does not have."""
    pending: list[type[Refusal]] = [Refusal]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        entry = cls.__dict__.get("messages", {}).get(code)
        if entry is None:
            continue
        with translation.override(language):
            text = str(entry[0])
        try:
            return text % {}
        except (KeyError, TypeError, ValueError):
            return None
    return None


def describe_code(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """An audit line's refusal `code` as its sentence (officials read why, not the code); an
    unknown code or one whose sentence needs parameters stays as it is."""
    code = str(payload.get("code", "?"))
    return {"code": (known_message(code, lang) or code).rstrip("。.")}


# --- the API's error body, and every status a refusal can have --------------------------------


class ErrorOut(Schema):
    """The body of every refusal the API answers (OpenAPI: documented for every 4xx status, and
    for the 503 every operation may answer, `madoguchi.api.Api`)."""

    code: str
    message: str
    message_ja: str
    fields: dict[str, str] | None = None  # text_not_allowed: field -> what is wrong (English)


# ninja's `codes_4xx` leaves out statuses our handlers do answer (422: malformed request).
REFUSAL_STATUSES = frozenset(codes_4xx | {413, 415, 422})


# --- refusals of the HTTP layer itself (the API's handlers and the CSRF failure view) ---------


class MalformedRequest(Refusal):
    code = "malformed_request"
    message = _("The request is not valid: %(problems)s.")
    status = 422


class Unauthenticated(Refusal):
    code = "unauthenticated"
    # Desk staff read it on a registered terminal whose sign-in ended (signed out in another tab,
    # or the sweeper closed it as idle): "sign in on a registered terminal" alone read as if
    # this terminal were not one.
    message = _(
        "You are not signed in at a desk in this browser: the sign-in ended (signed out, or "
        "idle too long) or was never made here. Sign in again on a registered terminal, or "
        "present a valid terminal credential."
    )
    status = 401


class DatabaseUnavailable(Refusal):
    """The database could not be reached (restarting, failing over, locked): answered 503 with
    Retry-After by the server-error handler; the transaction was rolled back."""

    code = "database_unavailable"
    message = _(
        "The system's database cannot be reached at the moment; nothing was saved. "
        "Wait a few seconds and try again."
    )
    status = 503


class DatabaseConflict(Refusal):
    """Two transactions at once waited for each other's rows (PostgreSQL's deadlock detector
    stopped one, or a serialization failure): this one was rolled back. Not an unreachable
    database: answered 503 with a short Retry-After, in its own words."""

    code = "database_conflict"
    message = _(
        "Another request changed the same records at the same moment, and this one was "
        "stopped; nothing was saved. Try again."
    )
    status = 503


class BodyTooLarge(Refusal):
    """A body larger than Django reads into memory (``DATA_UPLOAD_MAX_MEMORY_SIZE``), or a
    form of more fields than it parses (``DATA_UPLOAD_MAX_NUMBER_FIELDS``)."""

    code = "too_large"
    status = 413
    messages: ClassVar[Mapping[str, tuple[Text, int]]] = {
        "too_large": (
            _(
                "The request is larger than the server accepts (at most %(limit)s bytes); "
                "nothing was saved. Send less text."
            ),
            413,
        ),
        "too_many_fields": (
            _(
                "The form has more fields than the server accepts (at most %(limit)s); "
                "nothing was saved."
            ),
            400,
        ),
    }


class LengthRequired(Refusal):
    """An API write sent in chunks: Django reads a body by its Content-Length, and read none."""

    code = "length_required"
    message = _(
        "Send the request body with a Content-Length header: the server does not read a body "
        "sent in chunks (Transfer-Encoding: chunked). Nothing was done."
    )
    status = 411


class ServerFailed(Refusal):
    """An unexpected error (a bug): 500; the details are in the server's log, not the answer."""

    code = "server_error"
    message = _(
        "An unexpected error occurred and the request was not completed. Try again; if it "
        "happens again, tell the system's operator the time it happened."
    )
    status = 500


class CsrfFailed(Refusal):
    code = "csrf_failed"
    message = _(
        "The page is out of date (CSRF check failed): reload it and try again. API clients: "
        "send the csrftoken cookie's value in X-CSRFToken from the same origin."
    )
    status = 403


class BodyUnreadable(Refusal):
    """An API body that is not JSON (`madoguchi.api.BodyParser`): said in each language,
    ninja's own "Cannot parse request body" was English inside the Japanese sentence."""

    code = "bad_request"
    status = 400
    messages: ClassVar[Mapping[str, tuple[Text, int]]] = {
        "not_text": (
            _(
                "The request body is not UTF-8 text: send the request as JSON in UTF-8. "
                "Nothing was stored."
            ),
            400,
        ),
        "not_json": (
            _(
                "The request body is not valid JSON (line %(line)s, column %(column)s): send "
                "one JSON object. Nothing was stored."
            ),
            400,
        ),
        "too_deep": (
            _(
                "The request body's JSON is nested too deeply to read: send one JSON object "
                "as the operation's schema describes it. Nothing was stored."
            ),
            400,
        ),
    }

    @classmethod
    def of(cls, code: str, detail: str = "", **params: object) -> Self:
        refusal = super().of(code, detail, **params)
        refusal.code = cls.code  # one code for the client; which problem is in the message
        return refusal


class HttpRefused(Refusal):
    code = "http_error"
    message = _("The request could not be carried out: %(problem)s")
