"""The admin kept to the operator's city, and a desk's city kept with its history (side doors,
round 20).

README's city setup: `staff add operator1 --role operator --organisation 'Sakai City'`, `staff
flag operator1 staff on` (admin access, not the superuser flag). On the officials' pages an
operator sees their own city's desks only (`visible_terminals`); the admin handed them a
second city's residents' links, desks, staff and audit events, and its forms offered every
city's organisations. And a terminal's contractor (or a contractor's city) changed in the admin
took the desk's whole history to another city's officials."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation
from madoguchi.audit.models import AuditEvent
from madoguchi.incidents import services as incidents
from madoguchi.incidents.constants import IncidentKind, Severity
from tests import cities, factories

pytestmark = pytest.mark.django_db


def _operator(superuser=False):
    """テスト市's operator with admin access (the README's), signed in with the second factor."""
    operator = factories.staff(Role.OPERATOR)
    operator.is_staff = True
    operator.is_superuser = superuser
    operator.save()
    client = Client()
    factories.verified_login(client, operator)
    factories.reasons_given(client, *(f"/admin/{p}/" for p in _RESIDENT_LISTS))
    return operator, client


_RESIDENT_LISTS = ("benefits/paymentlink", "incidents/incident")


def _both_cities():
    """北市 with a resident's link at its desk and an incident there; テスト市 with the same."""
    kita = cities.kita()
    kita_incident = incidents.incident_record(
        kind=IncidentKind.COMPLAINT, reason_code="complaint", severity=Severity.LOW,
        summary="北市の窓口で", terminal=kita.desk,
    )  # fmt: skip
    from madoguchi.terminals import services as terminal_services
    from tests.benefits import builders

    ours = factories.terminal("test-01")
    session = terminal_services.desk_session_open(terminal=ours, staff=factories.staff())
    our_link = builders.link(
        builders.holder(),
        programme=builders.programme(),
        provider=builders.provider(),
        account="7010000000001234",
        session=session,
    )
    return kita, kita_incident, ours, our_link


def _change(client, path, pk):
    """An admin record's page, with a reason given where it asks one."""
    url = f"/admin/{path}/{pk}/change/"
    page = client.get(url)
    if 'data-testid="reason-form"' in page.content.decode():
        page = client.get(url + "?reason=audit", follow=True)
    return page.status_code


def test_a_citys_operator_neither_lists_nor_opens_another_citys_records():
    kita, kita_incident, ours, our_link = _both_cities()
    kita_official = cities.member(kita.city, Role.CITY_OFFICIAL, "kitaofficial")
    _operator_user, client = _operator()
    their = {
        "benefits/paymentlink": kita.link.pk,
        "terminals/terminal": kita.desk.pk,
        "terminals/desksession": kita.session.pk,
        "accounts/user": kita_official.pk,
        "accounts/organisation": kita.contractor.pk,
        "incidents/incident": kita_incident.pk,
    }
    mine = {
        "benefits/paymentlink": our_link.pk,
        "terminals/terminal": ours.pk,
        "accounts/user": factories.staff(Role.CITY_OFFICIAL).pk,
        "accounts/organisation": factories.contractor().pk,
    }
    # Another city's record answers as a missing one, on its page, its history and its
    # deletion; the city's own opens as before.
    assert {path: _change(client, path, pk) for path, pk in their.items()} == dict.fromkeys(
        their, 404
    )
    assert {
        path: _change(client, path, pk + 10_000) for path, pk in their.items()
    } == dict.fromkeys(their, 404)
    assert client.get(f"/admin/terminals/terminal/{kita.desk.pk}/history/").status_code == 404
    assert {path: _change(client, path, pk) for path, pk in mine.items()} == dict.fromkeys(
        mine, 200
    )
    links = client.get("/admin/benefits/paymentlink/").content.decode()
    assert ("＊＊＊＊9999" in links, "＊＊＊＊1234" in links) == (False, True)
    desks = client.get("/admin/terminals/terminal/").content.decode()
    assert ("kita-01" in desks, "test-01" in desks) == (False, True)
    members = client.get("/admin/accounts/user/").content.decode()
    assert ("kitaofficial" in members, "kitadesk" in members) == (False, False)
    assert "北窓口株式会社" not in members  # the organisation filter offered every one
    # The superuser flag, the server's own, sees every city's.
    _su, superuser = _operator(superuser=True)
    assert _change(superuser, "benefits/paymentlink", kita.link.pk) == 200
    assert "kita-01" in superuser.get("/admin/terminals/terminal/").content.decode()


