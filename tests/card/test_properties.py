"""Parsers fed malformed, truncated and random bytes: typed errors only, never a crash or hang."""

from __future__ import annotations

import contextlib
from datetime import date

from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.card.apdu import (
    CardChannel,
    CommandAPDU,
    ResponseAPDU,
    der_total_length,
    parse_command,
    parse_tlv,
    tlv_header,
)
from madoguchi.card.cvcert import KEY_ID_LENGTH, build_cv_certificate, parse_cv_certificate
from madoguchi.card.errors import CardError
from madoguchi.card.inputsupport import (
    attributes_hash_input,
    build_basic_four,
    parse_basic_four,
    parse_integrity,
)
from madoguchi.card.virtual import VirtualCard

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALID_EF0002 = build_basic_four("山田\u3000太郎", "東京都", date(1980, 4, 1), "1")


@SETTINGS
@given(st.binary(max_size=300))
def test_tlv_parsers_raise_only_card_errors(data: bytes) -> None:
    for fn in (parse_tlv, tlv_header, parse_basic_four, parse_integrity, attributes_hash_input):
        with contextlib.suppress(CardError):
            fn(data)


@SETTINGS
@given(
    st.integers(0, len(VALID_EF0002) - 1), st.integers(0, 255), st.integers(0, len(VALID_EF0002))
)
def test_mutated_or_truncated_ef0002(pos: int, value: int, cut: int) -> None:
    mutated = bytearray(VALID_EF0002)
    mutated[pos] = value
    for candidate in (bytes(mutated), VALID_EF0002[:cut]):
        with contextlib.suppress(CardError):
            parse_basic_four(candidate)


@SETTINGS
@given(st.binary(max_size=20))
def test_response_and_der_headers(data: bytes) -> None:
    with contextlib.suppress(CardError):
        ResponseAPDU.from_bytes(data).check()
    with contextlib.suppress(CardError):
        der_total_length(data)


class RandomCard:
    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.i = 0

    def transmit(self, apdu: bytes, timeout: float) -> bytes:
        answer = self.answers[self.i % len(self.answers)]
        self.i += 1
        return answer

    def reset(self) -> None:
        pass


@SETTINGS
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=6))
def test_channel_against_random_answers(answers: list[bytes]) -> None:
    channel = CardChannel(RandomCard(answers), max_get_response=8)
    for op in (
        lambda: channel.read_der_file(chunk=16),
        lambda: channel.read_tlv_file(chunk=16),
        lambda: channel.tries_left(),
        lambda: channel.send(CommandAPDU(0, 0xB0, 0, 0, le=5)),
    ):
        with contextlib.suppress(CardError):
            op()


@SETTINGS
@given(st.binary(max_size=300))
def test_command_parser(data: bytes) -> None:
    with contextlib.suppress(CardError):
        parse_command(data)


def test_virtual_card_answers_any_bytes_with_a_status(card: VirtualCard) -> None:
    @SETTINGS
    @given(st.binary(max_size=270))
    def check(apdu: bytes) -> None:
        out = card.process(apdu)
        assert len(out) >= 2

    check()


# Issue 15: the EF0004 CV certificate parser (the next-generation card's key) was not fuzzed.
_CV_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)
VALID_EF0004 = build_cv_certificate(
    _CV_KEY, b"I" * KEY_ID_LENGTH, _CV_KEY.public_key(), b"S" * KEY_ID_LENGTH
)


@SETTINGS
@given(st.binary(max_size=300))
def test_cv_certificate_parser_raises_only_card_errors(data: bytes) -> None:
    with contextlib.suppress(CardError):
        parse_cv_certificate(data)


@SETTINGS
@given(
    st.integers(0, len(VALID_EF0004) - 1), st.integers(0, 255), st.integers(0, len(VALID_EF0004))
)
def test_mutated_or_truncated_cv_certificate(pos: int, value: int, cut: int) -> None:
    mutated = bytearray(VALID_EF0004)
    mutated[pos] = value
    for candidate in (bytes(mutated), VALID_EF0004[:cut]):
        with contextlib.suppress(CardError):
            parse_cv_certificate(candidate)
