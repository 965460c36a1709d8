"""Token validation: happy paths, one test per rejection, replay between kinds, dynamic linking."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from madoguchi.identity.tokens import (
    AUTH_FORMAT,
    COMPLETION_FORMAT,
    MESSAGES_EN,
    MESSAGES_JA,
    CRLRevocationChecker,
    ErrorCode,
    NonceRecord,
    TokenValidationError,
    authentication_signing_input,
    build_auth_token,
    build_completion_token,
    canonical_transaction_bytes,
    completion_signing_input,
    completion_transaction_digest,
    digest_info_sha256,
)
from madoguchi.identity.tokens import validate as validate_module

from .conftest import NONCE, OLD_NONCE, Pki
from .pki import (
    APP_VERSION,
    CLIENT_AUTH,
    DELETE,
    NOW,
    ORIGIN,
    Holder,
    ca_name,
    card_sign,
    edit,
    es_sign,
    key_usage,
    make_ca,
    make_crl,
    make_user_cert,
)

E = ErrorCode

TX: dict[str, Any] = {
    "resident": "R-000123",
    "procedure": "childcare-benefit-2026",
    "program": "P-17",
    "amount": 50000,
    "fields": {"payee": "ヤマダ タロウ", "account_last4": "1234", "children": 2},
    "nonce": NONCE,
}


def tx_bytes(tx: dict[str, Any] | None = None) -> bytes:
    return canonical_transaction_bytes(TX if tx is None else tx)


def refused(code: ErrorCode, call: Callable[[], object]) -> TokenValidationError:
    with pytest.raises(TokenValidationError) as info:
        call()
    assert info.value.code == code, f"expected {code}, got {info.value.code}: {info.value.detail}"
    return info.value


def auth(pki: Pki, token: str, record: NonceRecord | None, **kw: Any) -> Callable[[], object]:
    validator_kw = {k: kw.pop(k) for k in list(kw) if k in _VALIDATOR_FIELDS}
    validator = pki.validator(**validator_kw)
    return lambda: validator.validate_authentication(
        token, origin=kw.pop("origin", ORIGIN), nonce=record, now=kw.pop("now", NOW), **kw
    )


def completion(
    pki: Pki, token: str, record: NonceRecord | None, server_tx: bytes, **kw: Any
) -> Callable[[], object]:
    validator_kw = {k: kw.pop(k) for k in list(kw) if k in _VALIDATOR_FIELDS}
    validator = pki.validator(**validator_kw)
    return lambda: validator.validate_completion(
        token,
        origin=kw.pop("origin", ORIGIN),
        nonce=record,
        transaction_bytes=server_tx,
        now=kw.pop("now", NOW),
        **kw,
    )


_VALIDATOR_FIELDS = {
    "trust_anchors",
    "revocation_checker",
    "allowed_algorithms",
    "required_policy_oids",
    "reject_unknown_revocation",
}


def with_cert(holder_key: Any, cert: Any) -> Holder:
    return Holder(holder_key, cert)


# --- happy paths -------------------------------------------------------------------------


def test_valid_authentication_token(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.auth_token(ORIGIN, NONCE)
    result = pki.validator().validate_authentication(
        token, origin=ORIGIN, nonce=nonce_record, now=NOW
    )
    assert result.format == AUTH_FORMAT
    assert result.algorithm == "RS256"
    assert result.certificate == pki.holder.cert
    assert result.issuer_certificate == pki.ca
    assert result.serial_number == pki.holder.cert.serial_number
    assert result.subject_cn == "ABCDEF0123456789ABCDEF0123456789"
    assert result.fingerprint_sha256 == hashlib.sha256(pki.holder.der).hexdigest()
    assert "O=JPKI-TEST" in result.issuer_dn
    assert result.transaction_digest is None


def test_valid_token_has_exactly_the_web_eid_fields(pki: Pki) -> None:
    data = json.loads(pki.holder.auth_token(ORIGIN, NONCE))
    assert set(data) == {"unverifiedCertificate", "algorithm", "signature", "format", "appVersion"}
    assert data["format"] == "web-eid:1.0"
    assert base64.b64decode(data["unverifiedCertificate"]) == pki.holder.der


def test_valid_completion_token(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.completion_token(ORIGIN, NONCE, tx_bytes())
    result = pki.validator().validate_completion(
        token, origin=ORIGIN, nonce=nonce_record, transaction_bytes=tx_bytes(), now=NOW
    )
    assert result.format == COMPLETION_FORMAT
    assert result.transaction_digest == hashlib.sha256(tx_bytes()).digest()
    assert (
        json.loads(token)["transactionDigest"]
        == base64.b64encode(hashlib.sha256(tx_bytes()).digest()).decode()
    )


def test_certificate_from_second_ca_valid_at_the_same_time(
    pki: Pki, nonce_record: NonceRecord
) -> None:
    token = pki.holder2.auth_token(ORIGIN, NONCE)
    result = pki.validator().validate_authentication(
        token, origin=ORIGIN, nonce=nonce_record, now=NOW
    )
    assert result.issuer_certificate == pki.ca2


def test_loopback_http_origin_for_the_demo(pki: Pki, nonce_record: NonceRecord) -> None:
    origin = "http://127.0.0.1:8000"
    token = pki.holder.auth_token(origin, NONCE)
    result = pki.validator().validate_authentication(
        token, origin=origin, nonce=nonce_record, now=NOW
    )
    assert result.serial_number == pki.holder.cert.serial_number


def test_nonce_callback_is_called_once(pki: Pki, nonce_record: NonceRecord) -> None:
    calls: list[int] = []

    def consume() -> NonceRecord:
        calls.append(1)
        return nonce_record

    token = pki.holder.auth_token(ORIGIN, NONCE)
    pki.validator().validate_authentication(token, origin=ORIGIN, nonce=consume, now=NOW)
    assert calls == [1]


def test_nonce_callback_not_called_for_garbage(pki: Pki) -> None:
    calls: list[int] = []

    def consume() -> NonceRecord | None:
        calls.append(1)
        return None

    refused(E.NOT_JSON, auth(pki, "x" * 200, consume))  # type: ignore[arg-type]
    assert calls == []


def test_es256_accepted_only_when_configured(pki: Pki, nonce_record: NonceRecord) -> None:
    cert = make_user_cert(pki.ec_key.public_key(), pki.ca, pki.ca_key, serial=991)
    signing_input = authentication_signing_input(ORIGIN, NONCE, algorithm="ES256")
    token = build_auth_token(
        cert.public_bytes(Encoding.DER),
        es_sign(pki.ec_key, signing_input, "ES256"),
        APP_VERSION,
        algorithm="ES256",
    )
    refused(E.ALGORITHM_NOT_ALLOWED, auth(pki, token, nonce_record))
    result = pki.validator(
        allowed_algorithms=frozenset({"RS256", "ES256"})
    ).validate_authentication(token, origin=ORIGIN, nonce=nonce_record, now=NOW)
    assert result.algorithm == "ES256"
    tampered = edit(token, signature=base64.b64encode(b"\x01" * 64).decode())
    refused(
        E.SIGNATURE_INVALID,
        auth(pki, tampered, nonce_record, allowed_algorithms=frozenset({"ES256"})),
    )


def test_card_form_equals_library_rs256(pki: Pki) -> None:
    """The card's P1=00 sign over our DigestInfo is a standard RS256 signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    data = authentication_signing_input(ORIGIN, NONCE)
    assert card_sign(pki.holder.key, digest_info_sha256(data)) == pki.holder.key.sign(
        data, padding.PKCS1v15(), hashes.SHA256()
    )


