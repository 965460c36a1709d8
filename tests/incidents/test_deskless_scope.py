"""Issue 11 item 7: incidents without a desk are read only by the organisation that recorded
them and by the city."""

import pytest
from django.contrib.auth.models import Group

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.incidents import services
from madoguchi.incidents.constants import IncidentKind, Severity
from tests import factories

pytestmark = pytest.mark.django_db


def _supervisor_of(org):
    user = User.objects.create_user(
        username=f"sv-{org.pk}", password=factories.PASSWORD, organisation=org
    )
    user.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR.value)[0])
    return user


def test_a_deskless_complaint_is_not_readable_by_another_contractor(client):
    mine = factories.contractor()
    other = Organisation.objects.create(
        name="別の窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=factories.city()
    )
    author = _supervisor_of(mine)
    stranger = _supervisor_of(other)
    incident = services.incident_complaint(
        recorded_by=author, terminal=None, summary="電話での苦情", severity=Severity.HIGH
    )
    assert incident.organisation == mine
    url = f"/incidents/{incident.pk}/"

    client.force_login(stranger)
    assert client.get(url).status_code == 404  # as a missing incident
    assert "電話での苦情" not in client.get("/incidents/").content.decode()

    client.force_login(author)
    assert client.get(url).status_code == 200
    assert "電話での苦情" in client.get("/incidents/").content.decode()

    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    assert client.get(url).status_code == 200


def test_a_system_incident_without_desk_or_recorder_is_for_the_city_only(client):
    incident = services.incident_record(
        kind=IncidentKind.OUTSIDE_FAILURE,
        reason_code="payout_failed",
        severity=Severity.MEDIUM,
        summary="payout batch failed",
    )
    client.force_login(_supervisor_of(factories.contractor()))
    assert client.get(f"/incidents/{incident.pk}/").status_code == 404
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    assert client.get(f"/incidents/{incident.pk}/").status_code == 200
