"""Signed bytes, DigestInfo, origins, nonces, and the worked example in docs/tokens.md."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from madoguchi.identity.tokens import (
    authentication_signing_input,
    canonical_transaction_bytes,
    completion_signing_input,
    digest_info_sha256,
    generate_nonce,
    validate_nonce,
    validate_origin,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "tokens.md"

EXAMPLE_ORIGIN = "https://madoguchi.example.jp"
EXAMPLE_NONCE = base64.b64encode(bytes(range(32))).decode()
EXAMPLE_TX = {
    "resident": "R-000123",
    "procedure": "childcare-benefit-2026",
    "program": "P-17",
    "amount": 50000,
    "fields": {"payee": "ヤマダ タロウ", "account_last4": "1234"},
    "nonce": EXAMPLE_NONCE,
}


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_authentication_signing_input_is_web_eids() -> None:
    """web-eid-app: hash(origin) + hash(challengeNonce.toUtf8()); the nonce *text* is hashed."""
    got = authentication_signing_input(EXAMPLE_ORIGIN, EXAMPLE_NONCE)
    assert got == sha(EXAMPLE_ORIGIN.encode()) + sha(EXAMPLE_NONCE.encode())
    assert got != sha(EXAMPLE_ORIGIN.encode()) + sha(base64.b64decode(EXAMPLE_NONCE))


def test_es384_uses_sha384_for_the_parts() -> None:
    got = authentication_signing_input(EXAMPLE_ORIGIN, EXAMPLE_NONCE, algorithm="ES384")
    assert got == (
        hashlib.sha384(EXAMPLE_ORIGIN.encode()).digest()
        + hashlib.sha384(EXAMPLE_NONCE.encode()).digest()
    )


def test_digest_info_sha256_structure() -> None:
    info = digest_info_sha256(b"abc")
    assert len(info) == 51
    # SEQUENCE { SEQUENCE { OID 2.16.840.1.101.3.4.2.1, NULL }, OCTET STRING(32) }
    assert info[:2] == b"\x30\x31"
    assert info[2:4] == b"\x30\x0d"
    assert info[4:15] == b"\x06\x09" + bytes([0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01])
    assert info[15:17] == b"\x05\x00"
    assert info[17:19] == b"\x04\x20"
    assert info[19:] == sha(b"abc")


def test_card_apdu_matches_jpki_reference() -> None:
    """jpki-card.md: 80 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20 <32> 00."""
    info = digest_info_sha256(b"x")
    apdu = bytes([0x80, 0x2A, 0x00, 0x80, len(info)]) + info + b"\x00"
    assert apdu[:24].hex(" ").upper() == (
        "80 2A 00 80 33 30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20"
    )
    assert len(apdu) == 24 + 32 + 1


@pytest.mark.parametrize(
    "origin",
    [
        "https://madoguchi.example.jp",
        "https://madoguchi.example.jp:8443",
        "https://xn--eckwd4c7c.xn--zckzah",
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://127.0.0.1",
    ],
)
def test_origin_accepted(origin: str) -> None:
    assert validate_origin(origin) == origin


@pytest.mark.parametrize(
    "origin",
    [
        "https://madoguchi.example.jp/",
        "https://madoguchi.example.jp/path",
        "https://madoguchi.example.jp?q",
        "https://madoguchi.example.jp#f",
        "https://Madoguchi.example.jp",
        "https://madoguchi.example.jp:443",
        "http://127.0.0.1:80",
        "https://madoguchi.example.jp:0",
        "https://madoguchi.example.jp:08443",
        "https://madoguchi.example.jp:70000",
        "https://user@madoguchi.example.jp",
        "http://madoguchi.example.jp",
        "ftp://madoguchi.example.jp",
        "https://",
        "https://まどぐち.example",
        "madoguchi.example.jp",
        "",
    ],
)
def test_origin_refused(origin: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        validate_origin(origin)


def test_generated_nonce() -> None:
    a, b = generate_nonce(), generate_nonce()
    assert a != b
    assert len(a) == 44
    assert len(base64.b64decode(a, validate=True)) == 32
    assert validate_nonce(a) == a


@pytest.mark.parametrize("nonce", ["", "a" * 43, "a" * 129])
def test_nonce_length_bounds(nonce: str) -> None:
    with pytest.raises(ValueError, match="nonce"):
        authentication_signing_input(EXAMPLE_ORIGIN, nonce)


def test_worked_example_in_docs_matches() -> None:
    """Every hex value in docs/tokens.md's worked example is recomputed here with hashlib."""
    tx_bytes = canonical_transaction_bytes(EXAMPLE_TX)
    h_origin = sha(EXAMPLE_ORIGIN.encode())
    h_nonce = sha(EXAMPLE_NONCE.encode())
    h_tx = sha(tx_bytes)
    auth_input = h_origin + h_nonce
    completion_input = auth_input + h_tx
    assert authentication_signing_input(EXAMPLE_ORIGIN, EXAMPLE_NONCE) == auth_input
    assert completion_signing_input(EXAMPLE_ORIGIN, EXAMPLE_NONCE, tx_bytes) == completion_input

    doc = re.sub(r"\s+", "", DOC.read_text(encoding="utf-8"))
    expected = {
        "origin": EXAMPLE_ORIGIN,
        "nonce": EXAMPLE_NONCE,
        "canonical transaction": tx_bytes.decode("utf-8"),
        "canonical transaction hex": tx_bytes.hex(),
        "H(origin)": h_origin.hex(),
        "H(nonce)": h_nonce.hex(),
        "H(tx)": h_tx.hex(),
        "auth signing input": auth_input.hex(),
        "auth DigestInfo": digest_info_sha256(auth_input).hex(),
        "completion signing input": completion_input.hex(),
        "completion DigestInfo": digest_info_sha256(completion_input).hex(),
    }
    for label, value in expected.items():
        assert re.sub(r"\s+", "", value) in doc, f"docs/tokens.md lacks the {label}"


def test_every_error_code_is_documented_with_both_messages() -> None:
    from madoguchi.identity.tokens import MESSAGES_EN, MESSAGES_JA, ErrorCode

    doc = DOC.read_text(encoding="utf-8")
    for code in ErrorCode:
        row = f"| `{code.value}` | {MESSAGES_EN[code]} | {MESSAGES_JA[code]} |"
        assert row in doc, f"docs/tokens.md lacks the row for {code.value}"
