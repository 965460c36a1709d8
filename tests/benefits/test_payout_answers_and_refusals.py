"""A provider's answer to a payout batch, taken only when it accounts for the batch sent, and an
item it refuses, told once and held until a city official releases it (side doors round 22,
probe E; docs/benefits.md "Payouts", docs/outside.md "A refusal after the resident signed").

Before: `payouts send` recorded whatever came back: an answer leaving an item out accepted the
batch with the item's points still due (the next batch sent them again under a new key), an
answer paying other points than sent posted what was sent, and a refused item was kept only in
its `result`, with no incident and no audit event, and sent again (and refused again) by every
later batch."""

import dataclasses
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.audit.models import AuditEvent
from madoguchi.benefits import ledger, services
from madoguchi.benefits.constants import BatchStatus, TransferKind
from madoguchi.benefits.management.commands.payouts import EXIT_NOT_ANSWERED
from madoguchi.benefits.models import LedgerTransfer, PayoutBatch
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.outside import PayoutItemStatus
from madoguchi.refusals import Refusal
from tests import factories
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
    la = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    lb = builders.link(
        b, programme=prog, provider=prov, account="7010000000000002", account_ref="simpay-acct-0002"
    )
    services.grants_evaluate(a)
    services.grants_evaluate(b)
    return prog, prov, (a, la), (b, lb)


def _answers(monkeypatch, systems, change):
    adapter = systems.providers.get("sim-pay")
    real = adapter.payout

    def answered(batch_id, items, **kwargs):
        return change(real(batch_id, items, **kwargs))

    monkeypatch.setattr(adapter, "payout", answered)


def _mismatches():
    return Incident.objects.filter(reason_code="payout_answer_mismatch")


# --- an answer that does not account for the batch sent ----------------------------------------


def test_an_answer_leaving_an_item_out_is_said_in_one_line_exit_3_and_one_incident(
    world, systems, monkeypatch
):
    prog, prov, (a, _), (b, _) = world
    batch = services.payout_batch_create(prov, prog)
    _answers(monkeypatch, systems, lambda r: dataclasses.replace(r, items=r.items[:1]))
    with pytest.raises(CommandError) as exc:
        payouts("send", batch.batch_id)
    said = str(exc.value)
    assert exc.value.returncode == EXIT_NOT_ANSWERED
    assert "\n" not in said
    assert said.startswith(f"Batch {batch.batch_id} (sim-pay, {prog.code}): the provider's answer")
    assert "does not account for the batch sent (item 00002 is missing from it)" in said
    assert "ask sim-pay what it paid" in said
    # Nothing of the answer is recorded: no item's result, no payout posted, the batch in doubt.
    batch.refresh_from_db()
    assert batch.status == BatchStatus.OPEN
    assert batch.sent_at is not None
    assert set(batch.items.values_list("result", flat=True)) == {""}
    assert not LedgerTransfer.objects.filter(kind=TransferKind.PAYOUT).exists()
    assert ledger.holder_balances(a, prog)["due"] == 350
    assert "answer not recorded (in doubt: send it again)" in payouts("list")
    incident = _mismatches().get()
    assert (incident.kind, incident.severity) == (IncidentKind.OUTSIDE_FAILURE, Severity.HIGH)
    assert incident.detail["batch"] == batch.batch_id
    # Sent again, the provider repeats its first answer: the same finding, one incident.
    with pytest.raises(CommandError):
        payouts("send", batch.batch_id)
    assert _mismatches().count() == 1
    # Nothing of it goes into another batch (a provider that paid would pay it twice).
    assert "Nothing is due" in payouts("create", "--provider", prov.code, "--programme", prog.code)
    # Once the provider answers for the batch sent, the same batch is accepted and paid once.
    monkeypatch.undo()
    assert "sent again; answered" in payouts("send", batch.batch_id)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED
    assert ledger.holder_balances(a, prog)["paid"] == 350
    assert ledger.holder_balances(b, prog)["paid"] == 350


