"""JPKI and input-support clients over the in-process transport."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from madoguchi.card import errors
from madoguchi.card.apdu import CardChannel, CommandAPDU, parse_command
from madoguchi.card.inputsupport import (
    EF_INDIVIDUAL_NUMBER,
    BasicFour,
    InputSupportClient,
    build_basic_four,
    check_integrity,
    parse_basic_four,
)
from madoguchi.card.jpki import JpkiClient, SignMode, verify_rs256
from madoguchi.card.testca import TestCA
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import VirtualCard

from .conftest import PIN, SUPPORT_PIN


def test_reads_certificates_and_token_info(
    card: VirtualCard, transport: VirtualTransport, ca: TestCA
) -> None:
    client = JpkiClient(transport)
    cert = client.read_auth_certificate()
    assert cert == card.auth_certificate
    assert client.read_auth_ca_certificate() == ca.certificate
    assert client.read_token_info().label == "JPKIAPICCTOKEN2"


def test_certificate_read_in_short_chunks_from_the_header_length(
    transport: VirtualTransport,
) -> None:
    client = JpkiClient(transport)
    der = client.read_auth_certificate_der()
    reads = [parse_command(a) for a in transport.sent if a[1] == 0xB0]
    assert reads[0].le == 4
    assert all(r.le is not None and r.le <= 256 for r in reads)
    assert len(der) == int.from_bytes(der[2:4], "big") + 4


def test_tries_left_does_not_spend_a_try(card: VirtualCard, transport: VirtualTransport) -> None:
    client = JpkiClient(transport)
    assert client.auth_pin_tries_left() == 3
    assert client.auth_pin_tries_left() == 3
    assert card.tries_left("auth_pin") == 3
    client.verify_auth_pin(PIN)
    assert client.auth_pin_tries_left() is None


def test_wrong_pins_then_blocked(card: VirtualCard, transport: VirtualTransport) -> None:
    client = JpkiClient(transport)
    for left in (2, 1, 0):
        with pytest.raises(errors.WrongPin) as info:
            client.verify_auth_pin("9999")
        assert info.value.tries_left == left
    with pytest.raises(errors.PinBlocked):
        client.verify_auth_pin(PIN)
    with pytest.raises(errors.PinBlocked):
        client.auth_pin_tries_left()
    with pytest.raises(errors.SecurityStatusNotSatisfied):
        client.sign_rs256(b"x")


def test_pin_format_is_checked_before_sending(transport: VirtualTransport) -> None:
    with pytest.raises(ValueError, match="4 digits"):
        JpkiClient(transport).verify_auth_pin("12345")
    assert transport.sent == []


def test_sign_before_verify_is_security_status(transport: VirtualTransport) -> None:
    client = JpkiClient(transport)
    client.select()
    with pytest.raises(errors.SecurityStatusNotSatisfied):
        client.sign_rs256(b"challenge")


def test_authenticate_produces_a_verifiable_rs256(
    card: VirtualCard, transport: VirtualTransport
) -> None:
    message = b"\x01" * 64
    result = JpkiClient(transport).authenticate(PIN, message)
    assert base64.b64encode(result.certificate_der)
    assert result.certificate == card.auth_certificate
    assert verify_rs256(result.certificate, message, result.signature)
    assert not verify_rs256(result.certificate, message + b"!", result.signature)


@pytest.mark.parametrize("mode", list(SignMode))
def test_sign_modes(card: VirtualCard, transport: VirtualTransport, mode: SignMode) -> None:
    client = JpkiClient(transport)
    client.verify_auth_pin(PIN)
    message = b"hello card"
    digest = hashlib.sha256(message).digest()
    payload = {
        SignMode.RAW: bytes.fromhex("3031300d060960864801650304020105000420") + digest,
        SignMode.HASH_BARE: message,
        SignMode.HASH_DIGEST_INFO: digest,
        SignMode.MESSAGE: message,
    }[mode]
    signature = client.sign(payload, mode)
    key = card.auth_certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    if mode is SignMode.HASH_BARE:
        n = key.public_numbers()
        em = pow(int.from_bytes(signature, "big"), n.e, n.n).to_bytes(256, "big")
        assert em.endswith(b"\x00" + digest)
    else:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_reset_requires_the_pin_again(transport: VirtualTransport) -> None:
    client = JpkiClient(transport)
    client.verify_auth_pin(PIN)
    client.select()
    client.sign_rs256(b"ok")
    transport.reset()
    client.select()
    with pytest.raises(errors.SecurityStatusNotSatisfied):
        client.sign_rs256(b"after reset")


# --- input support ---------------------------------------------------------------------------


def test_basic_four_with_the_support_pin(transport: VirtualTransport, ca: TestCA) -> None:
    client = InputSupportClient(transport)
    client.select()
    with pytest.raises(errors.SecurityStatusNotSatisfied):
        client.read_basic_four()
    client.verify_pin(SUPPORT_PIN)
    attrs = client.read_basic_four(trusted=ca.support_trust())
    assert attrs.name == "山田　太郎"
    assert (attrs.family_name, attrs.given_name) == ("山田", "太郎")
    assert attrs.address == "東京都千代田区霞が関１丁目１番１号"
    assert attrs.birth_date.isoformat() == "1980-04-01"
    assert attrs.sex == "1"


def test_support_pin_is_not_the_auth_pin(card: VirtualCard, transport: VirtualTransport) -> None:
    client = InputSupportClient(transport)
    with pytest.raises(errors.WrongPin) as info:
        client.verify_pin(PIN)
    assert info.value.tries_left == 2
    assert client.tries_left() == 2
    assert card.tries_left("auth_pin") == 3


def test_individual_number_is_refused_before_any_apdu(transport: VirtualTransport) -> None:
    client = InputSupportClient(transport)
    with pytest.raises(errors.RefusedOperation, match="individual number"):
        client.select_ef(EF_INDIVIDUAL_NUMBER)
    assert transport.sent == []
    client.verify_pin(SUPPORT_PIN)
    sent = len(transport.sent)
    with pytest.raises(errors.RefusedOperation):
        client.select_ef(0x0001)
    assert len(transport.sent) == sent


def test_tampered_basic_four_fails_integrity(
    make_card: Callable[..., VirtualCard], ca: TestCA
) -> None:
    card = make_card()
    ef = bytearray(base64.b64decode(card.state["ef0002"]))
    i = ef.index("東京".encode())
    ef[i : i + 6] = "大阪".encode()
    card._files[("support", 0x0002)] = bytes(ef)
    client = InputSupportClient(VirtualTransport(card))
    client.verify_pin(SUPPORT_PIN)
    with pytest.raises(errors.IntegrityError, match="SHA-256"):
        client.read_basic_four()
    assert client.read_basic_four(check=False).address.startswith("大阪")


def test_integrity_signature_needs_the_trusted_j_lis_key(
    card: VirtualCard, keys: list[rsa.RSAPrivateKey], ca: TestCA
) -> None:
    ef2 = base64.b64decode(card.state["ef0002"])
    ef3 = base64.b64decode(card.state["ef0003"])
    ef4 = base64.b64decode(card.state["ef0004"])
    check_integrity(ef2, ef3, ef4, ca.support_trust())
    key_id = next(iter(ca.support_trust()))
    with pytest.raises(errors.IntegrityError, match="EF0004 signature"):
        check_integrity(ef2, ef3, ef4, {key_id: keys[0].public_key()})
    with pytest.raises(errors.IntegrityError, match="not trusted"):
        check_integrity(ef2, ef3, ef4, {b"J" * 16: ca.support_key.public_key()})


def test_basic_four_round_trip_and_filler() -> None:
    raw = build_basic_four(
        "佐藤\u3000花子", "北海道札幌市", __import__("datetime").date(2001, 2, 28), "2", filler=40
    )
    assert raw.endswith(b"\xff" * 40)
    assert parse_basic_four(raw) == BasicFour(
        "佐藤\u3000花子", "北海道札幌市", __import__("datetime").date(2001, 2, 28), "2"
    )


def test_long_address_makes_a_multi_byte_length() -> None:
    from datetime import date

    address = "東京都" + "１" * 200
    raw = build_basic_four("A\u3000B", address, date(1990, 1, 1), "9")
    assert raw[:3] == b"\xff\x20\x82"
    assert parse_basic_four(raw).address == address


def test_channel_timeout_is_passed_on(card: VirtualCard) -> None:
    seen: list[float] = []

    class Spy(VirtualTransport):
        def transmit(self, apdu: bytes, timeout: float) -> bytes:
            seen.append(timeout)
            return super().transmit(apdu, timeout)

    JpkiClient(Spy(card), timeout=3.5).read_token_info()
    assert seen
    assert set(seen) == {3.5}
    assert CardChannel(Spy(card)).timeout > 0


class _UncountedT0(VirtualTransport):
    """A T=0 card that does not say how many bytes wait: a case-4 command goes without its Le
    (as T=0 sends it), the answer waiting is announced as 61 00 whatever its length, and a GET
    RESPONSE asking for more than waits is answered 6Cxx with the exact count (ISO 7816-3,
    T=0 case 2), nothing taken."""

    def transmit(self, apdu: bytes, timeout: float) -> bytes:
        command = parse_command(apdu)
        if command.ins == 0xC0:
            waiting = len(self.card.pending)
            if command.le is not None and waiting and command.le > waiting:
                self.sent.append(bytes(apdu))
                return bytes((0x6C, waiting % 256))
        elif command.data and command.le is not None:
            c = command
            apdu = CommandAPDU(c.cla, c.ins, c.p1, c.p2, c.data).to_bytes()
        response = super().transmit(apdu, timeout)
        if response[-2] == 0x61:
            return response[:-1] + b"\x00"
        return response


def test_a_6cxx_answer_to_get_response_resends_it_with_that_le(
    make_card: Callable[..., VirtualCard],
) -> None:
    """A 6Cxx answer to GET RESPONSE itself surfaced as `WrongLe`; GET RESPONSE is a command
    like any other: sent again once with the Le the card names (docs/jpki-card.md: handle 6Cxx)."""
    from madoguchi.card.jpki import verify_card_signature
    from madoguchi.card.profiles import PROVISIONAL_ECDSA_P384

    card = make_card(profile=PROVISIONAL_ECDSA_P384.name, key=None)
    transport = _UncountedT0(card)
    result = JpkiClient(transport).authenticate(PIN, b"challenge")
    assert verify_card_signature(result.certificate, b"challenge", result.signature)
    gets = [parse_command(a) for a in transport.sent if a[1] == 0xC0]
    assert [g.le for g in gets] == [256, PROVISIONAL_ECDSA_P384.signature_length]


def test_get_response_answered_6cxx_twice_is_an_error_not_a_loop() -> None:
    answers = [b"\x61\x00", b"\x6c\x10", b"\x6c\x08"]
    sent: list[bytes] = []

    class Scripted:
        def transmit(self, apdu: bytes, timeout: float) -> bytes:
            sent.append(apdu)
            return answers.pop(0)

        def reset(self) -> None:
            pass

    with pytest.raises(errors.WrongLe):
        CardChannel(Scripted()).send(parse_command(bytes.fromhex("00B0000000")))
    assert len(sent) == 3
