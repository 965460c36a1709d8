"""The virtual card's persistent PIN counter when one card file is open twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from madoguchi.agent.sources import VirtualTray
from madoguchi.card import errors
from madoguchi.card.jpki import JpkiClient
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import VirtualCard

from .conftest import PIN


def _lock(card: VirtualCard) -> None:
    client = JpkiClient(VirtualTransport(card))
    for _ in range(3):
        with pytest.raises(errors.WrongPin):
            client.verify_auth_pin("9999")
    with pytest.raises(errors.PinBlocked):
        client.verify_auth_pin(PIN)


def test_a_card_locked_in_one_process_is_locked_in_another_that_holds_it(card: VirtualCard) -> None:
    """The demo starts one agent per terminal with the same card files; `vcard plug` can run
    twice. The card loaded in one (tries 3 in memory) and locked through the other: the first
    still takes the right PIN, and a wrong PIN there writes tries 2 over the file's 0, so the
    locked card is unlocked for good (docs/card.md: "a blocked card stays blocked")."""
    assert card.path is not None
    here = VirtualCard.load(card.path)
    there = VirtualCard.load(card.path)
    _lock(there)
    assert VirtualCard.load(card.path).tries_left() == 0
    client = JpkiClient(VirtualTransport(here))
    with pytest.raises(errors.PinBlocked):
        client.verify_auth_pin(PIN)


def test_a_wrong_pin_elsewhere_does_not_unlock_a_locked_card_file(card: VirtualCard) -> None:
    assert card.path is not None
    here = VirtualCard.load(card.path)
    there = VirtualCard.load(card.path)
    _lock(there)
    with pytest.raises((errors.WrongPin, errors.PinBlocked)):
        JpkiClient(VirtualTransport(here)).verify_auth_pin("9999")
    assert VirtualCard.load(card.path).tries_left() == 0


def test_two_demo_trays_with_the_same_card_keep_one_counter(
    card: VirtualCard, tmp_path: Path
) -> None:
    """The demo's two agents (desk-01, desk-02) are given the same card files: the card in
    desk-01's tray and locked at desk-02 must be locked at desk-01 too."""
    assert card.path is not None
    desk1, desk2 = VirtualTray([card.path]), VirtualTray([card.path])
    name = card.path.stem
    desk1.insert(name)
    desk2.insert(name)
    with desk2.session() as t2:
        client = JpkiClient(t2)
        for _ in range(3):
            with pytest.raises(errors.WrongPin):
                client.verify_auth_pin("9999")
    with desk1.session() as t1, pytest.raises(errors.PinBlocked):
        JpkiClient(t1).verify_auth_pin(PIN)


@pytest.mark.pcsc
def test_a_card_removed_while_it_signs_gives_no_signature(make_card, pcscd) -> None:  # type: ignore[no-untyped-def]
    """`vcard plug`'s removal (Ctrl-C, `--remove-after`, `VpcdBridge.remove`) while the card
    signs (latency 1.5 s, as a real card): the bridge waits for the APDU in hand, sends the
    signature and only then closes, so a card "removed" mid-signature still signs. A real card
    pulled out answers nothing: the client must get `NoCard`/`TransportError`."""
    import threading
    import time

    from madoguchi.card.transport import PcscContext
    from madoguchi.card.vpcd import VpcdBridge

    card = make_card(sign_latency=1.5)
    with pcscd.lease() as slot:
        bridge = VpcdBridge(card, slot.port)
        bridge.connect(timeout=10)
        with PcscContext() as ctx:
            ctx.wait_for_card(slot.name, 10)
            transport = ctx.connect(slot.name)
            client = JpkiClient(transport)
            client.verify_auth_pin(PIN)
            timer = threading.Timer(0.3, bridge.remove)
            timer.start()
            started = time.monotonic()
            try:
                with pytest.raises(errors.TransportError):
                    client.sign_rs256(b"challenge")
            finally:
                timer.join()
                transport.close(reset=False)
            assert time.monotonic() - started < 5


def test_a_stale_copy_does_not_write_back_another_pins_counter(card: VirtualCard) -> None:
    """A wrong PIN through one copy saved every counter it held in memory: the input-support
    PIN's try spent through the other copy came back."""
    from madoguchi.card.inputsupport import InputSupportClient

    assert card.path is not None
    here = VirtualCard.load(card.path)
    there = VirtualCard.load(card.path)
    with pytest.raises(errors.WrongPin):
        InputSupportClient(VirtualTransport(there)).verify_pin("9999")
    with pytest.raises(errors.WrongPin):
        JpkiClient(VirtualTransport(here)).verify_auth_pin("9999")
    on_file = VirtualCard.load(card.path)
    assert (on_file.tries_left("auth_pin"), on_file.tries_left("support_pin")) == (2, 2)


def test_a_verify_waits_for_the_card_files_lock(card: VirtualCard) -> None:
    """Read, check and write back happen under the file's lock: a VERIFY elsewhere waits."""
    import fcntl
    import os
    import threading
    import time

    assert card.path is not None
    here = VirtualCard.load(card.path)
    done = threading.Event()

    def wrong_pin() -> None:
        with pytest.raises(errors.WrongPin):
            JpkiClient(VirtualTransport(here)).verify_auth_pin("9999")
        done.set()

    fd = os.open(card.path.with_name(card.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        worker = threading.Thread(target=wrong_pin)
        worker.start()
        time.sleep(0.3)
        assert not done.is_set()
        assert VirtualCard.load(card.path).pins["auth_pin"].tries == 3
    finally:
        os.close(fd)
    worker.join(5)
    assert done.is_set()
    assert VirtualCard.load(card.path).tries_left() == 2


def test_a_card_whose_file_is_gone_checks_no_pin(card: VirtualCard) -> None:
    """Its counter lives in the file: without the file the card answers 6581 (memory failure)
    rather than take the right PIN on a counter nobody can see."""
    assert card.path is not None
    here = VirtualCard.load(card.path)
    card.path.unlink()
    with pytest.raises(errors.MemoryFailure):
        JpkiClient(VirtualTransport(here)).verify_auth_pin(PIN)
    assert "auth_pin" not in here.verified


def test_a_card_whose_lock_file_cannot_be_made_is_a_memory_failure(
    card: VirtualCard, tmp_path: Path
) -> None:
    """`tries_left()` let the lock file's OSError escape (a card file in a folder the agent
    may read but not write to, say): it is the card's memory failure, naming the file, as a
    VERIFY answers 6581; so is a card file gone since the card was loaded (its counter was
    the one this copy loaded)."""
    assert card.path is not None
    lock = card.path.with_name(card.path.name + ".lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()  # os.open(…, O_RDWR) of a directory fails, as root too
    try:
        with pytest.raises(errors.MemoryFailure) as exc:
            card.tries_left()
        assert str(lock) in str(exc.value)
        assert exc.value.sw == errors.SW.MEMORY_FAILURE
    finally:
        lock.rmdir()
    card.path.unlink()
    with pytest.raises(errors.MemoryFailure, match=str(card.path)):
        card.tries_left("support_pin")
