"""Ending a visit: its pending procedures discarded, the audit event, the incident when
something pending was lost, and the end hooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.prepared import Prepared, update_fields

from ... import procedures as registry
from ...constants import ProcedureStatus, VisitEndReason
from ...events import VISITS_ENDED
from ...models import Procedure, Visit
from .refusals import refuse_unless_expected

# A visit's procedures, compiled once per process (issue 15).
_PROCEDURES = Prepared(
    lambda visit_id: Procedure.objects.filter(visit_id=visit_id).order_by("pk"), visit_id=-15
)


def end_locked(
    visit: Visit, reason: VisitEndReason, *, at: datetime | None = None, actor: Any = None
) -> None:
    """End a locked, open visit (inside the caller's transaction)."""
    visit.ended_at = at or timezone.now()
    visit.end_reason = reason
    # The verified card read is kept only while the visit is open.
    visit.card_birth_date, visit.card_sex, visit.card_name = None, "", ""
    # The UPDATE's SQL written once per process (issue 15: `save()` compiled it on every end).
    update_fields(visit, ["ended_at", "end_reason", "card_birth_date", "card_sex", "card_name"])
    # Every procedure of the visit in one read (issue 15): the pending ones are discarded here,
    # the committed kinds are kept for the end hooks (the after-completion checklist check).
    procedures = _PROCEDURES(visit_id=visit.pk)
    for p in procedures:
        p.visit = visit  # as `visit.procedures` gives them
    pending = [p for p in procedures if p.status == ProcedureStatus.PENDING]
    visit.ended_procedure_kinds = {  # type: ignore[attr-defined]
        p.kind for p in procedures if p.status == ProcedureStatus.COMMITTED
    }
    for p in pending:
        p.status = ProcedureStatus.DISCARDED
        update_fields(p, ["status", "updated_at"])
    audit.record(
        VISITS_ENDED,
        actor=actor,
        terminal=visit.terminal,
        subject=visit,
        payload={
            "visit": visit.reference,
            "reason": str(reason.value),
            "discarded": [p.kind for p in pending],
        },
    )
    if pending and reason != VisitEndReason.NEXT_RESIDENT:
        params: dict[str, Any] = {
            "visit": visit.reference,
            "reason": incident_text.end_reason(VisitEndReason(reason).label),
            "count": len(pending),
        }
        # What the resident's card committed earlier in the visit stands: the sentence says so.
        committed = visit.completions.count()
        if committed:
            summary, text = incident_text.sentence(
                incident_text.VISIT_ENDED_WITH_PENDING_AFTER_COMMITTED,
                **params,
                committed=committed,
            )
        else:
            summary, text = incident_text.sentence(incident_text.VISIT_ENDED_WITH_PENDING, **params)
        # In the same transaction as the end it describes, dated at the end: a lapse the
        # sweeper applies after midnight (the visit ended at 23:50) is the earlier day's.
        incident_record(
            kind=IncidentKind.VISIT_ENDED_WITH_PENDING,
            reason_code=str(reason.value),
            severity=Severity.MEDIUM,
            summary=summary,
            visit=visit,
            terminal=visit.terminal,
            staff=visit.staff,
            detail={"pending": [p.kind for p in pending], "text": text},
            occurred_at=visit.ended_at,
        )
    for hook in registry.VISIT_END_HOOKS:
        hook(visit)


def visit_end(
    *, visit: Visit, reason: VisitEndReason, actor: Any = None, expected_visit: str | None = None
) -> Visit:
    """End `visit` (locked; already ended: nothing). With `expected_visit`, the visit the call
    was made for: another is refused under the lock (`refuse_unless_expected`)."""
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        refuse_unless_expected(locked, expected_visit)
        if locked.ended_at is None:
            end_locked(locked, reason, actor=actor)
    return locked