# --- token shape ------------------------------------------------------------------------


def test_token_missing(pki: Pki, nonce_record: NonceRecord) -> None:
    refused(E.TOKEN_MISSING, auth(pki, None, nonce_record))  # type: ignore[arg-type]


def test_token_too_short(pki: Pki, nonce_record: NonceRecord) -> None:
    refused(E.TOKEN_TOO_SHORT, auth(pki, '{"format":"web-eid:1.0"}', nonce_record))


def test_token_too_long(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), appVersion="x" * 10_000)
    refused(E.TOKEN_TOO_LONG, auth(pki, token, nonce_record))


def test_length_bounds_are_web_eids(pki: Pki, nonce_record: NonceRecord) -> None:
    refused(E.NOT_JSON, auth(pki, "x" * 100, nonce_record))
    refused(E.TOKEN_TOO_SHORT, auth(pki, "x" * 99, nonce_record))
    refused(E.NOT_JSON, auth(pki, "x" * 10_000, nonce_record))
    refused(E.TOKEN_TOO_LONG, auth(pki, "x" * 10_001, nonce_record))


def test_not_json(pki: Pki, nonce_record: NonceRecord) -> None:
    refused(E.NOT_JSON, auth(pki, pki.holder.auth_token(ORIGIN, NONCE)[:-1], nonce_record))


