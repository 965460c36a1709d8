"""Recording incidents. Each is committed on its own, so a refusal that rolls back the work it
refused still leaves its incident behind."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from madoguchi.accounts.models import User
from madoguchi.audit import services as audit
from madoguchi.terminals.models import Terminal

from .constants import IncidentKind, Severity
from .models import Incident


def incident_record(
    *,
    kind: IncidentKind,
    reason_code: str,
    severity: Severity,
    summary: str,
    visit: Any = None,
    terminal: Terminal | None = None,
    staff: User | None = None,
    detail: dict[str, Any] | None = None,
) -> Incident:
    with transaction.atomic():
        incident = Incident.objects.create(
            kind=kind,
            reason_code=reason_code,
            severity=severity,
            summary=summary[:500],
            visit=visit,
            terminal=terminal,
            staff=staff,
            detail=detail or {},
        )
        audit.record(
            "incidents.recorded",
            actor=staff,
            terminal=terminal,
            subject=incident,
            payload={
                "kind": str(kind),
                "reason": reason_code,
                "severity": str(severity),
                "visit": visit.pk if visit is not None else None,
            },
        )
    return incident
