"""Responses Django leaves without a reason get one."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from madoguchi.refusals import Refusal

from .views import refusal_response


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
