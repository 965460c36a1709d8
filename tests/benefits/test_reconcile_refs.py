"""Reconcile compares the registration reference we hold with the insurer's (side doors, round
22): a done call whose answer named another registration than the one the insurer holds under
its key is `registration_ref_differs`, a HIGH incident, exit 3 (then 4), one English line
naming both references; and a case's suspension no longer asks the insurer to cancel by our
reference, which may be another person's registration. The probe's own test is
tests/benefits/test_probe_e_reconcile_refs.py."""

import dataclasses
from datetime import date

import pytest
from django.utils import translation

from madoguchi.accounts.constants import Role
from madoguchi.benefits import services as benefits
from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
from madoguchi.benefits.services import BenefitsRefused, health_insurance_suspend_via_case, outbox
from madoguchi.benefits.services.reconcile import reconcile
from madoguchi.cases import services as cases
from madoguchi.cases.constants import Programme
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.models import Incident
from tests import factories
from tests.benefits.conftest import drain
from tests.benefits.test_case_comparison import _case as case_for
from tests.benefits.test_outbox import _hi_completion, reconcile_exit  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("providers", "systems")
WRONG = "ins-reg-424242"
D = {"event_date": date(2026, 12, 1), "date_precision": "day"}


def _garbled(trusted, desk, systems, monkeypatch):
    """Card C's registration, registered at the insurer under our key, its answer naming
    another reference (WRONG); the insurer's own reference for it."""
    _hi_completion(trusted, desk)
    real = systems.insurer.register_use

    def garbled(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), registration_ref=WRONG)

    monkeypatch.setattr(systems.insurer, "register_use", garbled)
    assert [o.outcome for o in drain().outcomes] == ["registered"]
    monkeypatch.setattr(systems.insurer, "register_use", real)
    call = OutsideCall.objects.get()
    (held,) = [r for r in systems.insurer.registrations() if r.request_ref == call.key]
    assert held.registration_ref != WRONG
    return call, held.registration_ref


def test_the_command_says_both_references_and_exits_3_then_4(
    trusted,
    desk,
    systems,
    monkeypatch,
    reconcile_exit,  # noqa: F811
):
    call, theirs = _garbled(trusted, desk, systems, monkeypatch)
    code, out, err = reconcile_exit()
    assert code == 3, (out, err)
    assert out.splitlines()[0] == (
        f"registration_ref_differs {call.key}  -> incident recorded: madoguchi holds the "
        f"insurer's reference {WRONG}, the insurer holds this request as {theirs}; a case's "
        "suspension asks the insurer nothing until it is settled with the insurer"
    )
    assert "1 disagreement" in out
    assert "1 with an incident recorded by this run (exit 3)" in err
    incident = Incident.objects.get(reason_code="reconcile_registration_ref_differs")
    assert incident.severity == "high"
    assert incident.detail["key"] == call.key
    assert (incident.detail["ours"], incident.detail["registration_ref"]) == (WRONG, theirs)
    assert incident.visit_id == HealthInsuranceRegistration.objects.get().visit_id
    with translation.override("ja"):
        said = incident_text.render(incident.detail["text"])
    assert said is not None
    assert f"参照番号 {WRONG} で登録済み" in said
    assert theirs in said
    code, out, err = reconcile_exit()
    assert code == 4, (out, err)
    assert "incident already recorded" in out
    assert Incident.objects.filter(reason_code="reconcile_registration_ref_differs").count() == 1


def test_a_matching_reference_is_agreement(trusted, desk):
    _hi_completion(trusted, desk)
    assert [o.outcome for o in drain().outcomes] == ["registered"]
    report = reconcile()
    assert report.findings == []
    assert report.exit_code == 0
    reg = HealthInsuranceRegistration.objects.get()
    assert health_insurance_suspend_via_case(reg, actor=None, case_ref="CASE-1", reason="x")


def test_a_cases_suspension_asks_the_insurer_nothing_by_the_reference_found_wrong(
    trusted, desk, systems, sims, monkeypatch
):
    _, theirs = _garbled(trusted, desk, systems, monkeypatch)
    reg = HealthInsuranceRegistration.objects.get()
    reconcile()
    with pytest.raises(BenefitsRefused) as exc:
        health_insurance_suspend_via_case(reg, actor=None, case_ref="CASE-1", reason="x")
    assert exc.value.code == "registration_ref_differs"
    assert exc.value.message_en.startswith(
        "The insurer holds this registration under another reference than the one recorded"
    )
    assert "別の方の登録を取り消すおそれ" in exc.value.message_ja
    assert benefits.health_insurance_ref_disputed(reg)
    # The case's step records the suspension and says why nothing was asked of the insurer.
    official = factories.staff(Role.CITY_OFFICIAL)
    case = case_for(official, reg.holder, Programme.HEALTH_INSURANCE)
    cases.case_investigate(case, actor=official)
    before = sims.insurer.control.stats()["requests"]
    entry = cases.case_suspend(case, actor=official, summary="利用停止", **D)
    assert entry.detail == {"health_insurance_registration": None}
    assert "保険者へ利用停止を依頼していません" in entry.summary
    assert "別の参照番号" in entry.summary
    assert not OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).exists()
    drain()
    assert sims.insurer.control.stats()["requests"] == before  # nothing cancelled at all
    assert theirs in {r.registration_ref for r in systems.insurer.registrations()}
