"""Two processes on one reader through pcscd + vpcd (issue 12, item 3): VERIFY and the operation
that needs it run inside one PC/SC transaction, so another program's commands never interleave;
after another program resets the card, the client reconnects and authenticates again, and never
signs on a card that has forgotten the PIN. Also: any known ATR works the same (item 6)."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from madoguchi.agent import operations
from madoguchi.card import cli
from madoguchi.card.jpki import JpkiClient, verify_rs256
from madoguchi.card.pcscd import SharedPcscd, VirtualReader
from madoguchi.card.profiles import KNOWN_ATRS
from madoguchi.card.transport import PcscContext
from madoguchi.card.virtual import VirtualCard
from madoguchi.card.vpcd import VpcdBridge
from madoguchi.identity.tokens import authentication_signing_input, generate_nonce

from .conftest import PIN

pytestmark = pytest.mark.pcsc

ORIGIN = "https://desk.example.jp"

# The other program: selects the input-support application in a tight loop (which, were it to
# land between our SELECT JPKI and VERIFY/SIGN, would make them fail) until its standard input
# is closed, or resets the card once.
OTHER = """
import sys, threading
from smartcard import scard
reader, mode = sys.argv[1], sys.argv[2]
hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
proto_any = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
hr, h, proto = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED, proto_any)
assert hr == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hr)
if mode == "reset":
    print(scard.SCardDisconnect(h, scard.SCARD_RESET_CARD), flush=True)
    sys.exit(0)
select = [0x00, 0xA4, 0x04, 0x0C, 0x0A] + list(bytes.fromhex("D3921000310001010408"))
print("ready", flush=True)
ok = 0
stdin_open = threading.Thread(target=sys.stdin.read, daemon=True)
stdin_open.start()
while stdin_open.is_alive():
    hr, resp = scard.SCardTransmit(h, proto, select)
    if hr == scard.SCARD_W_RESET_CARD:
        hr, proto = scard.SCardReconnect(h, scard.SCARD_SHARE_SHARED, proto_any,
                                         scard.SCARD_LEAVE_CARD)
        continue
    if hr == scard.SCARD_S_SUCCESS and resp[-2:] == [0x90, 0x00]:
        ok += 1
        if ok == 1:
            print("got the card", flush=True)
print(ok, flush=True)
scard.SCardDisconnect(h, scard.SCARD_LEAVE_CARD)
"""


def other_program(reader: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", OTHER, reader, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def slot(pcscd: SharedPcscd) -> Iterator[VirtualReader]:
    with pcscd.lease() as reader:
        yield reader


@pytest.fixture
def insert(slot: VirtualReader) -> Iterator[Callable[[VirtualCard], VpcdBridge]]:
    bridges: list[VpcdBridge] = []

    def do(card: VirtualCard) -> VpcdBridge:
        bridge = VpcdBridge(card, slot.port)
        bridge.connect(timeout=10)
        bridges.append(bridge)
        with PcscContext() as ctx:
            ctx.wait_for_card(slot.name, 10)
        return bridge

    yield do
    for bridge in bridges:
        bridge.remove()
    with PcscContext() as ctx:
        ctx.wait_for_removal(slot.name, 10)


def record(card: VirtualCard) -> list[str]:
    """Log the card's commands (INS names) and resets, as the card sees them."""
    log: list[str] = []
    process, power_on = card.process, card.power_on

    def logged_process(apdu: bytes) -> bytes:
        log.append({0x20: "VERIFY", 0x2A: "SIGN"}.get(apdu[1], f"{apdu[1]:02X}"))
        return process(apdu)

    def logged_power_on() -> None:
        log.append("RESET")
        power_on()

    card.process = logged_process  # type: ignore[method-assign]
    card.power_on = card.reset = logged_power_on  # type: ignore[method-assign]
    return log


def token_verifies(token: str, nonce: str, card: VirtualCard) -> bool:
    data: dict[str, Any] = json.loads(token)
    signature = base64.b64decode(data["signature"])
    return verify_rs256(
        card.auth_certificate, authentication_signing_input(ORIGIN, nonce), signature
    )


