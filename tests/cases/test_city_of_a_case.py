"""Which city's officials read a case (`cases.selectors.visible_cases`), on a server serving
several cities (side doors, round 20): a case at a desk the city runs itself was no one's; a
case opened from a desk's incident, and any case without a desk, followed the opener's
*current* organisation, so moving the opener moved the case to another city."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.test import Client

from madoguchi.accounts.constants import Role
from madoguchi.cases import services as cases
from madoguchi.cases.models import Case
from madoguchi.incidents import services as incidents
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.terminals import services as terminal_services
from tests import cities, factories
from tests.residents.test_resident_page import (  # noqa: F401
    _origins,
    desk_completion,
    sign_in,
)


def _opens(user, case) -> int:
    client = Client()
    client.force_login(user)
    return client.get(f"/cases/{case.pk}/?reason=case_work").status_code


def _intake_fields(form_page: str) -> dict[str, str]:
    """The intake form's hidden fields (its send-once key) and the official's entries."""
    data = {
        m.group(1): m.group(2)
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form_page)
    }
    data.update(
        title="申し出", resident_label="A氏", reported_by="A氏", summary="心当たりがない",
        event_date="2026-12-01", date_precision="day", channel="in_person",
    )  # fmt: skip
    return data


@pytest.mark.django_db
def test_a_not_me_case_at_a_desk_the_city_runs_itself_reaches_that_citys_officials(trusted):
    """A desk whose terminal's contractor is the city itself (the admin and `terminal register`
    take any organisation; `visible_terminals` counts the city's own desks as the city's)."""
    city = factories.city()
    city_desk = terminal_services.terminal_register(
        name="city-desk", location="本庁 1階", contractor=city, actor=None
    )
    desk = terminal_services.desk_session_open(
        terminal=city_desk, staff=cities.member(city, Role.DESK_STAFF, "cityclerk")
    )
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    resident = Client()
    assert sign_in(resident, a).status_code == 200
    r = resident.post(f"/me/not-me/completion/{completion.pk}/", {"reason": "never_applied"})
    assert r.status_code in (200, 302), r.status_code
    case = Case.objects.get()
    assert case.terminal_id == city_desk.pk
    official = factories.staff(Role.CITY_OFFICIAL)
    client = Client()
    client.force_login(official)
    # The incident of the same report was on the official's pages (the desk is theirs)...
    assert client.get(f"/incidents/{case.incident_id}/?reason=case_work").status_code == 200
    # ...and so is its case now, on the list and its own page.
    assert case.reference in client.get("/cases/?reason=case_work").content.decode()
    assert _opens(official, case) == 200
    kita = cities.kita()
    assert _opens(cities.member(kita.city, Role.CITY_OFFICIAL, "kitaofficial"), case) == 404


@pytest.mark.django_db
def test_a_case_opened_from_a_desks_incident_stays_with_the_desks_city():
    """A supervisor opens the case of an incident at テスト市's desk (/cases/new/?incident=),
    then is moved to 北市's contractor (the admin's organisation field): the case stays
    テスト市's, the desk's city."""
    kita = cities.kita()
    desk = factories.terminal()
    incident = incidents.incident_record(
        kind=IncidentKind.COMPLAINT, reason_code="complaint", severity=Severity.HIGH,
        summary="窓口での申し出", terminal=desk,
    )  # fmt: skip
    supervisor = factories.staff(Role.SUPERVISOR)
    client = Client()
    client.force_login(supervisor)
    form = client.get(f"/cases/new/?incident={incident.pk}").content.decode()
    r = client.post(f"/cases/new/?incident={incident.pk}", _intake_fields(form))
    assert r.status_code == 302, r.content.decode()[:3000]
    case = Case.objects.get(incident=incident)
    assert case.terminal_id == desk.pk  # the incident's desk is the case's
    supervisor.organisation = kita.contractor
    supervisor.save()
    assert _opens(cities.member(kita.city, Role.CITY_OFFICIAL, "kitaofficial"), case) == 404
    assert _opens(factories.staff(Role.CITY_OFFICIAL), case) == 200


@pytest.mark.django_db
def test_a_case_without_a_desk_stays_with_the_city_it_was_opened_in():
    """A free-text intake (a call; the scan's findings open theirs so too) keeps the city its
    opener served when it was opened."""
    kita = cities.kita()
    supervisor = factories.staff(Role.SUPERVISOR)  # テスト市's contractor
    case = cases.case_open(
        actor=supervisor, title="電話での申し出", resident_label="A氏", reported_by="A氏",
        summary="心当たりのない紐付け", date_precision="unknown",
    )  # fmt: skip
    assert case.terminal is None
    supervisor.organisation = kita.contractor
    supervisor.save()
    kita_official = cities.member(kita.city, Role.CITY_OFFICIAL, "kitaofficial")
    assert _opens(kita_official, case) == 404
    assert _opens(factories.staff(Role.CITY_OFFICIAL), case) == 200


@pytest.mark.django_db
def test_the_migration_gives_a_case_opened_before_it_its_openers_organisation():
    official = factories.staff(Role.CITY_OFFICIAL)
    case = cases.case_open(
        actor=official, title="t", resident_label="A氏", reported_by="A氏", summary="s",
        date_precision="unknown",
    )  # fmt: skip
    Case.objects.filter(pk=case.pk).update(organisation=None)  # as the column was added
    migration = importlib.import_module("madoguchi.cases.migrations.0014_case_organisation")
    migration.fill(apps, None)
    case.refresh_from_db()
    assert case.organisation == official.organisation
    kita = cities.kita()
    assert _opens(cities.member(kita.city, Role.CITY_OFFICIAL, "kitaofficial"), case) == 404
