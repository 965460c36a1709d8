"""Stateful property test: whatever is retried, failed or answered late, points are paid once.

The model is the ledger we expect at the provider: each batch id paid at most once, a batch id
reused with other items refused, suspended accounts never credited.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from madoguchi.outside import (
    ClientConfig,
    HttpPaymentProvider,
    IdempotencyConflict,
    OutsideTimeout,
    PayoutItem,
    PayoutItemStatus,
)
from madoguchi.outside.sim import RunningSim, SimKind, start
from madoguchi.outside.transport import shared_ssl_context

ACTIVE = ["simpay-acct-0001", "simpay-acct-0002", "simpay-acct-0003"]
SUSPENDED = "simpay-acct-0007"
# The client gives up quickly on a late answer; a normal one takes a few milliseconds.
HURRIED = ClientConfig(connect_timeout=1.0, read_timeout=0.15, attempts=3, backoff_initial=0.005)
PATIENT = ClientConfig(connect_timeout=1.0, read_timeout=5.0, attempts=3, backoff_initial=0.005)

_sim: RunningSim | None = None

items_strategy = st.lists(
    st.tuples(st.sampled_from([*ACTIVE, SUSPENDED]), st.integers(min_value=1, max_value=20_000)),
    min_size=1,
    max_size=3,
).map(lambda pairs: tuple(PayoutItem(f"i{n}", ref, pts) for n, (ref, pts) in enumerate(pairs)))


class PayoutMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        assert _sim is not None
        self.sim = _sim
        self.sim.control.reset()
        self.http = httpx.Client(verify=shared_ssl_context())
        self.hurried = HttpPaymentProvider(f"{self.sim.base_url}/providers/sim-pay", config=HURRIED)
        self.patient = HttpPaymentProvider(f"{self.sim.base_url}/providers/sim-pay", config=PATIENT)
        self.expected = dict.fromkeys([*ACTIVE, SUSPENDED], 0)
        self.batches: dict[str, tuple[PayoutItem, ...]] = {}

    def teardown(self) -> None:
        if hasattr(self, "http"):
            self.http.close()
            self.hurried.close()
            self.patient.close()

    @rule(
        batch=st.sampled_from(["b1", "b2", "b3"]),
        items=items_strategy,
        fault=st.sampled_from(["none", "none", "fail", "late"]),
        own_key=st.booleans(),
    )
    def pay(self, batch: str, items: tuple[PayoutItem, ...], fault: str, own_key: bool) -> None:
        # own_key: a caller-chosen key (as from another process) instead of the batch-derived one.
        key = f"{batch}-{uuid.uuid4()}" if own_key else None
        if fault == "fail":
            self.sim.control.set(fail_next=1)
        elif fault == "late":
            self.sim.control.set(hang_next=1, hang_ms=400)
        known = self.batches.get(batch)
        if known is not None and known != items:
            with pytest.raises(IdempotencyConflict):
                self.hurried.payout(batch, items, idempotency_key=key)
            self.check_balances()
            return
        try:
            result = self.hurried.payout(batch, items, idempotency_key=key)
        except OutsideTimeout:
            # Staff press "try again": same batch, same key.
            result = self.patient.payout(batch, items, idempotency_key=key)
        if known is not None:
            assert result.replayed
        if known is None:
            self.batches[batch] = items
            for item in items:
                if item.account_ref in ACTIVE:
                    self.expected[item.account_ref] += item.points
        statuses = {i.item_id: i.status for i in result.items}
        for item in items:
            want = (
                PayoutItemStatus.PAID if item.account_ref in ACTIVE else PayoutItemStatus.REJECTED
            )
            assert statuses[item.item_id] is want
        self.check_balances()

    def check_balances(self) -> None:
        for ref, points in self.expected.items():
            url = f"{self.sim.base_url}/providers/sim-pay/v1/accounts/{ref}"
            assert self.http.get(url).json()["points_balance"] == points, ref


@pytest.fixture(scope="module")
def payout_sim() -> Iterator[RunningSim]:
    global _sim
    _sim = start(SimKind.PROVIDER)
    try:
        yield _sim
    finally:
        _sim.stop()
        _sim = None


def test_points_are_paid_once_whatever_fails(payout_sim: RunningSim) -> None:
    run = settings(
        max_examples=10,
        stateful_step_count=8,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )(PayoutMachine)
    run.TestCase().runTest()
