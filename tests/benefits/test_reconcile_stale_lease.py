"""Reconcile took `now` once, at its start, and claimed every call it re-sent with it
(`outbox.process(call.pk, now)`): the lease it set was `start + lease`, already run out when
reading the insurer's list and earlier re-sends took longer than the lease (a slow or flaky
insurer: each re-send may take a minute). A worker then claimed the same call while reconcile
was still sending it. It now claims and records with the current time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from madoguchi.benefits.models import OutsideCall
from madoguchi.benefits.services import outbox
from madoguchi.benefits.services.reconcile import reconcile
from tests.benefits.test_outbox import _hi_completion

pytestmark = pytest.mark.usefixtures("providers", "systems")


def test_a_call_reconcile_is_sending_cannot_be_claimed_by_a_worker(
    trusted, desk, systems, monkeypatch
):
    _hi_completion(trusted, desk)
    call = OutsideCall.objects.get()
    real_now = timezone.now
    real_list = systems.insurer.registrations
    real_register = systems.insurer.register_use

    def slow_list():
        rows = real_list()
        # Reading the list (retries against a flaky insurer) and earlier re-sends took 5 minutes.
        monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(minutes=5))
        return rows

    worker_claims = []

    def register(*args, **kwargs):
        # Meanwhile the worker polls, as it does every second.
        worker_claims.append(outbox.claim(call.pk) is not None)
        return real_register(*args, **kwargs)

    monkeypatch.setattr(systems.insurer, "registrations", slow_list)
    monkeypatch.setattr(systems.insurer, "register_use", register)
    reconcile()
    assert worker_claims == [False], "a worker claimed the call reconcile was sending"
