"""A second worker sending a call while the first still waits for the insurer (side doors,
round 22): the insurer answers 409 "key in use" (`idempotency_in_progress`). That was
`idempotency_conflict`, a final refusal: the registration marked refused, a HIGH incident, the
resident told 保険者に登録されていません while the first request registered. Now the call is left
in the outbox and retried; the retry receives the first request's answer."""

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
from madoguchi.incidents.models import Incident
from madoguchi.outside import ClientConfig, HttpInsurer
from tests.benefits.conftest import commit, drain, prepare, start_visit
from tests.benefits.test_registrations import HI


@pytest.mark.usefixtures("providers", "systems")
def test_a_call_whose_key_is_still_in_progress_at_the_insurer_is_retried_not_refused(
    trusted, desk, sims
):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    call = OutsideCall.objects.get()
    p = call.payload
    keys = (p["insurer_number"], p["insured_symbol"], p["insured_number"], p["branch"])

    # The first worker (its lease ran out): its request waits at the insurer, its key in flight.
    sims.insurer.control.set(latency_ms=2500)
    first_worker = HttpInsurer(sims.insurer.base_url, config=ClientConfig(read_timeout=8))
    answered: list[object] = []
    sending = threading.Thread(
        target=lambda: answered.append(
            first_worker.register_use(
                *keys, p["certificate"], idempotency_key=call.key, request_ref=call.key
            )
        )
    )
    requests = sims.insurer.control.stats()["requests"]
    sending.start()
    try:
        until = time.monotonic() + 5  # until that request is at the insurer, its key in flight
        while sims.insurer.control.stats()["requests"] == requests and time.monotonic() < until:
            time.sleep(0.02)
        sims.insurer.control.set(latency_ms=0)  # this worker's requests are answered at once
        outcomes = drain(timezone.now() + timedelta(hours=1)).outcomes
    finally:
        sending.join(15)
        first_worker.close()
    assert [(o.outcome, o.code) for o in outcomes] == [("retry", "idempotency_in_progress")]
    call.refresh_from_db()
    assert (call.state, call.last_error) == ("pending", "idempotency_in_progress")
    assert HealthInsuranceRegistration.objects.get().state == "registering"
    assert not Incident.objects.exists()
    assert not AuditEvent.objects.filter(event_name="benefits.health_insurance_refused").exists()
    assert sims.insurer.control.stats()["in_progress"] >= 1
    out = StringIO()
    call_command("outside", "status", stdout=out)
    assert (
        "the latest error: the insurer was still processing an earlier send of this call under "
        "its key (HTTP 409, another worker's): the retry receives that send's answer "
        "[idempotency_in_progress]."
    ) in out.getvalue()

    # The first request registered; the retry under the same key receives its answer.
    assert len(answered) == 1, answered
    outcomes = drain(timezone.now() + timedelta(hours=2)).outcomes
    assert [o.outcome for o in outcomes] == ["registered"]
    reg = HealthInsuranceRegistration.objects.get()
    assert (reg.state, reg.registration_ref) == ("registered", answered[0].registration_ref)
    assert sims.insurer.control.stats()["replayed"] >= 1
