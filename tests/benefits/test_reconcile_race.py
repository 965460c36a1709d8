"""Reconcile read the insurer's list first and our rows afterwards: a call the worker (or the
on-commit kick) sent and recorded in between was reported as a disagreement that is not there,
with a HIGH incident and exit 3 (a cancellation, asked again under a new key). It now reads our
rows first; a call committed and sent after they were read is not `unknown_to_us`."""

import pytest

from madoguchi.benefits.models import OutsideCall
from madoguchi.benefits.services import outbox
from madoguchi.benefits.services.reconcile import reconcile
from madoguchi.cases import services as cases
from madoguchi.incidents.models import Incident
from tests.benefits.conftest import drain
from tests.benefits.test_case_health_insurance import D, _case, _registered
from tests.benefits.test_outbox import _hi_completion

pytestmark = pytest.mark.usefixtures("providers", "systems")


def _worker_runs_right_after_the_list_is_read(systems, monkeypatch):
    real = systems.insurer.registrations

    def listed_then_worker_ran():
        rows = real()  # the insurer's list as reconcile reads it ...
        drain()  # ... then the worker sends and records a due call, as it does every second
        return rows

    monkeypatch.setattr(systems.insurer, "registrations", listed_then_worker_ran)


def test_a_call_the_worker_answers_while_reconcile_runs_is_not_missing_at_the_insurer(
    trusted, desk, systems, monkeypatch
):
    _hi_completion(trusted, desk)
    _worker_runs_right_after_the_list_is_read(systems, monkeypatch)
    report = reconcile()
    call = OutsideCall.objects.get()
    assert call.state == "done"
    # The insurer holds the registration under the call's key: nothing disagrees.
    assert [f.line() for f in report.disagreements] == []
    assert report.exit_code == 0
    assert not Incident.objects.filter(reason_code="reconcile_missing_at_insurer").exists()


def test_a_suspension_the_worker_answers_while_reconcile_runs_is_not_asked_again(
    trusted, desk, systems, monkeypatch
):
    _, reg = _registered(trusted, desk)
    official, case = _case(reg)
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    _worker_runs_right_after_the_list_is_read(systems, monkeypatch)
    report = reconcile()
    assert [f.line() for f in report.disagreements] == []
    assert report.exit_code == 0
    assert not Incident.objects.filter(reason_code="reconcile_suspended_but_registered").exists()
    assert OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).count() == 1


def test_a_call_committed_and_sent_after_our_rows_were_read_is_not_unknown_to_us(
    trusted, desk, systems, monkeypatch
):
    real = systems.insurer.registrations

    def committed_and_sent_then_listed():
        _hi_completion(trusted, desk)  # a desk signs meanwhile; the kick or worker sends it
        drain()
        return real()

    monkeypatch.setattr(systems.insurer, "registrations", committed_and_sent_then_listed)
    report = reconcile()
    assert OutsideCall.objects.get().state == "done"
    assert [f.line() for f in report.disagreements] == []
    assert report.exit_code == 0
    assert not Incident.objects.filter(reason_code="reconcile_unknown_to_us").exists()
