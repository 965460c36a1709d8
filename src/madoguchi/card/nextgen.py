"""PROVISIONAL: the next-generation My Number card (announced for 2026), as far as it is assumed.

Announced publicly: ECDSA P-384 keys with SHA-384 instead of RSA-2048, certificates valid for 10
years, the applications regrouped. The byte-level interface is NOT public yet. Everything below
is an assumption made so that the client, the token formats and the validator can be exercised
end to end with a virtual card; replace it when J-LIS publishes the interface. Nothing outside
this module may assume any of it (tests: tests/card/test_nextgen.py).

Assumptions:

1. The JPKI application keeps its AID and EFs (000A certificate, 0017 key, 0018 PIN).
2. COMPUTE DIGITAL SIGNATURE keeps `80 2A 00 80 Lc <data> 00` with the selected key EF; for an
   ECDSA key the data is the 48-byte SHA-384 hash and the card answers the raw signature
   `r || s` (96 bytes), the form JWS ES384 uses.
3. The user-authentication certificate keeps the policy OID 1.2.392.200149.8.5.1.3.30 and the
   subject `C=JP, CN=<opaque ID>`, with a 10-year validity.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

#: Assumption 3: certificates of next-generation cards are valid for 10 years.
CERTIFICATE_LIFETIME = timedelta(days=3652)

SIGN_P1 = 0x00
"""Assumption 2: the data is the bare SHA-384 hash (no DigestInfo for ECDSA)."""
HASH_LENGTH = 48
COORDINATE_LENGTH = 48
SIGNATURE_LENGTH = 2 * COORDINATE_LENGTH


def sign_input(message: bytes) -> bytes:
    """What the client sends to the card to sign `message` (assumption 2)."""
    return hashlib.sha384(message).digest()


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def card_sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes | None:
    """The virtual card's answer to a signature command (assumption 2); None: wrong length."""
    if len(data) != HASH_LENGTH:
        return None
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(Prehashed(hashes.SHA384()))))
    return r.to_bytes(COORDINATE_LENGTH, "big") + s.to_bytes(COORDINATE_LENGTH, "big")
