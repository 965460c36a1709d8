"""Responses Django leaves without a reason get one; ``?lang=`` picks the page's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _

from madoguchi.refusals import Refusal

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
        refusal = Refusal(
            "method_not_allowed",
            _(
                "This address does not take a %(method)s request (it takes %(allowed)s). "
                "Use the buttons on the page, or go back to the start."
            ),
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
