"""The fixed grants evaluated by the outbox worker beside a completion of the same resident
(side doors, round 22): the worker takes the resident and their open visits before its call and
the registration (`grants.grants_lock`), so the two never both evaluate before the other
committed. The probe's interleaving (the completion evaluates first) is
tests/benefits/test_probe_e_grant_race.py; here the worker evaluates first, and the order of
the worker's locks is checked."""

import threading

import pytest
from django.db import connection

from madoguchi.benefits.constants import GrantStatus
from madoguchi.benefits.models import Grant, HealthInsuranceRegistration, OutsideCall
from madoguchi.benefits.services import outbox
from madoguchi.desk import services as desk_services
from madoguchi.desk.models import Visit
from tests.benefits.conftest import (
    commit,
    prepare,
    start_visit,
)
from tests.benefits.test_probe_e_grant_race import registering_then_signed
from tests.benefits.test_registrations import HI
from tests.lockorder import LockOrder


@pytest.mark.django_db(transaction=True)
def test_a_completion_beside_the_worker_that_evaluated_first_still_grants_the_points(
    pki, sims, settings, monkeypatch
):
    """The worker records `registered` and evaluates the grants (no application yet) and holds
    its transaction; the same resident's point application commits meanwhile. Before, the
    completion evaluated at once (the registration still `registering` to it) and the
    7,500 points were granted by neither; now its visit is the worker's to wait for, and it
    evaluates once the registration is committed."""
    with registering_then_signed(pki, sims, settings) as (visit, d, ch, token):
        evaluated, go = threading.Event(), threading.Event()
        real = outbox.grants_evaluate

        def evaluated_then_waits(holder, **kwargs):
            made = real(holder, **kwargs)
            evaluated.set()
            go.wait(20)  # the worker's transaction commits right after this
            return made

        monkeypatch.setattr(outbox, "grants_evaluate", evaluated_then_waits)
        results = {}

        def worker_records():
            try:
                results["worker"] = [o.outcome for o in outbox.drain().outcomes]
            except Exception as exc:
                results["worker"] = exc
            finally:
                connection.close()

        def desk_commits():
            try:
                results["completion"] = desk_services.completion_commit(
                    desk_session=d, token=token, nonce=ch.nonce.value
                )
            except Exception as exc:
                results["completion"] = exc
            finally:
                connection.close()

        worker = threading.Thread(target=worker_records)
        worker.start()
        assert evaluated.wait(20)
        desk = threading.Thread(target=desk_commits)
        desk.start()
        desk.join(1)  # the completion runs (PostgreSQL: up to its visit) meanwhile
        go.set()
        worker.join(30)
        desk.join(30)
    assert results["worker"] == ["registered"], results
    assert not isinstance(results["completion"], Exception), results
    assert HealthInsuranceRegistration.objects.get().state == "registered"
    granted = Grant.objects.filter(holder=visit.holder, status=GrantStatus.EFFECTIVE)
    assert sorted(g.category for g in granted) == ["health_insurance"]


@pytest.mark.usefixtures("providers", "systems")
def test_the_worker_locks_the_resident_and_their_open_visits_before_its_call(trusted, desk):
    """The lock order of docs/benefits.md "Ledger": the holder, their open visits, then the
    outbox call and the registration, all before the audit log. Before, the call came first
    and the registration's lock took the holder (joined, FOR UPDATE) after it, beside a case's
    step that takes the holder and then the registration."""
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    call = outbox.claim(OutsideCall.objects.get().pk)
    assert call is not None
    answer = outbox.send(call)
    assert answer.outcome == "registered"
    with LockOrder() as order:
        assert outbox.record(call, answer).outcome == "registered"
    order.assert_rows_before_audit()
    order.assert_locked_in_order(
        "identity.Holder",
        "desk.Visit",
        "benefits.OutsideCall",
        "benefits.HealthInsuranceRegistration",
    )
    locked = order.rows_locked()
    assert ("identity.Holder", visit.holder_id) in locked
    assert ("desk.Visit", visit.pk) in locked  # the resident's open visit
    # Only the registration's own row with it: not its visit's terminal or staff member.
    assert {label for label, _pk in locked} == {
        "identity.Holder",
        "desk.Visit",
        "benefits.OutsideCall",
        "benefits.HealthInsuranceRegistration",
    }
    assert Visit.objects.get(pk=visit.pk).ended_at is None