def test_an_answer_paying_other_points_posts_nothing_and_the_incident_says_it(
    world, systems, monkeypatch
):
    prog, prov, (a, _), _ = world
    batch = services.payout_batch_create(prov, prog)

    def other_points(result):
        first = dataclasses.replace(result.items[0], points=result.items[0].points + 1000)
        return dataclasses.replace(result, items=(first, *result.items[1:]))

    _answers(monkeypatch, systems, other_points)
    with pytest.raises(Refusal) as exc:
        services.payout_batch_send(batch)
    assert exc.value.code == "payout_answer_mismatch"
    assert "it answers item 00001 for 1350 points, 350 were sent" in exc.value.message_en
    assert (
        "明細 00001 への回答が 1350 ポイントです（送信したのは 350 ポイント）"
        in exc.value.message_ja
    )
    assert not LedgerTransfer.objects.filter(kind=TransferKind.PAYOUT).exists()
    assert ledger.holder_balances(a, prog) == {"due": 350, "suspended": 0, "paid": 0}
    with translation.override("ja"):
        text = incident_text.render(_mismatches().get().detail["text"])
    assert text.startswith(f"支払いバッチ {batch.batch_id} へのシミュレーションペイの回答が")
    assert "_" not in text.replace(batch.batch_id, "")  # no internal code


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda r: dataclasses.replace(
                r, items=(*r.items, dataclasses.replace(r.items[0], item_id="00003"))
            ),
            "it names item 00003, which was not sent",
        ),
        (
            lambda r: dataclasses.replace(
                r,
                items=(dataclasses.replace(r.items[0], account_ref="simpay-acct-0003"), r.items[1]),
            ),
            "it answers item 00001 for another account than the one sent",
        ),
        (
            lambda r: dataclasses.replace(r, items=(r.items[0], r.items[0], r.items[1])),
            "item 00001 is in it more than once",
        ),
        (
            lambda r: dataclasses.replace(r, batch_id="another-batch"),
            "it names batch another-batch",
        ),
    ],
)
def test_an_answer_naming_what_was_not_sent_keeps_the_batch_in_doubt(
    world, systems, monkeypatch, change, said
):
    prog, prov, _, _ = world
    batch = services.payout_batch_create(prov, prog)
    _answers(monkeypatch, systems, change)
    with pytest.raises(Refusal) as exc:
        services.payout_batch_send(batch)
    assert said in exc.value.message_en
    batch.refresh_from_db()
    assert batch.status == BatchStatus.OPEN
    assert not LedgerTransfer.objects.filter(kind=TransferKind.PAYOUT).exists()


# --- an item the provider refuses -------------------------------------------------------------


@pytest.fixture
def refused(db):
    """A resident whose account the provider has suspended since they linked it (the seed's
    simpay-acct-0007), and a resident paid in the same batch."""
    prog, prov = builders.programme(), builders.provider()
    a, s = builders.holder(), builders.holder()
    builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    ls = builders.link(
        s, programme=prog, provider=prov, account="7010000000000007", account_ref="simpay-acct-0007"
    )
    services.grants_evaluate(a)
    services.grants_evaluate(s)
    return prog, prov, s, ls


def _refusals():
    return Incident.objects.filter(reason_code="provider_refused_payout")


