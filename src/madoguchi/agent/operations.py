"""What the agent does with a card: the three operations and the bytes it signs.

Every function takes an open `Transport`; the caller (the agent) opens it from the card source and
resets the card afterwards. A PIN given here goes to the card's VERIFY command and nowhere else.
VERIFY and the command that needs it run inside one PC/SC transaction (`run_exclusive`): no
other program's commands interleave, and after a reset by another program the whole pair runs
again (VERIFY first), never the signature alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from madoguchi.card.cvcert import KeyTable
from madoguchi.card.inputsupport import (
    BasicFour,
    InputSupportClient,
    check_integrity,
    parse_basic_four,
)
from madoguchi.card.jpki import JpkiClient
from madoguchi.card.transport import Transport, run_exclusive
from madoguchi.identity.tokens.canonical import (
    TransactionEncodingError,
    canonical_transaction_bytes,
)
from madoguchi.identity.tokens.formats import (
    authentication_signing_input,
    build_auth_token,
    build_completion_token,
    completion_signing_input,
    completion_transaction_digest,
    validate_nonce,
)

AGENT_VERSION = "0.1.0"
APP_VERSION = f"https://madoguchi.invalid/card-agent/releases/{AGENT_VERSION}"
"""The token's ``appVersion`` (Web eID puts a URL naming the signing application there)."""

MAX_DISPLAY_LINES = 40
MAX_DISPLAY_LINE = 200


class RequestError(ValueError):
    """A request body is refused before any PIN is asked; `code` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def fingerprint(certificate: x509.Certificate | bytes) -> str:
    """Lowercase hex SHA-256 of the certificate's DER (the protocol's ``cert_fingerprint``)."""
    der = certificate if isinstance(certificate, bytes) else certificate.public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def read_fingerprint(transport: Transport) -> str:
    """Fingerprint of the card's user-authentication certificate (no PIN needed)."""
    return fingerprint(JpkiClient(transport).read_auth_certificate_der())


def auth_tries_left(transport: Transport) -> int | None:
    """JPKI auth PIN tries left (None: verified in this session). Raises `PinBlocked`."""
    return JpkiClient(transport).auth_pin_tries_left()


def support_tries_left(transport: Transport) -> int | None:
    """Input-support PIN tries left. Raises `PinBlocked`."""
    return InputSupportClient(transport).tries_left()


# --- request bodies -------------------------------------------------------------------------------


def check_challenge(
    body: dict[str, Any], allowed_origins: str | tuple[str, ...]
) -> tuple[str, str]:
    """(origin, nonce) from an authenticate / sign-completion body; the origin must be ours
    (the server origin, or one of the further page origins it was started with)."""
    allowed = (allowed_origins,) if isinstance(allowed_origins, str) else allowed_origins
    origin = body.get("origin")
    nonce = body.get("nonce")
    if not isinstance(origin, str) or not origin:
        raise RequestError("bad_request", "'origin' must be a non-empty string")
    if origin not in allowed:
        raise RequestError(
            "origin_mismatch",
            f"'origin' is not this agent's server origin ({allowed[0]}); no PIN is asked",
        )
    if not isinstance(nonce, str):
        raise RequestError("bad_request", "'nonce' must be a string")
    try:
        validate_nonce(nonce)
    except ValueError as exc:
        raise RequestError("bad_request", str(exc)) from exc
    return origin, nonce


@dataclass(frozen=True)
class Transaction:
    data: bytes
    display: tuple[str, ...]


