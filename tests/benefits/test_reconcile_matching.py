"""Reconcile matches the insurer's registrations with our calls as they really are: a card the
resident had registered elsewhere first (the insurer answered `already_registered`, its record
carries no key of ours), two registrations the insurer made for one call, and a suspension the
insurer goes on not doing after being asked twice (outside probe, round 20)."""

import dataclasses

import pytest

from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
from madoguchi.benefits.services import outbox
from madoguchi.benefits.services.reconcile import EXIT_NEW_INCIDENTS, EXIT_STILL_OPEN, reconcile
from madoguchi.cases import services as cases
from madoguchi.incidents.models import Incident
from tests.benefits.conftest import drain
from tests.benefits.test_case_health_insurance import D, _case, _registered
from tests.benefits.test_outbox import _hi_completion

pytestmark = pytest.mark.usefixtures("providers", "systems")


def test_a_card_registered_elsewhere_first_is_not_missing_at_the_insurer(trusted, desk, systems):
    """The resident registered the same card themselves (マイナポータル, a hospital's reader)
    before the worker sent our call: the insurer answers `already_registered` with its own
    registration, which carries no request reference of ours. Reconcile matched by request
    reference only, and reported the insurer as having lost it (a HIGH incident every
    time)."""
    _hi_completion(trusted, desk)
    p = OutsideCall.objects.get().payload
    numbers = (p["insurer_number"], p["insured_symbol"], p["insured_number"], p["branch"])
    elsewhere = systems.insurer.register_use(*numbers, p["certificate"])  # no request_ref
    assert [(o.outcome, o.code) for o in drain().outcomes] == [("registered", "")]
    reg = HealthInsuranceRegistration.objects.get()
    assert (reg.state, reg.insurer_status) == ("registered", "already_registered")
    assert reg.registration_ref == elsewhere.registration_ref
    report = reconcile()
    assert report.findings == [], [f.line() for f in report.findings]
    assert report.insurer_records == 1  # the insurer's registration compared with our call
    assert report.exit_code == 0
    assert not Incident.objects.filter(reason_code="reconcile_missing_at_insurer").exists()
    # Matched by the insurer's reference, it is still missed when the insurer drops it.
    systems.insurer.cancel_registration(elsewhere.registration_ref)
    assert [f.finding for f in reconcile().findings] == ["missing_at_insurer"]


def test_two_registrations_the_insurer_made_for_one_call_are_a_disagreement(
    trusted, desk, systems, monkeypatch
):
    """An insurer that ignored the idempotency key holds two registrations for our one call.
    Reconcile kept them in a dict by request reference: the second silently replaced the
    first, and the count of the insurer's records said 1."""
    _hi_completion(trusted, desk)
    drain()
    call = OutsideCall.objects.get()
    real = systems.insurer.registrations

    def doubled():
        rows = real()
        ours = [r for r in rows if r.request_ref == call.key]
        extra = [dataclasses.replace(r, registration_ref=r.registration_ref + "-2") for r in ours]
        return (*rows, *extra)

    monkeypatch.setattr(systems.insurer, "registrations", doubled)
    report = reconcile()
    assert [(f.finding, f.key, f.action) for f in report.disagreements] == [
        ("registered_twice", call.key, "incident recorded")
    ]
    assert report.insurer_records == 2
    assert report.exit_code == EXIT_NEW_INCIDENTS
    incident = Incident.objects.get(reason_code="reconcile_registered_twice")
    ref = HealthInsuranceRegistration.objects.get().registration_ref
    assert incident.detail["registration_refs"] == [ref, ref + "-2"]
    assert incident.severity == "high"
    # Once per call: the next run reports it open, records nothing more.
    again = reconcile()
    assert [f.action for f in again.disagreements] == ["incident already recorded"]
    assert again.exit_code == EXIT_STILL_OPEN
    assert Incident.objects.filter(reason_code="reconcile_registered_twice").count() == 1


def test_a_suspension_the_insurer_keeps_not_doing_is_asked_again_once(
    trusted, desk, systems, monkeypatch
):
    """The insurer answers "cancelled" but goes on holding the registration (its cancel did not
    take). Reconcile asks again once, under a new key, with one incident; after that the
    finding stays open for people (exit 4). It queued a new cancellation under a new key and
    recorded a new incident on every run."""
    _, reg = _registered(trusted, desk)
    official, case = _case(reg)
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    monkeypatch.setattr(
        outbox, "_send_cancel", lambda call: outbox.Answer("cancelled", ref="x", status="cancelled")
    )
    drain()
    first = OutsideCall.objects.get(kind=outbox.CANCEL_REGISTRATION)
    report = reconcile()
    assert [f.finding for f in report.disagreements] == ["suspended_but_registered"]
    assert report.exit_code == EXIT_NEW_INCIDENTS
    again = OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).latest("pk")
    assert again.payload["again_of"] == first.key
    for _ in range(3):
        later = reconcile()
        assert [(f.finding, f.key, f.action) for f in later.disagreements] == [
            ("suspended_but_registered", first.key, "incident already recorded")
        ]
        assert later.exit_code == EXIT_STILL_OPEN
    incidents = Incident.objects.filter(reason_code="reconcile_suspended_but_registered")
    assert [i.detail["key"] for i in incidents] == [first.key]
    assert OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).count() == 2