def test_a_refused_item_is_an_incident_of_its_desk_and_an_audit_event_once(refused):
    prog, prov, _s, ls = refused
    batch = services.payout_batch_create(prov, prog)
    out = payouts("send", batch.batch_id)
    item = batch.items.get(link=ls).item_id
    assert "1 item paid, 350 points; 1 item not paid." in out
    assert (
        f"  item {item}: rejected (account_suspended), 350 points; held from later batches (an "
        f"incident is recorded) until a city official runs `madoguchi payouts release "
        f"{batch.batch_id} {item} --actor NAME`" in out
    )
    incident = _refusals().get()
    assert (incident.kind, incident.severity) == (IncidentKind.OUTSIDE_REFUSED, Severity.HIGH)
    assert incident.visit == ls.visit  # the desk that linked it, for the office to contact
    assert incident.detail["batch"] == batch.batch_id
    assert incident.detail["item"] == item
    assert incident.detail["account"] == "＊＊＊＊0007"
    with translation.override("ja"):
        text = incident_text.render(incident.detail["text"])
        reason = incident_text.reason_text(incident.detail["text"])
    assert text.startswith(f"シミュレーションペイが、受付 {ls.visit.reference} で紐付けた")
    assert reason == "決済サービスでアカウントが利用停止中"
    event = AuditEvent.objects.get(event_name="benefits.payout_item_refused")
    assert event.payload["batch"] == batch.batch_id
    assert event.subject_id == str(ls.pk)
    # The batch sent again (the provider repeats its answer): told once.
    services.payout_batch_send(batch)
    assert _refusals().count() == 1
    assert AuditEvent.objects.filter(event_name="benefits.payout_item_refused").count() == 1


def test_a_refused_item_is_held_from_later_batches(refused):
    prog, prov, s, ls = refused
    batch = services.payout_batch_create(prov, prog)
    services.payout_batch_send(batch)
    # Its points stay due to the resident, and no later batch sends them to be refused again.
    assert ledger.holder_balances(s, prog)["due"] == 350
    out = payouts("create", "--provider", prov.code, "--programme", prog.code)
    assert out.startswith("Nothing is due to the residents linked to sim-pay")
    assert PayoutBatch.objects.count() == 1
    assert _refusals().count() == 1
    held = payouts("held").splitlines()
    assert held[0] == "batch\titem\tprovider\tprogramme\taccount\tpoints\treason\tvisit"
    item = batch.items.get(link=ls).item_id
    assert held[1:] == [
        f"{batch.batch_id}\t{item}\tsim-pay\t{prog.code}\t＊＊＊＊0007\t350\taccount_suspended\t"
        f"{ls.visit.reference}"
    ]


def _another_citys_official() -> User:
    from django.contrib.auth.models import Group

    other = Organisation.objects.create(name="別の市", kind=OrganisationKind.CITY)
    user = User.objects.create_user(username="other-official", organisation=other)
    user.groups.add(Group.objects.get_or_create(name=Role.CITY_OFFICIAL.value)[0])
    return user


def test_only_the_citys_official_releases_the_hold_and_the_next_batch_pays_it(
    db, systems, monkeypatch
):
    prog, prov = builders.programme(), builders.provider()
    a = builders.holder()
    link = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(a)
    batch = services.payout_batch_create(prov, prog)

    def refusing(result):  # the account suspended at the provider at that time
        item = dataclasses.replace(
            result.items[0], status=PayoutItemStatus.REJECTED, reason="account_suspended"
        )
        return dataclasses.replace(result, items=(item,))

    _answers(monkeypatch, systems, refusing)
    services.payout_batch_send(batch)
    monkeypatch.undo()
    assert services.payout_batch_create(prov, prog) is None

    staff = factories.staff(Role.DESK_STAFF)
    for who in (staff, _another_citys_official()):
        with pytest.raises(CommandError) as exc:
            payouts("release", batch.batch_id, "00001", "--actor", who.username)
        assert str(exc.value).endswith("Nothing was released.")
    assert services.payout_batch_create(prov, prog) is None

    official = factories.staff(Role.CITY_OFFICIAL)
    out = payouts("release", batch.batch_id[:8], "00001", "--actor", official.username)
    assert out.startswith(f"Batch {batch.batch_id} (sim-pay, {prog.code}), item 00001: the hold")
    event = AuditEvent.objects.get(event_name="benefits.payout_hold_released")
    assert event.actor_id == str(official.pk)
    assert event.subject_id == str(link.pk)
    with pytest.raises(CommandError) as exc:  # released already
        payouts("release", batch.batch_id, "00001", "--actor", official.username)
    assert "is not held" in str(exc.value)
    assert payouts("held").startswith("No payout is held")

    again = services.payout_batch_create(prov, prog)
    assert again is not None
    assert again.items.get().link == link
    services.payout_batch_send(again)
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 350}
