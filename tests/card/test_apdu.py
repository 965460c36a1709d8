from __future__ import annotations

import pytest

from madoguchi.card import errors
from madoguchi.card.apdu import (
    CardChannel,
    CommandAPDU,
    ResponseAPDU,
    encode_tlv,
    parse_command,
    parse_tlv,
    tlv_header,
)


class Scripted:
    """A transport answering from a script and recording what it was sent."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)
        self.sent: list[bytes] = []
        self.timeouts: list[float] = []

    def transmit(self, apdu: bytes, timeout: float) -> bytes:
        self.sent.append(apdu)
        self.timeouts.append(timeout)
        return self.answers.pop(0)

    def reset(self) -> None:
        pass


@pytest.mark.parametrize(
    ("command", "encoded"),
    [
        (CommandAPDU(0, 0xA4, 4, 0x0C, b"\x01\x02"), "00A4040C020102"),
        (CommandAPDU(0, 0x20, 0, 0x80), "00200080"),
        (CommandAPDU(0, 0xB0, 0, 0, le=256), "00B0000000"),
        (CommandAPDU(0, 0xB0, 1, 2, le=4), "00B0010204"),
        (CommandAPDU(0x80, 0x2A, 0, 0x80, b"\xaa", le=256), "802A008001AA00"),
        (CommandAPDU(0, 0xB0, 0, 0, le=1000), "00B000000003E8"),
        (CommandAPDU(0, 0xB0, 0, 0, le=65536), "00B00000000000"),
        (CommandAPDU(0, 0xB0, 0, 0, le=10, extended=True), "00B0000000000A"),
        (CommandAPDU(0, 0xD6, 0, 0, b"\x11" * 300), "00D6000000012C" + "11" * 300),
        (CommandAPDU(0, 0x2A, 0, 0, b"\x11" * 300, le=256), "002A000000012C" + "11" * 300 + "0100"),
    ],
)
def test_command_encoding_round_trips(command: CommandAPDU, encoded: str) -> None:
    assert command.to_bytes().hex().upper() == encoded
    again = parse_command(bytes.fromhex(encoded))
    assert (again.cla, again.ins, again.p1, again.p2, again.data, again.le) == (
        command.cla,
        command.ins,
        command.p1,
        command.p2,
        command.data,
        command.le,
    )


@pytest.mark.parametrize("raw", ["00A4", "00A4040C05AABB", "00A4040C0001", "00B0000000AA"])
def test_bad_command_lengths_are_wrong_length(raw: str) -> None:
    with pytest.raises(errors.WrongLength):
        parse_command(bytes.fromhex(raw))


def test_command_rejects_out_of_range_fields() -> None:
    with pytest.raises(ValueError, match="Le"):
        CommandAPDU(0, 0xB0, 0, 0, le=0)
    with pytest.raises(ValueError, match="byte"):
        CommandAPDU(0x100, 0, 0, 0)


@pytest.mark.parametrize(
    ("sw", "kind"),
    [
        (0x6982, errors.SecurityStatusNotSatisfied),
        (0x6984, errors.PinBlocked),
        (0x6983, errors.AuthenticationMethodBlocked),
        (0x6985, errors.ConditionsNotSatisfied),
        (0x6986, errors.CommandNotAllowed),
        (0x6A80, errors.WrongData),
        (0x6A82, errors.FileNotFound),
        (0x6A86, errors.IncorrectP1P2),
        (0x6700, errors.WrongLength),
        (0x6B00, errors.OffsetOutOfRange),
        (0x6D00, errors.InsNotSupported),
        (0x6E00, errors.ClaNotSupported),
        (0x6C10, errors.WrongLe),
        (0x6F00, errors.UnknownStatus),
    ],
)
def test_status_words_raise_typed_errors(sw: int, kind: type[errors.StatusWordError]) -> None:
    response = ResponseAPDU.from_bytes(b"\x01" + sw.to_bytes(2, "big"))
    with pytest.raises(kind) as info:
        response.check()
    assert info.value.sw == sw
    assert isinstance(info.value, errors.CardError)


@pytest.mark.parametrize("tries", [0, 1, 2, 3])
def test_wrong_pin_carries_tries_left(tries: int) -> None:
    with pytest.raises(errors.WrongPin) as info:
        ResponseAPDU.from_bytes(bytes((0x63, 0xC0 | tries))).check()
    assert info.value.tries_left == tries


def test_response_without_status_word_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponse):
        ResponseAPDU.from_bytes(b"\x90")


def test_61xx_is_followed_by_get_response() -> None:
    t = Scripted([b"\x61\x03", b"abc\x61\x02", b"de\x90\x00"])
    data = CardChannel(t, timeout=2.5).transmit_checked(CommandAPDU(0, 0xB0, 0, 0, le=5))
    assert data == b"abcde"
    assert t.sent[1:] == [bytes.fromhex("00C0000003"), bytes.fromhex("00C0000002")]
    assert t.timeouts == [2.5, 2.5, 2.5]


def test_6cxx_resends_with_the_given_le() -> None:
    t = Scripted([b"\x6c\x04", b"wxyz\x90\x00"])
    data = CardChannel(t).transmit_checked(CommandAPDU(0, 0xB0, 0, 0, le=10))
    assert data == b"wxyz"
    assert t.sent == [bytes.fromhex("00B000000A"), bytes.fromhex("00B0000004")]


def test_repeated_6cxx_is_an_error_not_a_loop() -> None:
    t = Scripted([b"\x6c\x04", b"\x6c\x05"])
    with pytest.raises(errors.WrongLe):
        CardChannel(t).send(CommandAPDU(0, 0xB0, 0, 0, le=10))


def test_endless_61xx_is_bounded() -> None:
    t = Scripted([b"\x61\x01"] * 100)
    with pytest.raises(errors.MalformedResponse):
        CardChannel(t, max_get_response=5).send(CommandAPDU(0, 0xB0, 0, 0, le=1))
    assert len(t.sent) == 6


def test_read_der_file_uses_the_header_length_and_chunks() -> None:
    body = bytes(range(256)) * 3
    der = b"\x30\x82" + len(body).to_bytes(2, "big") + body
    file = der + b"\xff" * 50  # filler after the certificate is never read

    class FileCard(Scripted):
        def transmit(self, apdu: bytes, timeout: float) -> bytes:
            self.sent.append(apdu)
            c = parse_command(apdu)
            off = (c.p1 << 8) | c.p2
            return file[off : off + (c.le or 0)] + b"\x90\x00"

    t = FileCard([])
    assert CardChannel(t).read_der_file(chunk=200) == der
    assert all(parse_command(a).le is not None and parse_command(a).le <= 200 for a in t.sent[1:])
    assert len(t.sent) == 1 + -(-(len(der) - 4) // 200)


def test_tlv_parse_and_encode() -> None:
    blob = (
        encode_tlv(0xDF22, b"x" * 200) + encode_tlv(0xDF23, b"") + encode_tlv(0x04, b"\x01" * 300)
    )
    items = parse_tlv(blob)
    assert [(i.tag, len(i.value)) for i in items] == [(0xDF22, 200), (0xDF23, 0), (0x04, 300)]
    assert tlv_header(b"\xff\x20\x82\x01\x00") == (0xFF20, 256, 5)
    with pytest.raises(errors.TLVError):
        parse_tlv(b"\xdf\x22\x05abc")
    with pytest.raises(errors.TLVError):
        tlv_header(b"\xdf")


def test_absurd_file_length_is_malformed_not_a_value_error() -> None:
    t = Scripted([bytes.fromhex("308380000030829000")])
    with pytest.raises(errors.MalformedResponse, match="more than an EF holds"):
        CardChannel(t).read_der_file()
