"""Token formats and the exact bytes the card signs.

Authentication (Web eID ``web-eid:1.0``, unchanged)::

    {"unverifiedCertificate": b64(DER), "algorithm": "RS256", "signature": b64(sig),
     "format": "web-eid:1.0", "appVersion": URL}

    signing input = H(origin) || H(nonce)

Completion (madoguchi, a distinct format so neither kind replays as the other)::

    {... same five fields ..., "format": "madoguchi-completion:1.0", "transactionDigest": b64(H(tx))}

    signing input = H(origin) || H(nonce) || H(canonical transaction bytes)

``H`` is the hash of the algorithm (SHA-256 for RS256/ES256, SHA-384 for ES384), applied to the
UTF-8 bytes of the origin string and of the nonce *string* (the base64 text, not its decoded
bytes), exactly as web-eid-app's ``createSignature`` and web-eid-authtoken-validation-java's
``AuthTokenSignatureValidator`` do. The signature algorithm then hashes the signing input again:
RS256 = RSASSA-PKCS1-v1_5 over SHA-256(signing input). On a JPKI card (sign with P1=00) send
:func:`digest_info_sha256` of the signing input.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Final

AUTH_FORMAT: Final = "web-eid:1.0"
COMPLETION_FORMAT: Final = "madoguchi-completion:1.0"

FIELD_CERTIFICATE: Final = "unverifiedCertificate"
FIELD_ALGORITHM: Final = "algorithm"
FIELD_SIGNATURE: Final = "signature"
FIELD_FORMAT: Final = "format"
FIELD_APP_VERSION: Final = "appVersion"
FIELD_TRANSACTION_DIGEST: Final = "transactionDigest"

AUTH_FIELDS: Final = frozenset(
    {FIELD_CERTIFICATE, FIELD_ALGORITHM, FIELD_SIGNATURE, FIELD_FORMAT, FIELD_APP_VERSION}
)
COMPLETION_FIELDS: Final = AUTH_FIELDS | {FIELD_TRANSACTION_DIGEST}

#: JWS algorithm name -> hashlib name of the hash used for the signing-input parts and by the
#: signature scheme itself.
ALGORITHM_HASHES: Final[dict[str, str]] = {"RS256": "sha256", "ES256": "sha256", "ES384": "sha384"}

#: Web eID's bounds on the challenge nonce string (web-eid-app refuses shorter or longer ones).
NONCE_MIN_LENGTH: Final = 44
NONCE_MAX_LENGTH: Final = 128

#: DER prefix of DigestInfo{ AlgorithmIdentifier{ id-sha256, NULL }, OCTET STRING (32 bytes) }.
SHA256_DIGEST_INFO_PREFIX: Final = bytes.fromhex("3031300d060960864801650304020105000420")

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "[::1]"})

_ORIGIN_RE: Final = re.compile(
    r"(?P<scheme>https|http)://"
    r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?"
)


def validate_origin(origin: str) -> str:
    """Return ``origin`` if it is a serialised web origin we accept, else raise ``ValueError``.

    Accepted: ``https://host`` or ``https://host:port`` (lower-case host, no default port, no
    path, not even ``/``, no query, fragment or user info), and ``http://`` only for loopback
    hosts (the demo). The string is not normalised: the bytes signed are the bytes given, so a
    non-canonical form is refused rather than silently rewritten.
    """
    if not isinstance(origin, str):
        raise ValueError("origin must be a string")
    match = _ORIGIN_RE.fullmatch(origin)
    if match is None:
        raise ValueError(
            "origin must be scheme://host[:port] with a lower-case ASCII host and no path "
            "(not even '/'), query, fragment or user info"
        )
    scheme, host, port = match.group("scheme"), match.group("host"), match.group("port")
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValueError("plain http origins are allowed only for loopback hosts")
    if port is not None:
        if int(port) > 65535:
            raise ValueError("origin port must be at most 65535")
        if int(port) == {"https": 443, "http": 80}[scheme]:
            raise ValueError("origin must omit the default port")
    return origin


def validate_nonce(nonce: str) -> str:
    """Return ``nonce`` if its length is within Web eID's bounds (44-128 chars), else raise."""
    if not isinstance(nonce, str) or not NONCE_MIN_LENGTH <= len(nonce) <= NONCE_MAX_LENGTH:
        raise ValueError(
            f"nonce must be a string of {NONCE_MIN_LENGTH}-{NONCE_MAX_LENGTH} characters"
        )
    return nonce


