"""An incident at a desk is read by whoever may see the desk (`visible_terminals`, the one rule
for desks): the list, the incident's page and the complaint form's desks agree on it."""

import pytest
from django.contrib.auth.models import Group

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.incidents import services
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.terminals import services as terminal_services
from tests import factories

pytestmark = pytest.mark.django_db


def _user_of(org, role):
    user = User.objects.create_user(
        username=f"{role.value}-{org.pk if org else 'none'}",
        password=factories.PASSWORD,
        organisation=org,
    )
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


def _desk(name, contractor):
    return terminal_services.terminal_register(
        name=name, location="本庁 1階", contractor=contractor, actor=None
    )


def _sees(client, user, incident, desk):
    client.force_login(user)
    detail = client.get(f"/incidents/{incident.pk}/").status_code
    listed = incident.summary in client.get("/incidents/").content.decode()
    form = client.get("/incidents/complaint/").content.decode()
    assert detail in (200, 404)  # another organisation's, as a missing one
    assert listed == (detail == 200)
    assert (f">{desk.name}<" in form) == listed
    return listed


def test_a_desks_incident_is_read_by_those_who_may_see_the_desk(client):
    city = factories.city()
    mine = factories.contractor()
    other_city = Organisation.objects.create(name="別の市", kind=OrganisationKind.CITY)
    other = Organisation.objects.create(
        name="別の窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=other_city
    )
    for desk_name, owner in (("desk-mine", mine), ("desk-city", city)):
        desk = _desk(desk_name, owner)
        incident = services.incident_record(
            kind=IncidentKind.COMPLAINT,
            reason_code="complaint",
            severity=Severity.LOW,
            summary=f"incident at {desk_name}",
            terminal=desk,
        )
        readers = {
            "own supervisor": _user_of(mine, Role.SUPERVISOR),
            "city official": _user_of(city, Role.CITY_OFFICIAL),
            "other supervisor": _user_of(other, Role.SUPERVISOR),
            "other city official": _user_of(other_city, Role.CITY_OFFICIAL),
        }
        seen = {who: _sees(client, user, incident, desk) for who, user in readers.items()}
        assert seen == {
            "own supervisor": owner == mine,
            "city official": True,
            "other supervisor": False,
            "other city official": False,
        }
        User.objects.filter(pk__in=[u.pk for u in readers.values()]).delete()
