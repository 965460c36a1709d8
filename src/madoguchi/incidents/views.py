"""Incident pages: the list, one incident with its audit trail, and a complaint form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from madoguchi.accounts.constants import Role
from madoguchi.audit.selectors import display
from madoguchi.identity.access import chosen_reason
from madoguchi.once import services as once
from madoguchi.terminals.selectors import visible_terminals

from . import selectors, services
from .access import has_any, roles_required, visible_incident
from .forms import ComplaintForm
from .models import Incident
from .params import day_from_query
from .reading import read_incident, read_incident_list

VIEWERS = (Role.SUPERVISOR, Role.CITY_OFFICIAL)
STAFF = (Role.DESK_STAFF, Role.SUPERVISOR, Role.CITY_OFFICIAL)


def may_read_cases(user: Any) -> bool:
    """A case's page is a city official's: others read its reference and state."""
    return bool(user.is_superuser or user.has_role(Role.CITY_OFFICIAL))


@roles_required(*VIEWERS)
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    day = day_from_query(request, "day")
    rows = selectors.with_times_seen(
        selectors.with_committed_counts(selectors.incidents_of_day(request.user, day))
    )
    asked = read_incident_list(request, rows, page="incidents.list")
    if asked is not None:
        return asked
    return render(
        request,
        "incidents/list.html",
        {
            "incidents": rows,
            "day": day,
            "reason": chosen_reason(request),
            "case_link": may_read_cases(request.user),
        },
    )


@roles_required(*VIEWERS)
@require_GET
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = read_incident(request, pk, page="incidents.incident")
    if isinstance(incident, HttpResponse):
        return incident
    selectors.with_times_seen([incident])  # met again: how many times, the last when
    trail = [(e, display(e)) for e in selectors.audit_trail(incident)]
    # The case opened from it (one an incident): its link replaces the button; the case's
    # page is a city official's, others read its reference.
    case = getattr(incident, "case", None)
    return render(
        request,
        "incidents/detail.html",
        {
            "incident": incident,
            "trail": trail,
            "reason": chosen_reason(request),
            "case": case,
            "case_link": case is not None and may_read_cases(request.user),
        },
    )


@roles_required(*STAFF)
@require_http_methods(["GET", "POST"])
def complaint_new(request: HttpRequest) -> HttpResponse:
    terminals = visible_terminals(request.user)
    form = ComplaintForm(request.POST or None, terminals=terminals)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        incident, now = once.record_once(
            d[once.KEY_FIELD],
            Incident,
            lambda: services.incident_complaint(
                recorded_by=request.user,  # type: ignore[arg-type]
                terminal=d["terminal"],
                summary=d["summary"],
                severity=d["severity"],
                reported_by=d["reported_by"],
            ),
            target="complaint",
        )
        if now:
            messages.success(
                request, _("The complaint was recorded as incident %(id)s.") % {"id": incident.pk}
            )
        else:
            messages.info(
                request,
                _(
                    "This complaint was sent twice: it was recorded once, as incident %(id)s, "
                    "and the second time recorded nothing."
                )
                % {"id": incident.pk},
            )
        # The next step (a case from this incident) is on its page: who may read it goes there.
        if has_any(request.user, *VIEWERS) and visible_incident(request.user, incident):
            return redirect("incidents:detail", incident.pk)
        return redirect("incidents:complaint")
    return render(request, "incidents/complaint.html", {"form": form})
