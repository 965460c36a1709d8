"""Validation of authentication and completion tokens.

The order follows web-eid-authtoken-validation-java (``AuthTokenValidatorImpl``): parse (length,
JSON), take the server's nonce, format, certificate (parse, validity, purpose, policy), trust,
revocation, then algorithm and signature. Each refusal raises :class:`TokenValidationError` with
its own :class:`ErrorCode`. See docs/tokens.md for the full list and the deviations from Web eID.

Nonce bookkeeping (single use, expiry) belongs to the caller: pass the :class:`NonceRecord` the
server issued for this session, or a zero-argument callable that atomically fetches and consumes
it (Web eID's ``getAndRemove``), called once, only after the token has parsed as JSON.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import ErrorCode, TokenValidationError
from .formats import (
    ALGORITHM_HASHES,
    AUTH_FIELDS,
    AUTH_FORMAT,
    COMPLETION_FIELDS,
    COMPLETION_FORMAT,
    FIELD_ALGORITHM,
    FIELD_CERTIFICATE,
    FIELD_FORMAT,
    FIELD_SIGNATURE,
    FIELD_TRANSACTION_DIGEST,
    validate_nonce,
    validate_origin,
)
from .revocation import RevocationChecker

TOKEN_MIN_LENGTH: Final = 100
TOKEN_MAX_LENGTH: Final = 10_000

#: Certificate policy of JPKI user authentication certificates.
JPKI_AUTH_POLICY_OID: Final = "1.2.392.200149.8.5.1.3.30"

SUPPORTED_ALGORITHMS: Final = frozenset(ALGORITHM_HASHES)
#: What the card profiles sign with: RS256 (RSA-2048 cards), ES384 (next-generation ECDSA P-384
#: cards, docs/card.md). The algorithm must also match the certificate's key (see
#: `_check_algorithm`), so accepting ES384 lets no RSA card's token through as anything else.
DEFAULT_ALGORITHMS: Final = frozenset({"RS256", "ES384"})
_EC_CURVES: Final[dict[str, type[ec.EllipticCurve]]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
}
_HASHES: Final[dict[str, Callable[[], hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
}

E = ErrorCode


@dataclass(frozen=True)
class NonceRecord:
    """The challenge the server issued: its value, when, until when, and whether it was used.

    Pass the record as it was *before* this attempt consumed it.
    """

    value: str
    issued_at: datetime
    expires_at: datetime
    used: bool = False


NonceSource = NonceRecord | Callable[[], NonceRecord | None] | None


@dataclass(frozen=True)
class ValidatedToken:
    """What a valid token proves: this certificate's key signed our challenge (and transaction)."""

    certificate: x509.Certificate
    issuer_certificate: x509.Certificate
    fingerprint_sha256: str  # lower-case hex of SHA-256 over the certificate DER
    issuer_dn: str  # RFC 4514
    serial_number: int
    subject_cn: str | None
    algorithm: str
    format: str
    transaction_digest: bytes | None = None  # completion tokens only


