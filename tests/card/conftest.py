"""Fixtures of the card layer tests: one test CA and a few RSA keys per session (key generation
is the slow part), virtual cards issued from them, and a private pcscd for `pcsc` tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from madoguchi.card.testca import TestCA, generate_rsa_key
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import VirtualCard, issue_card

NOW = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
PIN = "1234"
SUPPORT_PIN = "5678"


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA.load_or_create(tmp_path_factory.mktemp("testca"), NOW)


@pytest.fixture(scope="session")
def keys() -> list[rsa.RSAPrivateKey]:
    return [generate_rsa_key() for _ in range(2)]


@pytest.fixture
def make_card(
    ca: TestCA, keys: list[rsa.RSAPrivateKey], tmp_path: Path
) -> Callable[..., VirtualCard]:
    counter = iter(range(1000))

    def make(**overrides: Any) -> VirtualCard:
        n = next(counter)
        params: dict[str, Any] = {
            "name": "山田　太郎",
            "address": "東京都千代田区霞が関１丁目１番１号",
            "birth": date(1980, 4, 1),
            "sex": "1",
            "pin": PIN,
            "support_pin": SUPPORT_PIN,
            "now": NOW,
            "key": keys[n % len(keys)],
            "path": tmp_path / f"card{n}.card",
        }
        params.update(overrides)
        return issue_card(ca, **params)

    return make


@pytest.fixture
def card(make_card: Callable[..., VirtualCard]) -> VirtualCard:
    return make_card()


@pytest.fixture
def transport(card: VirtualCard) -> VirtualTransport:
    return VirtualTransport(card)


@pytest.fixture(scope="session")
def pcscd() -> Iterator[Any]:
    """A private pcscd with vpcd readers (shared by xdist workers), stopped afterwards."""
    from madoguchi.card.pcscd import shared_pcscd

    with shared_pcscd() as shared:
        yield shared
