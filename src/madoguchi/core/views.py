from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from madoguchi.accounts.constants import Role
from madoguchi.refusals import CsrfFailed
from madoguchi.terminals.binding import current_terminal
from madoguchi.terminals.models import DeskSession

OFFICIAL_ROLES = {Role.CITY_OFFICIAL.value, Role.SUPERVISOR.value, Role.OPERATOR.value}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Desk staff on their terminal go to the desk; officials and supervisors to their pages."""
    desk_session_id = request.session.get("desk_session_id")
    desk_session = (
        DeskSession.objects.filter(
            pk=desk_session_id, staff_id=request.user.pk, closed_at__isnull=True
        ).first()
        if desk_session_id
        else None
    )
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
        {"message": _("The page expired. Reload it and try again.")},
        status=403,
    )
