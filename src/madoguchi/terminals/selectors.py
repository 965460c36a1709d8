"""Reads about terminals."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from .models import Terminal


def visible_terminals(user: Any) -> QuerySet[Terminal]:
    """Desks a user may see: a contractor's own; a city's contractors' (never another city's);
    all for a superuser; none for anyone without an organisation. The one rule for every page
    that lists desks, their visits, sessions or reports."""
    qs = Terminal.objects.select_related("contractor").order_by("name")
    if user.is_superuser:
        return qs
    if user.organisation_id is None:
        return qs.none()
    org = user.organisation
    if org.kind == "city":
        return qs.filter(Q(contractor__city=org) | Q(contractor=org))
    return qs.filter(contractor=org)


def terminals_for(user: Any) -> list[Terminal]:
    return list(visible_terminals(user))
