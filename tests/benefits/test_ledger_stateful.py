"""Random sequences of ledger operations; the invariants are checked after every step.

- balances are the sums of their entries, and every granted point is accounted for
  (effective grants = what funding has issued; no account but funding goes negative);
- never two effective grants for one resident and category;
- every transfer is balanced (two or more entries summing to zero);
- no entry is ever changed or removed (every entry seen before is still there, unchanged).
"""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from madoguchi.benefits import ledger, services
from madoguchi.benefits.constants import AccountKind, GrantStatus, LinkStatus
from madoguchi.benefits.identifiers import identifier_hash
from madoguchi.benefits.models import (
    Grant,
    ImmutableError,
    LedgerAccount,
    LedgerEntry,
    LedgerTransfer,
    PaymentLink,
)
from madoguchi.refusals import Refusal
from tests.benefits import builders

HOLDERS = 3
ACCOUNTS = ["7010000000000001", "7010000000000002", "7010000000000003", "7010000000000004"]


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # A fresh programme per example: examples share the test's database transaction.
        self.programme = builders.programme()
        self.provider = builders.provider()
        self.session = builders.desk_session()
        self.holders = [builders.holder() for _ in range(HOLDERS)]
        self.seen: dict[int, tuple[int, int, int]] = {}
        self.payouts = 0

    def _link(self, h, statuses=(LinkStatus.EFFECTIVE,)):
        return PaymentLink.objects.filter(
            holder=h, programme=self.programme, status__in=statuses
        ).first()

    @rule(h=st.integers(0, HOLDERS - 1), a=st.integers(0, len(ACCOUNTS) - 1))
    def link(self, h, a):
        holder = self.holders[h]
        # The account is taken in this programme, or by another resident in any programme
        # (one account, one resident: AccountClaim).
        account_taken = (
            PaymentLink.objects.filter(
                provider=self.provider,
                account_hash=identifier_hash(ACCOUNTS[a]),
                status=LinkStatus.EFFECTIVE,
            )
            .filter(Q(programme=self.programme) | ~Q(holder=holder))
            .exists()
        )
        holder_taken = self._link(holder, (LinkStatus.EFFECTIVE, LinkStatus.SUSPENDED)) is not None
        try:
            with transaction.atomic():
                builders.link(
                    holder,
                    programme=self.programme,
                    provider=self.provider,
                    account=ACCOUNTS[a],
                    session=self.session,
                )
        except IntegrityError:
            assert account_taken or holder_taken
        else:
            assert not account_taken
            assert not holder_taken

    @rule(h=st.integers(0, HOLDERS - 1))
    def evaluate(self, h):
        services.grants_evaluate(self.holders[h])

    @rule(h=st.integers(0, HOLDERS - 1), yen=st.integers(4, 40_000))
    def card_acquisition(self, h, yen):
        link = self._link(self.holders[h])
        if link is None:
            return
        exists = Grant.objects.filter(
            holder=link.holder,
            programme=self.programme,
            category="card_acquisition",
            status=GrantStatus.EFFECTIVE,
        ).exists()
        if exists:
            with pytest.raises(Refusal, match="grant_exists"):
                services.card_acquisition_grant(link, charged_yen=yen, source_ref="report")
        else:
            g = services.card_acquisition_grant(link, charged_yen=yen, source_ref="report")
            assert g.points == min(yen * 25 // 100, 5000)

    @rule(h=st.integers(0, HOLDERS - 1))
    def payout(self, h):
        holder = self.holders[h]
        link = self._link(holder)
        due = ledger.holder_balances(holder, self.programme)["due"]
        if link is None or due <= 0:
            return
        self.payouts += 1
        ledger.post_payout(link, due, batch_id=f"sm-{self.programme.pk}", item_id=str(self.payouts))

    @rule(h=st.integers(0, HOLDERS - 1))
    def suspend(self, h):
        link = self._link(self.holders[h])
        if link is not None:
            services.link_suspend(link, actor=None, reason="stateful")

    @rule(h=st.integers(0, HOLDERS - 1))
    def give_back(self, h):
        link = self._link(self.holders[h], (LinkStatus.SUSPENDED,))
        if link is not None:
            services.ledger_return(link, actor=None, reason="stateful")

    @rule(h=st.integers(0, HOLDERS - 1))
    def replace(self, h):
        link = self._link(self.holders[h], (LinkStatus.SUSPENDED,))
        if (
            link is not None
            and not Grant.objects.filter(link=link, status=GrantStatus.EFFECTIVE).exists()
        ):
            services.link_replace_via_case(link, actor=None, case_ref="SM", reason="stateful")

    @rule(h=st.integers(0, HOLDERS - 1))
    def regrant(self, h):
        target = self._link(self.holders[h])
        returned = Grant.objects.filter(
            programme=self.programme, status=GrantStatus.RETURNED, regranted_as__isnull=True
        ).first()
        if target is None or returned is None:
            return
        exists = Grant.objects.filter(
            holder=target.holder,
            programme=self.programme,
            category=returned.category,
            status=GrantStatus.EFFECTIVE,
        ).exists()
        if exists:
            with pytest.raises(Refusal, match="grant_exists"):
                services.ledger_regrant(returned, to_link=target, actor=None, reason="stateful")
        else:
            services.ledger_regrant(returned, to_link=target, actor=None, reason="stateful")

    @rule(data=st.data())
    def tamper(self, data):
        entry = LedgerEntry.objects.filter(account__programme=self.programme).order_by("?").first()
        if entry is None:
            return
        entry.amount += 1
        for attempt in (
            entry.save,
            entry.delete,
            lambda: LedgerEntry.objects.filter(pk=entry.pk).update(amount=0),
        ):
            try:
                attempt()
            except ImmutableError:
                pass
            else:
                raise AssertionError("a ledger entry was changed")

    @invariant()
    def balances_are_sums_and_points_are_accounted_for(self):
        accounts = LedgerAccount.objects.filter(programme=self.programme)
        total = 0
        for acct in accounts:
            b = ledger.balance(acct)
            assert b == sum(e.amount for e in acct.entries.all())
            total += b
            if acct.kind != AccountKind.FUNDING:
                assert b >= 0, (acct.code, b)
        assert total == 0
        effective = Grant.objects.filter(programme=self.programme, status=GrantStatus.EFFECTIVE)
        issued = -ledger.balance(ledger.account(AccountKind.FUNDING, self.programme))
        assert issued == sum(g.points for g in effective)

    @invariant()
    def at_most_one_effective_grant_per_holder_and_category(self):
        dupes = (
            Grant.objects.filter(programme=self.programme, status=GrantStatus.EFFECTIVE)
            .values("holder", "category")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not dupes.exists()

    @invariant()
    def every_transfer_is_balanced(self):
        for t in LedgerTransfer.objects.filter(programme=self.programme).annotate(
            s=Sum("entries__amount"), n=Count("entries")
        ):
            assert t.s == 0, (t.kind, t.s)
            assert t.n >= 2, (t.kind, t.n)

    @invariant()
    def no_entry_ever_changes(self):
        now = {
            e.pk: (e.transfer_id, e.account_id, e.amount)
            for e in LedgerEntry.objects.filter(account__programme=self.programme)
        }
        for pk, row in self.seen.items():
            assert now.get(pk) == row
        self.seen = now


@pytest.mark.django_db
def test_ledger_invariants_hold_for_random_operation_sequences():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
