from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from madoguchi.card.testca import AUTH_POLICY_OID, TestCA, fifth_birthday_after

from .conftest import NOW


@pytest.mark.parametrize(
    ("birth", "issued", "expiry"),
    [
        (date(1980, 4, 1), date(2026, 3, 31), date(2030, 4, 1)),
        (date(1980, 4, 1), date(2026, 4, 1), date(2031, 4, 1)),
        (date(1980, 4, 1), date(2026, 4, 2), date(2031, 4, 1)),
        (date(2000, 2, 29), date(2026, 1, 1), date(2030, 2, 28)),
        (date(2000, 2, 29), date(2027, 3, 1), date(2032, 2, 29)),
    ],
)
def test_fifth_birthday_after_issue(birth: date, issued: date, expiry: date) -> None:
    assert fifth_birthday_after(birth, issued) == expiry


def test_auth_certificate_shape(ca: TestCA, keys: list[rsa.RSAPrivateKey]) -> None:
    cert = ca.issue_auth_cert(keys[0].public_key(), date(1980, 4, 1), NOW)
    issuer = cert.issuer.rfc4514_string()
    assert issuer == (
        "OU=Japan Agency for Local Authority Information Systems,"
        "OU=JPKI for user authentication,O=JPKI-TEST,C=JP"
    )
    assert [a.oid for a in cert.subject] == [NameOID.COUNTRY_NAME, NameOID.COMMON_NAME]
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [AUTH_POLICY_OID]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature
    assert not ku.key_cert_sign
    # 2026-04-01 12:00 JST is the birthday itself: it does not count
    assert cert.not_valid_after_utc == datetime(2031, 4, 1, 14, 59, 59, tzinfo=UTC)
    cert.verify_directly_issued_by(ca.certificate)
    # The extension set of the decided profile (docs/tokens.md): no extendedKeyUsage.
    assert {e.oid._name for e in cert.extensions} == {
        "keyUsage",
        "certificatePolicies",
        "authorityKeyIdentifier",
        "subjectKeyIdentifier",
    }
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).critical


def test_rollover_keeps_old_generation_valid(tmp_path: Path, keys: list[rsa.RSAPrivateKey]) -> None:
    ca = TestCA.load_or_create(tmp_path, NOW)
    old = ca.issue_auth_cert(keys[0].public_key(), date(1990, 1, 1), NOW)
    ca.rollover(NOW + timedelta(days=365))
    new = ca.issue_auth_cert(keys[1].public_key(), date(1990, 1, 1), NOW + timedelta(days=365))
    assert len(ca.certificates) == 2
    assert ca.certificates[0].subject == ca.certificates[1].subject
    assert ca.issuer_of(old).number == 1
    assert ca.issuer_of(new).number == 2
    assert new.serial_number != old.serial_number
    reloaded = TestCA.load(tmp_path)
    assert reloaded.current == 2
    assert reloaded.certificates == ca.certificates
    assert ca.certificates_pem().count(b"BEGIN CERTIFICATE") == 2


def test_revocation_lists(tmp_path: Path, keys: list[rsa.RSAPrivateKey]) -> None:
    ca = TestCA.load_or_create(tmp_path, NOW)
    cert = ca.issue_auth_cert(keys[0].public_key(), date(1990, 1, 1), NOW)
    other = ca.issue_auth_cert(keys[1].public_key(), date(1990, 1, 1), NOW)
    assert ca.crl(NOW).get_revoked_certificate_by_serial_number(cert.serial_number) is None
    ca.revoke(cert.serial_number, NOW)
    crl = x509.load_pem_x509_crl(TestCA.load(tmp_path).crl_pem(NOW))
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(other.serial_number) is None
    public = ca.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert crl.is_signature_valid(public)
