"""The provider registry: simulated providers and plugging in another adapter."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from madoguchi.outside import (
    AccountStatus,
    ClientConfig,
    PaymentProvider,
    PayoutItem,
    PayoutResult,
    ProviderAccount,
    ProviderInfo,
    ProviderRegistry,
    UnknownProvider,
    registry_from_specs,
    sim_registry,
)
from madoguchi.outside.sim import load_seed


class FakeProvider:
    """A stand-in for a real provider's adapter, built by `registry_from_specs`."""

    def __init__(self, info: ProviderInfo, config: ClientConfig | None, *, region: str) -> None:
        self.info = info
        self.config = config
        self.region = region

    def verify(self, payment_service_id: str, security_code: str) -> ProviderAccount:
        return ProviderAccount(
            f"{self.region}-{payment_service_id}", None, AccountStatus.ACTIVE, self.info.code
        )

    def payout(
        self, batch_id: str, items: Sequence[PayoutItem], *, idempotency_key: str | None = None
    ) -> PayoutResult:
        raise NotImplementedError

    def suspend(
        self, account_ref: str, *, reason: str = "", idempotency_key: str | None = None
    ) -> ProviderAccount:
        raise NotImplementedError

    def account(self, account_ref: str) -> ProviderAccount:
        raise NotImplementedError


def test_sim_registry_lists_the_seeded_providers_in_japanese_and_english() -> None:
    registry = sim_registry("http://127.0.0.1:1")
    assert registry.choices() == [
        ("sim-pay", "シミュレーションペイ"),
        ("sim-pay-noname", "シミュレーションペイ（名義非開示）"),
    ]
    assert registry.choices("en")[0] == ("sim-pay", "SimPay")
    assert registry.info("sim-pay").simulated
    assert registry.info("sim-pay").holder_names
    assert not registry.info("sim-pay-noname").holder_names


def test_sim_registry_follows_its_seed() -> None:
    seed = load_seed()
    seed["provider"]["providers"] = seed["provider"]["providers"][1:]
    assert [i.code for i in sim_registry("http://127.0.0.1:1", seed=seed).infos()] == [
        "sim-pay-noname"
    ]


def test_unknown_provider_code() -> None:
    registry = sim_registry("http://127.0.0.1:1")
    assert "acme-pay" not in registry
    with pytest.raises(UnknownProvider) as exc:
        registry.get("acme-pay")
    assert "acme-pay" in exc.value.message_ja


def test_adapters_are_built_once_and_reused() -> None:
    registry = sim_registry("http://127.0.0.1:1")
    assert registry.get("sim-pay") is registry.get("sim-pay")
    assert registry.get("sim-pay") is not registry.get("sim-pay-noname")
    registry.close()


def test_a_code_cannot_be_registered_twice() -> None:
    registry = ProviderRegistry()
    info = ProviderInfo("x-pay", "エックスペイ", "X Pay")
    registry.register(info, lambda i: FakeProvider(i, None, region="a"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(info, lambda i: FakeProvider(i, None, region="b"))


def test_a_real_adapter_is_plugged_in_by_configuration() -> None:
    config = ClientConfig(read_timeout=9.0)
    registry = registry_from_specs(
        [
            {
                "code": "acme-pay",
                "display_name_ja": "アクメペイ",
                "display_name_en": "Acme Pay",
                "holder_names": False,
                "adapter": f"{__name__}:FakeProvider",
                "options": {"region": "jp-east"},
            }
        ],
        config=config,
    )
    adapter = registry.get("acme-pay")
    assert isinstance(adapter, FakeProvider)
    assert isinstance(adapter, PaymentProvider)
    assert adapter.config is config
    assert adapter.verify("123", "1").account_ref == "jp-east-123"
    assert registry.info("acme-pay").display_name() == "アクメペイ"
    assert not registry.info("acme-pay").holder_names


def test_adapter_path_must_name_an_attribute() -> None:
    with pytest.raises(ValueError, match=r"package\.module:factory"):
        registry_from_specs([{"code": "a", "display_name_ja": "a", "adapter": "madoguchi.outside"}])
