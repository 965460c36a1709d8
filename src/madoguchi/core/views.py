from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from madoguchi.terminals.binding import current_terminal
from madoguchi.terminals.models import DeskSession


@login_required
def home(request: HttpRequest) -> HttpResponse:
    desk_session_id = request.session.get("desk_session_id")
    desk_session = (
        DeskSession.objects.filter(pk=desk_session_id, closed_at__isnull=True).first()
        if desk_session_id
        else None
    )
    return render(
        request,
        "core/home.html",
        {"terminal": current_terminal(request), "desk_session": desk_session},
    )


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF refusals: JSON in English for the API, a Japanese page for people."""
    from django.http import JsonResponse
    from django.utils.translation import gettext as _

    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "csrf_failed",
                "message": "CSRF check failed: send the csrftoken cookie's value in "
                "X-CSRFToken from the same origin.",
                "message_ja": "画面を再読み込みしてから、もう一度操作してください。",
            },
            status=403,
        )
    return render(
        request,
        "core/csrf_failure.html",
        {"message": _("The page expired. Reload it and try again.")},
        status=403,
    )
