"""APDU layer: command encoding, response parsing, status words, chunked READ BINARY, BER-TLV.

Everything here talks to a card only through a `Transport` (see `transport.py`), so the same
code drives the in-process virtual card and a real card in a PC/SC reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from madoguchi.card.errors import (
    MalformedResponse,
    PinBlocked,
    StatusWordError,
    TLVError,
    WrongLe,
    WrongLength,
    WrongPin,
    error_for_sw,
)

if TYPE_CHECKING:
    from madoguchi.card.transport import Transport

DEFAULT_TIMEOUT = 10.0
"""Seconds any single reader operation may take (RSA signing on a real card takes ~0.5-2 s)."""

SW_OK = 0x9000
SHORT_LE_MAX = 256
MAX_FILE_SIZE = 0x8000
"""READ BINARY addresses offsets 0..32767 (15 bits)."""
EXTENDED_LE_MAX = 65536


@dataclass(frozen=True)
class CommandAPDU:
    """An ISO 7816-4 command. `le=None`: no response data expected; `le=256` encodes as 00."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False
    """Force extended-length encoding (chosen automatically when Lc > 255 or Le > 256)."""

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{name} must be a byte, got {value}")
        if len(self.data) > 65535:
            raise ValueError("command data longer than 65535 bytes")
        if self.le is not None and not 1 <= self.le <= EXTENDED_LE_MAX:
            raise ValueError(f"Le must be 1..65536, got {self.le}")

    @property
    def is_extended(self) -> bool:
        return (
            self.extended
            or len(self.data) > 255
            or (self.le is not None and self.le > SHORT_LE_MAX)
        )

    def to_bytes(self) -> bytes:
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        if not self.is_extended:
            out = header
            if self.data:
                out += bytes((len(self.data),)) + self.data
            if self.le is not None:
                out += bytes((self.le % 256,))
            return out
        out = header
        if self.data:
            out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                out += (self.le % 65536).to_bytes(2, "big")
        elif self.le is not None:
            out += b"\x00" + (self.le % 65536).to_bytes(2, "big")
        return out

    def with_le(self, le: int) -> CommandAPDU:
        return CommandAPDU(self.cla, self.ins, self.p1, self.p2, self.data, le, self.extended)


def parse_command(raw: bytes) -> CommandAPDU:
    """Decode a command APDU (cases 1-4, short and extended). Raises `WrongLength` on bad sizes."""
    if len(raw) < 4:
        raise WrongLength(0x6700, "command shorter than 4 bytes")
    cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
    body = raw[4:]
    if not body:
        return CommandAPDU(cla, ins, p1, p2)
    if len(body) == 1:
        return CommandAPDU(cla, ins, p1, p2, le=body[0] or 256)
    if body[0] != 0:
        lc = body[0]
        if len(body) == 1 + lc:
            return CommandAPDU(cla, ins, p1, p2, bytes(body[1:]))
        if len(body) == 2 + lc:
            return CommandAPDU(cla, ins, p1, p2, bytes(body[1 : 1 + lc]), body[-1] or 256)
        raise WrongLength(0x6700, "Lc does not match the command length")
    # extended length
    if len(body) == 3:
        n = int.from_bytes(body[1:3], "big")
        return CommandAPDU(cla, ins, p1, p2, le=n or 65536, extended=True)
    if len(body) < 3:
        raise WrongLength(0x6700, "truncated extended length")
    lc = int.from_bytes(body[1:3], "big")
    if lc == 0:
        raise WrongLength(0x6700, "extended Lc of zero")
    if len(body) == 3 + lc:
        return CommandAPDU(cla, ins, p1, p2, bytes(body[3:]), extended=True)
    if len(body) == 5 + lc:
        n = int.from_bytes(body[-2:], "big")
        return CommandAPDU(cla, ins, p1, p2, bytes(body[3 : 3 + lc]), n or 65536, extended=True)
    raise WrongLength(0x6700, "extended Lc does not match the command length")


