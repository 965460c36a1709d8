"""Responses Django leaves without a reason get one; ``?lang=`` picks the page's language."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts import services as accounts
from madoguchi.refusals import LengthRequired, Refusal
from madoguchi.terminals.binding import bound_desk_session
from madoguchi.terminals.constants import TERMINAL_COOKIE

from .views import refusal_response

_SameSite = Literal["Lax", "Strict", "None", False] | None


class MethodNotAllowedMiddleware:
    """A 405 (`require_POST` and the like answer a GET with an empty page; django-ninja with
    the bare text "Method not allowed") says why: a page in the reader's language, or the API's
    refusal body. The Allow header stays."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        allowed = response.get("Allow", "")
        if request.path.startswith("/api/"):
            message = _(
                "This API operation does not take %(method)s requests (it takes %(allowed)s). "
                "The operations and their methods are listed in /api/v1/openapi.json."
            )
        else:
            message = _(
                "This address does not take %(method)s requests (it takes %(allowed)s). "
                "Use the buttons on the page, or go back to the start."
            )
        refusal = Refusal(
            "method_not_allowed",
            message,
            status=405,
            params={"method": request.method, "allowed": allowed or "-"},
        )
        replaced = refusal_response(request, refusal)
        if allowed:
            replaced["Allow"] = allowed
        return replaced


class LanguageFromQueryMiddleware:
    """``?lang=en`` (or ``ja``) on any page shows it in that language and keeps the choice, as
    the header's language switch does (its cookie); the card agent's PIN pad takes the same
    parameter. Any other value is ignored. After Django's LocaleMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.codes = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        lang = request.GET.get("lang", "")
        if lang not in self.codes:
            response = self.get_response(request)
            # The language comes from the cookie too (LocaleMiddleware says only
            # Accept-Language): a shared cache must not hand one reader's language to another.
            patch_vary_headers(response, ("Cookie",))
            return response
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            lang,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=cast(_SameSite, settings.LANGUAGE_COOKIE_SAMESITE),
        )
        return response


# The page endpoints that read a JSON body (the desk's and the resident page's scripts); the
# API (everything under /api/) reads nothing else. `/me/end` also takes a form (a plain button).
JSON_BODY_VIEWS = frozenset(
    {"desk:resident", "residents:challenge", "residents:sign_in", "residents:heartbeat"}
)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _has_body(request: HttpRequest) -> bool:
    """True when the request carries a body with something in it. A form with no field at all
    (what a bare `fetch(url, {method: "POST"})` or a test client's `post(url)` sends) is none."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 1
    if length <= 0 and "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        return False
    if request.content_type in _FORMS:
        if not hasattr(request, "_post"):  # not parsed yet (the CSRF check may have)
            request.body  # noqa: B018 -- kept, so a view may still read it after the form parse
        return bool(request.POST or request.FILES)
    return True


class JsonBodyOnlyMiddleware:
    """A write to the API (or to a page endpoint that reads JSON) whose body is not
    `application/json` is refused with 415 and the reason, before any authentication or
    parsing. A cross-site page can post `text/plain` or a form without a preflight — the
    classic CSRF shape — but cannot send `application/json`; every real client (the desk's and
    the resident page's scripts, the card agent, the bench, the scenario command) sends it.
    A write with no body is not refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: object, view_args: object, view_kwargs: object
    ) -> HttpResponse | None:
        if request.method not in _WRITES:
            return None
        match = request.resolver_match
        json_view = match is not None and match.view_name in JSON_BODY_VIEWS
        if not (json_view or request.path.startswith("/api/")):
            return None
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Django reads a body by its length: a chunked one (which a proxy in front would
            # have sent with its length) was read as empty, and refused as missing its fields.
            return refusal_response(request, LengthRequired())
        if request.content_type == "application/json" or not _has_body(request):
            return None
        refusal = Refusal(
            "unsupported_media_type",
            _(
                "This address reads only a JSON body: send it with "
                "Content-Type: application/json. Nothing was done."
            ),
            status=415,
        )
        return refusal_response(request, refusal)


class HtmxRedirectMiddleware:
    """A redirect that answers an htmx request (`HX-Request: true`: the checklist's ticks)
    is sent as htmx's own `HX-Redirect` (200, no `Location`), so the page goes there. A plain
    redirect is followed by the browser itself, and htmx swapped the page it led to into the
    element the request was for: a tick after the visit ended unseen put the whole ended page
    (header, skip link, its own main) inside the confirmation page's checklist, the lines and
    the card's button still around it; a tick after the desk sign-in ended put the sign-in page
    there (side doors, round 22). One rule for every view and middleware that can redirect
    (the desk's refusals, the desk sign-in's end, the session limits), not each view's own:
    outside them all, it changes the response in place and keeps the cookies set on it (the
    message saying why rides in the session or its cookie)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.headers.get("HX-Request") != "true":
            return response
        if not 300 <= response.status_code < 400 or not response.has_header("Location"):
            return response
        location = response["Location"]
        del response["Location"]
        response.status_code = 200
        response["HX-Redirect"] = location
        return response


class NoStoreMiddleware:
    """Every response the application makes is `Cache-Control: no-store, private` unless its
    view said otherwise (the visit state's ETag answer does): officials' lists, reports and
    their PDF and Excel files, cases and scans carry personal data, and a page a browser or a
    proxy keeps can be read back by the next person at the machine. Static files (served by
    WhiteNoise before this) keep their own long-lived caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class StaffSessionLimitsMiddleware:
    """A signed-in staff session ends at its limits (`accounts.services.session_check`):
    `STAFF_IDLE_SECONDS` after its browser's last request, `STAFF_SESSION_SECONDS` after its
    sign-in. Django's own expiry moved on with every save of the session (the desk keeps the
    resident's name in it, an official's pages the reasons given), so a session left open, or
    a copied cookie, stayed good without end. The lapsed session is ended as a sign-out would
    end it (its desk session closed, an audit event naming the limit); a page goes to the
    sign-in, which says why, an API or JSON client gets 401 with the reason."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        if TERMINAL_COOKIE in request.COOKIES:
            # First, so that a desk's session is read with its desk session in one query
            # (terminals.binding), as the desk's views would read it.
            bound_desk_session(request)
        session = request.session
        if SESSION_KEY not in session:
            return self.get_response(request)
        lapsed = accounts.session_check(session, time.time())
        if lapsed is None:
            return self.get_response(request)
        return self._ended(request, lapsed)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        """A page of a role that signs in with an authenticator found the session's second
        factor gone (`accounts.services.second_factor_lapse`, raised by `roles_required`):
        ended as the limits end a session."""
        if isinstance(exc, accounts.SessionLapsed):
            return self._ended(request, exc)
        return None

    @staticmethod
    def _ended(request: HttpRequest, lapsed: accounts.SessionLapsed) -> HttpResponse:
        accounts.staff_session_lapsed(request=request, refusal=lapsed)
        if request.path.startswith("/api/") or "application/json" in request.headers.get(
            "Accept", ""
        ):
            return refusal_response(request, lapsed)
        query = {"lapsed": lapsed.code}
        if request.method == "GET":
            query["next"] = request.get_full_path()
        return redirect(reverse("accounts:login") + "?" + urlencode(query))
