"""A small JPKI look-alike hierarchy (O=JPKI-TEST) and a software 'card' for token tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from madoguchi.identity.tokens import (
    JPKI_AUTH_POLICY_OID,
    authentication_signing_input,
    build_auth_token,
    build_completion_token,
    completion_signing_input,
    completion_transaction_digest,
    digest_info_sha256,
)

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ORIGIN = "https://madoguchi.example.jp"
APP_VERSION = "https://madoguchi.example.jp/card-agent/releases/0.1.0"

CA_OU_AUTH = "JPKI for user authentication"
CA_OU_JLIS = "Japan Agency for Local Authority Information Systems"


def ca_name(org: str = "JPKI-TEST", extra_ou: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, CA_OU_AUTH),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, CA_OU_JLIS),
    ]
    if extra_ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, extra_ou))
    return x509.Name(attrs)


def make_ca(
    key: rsa.RSAPrivateKey,
    *,
    name: x509.Name | None = None,
    not_before: datetime = NOW - timedelta(days=365 * 3),
    not_after: datetime = NOW + timedelta(days=365 * 7),
    serial: int = 1,
) -> x509.Certificate:
    subject = name or ca_name()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def key_usage(*, digital_signature: bool = True) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=not digital_signature,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


_UNSET = object()


def make_user_cert(
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    *,
    cn: str = "ABCDEF0123456789ABCDEF0123456789",
    serial: int = 0x1234567890ABCDEF,
    usage: x509.KeyUsage | object | None = _UNSET,
    eku: list[x509.ObjectIdentifier] | None = None,
    policies: list[str] | None = None,
    not_before: datetime = NOW - timedelta(days=30),
    not_after: datetime = NOW + timedelta(days=365 * 4),
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                    x509.NameAttribute(NameOID.COMMON_NAME, cn),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    ku = key_usage() if usage is _UNSET else usage
    if ku is not None:
        assert isinstance(ku, x509.KeyUsage)
        builder = builder.add_extension(ku, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    pols = [JPKI_AUTH_POLICY_OID] if policies is None else policies
    if pols:
        builder = builder.add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in pols]
            ),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256())


def make_crl(
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    revoked_serials: list[int],
    *,
    last_update: datetime = NOW - timedelta(hours=6),
    next_update: datetime | None = NOW + timedelta(days=1),
    name: x509.Name | None = None,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name or issuer.subject)
        .last_update(last_update)
    )
    if next_update is not None:
        builder = builder.next_update(next_update)
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(last_update - timedelta(hours=1))
            .build()
        )
    return builder.sign(issuer_key, hashes.SHA256())


def card_sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """What the JPKI card does for SIGN with P1=00: PKCS#1 v1.5 type-1 padding of the input as
    given (here a DigestInfo), then the raw RSA private operation."""
    numbers = key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    k = (n.bit_length() + 7) // 8
    assert len(data) <= k - 11
    encoded = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    return pow(int.from_bytes(encoded, "big"), d, n).to_bytes(k, "big")


def es_sign(key: ec.EllipticCurvePrivateKey, data: bytes, algorithm: str) -> bytes:
    """JWS-style raw r || s ECDSA signature."""
    h = hashes.SHA256() if algorithm == "ES256" else hashes.SHA384()
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(h)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@dataclass(frozen=True)
class Holder:
    """A resident's card: the authentication key and certificate."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(Encoding.DER)

    def auth_token(self, origin: str, nonce: str) -> str:
        signature = card_sign(
            self.key, digest_info_sha256(authentication_signing_input(origin, nonce))
        )
        return build_auth_token(self.der, signature, APP_VERSION)

    def completion_token(self, origin: str, nonce: str, tx_bytes: bytes) -> str:
        signing_input = completion_signing_input(origin, nonce, tx_bytes)
        signature = card_sign(self.key, digest_info_sha256(signing_input))
        return build_completion_token(
            self.der, signature, APP_VERSION, completion_transaction_digest(tx_bytes)
        )


def edit(token: str, **changes: object) -> str:
    """Re-serialise a token with fields changed; a value of DELETE removes the field."""
    data = json.loads(token)
    for key, value in changes.items():
        if value is DELETE:
            data.pop(key, None)
        else:
            data[key] = value
    return json.dumps(data)


DELETE = object()
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
