"""The insurer's answers to one city's case suspension are that city's incidents: the
insurer's refusal (the outbox) and reconcile's finding that the insurer still holds a
suspended registration were recorded with no desk and no organisation, which the deskless
rule showed to every city's officials (side doors, round 20)."""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.benefits.models import HealthInsuranceRegistration
from madoguchi.benefits.services import outbox
from madoguchi.benefits.services.reconcile import reconcile
from madoguchi.cases import services as cases
from madoguchi.incidents.models import Incident
from tests import factories
from tests.benefits.conftest import drain
from tests.benefits.test_case_health_insurance import _case, _registered

pytestmark = pytest.mark.usefixtures("providers", "systems")
D = {"event_date": date(2026, 12, 1), "date_precision": "day"}


def _member(org, role, name):
    user = User.objects.create_user(username=name, password=factories.PASSWORD, organisation=org)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


def _readers(incident, case):
    """What another city's official, this city's official and the desk's contractor's
    supervisor each see of the incident: its page and whether the incident lists name the case."""
    kita = Organisation.objects.create(name="北市", kind=OrganisationKind.CITY)
    seen = {}
    for who, user in (
        ("another city", _member(kita, Role.CITY_OFFICIAL, "kita-official")),
        ("this city", factories.staff(Role.CITY_OFFICIAL)),
        ("the contractor", factories.staff(Role.SUPERVISOR)),
    ):
        client = Client()
        client.force_login(user)
        page = client.get(f"/incidents/{incident.pk}/?reason=incident")
        listed = client.get("/officials/incidents/?reason=incident").content.decode()
        seen[who] = (page.status_code, case.reference in listed)
    return seen


def test_the_insurers_refusal_of_a_citys_suspension_is_that_citys_incident_only(
    trusted, desk, sims, systems
):
    _c, reg = _registered(trusted, desk)
    HealthInsuranceRegistration.objects.filter(pk=reg.pk).update(registration_ref="ins-reg-999999")
    official, case = _case(reg)
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    assert [o.outcome for o in drain().outcomes] == ["refused"]
    incident = Incident.objects.get(reason_code="insurer_refused_suspension")
    assert _readers(incident, case) == {
        "another city": (404, False),
        "this city": (200, True),
        "the contractor": (404, False),
    }
    assert incident.terminal is None  # the city's, not the desk's daily report


def test_reconciles_suspended_but_still_registered_is_that_citys_incident_only(
    trusted, desk, sims, systems, monkeypatch
):
    _c, reg = _registered(trusted, desk)
    official, case = _case(reg)
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    # Our row says suspended, but the insurer never cancelled it.
    monkeypatch.setattr(
        outbox, "_send_cancel", lambda call: outbox.Answer("cancelled", ref="x", status="x")
    )
    drain()
    monkeypatch.undo()
    assert [f.finding for f in reconcile().disagreements] == ["suspended_but_registered"]
    incident = Incident.objects.get(reason_code="reconcile_suspended_but_registered")
    seen = _readers(incident, case)
    assert (seen["another city"][0], seen["this city"][0]) == (404, 200)
