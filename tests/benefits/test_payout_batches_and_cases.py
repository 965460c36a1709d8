"""Payout batches beside a case's suspension and return, and two batch runs at once: an open
batch never pays a returned link's points, no ledger account but funding goes negative, and a
link's due points sit in one open batch only."""

import contextlib

import pytest

from madoguchi.benefits import ledger, services
from madoguchi.benefits.constants import AccountKind
from madoguchi.benefits.models import LedgerAccount
from tests.benefits import builders


@pytest.fixture
def world(db):
    return builders.programme(), builders.provider()


@pytest.mark.usefixtures("systems")
def test_a_batch_made_before_a_suspension_and_return_drives_no_ledger_account_negative(world):
    """A payout batch made (open, not yet sent) before a case suspends the wrong link and
    returns its points: sending it afterwards must not pay the returned points again into
    the wrong account, nor leave a resident's suspended account negative."""
    prog, prov = world
    a = builders.holder()
    wrong = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(a)
    batch = services.payout_batch_create(prov, prog)
    assert batch is not None
    services.link_suspend(wrong, actor=None, reason="mis-link found")
    services.ledger_return(wrong, actor=None, reason="returned")
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 0}
    # Refusing to send the returned points is a right answer too.
    with contextlib.suppress(Exception):
        services.payout_batch_send(batch)
    for acct in LedgerAccount.objects.filter(programme=prog).exclude(kind=AccountKind.FUNDING):
        assert ledger.balance(acct) >= 0, (acct.code, ledger.balance(acct))
    assert ledger.holder_balances(a, prog)["paid"] == 0


@pytest.mark.django_db(transaction=True)
def test_two_payout_batches_made_at_once_do_not_both_hold_the_same_points(monkeypatch):
    """`payout_batch_create` leaves out links already in an open batch, but reads that list
    without a lock: two runs at once (two schedulers, an operator's run beside the timer) each
    put the same resident's due points in a batch of their own, and both are paid."""
    import threading

    from django.db import connection

    from madoguchi.benefits.models import PayoutItem

    prog, prov = builders.programme(), builders.provider()
    a = builders.holder()
    builders.link(a, programme=prog, provider=prov, account="7010000000000001")
    services.grants_evaluate(a)

    barrier = threading.Barrier(2, timeout=5)
    real_balance = ledger.balance

    def meeting_balance(acct):
        # Both runs have read which links are in an open batch (broken: the other run waited
        # on a lock, and the rule is kept).
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return real_balance(acct)

    monkeypatch.setattr(ledger, "balance", meeting_balance)
    results: list[object] = []

    def run():
        try:
            results.append(services.payout_batch_create(prov, prog))
        except Exception as exc:  # a refusal or a serialisation error is a right answer too
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = PayoutItem.objects.filter(link__holder=a)
    assert items.count() == 1, [(i.batch_id, i.points) for i in items]


def _no_account_but_funding_negative(prog):
    for acct in LedgerAccount.objects.filter(programme=prog).exclude(kind=AccountKind.FUNDING):
        assert ledger.balance(acct) >= 0, (acct.code, ledger.balance(acct))


@pytest.mark.usefixtures("systems")
def test_a_suspension_withdraws_the_links_item_from_a_batch_not_yet_sent(world):
    """The city sees what became of the points: the item stays in the batch, marked withdrawn
    with the reason, and the audit log says so on the link; the other resident is paid."""
    from madoguchi.audit.models import AuditEvent
    from madoguchi.benefits.constants import BatchStatus
    from madoguchi.benefits.events import BENEFITS_PAYOUT_ITEM_WITHDRAWN

    prog, prov = world
    a, b = builders.holder(), builders.holder()
    wrong = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    builders.link(
        b, programme=prog, provider=prov, account="7010000000000002", account_ref="simpay-acct-0002"
    )
    services.grants_evaluate(a)
    services.grants_evaluate(b)
    batch = services.payout_batch_create(prov, prog)
    services.link_suspend(wrong, actor=None, reason="mis-link found")
    item = batch.items.get(link=wrong)
    assert (item.result, item.reason) == ("withdrawn", "link_suspended")
    event = AuditEvent.objects.get(event_name=BENEFITS_PAYOUT_ITEM_WITHDRAWN.name)
    assert (event.subject_type, event.subject_id) == ("benefits.paymentlink", str(wrong.pk))
    assert event.payload["batch"] == batch.batch_id
    assert event.payload["points"] == 350
    assert "紐付けの利用停止" in BENEFITS_PAYOUT_ITEM_WITHDRAWN.render(event.payload, "ja")

    sent = services.payout_batch_send(batch)
    assert sent.status == BatchStatus.ACCEPTED
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 350, "paid": 0}
    assert ledger.holder_balances(b, prog)["paid"] == 350
    # The withdrawn item is no longer "in an open batch": nothing holds the link's place there.
    item.refresh_from_db()
    assert item.result == "withdrawn"
    _no_account_but_funding_negative(prog)


