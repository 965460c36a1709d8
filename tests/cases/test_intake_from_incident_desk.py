"""The intake filled from an incident names the desk where it is (`Terminal.location`), never
the terminal's id: the city's incident report carries what is pre-filled."""

import html
import re

from django.urls import reverse

from madoguchi.cases.models import Case
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import Terminal
from tests import factories
from tests.visits import ORIGIN, start_visit

from .conftest import report_url


def _value(page: str, name: str) -> str:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', page, re.S
    )
    return html.unescape(m.group(1)) if m else ""


def _complaint(**where) -> Incident:
    return Incident.objects.create(
        kind=IncidentKind.COMPLAINT,
        reason_code="",
        severity=Severity.MEDIUM,
        summary="申込に心当たりがない",
        **where,
    )


def _intake(client, incident) -> tuple[str, str]:
    url = f"{reverse('cases:new')}?incident={incident.pk}&reason=case_work"
    return url, client.get(url).content.decode()


def test_a_case_opened_from_an_incident_names_the_desk_where_it_is_not_its_id(client, official):
    """The intake filled from an incident pre-filled 「窓口」 with the terminal's id (desk-07, its
    `__str__`) instead of its location: sent as filled, the city's incident report said
    「令和8年12月6日（日）、desk-07において、…」, a staff id in the city's published document (the
    seed reads 「本庁（堺区役所）の支援窓口において」)."""
    terminal = factories.terminal("desk-07")  # location 本庁 1階
    client.force_login(official)
    url, page = _intake(client, _complaint(terminal=terminal))
    sent = {
        n: _value(page, n)
        for n in ("once", "title", "reported_by", "summary", "desk_location", "event_date")
    }
    assert sent["desk_location"] == "本庁 1階", sent["desk_location"]
    sent.update(resident_label="A氏", channel="system", date_precision="day")
    client.post(url, sent)
    case = Case.objects.get()
    md = client.get(report_url(case, "report_md")).content.decode()
    content = md.split("### 1 内容")[1].split("### 2")[0]
    assert "desk-07" not in content
    assert "本庁 1階" in content


def test_an_incident_of_a_visit_names_the_visits_desk(client, official, trusted, settings):
    """An incident recorded on a visit but with no terminal of its own is at the visit's desk
    (`_incident_desk`), the desk whose city the case belongs to: its place is pre-filled."""
    settings.MADOGUCHI_ORIGIN = ORIGIN
    terminal = factories.terminal("desk-08")
    Terminal.objects.filter(pk=terminal.pk).update(location="北区役所 2階")
    desk = terminal_services.desk_session_open(
        terminal=Terminal.objects.get(pk=terminal.pk), staff=factories.staff()
    )
    visit = start_visit(desk, trusted.card("A"))
    client.force_login(official)
    _, page = _intake(client, _complaint(visit=visit))
    assert _value(page, "desk_location") == "北区役所 2階"


def test_a_terminal_without_a_location_leaves_the_desk_to_the_official(client, official):
    """A terminal with no location is not named by its id either: the field is left empty for
    the official (the report then reads 「市の支援窓口」)."""
    terminal = factories.terminal("desk-09")
    Terminal.objects.filter(pk=terminal.pk).update(location="")
    client.force_login(official)
    _, page = _intake(client, _complaint(terminal=Terminal.objects.get(pk=terminal.pk)))
    assert _value(page, "desk_location") == ""
    assert "desk-09" not in _value(page, "desk_location")
