"""Card-verifiable certificates (input-support EF0004) and the J-LIS key IDs they chain to.

Layout, from the public reading of real cards (AokiApp/jsapdu `schemaCertificate`, see
docs/card.md "Sources"):

    7F21 len                          certificate
      5F4E len                        body
        issuer key ID   16 bytes      the J-LIS key that signed this certificate
        subject key ID  16 bytes      the key this certificate certifies
        TLV  public exponent          (public sources read it first; tags are not relied on)
        TLV  modulus
      5F37 len  signature             RSA PKCS#1 v1.5 with SHA-256 over the 5F4E TLV

Verification: the issuer key ID must name a key in the caller's trust table (J-LIS key IDs:
production and test cards use different IDs); the signature over the whole 5F4E TLV (tag,
length and value, as ISO/IEC 7816-8 card-verifiable certificates sign their body) must verify
with that key; the certified key then verifies EF0003. The parser tells the exponent from the
modulus by size, so it accepts either tag choice or order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from madoguchi.card.apdu import encode_tlv, parse_tlv, tlv_header
from madoguchi.card.errors import IntegrityError, TLVError

TAG_CV_CERTIFICATE = 0x7F21
TAG_CV_BODY = 0x5F4E
TAG_CV_SIGNATURE = 0x5F37
KEY_ID_LENGTH = 16
# Tags this module writes for the key parts (ISO/IEC 7816-8: 81 modulus, 82 exponent), in the
# order public sources read them from real cards (exponent first).
_TAG_EXPONENT = 0x82
_TAG_MODULUS = 0x81
_MAX_EXPONENT_BYTES = 8
_MIN_MODULUS_BYTES = 128

#: key ID -> RSA public key of a J-LIS key trusted to certify input-support keys.
KeyTable = Mapping[bytes, rsa.RSAPublicKey]


@dataclass(frozen=True)
class CVCertificate:
    issuer_key_id: bytes
    subject_key_id: bytes
    public_key: rsa.RSAPublicKey
    signed_bytes: bytes
    """The 5F4E TLV as read (what the signature covers)."""
    signature: bytes


def _rsa_key(parts: list[bytes]) -> rsa.RSAPublicKey:
    if len(parts) != 2:
        raise TLVError(f"EF0004 public key has {len(parts)} parts, expected exponent and modulus")
    exponent, modulus = sorted(parts, key=len)
    if len(exponent) > _MAX_EXPONENT_BYTES or len(modulus) < _MIN_MODULUS_BYTES:
        raise TLVError("EF0004 public key parts are not an RSA exponent and modulus")
    try:
        return rsa.RSAPublicNumbers(
            int.from_bytes(exponent, "big"), int.from_bytes(modulus, "big")
        ).public_key()
    except ValueError as exc:
        raise TLVError(f"EF0004 public key is not a valid RSA key: {exc}") from exc


def parse_cv_certificate(data: bytes) -> CVCertificate:
    """Parse EF0004 (trailing filler after the 7F21 TLV is ignored). Raises `TLVError`."""
    tag, length, header = tlv_header(data)
    if tag != TAG_CV_CERTIFICATE:
        raise TLVError(f"EF0004 starts with tag {tag:X}, expected 7F21")
    if header + length > len(data):
        raise TLVError("EF0004 is shorter than its header says")
    items = parse_tlv(data, header, header + length)
    body = next((t for t in items if t.tag == TAG_CV_BODY), None)
    signature = next((t for t in items if t.tag == TAG_CV_SIGNATURE), None)
    if body is None or signature is None:
        raise TLVError("EF0004 lacks its body (5F4E) or its signature (5F37)")
    value = body.value
    if len(value) <= 2 * KEY_ID_LENGTH:
        raise TLVError("EF0004 body is too short for two key IDs and a key")
    key_parts = [t.value for t in parse_tlv(value, 2 * KEY_ID_LENGTH)]
    return CVCertificate(
        issuer_key_id=value[:KEY_ID_LENGTH],
        subject_key_id=value[KEY_ID_LENGTH : 2 * KEY_ID_LENGTH],
        public_key=_rsa_key(key_parts),
        signed_bytes=bytes(data[body.offset : body.end]),
        signature=signature.value,
    )


def verify_cv_certificate(certificate: CVCertificate, trusted: KeyTable) -> rsa.RSAPublicKey:
    """The certified key, once the certificate's signature verifies with the J-LIS key its
    issuer key ID names. Raises `IntegrityError` for an unknown key ID or a bad signature."""
    issuer = trusted.get(certificate.issuer_key_id)
    if issuer is None:
        raise IntegrityError(
            f"EF0004 was signed by key ID {certificate.issuer_key_id.hex()}, which is not trusted"
        )
    try:
        issuer.verify(
            certificate.signature, certificate.signed_bytes, padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as exc:
        raise IntegrityError("EF0004 signature does not verify with the J-LIS key") from exc
    return certificate.public_key


def build_cv_certificate(
    issuer_key: rsa.RSAPrivateKey,
    issuer_key_id: bytes,
    subject_key: rsa.RSAPublicKey,
    subject_key_id: bytes,
) -> bytes:
    """Encode and sign an EF0004 certificate (the test CA's; real ones come from J-LIS)."""
    if len(issuer_key_id) != KEY_ID_LENGTH or len(subject_key_id) != KEY_ID_LENGTH:
        raise ValueError(f"key IDs are {KEY_ID_LENGTH} bytes")
    numbers = subject_key.public_numbers()
    exponent = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    modulus = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    body = encode_tlv(
        TAG_CV_BODY,
        issuer_key_id
        + subject_key_id
        + encode_tlv(_TAG_EXPONENT, exponent)
        + encode_tlv(_TAG_MODULUS, modulus),
    )
    signature = issuer_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return encode_tlv(TAG_CV_CERTIFICATE, body + encode_tlv(TAG_CV_SIGNATURE, signature))


def load_key_table(specs: Sequence[str]) -> KeyTable:
    """`KEYID=PEM` strings (32 hex digits = path of a PEM RSA public key) -> key table.
    Raises `ValueError` with a one-line reason; `OSError` when a file cannot be read."""
    table: dict[bytes, rsa.RSAPublicKey] = {}
    for spec in specs:
        key_id_hex, sep, path = spec.partition("=")
        try:
            key_id = bytes.fromhex(key_id_hex)
        except ValueError:
            key_id = b""
        if not sep or len(key_id) != KEY_ID_LENGTH:
            raise ValueError(f"a support key is KEYID=PEM with a {KEY_ID_LENGTH}-byte hex key ID")
        try:
            key = load_pem_public_key(Path(path).read_bytes())
        except ValueError:  # cryptography's sentence names a web page and its parser's state
            raise ValueError(f"{path} does not hold a PEM public key") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"{path} does not hold an RSA public key")
        table[key_id] = key
    return table
