"""`madoguchi payouts list | create | send`: the payout batches from the shell (docs/benefits.md,
Payouts). Before it nothing sent a batch, so a batch whose answer was lost kept a case's return
refused `payout_in_doubt` for good."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.benefits import ledger, services
from madoguchi.benefits.constants import AccountKind, BatchStatus
from madoguchi.benefits.management.commands.payouts import EXIT_NOT_ANSWERED
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
    a = builders.holder()
    link = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(a)
    return prog, prov, a, link


def test_create_then_send_pays_the_due_points(world):
    prog, prov, a, _ = world
    out = payouts("create", "--provider", prov.code, "--programme", prog.code)
    batch = PayoutBatch.objects.get()
    assert out == (
        f"Batch {batch.batch_id} for sim-pay ({prog.code}): 1 item, 350 points. Send it with "
        f"`madoguchi payouts send {batch.batch_id}`.\n"
    )
    listed = payouts("list").splitlines()
    assert listed[0] == "batch\tprovider\tprogramme\titems\tpoints\tcreated\tstate"
    assert listed[1].startswith(f"{batch.batch_id}\tsim-pay\t{prog.code}\t1\t350\t")
    assert listed[1].endswith("\tnot yet sent")

    out = payouts("send", batch.batch_id[:8])
    assert out.startswith(f"Batch {batch.batch_id} (sim-pay, {prog.code}) sent; answered")
    assert "1 item paid, 350 points." in out
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 350}
    assert payouts("list").startswith("No open payout batch")
    assert "\taccepted " in payouts("list", "--all")
    # Sent once more: its answer is recorded, nothing is sent or posted twice.
    assert "was accepted on" in payouts("send", batch.batch_id)
    assert ledger.holder_balances(a, prog)["paid"] == 350

    out = payouts("create", "--provider", prov.code, "--programme", prog.code)
    assert out.startswith("Nothing is due to the residents linked to sim-pay")
    assert PayoutBatch.objects.count() == 1


def test_a_send_without_an_answer_exits_3_and_the_batch_is_listed_in_doubt(world, sims):
    prog, prov, a, _ = world
    batch = services.payout_batch_create(prov, prog)
    sims.provider.control.set(hang_next=2, hang_ms=800)
    with pytest.raises(CommandError) as exc:
        payouts("send", batch.batch_id)
    sims.provider.control.set(hang_next=0)
    assert exc.value.returncode == EXIT_NOT_ANSWERED
    assert str(exc.value).startswith(f"Batch {batch.batch_id} (sim-pay, {prog.code}): ")
    assert "It stays sent with its answer not recorded; send it again later" in str(exc.value)
    assert "answer not recorded (in doubt: send it again)" in payouts("list")
    assert "sent again; answered" in payouts("send", batch.batch_id)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED
    assert ledger.holder_balances(a, prog)["paid"] == 350


def test_a_batch_whose_every_item_a_case_took_back_is_not_sent(world):
    prog, prov, _, link = world
    batch = services.payout_batch_create(prov, prog)
    services.link_suspend(link, actor=None, reason="mis-link found")
    # The suspension withdrew the item; the first send finds nothing left to pay.
    out = payouts("send", batch.batch_id)
    assert "every item was withdrawn before sending" in out
    assert "withdrawn (nothing left to pay)" in payouts("list", "--all")
    assert "was withdrawn (nothing left to pay): nothing was sent." in payouts(
        "send", batch.batch_id
    )
    paid = ledger.account(AccountKind.PAID, prog, provider=prov)
    assert ledger.balance(paid) == 0


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("send", "abc"), "No payout batch 'abc': give its id, or at least its first 8"),
        (("send", "0123456789abcdef"), "No payout batch '0123456789abcdef' (`madoguchi payouts"),
        (
            ("create", "--provider", "nosuch", "--programme", "x"),
            "No provider 'nosuch' (the providers: sim-pay). No batch was made.",
        ),
        (
            ("create", "--provider", "sim-pay", "--programme", "nosuch"),
            "No programme 'nosuch' (the programmes: ",
        ),
    ],
)
def test_arguments_that_name_nothing_are_refused_in_one_line(world, args, sentence):
    with pytest.raises(CommandError) as exc:
        payouts(*args)
    assert str(exc.value).startswith(sentence), str(exc.value)
    assert exc.value.returncode == 1
    assert "\n" not in str(exc.value)


NO_BATCH_YET = "No payout batch yet (`madoguchi payouts create` makes one).\n"


def test_no_batch_yet(db):
    """`payouts list` on a database with no batch said "No open payout batch: every batch was
    accepted or withdrawn", of batches never made (side doors round 22)."""
    assert payouts("list", "--all") == NO_BATCH_YET
    assert payouts("list") == NO_BATCH_YET


def test_a_provider_without_an_adapter_is_refused_and_the_batch_not_marked_sent(db):
    """A provider row no configured adapter serves: the send marked the batch sent (its
    answer in doubt, a case's return refused for good) and then failed with the adapter
    registry's UnknownProvider traceback."""
    prog, prov = builders.programme(), builders.provider("nowhere-pay")
    a = builders.holder()
    builders.link(a, programme=prog, provider=prov, account="7010000000000001")
    services.grants_evaluate(a)
    batch = services.payout_batch_create(prov, prog)
    with pytest.raises(CommandError) as exc:
        payouts("send", batch.batch_id)
    assert str(exc.value) == (
        f"Batch {batch.batch_id} (nowhere-pay, {prog.code}): No adapter is configured for the "
        "payment service nowhere-pay; the payout batch was not sent."
    )
    assert exc.value.returncode == 1
    batch.refresh_from_db()
    assert batch.sent_at is None
    assert "\tnot yet sent" in payouts("list")
