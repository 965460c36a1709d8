"""Receipt download for the desk page (the staff member of the visit's desk session only)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from madoguchi.desk.models import Completion
from madoguchi.identity.access import record_read
from madoguchi.terminals.binding import bound_desk_session

from .receipts import receipt_pdf


@login_required
def receipt(request: HttpRequest, completion_id: int) -> HttpResponse:
    completion = (
        Completion.objects.select_related(
            "visit", "visit__desk_session", "visit__terminal", "visit__staff"
        )
        .filter(pk=completion_id)
        .first()
    )
    session = bound_desk_session(request)
    if completion is None or session is None or completion.visit.desk_session_id != session.pk:
        # Same answer whether it exists or not: nobody learns about other desks' completions.
        raise Http404("No such receipt for this desk session.")
    record_read(request, completion.visit.holder, page="benefits.receipt_pdf", subject=completion)
    response = HttpResponse(receipt_pdf(completion), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{completion.visit.reference}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
