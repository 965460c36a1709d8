"""Card profiles: what kind of key a card's user-authentication certificate holds, and how the
client signs with it. The key type is a property of the profile, chosen from the certificate the
card presents (readable without a PIN), never from the ATR.

- `JPKI_RSA_2048`: the cards issued since 2016 (RSA-2048, PKCS#1 v1.5, RS256). Verified against
  public sources (docs/card.md).
- `PROVISIONAL_ECDSA_P384`: the cards announced for 2026 (ECDSA P-384, SHA-384, hence ES384).
  Their byte-level interface is not public; everything assumed about them lives in
  `madoguchi.card.nextgen`, and this profile is marked `provisional`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from madoguchi.card import nextgen
from madoguchi.card.errors import MalformedResponse


class KeyType(Enum):
    RSA_2048 = "rsa-2048"
    ECDSA_P384 = "ecdsa-p384"


@dataclass(frozen=True)
class CardProfile:
    name: str
    key_type: KeyType
    algorithm: str
    """The JWS algorithm of tokens signed by this card (the validator's `algorithm` field)."""
    hash_name: str
    """hashlib name of the hash the algorithm uses."""
    signature_length: int
    """Bytes the card's signature command answers with."""
    provisional: bool = False


JPKI_RSA_2048 = CardProfile("jpki-rsa2048", KeyType.RSA_2048, "RS256", "sha256", 256)
PROVISIONAL_ECDSA_P384 = CardProfile(
    "provisional-ecdsa-p384",
    KeyType.ECDSA_P384,
    "ES384",
    "sha384",
    nextgen.SIGNATURE_LENGTH,
    provisional=True,
)
PROFILES = {p.name: p for p in (JPKI_RSA_2048, PROVISIONAL_ECDSA_P384)}


def profile_for_key(key: object) -> CardProfile:
    """The profile of a card whose authentication key is `key` (a public or private key)."""
    if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)) and key.key_size == 2048:
        return JPKI_RSA_2048
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) and isinstance(
        key.curve, ec.SECP384R1
    ):
        return PROVISIONAL_ECDSA_P384
    raise MalformedResponse(f"no card profile for a {type(key).__name__} key")


def profile_for_certificate(certificate: x509.Certificate) -> CardProfile:
    return profile_for_key(certificate.public_key())


#: ATRs of My Number cards in public sources (docs/card.md "ATRs"). Informational only: the
#: client never decides anything from the ATR; it selects the JPKI application by AID.
KNOWN_ATRS: dict[str, str] = {
    "3BE000FF8131FE4514": "OpenSC card-jpki.c; pcsc-tools list (JUKICARD / tax documents)",
    "3BC5FF8131FB458073C6010000": "pcsc-tools list: Japanese Individual Number Card",
    "3BDA13FF8131FB468012392F31C173C601C03B": "pcsc-tools list: My Number Card",
    "3B888001000005E0B381A1007F": "pcsc-tools list: Japanese JPKI card (contactless)",
    "3B888001000041E0B381A1003B": "pcsc-tools list: ID card issued by Japan government",
    "3BF59100FF918171FE400042000100D1D6": "pcsc-tools list: JPKI / My Number Card",
    "3BF59100FF918171FE4000420001B3A115": "pcsc-tools list: Individual Number Card",
}
