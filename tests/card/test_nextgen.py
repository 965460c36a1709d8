"""The provisional next-generation card (ECDSA P-384, ES384) end to end at the library level:
virtual card -> client -> token formats -> validator. Every assumption sits in
`madoguchi.card.nextgen`; these tests pin them."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from madoguchi.agent import operations
from madoguchi.card import errors, nextgen
from madoguchi.card.jpki import JpkiClient, SignMode, verify_card_signature
from madoguchi.card.profiles import (
    JPKI_RSA_2048,
    PROVISIONAL_ECDSA_P384,
    KeyType,
    profile_for_certificate,
)
from madoguchi.card.testca import TestCA
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import VirtualCard, issue_card
from madoguchi.identity.tokens import (
    CRLRevocationChecker,
    ErrorCode,
    NonceRecord,
    TokenValidationError,
    TokenValidator,
    canonical_transaction_bytes,
    generate_nonce,
)

from .conftest import NOW, PIN

ORIGIN = "https://desk.example.jp"


@pytest.fixture(scope="module")
def ec_card(ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> VirtualCard:
    from datetime import date

    return issue_card(
        ca,
        name="山田　次郎",
        address="東京都千代田区",
        birth=date(1990, 1, 1),
        sex="1",
        pin=PIN,
        now=NOW,
        profile=PROVISIONAL_ECDSA_P384.name,
        path=tmp_path_factory.mktemp("nextgen") / "ec.card",
    )


def validator(ca: TestCA) -> TokenValidator:
    return TokenValidator(
        trust_anchors=ca.certificates,
        revocation_checker=CRLRevocationChecker([ca.crl(NOW)], clock=lambda: NOW),
    )


def nonce_record() -> NonceRecord:
    return NonceRecord(generate_nonce(), NOW, NOW + timedelta(minutes=5))


def test_the_profile_is_provisional_and_follows_the_certificate(ec_card: VirtualCard) -> None:
    profile = profile_for_certificate(ec_card.auth_certificate)
    assert profile is PROVISIONAL_ECDSA_P384
    assert profile.provisional
    assert (profile.key_type, profile.algorithm, profile.signature_length) == (
        KeyType.ECDSA_P384,
        "ES384",
        96,
    )
    assert not JPKI_RSA_2048.provisional
    key = ec_card.auth_certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp384r1"
    cert = ec_card.auth_certificate
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime >= nextgen.CERTIFICATE_LIFETIME  # assumption 3: 10 years


def test_es384_authentication_and_completion_tokens_validate(
    ec_card: VirtualCard, ca: TestCA
) -> None:
    record = nonce_record()
    token = operations.authenticate(VirtualTransport(ec_card), PIN, ORIGIN, record.value)["token"]
    assert json.loads(token)["algorithm"] == "ES384"
    assert len(base64.b64decode(json.loads(token)["signature"])) == 96
    result = validator(ca).validate_authentication(token, origin=ORIGIN, nonce=record, now=NOW)
    assert result.algorithm == "ES384"

    tx = canonical_transaction_bytes({"display": ["口座 ****1234 に 7,500 ポイント"], "n": 1})
    record = nonce_record()
    signed = operations.sign_completion(VirtualTransport(ec_card), PIN, ORIGIN, record.value, tx)
    completion = validator(ca).validate_completion(
        signed["token"], origin=ORIGIN, nonce=record, transaction_bytes=tx, now=NOW
    )
    assert completion.algorithm == "ES384"
    with pytest.raises(TokenValidationError) as info:
        validator(ca).validate_completion(
            signed["token"], origin=ORIGIN, nonce=record, transaction_bytes=tx + b" ", now=NOW
        )
    assert info.value.code is ErrorCode.TRANSACTION_CHANGED


def test_an_rsa_card_is_unchanged_and_cannot_pose_as_es384(card: VirtualCard, ca: TestCA) -> None:
    record = nonce_record()
    token = operations.authenticate(VirtualTransport(card), PIN, ORIGIN, record.value)["token"]
    assert json.loads(token)["algorithm"] == "RS256"
    assert isinstance(card.auth_certificate.public_key(), rsa.RSAPublicKey)
    assert validator(ca).validate_authentication(token, origin=ORIGIN, nonce=record, now=NOW)
    relabelled = json.dumps({**json.loads(token), "algorithm": "ES384"}, separators=(",", ":"))
    with pytest.raises(TokenValidationError) as info:
        validator(ca).validate_authentication(relabelled, origin=ORIGIN, nonce=record, now=NOW)
    assert info.value.code is ErrorCode.ALGORITHM_KEY_MISMATCH


def test_the_virtual_ec_card_signs_only_as_assumed(ec_card: VirtualCard) -> None:
    transport = VirtualTransport(ec_card)
    client = JpkiClient(transport)
    client.verify_auth_pin(PIN)
    client.select()
    with pytest.raises(errors.WrongLength):  # assumption 2: a 48-byte SHA-384 hash
        client.sign(b"\x00" * 32, profile=PROVISIONAL_ECDSA_P384)
    with pytest.raises(errors.IncorrectP1P2):  # no DigestInfo modes for ECDSA
        client.sign(b"\x00" * 48, SignMode.MESSAGE, PROVISIONAL_ECDSA_P384)
    assert len(client.sign(b"\x00" * 48, profile=PROVISIONAL_ECDSA_P384)) == 96
    transport.reset()
    client.select()
    with pytest.raises(errors.SecurityStatusNotSatisfied):
        client.sign(b"\x00" * 48, profile=PROVISIONAL_ECDSA_P384)


def test_card_signature_check_follows_the_profile(ec_card: VirtualCard, card: VirtualCard) -> None:
    for which, algorithm in ((ec_card, "ES384"), (card, "RS256")):
        result = JpkiClient(VirtualTransport(which)).authenticate(PIN, b"challenge")
        assert result.algorithm == algorithm
        assert verify_card_signature(result.certificate, b"challenge", result.signature)
        assert not verify_card_signature(result.certificate, b"other", result.signature)
