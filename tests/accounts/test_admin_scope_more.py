"""The admin kept to the operator's city: the doors the first scoping left open (side doors,
round 20, again). Another city's contact block and programmes were still added (or changed)
through the forms, a member moved to another city took their old city's audit events with
them, and a city whose desks are its contractors' still had its kind and city changed."""

from __future__ import annotations

import pytest

from madoguchi.accounts.constants import Role
from madoguchi.accounts.events import LOCKOUT_LIFTED
from madoguchi.accounts.models import Organisation, User
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.constants import ProgrammeScope
from madoguchi.benefits.models import Programme
from madoguchi.cases.models import CityContact
from madoguchi.terminals.selectors import visible_terminals
from tests import cities, factories
from tests.accounts.test_admin_city_scope import _operator

pytestmark = pytest.mark.django_db

_CONTACT_ADD = "/admin/cases/citycontact/add/"
_PROGRAMME_ADD = "/admin/benefits/programme/add/"
_NO_VERSIONS = {
    "versions-TOTAL_FORMS": "0",
    "versions-INITIAL_FORMS": "0",
    "versions-MIN_NUM_FORMS": "0",
    "versions-MAX_NUM_FORMS": "1000",
}


def _contact(city: Organisation | None, phone: str) -> dict[str, object]:
    return {
        **({"city": city.pk} if city is not None else {}),
        "city_name": city.name if city is not None else "",
        "department": "市民課",
        "phone": phone,
        "fax": "",
    }


def test_an_operator_does_not_set_another_citys_contact_block():
    """問い合わせ先 is per city: テスト市's operator neither adds nor opens nor lists 北市's,
    which 北市's letters and case reports print."""
    kita = cities.kita()
    theirs = CityContact.objects.create(
        city=kita.city, city_name="北市", department="北市 市民課", phone="06-0000-0001"
    )
    _op, client = _operator()
    page = client.get(_CONTACT_ADD).content.decode()
    offered = f'<option value="{kita.city.pk}">北市</option>' in page
    r = client.post(_CONTACT_ADD, _contact(kita.city, "0120-999-999"))
    added = CityContact.objects.filter(city=kita.city, phone="0120-999-999").exists()
    opened = client.get(f"/admin/cases/citycontact/{theirs.pk}/change/").status_code
    listed = "06-0000-0001" in client.get("/admin/cases/citycontact/").content.decode()
    assert (offered, r.status_code, added, opened, listed) == (False, 200, False, 404, False)


def test_an_operator_keeps_their_own_citys_contact_block_and_reads_the_shared_one():
    """Their own city's block is theirs to add and change; one naming no city (every city's
    without its own) is shown to them but changed by the superuser flag only, and a block
    naming no city is not added by an operator."""
    shared = CityContact.objects.create(department="代表 窓口課", phone="0120-0")
    operator, client = _operator()
    assert client.post(_CONTACT_ADD, _contact(None, "03-0")).status_code == 200
    assert not CityContact.objects.filter(phone="03-0").exists()
    assert client.post(_CONTACT_ADD, _contact(operator.organisation, "03-1")).status_code == 302
    ours = CityContact.objects.get(phone="03-1")
    url = f"/admin/cases/citycontact/{ours.pk}/change/"
    assert client.post(url, _contact(operator.organisation, "03-2")).status_code == 302
    ours.refresh_from_db()
    assert ours.phone == "03-2"
    shared_url = f"/admin/cases/citycontact/{shared.pk}/change/"
    assert client.get(shared_url).status_code == 200  # shown, to read
    client.post(shared_url, _contact(operator.organisation, "03-9"))
    shared.refresh_from_db()
    assert (shared.city_id, shared.phone) == (None, "0120-0")
    assert client.post(f"/admin/cases/citycontact/{shared.pk}/delete/", {"post": "yes"})
    client.post(
        "/admin/cases/citycontact/",
        {"action": "delete_selected", "_selected_action": [shared.pk], "post": "yes"},
    )
    assert CityContact.objects.filter(pk=shared.pk).exists()
    _su, admin_client = _operator(superuser=True)
    assert admin_client.post(shared_url, _contact(None, "0120-1")).status_code == 302
    shared.refresh_from_db()
    assert shared.phone == "0120-1"


def _programme(code: str, municipality: str, scope: str = ProgrammeScope.MUNICIPAL):
    return {"code": code, "scope": scope, "municipality": municipality, "is_active": "on",
            **_NO_VERSIONS}  # fmt: skip


def test_an_operator_does_not_add_a_programme_for_another_city():
    """Programmes naming 北市 are hidden from テスト市's operator, but the add form made one."""
    kita = cities.kita()
    _op, client = _operator()
    r = client.post(_PROGRAMME_ADD, _programme("kita-extra", kita.city.name))
    assert r.status_code == 200
    assert "ご自分の市（テスト市、131016）" in r.content.decode()
    client.post(_PROGRAMME_ADD, _programme("kita-code", kita.city.municipality_code))
    assert not Programme.objects.filter(code__in=["kita-extra", "kita-code"]).exists()


