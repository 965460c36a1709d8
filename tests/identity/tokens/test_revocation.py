"""CRL and OCSP revocation checkers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from madoguchi.identity.tokens import CRLRevocationChecker, OCSPRevocationChecker, RevocationChecker

from .conftest import Pki
from .pki import NOW, make_crl


def test_checkers_satisfy_the_protocol(pki: Pki) -> None:
    assert isinstance(CRLRevocationChecker([]), RevocationChecker)
    assert isinstance(OCSPRevocationChecker(lambda *_: b"", "http://x"), RevocationChecker)  # type: ignore[arg-type]


def test_crl_revoked_and_not(pki: Pki) -> None:
    serial = pki.holder.cert.serial_number
    revoked = CRLRevocationChecker(pki.crls(revoked=[serial]), clock=lambda: NOW)
    assert revoked.is_revoked(pki.holder.cert, pki.ca) is True
    clean = CRLRevocationChecker(pki.crls(revoked=[serial + 1]), clock=lambda: NOW)
    assert clean.is_revoked(pki.holder.cert, pki.ca) is False


def test_crl_bad_signature_is_ignored(pki: Pki) -> None:
    forged = make_crl(pki.ca, pki.rogue_key, [pki.holder.cert.serial_number])
    assert (
        CRLRevocationChecker([forged], clock=lambda: NOW).is_revoked(pki.holder.cert, pki.ca)
        is None
    )


def test_crl_from_other_issuer_is_ignored(pki: Pki) -> None:
    other = make_crl(pki.ca2, pki.ca2_key, [pki.holder.cert.serial_number])
    assert (
        CRLRevocationChecker([other], clock=lambda: NOW).is_revoked(pki.holder.cert, pki.ca) is None
    )


@pytest.mark.parametrize(
    ("last", "next_"),
    [
        (NOW - timedelta(days=2), NOW - timedelta(seconds=1)),  # stale
        (NOW - timedelta(days=2), NOW),  # nextUpdate is exclusive
        (NOW + timedelta(minutes=5), NOW + timedelta(days=1)),  # from the future
    ],
    ids=["stale", "next-update-now", "future"],
)
def test_crl_freshness(pki: Pki, last: object, next_: object) -> None:
    crl = make_crl(pki.ca, pki.ca_key, [], last_update=last, next_update=next_)  # type: ignore[arg-type]
    assert (
        CRLRevocationChecker([crl], clock=lambda: NOW).is_revoked(pki.holder.cert, pki.ca) is None
    )


def test_one_fresh_crl_is_enough(pki: Pki) -> None:
    stale = make_crl(pki.ca, pki.ca_key, [], next_update=NOW - timedelta(hours=1))
    fresh = make_crl(pki.ca, pki.ca_key, [pki.holder.cert.serial_number])
    checker = CRLRevocationChecker([stale, fresh], clock=lambda: NOW)
    assert checker.is_revoked(pki.holder.cert, pki.ca) is True


# --- OCSP through an in-process responder -------------------------------------------------


class Responder:
    """Answers OCSP requests like a responder would, with knobs to misbehave."""

    def __init__(self, pki: Pki, status: ocsp.OCSPCertStatus, **knobs: object) -> None:
        self.pki = pki
        self.status = status
        self.knobs = knobs
        self.calls = 0

    def post(self, url: str, request_der: bytes) -> bytes:
        self.calls += 1
        if self.knobs.get("fail"):
            raise ConnectionError("down")
        request = ocsp.load_der_ocsp_request(request_der)
        pki = self.pki
        signer_cert, signer_key = pki.ca, pki.ca_key
        if "signer" in self.knobs:
            signer_cert, signer_key = self.knobs["signer"]  # type: ignore[misc]
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=pki.holder.cert,
                issuer=pki.ca,
                algorithm=hashes.SHA256(),
                cert_status=self.status,
                this_update=NOW - timedelta(minutes=1),
                next_update=self.knobs.get("next_update", NOW + timedelta(hours=1)),  # type: ignore[arg-type]
                revocation_time=NOW - timedelta(days=1)
                if self.status == ocsp.OCSPCertStatus.REVOKED
                else None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        )
        if "signer" in self.knobs:
            builder = builder.certificates([signer_cert])
        nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        if self.knobs.get("wrong_nonce"):
            nonce = b"x" * 16
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        response = builder.sign(self.knobs.get("sign_key", signer_key), hashes.SHA256())  # type: ignore[arg-type]
        return response.public_bytes(serialization.Encoding.DER)


def ocsp_check(pki: Pki, responder: Responder) -> bool | None:
    return OCSPRevocationChecker(responder, "http://ocsp.invalid", clock=lambda: NOW).is_revoked(
        pki.holder.cert, pki.ca
    )


def test_ocsp_good_revoked_unknown(pki: Pki) -> None:
    assert ocsp_check(pki, Responder(pki, ocsp.OCSPCertStatus.GOOD)) is False
    assert ocsp_check(pki, Responder(pki, ocsp.OCSPCertStatus.REVOKED)) is True
    assert ocsp_check(pki, Responder(pki, ocsp.OCSPCertStatus.UNKNOWN)) is None


@pytest.mark.parametrize(
    "knobs",
    [
        {"fail": True},
        {"wrong_nonce": True},
        {"next_update": NOW - timedelta(seconds=1)},
        {"sign_key": "rogue"},
    ],
    ids=["transport-error", "wrong-nonce", "stale", "forged-signature"],
)
def test_ocsp_unverifiable_is_unknown(pki: Pki, knobs: dict[str, object]) -> None:
    if knobs.get("sign_key") == "rogue":
        knobs = {"sign_key": pki.rogue_key}
    assert ocsp_check(pki, Responder(pki, ocsp.OCSPCertStatus.GOOD, **knobs)) is None


def _responder_cert(pki: Pki, eku: bool) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OCSP responder")]))
        .issuer_name(pki.ca.subject)
        .public_key(pki.spare_key.public_key())
        .serial_number(4242)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
    )
    if eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False
        )
    return builder.sign(pki.ca_key, hashes.SHA256())


def test_ocsp_delegated_responder(pki: Pki) -> None:
    good = _responder_cert(pki, eku=True)
    signer = (good, pki.spare_key)
    assert ocsp_check(pki, Responder(pki, ocsp.OCSPCertStatus.REVOKED, signer=signer)) is True
    no_eku = (_responder_cert(pki, eku=False), pki.spare_key)
    assert ocsp_check(pki, Responder(pki, ocsp.OCSPCertStatus.REVOKED, signer=no_eku)) is None
