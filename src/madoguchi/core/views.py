import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from madoguchi.accounts.constants import Role
from madoguchi.language import switch
from madoguchi.refusals import (
    BodyTooLarge,
    CsrfFailed,
    DatabaseConflict,
    DatabaseUnavailable,
    Refusal,
    ServerFailed,
    note_refused,
)
from madoguchi.terminals.binding import current_terminal
from madoguchi.terminals.selectors import open_desk_session

OFFICIAL_ROLES = {Role.CITY_OFFICIAL.value, Role.SUPERVISOR.value, Role.OPERATOR.value}


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Desk staff on their terminal go to the desk; officials and supervisors to their pages."""
    desk_session_id = request.session.get("desk_session_id")
    desk_session = open_desk_session(desk_session_id, staff=request.user)
    terminal = current_terminal(request)
    if (
        desk_session is not None
        and terminal is not None
        and desk_session.terminal_id == terminal.pk
    ):
        return redirect("desk:terminal")
    if request.user.is_superuser or OFFICIAL_ROLES & request.user.roles:  # type: ignore[union-attr]
        return redirect("officials:today")
    return render(request, "core/home.html", {"terminal": terminal, "desk_session": desk_session})


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF refusals: JSON in English for the API, a Japanese page for people."""
    if request.path.startswith("/api/"):
        failed = CsrfFailed()
        return JsonResponse(failed.as_body(), status=failed.status)
    return render(
        request,
        "core/csrf_failure.html",
        {"message": _("The page expired. Reload it and try again."), "switch": switch(request)},
        status=403,
    )


# The refused page's heading by its status: what happened, in the reader's words.
HEADINGS = {
    400: gettext_lazy("The request could not be read"),
    403: gettext_lazy("This page cannot be opened"),
    404: gettext_lazy("Page not found"),
    500: gettext_lazy("The request was not completed"),
}


def refusal_response(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    """The refusal body for the API (and JSON clients), a page in the reader's language for
    people (rendered without the request: no context processor runs)."""
    note_refused(request, refusal.code)
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(refusal.as_body(), status=refusal.status)
    context = {
        "message": refusal.text(),
        "heading": HEADINGS.get(refusal.status, HEADINGS[500]),
        "resident": is_resident_page(request),
        "switch": switch(request),
    }
    page = render_to_string("core/server_error.html", context)
    return HttpResponse(page, status=refusal.status)


def is_resident_page(request: HttpRequest) -> bool:
    """Under the resident's own page (/me/): its refusals lead back there, not to the staff
    sign-in, and speak of the resident's records."""
    return request.path.startswith(reverse("residents:start"))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: never Django's English "Not Found" page. An API client is told where
    the operations are listed; a resident that a record is missing or not theirs (the same
    answer for both: another resident's record is never confirmed to exist)."""
    if request.path.startswith("/api/"):
        message = gettext_lazy(
            "There is no API operation at this address. The operations are listed in "
            "/api/v1/openapi.json."
        )
    elif is_resident_page(request):
        message = gettext_lazy(
            "There is nothing to show at this address: the record does not exist or is not "
            "yours. Go back to your records."
        )
    else:
        message = gettext_lazy(
            "There is nothing at this address. Check the address, or go back to the start."
        )
    return refusal_response(request, Refusal("not_found", message, status=404))


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler403``: the views' PermissionDenied texts are for the log, not for people."""
    message = gettext_lazy(
        "Your role may not open this page. Go back to the start, or sign in with an account "
        "that may."
    )
    return refusal_response(request, Refusal("forbidden", message, status=403))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler400``. A body too large to read, or a form of too many fields, says so (a
    413 with the limit), where it said to go back to the start."""
    if isinstance(exception, RequestDataTooBig):
        limit = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}"
        return refusal_response(request, BodyTooLarge.of("too_large", limit=limit))
    if isinstance(exception, TooManyFieldsSent):
        limit = f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,}"
        return refusal_response(request, BodyTooLarge.of("too_many_fields", limit=limit))
    message = gettext_lazy("The request could not be read. Go back to the start and try again.")
    return refusal_response(request, Refusal("bad_request", message, status=400))


def server_error(request: HttpRequest) -> HttpResponse:
    """The handler for uncaught exceptions (``handler500``), called while the exception is
    being handled. A database that cannot be reached (PostgreSQL restarting, a lock timeout)
    is 503 with Retry-After; anything else 500. The API gets the refusal body
    ``{code, message, message_ja}``; people a page in their language, rendered without the
    request (no context processor may touch the database that just failed)."""
    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, OperationalError | InterfaceError)
    conflict = unavailable and _conflict(exc)
    refusal = (
        DatabaseConflict() if conflict else DatabaseUnavailable() if unavailable else ServerFailed()
    )
    response = refusal_response(request, refusal)
    if unavailable:
        response["Retry-After"] = "1" if conflict else "5"
    return response


def _conflict(exc: BaseException | None) -> bool:
    """A deadlock or a serialization failure (SQLSTATE class 40): the database is there, this
    transaction lost to another one at the same moment."""
    cause = getattr(exc, "__cause__", None)
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None) or ""
    return str(state).startswith("40")
