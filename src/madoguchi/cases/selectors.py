"""Reads for cases."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from madoguchi.audit.models import AuditEvent


def visit_trail(visit: Any) -> QuerySet[AuditEvent]:
    """The audit trail of a visit: events about the visit or its completions, and everything
    recorded at its terminal while it was open (card insertions and removals included)."""
    completions = [str(pk) for pk in visit.completions.values_list("pk", flat=True)]
    end = visit.ended_at or timezone.now()
    return AuditEvent.objects.filter(
        Q(subject_type="desk.visit", subject_id=str(visit.pk))
        | Q(subject_type="desk.completion", subject_id__in=completions)
        | Q(terminal_id=str(visit.terminal_id), time__gte=visit.started_at, time__lte=end)
    ).order_by("seq")
