"""Card sources behind one interface: a PC/SC reader, or a tray of virtual card files.

A source tells whether a card is present, reports insertions and removals to one listener, and
opens a `Transport` to the card for one operation. After every operation the card is reset, so a
verified PIN never outlives the operation that asked for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from madoguchi.agent.operations import fingerprint
from madoguchi.card.errors import CardError, CardTimeout, NoCard
from madoguchi.card.inputsupport import BasicFour, parse_basic_four
from madoguchi.card.transport import PcscContext, Transport, VirtualTransport
from madoguchi.card.virtual import VirtualCard

log = logging.getLogger("madoguchi.agent")

Listener = Callable[[bool], None]
"""Called with True when a card arrives, False when it leaves."""


class TrayError(Exception):
    """A tray operation is refused; `code` is the API error code, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class CardSource(Protocol):
    virtual: bool

    @property
    def reader(self) -> str: ...

    def card_present(self) -> bool: ...

    def session(self) -> contextlib.AbstractContextManager[Transport]:
        """A transport to the inserted card for one operation (raises `NoCard`); reset after."""
        ...

    def start(self, listener: Listener) -> None:
        """Begin reporting insertions and removals to `listener` (from any thread)."""
        ...

    def stop(self) -> None: ...


# --- virtual tray -----------------------------------------------------------------------------------


class _TrayTransport:
    """A `VirtualTransport` that fails with `NoCard` once its card has left the tray."""

    def __init__(self, tray: VirtualTray, card: VirtualCard) -> None:
        self._tray = tray
        self._card = card
        self._inner = VirtualTransport(card)

    def _check(self) -> None:
        if self._tray.inserted_card is not self._card:
            raise NoCard("the card was removed from the tray")

    def transmit(self, apdu: bytes, timeout: float) -> bytes:
        self._check()
        response = self._inner.transmit(apdu, timeout)
        self._check()
        return response

    def reset(self) -> None:
        self._inner.reset()


class VirtualTray:
    """Virtual card files, at most one inserted. A card is loaded from its file when inserted,
    and the card saves PIN counters back to the file, so a blocked card stays blocked. Each
    VERIFY reads the counter from the file under its lock (`VirtualCard`), so another agent's
    tray holding the same card file (the demo's terminals) keeps the same counter."""

    virtual = True

    def __init__(self, paths: tuple[Path, ...] | list[Path]) -> None:
        self.paths: dict[str, Path] = {}
        self.fingerprints: dict[str, str] = {}
        # What each card prints on its face (name, birth date, sex): a real card is read by eye
        # at the desk, so the demo's tray shows it beside the card (the insurance form asks it).
        self.printed: dict[str, BasicFour] = {}
        for path in paths:
            card = VirtualCard.load(path)  # fail at start-up on an unreadable file
            self.paths[path.stem] = Path(path)
            self.fingerprints[path.stem] = fingerprint(card.auth_certificate)
            self.printed[path.stem] = parse_basic_four(card.basic_four_bytes)
        self._lock = threading.Lock()
        self._inserted: tuple[str, VirtualCard] | None = None
        self._listener: Listener | None = None

    @property
    def reader(self) -> str:
        return "virtual tray"

    @property
    def inserted_name(self) -> str | None:
        current = self._inserted
        return None if current is None else current[0]

    @property
    def inserted_card(self) -> VirtualCard | None:
        current = self._inserted
        return None if current is None else current[1]

    def card_present(self) -> bool:
        return self._inserted is not None

    def insert(self, name: str) -> None:
        with self._lock:
            if name not in self.paths:
                raise TrayError("unknown_card", f"no virtual card named {name!r} in the tray")
            if self._inserted is not None:
                raise TrayError(
                    "tray_busy",
                    f"card {self._inserted[0]!r} is inserted; remove it first (one card at a time)",
                )
            card = VirtualCard.load(self.paths[name])
            self._inserted = (name, card)
        if self._listener is not None:
            self._listener(True)

    def remove(self) -> str:
        with self._lock:
            if self._inserted is None:
                raise TrayError("no_card", "no card is inserted")
            name, card = self._inserted
            self._inserted = None
            card.power_off()
        if self._listener is not None:
            self._listener(False)
        return name

    @contextlib.contextmanager
    def session(self) -> Iterator[Transport]:
        card = self.inserted_card
        if card is None:
            raise NoCard("no card is inserted in the virtual tray")
        card.power_on()
        try:
            yield _TrayTransport(self, card)
        finally:
            card.power_on()  # reset: the verified PIN state ends with the operation

    def start(self, listener: Listener) -> None:
        self._listener = listener

    def stop(self) -> None:
        self._listener = None


# --- PC/SC reader ---------------------------------------------------------------------------------


class PcscSource:
    """One PC/SC reader. A watcher thread waits for insertion and removal; every operation
    connects, runs, resets the card and disconnects."""

    virtual = False

    def __init__(self, reader: str | None = None, poll_interval: float = 0.5) -> None:
        with PcscContext() as ctx:
            self._reader = ctx.pick_reader(reader)
        self._poll = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def reader(self) -> str:
        return self._reader

    def card_present(self) -> bool:
        with PcscContext() as ctx:
            return ctx.card_present(self._reader)

    @contextlib.contextmanager
    def session(self) -> Iterator[Transport]:
        with PcscContext() as ctx:
            transport = ctx.connect(self._reader)
            try:
                yield transport
            finally:
                with contextlib.suppress(CardError):
                    transport.reset()
                transport.close()

    def start(self, listener: Listener) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._watch, args=(listener,), name="agent-pcsc-watch", daemon=True
        )
        self._thread.start()

    def _watch(self, listener: Listener) -> None:
        present: bool | None = None
        while not self._stop.is_set():
            try:
                with PcscContext() as ctx:
                    now = ctx.card_present(self._reader)
                    if now != present:
                        present = now
                        listener(now)
                    while not self._stop.is_set():
                        try:
                            if present:
                                ctx.wait_for_removal(self._reader, self._poll)
                            else:
                                ctx.wait_for_card(self._reader, self._poll)
                        except CardTimeout:
                            continue
                        present = not present
                        listener(present)
            except CardError as exc:
                log.warning("card reader %s: %s; retrying in 1 s", self._reader, exc)
                self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
