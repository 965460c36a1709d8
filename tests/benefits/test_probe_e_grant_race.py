"""Probe E (side doors round 22, issue 15): the insurer's answer recorded by the outbox worker
at the moment a point application of the same resident commits at a desk. Each transaction
evaluates the fixed grants before the other committed (READ COMMITTED): the completion sees the
registration still `registering`, the worker sees no effective link yet, and the
health-insurance points (7,500) are granted by neither, for good."""

import threading
from contextlib import contextmanager

import pytest
from django.db import connection

from madoguchi.benefits import outside
from madoguchi.benefits import services as benefits_services
from madoguchi.benefits.constants import GrantStatus
from madoguchi.benefits.models import Grant, HealthInsuranceRegistration, OutsideCall
from madoguchi.desk import services as desk_services
from madoguchi.identity import services as identity
from tests.benefits.conftest import (
    FAST,
    apply_fields,
    commit,
    drain,
    make_providers,
    new_desk,
    prepare,
    sign,
    start_visit,
)
from tests.benefits.test_registrations import HI


@contextmanager
def registering_then_signed(pki, sims, settings):
    """Visit 1 commits a health-insurance registration, left `registering` (the worker not
    kicked); visit 2, the same resident's, has a point application prepared and signed: its
    visit, desk, challenge and token, the outside systems in use until the block ends."""
    settings.OUTSIDE_WORKER = {**settings.OUTSIDE_WORKER, "kick": False}
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    for sim in (sims.provider, sims.bank, sims.insurer):
        sim.control.reset()
    systems = sims.outside(FAST)
    d = new_desk()
    c = pki.card("C")
    try:
        with outside.use(systems):
            visit = start_visit(d, c)
            prepare(d, kind="health_insurance_use", **HI)
            commit(d, c)
            start_visit(d, c)
            prepare(d, **apply_fields())
            ch, token = sign(d, c)
            yield visit, d, ch, token
    finally:
        systems.close()


@pytest.mark.django_db(transaction=True)
def test_the_insurers_answer_recorded_while_a_point_application_commits_still_grants_its_points(
    pki, sims, settings, monkeypatch
):
    with registering_then_signed(pki, sims, settings) as (visit, d, ch, token):
        evaluated, go = threading.Event(), threading.Event()
        real = benefits_services.grants_evaluate

        def evaluated_then_commits(holder, **kwargs):
            made = real(holder, **kwargs)
            evaluated.set()
            go.wait(20)  # the completion's transaction commits right after this
            return made

        monkeypatch.setattr(benefits_services, "grants_evaluate", evaluated_then_commits)
        results = {}

        def desk_commits():
            try:
                results["completion"] = desk_services.completion_commit(
                    desk_session=d, token=token, nonce=ch.nonce.value
                )
            except Exception as exc:
                results["completion"] = exc
            finally:
                connection.close()

        def worker_records():
            try:
                results["worker"] = [o.outcome for o in drain().outcomes]
            except Exception as exc:
                results["worker"] = exc
            finally:
                connection.close()

        desk = threading.Thread(target=desk_commits)
        desk.start()
        assert evaluated.wait(20)
        worker = threading.Thread(target=worker_records)
        worker.start()
        worker.join(5)  # the insurer answers and the worker records it meanwhile
        go.set()
        desk.join(30)
        worker.join(30)
    assert not isinstance(results["completion"], Exception), results
    assert results["worker"] == ["registered"], results
    assert OutsideCall.objects.get().state == "done"
    assert HealthInsuranceRegistration.objects.get().state == "registered"
    # Both the application and the registration committed: the 7,500 points are granted.
    granted = Grant.objects.filter(holder=visit.holder, status=GrantStatus.EFFECTIVE)
    assert sorted(g.category for g in granted) == ["health_insurance"]
