"""The virtual card answers like the real one (docs/jpki-card.md), APDU by APDU."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from madoguchi.card import errors
from madoguchi.card.inputsupport import INPUT_SUPPORT_AID
from madoguchi.card.jpki import JPKI_AID, SHA256_DIGEST_INFO_PREFIX
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import ATR, VirtualCard

from .conftest import PIN, SUPPORT_PIN


def sw(card: VirtualCard, hexapdu: str) -> str:
    return card.process(bytes.fromhex(hexapdu.replace(" ", ""))).hex().upper()[-4:]


def data(card: VirtualCard, hexapdu: str) -> bytes:
    raw = card.process(bytes.fromhex(hexapdu.replace(" ", "")))
    assert raw[-2:] == b"\x90\x00", raw[-2:].hex()
    return raw[:-2]


SELECT_JPKI = "00A4040C0A" + JPKI_AID.hex()
SELECT_SUPPORT = "00A4040C0A" + INPUT_SUPPORT_AID.hex()
PIN_HEX = PIN.encode().hex()


def verified_jpki(card: VirtualCard) -> None:
    assert sw(card, SELECT_JPKI) == "9000"
    assert sw(card, "00A4020C020018") == "9000"
    assert sw(card, "0020008004" + PIN_HEX) == "9000"


def test_atr_and_selection(card: VirtualCard) -> None:
    assert card.atr == ATR == bytes.fromhex("3BE000FF8131FE4514")
    assert sw(card, "00A4000000") == "6A86"  # MF after reset
    assert sw(card, "00A4040C0AD392F000260100000002") == "6A82"
    assert sw(card, "00A4020C02000A") == "6A82"  # no application selected
    assert sw(card, SELECT_JPKI) == "9000"
    assert sw(card, "00A4020C021234") == "6A82"
    assert sw(card, "00A4020C03000A00") == "6700"
    assert sw(card, "00A4020C01") == "6700"
    assert sw(card, "00A4020C02000A") == "9000"
    assert sw(card, "00A4040C") == "6A82"
    assert sw(card, "00A4030C02000A") == "6A86"


def test_unknown_instruction_and_class(card: VirtualCard) -> None:
    assert sw(card, "00CA000000") == "6D00"
    assert sw(card, "A0A4040C0A" + JPKI_AID.hex()) == "6E00"


def test_input_support_ef0001_does_not_exist(card: VirtualCard) -> None:
    assert sw(card, SELECT_SUPPORT) == "9000"
    assert sw(card, "00A4020C020001") == "6A82"
    assert sw(card, "00B0810000") == "6A82"  # SFI form too
    assert set(card.state) >= {"ef0001_sha256"}
    assert len(bytes.fromhex(card.state["ef0001_sha256"])) == 32


def test_auth_certificate_is_free_to_read_with_offsets(card: VirtualCard) -> None:
    cert = card._files[("jpki", 0x000A)]
    sw(card, SELECT_JPKI)
    sw(card, "00A4020C02000A")
    assert data(card, "00B0000004") == cert[:4]
    assert data(card, "00B0000400") == cert[4:260]
    assert data(card, "00B0010010") == cert[256:272]
    assert data(card, "00B00000000800") == cert[:2048]  # extended Le
    end = len(cert)
    assert sw(card, f"00B0{end:04X}01") == "6B00"
    assert sw(card, "00B00000") == "6700"  # no Le
    tail = data(card, f"00B0{end - 3:04X}10")
    assert tail == cert[-3:]
    # SFI form: P1 = 80 | SFI, P2 = offset
    assert data(card, "00B08B0004") == card._files[("jpki", 0x000B)][:4]


def test_protected_data_needs_the_pin(card: VirtualCard) -> None:
    sw(card, SELECT_SUPPORT)
    sw(card, "00A4020C020002")
    assert sw(card, "00B0000010") == "6982"
    sw(card, "00A4020C020011")
    assert sw(card, "0020008004" + SUPPORT_PIN.encode().hex()) == "9000"
    sw(card, "00A4020C020002")
    assert data(card, "00B0000003")[:2] == b"\xff\x20"
    # a PIN EF and a key EF are not readable
    sw(card, "00A4020C020011")
    assert sw(card, "00B0000001") == "6981"


def test_pin_counter_lockout_and_status_without_spending(card: VirtualCard) -> None:
    sw(card, SELECT_JPKI)
    sw(card, "00A4020C020018")
    assert sw(card, "00200080") == "63C3"
    assert sw(card, "00200080") == "63C3"  # asking does not spend a try
    assert sw(card, "002000800430303030") == "63C2"
    assert sw(card, "002000800430303030") == "63C1"
    assert sw(card, "00200080") == "63C1"
    assert sw(card, "002000800430303030") == "63C0"
    assert sw(card, "0020008004" + PIN_HEX) == "6984"  # even the right PIN
    assert sw(card, "00200080") == "6984"
    assert sw(card, "002000800430303030") == "6984"
    assert card.tries_left("auth_pin") == 0
    # blocked survives power off and reloading the card file
    card.power_off()
    again = VirtualCard.load(card.path)  # type: ignore[arg-type]
    sw(again, SELECT_JPKI)
    sw(again, "00A4020C020018")
    assert sw(again, "00200080") == "6984"


def test_right_pin_restores_the_counter_and_persists(card: VirtualCard) -> None:
    sw(card, SELECT_JPKI)
    sw(card, "00A4020C020018")
    assert sw(card, "002000800430303030") == "63C2"
    assert VirtualCard.load(card.path).tries_left("auth_pin") == 2  # type: ignore[arg-type]
    assert sw(card, "0020008004" + PIN_HEX) == "9000"
    assert sw(card, "00200080") == "9000"  # verified in this session
    assert VirtualCard.load(card.path).tries_left("auth_pin") == 3  # type: ignore[arg-type]


def test_counters_are_separate(card: VirtualCard) -> None:
    sw(card, SELECT_SUPPORT)
    sw(card, "00A4020C020011")
    assert sw(card, "002000800430303030") == "63C2"
    sw(card, SELECT_JPKI)
    assert sw(card, "00200098") == "63C3"  # SFI form of the auth PIN EF (0x80 | 0x18)


def test_reset_clears_verified_state(card: VirtualCard) -> None:
    verified_jpki(card)
    assert sw(card, "00200080") == "9000"
    card.reset()
    sw(card, SELECT_JPKI)
    sw(card, "00A4020C020018")
    assert sw(card, "00200080") == "63C3"
    sw(card, "00A4020C020017")
    assert sw(card, "802A00800301020300") == "6982"


def test_sign_before_verify_is_6982(card: VirtualCard) -> None:
    sw(card, SELECT_JPKI)
    assert sw(card, "802A00970301020300") == "6982"


def _pub(card: VirtualCard) -> rsa.RSAPublicKey:
    key = card.auth_certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _recover(card: VirtualCard, signature: bytes) -> bytes:
    """The PKCS#1 v1.5 payload inside a signature (public operation, padding stripped)."""
    n = _pub(card).public_numbers()
    em = pow(int.from_bytes(signature, "big"), n.e, n.n).to_bytes(256, "big")
    assert em[:2] == b"\x00\x01"
    return em[em.index(b"\x00", 2) + 1 :]


