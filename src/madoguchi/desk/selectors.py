"""Reads for visits."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .models import Visit
from .services import seconds_left


def visit_summary(visit: Visit) -> dict[str, Any]:
    now = timezone.now()
    return {
        "reference": visit.reference,
        "started_at": visit.started_at.isoformat(),
        "seconds_left": seconds_left(visit, now),
        "card_confirmed_seconds_ago": max(0, int((now - visit.last_presence_at).total_seconds())),
        "procedures": [
            {"id": p.pk, "kind": p.kind, "fields": shown_fields(p.fields), "status": p.status}
            for p in visit.procedures.order_by("pk")
        ],
        "completions": visit.completions.count(),
    }


def shown_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A procedure's fields as the desk page may see them: without keyed hashes and without
    the values a handler keeps only until commit (keys starting with "_")."""
    return {k: v for k, v in fields.items() if not k.startswith("_") and not k.endswith("_hash")}
