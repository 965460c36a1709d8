"""A name check's no match says its reason once, and the reports group it by its reason code
with that sentence shown once: the incident read "一致しませんでした（名義が一致しません。…）",
and rows recorded with that whole sentence, with the shorter one or with none (before
sentences were kept) were read differently."""

import pytest
from django.utils import timezone, translation

from madoguchi.incidents import services as incidents
from madoguchi.incidents import text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.namecheck.reasons import Reason
from madoguchi.reports import exports, selectors, services

pytestmark = pytest.mark.django_db

SAID_ONCE_JA = "名義照合：一致しませんでした（別の方の口座の可能性があります）。"
SAID_ONCE_EN = "Name check: no match (The account may belong to someone else); nothing was linked."


def _no_match(terminal, detail):
    return incidents.incident_record(
        kind=IncidentKind.NAME_CHECK,
        reason_code="DIFFERENT",
        severity=Severity.MEDIUM,
        summary="Name check: no match (DIFFERENT); nothing was linked.",
        terminal=terminal,
        detail=detail,
    )


def test_a_no_match_reads_its_reason_once_and_groups_by_its_code(desk):
    terminal = desk.terminal
    summary, now = text.sentence(
        text.NAME_CHECK_NO_MATCH, reason=text.no_match_reason(Reason.DIFFERENT)
    )
    assert summary == SAID_ONCE_EN
    whole = {
        "id": text.NAME_CHECK_NO_MATCH,
        "params": {
            "reason": text.by_language(
                ja="名義が一致しません。別の方の口座の可能性があります",
                en="The names do not match; the account may belong to someone else",
            )
        },
    }
    rows = [_no_match(terminal, {"text": now}), _no_match(terminal, {"text": whole})]
    rows.append(_no_match(terminal, {"reason": "DIFFERENT"}))
    for row in Incident.objects.filter(pk__in=[r.pk for r in rows]):
        assert SAID_ONCE_JA in text.incident_text(row)
        assert "名義が一致しません" not in text.incident_text(row)
        with translation.override("en"):
            assert text.incident_text(row) == SAID_ONCE_EN

    content = services.build_daily(terminal, timezone.localdate())
    assert exports.refusal_rows(content) == [("名義照合：別の方の口座の可能性があります", 3)]
    series = selectors.dashboard_series([terminal], [timezone.localdate()])
    assert series["refusals"] == {"別の方の口座の可能性があります": [3]}
    assert series["refusals_by_desk"][terminal.name] == {"別の方の口座の可能性があります": [3]}
