"""The case's published report: its title and prevention measures, edited by an official."""

from __future__ import annotations

from django.db import transaction

from madoguchi.accounts.models import User
from madoguchi.audit import services as audit

from ..events import CASES_REPORT_EDITED
from ..models import Case
from .access import require_official


def case_report_edit(case: Case, *, actor: User, title: str, prevention: str) -> Case:
    require_official(actor)
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(report_title=title, report_prevention=prevention)
        audit.record(
            CASES_REPORT_EDITED, actor=actor, subject=case, payload={"case": case.reference}
        )
    case.report_title, case.report_prevention = title, prevention
    return case
