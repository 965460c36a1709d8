"""Probe E (side doors round 22, issue 15): "insurer and database agree" as reconcile checks
it. A done call is matched with the insurer's registration carrying its key, but the
registration reference our row holds (the one a case's suspension will ask the insurer to
cancel) is never compared with that registration's: an answer naming another registration (a
garbled answer, a gateway's mix-up) is reported as agreement, exit 0, and a later case would
cancel that other registration at the insurer."""

import dataclasses

import pytest

from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
from madoguchi.benefits.services.reconcile import reconcile
from tests.benefits.conftest import drain
from tests.benefits.test_outbox import _hi_completion

pytestmark = pytest.mark.usefixtures("providers", "systems")


def test_a_done_call_holding_another_registration_reference_is_a_disagreement(
    trusted, desk, systems, monkeypatch
):
    _hi_completion(trusted, desk)
    real = systems.insurer.register_use

    def garbled(*args, **kwargs):
        answer = real(*args, **kwargs)  # the insurer registers it under our key ...
        return dataclasses.replace(answer, registration_ref="ins-reg-424242")  # ... answers so

    monkeypatch.setattr(systems.insurer, "register_use", garbled)
    assert [o.outcome for o in drain().outcomes] == ["registered"]
    monkeypatch.setattr(systems.insurer, "register_use", real)
    call = OutsideCall.objects.get()
    held = [r for r in systems.insurer.registrations() if r.request_ref == call.key]
    assert len(held) == 1
    assert HealthInsuranceRegistration.objects.get().registration_ref != held[0].registration_ref
    report = reconcile()
    assert report.disagreements, "our registration reference differs from the insurer's: agreed"
    assert report.exit_code != 0