@pytest.mark.usefixtures("systems")
def test_a_batch_left_with_nothing_is_withdrawn_and_not_sent(world, sims):
    from madoguchi.benefits.constants import BatchStatus

    prog, prov = world
    a = builders.holder()
    wrong = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(a)
    batch = services.payout_batch_create(prov, prog)
    services.link_suspend(wrong, actor=None, reason="mis-link found")
    before = sims.provider.server.stats.requests
    sent = services.payout_batch_send(batch)
    assert sent.status == BatchStatus.WITHDRAWN
    assert sent.sent_at is None
    assert sims.provider.server.stats.requests == before


@pytest.mark.usefixtures("systems")
def test_a_send_withdraws_what_a_case_changed_after_the_batch_was_read(world):
    """A batch run that read the link as effective beside a suspension (or a return of an
    effective link's points) committed after it: the first send checks each item again."""
    from madoguchi.benefits.constants import LinkStatus
    from madoguchi.benefits.models import PaymentLink

    prog, prov = world
    a, b = builders.holder(), builders.holder()
    la = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    lb = builders.link(
        b, programme=prog, provider=prov, account="7010000000000002", account_ref="simpay-acct-0002"
    )
    services.grants_evaluate(a)
    services.grants_evaluate(b)
    batch = services.payout_batch_create(prov, prog)
    # As if the suspension and the return had committed while the batch was being made.
    PaymentLink.objects.filter(pk=la.pk).update(status=LinkStatus.SUSPENDED)
    ledger.suspend_link_points(la)
    ledger.return_link_points(lb)
    services.payout_batch_send(batch)
    assert dict(batch.items.values_list("link_id", "reason")) == {
        la.pk: "link_suspended",
        lb.pk: "points_not_due",
    }
    assert ledger.holder_balances(a, prog)["paid"] == 0
    assert ledger.holder_balances(b, prog)["paid"] == 0
    _no_account_but_funding_negative(prog)


@pytest.mark.usefixtures("systems")
def test_a_return_waits_for_the_answer_of_a_batch_already_sent(world, sims):
    """The provider paid but its answer was lost: the batch stays open and in doubt. The case's
    suspension cannot withdraw what the provider has; its return is refused until the batch is
    sent again, and then takes the points back from the paid account."""
    from madoguchi.benefits.constants import BatchStatus
    from madoguchi.refusals import Refusal

    prog, prov = world
    a = builders.holder()
    wrong = builders.link(
        a, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(a)
    batch = services.payout_batch_create(prov, prog)
    sims.provider.control.set(hang_next=2, hang_ms=800)
    with pytest.raises(Refusal):
        services.payout_batch_send(batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.OPEN
    assert batch.sent_at is not None

    services.link_suspend(wrong, actor=None, reason="mis-link found")
    assert batch.items.get().result == ""
    with pytest.raises(Refusal) as exc:
        services.ledger_return(wrong, actor=None, reason="returned")
    assert exc.value.code == "payout_in_doubt"
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 350, "paid": 0}

    sims.provider.control.set(hang_next=0)
    assert services.payout_batch_send(batch).status == BatchStatus.ACCEPTED
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 350}
    services.ledger_return(wrong, actor=None, reason="returned")
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 0}
    assert ledger.balance(ledger.account(AccountKind.FUNDING, prog)) == 0
    # Sending the accepted batch again posts nothing more.
    services.payout_batch_send(batch)
    _no_account_but_funding_negative(prog)


def test_a_payout_the_ledger_does_not_hold_is_refused(world):
    from madoguchi.refusals import Refusal

    prog, prov = world
    a = builders.holder()
    link = builders.link(a, programme=prog, provider=prov, account="7010000000000001")
    services.grants_evaluate(a)  # 350 due
    with pytest.raises(Refusal) as exc:
        ledger.post_payout(link, 351, batch_id="b1", item_id="1")
    assert exc.value.code == "payout_exceeds_balance"
    ledger.post_payout(link, 350, batch_id="b1", item_id="2")
    # The same item again is the transfer already posted, not a refusal.
    ledger.post_payout(link, 350, batch_id="b1", item_id="2")
    _no_account_but_funding_negative(prog)


def test_a_second_return_through_the_same_link_takes_back_what_was_paid(world):
    """The first return took 100 from the paid account and 250 from due; its funding line says
    350. Re-granted to the same (still effective) link and paid, the second return must take
    the 350 paid since back from the paid account, not 350 - 350 = 0 of it."""
    from madoguchi.benefits.constants import GrantStatus
    from madoguchi.benefits.models import Grant

    prog, prov = world
    a = builders.holder()
    link = builders.link(a, programme=prog, provider=prov, account="7010000000000001")
    services.grants_evaluate(a)  # 100 + 250
    ledger.post_payout(link, 100, batch_id="b1", item_id="1")
    services.ledger_return(link, actor=None, reason="first")
    for g in Grant.objects.filter(link=link, status=GrantStatus.RETURNED):
        services.ledger_regrant(g, to_link=link, actor=None, reason="again")
    ledger.post_payout(link, 350, batch_id="b2", item_id="1")
    services.ledger_return(link, actor=None, reason="second")
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 0}
    assert ledger.balance(ledger.account(AccountKind.FUNDING, prog)) == 0
    _no_account_but_funding_negative(prog)