@dataclass(frozen=True)
class ResponseAPDU:
    data: bytes
    sw: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> ResponseAPDU:
        if len(raw) < 2:
            raise MalformedResponse(f"response of {len(raw)} bytes has no status word")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    def check(self) -> bytes:
        """The data if the status is 9000, else the typed `StatusWordError`."""
        if self.sw != SW_OK:
            raise error_for_sw(self.sw)
        return self.data


@dataclass
class CardChannel:
    """Sends commands over a transport, resolving 61xx (GET RESPONSE) and 6Cxx (re-send)."""

    transport: Transport
    timeout: float = DEFAULT_TIMEOUT
    max_get_response: int = 64
    log: list[tuple[bytes, bytes]] | None = field(default=None, repr=False)
    """If a list is given, every (command, response) pair is appended (tests; never holds PINs
    in production since nobody passes a list there)."""

    def _raw(self, apdu: bytes) -> ResponseAPDU:
        raw = self.transport.transmit(apdu, self.timeout)
        if self.log is not None:
            self.log.append((apdu, raw))
        return ResponseAPDU.from_bytes(raw)

    def send(self, command: CommandAPDU) -> ResponseAPDU:
        """Send and return the final response (status not checked)."""
        response = self._raw(command.to_bytes())
        if response.sw1 == 0x6C:
            if command.le is None:
                raise WrongLe(response.sw, "card asked for an Le on a command without one")
            response = self._raw(command.with_le(response.sw2 or 256).to_bytes())
            if response.sw1 == 0x6C:
                raise WrongLe(response.sw, "card asked twice for a different Le")
        data = response.data
        rounds = 0
        while response.sw1 == 0x61:
            rounds += 1
            if rounds > self.max_get_response:
                raise MalformedResponse("too many 61xx GET RESPONSE rounds")
            get = CommandAPDU(command.cla & 0x03, 0xC0, 0, 0, le=response.sw2 or 256)
            response = self._raw(get.to_bytes())
            if response.sw1 == 0x6C:
                # GET RESPONSE is a case-2 command like any other: a card (T=0) answers an Le
                # larger than what it holds with 6Cxx, and the command is sent again once with
                # Le xx (ISO 7816-3, T=0 case 2; docs/jpki-card.md: handle 6Cxx).
                response = self._raw(get.with_le(response.sw2 or 256).to_bytes())
                if response.sw1 == 0x6C:
                    raise WrongLe(response.sw, "card asked twice for a different Le")
            data += response.data
        return ResponseAPDU(data, response.sw)

    def transmit_checked(self, command: CommandAPDU) -> bytes:
        return self.send(command).check()

    # --- ISO commands ---------------------------------------------------------------------------

    def select_aid(self, aid: bytes) -> None:
        self.transmit_checked(CommandAPDU(0x00, 0xA4, 0x04, 0x0C, aid))

    def select_ef(self, fid: int) -> None:
        self.transmit_checked(CommandAPDU(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))

    def verify(self, pin: bytes | None) -> None:
        """VERIFY the current EF's PIN; `None` asks for the counter without spending a try."""
        self.transmit_checked(CommandAPDU(0x00, 0x20, 0x00, 0x80, pin or b""))

    def tries_left(self) -> int | None:
        """Tries left on the selected PIN EF without spending one. None: already verified.

        Raises `PinBlocked` when the PIN is blocked: a blocked card answers an empty VERIFY with
        6984 or, on some cards, with 63C0 (zero tries left), and both mean blocked.
        """
        try:
            self.verify(None)
        except WrongPin as exc:
            if exc.tries_left == 0:
                raise PinBlocked(exc.sw, "PIN blocked (no tries left)") from exc
            return exc.tries_left
        return None

    def read_binary(self, offset: int, length: int, *, extended: bool = False) -> bytes:
        if not 0 <= offset <= 0x7FFF:
            raise ValueError("READ BINARY offset must be 0..32767")
        command = CommandAPDU(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length, extended=extended)
        return self.transmit_checked(command)

    def read_exact(self, offset: int, length: int, chunk: int = SHORT_LE_MAX) -> bytes:
        """Read `length` bytes from `offset` in chunks of at most `chunk` bytes."""
        if offset + length > MAX_FILE_SIZE:
            raise MalformedResponse(f"file claims {offset + length} bytes, more than an EF holds")
        extended = chunk > SHORT_LE_MAX
        out = bytearray()
        while len(out) < length:
            want = min(chunk, length - len(out))
            part = self.read_binary(offset + len(out), want, extended=extended)
            if not part:
                raise MalformedResponse("READ BINARY returned no data before the end of the file")
            out += part[:want]
        return bytes(out)

    def read_der_file(self, chunk: int = SHORT_LE_MAX) -> bytes:
        """Read a whole EF holding one DER object (`30 82 LL LL ...`): header first, then body."""
        head = self.read_binary(0, 4)
        total = der_total_length(head)
        return head[: min(len(head), total)] + self.read_exact(
            min(len(head), total), total - min(len(head), total), chunk
        )

    def read_tlv_file(self, chunk: int = SHORT_LE_MAX) -> bytes:
        """Read a whole EF holding one BER-TLV (e.g. `FF 20 len ...`), ignoring trailing filler."""
        head = self.read_binary(0, 8)
        _tag, length, header_len = tlv_header(head)
        total = header_len + length
        have = head[: min(len(head), total)]
        return have + self.read_exact(len(have), total - len(have), chunk)