def test_duplicate_keys_are_not_json(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.NOT_JSON, auth(pki, token[:-1] + ',"format":"web-eid:1.0"}', nonce_record))


def test_not_json_object(pki: Pki, nonce_record: NonceRecord) -> None:
    refused(E.NOT_JSON_OBJECT, auth(pki, json.dumps(["a" * 200]), nonce_record))


def test_unknown_field(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), extra="1")
    refused(E.UNKNOWN_FIELD, auth(pki, token, nonce_record))


# --- nonce state -------------------------------------------------------------------------


def test_nonce_missing(pki: Pki) -> None:
    refused(E.NONCE_MISSING, auth(pki, pki.holder.auth_token(ORIGIN, NONCE), None))


def test_nonce_used(pki: Pki, nonce_record: NonceRecord) -> None:
    used = NonceRecord(NONCE, nonce_record.issued_at, nonce_record.expires_at, used=True)
    refused(E.NONCE_USED, auth(pki, pki.holder.auth_token(ORIGIN, NONCE), used))


def test_nonce_expired(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.NONCE_EXPIRED, auth(pki, token, nonce_record, now=nonce_record.expires_at))
    # One second earlier it is still good: the boundary is exact.
    auth(pki, token, nonce_record, now=nonce_record.expires_at - timedelta(seconds=1))()


def test_nonce_wrong(pki: Pki, nonce_record: NonceRecord) -> None:
    stale = pki.holder.auth_token(ORIGIN, OLD_NONCE)
    refused(E.NONCE_WRONG, auth(pki, stale, nonce_record, previous_nonces=[OLD_NONCE]))
    # Without the history the refusal is still a refusal, just less specific.
    refused(E.CHALLENGE_MISMATCH, auth(pki, stale, nonce_record))


# --- format ------------------------------------------------------------------------------


def test_format_missing(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), format=DELETE)
    refused(E.FORMAT_MISSING, auth(pki, token, nonce_record))


@pytest.mark.parametrize(
    "fmt", ["web-eid:1.1", "web-eid:1", "web-eid:1.0 ", "", 1, ["web-eid:1.0"]]
)
def test_unknown_format(pki: Pki, nonce_record: NonceRecord, fmt: object) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), format=fmt)
    refused(E.UNKNOWN_FORMAT, auth(pki, token, nonce_record))


# --- certificate -------------------------------------------------------------------------


def test_certificate_missing(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), unverifiedCertificate=DELETE)
    refused(E.CERTIFICATE_MISSING, auth(pki, token, nonce_record))
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), unverifiedCertificate=None)
    refused(E.CERTIFICATE_MISSING, auth(pki, token, nonce_record))


def test_certificate_empty(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), unverifiedCertificate="")
    refused(E.CERTIFICATE_EMPTY, auth(pki, token, nonce_record))


@pytest.mark.parametrize("value", [1234, ["MIIB"], {"der": "MIIB"}, True])
def test_certificate_wrong_type(pki: Pki, nonce_record: NonceRecord, value: object) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), unverifiedCertificate=value)
    refused(E.CERTIFICATE_WRONG_TYPE, auth(pki, token, nonce_record))


