"""Receipt download for the desk page (the staff member of the visit's desk session only)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from madoguchi.desk.selectors import desk_completion, shown_at_desk
from madoguchi.identity.access import record_read, representative_holder_ids
from madoguchi.language import page_language
from madoguchi.terminals.binding import bound_desk_session

from .receipts import receipt_pdf


@login_required
@require_GET
def receipt(request: HttpRequest, completion_id: int) -> HttpResponse:
    session = bound_desk_session(request)
    completion = desk_completion(completion_id, session)
    if completion is None or session is None:
        # Same answer whether it exists or not: nobody learns about other desks' completions.
        raise Http404("No such receipt for this desk session.")
    if not shown_at_desk(completion, session):
        # An earlier resident's receipt: the desk's current visit, or the one just ended until
        # the next starts (a reprint), is the only one the person at the desk may be shown.
        return _earlier_visit()
    record_read(
        request,
        completion.visit.holder,
        page="benefits.receipt_pdf",
        subject=completion,
        others=representative_holder_ids(completion.visit),
    )
    response = HttpResponse(
        receipt_pdf(completion, page_language()), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="receipt-{completion.visit.reference}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def _earlier_visit() -> HttpResponse:
    message = _(
        "This receipt belongs to an earlier visit at this desk; it was not opened. The desk "
        "shows the receipt of the current visit only, or of the visit just ended until the "
        "next one starts, so that the next resident is never shown another's. The resident "
        "can open their receipts on their own page."
    )
    return HttpResponse(
        render_to_string("core/server_error.html", {"message": message}), status=403
    )
