"""Another city's incident and desk answer as missing ones (docs/security.md, "another city": "a
missing and another city's record answer alike"): an incident's page, a case's intake filled
from it and a desk's daily report said 403 for another city's and 404 for a number nobody
has, which told the reader which numbers exist (side doors, round 20)."""

import pytest
from django.test import Client

from madoguchi.accounts.constants import Role
from madoguchi.incidents import services as incidents
from madoguchi.incidents.constants import IncidentKind, Severity
from tests import cities, factories

pytestmark = pytest.mark.django_db


def _answers(client, theirs, missing):
    return client.get(theirs).status_code, client.get(missing).status_code


def test_another_citys_incident_and_a_missing_one_answer_alike():
    kita = cities.kita()
    theirs = incidents.incident_record(
        kind=IncidentKind.COMPLAINT, reason_code="complaint", severity=Severity.LOW,
        summary="北市の窓口", terminal=kita.desk,
    )  # fmt: skip
    gone = theirs.pk + 1000
    for role in (Role.CITY_OFFICIAL, Role.SUPERVISOR):
        client = Client()
        client.force_login(factories.staff(role))
        assert _answers(
            client,
            f"/incidents/{theirs.pk}/?reason=incident",
            f"/incidents/{gone}/?reason=incident",
        ) == (404, 404), role
        assert _answers(
            client, f"/cases/new/?incident={theirs.pk}", f"/cases/new/?incident={gone}"
        ) == (404, 404), role


def test_another_citys_daily_report_and_a_missing_desk_answer_alike():
    kita = cities.kita()
    gone = kita.desk.pk + 1000
    for role in (Role.CITY_OFFICIAL, Role.SUPERVISOR):
        client = Client()
        client.force_login(factories.staff(role))
        for tail in ("", "pdf", "xlsx"):
            assert _answers(
                client,
                f"/reports/{kita.desk.pk}/2026-12-01/{tail}?reason=daily_check",
                f"/reports/{gone}/2026-12-01/{tail}?reason=daily_check",
            ) == (404, 404), (role, tail)
