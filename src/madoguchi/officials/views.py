"""Officials' pages: today's desks and visits, a visit with its audit trail, incidents."""

from __future__ import annotations

import json
from datetime import date
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from madoguchi.audit import selectors as audit_selectors
from madoguchi.checklists import selectors as checklist_selectors
from madoguchi.desk.procedures import label as procedure_label
from madoguchi.identity.access import (
    chosen_reason,
    reason_required,
    record_read,
    representative_holder_ids,
)
from madoguchi.incidents.access import second_factor_check
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.params import day_from_query
from madoguchi.incidents.reading import read_incident_list
from madoguchi.incidents.selectors import with_committed_counts, with_times_seen
from madoguchi.language import page_language

from . import selectors


def officials_page(view):
    @login_required
    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        second_factor_check(request)
        if not selectors.can_view(request.user):
            raise PermissionDenied("city officials and contractor supervisors only")
        return view(request, *args, **kwargs)

    return wrapper


def _day(request: HttpRequest) -> date:
    return day_from_query(request, "date")


@officials_page
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    day = _day(request)
    visits = list(selectors.visits_for(request.user, day))
    sessions = list(selectors.desk_sessions_for(request.user, day))
    live = selectors.signed_in_now(sessions)
    return render(
        request,
        "officials/today.html",
        {
            "day": day,
            "is_today": day == timezone.localdate(),
            # Each desk with who is signed in on it now, and its staff sessions of the day in
            # order (an open one whose sign-in expired is said so).
            "desks": [
                (
                    t,
                    [s for s in sessions if s.terminal_id == t.pk and s.pk in live],
                    [(s, s.pk in live) for s in sessions if s.terminal_id == t.pk],
                )
                for t in selectors.terminals_for(request.user)
            ],
            "visits": visits,
            "open_count": sum(1 for v in visits if v.ended_at is None),
            "whole_city": selectors.sees_whole_city(request.user),
            "nav": "today",
        },
    )


@officials_page
@require_GET
@reason_required
def visit_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    visit = selectors.visits_for(request.user).filter(public_id=public_id).first()
    if visit is None:
        raise Http404("no such visit")
    record_read(
        request,
        visit.holder,
        page="officials.visit",
        reason=chosen_reason(request),
        subject=visit,
        others=representative_holder_ids(visit),
    )
    lang = page_language()
    trail = [
        {"e": e, "text": audit_selectors.display(e, lang)} for e in selectors.audit_trail(visit)
    ]
    completions = [
        {"c": c, "signed": json.loads(bytes(c.transaction_bytes))}
        for c in visit.completions.order_by("committed_at")
    ]
    return render(
        request,
        "officials/visit.html",
        {
            "visit": visit,
            "procedures": [
                {"p": p, "label": procedure_label(p.kind)} for p in visit.procedures.order_by("pk")
            ],
            "completions": completions,
            "ticks": checklist_selectors.history(visit),
            "incidents": with_committed_counts(visit.incidents.order_by("occurred_at")),
            "trail": trail,
            "nav": "today",
        },
    )


INCIDENTS_PER_PAGE = 100  # incidents on a page of the list


@officials_page
@require_GET
def incidents(request: HttpRequest) -> HttpResponse:
    qs = selectors.incidents_for(request.user)
    kind = request.GET.get("kind", "")
    if kind in IncidentKind.values:
        qs = qs.filter(kind=kind)
    severity = request.GET.get("severity", "")
    if severity in Severity.values:
        qs = qs.filter(severity=severity)
    # A page at a time, newest first (it kept the newest 500 and dropped the rest unsaid).
    page = Paginator(qs.order_by("-occurred_at", "-pk"), INCIDENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = with_times_seen(with_committed_counts(page.object_list))
    asked = read_incident_list(request, rows, page="officials.incidents")
    if asked is not None:
        return asked
    return render(
        request,
        "officials/incidents.html",
        {
            "incidents": rows,
            "page": page,
            "kinds": IncidentKind.choices,
            "severities": Severity.choices,
            "kind": kind,
            "severity": severity,
            "nav": "incidents",
            "reason": chosen_reason(request),
        },
    )