@pytest.mark.parametrize(
    "value",
    [
        "not base64 !!",
        base64.b64encode(b"\x30\x82\x01\x00 not a certificate").decode(),
        "MIIB",  # valid base64, truncated DER
    ],
)
def test_certificate_not_parseable(pki: Pki, nonce_record: NonceRecord, value: str) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), unverifiedCertificate=value)
    refused(E.CERTIFICATE_NOT_PARSEABLE, auth(pki, token, nonce_record))


def test_certificate_not_yet_valid(pki: Pki, nonce_record: NonceRecord) -> None:
    cert = make_user_cert(
        pki.spare_key.public_key(), pki.ca, pki.ca_key, not_before=NOW + timedelta(days=1)
    )
    token = with_cert(pki.spare_key, cert).auth_token(ORIGIN, NONCE)
    refused(E.CERTIFICATE_NOT_YET_VALID, auth(pki, token, nonce_record))


def test_certificate_expired(pki: Pki, nonce_record: NonceRecord) -> None:
    cert = make_user_cert(
        pki.spare_key.public_key(), pki.ca, pki.ca_key, not_after=NOW - timedelta(seconds=1)
    )
    token = with_cert(pki.spare_key, cert).auth_token(ORIGIN, NONCE)
    refused(E.CERTIFICATE_EXPIRED, auth(pki, token, nonce_record))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"usage": None},  # no keyUsage extension
        {"usage": key_usage(digital_signature=False)},
        {"eku": [__import__("cryptography").x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION]},
    ],
    ids=["no-key-usage", "no-digital-signature", "eku-without-client-auth"],
)
def test_certificate_wrong_key_usage(
    pki: Pki, nonce_record: NonceRecord, kwargs: dict[str, Any]
) -> None:
    cert = make_user_cert(pki.spare_key.public_key(), pki.ca, pki.ca_key, **kwargs)
    token = with_cert(pki.spare_key, cert).auth_token(ORIGIN, NONCE)
    refused(E.CERTIFICATE_WRONG_KEY_USAGE, auth(pki, token, nonce_record))


def test_eku_with_client_auth_is_accepted(pki: Pki, nonce_record: NonceRecord) -> None:
    cert = make_user_cert(pki.spare_key.public_key(), pki.ca, pki.ca_key, eku=[CLIENT_AUTH])
    token = with_cert(pki.spare_key, cert).auth_token(ORIGIN, NONCE)
    assert auth(pki, token, nonce_record)() is not None


@pytest.mark.parametrize(
    "policies",
    [[], ["1.2.392.200149.8.5.1.1.10"]],  # none; the signature certificate's kind of policy
    ids=["no-policies", "other-policy"],
)
def test_certificate_wrong_policy(pki: Pki, nonce_record: NonceRecord, policies: list[str]) -> None:
    cert = make_user_cert(pki.spare_key.public_key(), pki.ca, pki.ca_key, policies=policies)
    token = with_cert(pki.spare_key, cert).auth_token(ORIGIN, NONCE)
    refused(E.CERTIFICATE_WRONG_POLICY, auth(pki, token, nonce_record))


def test_required_policy_is_configurable(pki: Pki, nonce_record: NonceRecord) -> None:
    other = "1.2.392.200149.8.5.1.3.99"
    cert = make_user_cert(pki.spare_key.public_key(), pki.ca, pki.ca_key, policies=[other])
    token = with_cert(pki.spare_key, cert).auth_token(ORIGIN, NONCE)
    assert auth(pki, token, nonce_record, required_policy_oids=[other])() is not None


# --- chain -------------------------------------------------------------------------------


def test_ca_not_trusted_unknown_issuer_name(pki: Pki, nonce_record: NonceRecord) -> None:
    foreign = make_ca(pki.rogue_key, name=ca_name(org="SOMEONE-ELSE"))
    cert = make_user_cert(pki.spare_key.public_key(), foreign, pki.rogue_key)
    token = with_cert(pki.spare_key, cert).auth_token(ORIGIN, NONCE)
    refused(E.CA_NOT_TRUSTED, auth(pki, token, nonce_record))


