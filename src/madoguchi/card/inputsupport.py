"""Input-support application (券面事項入力補助AP): the basic four attributes.

The client reads EF0002 (name, address, birth date, sex) after the input-support PIN and checks it
against EF0003. It can NOT read EF0001 (the individual number): `select_ef` refuses that FID
before any APDU is sent, and no method exists that would read it.

EF0003 layout (docs/card.md "Sources"): `FF 30 len { DF 31 20 SHA-256(EF0001), DF 32 20
SHA-256(EF0002 from DF22 to the end of FF20), DF 33 82 01 00 signature }`. The signature is RSA
PKCS#1 v1.5 with SHA-256 over the TLV bytes that precede DF33 inside FF30 (`DF31 20 <hash> DF32
20 <hash>`, 70 bytes), made with the key that the card-verifiable certificate in EF0004
certifies; that certificate chains to a J-LIS key named by its key ID (`madoguchi.card.cvcert`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from madoguchi.card.apdu import TLV, CardChannel, encode_tlv, parse_tlv, tlv_header
from madoguchi.card.cvcert import KeyTable, parse_cv_certificate, verify_cv_certificate
from madoguchi.card.errors import (
    IntegrityError,
    MalformedResponse,
    RefusedOperation,
    TLVError,
)
from madoguchi.card.transport import Transport

INPUT_SUPPORT_AID = bytes.fromhex("D3921000310001010408")
EF_INDIVIDUAL_NUMBER = 0x0001
EF_BASIC_FOUR = 0x0002
EF_INTEGRITY = 0x0003
EF_CERTIFICATE = 0x0004
EF_PIN = 0x0011
PIN_TRIES = 3

TAG_BASIC_FOUR = 0xFF20
TAG_OFFSETS = 0xDF21
TAG_NAME = 0xDF22
TAG_ADDRESS = 0xDF23
TAG_BIRTH = 0xDF24
TAG_SEX = 0xDF25
EF0002_MOST = 0xFFFF - 16  # its DF21 offsets are two bytes (room for the header)
TAG_INTEGRITY = 0xFF30
TAG_HASH_NUMBER = 0xDF31
TAG_HASH_ATTRIBUTES = 0xDF32
TAG_SIGNATURE = 0xDF33

SEXES = {"1": "male", "2": "female", "9": "not applicable"}

# FIDs this client will never select. EF0001 holds the individual number (個人番号).
FORBIDDEN_FIDS = frozenset({EF_INDIVIDUAL_NUMBER})


@dataclass(frozen=True)
class BasicFour:
    """The basic four attributes (基本4情報) as printed on the card."""

    name: str
    """Family and given name separated by U+3000."""
    address: str
    birth_date: date
    sex: str
    """'1' male, '2' female, '9' not applicable (the card's own code)."""

    @property
    def family_name(self) -> str:
        return self.name.split("\u3000", 1)[0]

    @property
    def given_name(self) -> str:
        parts = self.name.split("\u3000", 1)
        return parts[1] if len(parts) > 1 else ""


@dataclass(frozen=True)
class IntegrityRecord:
    number_hash: bytes
    attributes_hash: bytes
    signature: bytes
    signed_data: bytes
    """The TLV bytes before DF33 inside FF30, as read (what the signature covers)."""


# --- EF0002 ------------------------------------------------------------------------------------


def build_basic_four(name: str, address: str, birth: date, sex: str, *, filler: int = 16) -> bytes:
    """Encode EF0002 (`FF 20 len`, DF21 offset table, DF22..DF25), followed by filler bytes."""
    if sex not in SEXES:
        raise ValueError("sex must be '1', '2' or '9'")
    text = len(name.encode()) + len(address.encode())
    if text > EF0002_MOST - 64:
        # Its offsets are two bytes: a longer file was an OverflowError.
        raise ValueError(f"the name and address take {text} bytes; EF0002 holds {EF0002_MOST}")
    fields = [
        encode_tlv(TAG_NAME, name.encode()),
        encode_tlv(TAG_ADDRESS, address.encode()),
        encode_tlv(TAG_BIRTH, birth.strftime("%Y%m%d").encode("ascii")),
        encode_tlv(TAG_SEX, sex.encode("ascii")),
    ]
    content_len = 3 + 8 + sum(len(f) for f in fields)
    header_len = len(encode_tlv(TAG_BASIC_FOUR, bytes(content_len))) - content_len
    offsets = []
    pos = header_len + 3 + 8
    for f in fields:
        offsets.append(pos)
        pos += len(f)
    table = b"".join(o.to_bytes(2, "big") for o in offsets)
    body = encode_tlv(TAG_OFFSETS, table) + b"".join(fields)
    return encode_tlv(TAG_BASIC_FOUR, body) + b"\xff" * filler


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedResponse(f"{what} is not valid UTF-8") from exc


def _tlv_at(data: bytes, pos: int, end: int) -> TLV:
    tag, length, header = tlv_header(data[:end], pos)
    if pos + header + length > end:
        raise TLVError(f"TLV {tag:X} at offset {pos} runs past the end of EF0002")
    return TLV(tag, bytes(data[pos + header : pos + header + length]), pos, pos + header + length)


def parse_basic_four(data: bytes) -> BasicFour:
    """Parse EF0002 through its DF21 offset table. Raises `TLVError`/`MalformedResponse`."""
    tag, length, header = tlv_header(data)
    if tag != TAG_BASIC_FOUR:
        raise TLVError(f"EF0002 starts with tag {tag:X}, expected FF20")
    end = header + length
    if end > len(data):
        raise TLVError("EF0002 is shorter than its header says")
    table_tlv = _tlv_at(data, header, end)
    if table_tlv.tag != TAG_OFFSETS or len(table_tlv.value) != 8:
        raise TLVError("EF0002 has no DF21 offset table of 8 bytes")
    table = table_tlv.value
    offsets = [int.from_bytes(table[i : i + 2], "big") for i in range(0, 8, 2)]
    values: list[bytes] = []
    for expected, offset in zip((TAG_NAME, TAG_ADDRESS, TAG_BIRTH, TAG_SEX), offsets, strict=True):
        if not header <= offset < end:
            raise TLVError(f"DF21 offset {offset} lies outside EF0002")
        item = _tlv_at(data, offset, end)
        if item.tag != expected:
            raise TLVError(f"no tag {expected:X} at offset {offset}")
        values.append(item.value)
    name, address, birth_raw, sex_raw = values
    birth_text = _text(birth_raw, "birth date")
    if len(birth_text) != 8 or not birth_text.isascii() or not birth_text.isdigit():
        raise MalformedResponse("birth date is not YYYYMMDD")
    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError as exc:
        raise MalformedResponse(f"birth date {birth_text} is not a date") from exc
    sex = _text(sex_raw, "sex")
    if sex not in SEXES:
        raise MalformedResponse(f"sex code {sex!r} is not 1, 2 or 9")
    return BasicFour(_text(name, "name"), _text(address, "address"), birth, sex)


def attributes_hash_input(data: bytes) -> bytes:
    """EF0002's bytes from the DF22 tag to the end of the FF20 value (hashed into EF0003)."""
    _tag, length, header = tlv_header(data)
    end = header + length
    if end > len(data):
        raise TLVError("EF0002 is shorter than its header says")
    items = parse_tlv(data, header, end)
    if not items or items[0].tag != TAG_OFFSETS or len(items[0].value) < 2:
        raise TLVError("EF0002 has no DF21 offset table")
    start = int.from_bytes(items[0].value[:2], "big")
    if not header <= start < end:
        raise TLVError("DF22 offset lies outside EF0002")
    return data[start:end]


# --- EF0003 ------------------------------------------------------------------------------------


def build_integrity(number_hash: bytes, ef0002: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """Encode EF0003 and sign its two hash TLVs (70 bytes) with `key` (PKCS#1 v1.5, SHA-256)."""
    attributes_hash = hashlib.sha256(attributes_hash_input(ef0002)).digest()
    hashes_tlv = encode_tlv(TAG_HASH_NUMBER, number_hash) + encode_tlv(
        TAG_HASH_ATTRIBUTES, attributes_hash
    )
    signature = key.sign(hashes_tlv, padding.PKCS1v15(), hashes.SHA256())
    return encode_tlv(TAG_INTEGRITY, hashes_tlv + encode_tlv(TAG_SIGNATURE, signature))


def parse_integrity(data: bytes) -> IntegrityRecord:
    """Parse EF0003 (trailing filler after the FF30 TLV is ignored). Raises `TLVError`."""
    tag, length, header = tlv_header(data)
    if tag != TAG_INTEGRITY:
        raise TLVError(f"EF0003 starts with tag {tag:X}, expected FF30")
    if header + length > len(data):
        raise TLVError("EF0003 is shorter than its header says")
    parsed = parse_tlv(data, header, header + length)
    items = {t.tag: t for t in parsed}
    try:
        number, attributes, signature = (
            items[TAG_HASH_NUMBER],
            items[TAG_HASH_ATTRIBUTES],
            items[TAG_SIGNATURE],
        )
    except KeyError as exc:
        raise TLVError(f"EF0003 lacks tag {exc.args[0]:X}") from exc
    if len(number.value) != 32 or len(attributes.value) != 32:
        raise TLVError("EF0003 hashes are not 32 bytes")
    return IntegrityRecord(
        number.value, attributes.value, signature.value, bytes(data[header : signature.offset])
    )


def check_integrity(
    ef0002: bytes,
    ef0003: bytes,
    ef0004: bytes | None = None,
    trusted: KeyTable | None = None,
) -> IntegrityRecord:
    """Check EF0002 against EF0003: the SHA-256 always; with `trusted` (J-LIS key ID -> key),
    also EF0004's certificate and, with the key it certifies, EF0003's signature.

    Raises `IntegrityError` on mismatch, `TLVError` on unparseable data.
    """
    record = parse_integrity(ef0003)
    if hashlib.sha256(attributes_hash_input(ef0002)).digest() != record.attributes_hash:
        raise IntegrityError("EF0002 does not match the SHA-256 in EF0003")
    if trusted is not None:
        if ef0004 is None:
            raise IntegrityError("EF0004 (the input-support certificate) is needed")
        signer = verify_cv_certificate(parse_cv_certificate(ef0004), trusted)
        try:
            signer.verify(record.signature, record.signed_data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise IntegrityError(
                "EF0003 signature does not verify with the key EF0004 certifies"
            ) from exc
    return record


# --- client --------------------------------------------------------------------------------------


class InputSupportClient:
    """Talks to the input-support application. Cannot read the individual number."""

    def __init__(self, transport: Transport, timeout: float = 10.0) -> None:
        self.channel = CardChannel(transport, timeout)

    def select(self) -> None:
        self.channel.select_aid(INPUT_SUPPORT_AID)

    def select_ef(self, fid: int) -> None:
        if fid in FORBIDDEN_FIDS:
            raise RefusedOperation(
                "madoguchi never reads the individual number (input-support EF0001)"
            )
        self.channel.select_ef(fid)

    def tries_left(self) -> int | None:
        """Input-support PIN tries left, without spending one (None: already verified)."""
        self.select()
        self.select_ef(EF_PIN)
        return self.channel.tries_left()

    def verify_pin(self, pin: str) -> None:
        """VERIFY the input-support PIN. Raises `WrongPin(tries_left)` / `PinBlocked`."""
        if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
            raise ValueError("the input-support PIN is 4 digits")
        self.select()
        self.select_ef(EF_PIN)
        self.channel.verify(pin.encode("ascii"))

    def read_basic_four_raw(self) -> bytes:
        self.select_ef(EF_BASIC_FOUR)
        return self.channel.read_tlv_file()

    def read_integrity_raw(self) -> bytes:
        self.select_ef(EF_INTEGRITY)
        return self.channel.read_tlv_file()

    def read_certificate_raw(self) -> bytes:
        """EF0004, the card-verifiable certificate of the key that signed EF0003."""
        self.select_ef(EF_CERTIFICATE)
        return self.channel.read_tlv_file()

    def read_basic_four(self, *, check: bool = True, trusted: KeyTable | None = None) -> BasicFour:
        """Read and parse EF0002 (needs `verify_pin` first), checked against EF0003; with
        `trusted` J-LIS keys also EF0004 and EF0003's signature."""
        raw = self.read_basic_four_raw()
        if check:
            certificate = self.read_certificate_raw() if trusted is not None else None
            check_integrity(raw, self.read_integrity_raw(), certificate, trusted)
        return parse_basic_four(raw)
