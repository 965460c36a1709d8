"""Session-scoped JPKI-TEST hierarchy: keys are generated once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from madoguchi.identity.tokens import CRLRevocationChecker, NonceRecord, TokenValidator

from .pki import NOW, Holder, ca_name, make_ca, make_crl, make_user_cert


@dataclass(frozen=True)
class Pki:
    ca_key: rsa.RSAPrivateKey
    ca: x509.Certificate
    ca2_key: rsa.RSAPrivateKey
    ca2: x509.Certificate  # a renewed CA, valid at the same time, different name suffix
    rogue_key: rsa.RSAPrivateKey  # same name as `ca`, not trusted
    holder: Holder
    holder2: Holder  # another resident, certificate from ca2
    spare_key: rsa.RSAPrivateKey  # for certificates built inside tests
    ec_key: ec.EllipticCurvePrivateKey

    def crls(self, revoked: list[int] | None = None) -> list[x509.CertificateRevocationList]:
        return [
            make_crl(self.ca, self.ca_key, revoked or []),
            make_crl(self.ca2, self.ca2_key, []),
        ]

    def validator(self, **overrides: object) -> TokenValidator:
        settings: dict[str, object] = {
            "trust_anchors": [self.ca, self.ca2],
            "revocation_checker": CRLRevocationChecker(self.crls(), clock=lambda: NOW),
        }
        settings.update(overrides)
        return TokenValidator(**settings)  # type: ignore[arg-type]


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def pki() -> Pki:
    ca_key, ca2_key, rogue_key, user_key, user2_key, spare_key = (_rsa() for _ in range(6))
    ca = make_ca(ca_key)
    ca2 = make_ca(
        ca2_key,
        name=ca_name(extra_ou="Renewed 2025"),
        not_before=NOW - timedelta(days=200),
        serial=2,
    )
    holder = Holder(user_key, make_user_cert(user_key.public_key(), ca, ca_key))
    holder2 = Holder(
        user2_key,
        make_user_cert(user2_key.public_key(), ca2, ca2_key, cn="FEDCBA9876543210", serial=77),
    )
    return Pki(
        ca_key=ca_key,
        ca=ca,
        ca2_key=ca2_key,
        ca2=ca2,
        rogue_key=rogue_key,
        holder=holder,
        holder2=holder2,
        spare_key=spare_key,
        ec_key=ec.generate_private_key(ec.SECP256R1()),
    )


NONCE = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
OLD_NONCE = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="


@pytest.fixture
def nonce_record() -> NonceRecord:
    return NonceRecord(
        value=NONCE, issued_at=NOW - timedelta(minutes=1), expires_at=NOW + timedelta(minutes=4)
    )
