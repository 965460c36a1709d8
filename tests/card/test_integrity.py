"""EF0003/EF0004 checked as on real cards: test vectors written byte by byte from the published
layout (docs/card.md "Sources"), not with the encoders under test."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from madoguchi.card import errors
from madoguchi.card.cvcert import parse_cv_certificate, verify_cv_certificate
from madoguchi.card.inputsupport import (
    attributes_hash_input,
    build_basic_four,
    build_integrity,
    check_integrity,
    parse_integrity,
)
from madoguchi.card.testca import generate_rsa_key

ROOT_ID = bytes.fromhex("00112233445566778899aabbccddeeff")
SIGNER_ID = bytes.fromhex("ffeeddccbbaa99887766554433221100")


def sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


@pytest.fixture(scope="module")
def root() -> rsa.RSAPrivateKey:
    return generate_rsa_key()


@pytest.fixture(scope="module")
def signer() -> rsa.RSAPrivateKey:
    return generate_rsa_key()


def ef0002() -> bytes:
    from datetime import date

    return build_basic_four("山田\u3000太郎", "東京都千代田区", date(1980, 4, 1), "1")


def ef0003_bytes(signer: rsa.RSAPrivateKey, ef2: bytes, *, over_bare_hashes: bool = False) -> bytes:
    number_hash = hashlib.sha256(b"not a real individual number").digest()
    attributes_hash = hashlib.sha256(attributes_hash_input(ef2)).digest()
    tlvs = b"\xdf\x31\x20" + number_hash + b"\xdf\x32\x20" + attributes_hash
    assert len(tlvs) == 70
    signed = number_hash + attributes_hash if over_bare_hashes else tlvs
    body = tlvs + b"\xdf\x33\x82\x01\x00" + sign(signer, signed)
    assert len(body) == 0x14B
    return b"\xff\x30\x82\x01\x4b" + body + b"\x00" * 29  # filler after the TLV, as read


def ef0004_bytes(
    root: rsa.RSAPrivateKey,
    subject: rsa.RSAPublicKey,
    *,
    issuer_id: bytes = ROOT_ID,
    tags: tuple[int, int] = (0x82, 0x81),
    exponent_first: bool = True,
) -> bytes:
    n = subject.public_numbers().n.to_bytes(256, "big")
    e = subject.public_numbers().e.to_bytes(3, "big")
    parts = [bytes((tags[0], 3)) + e, bytes((tags[1], 0x82, 0x01, 0x00)) + n]
    if not exponent_first:
        parts.reverse()
    value = issuer_id + SIGNER_ID + b"".join(parts)
    assert len(value) == 32 + 5 + 260
    body = b"\x5f\x4e\x82" + len(value).to_bytes(2, "big") + value
    signature = sign(root, body)
    inner = body + b"\x5f\x37\x82\x01\x00" + signature
    return b"\x7f\x21\x82" + len(inner).to_bytes(2, "big") + inner + b"\xff" * 10


def test_ef0003_signature_covers_the_70_tlv_bytes(
    root: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey
) -> None:
    ef2 = ef0002()
    ef3 = ef0003_bytes(signer, ef2)
    ef4 = ef0004_bytes(root, signer.public_key())
    record = check_integrity(ef2, ef3, ef4, {ROOT_ID: root.public_key()})
    assert record.signed_data == ef3[5:75]
    # The former reading (a signature over the two bare hashes) is refused.
    old = ef0003_bytes(signer, ef2, over_bare_hashes=True)
    with pytest.raises(errors.IntegrityError, match="EF0003 signature"):
        check_integrity(ef2, old, ef4, {ROOT_ID: root.public_key()})
    # The hash check needs no key at all.
    check_integrity(ef2, old)


def test_the_encoder_writes_what_the_layout_says(signer: rsa.RSAPrivateKey) -> None:
    ef2 = ef0002()
    ours = build_integrity(hashlib.sha256(b"x").digest(), ef2, signer)
    assert ours[:5] == bytes.fromhex("ff3082014b")
    record = parse_integrity(ours)
    assert record.signed_data[:3] == b"\xdf\x31\x20"
    assert record.signed_data[35:38] == b"\xdf\x32\x20"
    signer.public_key().verify(record.signature, ours[5:75], padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(
    ("tags", "exponent_first"),
    [((0x82, 0x81), True), ((0x81, 0x82), True), ((0x81, 0x82), False), ((0x02, 0x02), True)],
)
def test_ef0004_parser_takes_exponent_and_modulus_by_size(
    root: rsa.RSAPrivateKey,
    signer: rsa.RSAPrivateKey,
    tags: tuple[int, int],
    exponent_first: bool,
) -> None:
    raw = ef0004_bytes(root, signer.public_key(), tags=tags, exponent_first=exponent_first)
    cert = parse_cv_certificate(raw)
    assert (cert.issuer_key_id, cert.subject_key_id) == (ROOT_ID, SIGNER_ID)
    assert cert.public_key.public_numbers() == signer.public_key().public_numbers()
    assert verify_cv_certificate(cert, {ROOT_ID: root.public_key()}) is cert.public_key


def test_ef0004_refusals(root: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey) -> None:
    good = ef0004_bytes(root, signer.public_key())
    with pytest.raises(errors.IntegrityError, match="not trusted"):
        verify_cv_certificate(parse_cv_certificate(good), {SIGNER_ID: root.public_key()})
    tampered = bytearray(good)
    tampered[60] ^= 1  # inside the modulus
    with pytest.raises(errors.IntegrityError, match="EF0004 signature"):
        verify_cv_certificate(parse_cv_certificate(bytes(tampered)), {ROOT_ID: root.public_key()})
    with pytest.raises(errors.TLVError, match="7F21"):
        parse_cv_certificate(b"\x7f\x22\x01\x00")
    with pytest.raises(errors.TLVError, match="5F37"):
        parse_cv_certificate(b"\x7f\x21\x03\x5f\x4e\x00")
    # A certificate for someone else's key does not vouch for this EF0003.
    ef2 = ef0002()
    other = ef0004_bytes(root, generate_rsa_key().public_key())
    with pytest.raises(errors.IntegrityError, match="EF0003 signature"):
        check_integrity(ef2, ef0003_bytes(signer, ef2), other, {ROOT_ID: root.public_key()})
    with pytest.raises(errors.IntegrityError, match="EF0004"):
        check_integrity(ef2, ef0003_bytes(signer, ef2), None, {ROOT_ID: root.public_key()})