def sign(card: VirtualCard, p1: int, payload: bytes, p2: int = 0x97) -> bytes:
    apdu = bytes((0x80, 0x2A, p1, p2, len(payload))) + payload + b"\x00"
    raw = card.process(apdu)
    assert raw[-2:] == b"\x90\x00", raw[-2:].hex()
    assert len(raw) == 258
    return raw[:-2]


def test_every_sign_mode(card: VirtualCard) -> None:
    verified_jpki(card)
    message = b"madoguchi challenge"
    digest = hashlib.sha256(message).digest()
    di = SHA256_DIGEST_INFO_PREFIX + digest
    pub = _pub(card)
    # 00: the DigestInfo as given -> an ordinary RS256 signature
    pub.verify(sign(card, 0x00, di), message, padding.PKCS1v15(), hashes.SHA256())
    # 00 through the selected key EF (P2=80)
    sw(card, "00A4020C020017")
    pub.verify(sign(card, 0x00, di, 0x80), message, padding.PKCS1v15(), hashes.SHA256())
    # 01: bare hash, no DigestInfo
    assert _recover(card, sign(card, 0x01, message)) == digest
    # 02: card adds the DigestInfo
    pub.verify(sign(card, 0x02, digest), message, padding.PKCS1v15(), hashes.SHA256())
    # 03: card hashes and adds the DigestInfo
    pub.verify(sign(card, 0x03, message), message, padding.PKCS1v15(), hashes.SHA256())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    pub.verify(sign(card, 0x04, digest), digest, pss, Prehashed(hashes.SHA256()))
    pub.verify(sign(card, 0x05, message), message, pss, hashes.SHA256())


@pytest.mark.parametrize("p1", [0x06, 0x10, 0xFF])
def test_unknown_sign_p1_is_6a86(card: VirtualCard, p1: int) -> None:
    verified_jpki(card)
    assert sw(card, f"802A{p1:02X}970301020300") == "6A86"


@pytest.mark.parametrize(
    ("p1", "size"), [(0x00, 246), (0x02, 31), (0x02, 33), (0x04, 20), (0x03, 256)]
)
def test_bad_sign_input_length_is_6700(card: VirtualCard, p1: int, size: int) -> None:
    verified_jpki(card)
    payload = b"\x01" * size
    lc = f"{size:02X}" if size < 256 else f"00{size:04X}"
    le = "00" if size < 256 else "0100"
    assert sw(card, f"802A{p1:02X}97{lc}{payload.hex()}{le}") == "6700"