def test_ca_not_trusted_same_name_other_key(pki: Pki, nonce_record: NonceRecord) -> None:
    rogue = make_ca(pki.rogue_key)  # exactly the trusted CA's name
    assert rogue.subject == pki.ca.subject
    cert = make_user_cert(pki.spare_key.public_key(), rogue, pki.rogue_key)
    token = with_cert(pki.spare_key, cert).auth_token(ORIGIN, NONCE)
    refused(E.CA_NOT_TRUSTED, auth(pki, token, nonce_record))


def test_ca_expired(pki: Pki, nonce_record: NonceRecord) -> None:
    old_ca = make_ca(
        pki.ca_key, not_before=NOW - timedelta(days=3650), not_after=NOW - timedelta(days=1)
    )
    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.CA_EXPIRED, auth(pki, token, nonce_record, trust_anchors=[old_ca, pki.ca2]))


def test_ca_not_yet_valid(pki: Pki, nonce_record: NonceRecord) -> None:
    future_ca = make_ca(pki.ca_key, not_before=NOW + timedelta(days=1))
    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.CA_NOT_YET_VALID, auth(pki, token, nonce_record, trust_anchors=[future_ca]))


def test_an_expired_ca_elsewhere_in_the_set_does_not_block(
    pki: Pki, nonce_record: NonceRecord
) -> None:
    retired = make_ca(
        pki.rogue_key,
        name=ca_name(extra_ou="Retired 2016"),
        not_before=NOW - timedelta(days=3650),
        not_after=NOW - timedelta(days=1),
    )
    token = pki.holder.auth_token(ORIGIN, NONCE)
    assert auth(pki, token, nonce_record, trust_anchors=[retired, pki.ca])() is not None


# --- revocation --------------------------------------------------------------------------


def test_certificate_revoked_via_crl(pki: Pki, nonce_record: NonceRecord) -> None:
    checker = CRLRevocationChecker(
        pki.crls(revoked=[pki.holder.cert.serial_number]), clock=lambda: NOW
    )
    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.CERTIFICATE_REVOKED, auth(pki, token, nonce_record, revocation_checker=checker))


def test_crl_with_bad_signature_is_not_trusted(pki: Pki, nonce_record: NonceRecord) -> None:
    # A CRL naming the real CA but signed by another key: not used, so the status is unknown.
    forged = make_crl(pki.ca, pki.rogue_key, [])
    checker = CRLRevocationChecker([forged], clock=lambda: NOW)
    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.REVOCATION_UNKNOWN, auth(pki, token, nonce_record, revocation_checker=checker))


def test_unknown_revocation_can_be_accepted_by_configuration(
    pki: Pki, nonce_record: NonceRecord
) -> None:
    checker = CRLRevocationChecker([], clock=lambda: NOW)
    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.REVOCATION_UNKNOWN, auth(pki, token, nonce_record, revocation_checker=checker))
    call = auth(
        pki, token, nonce_record, revocation_checker=checker, reject_unknown_revocation=False
    )
    assert call() is not None


def test_broken_revocation_checker_fails_closed(pki: Pki, nonce_record: NonceRecord) -> None:
    class Broken:
        def is_revoked(self, cert: object, issuer: object) -> bool | None:
            raise ConnectionError("responder down")

    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.REVOCATION_UNKNOWN, auth(pki, token, nonce_record, revocation_checker=Broken()))


# --- algorithm ---------------------------------------------------------------------------


def test_algorithm_missing(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), algorithm=DELETE)
    refused(E.ALGORITHM_MISSING, auth(pki, token, nonce_record))


def test_algorithm_wrong_type(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), algorithm=256)
    refused(E.ALGORITHM_WRONG_TYPE, auth(pki, token, nonce_record))


def test_algorithm_empty(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), algorithm="")
    refused(E.ALGORITHM_EMPTY, auth(pki, token, nonce_record))


@pytest.mark.parametrize("alg", ["none", "HS256", "RS384", "PS256", "rs256", "ES256"])
def test_algorithm_not_allowed(pki: Pki, nonce_record: NonceRecord, alg: str) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), algorithm=alg)
    refused(E.ALGORITHM_NOT_ALLOWED, auth(pki, token, nonce_record))


