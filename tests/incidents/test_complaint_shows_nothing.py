"""Probe C (side doors, round 22): a complaint whose words show nothing.

A case's summary of only characters that show nothing (U+200B, U+2060 U+FEFF, a combining mark
alone) is refused as an empty one (tests/cases/test_text_that_shows_nothing.py). The complaint
form records an incident, listed in the desk's daily report and the city's incident list, from
the same kind of text: an incident that says nothing, recorded as written."""

import pytest
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from tests import factories
from tests.incidents.test_complaint_once import _complaint

NOTHING = ["\u200b", "\u2060\ufeff", "\u0301", " \u200b\u3000"]


@pytest.mark.parametrize("summary", NOTHING)
def test_a_complaint_that_shows_nothing_is_refused_as_an_empty_one(client, desk, summary):
    client.force_login(factories.staff(Role.SUPERVISOR))
    sent = _complaint(client, desk)
    sent["summary"] = summary
    r = client.post(reverse("incidents:complaint") + "?lang=ja", sent)
    assert not Incident.objects.filter(kind=IncidentKind.COMPLAINT).exists()
    assert r.status_code == 200, r.status_code
    assert "このフィールドは必須です。" in r.content.decode()


FILLERS = ["\u3164", "\uffa0", "\u2800", "\u115f\u1160"]


@pytest.mark.parametrize("summary", FILLERS)
def test_a_complaint_of_fillers_is_refused_as_an_empty_one(client, desk, summary):
    client.force_login(factories.staff(Role.SUPERVISOR))
    sent = _complaint(client, desk)
    sent["summary"] = summary
    r = client.post(reverse("incidents:complaint") + "?lang=ja", sent)
    assert r.status_code == 200, r.status_code
    assert "このフィールドは必須です。" in r.content.decode()
    assert not Incident.objects.filter(kind=IncidentKind.COMPLAINT).exists()


@pytest.mark.parametrize("who", ["\u200b", "\u3164", " \u2800 "])
def test_who_complained_that_shows_nothing_is_not_said(client, desk, who):
    """Who complained is optional: written as nothing, the incident said 「（申出人: ）」 with
    nothing after it, as if a name had been lost."""
    client.force_login(factories.staff(Role.SUPERVISOR))
    sent = _complaint(client, desk)
    sent["reported_by"] = who
    r = client.post(reverse("incidents:complaint") + "?lang=ja", sent)
    assert r.status_code == 302, r.status_code
    incident = Incident.objects.get(kind=IncidentKind.COMPLAINT)
    assert incident.detail["reported_by"] == ""
    assert incident.detail["text"]["id"] == "Complaint recorded by staff: %(text)s"


def test_the_service_refuses_a_complaint_of_fillers(desk):
    from madoguchi.incidents import services

    with pytest.raises(ValueError, match="needs a summary"):
        services.incident_complaint(
            recorded_by=factories.staff(Role.SUPERVISOR), terminal=desk.terminal, summary="\u3164"
        )
    assert not Incident.objects.exists()
