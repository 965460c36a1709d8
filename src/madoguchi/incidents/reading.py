"""Reading one incident, or a list of them, as a page does: the reader's organisation may see it, and an incident
of a resident's visit is that resident's record (officials say why; the read is recorded)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from madoguchi.accounts.constants import Role
from madoguchi.identity.access import (
    ask_reason,
    chosen_reason,
    record_read,
    record_reads,
    representative_holder_ids,
)

from .access import visible_incident
from .models import Incident


def ask_reason_for_residents(request: HttpRequest, residents_shown: bool) -> HttpResponse | None:
    """The page asking a city official's reason before a list or export that shows incidents of
    residents' visits (each names the visit, the resident's masked account or insurer number,
    and a resident's own words when they reported a record was not theirs), as one such
    incident's page does; None when a reason was given, the reader is not a city official
    (the contractor's supervisor watching its own desks, as on the incident's page), or no
    incident of a resident's visit is shown."""
    if residents_shown and reads_for_the_city(request.user):
        return ask_reason(request)
    return None


def reads_for_the_city(user: Any) -> bool:
    """Whether `user` reads residents' records for the city, and so is asked why: a city
    official, an operator, or a superuser (whom every page lets in, `access.has_any`: the
    demo's operator opened the incident lists and daily reports with no reason asked, each
    read recorded with none)."""
    return bool(
        user.is_superuser or user.has_role(Role.CITY_OFFICIAL) or user.has_role(Role.OPERATOR)
    )


def read_incident_list(
    request: HttpRequest, incidents: Iterable[Incident], *, page: str
) -> HttpResponse | None:
    """Reading a list of incidents as a page does: the page asking a city official's reason
    when any of them is of a resident's visit (`ask_reason_for_residents`), else None with the
    read recorded for each resident whose visit is listed (they see it on their own page)."""
    incidents = list(incidents)
    asked = ask_reason_for_residents(request, any(i.visit is not None for i in incidents))
    if asked is not None:
        return asked
    visits = [i.visit for i in incidents if i.visit is not None]
    record_reads(
        request,
        [*(v.holder_id for v in visits), *representative_holder_ids(*visits)],
        page=page,
        reason=chosen_reason(request),
    )
    return None


def read_incident(request: HttpRequest, pk: int, *, page: str) -> Incident | HttpResponse:
    """The incident, or the page asking the official's reason first."""
    incident = get_object_or_404(
        Incident.objects.select_related("terminal", "visit", "staff"), pk=pk
    )
    if not visible_incident(request.user, incident):
        # Another organisation's incident answers as a missing one (docs/security.md,
        # "another city"): a 403 told its reader that the number exists.
        raise Http404("No such incident.")
    holder_id = incident.visit.holder_id if incident.visit is not None else None
    if holder_id is not None and reads_for_the_city(request.user):
        asked = ask_reason(request)
        if asked is not None:
            return asked
    record_read(
        request,
        ("identity.holder", str(holder_id)) if holder_id is not None else None,
        page=page,
        reason=chosen_reason(request),
        subject=incident,
        others=representative_holder_ids(incident.visit),
    )
    return incident
