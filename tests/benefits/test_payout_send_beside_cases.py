"""A payout batch's send beside a case's suspension and return of one of its links: one lock
order (the links, by pk, before their batch), and a return refused `payout_in_doubt` names the
batch the operator sends again (`madoguchi payouts send`)."""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from madoguchi.benefits import ledger, services
from madoguchi.benefits.constants import AccountKind, BatchStatus, LinkStatus
from madoguchi.benefits.models import LedgerAccount
from madoguchi.benefits.services import payouts, remediation
from madoguchi.refusals import Refusal
from tests.benefits import builders
from tests.lockorder import LockOrder


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("systems")
@pytest.mark.parametrize("step", ["suspend", "return"])
def test_a_batch_answer_beside_a_case_step_does_not_deadlock(step, sims):
    """A sent batch's answer was being posted (the batch row locked, then a payout transfer
    naming the link inserted: PostgreSQL takes FOR KEY SHARE on the link) while a case
    suspended (or returned) the same link (the link locked FOR UPDATE, then the batch): the
    same two rows in opposite orders, and PostgreSQL aborted one with "deadlock detected".
    The send now locks the batch's links (by pk) before the batch, as the case steps do: both
    succeed, one after the other."""
    prog, prov = builders.programme(), builders.provider()
    a = builders.holder()
    link = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(a)
    batch = services.payout_batch_create(prov, prog)
    assert batch is not None
    if step == "return":
        # The return case: the link was suspended before (batch sent, answer lost).
        sims.provider.control.set(hang_next=2, hang_ms=800)
        with pytest.raises(Refusal):
            services.payout_batch_send(batch)
        sims.provider.control.set(hang_next=0)
        services.link_suspend(link, actor=None, reason="mis-link")

    link_locked = threading.Event()
    batch_locked = threading.Event()
    real_post_payout = ledger.post_payout
    real_withdraw = payouts.link_items_withdraw

    def post_payout_after_case_locked_link(*args, **kwargs):
        batch_locked.set()
        link_locked.wait(5)
        return real_post_payout(*args, **kwargs)

    def withdraw_after_batch_locked(*args, **kwargs):
        link_locked.set()
        return real_withdraw(*args, **kwargs)

    errors: list[BaseException] = []

    def sender():
        try:
            ledger.post_payout = post_payout_after_case_locked_link
            services.payout_batch_send(batch)
        except BaseException as exc:
            errors.append(exc)
            link_locked.set()
        finally:
            connection.close()

    def case_step():
        try:
            batch_locked.wait(5)
            remediation.payouts.link_items_withdraw = withdraw_after_batch_locked
            if step == "suspend":
                services.link_suspend(link, actor=None, reason="mis-link found")
            else:
                services.ledger_return(link, actor=None, reason="returned")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=sender), threading.Thread(target=case_step)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        ledger.post_payout = real_post_payout
        remediation.payouts.link_items_withdraw = real_withdraw
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    batch.refresh_from_db()
    link.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED
    assert link.status == LinkStatus.SUSPENDED
    for acct in LedgerAccount.objects.filter(programme=prog).exclude(kind=AccountKind.FUNDING):
        assert ledger.balance(acct) >= 0, (acct.code, ledger.balance(acct))
    if step == "return":
        # The send went first (the return waited for the link): paid, then taken back.
        assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 0}


@pytest.mark.django_db
@pytest.mark.usefixtures("systems")
def test_payout_in_doubt_names_the_batch_and_something_sends_it(sims):
    """A case's return refused `payout_in_doubt` told the city official to 「そのバッチをもう一度
    送信して」 without saying which batch, and nothing in madoguchi sent a payout batch (no
    command, no page; the PayoutBatch admin is read-only): the case's return could not go on.
    The refusal names the batch, its provider and the command that sends it again."""
    prog, prov = builders.programme(), builders.provider()
    a = builders.holder()
    wrong = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(a)
    batch = services.payout_batch_create(prov, prog)
    sims.provider.control.set(hang_next=2, hang_ms=800)
    with pytest.raises(Refusal):
        services.payout_batch_send(batch)
    sims.provider.control.set(hang_next=0)
    services.link_suspend(wrong, actor=None, reason="mis-link found")
    with pytest.raises(Refusal) as exc:
        services.ledger_return(wrong, actor=None, reason="returned")
    assert exc.value.code == "payout_in_doubt"
    for text in (exc.value.message_ja, exc.value.message_en):
        assert batch.batch_id in text, text
        assert f"madoguchi payouts send {batch.batch_id}" in text, text
    assert "シミュレーションペイ" in exc.value.message_ja, exc.value.message_ja
    # The command the refusal names sends the batch again; the provider repeats its first
    # answer (paid), and the return then takes the points back from the paid account.
    out = io.StringIO()
    call_command("payouts", "send", batch.batch_id, stdout=out)
    assert "sent again" in out.getvalue()
    assert "1 item paid, 350 points" in out.getvalue()
    services.ledger_return(wrong, actor=None, reason="returned")
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 0}
    paid_acct = ledger.account(AccountKind.PAID, prog, provider=prov)
    assert ledger.balance(paid_acct) == 0


def _two_links_in_one_batch():
    prog, prov = builders.programme(), builders.provider()
    a, b = builders.holder(), builders.holder()
    links = [
        builders.link(
            h, programme=prog, provider=prov, account=f"701000000000000{n}", account_ref=ref
        )
        for n, (h, ref) in enumerate(((a, "simpay-acct-0001"), (b, "simpay-acct-0002")), 1)
    ]
    services.grants_evaluate(a)
    services.grants_evaluate(b)
    batch = services.payout_batch_create(prov, prog)
    assert batch is not None
    return batch, links


@pytest.mark.django_db
@pytest.mark.usefixtures("systems")
def test_a_send_locks_its_links_by_pk_before_the_batch():
    """The lock order of docs/benefits.md (Payouts): a batch's links, by pk, then the batch,
    the order of a case's suspension or return (`tests/lockorder.py`); rows before the
    audit log's head, as everywhere."""
    batch, links = _two_links_in_one_batch()
    with LockOrder() as order:
        services.payout_batch_send(batch)
    locked = {pk for label, pk in order.rows_locked() if label == "benefits.PaymentLink"}
    assert locked == {link.pk for link in links}
    order.assert_locked_in_order("benefits.PaymentLink", "benefits.PayoutBatch")
    order.assert_rows_before_audit()
    assert batch.items.filter(result="paid").count() == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("systems")
@pytest.mark.parametrize("step", ["suspend", "return"])
def test_a_case_step_locks_the_link_before_its_batches(step):
    batch, (link, _) = _two_links_in_one_batch()
    with LockOrder() as order:
        if step == "suspend":
            services.link_suspend(link, actor=None, reason="mis-link found")
        else:
            services.ledger_return(link, actor=None, reason="returned")
    assert ("benefits.PayoutBatch", batch.pk) in order.rows_locked()
    order.assert_locked_in_order("benefits.PaymentLink", "benefits.PayoutBatch")
    order.assert_rows_before_audit()
    assert batch.items.get(link=link).result == "withdrawn"