def parse_transaction(value: object) -> Transaction:
    """Decode the base64 canonical transaction bytes and take its ``display`` lines.

    The bytes must be RFC 8785 canonical JSON of an object (what the server signs over), so the
    lines shown on the PIN pad come from exactly the bytes the card signs.
    """
    if not isinstance(value, str) or not value:
        raise RequestError("bad_transaction", "'transaction' must be base64 of the canonical bytes")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestError("bad_transaction", "'transaction' is not valid base64") from exc
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestError("bad_transaction", "the transaction is not UTF-8 JSON") from exc
    except RecursionError as exc:  # nested deeper than the parser goes: no transaction is
        raise RequestError("bad_transaction", "the transaction is nested too deeply") from exc
    if not isinstance(parsed, dict):
        raise RequestError("bad_transaction", "the transaction is not a JSON object")
    try:
        canonical = canonical_transaction_bytes(parsed)
    except TransactionEncodingError as exc:
        raise RequestError(
            "bad_transaction", f"the transaction cannot be canonical: {exc}"
        ) from exc
    if canonical != data:
        raise RequestError(
            "bad_transaction", "the transaction bytes are not RFC 8785 canonical JSON"
        )
    display = parsed.get("display")
    if (
        not isinstance(display, list)
        or not display
        or not all(isinstance(line, str) and line.strip() for line in display)
    ):
        raise RequestError(
            "bad_transaction",
            "the transaction needs 'display': a non-empty list of the lines the resident confirms",
        )
    if len(display) > MAX_DISPLAY_LINES or any(len(line) > MAX_DISPLAY_LINE for line in display):
        raise RequestError(
            "bad_transaction",
            f"'display' is limited to {MAX_DISPLAY_LINES} lines of {MAX_DISPLAY_LINE} characters",
        )
    return Transaction(data, tuple(display))


# --- card operations (PIN verified inside, card reset by the caller afterwards) ---------------------


def authenticate(transport: Transport, pin: str, origin: str, nonce: str) -> dict[str, str]:
    """A ``web-eid:1.0`` token; the algorithm (RS256, ES384) follows the card's profile."""
    signed = run_exclusive(
        transport,
        lambda: JpkiClient(transport).authenticate(
            pin, lambda p: authentication_signing_input(origin, nonce, algorithm=p.algorithm)
        ),
    )
    token = build_auth_token(
        signed.certificate_der, signed.signature, APP_VERSION, algorithm=signed.algorithm
    )
    return {"token": token}


def sign_completion(
    transport: Transport, pin: str, origin: str, nonce: str, transaction: bytes
) -> dict[str, str]:
    signed = run_exclusive(
        transport,
        lambda: JpkiClient(transport).authenticate(
            pin,
            lambda p: completion_signing_input(origin, nonce, transaction, algorithm=p.algorithm),
        ),
    )
    token = build_completion_token(
        signed.certificate_der,
        signed.signature,
        APP_VERSION,
        completion_transaction_digest(transaction, algorithm=signed.algorithm),
        algorithm=signed.algorithm,
    )
    return {"token": token}


def read_attributes(
    transport: Transport, pin: str, trusted: KeyTable | None = None
) -> dict[str, Any]:
    """The basic four attributes (EF0002, checked against EF0003; with `trusted` J-LIS keys also
    EF0004 and EF0003's signature). Never the individual number.

    `evidence` carries EF0002, EF0003 and EF0004 exactly as read (base64), so that the server can
    check EF0003's J-LIS signature itself rather than trust the decoded values (docs/desk.md)."""
    client = InputSupportClient(transport)

    def verify_and_read() -> tuple[bytes, bytes, bytes]:
        client.verify_pin(pin)
        raw = client.read_basic_four_raw()
        integrity = client.read_integrity_raw()
        certificate = client.read_certificate_raw()
        check_integrity(raw, integrity, certificate, trusted)
        return raw, integrity, certificate

    raw, integrity, certificate = run_exclusive(transport, verify_and_read)
    four: BasicFour = parse_basic_four(raw)
    return {
        "name": four.name,
        "address": four.address,
        "birth_date": four.birth_date.isoformat(),
        "sex": four.sex,
        "evidence": {
            "ef0002": base64.b64encode(raw).decode(),
            "ef0003": base64.b64encode(integrity).decode(),
            "ef0004": base64.b64encode(certificate).decode(),
        },
    }
