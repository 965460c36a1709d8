"""What the benefits services share: their refusal, and the desk's outside-failure step."""

from __future__ import annotations

from typing import Any

from madoguchi.desk.models import Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.outside import OutsideError
from madoguchi.refusals import Refusal


class BenefitsRefused(Refusal):
    """A refused benefits operation."""

    code = "benefits_refused"
    status = 409


def truthy(value: Any) -> bool:
    return value is True or value in ("true", "on", "1", 1)


def outside_failure(
    visit: Visit, exc: OutsideError, what: dict[str, Any], field: str
) -> ProcedureInvalid:
    """Record the incident of an outside system's answer: OUTSIDE_REFUSED where it said no
    (`exc.refusal`: no such account, a wrong security code, …), OUTSIDE_FAILURE where it could
    not be reached or answered wrongly; the ProcedureInvalid to raise (staff's message)."""
    summary, text = incident_text.sentence(
        incident_text.OUTSIDE_FAILED, reason=incident_text.refusal(exc)
    )
    incident_record(
        kind=IncidentKind.OUTSIDE_REFUSED if exc.refusal else IncidentKind.OUTSIDE_FAILURE,
        reason_code=exc.code,
        severity=Severity.LOW,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={
            **what,
            "code": exc.code,
            "status": exc.status,
            "attempts": exc.attempts,
            "text": text,
        },
    )
    return ProcedureInvalid.carrying(exc.code, ja=exc.message_ja, en=exc.message_en, field=field)
