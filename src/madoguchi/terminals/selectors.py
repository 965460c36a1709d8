"""Reads about terminals."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from .models import Terminal


def terminals_for(user: Any) -> list[Terminal]:
    """Desks a user may see: a contractor's own; a city's contractors'; all for a superuser;
    none for anyone without an organisation."""
    qs = Terminal.objects.select_related("contractor").order_by("name")
    if user.is_superuser:
        return list(qs)
    if user.organisation_id is None:
        return []
    org = user.organisation
    if org.kind == "city":
        return list(qs.filter(Q(contractor__city=org) | Q(contractor=org)))
    return list(qs.filter(contractor=org))