def der_total_length(head: bytes) -> int:
    """Total length of a DER SEQUENCE from its first bytes (at least 4 for `30 82 LL LL`)."""
    if len(head) < 2 or head[0] != 0x30:
        raise MalformedResponse("file does not start with a DER SEQUENCE")
    first = head[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if n == 0 or n > 3 or len(head) < 2 + n:
        raise MalformedResponse("unsupported DER length encoding")
    return 2 + n + int.from_bytes(head[2 : 2 + n], "big")


# --- BER-TLV ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TLV:
    tag: int
    value: bytes
    offset: int
    """Offset of the tag's first byte in the parsed buffer."""
    end: int
    """Offset just past the value."""


def tlv_header(data: bytes, pos: int = 0) -> tuple[int, int, int]:
    """(tag, length, header length) of the TLV starting at `pos`. Raises `TLVError`."""
    start = pos
    if pos >= len(data):
        raise TLVError("no TLV tag: data ended")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        count = 0
        while True:
            if pos >= len(data):
                raise TLVError("truncated multi-byte tag")
            byte = data[pos]
            tag = (tag << 8) | byte
            pos += 1
            count += 1
            if not byte & 0x80:
                break
            if count >= 3:
                raise TLVError("tag longer than 4 bytes")
    if pos >= len(data):
        raise TLVError("truncated TLV length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 3:
            raise TLVError(f"unsupported TLV length form {first:02X}")
        if pos + n > len(data):
            raise TLVError("truncated TLV length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    return tag, length, pos - start


def parse_tlv(data: bytes, start: int = 0, end: int | None = None) -> list[TLV]:
    """Parse consecutive TLVs in data[start:end]. Raises `TLVError` on truncation."""
    stop = len(data) if end is None else end
    if stop > len(data):
        raise TLVError("TLV range runs past the data")
    out: list[TLV] = []
    pos = start
    while pos < stop:
        tag, length, header = tlv_header(data[:stop], pos)
        value_start = pos + header
        value_end = value_start + length
        if value_end > stop:
            raise TLVError(f"TLV {tag:X} runs past the end of its container")
        out.append(TLV(tag, bytes(data[value_start:value_end]), pos, value_end))
        pos = value_end
    return out


def encode_tlv(tag: int, value: bytes) -> bytes:
    tag_bytes = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    n = len(value)
    if n < 0x80:
        length = bytes((n,))
    elif n < 0x100:
        length = bytes((0x81, n))
    else:
        length = b"\x82" + n.to_bytes(2, "big")
    return tag_bytes + length + value


__all__ = [
    "DEFAULT_TIMEOUT",
    "SW_OK",
    "TLV",
    "CardChannel",
    "CommandAPDU",
    "ResponseAPDU",
    "StatusWordError",
    "der_total_length",
    "encode_tlv",
    "parse_command",
    "parse_tlv",
    "tlv_header",
]
