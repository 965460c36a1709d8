"""Payment provider adapter against the simulated provider, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from madoguchi.outside import (
    AccountClosed,
    AccountNotFound,
    AccountStatus,
    AccountSuspended,
    HttpPaymentProvider,
    IdempotencyConflict,
    InvalidRequest,
    PaymentProvider,
    PayoutItem,
    PayoutItemStatus,
    SecurityCodeWrong,
    VerificationLocked,
)
from madoguchi.outside.registry import ProviderRegistry
from madoguchi.outside.sim import RunningSim

from .conftest import IMPATIENT, LATE_MS

TARO = ("7010000000000001", "123")
SUZUKI = ("7010000000000003", "890")


def balance(sim: RunningSim, code: str, ref: str) -> int:
    data = httpx.get(f"{sim.base_url}/providers/{code}/v1/accounts/{ref}").json()
    return int(data["points_balance"])


def test_verify_returns_the_account_with_its_kana_holder_name(providers: ProviderRegistry) -> None:
    account = providers.get("sim-pay").verify(*TARO)
    assert account.account_ref == "simpay-acct-0001"
    assert account.holder_name_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert account.status is AccountStatus.ACTIVE
    assert account.provider_code == "sim-pay"
    account.ensure_active()


def test_verify_accepts_ids_typed_with_spaces_and_full_width_digits(
    providers: ProviderRegistry,
) -> None:
    account = providers.get("sim-pay").verify("７０１０ ００００ ００００ ０００３", "８９０")
    assert account.holder_name_kana == "ｽｽﾞｷ ｲﾁﾛｳ"


def test_wrong_security_code_is_refused_and_counts_down(providers: ProviderRegistry) -> None:
    provider = providers.get("sim-pay")
    with pytest.raises(SecurityCodeWrong) as first:
        provider.verify(TARO[0], "124")
    with pytest.raises(SecurityCodeWrong) as second:
        provider.verify(TARO[0], "125")
    assert first.value.attempts_left == 4
    assert second.value.attempts_left == 3
    assert "セキュリティコード" in first.value.message_ja
    assert "残り4回" in first.value.message_ja
    assert first.value.status == 422


def test_five_wrong_codes_lock_the_id_even_for_the_right_code(
    providers: ProviderRegistry,
) -> None:
    provider = providers.get("sim-pay")
    for _ in range(4):
        with pytest.raises(SecurityCodeWrong):
            provider.verify(*SUZUKI[:1], "000")
    with pytest.raises(VerificationLocked):
        provider.verify(SUZUKI[0], "000")
    with pytest.raises(VerificationLocked):
        provider.verify(*SUZUKI)


def test_a_right_code_resets_the_wrong_code_count(providers: ProviderRegistry) -> None:
    provider = providers.get("sim-pay")
    for _ in range(4):
        with pytest.raises(SecurityCodeWrong):
            provider.verify(SUZUKI[0], "000")
    provider.verify(*SUZUKI)
    with pytest.raises(SecurityCodeWrong) as exc:
        provider.verify(SUZUKI[0], "000")
    assert exc.value.attempts_left == 4


def test_unknown_payment_service_id(providers: ProviderRegistry) -> None:
    with pytest.raises(AccountNotFound) as exc:
        providers.get("sim-pay").verify("7010000000009999", "123")
    assert "シミュレーションペイ" in exc.value.message_ja
    assert exc.value.status == 404


def test_an_id_of_another_provider_is_unknown_here(providers: ProviderRegistry) -> None:
    with pytest.raises(AccountNotFound):
        providers.get("sim-pay-noname").verify(*TARO)


def test_suspended_account_is_reported_and_cannot_be_linked(providers: ProviderRegistry) -> None:
    account = providers.get("sim-pay").verify("7010000000000007", "1357")
    assert account.status is AccountStatus.SUSPENDED
    assert account.holder_name_kana == "ﾀﾅｶ ﾐｻｷ"
    with pytest.raises(AccountSuspended) as exc:
        account.ensure_active()
    assert "利用停止" in exc.value.message_ja


def test_closed_account_cannot_be_linked(providers: ProviderRegistry) -> None:
    account = providers.get("sim-pay").verify("7010000000000008", "975")
    assert account.status is AccountStatus.CLOSED
    with pytest.raises(AccountClosed):
        account.ensure_active()


def test_holder_name_unavailable_for_one_account(providers: ProviderRegistry) -> None:
    account = providers.get("sim-pay").verify("7010000000000006", "2468")
    assert account.holder_name_kana is None
    assert not account.holder_name_available


def test_provider_that_withholds_every_holder_name(providers: ProviderRegistry) -> None:
    assert not providers.info("sim-pay-noname").holder_names
    account = providers.get("sim-pay-noname").verify("7020000000000001", "321")
    assert account.holder_name_kana is None
    assert account.status is AccountStatus.ACTIVE


@pytest.mark.parametrize(
    ("psid", "code"),
    [
        ("12345", "123"),
        ("7010000000000001", "12"),
        ("7010000000000001", "12345"),
        ("70100!", "123"),
    ],
)
def test_malformed_input_is_refused_before_anything_is_sent(
    providers: ProviderRegistry, provider_sim: RunningSim, psid: str, code: str
) -> None:
    with pytest.raises(InvalidRequest):
        providers.get("sim-pay").verify(psid, code)
    assert provider_sim.control.stats()["requests"] == 0


def test_adapter_satisfies_the_protocol(providers: ProviderRegistry) -> None:
    assert isinstance(providers.get("sim-pay"), PaymentProvider)


def test_suspend_is_idempotent_and_sticks(providers: ProviderRegistry) -> None:
    provider = providers.get("sim-pay")
    assert provider.suspend("simpay-acct-0003", reason="mis-link").status is AccountStatus.SUSPENDED
    assert provider.suspend("simpay-acct-0003").status is AccountStatus.SUSPENDED
    assert provider.account("simpay-acct-0003").status is AccountStatus.SUSPENDED
    assert provider.verify(*SUZUKI).status is AccountStatus.SUSPENDED


def test_suspend_unknown_account(providers: ProviderRegistry) -> None:
    with pytest.raises(AccountNotFound):
        providers.get("sim-pay").suspend("simpay-acct-9999")


def test_payout_pays_active_accounts_and_rejects_the_others(
    providers: ProviderRegistry, provider_sim: RunningSim
) -> None:
    result = providers.get("sim-pay").payout(
        "batch-2026-0001",
        [
            PayoutItem("i1", "simpay-acct-0001", 15000),
            PayoutItem("i2", "simpay-acct-0007", 5000),
            PayoutItem("i3", "simpay-acct-9999", 2000),
        ],
    )
    by_id = {i.item_id: i for i in result.items}
    assert by_id["i1"].status is PayoutItemStatus.PAID
    assert (by_id["i2"].status, by_id["i2"].reason) == (
        PayoutItemStatus.REJECTED,
        "account_suspended",
    )
    assert (by_id["i3"].status, by_id["i3"].reason) == (
        PayoutItemStatus.REJECTED,
        "account_not_found",
    )
    assert result.paid_points == 15000
    assert not result.replayed
    assert balance(provider_sim, "sim-pay", "simpay-acct-0001") == 15000


def test_payout_batch_is_paid_once_however_often_it_is_sent(
    providers: ProviderRegistry, provider_sim: RunningSim
) -> None:
    items = [PayoutItem("i1", "simpay-acct-0002", 7500)]
    first = providers.get("sim-pay").payout("batch-x", items)
    # Under a fresh idempotency key too, as after a restart: the batch id alone identifies it.
    again = providers.get("sim-pay").payout("batch-x", items, idempotency_key="other-key")
    assert again.replayed
    assert again.payout_ref == first.payout_ref
    assert again.items == first.items
    assert balance(provider_sim, "sim-pay", "simpay-acct-0002") == 7500


def test_payout_batch_id_reused_with_other_items_is_a_conflict(
    providers: ProviderRegistry, provider_sim: RunningSim
) -> None:
    provider = providers.get("sim-pay")
    provider.payout("batch-y", [PayoutItem("i1", "simpay-acct-0002", 100)])
    with pytest.raises(IdempotencyConflict) as exc:
        provider.payout("batch-y", [PayoutItem("i1", "simpay-acct-0002", 200)])
    assert "何も登録していません" in exc.value.message_ja
    assert balance(provider_sim, "sim-pay", "simpay-acct-0002") == 100


@pytest.mark.parametrize(
    "items",
    [
        [],
        [PayoutItem("i1", "simpay-acct-0001", 0)],
        [PayoutItem("i1", "simpay-acct-0001", -5)],
        [PayoutItem("i1", "simpay-acct-0001", 1), PayoutItem("i1", "simpay-acct-0002", 1)],
    ],
)
def test_malformed_payout_is_refused_locally(
    providers: ProviderRegistry, provider_sim: RunningSim, items: list[PayoutItem]
) -> None:
    with pytest.raises(InvalidRequest):
        providers.get("sim-pay").payout("batch-z", items)
    assert provider_sim.control.stats()["requests"] == 0


def test_payout_whose_answer_was_lost_is_replayed_not_paid_twice(
    provider_sim: RunningSim,
) -> None:
    """The first attempt is processed but answered too late; the retry gets the stored answer."""
    provider_sim.control.set(hang_next=1, hang_ms=LATE_MS)
    provider = HttpPaymentProvider(f"{provider_sim.base_url}/providers/sim-pay", config=IMPATIENT)
    try:
        result = provider.payout("batch-late", [PayoutItem("i1", "simpay-acct-0004", 3000)])
    finally:
        provider.close()
    assert result.replayed
    stats = provider_sim.control.stats()
    assert (stats["requests"], stats["processed"], stats["replayed"]) == (2, 1, 1)
    assert balance(provider_sim, "sim-pay", "simpay-acct-0004") == 3000
