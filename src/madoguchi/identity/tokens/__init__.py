"""Card token formats and validation (pure library: no Django import).

Authentication tokens are Web eID's ``web-eid:1.0``; completion tokens
(``madoguchi-completion:1.0``) additionally commit to the canonical bytes of a transaction.
See docs/tokens.md.
"""

from .canonical import TransactionEncodingError, canonical_transaction_bytes, transaction_digest
from .errors import MESSAGES_EN, MESSAGES_JA, ErrorCode, TokenValidationError
from .formats import (
    AUTH_FORMAT,
    COMPLETION_FORMAT,
    authentication_signing_input,
    build_auth_token,
    build_completion_token,
    completion_signing_input,
    completion_signing_input_from_digest,
    completion_transaction_digest,
    digest_info_sha256,
    generate_nonce,
    validate_nonce,
    validate_origin,
)
from .revocation import (
    CRLRevocationChecker,
    OCSPRevocationChecker,
    OCSPTransport,
    RevocationChecker,
)
from .validate import (
    JPKI_AUTH_POLICY_OID,
    NonceRecord,
    NonceSource,
    TokenValidator,
    ValidatedToken,
    parse_token,
    validate_auth_token,
    validate_completion_token,
)

__all__ = [
    "AUTH_FORMAT",
    "COMPLETION_FORMAT",
    "JPKI_AUTH_POLICY_OID",
    "MESSAGES_EN",
    "MESSAGES_JA",
    "CRLRevocationChecker",
    "ErrorCode",
    "NonceRecord",
    "NonceSource",
    "OCSPRevocationChecker",
    "OCSPTransport",
    "RevocationChecker",
    "TokenValidationError",
    "TokenValidator",
    "TransactionEncodingError",
    "ValidatedToken",
    "authentication_signing_input",
    "build_auth_token",
    "build_completion_token",
    "canonical_transaction_bytes",
    "completion_signing_input",
    "completion_signing_input_from_digest",
    "completion_transaction_digest",
    "digest_info_sha256",
    "generate_nonce",
    "parse_token",
    "transaction_digest",
    "validate_auth_token",
    "validate_completion_token",
    "validate_nonce",
    "validate_origin",
]
