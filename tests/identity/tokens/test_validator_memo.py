"""A kept validator remembers, per certificate, only what cannot change under its settings
(issue 15, seventh round): the parsed certificate, which trust anchors signed it, a CRL's
signature and whether a CRL lists a serial. Everything that depends on the time, or on the
token, is checked on every token."""

from __future__ import annotations

from datetime import timedelta

import pytest

from madoguchi.identity.tokens import CRLRevocationChecker, ErrorCode, TokenValidationError
from madoguchi.identity.tokens import validate as validate_module

from .conftest import NONCE, Pki
from .pki import NOW, ORIGIN, Holder, make_crl, make_user_cert
from .test_validate import refused

E = ErrorCode


def _record(at=NOW):
    from madoguchi.identity.tokens import NonceRecord

    return NonceRecord(
        value=NONCE, issued_at=at - timedelta(minutes=1), expires_at=at + timedelta(minutes=4)
    )


def test_the_chain_is_verified_once_per_certificate_and_validator(pki: Pki, monkeypatch) -> None:
    calls = []
    signers = validate_module._signers

    def counting(cert, anchors):
        calls.append(cert.serial_number)
        return signers(cert, anchors)

    monkeypatch.setattr(validate_module, "_signers", counting)
    validator = pki.validator()
    token = pki.holder.auth_token(ORIGIN, NONCE)
    for _ in range(3):
        validator.validate_authentication(token, origin=ORIGIN, nonce=_record(), now=NOW)
    assert calls == [pki.holder.cert.serial_number]
    # Another card is verified on its own; a fresh validator verifies again.
    validator.validate_authentication(
        pki.holder2.auth_token(ORIGIN, NONCE), origin=ORIGIN, nonce=_record(), now=NOW
    )
    pki.validator().validate_authentication(token, origin=ORIGIN, nonce=_record(), now=NOW)
    assert calls == [pki.holder.cert.serial_number, 77, pki.holder.cert.serial_number]


def test_what_depends_on_the_time_or_the_token_is_checked_every_time(pki: Pki) -> None:
    clock = [NOW]
    checker = CRLRevocationChecker(pki.crls(), clock=lambda: clock[0])
    validator = pki.validator(revocation_checker=checker)
    token = pki.holder.auth_token(ORIGIN, NONCE)
    assert validator.validate_authentication(token, origin=ORIGIN, nonce=_record(), now=NOW)
    # The certificate expired since: refused, though its chain was remembered.
    later = pki.holder.cert.not_valid_after_utc + timedelta(minutes=1)
    refused(
        E.CERTIFICATE_EXPIRED,
        lambda: validator.validate_authentication(
            token, origin=ORIGIN, nonce=_record(later), now=later
        ),
    )
    # The CRL went stale since: the status is unknown, though its lookup was remembered.
    clock[0] = NOW + timedelta(days=400)
    refused(
        E.REVOCATION_UNKNOWN,
        lambda: validator.validate_authentication(token, origin=ORIGIN, nonce=_record(), now=NOW),
    )
    clock[0] = NOW
    # A signature over another challenge, by the remembered certificate: refused.
    other = pki.holder.auth_token(ORIGIN, "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")
    with pytest.raises(TokenValidationError):
        validator.validate_authentication(other, origin=ORIGIN, nonce=_record(), now=NOW)
    assert validator.validate_authentication(token, origin=ORIGIN, nonce=_record(), now=NOW)


def test_a_certificate_of_the_same_name_signed_by_another_key_is_not_trusted(pki: Pki) -> None:
    validator = pki.validator()
    token = pki.holder.auth_token(ORIGIN, NONCE)
    assert validator.validate_authentication(token, origin=ORIGIN, nonce=_record(), now=NOW)
    rogue_cert = make_user_cert(pki.spare_key.public_key(), pki.ca, pki.rogue_key)
    rogue = Holder(pki.spare_key, rogue_cert).auth_token(ORIGIN, NONCE)
    for _ in range(2):
        refused(
            E.CA_NOT_TRUSTED,
            lambda: validator.validate_authentication(
                rogue, origin=ORIGIN, nonce=_record(), now=NOW
            ),
        )


def test_a_revoked_certificate_stays_refused_and_a_forged_crl_stays_unused(pki: Pki) -> None:
    serial = pki.holder.cert.serial_number
    revoked = CRLRevocationChecker(pki.crls(revoked=[serial]), clock=lambda: NOW)
    forged = CRLRevocationChecker([make_crl(pki.ca, pki.rogue_key, [])], clock=lambda: NOW)
    token = pki.holder.auth_token(ORIGIN, NONCE)
    for checker, code in ((revoked, E.CERTIFICATE_REVOKED), (forged, E.REVOCATION_UNKNOWN)):
        validator = pki.validator(revocation_checker=checker)
        for _ in range(3):
            refused(
                code,
                lambda v=validator: v.validate_authentication(
                    token, origin=ORIGIN, nonce=_record(), now=NOW
                ),
            )
    assert revoked.is_revoked(pki.holder.cert, pki.ca) is True
    assert revoked.is_revoked(pki.holder2.cert, pki.ca2) is False
