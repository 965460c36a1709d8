"""Test support: a JPKI-TEST CA and virtual cards, and tokens signed the way the agent signs.

Keys are slow to make, so the CA and the cards are made once per test session (see conftest).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from madoguchi.card.jpki import JpkiClient
from madoguchi.card.testca import TestCA
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import VirtualCard, issue_card
from madoguchi.identity.tokens import (
    authentication_signing_input,
    build_auth_token,
    build_completion_token,
    completion_signing_input,
)

PIN = "1234"
APP = "https://madoguchi.test/agent/1.0"


@dataclass
class Pki:
    ca: TestCA
    cards: dict[str, VirtualCard]

    def card(self, name: str) -> VirtualCard:
        return self.cards[name]


def make_pki(directory: Path) -> Pki:
    ca = TestCA.load_or_create(directory / "ca")
    people = {
        "A": ("堺　花子", date(1980, 4, 1), "2"),
        "B": ("鈴木　一郎", date(1975, 9, 30), "1"),
        "C": ("山田　太郎", date(1990, 1, 15), "1"),
    }
    cards = {
        key: issue_card(
            ca,
            name=name,
            address="大阪府デモ市堺区南瓦町３番１号",
            birth=birth,
            sex=sex,
            pin=PIN,
            path=directory / f"{key}.card",
        )
        for key, (name, birth, sex) in people.items()
    }
    return Pki(ca=ca, cards=cards)


def fingerprint(card: VirtualCard) -> str:
    client = JpkiClient(VirtualTransport(card))
    return hashlib.sha256(client.read_auth_certificate_der()).hexdigest()


def auth_token(card: VirtualCard, origin: str, nonce: str, pin: str = PIN) -> str:
    card.power_on()
    result = JpkiClient(VirtualTransport(card)).authenticate(
        pin, authentication_signing_input(origin, nonce)
    )
    card.power_on()
    return build_auth_token(result.certificate_der, result.signature, APP)


def completion_token(
    card: VirtualCard, origin: str, nonce: str, tx_bytes: bytes, pin: str = PIN
) -> str:
    card.power_on()
    result = JpkiClient(VirtualTransport(card)).authenticate(
        pin, completion_signing_input(origin, nonce, tx_bytes)
    )
    card.power_on()
    return build_completion_token(
        result.certificate_der, result.signature, APP, hashlib.sha256(tx_bytes).digest()
    )


def basic_four_files(card: VirtualCard, pin: str = PIN) -> dict[str, str]:
    """EF0002/EF0003/EF0004 (base64) as the agent reads them (its own code path) after the
    input-support PIN: what the desk page forwards to the server."""
    from madoguchi.agent.operations import read_attributes

    card.power_on()
    result = read_attributes(VirtualTransport(card), pin)
    card.power_on()
    return result["evidence"]


def support_key_spec(ca: TestCA, directory: Path) -> str:
    """A `CARD_SUPPORT_KEYS` entry that trusts the test CA's input-support root."""
    from madoguchi.card.testca import SUPPORT_ROOT_KEY_ID

    path = directory / "support-root.pem"
    path.write_bytes(ca.support_public_key_pem())
    return f"{SUPPORT_ROOT_KEY_ID.hex()}={path}"
