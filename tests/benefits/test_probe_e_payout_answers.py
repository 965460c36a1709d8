"""Probe E (side doors round 22, issue 15): a provider's answer to a payout batch that does not
account for what was sent. The answer was recorded as it came: the batch `accepted`, an item the
answer left out kept with no result, its points still due, and the next `payouts create` put
them in a new batch (a new batch id, so a new idempotency key): a provider that had paid the
item but left it out of its answer pays it twice. Whether such an item was paid is not known,
as for a batch whose answer was lost: the batch stays in doubt (docs/benefits.md "A batch sent
and not yet answered is in doubt")."""

import contextlib
import dataclasses
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.benefits import services
from madoguchi.benefits.constants import BatchStatus
from madoguchi.benefits.models import PayoutBatch
from tests.benefits import builders

pytestmark = pytest.mark.usefixtures("systems")


def payouts(*args: str) -> str:
    out = io.StringIO()
    call_command("payouts", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def world(db):
    prog, prov = builders.programme(), builders.provider()
    a, b = builders.holder(), builders.holder()
    builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    builders.link(
        b, programme=prog, provider=prov, account="7010000000000002", account_ref="simpay-acct-0002"
    )
    services.grants_evaluate(a)
    services.grants_evaluate(b)
    return prog, prov, a, b


def _answers(monkeypatch, systems, change):
    adapter = systems.providers.get("sim-pay")
    real = adapter.payout

    def answered(batch_id, items, **kwargs):
        return change(real(batch_id, items, **kwargs))

    monkeypatch.setattr(adapter, "payout", answered)


def _send_and_check_in_doubt(batch, prog):
    # Refused, or exit 3: either way the answer must not be taken as it came.
    with contextlib.suppress(CommandError):
        payouts("send", batch.batch_id)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.OPEN, "an answer not accounting for the batch was accepted"
    # Nothing the provider may have paid is put in another batch to be paid again.
    assert services.payout_batch_create(batch.provider, prog) is None
    assert PayoutBatch.objects.count() == 1


def test_an_answer_leaving_out_an_item_sent_keeps_the_batch_in_doubt(world, systems, monkeypatch):
    prog, prov, _, _ = world
    batch = services.payout_batch_create(prov, prog)
    assert batch.items.count() == 2
    # The provider pays both, but its answer names only the first item.
    _answers(monkeypatch, systems, lambda r: dataclasses.replace(r, items=r.items[:1]))
    _send_and_check_in_doubt(batch, prog)


def test_an_answer_for_another_batch_is_not_recorded_as_this_ones(world, systems, monkeypatch):
    prog, prov, _, _ = world
    batch = services.payout_batch_create(prov, prog)
    # A gateway's cached answer for another batch id (the item ids are per batch: 00001 …).
    _answers(monkeypatch, systems, lambda r: dataclasses.replace(r, batch_id="another-batch"))
    _send_and_check_in_doubt(batch, prog)


def test_an_item_the_provider_refuses_to_pay_is_an_incident(db, systems):
    """The provider refuses an item after the resident signed the link (the account suspended
    at the provider since): the points are not paid, and nothing tells the office, which must
    contact the resident (issue 15: "an incident when an outside system refuses after the
    resident signed"). It was recorded only in the item's `result`, no incident, no audit
    event; each later batch sends it again and is refused again."""
    from madoguchi.incidents.models import Incident

    prog, prov = builders.programme(), builders.provider()
    a = builders.holder()
    builders.link(
        a, programme=prog, provider=prov, account="7010000000000007", account_ref="simpay-acct-0007"
    )
    services.grants_evaluate(a)
    batch = services.payout_batch_create(prov, prog)
    payouts("send", batch.batch_id)
    item = batch.items.get()
    assert (item.result, item.reason) == ("rejected", "account_suspended")
    incidents = Incident.objects.filter(kind__in=["outside_refused", "outside_failure"])
    assert incidents.count() == 1, "the provider's refusal of a resident's payout is no incident"
    assert batch.batch_id in str(incidents.get().detail)


def test_an_answer_paying_other_points_than_sent_keeps_the_batch_in_doubt(
    world, systems, monkeypatch
):
    prog, prov, _, _ = world
    batch = services.payout_batch_create(prov, prog)

    def other_points(result):
        first = dataclasses.replace(result.items[0], points=result.items[0].points + 1000)
        return dataclasses.replace(result, items=(first, *result.items[1:]))

    _answers(monkeypatch, systems, other_points)
    _send_and_check_in_doubt(batch, prog)