def generate_nonce() -> str:
    """A fresh challenge nonce: 32 random bytes, standard base64 with padding (44 chars)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _hash(algorithm: str, data: bytes) -> bytes:
    try:
        name = ALGORITHM_HASHES[algorithm]
    except KeyError:
        raise ValueError(f"unsupported algorithm {algorithm!r}") from None
    return hashlib.new(name, data).digest()


def authentication_signing_input(origin: str, nonce: str, *, algorithm: str = "RS256") -> bytes:
    """``H(origin) || H(nonce)``: the bytes the card's signature scheme hashes and signs."""
    validate_origin(origin)
    validate_nonce(nonce)
    return _hash(algorithm, origin.encode("utf-8")) + _hash(algorithm, nonce.encode("utf-8"))


def completion_signing_input_from_digest(
    origin: str, nonce: str, tx_digest: bytes, *, algorithm: str = "RS256"
) -> bytes:
    """``H(origin) || H(nonce) || tx_digest`` where ``tx_digest = H(canonical tx bytes)``."""
    expected = len(_hash(algorithm, b""))
    if not isinstance(tx_digest, bytes) or len(tx_digest) != expected:
        raise ValueError(f"transaction digest must be {expected} bytes for {algorithm}")
    return authentication_signing_input(origin, nonce, algorithm=algorithm) + tx_digest


def completion_signing_input(
    origin: str, nonce: str, tx_bytes: bytes, *, algorithm: str = "RS256"
) -> bytes:
    """``H(origin) || H(nonce) || H(tx_bytes)``; ``tx_bytes`` from ``canonical_transaction_bytes``."""
    return completion_signing_input_from_digest(
        origin, nonce, _hash(algorithm, tx_bytes), algorithm=algorithm
    )


def completion_transaction_digest(tx_bytes: bytes, *, algorithm: str = "RS256") -> bytes:
    """The value carried (base64) in a completion token's ``transactionDigest``."""
    return _hash(algorithm, tx_bytes)


def digest_info_sha256(data: bytes) -> bytes:
    """DER DigestInfo of SHA-256(``data``): the 51-byte input for the card's sign command, P1=00.

    The card pads it with PKCS#1 v1.5 and signs, which is exactly RSASSA-PKCS1-v1_5 with
    SHA-256 over ``data``, i.e. a valid RS256 signature of ``data``.
    """
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(data).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_auth_token(
    cert_der: bytes, signature: bytes, app_version: str, *, algorithm: str = "RS256"
) -> str:
    """The ``web-eid:1.0`` token JSON (compact, fields in Web eID's order)."""
    return json.dumps(
        {
            FIELD_CERTIFICATE: _b64(cert_der),
            FIELD_ALGORITHM: algorithm,
            FIELD_SIGNATURE: _b64(signature),
            FIELD_FORMAT: AUTH_FORMAT,
            FIELD_APP_VERSION: app_version,
        },
        separators=(",", ":"),
        ensure_ascii=True,
    )


def build_completion_token(
    cert_der: bytes,
    signature: bytes,
    app_version: str,
    tx_digest: bytes,
    *,
    algorithm: str = "RS256",
) -> str:
    """The ``madoguchi-completion:1.0`` token JSON; ``tx_digest`` is H(canonical tx bytes)."""
    return json.dumps(
        {
            FIELD_CERTIFICATE: _b64(cert_der),
            FIELD_ALGORITHM: algorithm,
            FIELD_SIGNATURE: _b64(signature),
            FIELD_FORMAT: COMPLETION_FORMAT,
            FIELD_APP_VERSION: app_version,
            FIELD_TRANSACTION_DIGEST: _b64(tx_digest),
        },
        separators=(",", ":"),
        ensure_ascii=True,
    )