def test_an_operator_adds_their_own_citys_programme_but_does_not_repoint_one():
    """Their city by name or municipality code, or none, is theirs to add; a programme of
    theirs is not re-pointed to another city, nor a programme every city takes made theirs
    alone. The superuser flag is not held back."""
    kita = cities.kita()
    operator, client = _operator()
    city = operator.organisation
    for code, named in (("own-name", city.name), ("own-code", city.municipality_code), ("all", "")):
        assert client.post(_PROGRAMME_ADD, _programme(code, named)).status_code == 302, code
    ours = Programme.objects.get(code="own-name")
    url = f"/admin/benefits/programme/{ours.pk}/change/"
    assert client.post(url, _programme("own-name", kita.city.name)).status_code == 200
    shared = Programme.objects.get(code="all")
    url_shared = f"/admin/benefits/programme/{shared.pk}/change/"
    assert client.post(url_shared, _programme("all", city.name)).status_code == 200
    national = Programme.objects.create(code="national", scope=ProgrammeScope.NATIONAL)
    url_national = f"/admin/benefits/programme/{national.pk}/change/"
    assert client.post(url_national, _programme("national", city.name)).status_code == 200
    ours.refresh_from_db(), shared.refresh_from_db(), national.refresh_from_db()
    assert (ours.municipality, shared.municipality, national.scope) == (
        city.name,
        "",
        ProgrammeScope.NATIONAL,
    )
    _su, admin_client = _operator(superuser=True)
    assert admin_client.post(_PROGRAMME_ADD, _programme("kita-su", "北市")).status_code == 302


def test_a_member_who_moves_city_does_not_take_their_old_citys_audit_events():
    """A 北市 desk member later moved (by the superuser) to テスト市's contractor brought every
    event they made at 北市's desk into テスト市's operator's audit list. The desk's events stay
    北市's; what they do at no desk after the move is テスト市's."""
    kita = cities.kita()
    theirs = list(
        AuditEvent.objects.filter(terminal_id=str(kita.desk.pk)).values_list("seq", flat=True)
    )
    assert theirs
    mover = User.objects.get(username="kitadesk")
    mover.organisation = factories.contractor()  # テスト窓口株式会社, テスト市's contractor
    mover.save()
    deskless = audit.record(
        LOCKOUT_LIFTED, actor=mover, terminal=None, subject=mover,
        payload={"username": mover.username, "by": mover.username, "attempts": 1,
                 "with_password": True},
    )  # fmt: skip
    _op, client = _operator()
    listed = client.get("/admin/audit/auditevent/").content.decode()
    shown = [seq for seq in theirs if f"/admin/audit/auditevent/{seq}/change/" in listed]
    assert shown == []
    assert f"/admin/audit/auditevent/{deskless.seq}/change/" in listed


@pytest.mark.parametrize("superuser", [False, True])
def test_a_citys_kind_is_not_changed_while_its_contractors_run_desks(superuser):
    """The kind and city were read-only only once an organisation had terminals *of its own*;
    a city whose desks are its contractors' (README, Setting up a city) kept them editable:
    made a contractor, its officials lost every desk, visit, incident and case of its
    contractors (visible_terminals reads a city's desks by its kind)."""
    ours = factories.terminal("test-01")  # テスト窓口株式会社's desk, serving テスト市
    city = factories.city()
    official = factories.staff(Role.CITY_OFFICIAL)
    assert ours in visible_terminals(official)
    _op, client = _operator(superuser=superuser)
    url = f"/admin/accounts/organisation/{city.pk}/change/"
    page = client.get(url).content.decode()
    offered = 'name="kind"' in page
    client.post(
        url, {"name": city.name, "kind": "contractor", "city": city.pk if not superuser else "",
              "municipality_code": ""}
    )  # fmt: skip
    city = Organisation.objects.get(pk=city.pk)
    official.refresh_from_db()
    assert (offered, city.kind, ours in visible_terminals(official)) == (False, "city", True)


def test_a_city_without_desks_keeps_its_kind_editable():
    """A city none of whose contractors has a desk yet is still set up in the admin."""
    kita = cities.kita()
    _su, client = _operator(superuser=True)
    fresh = Organisation.objects.create(name="南市", kind="city")
    Organisation.objects.create(name="南窓口", kind="contractor", city=fresh)
    page = client.get(f"/admin/accounts/organisation/{fresh.pk}/change/").content.decode()
    assert 'name="kind"' in page
    page = client.get(f"/admin/accounts/organisation/{kita.city.pk}/change/").content.decode()
    assert 'name="kind"' not in page