def test_a_citys_operator_changes_nothing_of_another_city():
    kita = cities.kita()
    _operator_user, client = _operator()
    kita_official = cities.member(kita.city, Role.CITY_OFFICIAL, "kitaofficial")
    r = client.post(
        f"/admin/accounts/user/{kita_official.pk}/change/",
        {"username": "taken-over", "is_active": "on", "display_name": "x",
         "organisation": factories.city().pk},
    )  # fmt: skip
    assert r.status_code == 404
    r = client.post(
        f"/admin/accounts/user/{kita_official.pk}/password/",
        {"password1": "a new long password 1", "password2": "a new long password 1"},
    )
    assert r.status_code == 404
    kita_official.refresh_from_db()
    assert (kita_official.username, kita_official.organisation) == ("kitaofficial", kita.city)
    assert kita_official.check_password(factories.PASSWORD)


def test_the_admins_forms_offer_only_the_operators_own_city():
    kita = cities.kita()
    _operator_user, client = _operator()
    for url in ("/admin/terminals/terminal/add/", "/admin/accounts/user/add/"):
        page = client.get(url).content.decode()
        assert "テスト窓口株式会社" in page or "テスト市" in page, url
        assert "北窓口株式会社" not in page, url
        assert "北市" not in page, url
    # A desk registered by the operator is their city's, whatever the form is sent with.
    r = client.post(
        "/admin/terminals/terminal/add/",
        {"name": "kita-02", "location": "北市役所", "contractor": kita.contractor.pk,
         "is_active": "on",
         "credentials-TOTAL_FORMS": "0", "credentials-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert r.status_code == 200  # the form again, saying the choice is not one of its own
    assert not kita.contractor.terminals.filter(name="kita-02").exists()


def test_the_audit_log_in_the_admin_is_the_operators_citys():
    kita = cities.kita()
    _operator_user, client = _operator()
    theirs = AuditEvent.objects.filter(terminal_id=str(kita.desk.pk)).latest("seq")
    ours = factories.terminal("test-01")
    mine = AuditEvent.objects.filter(event_name="terminals.registered").latest("seq")
    assert mine.subject_id == str(ours.pk)
    assert _change(client, "audit/auditevent", theirs.seq) == 404
    assert _change(client, "audit/auditevent", mine.seq) == 200
    listed = client.get("/admin/audit/auditevent/").content.decode()
    assert f"/admin/audit/auditevent/{theirs.seq}/change/" not in listed


def _hidden_and(page: str, **fields: str) -> dict[str, str]:
    data = {
        m.group(1): m.group(2)
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }
    data.update(fields)
    return data


@pytest.mark.parametrize("superuser", [False, True])
def test_a_terminals_contractor_is_not_changed_in_the_admin(superuser):
    """A PC handed to another contractor, moved in the admin: every page reads a visit's,
    incident's and report's city from the terminal's *current* contractor, so the desk's past
    visits became another city's. Now the contractor is shown, not offered, saying why; even
    the superuser flag registers a new terminal instead."""
    kita = cities.kita()
    _operator_user, client = _operator(superuser=superuser)
    desk = factories.terminal("test-01") if not superuser else kita.desk
    url = f"/admin/terminals/terminal/{desk.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="contractor"' not in page
    assert "madoguchi terminal register" in page  # why, and what to do instead
    other = factories.contractor() if superuser else kita.contractor
    r = client.post(
        url,
        _hidden_and(page, name=desk.name, location=desk.location, contractor=str(other.pk),
                    is_active="on"),
    )  # fmt: skip
    assert r.status_code == 302
    desk.refresh_from_db()
    assert desk.contractor != other
    if superuser:  # 北市's resident's visit stays 北市's
        client = Client()
        client.force_login(factories.staff(Role.CITY_OFFICIAL))
        visit = kita.link.visit
        r = client.get(f"/officials/visits/{visit.public_id}/?reason=daily_check")
        assert r.status_code == 404


def test_a_contractors_city_is_not_changed_once_it_has_desks():
    kita = cities.kita()
    _su, client = _operator(superuser=True)
    url = f"/admin/accounts/organisation/{kita.contractor.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="city"' not in page
    assert 'name="kind"' not in page
    assert "madoguchi organisation add" in page
    r = client.post(
        url, {"name": kita.contractor.name, "kind": "contractor", "city": factories.city().pk}
    )
    assert r.status_code == 302
    kita.contractor.refresh_from_db()
    assert kita.contractor.city == kita.city
    # One without desks yet is still set right in the admin.
    spare = Organisation.objects.create(
        name="新窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=kita.city
    )
    page = client.get(f"/admin/accounts/organisation/{spare.pk}/change/").content.decode()
    assert 'name="city"' in page