def test_algorithm_key_mismatch(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), algorithm="ES256")
    call = auth(pki, token, nonce_record, allowed_algorithms=frozenset({"RS256", "ES256"}))
    refused(E.ALGORITHM_KEY_MISMATCH, call)


# --- signature ---------------------------------------------------------------------------


def test_signature_missing(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), signature=DELETE)
    refused(E.SIGNATURE_MISSING, auth(pki, token, nonce_record))


def test_signature_wrong_type(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), signature=[1, 2])
    refused(E.SIGNATURE_WRONG_TYPE, auth(pki, token, nonce_record))


def test_signature_empty(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), signature="")
    refused(E.SIGNATURE_EMPTY, auth(pki, token, nonce_record))


def test_signature_malformed(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.auth_token(ORIGIN, NONCE)
    sig = json.loads(token)["signature"]
    refused(E.SIGNATURE_MALFORMED, auth(pki, edit(token, signature=sig[:-1]), nonce_record))
    refused(E.SIGNATURE_MALFORMED, auth(pki, edit(token, signature=" " + sig), nonce_record))


def test_signature_by_another_certificate(pki: Pki, nonce_record: NonceRecord) -> None:
    """holder2's card signs our exact challenge, but the token embeds holder's certificate."""
    theirs = json.loads(pki.holder2.auth_token(ORIGIN, NONCE))
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), signature=theirs["signature"])
    refused(E.SIGNATURE_INVALID, auth(pki, token, nonce_record))


