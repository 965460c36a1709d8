"""An incident's audit trail is its visit's whole trail, as the case page shows it. A resident's
"this was not me" on a signed completion became an incident whose page listed the visit's start,
ticks and end but not the completion the resident signed nor what it committed: the events
about the completion, or recorded at the terminal during the visit, name the visit as no
subject."""

from __future__ import annotations

from madoguchi.cases import selectors as case_selectors
from madoguchi.incidents import selectors
from madoguchi.incidents.models import Incident
from tests.residents.test_resident_page import (  # noqa: F401 - fixtures
    _origins,
    desk,
    report_not_me,
)


def test_a_not_me_incidents_trail_has_the_signed_completion_as_the_cases_has(
    trusted,
    desk,  # noqa: F811
):
    report_not_me(trusted, desk)
    incident = Incident.objects.get(reason_code="resident_not_me")
    names = [e.event_name for e in selectors.audit_trail(incident)]
    assert "visits.procedure_prepared" in names
    assert "visits.completed" in names  # the completion the resident signed
    assert "incidents.recorded" in names
    # The case opened from it shows the same visit trail.
    visit_seqs = {e.seq for e in case_selectors.visit_trail(incident.visit)}
    assert visit_seqs <= {e.seq for e in selectors.audit_trail(incident)}
