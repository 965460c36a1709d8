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