def test_signature_bit_flipped(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.auth_token(ORIGIN, NONCE)
    sig = bytearray(base64.b64decode(json.loads(token)["signature"]))
    sig[100] ^= 0x01
    tampered = edit(token, signature=base64.b64encode(bytes(sig)).decode())
    refused(E.SIGNATURE_INVALID, auth(pki, tampered, nonce_record))


@pytest.mark.parametrize(
    "signed_for",
    ["https://madoguchi.example.jp/", "http://madoguchi.example.jp", "https://evil.example"],
)
def test_origin_wrong(pki: Pki, nonce_record: NonceRecord, signed_for: str) -> None:
    from madoguchi.identity.tokens.formats import _hash

    # Sign H(other origin) || H(nonce) directly: some of these are not valid origins to build.
    data = _hash("RS256", signed_for.encode()) + _hash("RS256", NONCE.encode())
    signature = card_sign(pki.holder.key, digest_info_sha256(data))
    token = build_auth_token(pki.holder.der, signature, APP_VERSION)
    refused(
        E.ORIGIN_WRONG,
        auth(pki, token, nonce_record, alternative_origins=["https://evil.example"]),
    )


def test_signature_for_other_origin_is_refused_without_hints(
    pki: Pki, nonce_record: NonceRecord
) -> None:
    token = pki.holder.auth_token("https://other.example", NONCE)
    refused(E.CHALLENGE_MISMATCH, auth(pki, token, nonce_record))


# --- replay between kinds ---------------------------------------------------------------


def test_completion_token_is_not_an_authentication_token(
    pki: Pki, nonce_record: NonceRecord
) -> None:
    token = pki.holder.completion_token(ORIGIN, NONCE, tx_bytes())
    refused(E.UNKNOWN_FORMAT, auth(pki, token, nonce_record))
    # Rewritten to look like a web-eid:1.0 token, the signature is over 96 bytes, not 64.
    disguised = edit(token, format=AUTH_FORMAT, transactionDigest=DELETE)
    refused(E.CHALLENGE_MISMATCH, auth(pki, disguised, nonce_record))


def test_authentication_token_is_not_a_completion_token(
    pki: Pki, nonce_record: NonceRecord
) -> None:
    token = pki.holder.auth_token(ORIGIN, NONCE)
    refused(E.UNKNOWN_FORMAT, completion(pki, token, nonce_record, tx_bytes()))
    # Rewritten as a completion naming the server's own transaction: the signature commits to
    # no transaction at all, so it fails.
    disguised = edit(
        token,
        format=COMPLETION_FORMAT,
        transactionDigest=base64.b64encode(hashlib.sha256(tx_bytes()).digest()).decode(),
    )
    refused(E.CHALLENGE_MISMATCH, completion(pki, disguised, nonce_record, tx_bytes()))


# --- dynamic linking: any changed field --------------------------------------------------


def _changed(tx: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    out = json.loads(json.dumps(tx))
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


CHANGES = [
    (("resident",), "R-000124"),
    (("procedure",), "childcare-benefit-2025"),
    (("program",), "P-18"),
    (("amount",), 50001),
    (("amount",), "50000"),  # same digits, other type
    (("fields", "payee"), "ヤマダ タロ"),
    (("fields", "account_last4"), "1235"),
    (("fields", "children"), 3),
    (("fields", "extra"), "x"),  # an added field
    (("nonce",), OLD_NONCE),
]


@pytest.mark.parametrize(("path", "value"), CHANGES, ids=["/".join(p) for p, _ in CHANGES])
def test_any_changed_transaction_field_fails(
    pki: Pki, nonce_record: NonceRecord, path: tuple[str, ...], value: object
) -> None:
    token = pki.holder.completion_token(ORIGIN, NONCE, tx_bytes())
    server = canonical_transaction_bytes(_changed(TX, path, value))
    assert server != tx_bytes()
    refused(E.TRANSACTION_CHANGED, completion(pki, token, nonce_record, server))


def test_removed_transaction_field_fails(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.completion_token(ORIGIN, NONCE, tx_bytes())
    server = canonical_transaction_bytes({k: v for k, v in TX.items() if k != "program"})
    refused(E.TRANSACTION_CHANGED, completion(pki, token, nonce_record, server))


def test_key_order_does_not_matter(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.completion_token(ORIGIN, NONCE, tx_bytes())
    reordered = dict(reversed(list(TX.items())))
    assert completion(pki, token, nonce_record, canonical_transaction_bytes(reordered))()


def test_digest_field_swapped_to_server_transaction_fails(
    pki: Pki, nonce_record: NonceRecord
) -> None:
    """An attacker who edits transactionDigest to match a changed transaction breaks the
    signature instead."""
    token = pki.holder.completion_token(ORIGIN, NONCE, tx_bytes())
    server = canonical_transaction_bytes(_changed(TX, ("amount",), 90000))
    forged = edit(
        token, transactionDigest=base64.b64encode(completion_transaction_digest(server)).decode()
    )
    err = refused(E.CHALLENGE_MISMATCH, completion(pki, forged, nonce_record, server))
    assert err.code != E.TRANSACTION_CHANGED


def test_transaction_digest_missing(pki: Pki, nonce_record: NonceRecord) -> None:
    token = edit(pki.holder.completion_token(ORIGIN, NONCE, tx_bytes()), transactionDigest=DELETE)
    refused(E.TRANSACTION_DIGEST_MISSING, completion(pki, token, nonce_record, tx_bytes()))


@pytest.mark.parametrize(
    "value", ["", 5, "not base64!", base64.b64encode(b"short").decode()], ids=str
)
def test_transaction_digest_malformed(pki: Pki, nonce_record: NonceRecord, value: object) -> None:
    token = edit(pki.holder.completion_token(ORIGIN, NONCE, tx_bytes()), transactionDigest=value)
    refused(E.TRANSACTION_DIGEST_MALFORMED, completion(pki, token, nonce_record, tx_bytes()))


def test_completion_with_wrong_nonce(pki: Pki, nonce_record: NonceRecord) -> None:
    token = pki.holder.completion_token(ORIGIN, OLD_NONCE, tx_bytes())
    call = completion(pki, token, nonce_record, tx_bytes(), previous_nonces=[OLD_NONCE])
    refused(E.NONCE_WRONG, call)


def test_completion_signing_input_is_auth_input_plus_digest() -> None:
    auth_input = authentication_signing_input(ORIGIN, NONCE)
    full = completion_signing_input(ORIGIN, NONCE, tx_bytes())
    assert full == auth_input + hashlib.sha256(tx_bytes()).digest()
    assert len(auth_input) == 64
    assert len(full) == 96


def test_build_completion_token_fields(pki: Pki) -> None:
    digest = completion_transaction_digest(tx_bytes())
    data = json.loads(build_completion_token(pki.holder.der, b"\x00" * 256, APP_VERSION, digest))
    assert data["format"] == COMPLETION_FORMAT
    assert base64.b64decode(data["transactionDigest"]) == digest


# --- messages and order ------------------------------------------------------------------


def test_every_code_has_both_messages() -> None:
    for code in ErrorCode:
        assert MESSAGES_EN[code].strip()
        assert MESSAGES_JA[code].strip()
        assert any(
            "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in MESSAGES_JA[code]
        )
    assert len(set(MESSAGES_EN.values())) == len(ErrorCode)
    assert len(set(MESSAGES_JA.values())) == len(ErrorCode)
    assert len({c.value for c in ErrorCode}) == len(ErrorCode)


def test_error_carries_messages(pki: Pki) -> None:
    err = refused(E.NONCE_MISSING, auth(pki, pki.holder.auth_token(ORIGIN, NONCE), None))
    assert err.message_en == MESSAGES_EN[E.NONCE_MISSING]
    assert err.message_ja == MESSAGES_JA[E.NONCE_MISSING]


def test_checks_run_in_order(pki: Pki, nonce_record: NonceRecord) -> None:
    """With several faults at once, the earliest check in the documented order answers."""
    expired = make_user_cert(
        pki.spare_key.public_key(),
        pki.ca,
        pki.ca_key,
        not_after=NOW - timedelta(days=1),
        policies=[],
    )
    base = with_cert(pki.spare_key, expired).auth_token("https://other.example", NONCE)
    bad_alg = edit(base, algorithm="HS256")
    refused(E.CERTIFICATE_EXPIRED, auth(pki, bad_alg, nonce_record))  # before policy/algorithm
    used = NonceRecord(NONCE, nonce_record.issued_at, nonce_record.expires_at, used=True)
    refused(E.NONCE_USED, auth(pki, edit(bad_alg, format="x"), used))  # nonce before format
    revoked = CRLRevocationChecker(
        pki.crls(revoked=[pki.holder.cert.serial_number]), clock=lambda: NOW
    )
    token = edit(pki.holder.auth_token(ORIGIN, NONCE), algorithm="HS256")
    refused(E.CERTIFICATE_REVOKED, auth(pki, token, nonce_record, revocation_checker=revoked))


def test_configuration_errors_are_not_token_errors(pki: Pki, nonce_record: NonceRecord) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        pki.validator(allowed_algorithms=frozenset({"HS256"}))
    with pytest.raises(ValueError, match="trust anchor"):
        pki.validator(trust_anchors=[])
    token = pki.holder.auth_token(ORIGIN, NONCE)
    with pytest.raises(ValueError, match="origin"):
        pki.validator().validate_authentication(
            token, origin=ORIGIN + "/", nonce=nonce_record, now=NOW
        )
    with pytest.raises(ValueError, match="timezone"):
        pki.validator().validate_authentication(
            token, origin=ORIGIN, nonce=nonce_record, now=NOW.replace(tzinfo=None)
        )


def test_module_functions(pki: Pki, nonce_record: NonceRecord) -> None:
    checker = CRLRevocationChecker(pki.crls(), clock=lambda: NOW)
    token = pki.holder.completion_token(ORIGIN, NONCE, tx_bytes())
    result = validate_module.validate_completion_token(
        token,
        origin=ORIGIN,
        nonce=nonce_record,
        transaction_bytes=tx_bytes(),
        trust_anchors=[pki.ca],
        revocation_checker=checker,
        now=NOW,
    )
    assert result.transaction_digest == hashlib.sha256(tx_bytes()).digest()
    refused(
        E.UNKNOWN_FORMAT,
        lambda: validate_module.validate_auth_token(
            token,
            origin=ORIGIN,
            nonce=nonce_record,
            trust_anchors=[pki.ca],
            revocation_checker=checker,
            now=NOW,
        ),
    )