def test_sign_without_le_answers_61xx_then_get_response(card: VirtualCard) -> None:
    verified_jpki(card)
    di = (SHA256_DIGEST_INFO_PREFIX + b"\x00" * 32).hex()
    assert sw(card, f"802A009733{di}") == "6100"
    out = card.process(bytes.fromhex("00C0000000"))
    assert out[-2:] == b"\x90\x00"
    assert len(out) == 258
    assert sw(card, "00C0000000") == "6985"


def test_sign_with_short_le_asks_for_the_right_one(card: VirtualCard) -> None:
    verified_jpki(card)
    di = (SHA256_DIGEST_INFO_PREFIX + b"\x00" * 32).hex()
    assert sw(card, f"802A009733{di}80") == "6C00"


def test_latency_beyond_timeout_is_a_card_timeout(
    make_card: Callable[..., VirtualCard],
) -> None:
    slow = make_card(sign_latency=0.05)
    t = VirtualTransport(slow)
    with pytest.raises(errors.CardTimeout):
        t.transmit(bytes.fromhex("802A00970101"), timeout=0.01)
    assert t.transmit(bytes.fromhex("00A4000000"), timeout=0.01) == b"\x6a\x86"


def test_a_blocked_pin_answering_63c0_to_an_empty_verify_counts_as_blocked(
    make_card: Callable[..., VirtualCard],
) -> None:
    from madoguchi.card.jpki import JpkiClient

    card = make_card(blocked_answer="63C0")
    sw(card, SELECT_JPKI)
    sw(card, "00A4020C020018")
    for _ in range(3):
        sw(card, "002000800430303030")
    assert sw(card, "00200080") == "63C0"  # the virtual card answers as asked
    assert sw(card, "0020008004" + PIN_HEX) == "6984"  # VERIFY with data stays 6984
    with pytest.raises(errors.PinBlocked):
        JpkiClient(VirtualTransport(card)).auth_pin_tries_left()
    default = make_card()
    sw(default, SELECT_JPKI)
    sw(default, "00A4020C020018")
    for _ in range(3):
        sw(default, "002000800430303030")
    assert sw(default, "00200080") == "6984"
    with pytest.raises(errors.PinBlocked):
        JpkiClient(VirtualTransport(default)).auth_pin_tries_left()


def test_every_known_atr_is_in_the_docs_and_the_client_ignores_the_atr(
    make_card: Callable[..., VirtualCard],
) -> None:
    from pathlib import Path

    from madoguchi.card.jpki import JpkiClient
    from madoguchi.card.profiles import KNOWN_ATRS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "card.md").read_text()
    for atr in KNOWN_ATRS:
        spaced = " ".join(atr[i : i + 2] for i in range(0, len(atr), 2))
        assert f"`{spaced}`" in doc, atr
        card = make_card()
        card.atr = bytes.fromhex(atr)
        transport = VirtualTransport(card)
        assert transport.atr == bytes.fromhex(atr)
        assert JpkiClient(transport).read_auth_certificate() == card.auth_certificate


def test_an_older_card_file_without_ef0004_still_works(
    make_card: Callable[..., VirtualCard],
) -> None:
    from madoguchi.card.inputsupport import InputSupportClient

    state = dict(make_card().state)
    del state["ef0004"]
    older = VirtualCard(state)
    sw(older, SELECT_SUPPORT)
    assert sw(older, "00A4020C020004") == "6A82"
    client = InputSupportClient(VirtualTransport(older))
    client.verify_pin(SUPPORT_PIN)
    assert client.read_basic_four().name == "山田　太郎"  # the SHA-256 check needs no EF0004


@pytest.mark.parametrize(
    "data",
    [
        SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(b"completion").digest(),  # OpenSSL's path
        SHA256_DIGEST_INFO_PREFIX + bytes(32),
        b"\x30\x21" + bytes(31),  # not a SHA-256 DigestInfo: the arithmetic
        b"\x01",
    ],
)
def test_raw_signatures_are_textbook_pkcs1_v15_of_the_data_as_given(data):
    from madoguchi.card.testca import generate_rsa_key
    from madoguchi.card.virtual import _raw_pkcs1_v15_sign

    key = generate_rsa_key()
    k = (key.key_size + 7) // 8
    encoded = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    numbers = key.private_numbers()
    expected = pow(int.from_bytes(encoded, "big"), numbers.d, numbers.public_numbers.n)
    assert _raw_pkcs1_v15_sign(key, data) == expected.to_bytes(k, "big")
