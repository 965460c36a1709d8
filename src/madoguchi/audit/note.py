"""Signed checkpoints in the transparency-dev note format. Pure Python, no Django.

A checkpoint (https://github.com/transparency-dev/formats, log/README.md) is the text

    <origin>\\n<tree size>\\n<base64 root hash>\\n

followed by a blank line and signature lines ``— <key name> <base64(key hash || signature)>``
(golang.org/x/mod/sumdb/note). For Ed25519 the key hash is the first 4 bytes of
SHA-256(key name || "\\n" || 0x01 || public key), and the signature covers the text above the
blank line, final newline included. A verifier key is written ``<name>+<hex key hash>+<base64(0x01
|| public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
DASH = "\u2014"


class NoteError(ValueError):
    """A checkpoint note is malformed or its signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"Key name {name!r} must be non-empty, without spaces or '+'.")


def key_hash(name: str, public_key: Ed25519PublicKey) -> bytes:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + raw).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    _check_name(name)
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    encoded = base64.b64encode(bytes([ALG_ED25519]) + raw).decode()
    return f"{name}+{key_hash(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey]:
    try:
        name, hash_hex, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("The verifier key must be '<name>+<hex key hash>+<base64 key>'.") from exc
    _check_name(name)
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError("The verifier key is not an Ed25519 key.")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_hash(name, public_key).hex() != hash_hex.lower():
        raise NoteError("The verifier key's hash does not match its name and key.")
    return name, public_key


def sign(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note text."""
    _check_name(name)
    if "\n" in checkpoint.origin or not checkpoint.origin:
        raise NoteError("The origin must be one non-empty line.")
    body = checkpoint.body()
    signature = private_key.sign(body.encode())
    blob = base64.b64encode(key_hash(name, private_key.public_key()) + signature).decode()
    return f"{body}\n{DASH} {name} {blob}\n"


# A tree size: decimal, no leading zero, at most 20 digits (a 64-bit count has 20 at most; int()
# of a longer one could take long, and of more than 4,300 digits refuses).
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}")


def open_note(text: str, name: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """Parse a signed checkpoint and return it if a signature by (name, key) verifies.

    A note whose every line ends CRLF (as a mail program or a Windows editor may save it) is
    read with LF line ends: the signature covers the text with LF line ends, and it is over
    those bytes that the signature is checked, so nothing unsigned is accepted. A note with
    a carriage return anywhere else is refused as such."""
    if "\r" in text:
        crlf = text.replace("\r\n", "\n")
        if "\r" in crlf or text.count("\n") != text.count("\r\n"):
            raise NoteError(
                "The note mixes CRLF and LF line ends (or holds a carriage return inside a "
                "line); give the checkpoint file as it was written, with LF line ends."
            )
        text = crlf
    body, sep, signatures = text.partition("\n\n")
    if not sep:
        raise NoteError("The note has no blank line between text and signatures.")
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError("The checkpoint needs origin, size and root hash lines.")
    origin, size_text, root_text = lines[:3]
    if not _SIZE_RE.fullmatch(size_text):
        shown = (
            size_text
            if len(size_text) <= 40
            else f"{size_text[:20]}… ({len(size_text):,} characters)"
        )
        raise NoteError(
            f"The checkpoint size {shown!r} is not a decimal number of at most 20 digits."
        )
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise NoteError("The checkpoint root hash is not base64.") from exc
    if len(root) != 32:
        raise NoteError("The checkpoint root hash is not 32 bytes.")
    wanted = key_hash(name, public_key)
    for line in signatures.splitlines():
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"Malformed signature line {line!r}.")
        if parts[1] != name:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise NoteError("A signature is not base64.") from exc
        if len(blob) != 4 + 64 or blob[:4] != wanted:
            continue
        try:
            public_key.verify(blob[4:], body.encode())
        except InvalidSignature as exc:
            raise NoteError(f"The signature by {name} does not verify.") from exc
        return Checkpoint(origin=origin, size=int(size_text), root=root)
    raise NoteError(f"The note carries no signature by key {name}.")


def generate_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NoteError("The checkpoint signing key is not an Ed25519 private key.")
    return key
