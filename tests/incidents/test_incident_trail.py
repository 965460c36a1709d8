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


def test_the_other_card_that_ended_a_visit_is_on_its_incidents_trail(trusted, desk):  # noqa: F811
    """Probe F: the visit's end time was read before the card event was written, and the audit
    log times an event at commit: `visits.card_inserted` (the other card's certificate, what
    the card_swapped incident is about) fell after the end and out of the trail."""
    from madoguchi.desk import services
    from madoguchi.desk.constants import AgentEventKind
    from tests import cardkit
    from tests.visits import start_visit

    a, b = trusted.card("A"), trusted.card("B")
    visit = start_visit(desk, a)
    services.agent_event(
        terminal=desk.terminal,
        kind=AgentEventKind.INSERTED,
        cert_fingerprint=cardkit.fingerprint(b),
    )
    incident = Incident.objects.get(kind="card_swapped")
    trail = selectors.audit_trail(incident)
    inserted = [e for e in trail if e.event_name == "visits.card_inserted"]
    assert [e.payload["certificate"] for e in inserted] == [cardkit.fingerprint(b)]
    assert "visits.card_inserted" in [e.event_name for e in case_selectors.visit_trail(visit)]


def test_the_card_removal_that_ended_a_visit_is_on_its_trail(trusted, desk):  # noqa: F811
    """Probe F: the removal that ended a visit with a procedure pending was missing from the
    incident's trail and the case page's visit trail; what the terminal records after the
    visit's end (the next visit's card) still is not."""
    from madoguchi.desk import services
    from madoguchi.desk.constants import AgentEventKind
    from tests import cardkit
    from tests.visits import start_visit

    visit = start_visit(desk, trusted.card("A"))
    services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": "PAY-A-0001", "points": 5}
    )
    services.agent_event(terminal=desk.terminal, kind=AgentEventKind.REMOVED, cert_fingerprint=None)
    services.agent_event(
        terminal=desk.terminal,
        kind=AgentEventKind.INSERTED,
        cert_fingerprint=cardkit.fingerprint(trusted.card("B")),
    )
    incident = Incident.objects.get(kind="visit_ended_with_pending")
    names = [e.event_name for e in selectors.audit_trail(incident)]
    assert names.count("visits.card_removed") == 1
    assert "visits.card_inserted" not in names  # after the end: not this visit's
    visit.refresh_from_db()
    assert "visits.card_removed" in [e.event_name for e in case_selectors.visit_trail(visit)]