def _b64decode(value: str) -> bytes:
    """Strict standard base64 (padding required, no whitespace); raises ValueError."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(str(exc)) from exc


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def parse_token(token: object) -> dict[str, Any]:
    """Length and JSON checks only. Any input either returns a dict or raises the error."""
    if token is None or not isinstance(token, str):
        raise TokenValidationError(E.TOKEN_MISSING, "the token must be a string")
    if len(token) < TOKEN_MIN_LENGTH:
        raise TokenValidationError(E.TOKEN_TOO_SHORT, f"{len(token)} < {TOKEN_MIN_LENGTH} chars")
    if len(token) > TOKEN_MAX_LENGTH:
        raise TokenValidationError(E.TOKEN_TOO_LONG, f"{len(token)} > {TOKEN_MAX_LENGTH} chars")
    try:
        data = json.loads(
            token, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as exc:
        raise TokenValidationError(E.NOT_JSON, str(exc)[:200]) from None
    if not isinstance(data, dict):
        raise TokenValidationError(E.NOT_JSON_OBJECT, f"top level is {type(data).__name__}")
    return data


def _check_nonce(source: NonceSource, now: datetime) -> NonceRecord:
    record = source() if callable(source) else source
    if record is None:
        raise TokenValidationError(E.NONCE_MISSING, "no challenge on record for this session")
    if record.used:
        raise TokenValidationError(E.NONCE_USED, "the challenge was already consumed")
    if now >= record.expires_at:
        raise TokenValidationError(
            E.NONCE_EXPIRED, f"challenge expired at {record.expires_at.isoformat()}"
        )
    validate_nonce(record.value)
    return record


def _string_field(
    data: dict[str, Any], name: str, missing: ErrorCode, wrong_type: ErrorCode, empty: ErrorCode
) -> str:
    if name not in data or data[name] is None:
        raise TokenValidationError(missing, f"'{name}' is missing or null")
    value = data[name]
    if not isinstance(value, str):
        raise TokenValidationError(wrong_type, f"'{name}' is a JSON {type(value).__name__}")
    if not value:
        raise TokenValidationError(empty, f"'{name}' is empty")
    return value


def _certificate_text(data: dict[str, Any]) -> str:
    return _string_field(
        data,
        FIELD_CERTIFICATE,
        E.CERTIFICATE_MISSING,
        E.CERTIFICATE_WRONG_TYPE,
        E.CERTIFICATE_EMPTY,
    )


def _parse_certificate_text(text: str) -> x509.Certificate:
    try:
        der = _b64decode(text)
        cert = x509.load_der_x509_certificate(der)
        # Force the lazy parts now, so a malformed extension is a parse error, not a crash later.
        _ = (cert.extensions, cert.public_key(), cert.subject, cert.issuer)
        _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, cert.serial_number)
    except Exception as exc:  # cryptography raises ValueError and a few others on bad DER
        raise TokenValidationError(E.CERTIFICATE_NOT_PARSEABLE, str(exc)[:200]) from None
    return cert


def _check_validity(cert: x509.Certificate, now: datetime) -> None:
    if now < cert.not_valid_before_utc:
        raise TokenValidationError(
            E.CERTIFICATE_NOT_YET_VALID, f"valid from {cert.not_valid_before_utc.isoformat()}"
        )
    if now > cert.not_valid_after_utc:
        raise TokenValidationError(
            E.CERTIFICATE_EXPIRED, f"expired at {cert.not_valid_after_utc.isoformat()}"
        )


def _check_purpose(cert: x509.Certificate) -> None:
    try:
        key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise TokenValidationError(E.CERTIFICATE_WRONG_KEY_USAGE, "no keyUsage extension") from None
    if not key_usage.digital_signature:
        raise TokenValidationError(E.CERTIFICATE_WRONG_KEY_USAGE, "keyUsage lacks digitalSignature")
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return  # Web eID: digitalSignature without EKU is an authentication certificate.
    if ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        raise TokenValidationError(
            E.CERTIFICATE_WRONG_KEY_USAGE, "extendedKeyUsage present without clientAuth"
        )


def _check_policy(cert: x509.Certificate, required: Sequence[str]) -> None:
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        raise TokenValidationError(
            E.CERTIFICATE_WRONG_POLICY, "no certificatePolicies extension"
        ) from None
    present = {p.policy_identifier.dotted_string for p in policies}
    if not present.intersection(required):
        raise TokenValidationError(
            E.CERTIFICATE_WRONG_POLICY,
            f"policies {sorted(present)} include none of {list(required)}",
        )


def _find_issuer(
    cert: x509.Certificate,
    anchors: Sequence[x509.Certificate],
    now: datetime,
    signed: Callable[[], list[x509.Certificate]] | None = None,
) -> x509.Certificate:
    """The trust anchor that issued `cert` and is valid at `now`. `signed`, if given, answers
    which anchors signed it (`_signers`, remembered by a validator)."""
    signers = _signers(cert, anchors) if signed is None else signed()
    if not signers:
        raise TokenValidationError(
            E.CA_NOT_TRUSTED, "no trust anchor with that name signed this certificate"
        )
    for ca in signers:
        if ca.not_valid_before_utc <= now <= ca.not_valid_after_utc:
            return ca
    if all(now < ca.not_valid_before_utc for ca in signers):
        raise TokenValidationError(E.CA_NOT_YET_VALID, "the issuing CA is not valid yet")
    raise TokenValidationError(E.CA_EXPIRED, "the issuing CA has expired")


def _signers(cert: x509.Certificate, anchors: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """The anchors whose name is the certificate's issuer and whose key signed it (refuses
    when none has that name)."""
    named = [ca for ca in anchors if ca.subject == cert.issuer]
    if not named:
        raise TokenValidationError(
            E.CA_NOT_TRUSTED, f"no trust anchor named {cert.issuer.rfc4514_string()}"
        )
    signers = []
    for ca in named:
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        signers.append(ca)
    return signers


def _check_revocation(
    checker: RevocationChecker,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    reject_unknown: bool,
) -> None:
    try:
        revoked = checker.is_revoked(cert, issuer)
    except Exception as exc:  # a broken checker must not let a token through
        revoked = None
        detail = f"revocation checker failed: {type(exc).__name__}"
    else:
        detail = "no usable revocation data (missing, stale or badly signed)"
    if revoked is True:
        raise TokenValidationError(E.CERTIFICATE_REVOKED, f"serial {cert.serial_number:x}")
    if revoked is None and reject_unknown:
        raise TokenValidationError(E.REVOCATION_UNKNOWN, detail)


def _check_algorithm(data: dict[str, Any], allowed: frozenset[str], cert: x509.Certificate) -> str:
    algorithm = _string_field(
        data, FIELD_ALGORITHM, E.ALGORITHM_MISSING, E.ALGORITHM_WRONG_TYPE, E.ALGORITHM_EMPTY
    )
    if algorithm not in allowed:
        raise TokenValidationError(
            E.ALGORITHM_NOT_ALLOWED, f"{algorithm[:20]!r} not in {sorted(allowed)}"
        )
    key = cert.public_key()
    if algorithm == "RS256":
        ok = isinstance(key, rsa.RSAPublicKey)
    else:
        ok = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
            key.curve, _EC_CURVES[algorithm]
        )
    if not ok:
        raise TokenValidationError(
            E.ALGORITHM_KEY_MISMATCH, f"{algorithm} with a {type(key).__name__}"
        )
    return algorithm


def _check_digest_field(data: dict[str, Any], algorithm: str) -> bytes:
    value = data.get(FIELD_TRANSACTION_DIGEST)
    if value is None:
        raise TokenValidationError(E.TRANSACTION_DIGEST_MISSING, "no transactionDigest")
    if not isinstance(value, str) or not value:
        raise TokenValidationError(E.TRANSACTION_DIGEST_MALFORMED, "not a non-empty string")
    try:
        digest = _b64decode(value)
    except ValueError:
        raise TokenValidationError(E.TRANSACTION_DIGEST_MALFORMED, "not base64") from None
    size = hashlib.new(ALGORITHM_HASHES[algorithm]).digest_size
    if len(digest) != size:
        raise TokenValidationError(
            E.TRANSACTION_DIGEST_MALFORMED, f"{len(digest)} bytes, expected {size}"
        )
    return digest


def _signature_bytes(data: dict[str, Any]) -> bytes:
    text = _string_field(
        data, FIELD_SIGNATURE, E.SIGNATURE_MISSING, E.SIGNATURE_WRONG_TYPE, E.SIGNATURE_EMPTY
    )
    try:
        return _b64decode(text)
    except ValueError:
        raise TokenValidationError(E.SIGNATURE_MALFORMED, "not strict base64") from None


def _h(algorithm: str, data: bytes) -> bytes:
    return hashlib.new(ALGORITHM_HASHES[algorithm], data).digest()


def _challenge(algorithm: str, origin: str, nonce: str, tx_digest: bytes | None) -> bytes:
    parts = _h(algorithm, origin.encode("utf-8")) + _h(algorithm, nonce.encode("utf-8"))
    return parts if tx_digest is None else parts + tx_digest


def _verifies(key: Any, algorithm: str, signature: bytes, message: bytes) -> bool:
    hash_algorithm = _HASHES[ALGORITHM_HASHES[algorithm]]()
    try:
        if algorithm == "RS256":
            key.verify(signature, message, padding.PKCS1v15(), hash_algorithm)
        else:
            # JWS ECDSA signatures are raw r || s; the card outputs them that way too.
            size = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            )
            key.verify(der, message, ec.ECDSA(hash_algorithm))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _origin_variants(origin: str) -> list[str]:
    """Common mistakes for the same site, tried only to name a failure precisely."""
    scheme, _, rest = origin.partition("://")
    other = "http" if scheme == "https" else "https"
    port = {"https": "443", "http": "80"}[scheme]
    return [origin + "/", f"{other}://{rest}", f"{origin}:{port}", origin.upper()]


def _check_signature(
    data: dict[str, Any],
    cert: x509.Certificate,
    algorithm: str,
    origin: str,
    nonce: str,
    tx_digest: bytes | None,
    previous_nonces: Iterable[str],
    alternative_origins: Iterable[str],
) -> None:
    signature = _signature_bytes(data)
    key = cert.public_key()
    if _verifies(key, algorithm, signature, _challenge(algorithm, origin, nonce, tx_digest)):
        return
    # Not over our challenge. Say precisely why when we can: a genuine signature by this key
    # over an older nonce, another origin, or the other token kind's challenge.
    for old in previous_nonces:
        if _verifies(key, algorithm, signature, _challenge(algorithm, origin, old, tx_digest)):
            raise TokenValidationError(E.NONCE_WRONG, "signed over an earlier challenge")
    for other in [*alternative_origins, *_origin_variants(origin)]:
        if _verifies(key, algorithm, signature, _challenge(algorithm, other, nonce, tx_digest)):
            raise TokenValidationError(E.ORIGIN_WRONG, f"signed for origin {other[:100]!r}")
    other_kind = (
        _challenge(algorithm, origin, nonce, None)
        if tx_digest is not None
        else None  # an auth token cannot name the transaction a completion token signed
    )
    if other_kind is not None and _verifies(key, algorithm, signature, other_kind):
        raise TokenValidationError(
            E.CHALLENGE_MISMATCH, "an authentication signature presented as a completion"
        )
    if isinstance(key, rsa.RSAPublicKey):
        try:
            key.recover_data_from_signature(signature, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            pass
        else:
            raise TokenValidationError(
                E.CHALLENGE_MISMATCH,
                "a valid signature by this certificate's key over another challenge",
            )
    raise TokenValidationError(
        E.SIGNATURE_INVALID, "the signature does not verify with the embedded certificate's key"
    )


def _subject_cn(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return None
    value = names[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


_MEMO_LIMIT: Final = 4096


def _remember(memo: dict[str, Any], key: str, value: Any) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


@dataclass(frozen=True)
class TokenValidator:
    """Validation settings shared by every request; build once from configuration.

    ``trust_anchors``: the CA certificates that may issue authentication certificates (several
    may be valid at once). ``revocation_checker``: required; see :mod:`.revocation`.
    ``reject_unknown_revocation``: refuse (``revocation_unknown``) when the checker cannot
    answer; set False only where an operator has explicitly accepted that risk.
    """

    trust_anchors: Sequence[x509.Certificate]
    revocation_checker: RevocationChecker
    allowed_algorithms: frozenset[str] = field(default_factory=lambda: DEFAULT_ALGORITHMS)
    required_policy_oids: Sequence[str] = (JPKI_AUTH_POLICY_OID,)
    reject_unknown_revocation: bool = True
    # What does not change for one certificate under these settings (issue 15, seventh round:
    # the visit's card is validated at its authentication and again at its completion): the
    # certificate parsed from its text, and which trust anchors signed it. Validity periods,
    # purpose, policy, revocation and the signature are checked on every token.
    _parsed: dict[str, x509.Certificate] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _signed_by: dict[str, list[x509.Certificate]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        unsupported = set(self.allowed_algorithms) - SUPPORTED_ALGORITHMS
        if unsupported:
            raise ValueError(f"unsupported algorithms {sorted(unsupported)}")
        if not self.allowed_algorithms:
            raise ValueError("at least one algorithm must be allowed")
        if not self.required_policy_oids:
            raise ValueError("at least one certificate policy OID must be required")
        if not self.trust_anchors:
            raise ValueError("at least one trust anchor is required")
        object.__setattr__(self, "trust_anchors", tuple(self.trust_anchors))
        object.__setattr__(self, "required_policy_oids", tuple(self.required_policy_oids))

    def validate_authentication(
        self,
        token: str,
        *,
        origin: str,
        nonce: NonceSource,
        now: datetime,
        previous_nonces: Sequence[str] = (),
        alternative_origins: Sequence[str] = (),
    ) -> ValidatedToken:
        """Validate a ``web-eid:1.0`` token signed over ``origin`` and the issued nonce.

        ``previous_nonces`` and ``alternative_origins`` are used only to name a failure
        (``nonce_wrong`` / ``origin_wrong``); they never make a token valid.
        """
        return self._validate(
            token, AUTH_FORMAT, origin, nonce, now, None, previous_nonces, alternative_origins
        )

    def validate_completion(
        self,
        token: str,
        *,
        origin: str,
        nonce: NonceSource,
        transaction_bytes: bytes,
        now: datetime,
        previous_nonces: Sequence[str] = (),
        alternative_origins: Sequence[str] = (),
    ) -> ValidatedToken:
        """Validate a ``madoguchi-completion:1.0`` token against the server's own transaction.

        ``transaction_bytes`` are the canonical bytes the server rebuilt from what it is about
        to write (``canonical_transaction_bytes``); any difference is ``transaction_changed``.
        """
        if not isinstance(transaction_bytes, bytes):
            raise TypeError("transaction_bytes must be bytes")
        return self._validate(
            token,
            COMPLETION_FORMAT,
            origin,
            nonce,
            now,
            transaction_bytes,
            previous_nonces,
            alternative_origins,
        )

    def validate_certificate(self, cert: x509.Certificate, *, now: datetime) -> x509.Certificate:
        """The certificate checks every token passes (validity, key usage, policy, chain to a
        trust anchor, revocation), on their own; returns the issuing CA certificate. Also used
        for certificates that arrive without a token (an operator's renewal import)."""
        return self._validate_certificate(cert, now, None)

    def _validate_certificate(
        self, cert: x509.Certificate, now: datetime, text: str | None
    ) -> x509.Certificate:
        """`validate_certificate`; with `text` (the token's certificate field), which anchors
        signed the certificate is remembered for that text."""
        _check_validity(cert, now)
        _check_purpose(cert)
        _check_policy(cert, self.required_policy_oids)
        signed = None
        if text is not None:

            def signed() -> list[x509.Certificate]:
                found = self._signed_by.get(text)
                if found is None:
                    found = _signers(cert, self.trust_anchors)
                    _remember(self._signed_by, text, found)
                return found

        issuer = _find_issuer(cert, self.trust_anchors, now, signed)
        _check_revocation(self.revocation_checker, cert, issuer, self.reject_unknown_revocation)
        return issuer

    def _validate(
        self,
        token: str,
        expected_format: str,
        origin: str,
        nonce: NonceSource,
        now: datetime,
        transaction_bytes: bytes | None,
        previous_nonces: Sequence[str],
        alternative_origins: Sequence[str],
    ) -> ValidatedToken:
        validate_origin(origin)
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        data = parse_token(token)
        record = _check_nonce(nonce, now)

        fmt = data.get(FIELD_FORMAT)
        if fmt is None:
            raise TokenValidationError(E.FORMAT_MISSING, "no 'format'")
        if fmt != expected_format:
            shown = fmt[:40] if isinstance(fmt, str) else type(fmt).__name__
            raise TokenValidationError(E.UNKNOWN_FORMAT, f"{shown!r}, expected {expected_format!r}")
        allowed_fields = AUTH_FIELDS if expected_format == AUTH_FORMAT else COMPLETION_FIELDS
        extra = sorted(set(data) - allowed_fields)
        if extra:
            raise TokenValidationError(E.UNKNOWN_FIELD, f"unexpected {[k[:40] for k in extra]}")

        text = _certificate_text(data)
        cert = self._parsed.get(text)
        if cert is None:
            cert = _parse_certificate_text(text)
            _remember(self._parsed, text, cert)
        issuer = self._validate_certificate(cert, now, text)
        algorithm = _check_algorithm(data, frozenset(self.allowed_algorithms), cert)

        token_digest = None
        if transaction_bytes is not None:
            token_digest = _check_digest_field(data, algorithm)
        _check_signature(
            data,
            cert,
            algorithm,
            origin,
            record.value,
            token_digest,
            previous_nonces,
            alternative_origins,
        )
        if transaction_bytes is not None and token_digest is not None:
            server_digest = _h(algorithm, transaction_bytes)
            if not hmac.compare_digest(server_digest, token_digest):
                raise TokenValidationError(
                    E.TRANSACTION_CHANGED,
                    "the card signed a transaction whose canonical bytes differ from the server's",
                )

        return ValidatedToken(
            certificate=cert,
            issuer_certificate=issuer,
            fingerprint_sha256=hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
            issuer_dn=cert.issuer.rfc4514_string(),
            serial_number=cert.serial_number,
            subject_cn=_subject_cn(cert),
            algorithm=algorithm,
            format=expected_format,
            transaction_digest=token_digest,
        )


def validate_auth_token(
    token: str,
    *,
    origin: str,
    nonce: NonceSource,
    trust_anchors: Sequence[x509.Certificate],
    revocation_checker: RevocationChecker,
    now: datetime,
    allowed_algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
    required_policy_oids: Sequence[str] = (JPKI_AUTH_POLICY_OID,),
    reject_unknown_revocation: bool = True,
) -> ValidatedToken:
    """One-shot form of :meth:`TokenValidator.validate_authentication`."""
    return TokenValidator(
        trust_anchors=trust_anchors,
        revocation_checker=revocation_checker,
        allowed_algorithms=frozenset(allowed_algorithms),
        required_policy_oids=required_policy_oids,
        reject_unknown_revocation=reject_unknown_revocation,
    ).validate_authentication(token, origin=origin, nonce=nonce, now=now)


def validate_completion_token(
    token: str,
    *,
    origin: str,
    nonce: NonceSource,
    transaction_bytes: bytes,
    trust_anchors: Sequence[x509.Certificate],
    revocation_checker: RevocationChecker,
    now: datetime,
    allowed_algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
    required_policy_oids: Sequence[str] = (JPKI_AUTH_POLICY_OID,),
    reject_unknown_revocation: bool = True,
) -> ValidatedToken:
    """One-shot form of :meth:`TokenValidator.validate_completion`."""
    return TokenValidator(
        trust_anchors=trust_anchors,
        revocation_checker=revocation_checker,
        allowed_algorithms=frozenset(allowed_algorithms),
        required_policy_oids=required_policy_oids,
        reject_unknown_revocation=reject_unknown_revocation,
    ).validate_completion(
        token, origin=origin, nonce=nonce, transaction_bytes=transaction_bytes, now=now
    )