def test_another_program_never_interleaves_between_verify_and_sign(
    card: VirtualCard, insert: Callable[[VirtualCard], VpcdBridge], slot: VirtualReader
) -> None:
    insert(card)
    other = other_program(slot.name, "select")
    assert other.stdout is not None
    assert other.stdin is not None
    lines: list[str] = []
    got_card = threading.Event()

    def read_other() -> None:
        assert other.stdout is not None
        for line in other.stdout:
            lines.append(line.strip())
            if lines[-1] == "got the card":
                got_card.set()

    reader = threading.Thread(target=read_other, daemon=True)
    try:
        assert other.stdout.readline().strip() == "ready"
        reader.start()
        with PcscContext() as ctx, ctx.connect(slot.name) as transport:
            # Six authentications at least, and on until the other program has had the card
            # between two of ours: on a loaded machine it may get none of six short gaps (it
            # did so once), so a pause between ours leaves it room, and the test does not end
            # having raced nobody.
            authentications, deadline = 0, time.monotonic() + 60
            while authentications < 6 or not got_card.is_set():
                assert time.monotonic() < deadline, "the other program never got the card"
                nonce = generate_nonce()
                token = operations.authenticate(transport, PIN, ORIGIN, nonce)["token"]
                assert token_verifies(token, nonce, card)
                authentications += 1
                got_card.wait(0.02)
            # The other program selects until told to stop, so it ran through all of ours.
            assert other.poll() is None, "the other program ended before we did"
    finally:
        other.stdin.close()
        other.wait(timeout=30)
        if reader.is_alive():  # not started when the other program never got ready
            reader.join(timeout=30)
    assert int(lines[-1]) > 0  # it did get the card between our transactions


def test_after_another_program_resets_the_card_we_verify_again_before_signing(
    card: VirtualCard, insert: Callable[[VirtualCard], VpcdBridge], slot: VirtualReader
) -> None:
    insert(card)
    log = record(card)
    with PcscContext() as ctx, ctx.connect(slot.name) as transport:
        JpkiClient(transport).verify_auth_pin(PIN)  # verified on our connection ...
        reset = other_program(slot.name, "reset")
        reset.communicate(input="", timeout=30)
        assert reset.returncode == 0  # ... then another program resets the card
        mark = len(log)
        assert "RESET" in log[log.index("VERIFY") :]
        reconnects: list[int] = []
        reconnect = transport.reconnect
        transport.reconnect = lambda: (reconnects.append(1), reconnect())[1]  # type: ignore[method-assign]
        nonce = generate_nonce()
        token = operations.authenticate(transport, PIN, ORIGIN, nonce)["token"]
        assert reconnects == [1]  # the reset was seen and taken up
        after = log[mark:]
    assert token_verifies(token, nonce, card)
    assert "SIGN" in after
    assert "VERIFY" in after[: after.index("SIGN")], after


@pytest.mark.parametrize("atr", sorted(KNOWN_ATRS))
def test_every_known_atr_reads_and_signs_alike(
    make_card: Callable[..., VirtualCard],
    insert: Callable[[VirtualCard], VpcdBridge],
    slot: VirtualReader,
    atr: str,
) -> None:
    card = make_card()
    card.atr = bytes.fromhex(atr)
    insert(card)
    with PcscContext() as ctx, ctx.connect(slot.name) as transport:
        assert transport.atr == card.atr
        nonce = generate_nonce()
        token = operations.authenticate(transport, PIN, ORIGIN, nonce)["token"]
    assert token_verifies(token, nonce, card)


def test_a_card_plugged_into_a_reader_holding_another_waits_and_says_so(
    card: VirtualCard,
    make_card: Callable[..., VirtualCard],
    insert: Callable[[VirtualCard], VpcdBridge],
    slot: VirtualReader,
    tmp_path: Path,
) -> None:
    """`vcard plug` said "inserted" for a second card in a reader that held one: vpcd's slot
    takes one card, the second's connection only waited in its queue. It says the card waits,
    and "inserted" once the first card is removed and the reader takes it."""
    first = insert(card)
    second = tmp_path / "second.card"
    make_card().save(second)
    out = io.StringIO()
    plugged = threading.Thread(
        target=cli.vcard_plug,
        args=(second,),
        kwargs={"port": slot.port, "remove_after": 8, "out": out, "taken_wait": 1.0},
    )
    plugged.start()
    try:
        deadline = time.monotonic() + 10
        while "is waiting" not in out.getvalue():
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.1)
        time.sleep(1.0)  # the reader keeps the first card: no "inserted" meanwhile
        assert "inserted" not in out.getvalue()
        first.remove()
        while "inserted into vpcd" not in out.getvalue():
            assert time.monotonic() < deadline + 10, out.getvalue()
            time.sleep(0.1)
        with PcscContext() as ctx:
            ctx.wait_for_card(slot.name, 10)
    finally:
        plugged.join(timeout=40)
    assert out.getvalue().splitlines()[-1] == "card removed"
