"""JPKI application (公的個人認証AP): the user-authentication certificate and key only.

Nothing here touches the signature certificate, its key or its password.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from madoguchi.card import nextgen
from madoguchi.card.apdu import CardChannel, CommandAPDU
from madoguchi.card.errors import MalformedResponse
from madoguchi.card.profiles import JPKI_RSA_2048, CardProfile, KeyType, profile_for_certificate
from madoguchi.card.transport import Transport

JPKI_AID = bytes.fromhex("D392F000260100000001")
EF_TOKEN_INFO = 0x0006
EF_AUTH_CERT = 0x000A
EF_AUTH_CA_CERT = 0x000B
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018
AUTH_PIN_TRIES = 3
TOKEN_INFO_LENGTH = 160

SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


class SignMode(IntEnum):
    """P1 of COMPUTE DIGITAL SIGNATURE (80 2A)."""

    RAW = 0x00
    """Input (normally a DigestInfo, 1-245 bytes) padded with PKCS#1 v1.5 as given."""
    HASH_BARE = 0x01
    """Card computes SHA-256 of the message, pads the bare hash (no DigestInfo)."""
    HASH_DIGEST_INFO = 0x02
    """Input is a 32-byte SHA-256; card adds the DigestInfo."""
    MESSAGE = 0x03
    """Input is a 1-255-byte message; card hashes with SHA-256 and adds the DigestInfo."""


def digest_info_sha256(digest: bytes) -> bytes:
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    return SHA256_DIGEST_INFO_PREFIX + digest


@dataclass(frozen=True)
class TokenInfo:
    label: str
    raw: bytes


@dataclass(frozen=True)
class AuthResult:
    """What `JpkiClient.authenticate` returns: the certificate and the signature."""

    certificate_der: bytes
    signature: bytes
    algorithm: str = "RS256"

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate_der)


def verify_rs256(certificate: x509.Certificate, message: bytes, signature: bytes) -> bool:
    """True when `signature` is an RS256 (PKCS#1 v1.5, SHA-256) signature of `message`."""
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verify_card_signature(certificate: x509.Certificate, message: bytes, signature: bytes) -> bool:
    """True when `signature` is the card's signature of `message` under its profile's algorithm
    (RS256, or ES384 as raw r || s for the provisional next-generation profile)."""
    profile = profile_for_certificate(certificate)
    if profile.key_type is KeyType.RSA_2048:
        return verify_rs256(certificate, message, signature)
    key = certificate.public_key()
    half = profile.signature_length // 2
    if not isinstance(key, ec.EllipticCurvePublicKey) or len(signature) != 2 * half:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
    )
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        return False
    return True


class JpkiClient:
    """Reads the auth certificate, verifies the auth PIN and signs with the auth key."""

    def __init__(self, transport: Transport, timeout: float = 10.0) -> None:
        self.transport = transport
        self.channel = CardChannel(transport, timeout)

    def select(self) -> None:
        self.channel.select_aid(JPKI_AID)

    def read_auth_certificate_der(self) -> bytes:
        """The user-authentication certificate (EF000A, readable without PIN)."""
        self.select()
        self.channel.select_ef(EF_AUTH_CERT)
        return self.channel.read_der_file()

    def read_auth_certificate(self) -> x509.Certificate:
        return _load_cert(self.read_auth_certificate_der())

    def read_auth_ca_certificate_der(self) -> bytes:
        self.select()
        self.channel.select_ef(EF_AUTH_CA_CERT)
        return self.channel.read_der_file()

    def read_auth_ca_certificate(self) -> x509.Certificate:
        return _load_cert(self.read_auth_ca_certificate_der())

    def read_token_info(self) -> TokenInfo:
        self.select()
        self.channel.select_ef(EF_TOKEN_INFO)
        raw = self.channel.read_binary(0, TOKEN_INFO_LENGTH)
        label = raw[:32].decode("ascii", errors="replace").rstrip(" \x00")
        return TokenInfo(label, raw)

    def auth_pin_tries_left(self) -> int | None:
        """Auth PIN tries left without spending one; None when already verified this session.

        Raises `PinBlocked` when blocked.
        """
        self.select()
        self.channel.select_ef(EF_AUTH_PIN)
        return self.channel.tries_left()

    def verify_auth_pin(self, pin: str) -> None:
        """VERIFY the 4-digit auth PIN. Raises `WrongPin(tries_left)` or `PinBlocked`."""
        if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
            raise ValueError("the user-authentication PIN is 4 digits")
        self.select()
        self.channel.select_ef(EF_AUTH_PIN)
        self.channel.verify(pin.encode("ascii"))

    def sign(
        self, data: bytes, mode: SignMode = SignMode.RAW, profile: CardProfile = JPKI_RSA_2048
    ) -> bytes:
        """COMPUTE DIGITAL SIGNATURE with the auth key (PIN verified before, same session)."""
        self.channel.select_ef(EF_AUTH_KEY)
        signature = self.channel.transmit_checked(
            CommandAPDU(0x80, 0x2A, int(mode), 0x80, data, le=256)
        )
        if len(signature) != profile.signature_length:
            raise MalformedResponse(
                f"signature of {len(signature)} bytes, expected {profile.signature_length}"
            )
        return signature

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a SHA-256 digest (P1=00 with a DigestInfo): an RS256 signature."""
        return self.sign(digest_info_sha256(digest), SignMode.RAW)

    def sign_rs256(self, message: bytes) -> bytes:
        """RS256 signature of `message` (hashed here, signed with the DigestInfo form)."""
        return self.sign_digest(hashlib.sha256(message).digest())

    def sign_message(self, message: bytes, profile: CardProfile) -> bytes:
        """Sign `message` the way `profile` says: RS256 (RSA cards) or ES384 (provisional)."""
        if profile.key_type is KeyType.RSA_2048:
            return self.sign_rs256(message)
        return self.sign(nextgen.sign_input(message), SignMode(nextgen.SIGN_P1), profile)

    def authenticate(self, pin: str, message: bytes | Callable[[CardProfile], bytes]) -> AuthResult:
        """Select, read the auth certificate, pick the card profile from its key, verify the
        PIN, sign `message` (or `message(profile)`: the signing input depends on the algorithm)
        with the profile's algorithm."""
        certificate = self.read_auth_certificate_der()
        profile = profile_for_certificate(_load_cert(certificate))
        data = message(profile) if callable(message) else message
        self.verify_auth_pin(pin)  # leaves the JPKI AP selected; no re-select before signing
        return AuthResult(certificate, self.sign_message(data, profile), profile.algorithm)


def _load_cert(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise MalformedResponse("certificate EF does not hold a valid certificate") from exc


__all__ = [
    "AUTH_PIN_TRIES",
    "JPKI_AID",
    "AuthResult",
    "JpkiClient",
    "SignMode",
    "TokenInfo",
    "digest_info_sha256",
    "verify_card_signature",
    "verify_rs256",
]
